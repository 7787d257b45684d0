"""Jittered exponential backoff shared by the trigger and the synchronous wait."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays for consecutive transient failures: full jitter, capped, honouring a server's Retry-After."""

    base: float = 1.0
    cap: float = 60.0
    attempt: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def next_delay(self, retry_after: float | None = None) -> float:
        self.attempt += 1
        ceiling = min(self.cap, self.base * 2 ** (self.attempt - 1))
        delay = self._rng.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def reset(self) -> None:
        self.attempt = 0

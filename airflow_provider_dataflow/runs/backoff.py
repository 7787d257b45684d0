"""Jittered exponential backoff shared by the trigger and the synchronous wait."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# One generator for every waiter: seeding a new Random reads the OS entropy pool, which adds up
# when a triggerer starts thousands of waits in one event-loop tick.
_SHARED_RNG = random.Random()


@dataclass
class Backoff:
    """Delays for consecutive transient failures: full jitter, capped, honouring a server's Retry-After."""

    base: float = 1.0
    cap: float = 60.0
    attempt: int = 0
    _rng: random.Random = field(default=_SHARED_RNG, repr=False)

    @classmethod
    def for_polling(cls, poll_interval: float) -> Backoff:
        """From min(1 s, poll interval) up to twice the poll interval: slower than normal polling, never stuck."""
        return cls(base=min(1.0, poll_interval), cap=2 * poll_interval)

    def next_delay(self, retry_after: float | None = None) -> float:
        """The server's Retry-After wins (plus up to 10% jitter so waiters do not return in lockstep)."""
        self.attempt += 1
        if retry_after is not None:
            return retry_after * self._rng.uniform(1.0, 1.1)
        ceiling = min(self.cap, self.base * 2 ** (self.attempt - 1))
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0

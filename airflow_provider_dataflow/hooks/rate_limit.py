"""One request budget per service endpoint, shared by every trigger and watcher in a process.

A triggerer waiting for thousands of runs must not be the client that pushes a tenancy into 429s:
calls from the event loop take a slot from a token bucket first. The bucket adapts: a 429 halves
its rate (once per second of 429s) and pauses it for the server's Retry-After; the rate then climbs back linearly to the
configured maximum over ``RECOVERY_SECONDS``. Waiting for a slot is a plain ``asyncio.sleep``, so
callers queue up in time (backpressure) without any extra task or thread.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from airflow_provider_dataflow.provider_config import get_float

MIN_REQUESTS_PER_SECOND = 0.5
RECOVERY_SECONDS = 60.0
BURST_SECONDS = 1.0  # an idle bucket lets this many seconds' worth of calls through at once
THROTTLE_WINDOW_SECONDS = 1.0  # 429s this close together are one overload: the rate halves once


@dataclass
class RateLimiter:
    """Token bucket by reservation: each call books the next free slot and sleeps until it."""

    max_rate: float
    clock: Callable[[], float] = time.monotonic
    _next_slot: float = field(default=0.0, init=False)
    _throttled_rate: float | None = field(default=None, init=False)
    _throttled_at: float = field(default=0.0, init=False)
    _paused_until: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        if self.max_rate <= 0:
            raise ValueError(f"max_requests_per_second must be > 0, got {self.max_rate}")

    @property
    def rate(self) -> float:
        """The current rate: the maximum, or on the way back to it after a 429."""
        if self._throttled_rate is None:
            return self.max_rate
        elapsed = self.clock() - self._throttled_at
        recovered = self._throttled_rate + (self.max_rate - self._throttled_rate) * elapsed / RECOVERY_SECONDS
        if recovered >= self.max_rate:
            self._throttled_rate = None
            return self.max_rate
        return recovered

    def reserve(self) -> float:
        """Book a slot; return how many seconds to wait for it."""
        now = self.clock()
        rate = self.rate
        earliest = max(now - BURST_SECONDS, self._paused_until)
        slot = max(self._next_slot, earliest)
        self._next_slot = slot + 1.0 / rate
        return max(0.0, slot - now)

    async def acquire(self) -> None:
        """Wait for a slot; a caller that wakes inside a Retry-After pause books again after it."""
        while True:
            delay = self.reserve()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.clock() >= self._paused_until:
                return

    def throttled(self, retry_after: float | None) -> None:
        """The service answered 429: halve the rate (once per window) and honour its Retry-After."""
        now = self.clock()
        if self._throttled_rate is None or now - self._throttled_at >= THROTTLE_WINDOW_SECONDS:
            self._throttled_rate = max(MIN_REQUESTS_PER_SECOND, self.rate / 2)
            self._throttled_at = now
        if retry_after:
            self._paused_until = max(self._paused_until, now + retry_after)


_limiters: dict[str, RateLimiter] = {}


def limiter_for(endpoint: str) -> RateLimiter:
    """The process's limiter for one service endpoint, created with the configured rate."""
    limiter = _limiters.get(endpoint)
    if limiter is None:
        limiter = _limiters[endpoint] = RateLimiter(get_float("max_requests_per_second"))
    return limiter

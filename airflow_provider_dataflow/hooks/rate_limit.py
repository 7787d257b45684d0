"""One request budget per service endpoint, shared by every trigger and watcher in a process.

A triggerer waiting for thousands of runs must not be the client that pushes a tenancy into 429s:
calls from the event loop take a token from a bucket first. The bucket adapts: a 429 halves its
rate (once per second of 429s) and pauses it for the server's Retry-After; the rate then climbs
back linearly to the configured maximum over ``RECOVERY_SECONDS``.

Callers queue first come, first served, and only the head of the queue waits on the clock, for the
next token at the rate of that moment. So a queue built while throttled drains as fast as the rate
recovers (slots booked ahead at the lowered rate would keep 125 callers queued after ten 429s
waiting 74 s instead of 15, ``tests/unit/test_rate_limit.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from airflow_provider_dataflow.config import get_float

log = logging.getLogger(__name__)

MIN_REQUESTS_PER_SECOND = 0.5
RECOVERY_SECONDS = 60.0
BURST_SECONDS = 1.0  # an idle bucket lets this many seconds' worth of calls through at once
THROTTLE_WINDOW_SECONDS = 1.0  # 429s this close together are one overload: the rate halves once


@dataclass
class RateLimiter:
    """Token bucket with a first-come-first-served queue of waiters (one queue per event loop)."""

    max_rate: float
    clock: Callable[[], float] = time.monotonic
    _tokens: float = field(default=0.0, init=False)
    _updated: float = field(default=0.0, init=False)
    _throttled_rate: float | None = field(default=None, init=False)
    _throttled_at: float = field(default=0.0, init=False)
    _paused_until: float = field(default=0.0, init=False)
    _queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = field(
        default_factory=weakref.WeakKeyDictionary, init=False, repr=False
    )

    def __post_init__(self) -> None:
        if self.max_rate <= 0:
            raise ValueError(f"max_requests_per_second must be > 0, got {self.max_rate}")
        self._tokens, self._updated = self._capacity(self.max_rate), self.clock()

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

    def try_take(self) -> float:
        """Take a token and return 0, or return how long until one is due (nothing taken)."""
        now = self.clock()
        if now < self._paused_until:
            return self._paused_until - now
        rate = self.rate
        self._tokens = min(self._capacity(rate), self._tokens + (now - self._updated) * rate)
        self._updated = now
        if self._tokens >= 1.0 - 1e-9:  # not exactly 1: a wait computed from the shortfall may round short
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / rate

    async def acquire(self) -> None:
        """Wait for a token behind the callers that came first."""
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = asyncio.Lock()
        async with queue:
            while True:
                delay = self.try_take()
                if delay <= 0:
                    return
                await asyncio.sleep(delay)  # then look again: the rate may have recovered meanwhile

    def throttled(self, retry_after: float | None) -> None:
        """The service answered 429: halve the rate (once per window) and honour its Retry-After."""
        now = self.clock()
        if self._throttled_rate is None or now - self._throttled_at >= THROTTLE_WINDOW_SECONDS:
            self._throttled_rate = max(MIN_REQUESTS_PER_SECOND, self.rate / 2)
            self._throttled_at = now
            self._tokens, self._updated = 0.0, now  # no burst right after an overload
            log.warning(
                "Data Flow answered 429 (too many requests): this process now sends at most %.1f requests/s,"
                " back to %.0f over %.0f s",
                self._throttled_rate,
                self.max_rate,
                RECOVERY_SECONDS,
            )
        if retry_after:
            self._paused_until = max(self._paused_until, now + retry_after)

    @staticmethod
    def _capacity(rate: float) -> float:
        return max(1.0, rate * BURST_SECONDS)


_limiters: dict[str, RateLimiter] = {}


def limiter_for(endpoint: str) -> RateLimiter:
    """The process's limiter for one service endpoint, created with the configured rate."""
    limiter = _limiters.get(endpoint)
    if limiter is None:
        limiter = _limiters[endpoint] = RateLimiter(get_float("max_requests_per_second"))
    return limiter

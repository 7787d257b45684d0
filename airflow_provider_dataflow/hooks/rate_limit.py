"""One request budget per service endpoint, shared by every trigger and watcher in a process.

A triggerer waiting for thousands of runs must not be the client that pushes a tenancy into 429s:
calls from the event loop take a token from the endpoint's bucket first (at most the configured rate,
whatever the kind of call). Each kind of call (``operations.CallKind``) also has a bucket of its own that
adapts: a 429 halves that kind's rate (once per second of 429s) and pauses it for the server's
Retry-After; the rate then climbs back linearly to the configured maximum over ``RECOVERY_SECONDS``. OCI
limits each operation on its own, so throttled creates slow creates only: polls, cancels and searches
keep their pace (a backfill whose creates are throttled must not stall every wait of the triggerer).

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
from airflow_provider_dataflow.hooks.operations import CallKind

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
    label: str = "requests"  # what it limits, for the log line of a 429
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
                "OCI answered 429 (too many requests) to %s: this process now sends at most %.1f of them a second,"
                " back to %.0f over %.0f s",
                self.label,
                self._throttled_rate,
                self.max_rate,
                RECOVERY_SECONDS,
            )
        if retry_after:
            self._paused_until = max(self._paused_until, now + retry_after)

    @staticmethod
    def _capacity(rate: float) -> float:
        return max(1.0, rate * BURST_SECONDS)


@dataclass
class RequestBudget:
    """An endpoint's budget: one bucket for every call, and an adaptive one per kind of call."""

    max_rate: float
    shared: RateLimiter = field(init=False)
    _kinds: dict[CallKind, RateLimiter] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.shared = RateLimiter(self.max_rate)

    def kind(self, kind: CallKind) -> RateLimiter:
        limiter = self._kinds.get(kind)
        if limiter is None:
            limiter = self._kinds[kind] = RateLimiter(self.max_rate, label=f"{kind.value} calls")
        return limiter

    async def acquire(self, kind: CallKind) -> None:
        """The kind's token first (a throttled kind waits here, holding no place in the shared queue), then
        the endpoint's."""
        await self.kind(kind).acquire()
        await self.shared.acquire()

    def throttled(self, kind: CallKind, retry_after: float | None) -> None:
        """A call of ``kind`` was answered 429: slow that kind down, not the others."""
        self.kind(kind).throttled(retry_after)


_budgets: dict[str, RequestBudget] = {}


def budget_for(endpoint: str) -> RequestBudget:
    """The process's budget for one service endpoint, created with the configured rate."""
    budget = _budgets.get(endpoint)
    if budget is None:
        budget = _budgets[endpoint] = RequestBudget(get_float("max_requests_per_second"))
    return budget

"""The per-endpoint request budget: steady rate, halving on 429 bursts, Retry-After, recovery, and a
queue that drains as fast as the rate recovers."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_dataflow.hooks.rate_limit import MIN_REQUESTS_PER_SECOND, RECOVERY_SECONDS, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _serve(limiter: RateLimiter, clock: FakeClock, calls: int) -> list[float]:
    """When each call goes out, served one after another as the head of ``acquire``'s queue is."""
    start, sent = clock.now, []
    for _ in range(calls):
        while (delay := limiter.try_take()) > 0:
            clock.now += delay
        sent.append(clock.now - start)
    return sent


def test_calls_are_spaced_at_the_configured_rate_after_a_one_second_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10.0, clock=clock)
    sent = _serve(limiter, clock, 30)
    assert sent[:10] == pytest.approx([0.0] * 10), "an idle bucket lets one second's worth through"
    assert sent[10:] == pytest.approx([0.1 * i for i in range(1, 21)])


def test_a_burst_of_429s_halves_the_rate_once_per_window_and_honours_retry_after() -> None:
    clock = FakeClock()
    limiter = RateLimiter(20.0, clock=clock)
    for _ in range(50):  # one overload, answered 50 times within the same instant
        limiter.throttled(retry_after=2.0)
    assert limiter.rate == pytest.approx(10.0)
    assert limiter.try_take() == pytest.approx(2.0), "nothing goes out before Retry-After"
    clock.now += 1.5  # a new overload, after the window: halve the (slightly recovered) rate again
    limiter.throttled(retry_after=None)
    assert limiter.rate == pytest.approx((10.0 + 10.0 * 1.5 / RECOVERY_SECONDS) / 2)


def test_a_429_empties_the_bucket_so_no_burst_follows_the_overload() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10.0, clock=clock)
    clock.now += 5.0  # idle: the bucket is full
    limiter.throttled(retry_after=None)
    assert _serve(limiter, clock, 3) == pytest.approx([0.2, 0.4, 0.6], abs=0.01), "paced at the halved rate"


def test_the_rate_recovers_linearly_to_the_maximum() -> None:
    clock = FakeClock()
    limiter = RateLimiter(20.0, clock=clock)
    limiter.throttled(retry_after=None)
    assert limiter.rate == pytest.approx(10.0)
    clock.now += RECOVERY_SECONDS / 2
    assert limiter.rate == pytest.approx(15.0)
    clock.now += RECOVERY_SECONDS
    assert limiter.rate == 20.0


def test_the_rate_never_drops_below_the_floor() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1.0, clock=clock)
    for _ in range(20):
        limiter.throttled(retry_after=None)
        clock.now += 1.0
    assert limiter.rate >= MIN_REQUESTS_PER_SECOND


def test_a_queue_built_at_the_floor_drains_as_the_rate_recovers() -> None:
    """125 triggers queued after ten 429s (rate ~1.7/s): slots booked ahead at that rate would keep the
    last waiting ~74 s; served at the rate of each moment, they are all out within ~15 s."""
    clock = FakeClock()
    limiter = RateLimiter(50.0, clock=clock)
    for _ in range(10):  # 429s a second apart, as in a burst
        limiter.throttled(retry_after=None)
        clock.now += 1.0
    assert limiter.rate < 2.0
    sent = _serve(limiter, clock, 125)
    assert sent[-1] < 20.0
    assert sent == sorted(sent)


async def test_acquire_serves_callers_in_arrival_order() -> None:
    limiter = RateLimiter(200.0)
    order: list[int] = []

    async def call(index: int) -> None:
        await limiter.acquire()
        order.append(index)

    await asyncio.gather(*(call(index) for index in range(400)))  # 200 from the burst, 200 queued
    assert order == list(range(400))


def test_a_non_positive_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="max_requests_per_second"):
        RateLimiter(0)


async def test_a_throttled_kind_waits_alone_while_other_kinds_keep_their_pace() -> None:
    from airflow_provider_dataflow.hooks.operations import CallKind
    from airflow_provider_dataflow.hooks.rate_limit import RequestBudget

    budget = RequestBudget(100.0)
    budget.throttled(CallKind.SUBMIT, retry_after=30.0)
    create = asyncio.ensure_future(budget.acquire(CallKind.SUBMIT))
    await asyncio.wait_for(asyncio.gather(*(budget.acquire(CallKind.POLL) for _ in range(50))), 2)
    assert not create.done(), "the create waits out its Retry-After"
    assert budget.kind(CallKind.POLL).rate == 100.0
    assert budget.kind(CallKind.SUBMIT).rate == pytest.approx(50.0, abs=0.1), "halved, recovering slowly"
    create.cancel()

"""The per-endpoint request budget: steady rate, halving on 429 bursts, Retry-After, recovery."""

from __future__ import annotations

import pytest

from airflow_provider_dataflow.hooks.rate_limit import RECOVERY_SECONDS, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _waits(limiter: RateLimiter, calls: int) -> list[float]:
    return [limiter.reserve() for _ in range(calls)]


def test_calls_are_spaced_at_the_configured_rate_after_a_one_second_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10.0, clock=clock)
    waits = _waits(limiter, 30)
    assert waits[:11] == pytest.approx([0.0] * 11), "an idle bucket lets one second's worth through"
    assert waits[11:] == pytest.approx([0.1 * i for i in range(1, 20)])


def test_a_burst_of_429s_halves_the_rate_once_per_window_and_honours_retry_after() -> None:
    clock = FakeClock()
    limiter = RateLimiter(20.0, clock=clock)
    for _ in range(50):  # one overload, answered 50 times within the same instant
        limiter.throttled(retry_after=2.0)
    assert limiter.rate == pytest.approx(10.0)
    assert limiter.reserve() == pytest.approx(2.0), "nothing goes out before Retry-After"
    clock.now += 1.5  # a new overload, after the window: halve the (slightly recovered) rate again
    limiter.throttled(retry_after=None)
    assert limiter.rate == pytest.approx((10.0 + 10.0 * 1.5 / RECOVERY_SECONDS) / 2)


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
    assert limiter.rate >= 0.5


def test_a_non_positive_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="max_requests_per_second"):
        RateLimiter(0)

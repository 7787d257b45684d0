from __future__ import annotations

import random

from airflow_provider_dataflow.runs.backoff import Backoff
from airflow_provider_dataflow.runs.states import RunState, wait_is_over


def test_backoff_grows_caps_and_honours_retry_after() -> None:
    backoff = Backoff(base=1.0, cap=8.0, _rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(6)]
    assert all(0.5 <= d <= 8.0 for d in delays)
    assert delays[-1] >= 4.0  # capped ceiling 8, jitter keeps at least half
    assert 30.0 <= backoff.next_delay(retry_after=30.0) <= 33.0
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_unknown_states_do_not_end_the_wait() -> None:
    assert RunState.parse("UNKNOWN_ENUM_VALUE") is None
    assert not wait_is_over("UNKNOWN_ENUM_VALUE", ["SUCCEEDED"])
    assert not wait_is_over("CANCELING", [])
    assert wait_is_over("STOPPED", [])
    assert wait_is_over("IN_PROGRESS", ["IN_PROGRESS"])


def test_polling_backoff_stays_within_twice_the_poll_interval() -> None:
    backoff = Backoff.for_polling(30.0)
    assert max(backoff.next_delay() for _ in range(20)) <= 60.0
    fast = Backoff.for_polling(0.1)
    assert max(fast.next_delay() for _ in range(50)) <= 0.2

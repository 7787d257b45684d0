"""The wait rules without I/O: a scripted performer answers the steps ``wait_steps`` asks for."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from airflow_provider_dataflow.exceptions import (
    DataflowRequestRejectedError,
    DataflowRunTimeoutError,
    DataflowServiceError,
)
from airflow_provider_dataflow.pipeline import steps as steps_module
from airflow_provider_dataflow.pipeline import wait as wait_module
from airflow_provider_dataflow.pipeline.finish import finish_steps
from airflow_provider_dataflow.pipeline.outcome import Ending, WaitOutcome
from airflow_provider_dataflow.pipeline.steps import Call, Poll, Step, drive
from airflow_provider_dataflow.pipeline.wait import PoolQueue, cancel_and_confirm_steps, wait_steps

LOG = logging.getLogger(__name__)
START = 1_800_000_000.0


class FakeClock:
    """Stands in for the ``time`` module of the steps; the script advances it by each step's delay."""

    def __init__(self) -> None:
        self.now = START

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(wait_module, "time", fake)
    monkeypatch.setattr(steps_module, "time", fake)
    return fake


class Script:
    """Answers each step with the next scripted result (a run state or a whole run, an error, or a cancel's
    outcome)."""

    def __init__(self, clock: FakeClock, *answers: Any) -> None:
        self.clock = clock
        self.answers = list(answers)
        self.steps: list[Step] = []

    def __call__(self, step: Step) -> Any:
        self.steps.append(step)
        self.clock.now += step.delay  # type: ignore[union-attr]
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, (bool, dict)):  # a cancel's outcome, or a whole run
            return answer
        return {"id": "r", "state": answer}


def _wait(script: Script, deadline: float | None = None, targets: tuple[str, ...] = ()) -> WaitOutcome:
    steps = wait_steps("r", poll_interval=10.0, target_states=targets, deadline=deadline, timeout=60.0, log=LOG)
    return drive(steps, script)


def _kinds(script: Script) -> list[str]:
    """poll, cancel or get, for each step the script answered."""
    return [
        "poll" if isinstance(step, Poll) else str(step.operation.doing).split()[0]
        for step in script.steps
        if isinstance(step, (Poll, Call))
    ]


def _kill(script: Script) -> tuple[bool, dict[str, Any]]:
    return drive(cancel_and_confirm_steps("r", LOG), script)


def test_polls_until_a_terminal_state_telling_watchers_the_state_already_seen(clock: FakeClock) -> None:
    script = Script(clock, "ACCEPTED", "IN_PROGRESS", "IN_PROGRESS", "SUCCEEDED")
    assert _wait(script) == WaitOutcome(Ending.DONE, {"id": "r", "state": "SUCCEEDED"}, "r")
    assert _kinds(script) == ["poll"] * 4
    assert [s.known_state for s in script.steps if isinstance(s, Poll)] == [
        None,
        "ACCEPTED",
        "IN_PROGRESS",
        "IN_PROGRESS",
    ]
    assert [s.delay for s in script.steps if isinstance(s, Poll)] == [0.0, 10.0, 10.0, 10.0]


def test_a_target_state_ends_the_wait_early(clock: FakeClock) -> None:
    outcome = _wait(Script(clock, "ACCEPTED", "IN_PROGRESS"), targets=("IN_PROGRESS",))
    assert outcome.run == {"id": "r", "state": "IN_PROGRESS"}


def test_transient_errors_back_off_and_permanent_ones_end_the_wait_with_their_kind(clock: FakeClock) -> None:
    busy = DataflowServiceError("429", status=429, transient=True, retry_after=3.0)
    gone = DataflowRequestRejectedError("404 NotAuthorizedOrNotFound", status=404, code="NotAuthorizedOrNotFound")
    script = Script(clock, "ACCEPTED", busy, busy, gone)
    outcome = _wait(script)
    assert (outcome.ending, outcome.run_id, outcome.run) == (Ending.ERROR, "r", {"id": "r", "state": "ACCEPTED"})
    assert outcome.error is gone, "the exception the call raised is the one the task raises"
    resumed = WaitOutcome.from_event(outcome.to_event())
    assert type(resumed.error) is DataflowRequestRejectedError and str(resumed.error) == str(gone)
    delays = [s.delay for s in script.steps if isinstance(s, Poll)]
    assert 3.0 <= delays[2] <= 3.3 and 3.0 <= delays[3] <= 3.3, "Retry-After is honoured"


def test_the_deadline_cancels_and_confirms_then_reports_a_timeout(clock: FakeClock) -> None:
    script = Script(clock, "IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS", True, "CANCELING", "CANCELED")
    outcome = _wait(script, deadline=START + 15)
    assert outcome.ending is Ending.TIMEOUT and "cancelled it (state CANCELED)" in str(outcome.error)
    assert _kinds(script)[-3:] == ["cancel", "get", "get"]
    polls = [s for s in script.steps if isinstance(s, Poll)]
    assert [p.delay for p in polls] == [0.0, 10.0, 5.0], "the last poll is cut short so the deadline is on time"
    assert {p.deadline for p in polls} == {START + 15}, "watchers never answer past the deadline"


def test_a_failed_cancel_at_the_deadline_still_fails_the_task_as_a_timeout_naming_both(clock: FakeClock) -> None:
    """What the user sees (the task's exception): the timeout, and that its cancel failed (issue 21, item 3)."""
    script = Script(clock, "IN_PROGRESS", "IN_PROGRESS", DataflowServiceError("cancel refused", status=400))
    outcome = _wait(script, deadline=START + 5)
    finishing = finish_steps(outcome, success_states=("SUCCEEDED",), log_tail_lines=0, log=LOG, metric_tags=None)
    with pytest.raises(DataflowRunTimeoutError) as raised:
        drive(finishing, Script(clock))
    message = str(raised.value)
    assert "did not finish within the operator's timeout (60 s)" in message
    assert "cancelling it failed (cancel refused)" in message and "cancel it in the console" in message


def test_a_kill_retries_a_cancel_through_503_and_429_then_confirms(clock: FakeClock) -> None:
    unavailable = DataflowServiceError("503", status=503, transient=True)
    busy = DataflowServiceError("429", status=429, transient=True, retry_after=2.0)
    script = Script(clock, unavailable, busy, True, unavailable, "CANCELED")
    assert _kill(script) == (True, {"id": "r", "state": "CANCELED"})
    cancels = [step.delay for step in script.steps if isinstance(step, Call) and "cancel" in step.operation.doing]
    assert len(cancels) == 3 and cancels[0] == 0.0 and 2.0 <= cancels[2] <= 2.2, "Retry-After is honoured"
    assert _kinds(script)[3:] == ["get", "get"], "a failed confirm read is read again"


def test_a_cancel_refused_for_good_or_failing_past_the_retry_window_is_raised(clock: FakeClock) -> None:
    with pytest.raises(DataflowServiceError, match="refused"):
        _kill(Script(clock, DataflowServiceError("refused", status=400)))
    unavailable = DataflowServiceError("still 503", status=503, transient=True, retry_after=30.0)
    script = Script(clock, *[unavailable] * 10)
    with pytest.raises(DataflowServiceError, match="still 503"):
        _kill(script)
    assert 4 <= len(script.steps) <= 6, "retried for about CANCEL_RETRY_SECONDS (120 s), then given up"


def test_max_poll_interval_caps_the_dags_poll_interval(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """``[oci_dataflow] max_poll_interval`` makes DAG tests fast without changing the DAG's 10 s."""
    monkeypatch.setenv("AIRFLOW__OCI_DATAFLOW__MAX_POLL_INTERVAL", "0.5")
    script = Script(clock, "ACCEPTED", "IN_PROGRESS", "SUCCEEDED")
    assert _wait(script).run == {"id": "r", "state": "SUCCEEDED"}
    polls = [step for step in script.steps if isinstance(step, Poll)]
    assert [poll.delay for poll in polls] == [0.0, 0.5, 0.5]
    assert {poll.poll_interval for poll in polls} == {0.5}


def _pooled(script: Script, queue: PoolQueue, timeout: float = 60.0) -> WaitOutcome:
    steps = wait_steps(
        "r", poll_interval=10.0, target_states=(), deadline=None, timeout=timeout, log=LOG, pool_queue=queue
    )
    return drive(steps, script)


def _at(seconds: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(START + seconds, timezone.utc).isoformat()


def test_a_runs_wait_in_its_pools_queue_is_reported_and_not_counted_against_the_timeout(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Queued for 50 s with a 60 s timeout: the run still gets its 60 s, counted from leaving the queue."""
    queued = {"id": "r", "state": "ACCEPTED", "lifecycle_details": "Waiting for capacity in pool p"}
    script = Script(
        clock,
        queued,
        queued,
        queued,
        queued,
        queued,
        queued,  # START + 50 s
        {"id": "r", "state": "IN_PROGRESS", "time_updated": _at(45)},  # it left the queue at +45 s
        {"id": "r", "state": "IN_PROGRESS"},
        {"id": "r", "state": "IN_PROGRESS"},
        {"id": "r", "state": "SUCCEEDED"},  # +90 s: 45 s after leaving the queue, within the timeout
    )
    with caplog.at_level(logging.INFO):
        outcome = _pooled(script, PoolQueue("ocid1.dataflowpool.oc1..p"))
    assert outcome.ending is Ending.DONE and outcome.run["state"] == "SUCCEEDED"  # type: ignore[index]
    assert "waits in pool ocid1.dataflowpool.oc1..p's queue: Waiting for capacity in pool p" in caplog.text
    polls = [step for step in script.steps if isinstance(step, Poll)]
    assert polls[-1].deadline == pytest.approx(START + 45 + 60), "the deadline follows the run's leaving the queue"


def test_pool_queue_timeout_cancels_a_run_that_waits_too_long_in_the_queue(clock: FakeClock) -> None:
    queued = {"id": "r", "state": "ACCEPTED"}
    canceled = {"id": "r", "state": "CANCELED"}
    queue = PoolQueue("ocid1.dataflowpool.oc1..p", timeout=25.0, deadline=START + 25)
    script = Script(clock, queued, queued, queued, queued, True, canceled)
    outcome = _pooled(script, queue)
    assert outcome.ending is Ending.TIMEOUT
    assert "did not finish out of pool ocid1.dataflowpool.oc1..p's queue within pool_queue_timeout (25 s)" in str(
        outcome.error
    )
    assert _kinds(script)[-2:] == ["cancel", "get"]

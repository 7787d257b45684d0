"""What a task makes of a wait's outcome (``pipeline.finish``), without I/O: scripted answers to its steps."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from airflow_provider_dataflow.exceptions import DataflowApplicationError, DataflowServiceError
from airflow_provider_dataflow.pipeline import steps as steps_module
from airflow_provider_dataflow.pipeline.finish import finish_steps
from airflow_provider_dataflow.pipeline.outcome import FROM_SUMMARY, WaitOutcome
from airflow_provider_dataflow.pipeline.steps import Call, Step, drive

LOG = logging.getLogger(__name__)
FAILED_SUMMARY = {"id": "r", "state": "FAILED", "lifecycle_details": "Spark job exited 1", FROM_SUMMARY: True}


class Clock:
    now = 1_800_000_000.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(steps_module, "time", fake)
    return fake


def _finish(outcome: WaitOutcome, perform: Any) -> Any:
    steps = finish_steps(
        outcome, success_states=("SUCCEEDED",), log_tail_lines=0, log=LOG, metric_tags={"dag_id": "d", "task_id": "t"}
    )
    return drive(steps, perform)


def test_a_failed_run_whose_reread_fails_stays_an_application_failure(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """The wait saw FAILED; reading the whole run then fails for a minute. The task still raises the
    application's failure (which the retry policy fails at once), never a transient service error that would
    submit a new Spark run (issue 21, item 3); and the cost line is still written."""
    reads: list[Step] = []

    def unreadable(step: Step) -> Any:
        reads.append(step)
        clock.now += getattr(step, "delay", 0.0) + 1.0
        raise DataflowServiceError("503 while reading the run", status=503, transient=True)

    with (
        caplog.at_level(logging.INFO),
        pytest.raises(DataflowApplicationError, match="ended FAILED: Spark job exited 1"),
    ):
        _finish(WaitOutcome.done(FAILED_SUMMARY), unreadable)
    assert len(reads) > 1 and all(isinstance(step, Call) and "get run" in step.operation.doing for step in reads)
    assert "going on with the state the wait saw" in caplog.text
    assert "Data Flow run r FAILED" in caplog.text, "the cost line"


def test_a_run_read_whole_once_is_not_read_again() -> None:
    whole = {"id": "r", "state": "SUCCEEDED", "total_ocpu": 2.0, "run_duration_in_milliseconds": 3_600_000}

    def nothing_to_do(step: Step) -> Any:
        raise AssertionError(f"no call expected, got {step}")

    finished = _finish(WaitOutcome.done(whole), nothing_to_do)
    assert finished.run == whole
    assert finished.task_result()["cost"]["ocpu_hours"] == 2.0

"""The trigger's event: what the worker reads back on resume, from this release and from earlier ones."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_dataflow.exceptions import (
    DataflowInvalidInputError,
    DataflowLimitExceededError,
    DataflowRequestRejectedError,
    DataflowServiceError,
)
from airflow_provider_dataflow.pipeline.kill import AskedBy, should_cancel
from airflow_provider_dataflow.pipeline.outcome import Ending, WaitOutcome
from airflow_provider_dataflow.runs.failures import CallFailure

RUN = {"id": "ocid1.dataflowrun.oc1..r", "state": "SUCCEEDED"}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"status": "done", "run": RUN}, WaitOutcome(Ending.DONE, RUN, RUN["id"])),
        (
            {"status": "timeout", "run": RUN, "message": "did not finish"},
            WaitOutcome(Ending.TIMEOUT, RUN, RUN["id"], "did not finish"),
        ),
        (
            {"status": "error", "run_id": RUN["id"], "message": "Could not get run: 404"},
            WaitOutcome(Ending.ERROR, None, RUN["id"], "Could not get run: 404"),
        ),
    ],
    ids=["done", "timeout", "error"],
)
def test_events_of_earlier_releases_read_back_as_they_meant(event: dict[str, Any], expected: WaitOutcome) -> None:
    assert WaitOutcome.from_event(event) == expected


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (DataflowRequestRejectedError("404", status=404, code="NotAuthorizedOrNotFound"), DataflowRequestRejectedError),
        (DataflowLimitExceededError("limit", status=400, code="LimitExceeded"), DataflowLimitExceededError),
        (DataflowServiceError("503 for 10 minutes", status=503, transient=True, retry_after=3.0), DataflowServiceError),
        (DataflowInvalidInputError("num_executors", "must be at least 1, got 0"), DataflowInvalidInputError),
    ],
    ids=["rejected", "limit", "transient", "bad-input"],
)
def test_a_failure_survives_the_event_and_raises_the_exception_the_worker_would(
    error: DataflowServiceError | DataflowInvalidInputError, kind: type[Exception]
) -> None:
    event = WaitOutcome.failed("r", error).to_event()
    failure = WaitOutcome.from_event(event).failure
    assert isinstance(failure, CallFailure)
    raised = failure.to_exception()
    assert type(raised) is kind and str(raised) == str(error)
    if isinstance(error, DataflowServiceError):
        assert isinstance(raised, DataflowServiceError)
        assert (raised.status, raised.code, raised.transient, raised.retry_after) == (
            error.status,
            error.code,
            error.transient,
            error.retry_after,
        )


@pytest.mark.parametrize(
    ("state", "asked_by", "cancel"),
    [
        ("deferred", AskedBy.ON_KILL, False),  # moved away from a stalled triggerer (3.3.2)
        ("deferred", AskedBy.CANCELLATION, False),  # triggerer restart or move (before 3.3)
        ("failed", AskedBy.CANCELLATION, True),
        ("success", AskedBy.ON_KILL, True),
        ("none", AskedBy.CANCELLATION, True),  # cleared
        (None, AskedBy.ON_KILL, True),  # unreadable, but Airflow said it was a kill
        (None, AskedBy.CANCELLATION, False),  # unreadable, and perhaps a restart
    ],
)
def test_the_kill_decision(state: str | None, asked_by: AskedBy, cancel: bool) -> None:
    assert should_cancel(state, asked_by) is cancel

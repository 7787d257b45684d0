"""The trigger's event: what the worker reads back on resume, from this release and from earlier ones."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_dataflow.exceptions import (
    DataflowClockSkewError,
    DataflowInvalidInputError,
    DataflowLimitExceededError,
    DataflowRequestRejectedError,
    DataflowRunTimeoutError,
    DataflowServiceError,
)
from airflow_provider_dataflow.pipeline.kill import AskedBy, should_cancel
from airflow_provider_dataflow.pipeline.outcome import Ending, WaitOutcome

RUN = {"id": "ocid1.dataflowrun.oc1..r", "state": "SUCCEEDED"}


@pytest.mark.parametrize(
    ("event", "ending", "error_type", "message"),
    [
        ({"status": "done", "run": RUN}, Ending.DONE, None, None),
        (
            {"status": "timeout", "run": RUN, "message": "did not finish"},
            Ending.TIMEOUT,
            DataflowRunTimeoutError,
            "did not finish",
        ),
        (
            {"status": "error", "run_id": RUN["id"], "message": "Could not get run: 404"},
            Ending.ERROR,
            DataflowServiceError,
            "Could not get run: 404",
        ),
        (  # 0.2.0.dev: a record of the failed call beside the message
            {
                "status": "error",
                "run_id": RUN["id"],
                "message": "Could not get run: 404",
                "failure": {
                    "message": "Could not get run: 404",
                    "status": 404,
                    "code": "NotAuthorizedOrNotFound",
                    "transient": False,
                    "retry_after": None,
                    "field": None,
                },
            },
            Ending.ERROR,
            DataflowRequestRejectedError,
            "Could not get run: 404",
        ),
        (
            {
                "status": "error",
                "run_id": None,
                "message": "bad",
                "failure": {"message": "must be >= 1", "field": "num_executors"},
            },
            Ending.ERROR,
            DataflowInvalidInputError,
            "Invalid `num_executors`: must be >= 1",
        ),
    ],
    ids=["done", "timeout", "error", "error-with-failure-record", "bad-input-record"],
)
def test_events_of_earlier_releases_resume_with_the_exception_they_meant(
    event: dict[str, Any], ending: Ending, error_type: type | None, message: str | None
) -> None:
    outcome = WaitOutcome.from_event(event)
    assert outcome.ending is ending
    assert outcome.run_id == (RUN["id"] if "run" in event or event.get("run_id") else None)
    if error_type is None:
        assert outcome.error is None
    else:
        assert type(outcome.error) is error_type and str(outcome.error) == message


@pytest.mark.parametrize(
    "error",
    [
        DataflowRequestRejectedError("404", status=404, code="NotAuthorizedOrNotFound"),
        DataflowClockSkewError("401: the clock", status=401, code="NotAuthenticated"),
        DataflowLimitExceededError("limit", status=400, code="LimitExceeded"),
        DataflowServiceError("503 for 10 minutes", status=503, transient=True, retry_after=3.0),
        DataflowInvalidInputError("num_executors", "must be at least 1, got 0"),
        DataflowRunTimeoutError("did not finish within the operator's timeout (60 s); cancelling it failed (503)", RUN),
    ],
    ids=["rejected", "clock", "limit", "transient", "bad-input", "timeout"],
)
def test_the_exception_travels_whole_through_the_event(error: Exception) -> None:
    ending = Ending.TIMEOUT if isinstance(error, DataflowRunTimeoutError) else Ending.ERROR
    outcome = WaitOutcome(ending, RUN, RUN["id"], error)  # type: ignore[arg-type]
    event = json.loads(json.dumps(outcome.to_event()))  # what survives the trigger's serialisation
    raised = WaitOutcome.from_event(event).error
    assert type(raised) is type(error) and str(raised) == str(error)
    if isinstance(error, DataflowServiceError):
        assert isinstance(raised, DataflowServiceError)
        assert (raised.status, raised.code, raised.transient, raised.retry_after) == (
            error.status,
            error.code,
            error.transient,
            error.retry_after,
        )
    if isinstance(error, DataflowRunTimeoutError):
        assert isinstance(raised, DataflowRunTimeoutError) and raised.run == RUN


def test_an_error_class_of_a_newer_release_resumes_as_its_closest_kind() -> None:
    event = {
        "status": "error",
        "run_id": "r",
        "error": {
            "type": "DataflowSomethingNewError",
            "message": "new",
            "status": 429,
            "code": "TooManyRequests",
            "transient": True,
        },
    }
    raised = WaitOutcome.from_event(event).error
    assert type(raised) is DataflowServiceError and raised.transient and str(raised) == "new"


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

"""DataflowRetryPolicy's decision for each kind of failure, and how failed runs are sorted into kinds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from airflow.sdk.definitions.retry_policy import RetryAction

from airflow_provider_dataflow.exceptions import (
    DataflowApplicationError,
    DataflowInvalidInputError,
    DataflowLimitExceededError,
    DataflowRequestRejectedError,
    DataflowRunCapacityError,
    DataflowRunError,
    DataflowRunTimeoutError,
    DataflowServiceError,
    service_error,
)
from airflow_provider_dataflow.retry_policy import DataflowRetryPolicy
from airflow_provider_dataflow.runs.failures import RunEnd, run_end, run_error


def _service_error(status: int, code: str, transient: bool = False) -> DataflowServiceError:
    return service_error(f"{status} {code}", status=status, code=code, transient=transient)


def _failed_run(details: str | None) -> dict[str, Any]:
    return {"id": "ocid1.dataflowrun.oc1..r", "state": "FAILED", "lifecycle_details": details}


@pytest.mark.parametrize(
    "exception",
    [
        run_error("ended FAILED", _failed_run("Run failed: the Spark application exited with status 1.")),
        run_error("ended FAILED", _failed_run(None)),
        DataflowInvalidInputError("num_executors", "must be at least 1, got 0"),
        _service_error(400, "InvalidParameter"),
        _service_error(401, "NotAuthenticated"),
        _service_error(404, "NotAuthorizedOrNotFound"),
    ],
    ids=["application", "application-no-details", "bad-argument", "invalid-parameter", "401", "404"],
)
def test_failures_a_retry_would_repeat_fail_at_once(exception: BaseException) -> None:
    decision = DataflowRetryPolicy().evaluate(exception, try_number=1, max_tries=4)
    assert decision.action is RetryAction.FAIL
    assert type(exception).__name__ in (decision.reason or "")


@pytest.mark.parametrize(
    "exception",
    [
        _service_error(400, "LimitExceeded"),
        _service_error(400, "QuotaExceeded"),
        run_error("ended FAILED", _failed_run("Run failed to start: out of host capacity for the requested shape.")),
        run_error("ended FAILED", _failed_run("Insufficient capacity in the availability domain")),
        _service_error(503, "ServiceUnavailable", transient=True),
        _service_error(429, "TooManyRequests", transient=True),
    ],
    ids=["limit", "quota", "out-of-capacity", "insufficient-capacity", "503", "429"],
)
def test_capacity_limits_and_lasting_service_errors_retry_after_the_delay(exception: BaseException) -> None:
    assert DataflowRetryPolicy().evaluate(exception, 1, 3).action is RetryAction.RETRY
    assert DataflowRetryPolicy().evaluate(exception, 1, 3).retry_delay is None  # the task's retry_delay
    custom = DataflowRetryPolicy(retry_delay=timedelta(minutes=10)).evaluate(exception, 1, 3)
    assert (custom.action, custom.retry_delay) == (RetryAction.RETRY, timedelta(minutes=10))


@pytest.mark.parametrize(
    "exception",
    [
        run_error("ended CANCELED", {"id": "r", "state": "CANCELED"}),
        run_error("ended STOPPED", {"id": "r", "state": "STOPPED", "lifecycle_details": "maxDurationInMinutes"}),
        DataflowRunTimeoutError("did not finish within the operator's timeout", {"id": "r", "state": "CANCELED"}),
        DataflowServiceError("could not read the run"),
        _service_error(409, "Conflict"),
        ValueError("from somewhere else"),
    ],
    ids=["canceled", "stopped", "timeout", "wait-error", "409", "other"],
)
def test_everything_else_follows_airflows_default(exception: BaseException) -> None:
    assert DataflowRetryPolicy().evaluate(exception, 1, 3).action is RetryAction.DEFAULT


def test_failed_runs_are_sorted_by_kind() -> None:
    assert isinstance(run_error("m", _failed_run("Executor lost")), DataflowApplicationError)
    assert isinstance(run_error("m", _failed_run("Out of capacity")), DataflowRunCapacityError)
    assert type(run_error("m", {"state": "CANCELED"})) is DataflowRunError
    assert run_end({"state": "SUCCEEDED"}) is RunEnd.SUCCEEDED
    assert run_end({"state": "FAILED", "lifecycle_details": "out of host capacity"}) is RunEnd.CAPACITY_FAILURE
    assert run_end({"state": "IN_PROGRESS"}) is None


def test_limit_errors_are_service_errors_too() -> None:
    error = _service_error(400, "LimitExceeded")
    assert isinstance(error, DataflowLimitExceededError) and isinstance(error, DataflowServiceError)
    assert isinstance(_service_error(400, "InvalidParameter"), DataflowRequestRejectedError)
    assert type(_service_error(500, "InternalServerError")) is DataflowServiceError


def test_a_delay_that_is_not_a_timedelta_is_rejected() -> None:
    with pytest.raises(DataflowInvalidInputError, match=r"retry_delay.*timedelta"):
        DataflowRetryPolicy(retry_delay=300)  # type: ignore[arg-type]

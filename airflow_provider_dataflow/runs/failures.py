"""Sort failed runs and calls by kind: the user's Spark code, capacity, a rejected request.

The exception a task raises (and so the retry policy's decision) and the ``oci_dataflow.run.*``
metrics both come from here, so a dashboard and the retry decisions never disagree. A failed call
travels from the triggerer to the worker as a :class:`CallFailure`, so resuming raises the exception
the worker would have raised itself.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from airflow_provider_dataflow.exceptions import (
    DataflowApplicationError,
    DataflowInvalidInputError,
    DataflowLimitExceededError,
    DataflowRequestRejectedError,
    DataflowRunCapacityError,
    DataflowRunError,
    DataflowServiceError,
)
from airflow_provider_dataflow.runs.states import RunState

LIMIT_CODES = frozenset({"LimitExceeded", "QuotaExceeded"})
# lifecycleDetails of a run the service could not place; such a run never reaches IN_PROGRESS. A run that
# waited in a pool's (or the tenancy's) queue past spark.dataflow.acquireQuotaTimeout is one of them.
CAPACITY_DETAILS = re.compile(
    r"out of (host )?capacity|insufficient capacity|not enough capacity|capacity (is )?(not available|unavailable)"
    r"|limit ?exceeded|quota ?exceeded|acquire ?quota ?timeout",
    re.IGNORECASE,
)


class RunEnd(str, Enum):
    """How a run ended, as the metric ``oci_dataflow.run.ended.<kind>`` names it."""

    SUCCEEDED = "succeeded"
    APPLICATION_FAILURE = "application_failure"
    CAPACITY_FAILURE = "capacity_failure"
    CANCELED = "canceled"
    STOPPED = "stopped"


_ENDS = {RunState.SUCCEEDED: RunEnd.SUCCEEDED, RunState.CANCELED: RunEnd.CANCELED, RunState.STOPPED: RunEnd.STOPPED}


def run_end(run: dict[str, Any]) -> RunEnd | None:
    """The kind of a terminal run's end; None while the run has not ended."""
    state = RunState.parse(run.get("state"))
    if state is RunState.FAILED:
        if CAPACITY_DETAILS.search(run.get("lifecycle_details") or ""):
            return RunEnd.CAPACITY_FAILURE
        return RunEnd.APPLICATION_FAILURE
    return _ENDS.get(state) if state is not None else None


def run_error(message: str, run: dict[str, Any]) -> DataflowRunError:
    """The exception for a run that ended in a state the task treats as failure."""
    kind = run_end(run)
    if kind is RunEnd.CAPACITY_FAILURE:
        return DataflowRunCapacityError(message, run)
    if kind is RunEnd.APPLICATION_FAILURE:
        return DataflowApplicationError(message, run)
    return DataflowRunError(message, run)


def service_error_class(status: int | None, code: str | None) -> type[DataflowServiceError]:
    """400 LimitExceeded/QuotaExceeded: capacity; other 400s, 401 and 404: rejected; the rest as is."""
    if status == 400 and code in LIMIT_CODES:
        return DataflowLimitExceededError
    if status in (400, 401, 404):
        return DataflowRequestRejectedError
    return DataflowServiceError


@dataclass(frozen=True)
class CallFailure:
    """A failed call or bad input, as plain values that survive a trigger event's serialisation.

    ``field`` is set for bad input (``DataflowInvalidInputError``); otherwise it is a service call's
    failure: HTTP ``status``, OCI error ``code``, whether waiting may help (``transient``).
    """

    message: str
    status: int | None = None
    code: str | None = None
    transient: bool = False
    retry_after: float | None = None
    field: str | None = None

    @classmethod
    def of(cls, err: DataflowServiceError | DataflowInvalidInputError) -> CallFailure:
        if isinstance(err, DataflowInvalidInputError):
            return cls(message=err.problem, field=err.field)
        return cls(str(err), err.status, err.code, err.transient, err.retry_after)

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> CallFailure:
        return cls(
            message=str(payload.get("message") or ""),
            status=payload.get("status"),
            code=payload.get("code"),
            transient=bool(payload.get("transient")),
            retry_after=payload.get("retry_after"),
            field=payload.get("field"),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def to_exception(self) -> DataflowServiceError | DataflowInvalidInputError:
        """The exception the worker raises for this failure (and so the retry policy's input)."""
        if self.field is not None:
            return DataflowInvalidInputError(self.field, self.message)
        return self.to_service_error()

    def to_service_error(self) -> DataflowServiceError:
        return service_error_class(self.status, self.code)(
            self.message,
            status=self.status,
            code=self.code,
            transient=self.transient,
            retry_after=self.retry_after,
        )

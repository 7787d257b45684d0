"""Errors raised by this provider; each message names what to fix."""

from __future__ import annotations

from typing import Any

from airflow_provider_dataflow.compat import AirflowException


class DataflowInvalidInputError(AirflowException, ValueError):
    """An operator argument is invalid; raised before any API call."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"Invalid `{field}`: {problem}")


class DataflowRunError(AirflowException):
    """A run ended in a state the task treats as failure."""

    def __init__(self, message: str, run: dict[str, Any] | None = None) -> None:
        self.run = run or {}
        super().__init__(message)


class DataflowRunTimeoutError(DataflowRunError):
    """The wait passed the operator's ``timeout``; the run was cancelled."""


class DataflowCapacityError(AirflowException):
    """Capacity or a limit ran out; the same request may well succeed later (retry after a delay)."""


class DataflowApplicationError(DataflowRunError):
    """The Spark application failed (driver exited non-zero): a retry repeats the failure and its cost."""


class DataflowRunCapacityError(DataflowRunError, DataflowCapacityError):
    """The run FAILED before it started because the service had no capacity for it."""


class DataflowPoolError(AirflowException):
    """A pool cannot be brought where the task asks: it is deleted, failed to start, or still runs work."""


class DataflowPoolTimeoutError(DataflowPoolError):
    """The pool did not reach the state the task waits for within the operator's ``timeout``."""


class DataflowServiceError(AirflowException):
    """A Data Flow call failed; ``transient`` says whether waiting and retrying may help."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        transient: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.transient = transient
        self.retry_after = retry_after
        super().__init__(message)


class DataflowLimitExceededError(DataflowServiceError, DataflowCapacityError):
    """400 LimitExceeded or QuotaExceeded: the tenancy's service limit or quota is used up for now."""


class DataflowRequestRejectedError(DataflowServiceError):
    """400 InvalidParameter, 401 or 404 NotAuthorizedOrNotFound: the same request fails again."""


class DataflowClockSkewError(DataflowRequestRejectedError):
    """401 because this machine's clock is more than 5 minutes off OCI's: no credential fixes it."""


LIMIT_CODES = frozenset({"LimitExceeded", "QuotaExceeded"})


def service_error(
    message: str,
    *,
    status: int | None = None,
    code: str | None = None,
    transient: bool = False,
    retry_after: float | None = None,
) -> DataflowServiceError:
    """The exception for a failed call, its class chosen by the answer: 400 LimitExceeded/QuotaExceeded is
    capacity, other 400s, 401 and 404 are rejections, the rest a plain service error."""
    cls: type[DataflowServiceError] = DataflowServiceError
    if status == 400 and code in LIMIT_CODES:
        cls = DataflowLimitExceededError
    elif status in (400, 401, 404) and not transient:
        cls = DataflowRequestRejectedError
    return cls(message, status=status, code=code, transient=transient, retry_after=retry_after)

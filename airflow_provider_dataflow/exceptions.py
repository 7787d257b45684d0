"""Errors raised by this provider; each message names what to fix."""

from __future__ import annotations

from typing import Any

from airflow.sdk.exceptions import AirflowException


class DataflowInvalidInputError(AirflowException, ValueError):
    """An operator argument is invalid; raised before any API call."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"Invalid `{field}`: {problem}")


class DataflowRunError(AirflowException):
    """A run ended in a state the task treats as failure."""

    def __init__(self, message: str, run: dict[str, Any] | None = None) -> None:
        self.run = run or {}
        super().__init__(message)


class DataflowRunTimeoutError(DataflowRunError):
    """The wait passed the operator's ``timeout``; the run was cancelled."""


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

"""The typed end of a wait, and its trigger event: the exception the task raises travels whole.

The synchronous wait returns a :class:`WaitOutcome`; the trigger sends it as its event and the worker
reads it back on resume (``pipeline.finish`` then makes the task's result of it). A failed call or bad
input is classified once, where it happened, into the exception the task raises; the outcome carries
that exception, message included, so the worker raises the same class with the same message whichever
path waited, and ``DataflowRetryPolicy`` decides the same way. Events from earlier releases still resume.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from airflow_provider_dataflow import exceptions
from airflow_provider_dataflow.exceptions import (
    DataflowInvalidInputError,
    DataflowRunError,
    DataflowRunTimeoutError,
    DataflowServiceError,
)

#: In a run dict built from a list summary (the shared watcher): the whole run is read once, at the end.
FROM_SUMMARY = "from_summary"

DataflowError = DataflowServiceError | DataflowInvalidInputError | DataflowRunError


class Ending(str, Enum):
    DONE = "done"  # the run reached a target or terminal state (success or not is the task's call)
    TIMEOUT = "timeout"  # the deadline passed; the run was cancelled (or the cancel failed: see the error)
    ERROR = "error"  # a call failed for good, or the input was bad; the run's state is unknown


@dataclass(frozen=True)
class WaitOutcome:
    """How a wait (or a submission) ended; the payload of the trigger's event."""

    ending: Ending
    run: dict[str, Any] | None = None
    run_id: str | None = None
    error: DataflowError | None = None

    @classmethod
    def done(cls, run: dict[str, Any]) -> WaitOutcome:
        return cls(Ending.DONE, run, run.get("id"))

    @classmethod
    def timed_out(
        cls, run: dict[str, Any], bound: str, *, cancelled: bool, cancel_error: Exception | None = None
    ) -> WaitOutcome:
        """``bound``: what was exceeded, e.g. "within the operator's timeout (600 s)"."""
        if cancel_error is not None:
            action = f"cancelling it failed ({cancel_error}); it may still run: cancel it in the console"
        elif cancelled:
            action = "cancelled it"
        else:
            action = "it had already ended when the cancel arrived"
        message = (
            f"Data Flow run {run.get('id')} did not finish {bound}; {action} (state {run.get('state') or 'unknown'})."
        )
        return cls(Ending.TIMEOUT, run, run.get("id"), DataflowRunTimeoutError(message, run))

    @classmethod
    def failed(cls, run_id: str | None, error: DataflowError, run: dict[str, Any] | None = None) -> WaitOutcome:
        return cls(Ending.ERROR, run, run_id, error)

    def to_event(self) -> dict[str, Any]:
        event: dict[str, Any] = {"status": self.ending.value, "run": self.run, "run_id": self.run_id}
        if self.error is not None:
            event["error"] = error_to_json(self.error)
        return event

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> WaitOutcome:
        run = event.get("run")
        ending = Ending(event["status"])
        if "error" in event:
            error: DataflowError | None = error_from_json(event["error"], run)
        else:
            error = _error_of_an_earlier_release(ending, event, run)
        return cls(ending, run, event.get("run_id") or (run or {}).get("id"), error)


_ERROR_CLASSES: dict[str, type[Exception]] = {
    cls.__name__: cls
    for cls in vars(exceptions).values()
    if isinstance(cls, type) and issubclass(cls, (DataflowServiceError, DataflowInvalidInputError, DataflowRunError))
}


def error_to_json(error: DataflowError) -> dict[str, Any]:
    """The exception as plain values that survive the event's serialisation."""
    payload: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    if isinstance(error, DataflowServiceError):
        payload.update(status=error.status, code=error.code, transient=error.transient, retry_after=error.retry_after)
    elif isinstance(error, DataflowInvalidInputError):
        payload.update(field=error.field, problem=error.problem)
    return payload


def error_from_json(payload: Mapping[str, Any], run: dict[str, Any] | None = None) -> DataflowError:
    """The exception ``error_to_json`` described (a class this release does not know: its closest base)."""
    cls = _ERROR_CLASSES.get(str(payload.get("type")))
    message = str(payload.get("message") or "")
    if "field" in payload or (cls is not None and issubclass(cls, DataflowInvalidInputError)):
        return DataflowInvalidInputError(str(payload.get("field")), str(payload.get("problem") or message))
    if cls is not None and issubclass(cls, DataflowRunError):
        return cls(message, run)
    service_class = cls if cls is not None and issubclass(cls, DataflowServiceError) else DataflowServiceError
    return service_class(
        message,
        status=payload.get("status"),
        code=payload.get("code"),
        transient=bool(payload.get("transient")),
        retry_after=payload.get("retry_after"),
    )


def _error_of_an_earlier_release(
    ending: Ending, event: Mapping[str, Any], run: dict[str, Any] | None
) -> DataflowError | None:
    """0.1.0 sent a ``message`` (timeouts and errors) and, from 0.2.0.dev, a ``failure`` record of the call."""
    message = event.get("message")
    if ending is Ending.TIMEOUT:
        return DataflowRunTimeoutError(message or "The wait passed the operator's timeout", run)
    if ending is not Ending.ERROR:
        return None
    failure = event.get("failure")
    if failure:
        if failure.get("field") is not None:
            return DataflowInvalidInputError(str(failure["field"]), str(failure.get("message") or ""))
        return exceptions.service_error(
            str(failure.get("message") or message or ""),
            status=failure.get("status"),
            code=failure.get("code"),
            transient=bool(failure.get("transient")),
            retry_after=failure.get("retry_after"),
        )
    return DataflowServiceError(message or f"The wait for Data Flow run {event.get('run_id')} failed")

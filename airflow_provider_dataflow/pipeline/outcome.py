"""The typed end of a wait, and what the task makes of it: the same exception, cost and XCom on both paths.

The synchronous wait returns a :class:`WaitOutcome`; the trigger sends it as its event and the worker
reads it back on resume. A failure carries its kind (status, OCI error code, transient or not), so
resuming raises the exception the worker would have raised itself, and ``DataflowRetryPolicy`` decides
the same way whichever path waited. Events from earlier releases (no ``failure``) still resume.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any

from airflow_provider_dataflow.compat import Stats
from airflow_provider_dataflow.exceptions import (
    DataflowInvalidInputError,
    DataflowRunTimeoutError,
    DataflowServiceError,
)
from airflow_provider_dataflow.hooks.operations import APPLICATION_LOGS
from airflow_provider_dataflow.runs.cost import RunCost
from airflow_provider_dataflow.runs.failures import CallFailure, run_end, run_error

if TYPE_CHECKING:
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook

#: In a run dict built from a list summary (the shared watcher): the worker reads the whole run once.
FROM_SUMMARY = "from_summary"
METRIC_PREFIX = "oci_dataflow.run"
LOGS_HINT = (
    "Data Flow writes driver logs to the bucket in logs_bucket_uri (by default 'dataflow-logs' in the "
    "tenancy's namespace). Check that the bucket exists and that the principal Airflow uses may read "
    "it: e.g. 'allow group <group> to read objects in compartment <compartment> where "
    "target.bucket.name = '<logs bucket>'' and 'allow group <group> to read dataflow-run in ...'."
)


class Ending(str, Enum):
    DONE = "done"  # the run reached a target or terminal state (success or not is the task's call)
    TIMEOUT = "timeout"  # the deadline passed; the run was cancelled
    ERROR = "error"  # a call failed for good, or the input was bad; the run's state is unknown


@dataclass(frozen=True)
class WaitOutcome:
    """How a wait (or a submission) ended; the payload of the trigger's event."""

    ending: Ending
    run: dict[str, Any] | None = None
    run_id: str | None = None
    message: str | None = None
    failure: CallFailure | None = field(default=None)

    @classmethod
    def done(cls, run: dict[str, Any]) -> WaitOutcome:
        return cls(Ending.DONE, run, run.get("id"))

    @classmethod
    def timed_out(cls, run: dict[str, Any], timeout: float | None, cancelled: bool) -> WaitOutcome:
        action = "cancelled it" if cancelled else "it had already ended when the cancel arrived"
        message = (
            f"Data Flow run {run.get('id')} did not finish within the operator's timeout "
            f"({timeout or 0:.0f} s); {action} (state {run.get('state')})."
        )
        return cls(Ending.TIMEOUT, run, run.get("id"), message)

    @classmethod
    def failed(
        cls,
        run_id: str | None,
        err: DataflowServiceError | DataflowInvalidInputError,
        run: dict[str, Any] | None = None,
        message: str | None = None,
    ) -> WaitOutcome:
        return cls(Ending.ERROR, run, run_id, message or str(err), CallFailure.of(err))

    def to_event(self) -> dict[str, Any]:
        event: dict[str, Any] = {"status": self.ending.value, "run": self.run, "run_id": self.run_id}
        if self.message is not None:
            event["message"] = self.message
        if self.failure is not None:
            event["failure"] = self.failure.to_json()
        return event

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> WaitOutcome:
        run = event.get("run")
        failure = event.get("failure")
        return cls(
            ending=Ending(event["status"]),
            run=run,
            run_id=event.get("run_id") or (run or {}).get("id"),
            message=event.get("message"),
            failure=CallFailure.from_json(failure) if failure else None,
        )


def resolve(
    outcome: WaitOutcome,
    *,
    hook: DataflowHook,
    success_states: Collection[str],
    log_tail_lines: int,
    log: logging.Logger | Any,
) -> dict[str, Any]:
    """Return the run's attributes if it reached a success state; raise with diagnostics otherwise."""
    if outcome.ending is Ending.ERROR:
        if outcome.failure is not None:
            raise outcome.failure.to_exception()
        raise DataflowServiceError(outcome.message or f"The wait for Data Flow run {outcome.run_id} failed")
    run = completed(outcome, hook).run or {"id": outcome.run_id}
    if outcome.ending is Ending.TIMEOUT:
        raise DataflowRunTimeoutError(outcome.message or "The wait passed the operator's timeout", run)
    if run.get("state") in success_states:
        log.info("Data Flow run %s ended %s", run.get("id"), run.get("state"))
        return run
    details = run.get("lifecycle_details") or "no lifecycle details given"
    if log_tail_lines > 0:
        log.error("%s", failure_report(hook, run, log_tail_lines))
    raise run_error(f"Data Flow run {run.get('id')} ended {run.get('state')}: {details}", run)


def completed(outcome: WaitOutcome, hook: DataflowHook) -> WaitOutcome:
    """The outcome with the run's every attribute: the shared watcher may end a wait on a list summary."""
    if outcome.run and outcome.run.get(FROM_SUMMARY):
        return replace(outcome, run=hook.get_run(outcome.run["id"]))
    return outcome


def failure_report(hook: DataflowHook, run: dict[str, Any], lines: int) -> str:
    """The run's lifecycle details and the tail of its driver's stderr and stdout."""
    run_id = str(run.get("id"))
    sections = [f"Data Flow run {run_id} ended {run.get('state')}: {run.get('lifecycle_details')}"]
    try:
        available = {log_summary["name"] for log_summary in hook.list_run_logs(run_id)}
        wanted = [name for name in APPLICATION_LOGS if name in available]
        if not wanted:
            return "\n".join([*sections, f"No driver logs are listed for the run. {LOGS_HINT}"])
        for name in wanted:
            tail = hook.tail_run_log(run_id, name, lines)
            sections.append(f"--- last {len(tail)} lines of {name} ---")
            sections.extend(tail)
    except Exception as err:  # diagnostics only: never let a log read replace the run's own failure
        sections.append(f"Could not read the run's logs ({err}). {LOGS_HINT}")
    return "\n".join(sections)


def report_cost(run: dict[str, Any], log: logging.Logger | Any, tags: dict[str, str]) -> None:
    """The run's cost line in the task log, and its figures through Airflow's stats interface (StatsD,
    Datadog or OpenTelemetry, as configured). Metric names carry no DAG or task id (they are tags)."""
    cost = RunCost.of(run)
    log.info("%s", cost.summary())
    Stats.timing(f"{METRIC_PREFIX}.duration", timedelta(seconds=cost.run_seconds), tags=tags)
    if cost.queue_seconds is not None:
        Stats.timing(f"{METRIC_PREFIX}.queue_time", timedelta(seconds=cost.queue_seconds), tags=tags)
    Stats.gauge(f"{METRIC_PREFIX}.ocpu_hours", cost.ocpu_hours, tags=tags)
    kind = run_end(run)
    if kind is not None:
        Stats.incr(f"{METRIC_PREFIX}.ended.{kind.value}", tags={**tags, "state": str(cost.state)})

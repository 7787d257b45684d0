"""What a task makes of a wait's outcome, the same on both paths: the run and its cost, or the exception.

``finish_steps`` is driven by the operator and the sensor on a worker, and by the trigger itself when it
ends the task (``end_from_trigger``). It reads the whole run once when the wait ended on a list summary,
and goes on with what the wait saw when that read fails, so an application failure stays one. The run's
cost is computed once and logged whatever the ending; a success marks the run for later tries
(``runs.attempts.TAG_SUCCEEDED_TRY``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from airflow_provider_dataflow.compat import Stats
from airflow_provider_dataflow.exceptions import DataflowRunTimeoutError, DataflowServiceError
from airflow_provider_dataflow.hooks.operations import (
    APPLICATION_LOGS,
    CallKind,
    get_run,
    list_run_logs,
    tail_run_log,
    update_run,
)
from airflow_provider_dataflow.pipeline.outcome import FROM_SUMMARY, Ending, WaitOutcome
from airflow_provider_dataflow.pipeline.steps import Call, Steps, retried
from airflow_provider_dataflow.runs.attempts import TaskInstanceLike, succeeded_tags
from airflow_provider_dataflow.runs.cost import RunCost
from airflow_provider_dataflow.runs.failures import run_end, run_error

METRIC_PREFIX = "oci_dataflow.run"
READ_RETRY_SECONDS = 60.0
LOGS_HINT = (
    "Data Flow writes driver logs to the bucket in logs_bucket_uri (by default 'dataflow-logs' in the "
    "tenancy's namespace). Check that the bucket exists and that the principal Airflow uses may read "
    "it: e.g. 'allow group <group> to read objects in compartment <compartment> where "
    "target.bucket.name = '<logs bucket>'' and 'allow group <group> to read dataflow-run in ...'."
)


@dataclass(frozen=True)
class Finished:
    """A run that ended in a success state, with its cost (for the XCom)."""

    run: dict[str, Any]
    cost: RunCost

    def task_result(self) -> dict[str, Any]:
        """The task's return value (XCom): the run's attributes, transport secrets redacted, and its cost."""
        from airflow_provider_dataflow.lineage.injection import redact_transport_secrets

        return {**redact_transport_secrets(self.run), "cost": self.cost.as_xcom()}


def finish_steps(
    outcome: WaitOutcome,
    *,
    success_states: Collection[str],
    log_tail_lines: int,
    log: logging.Logger | Any,
    metric_tags: Mapping[str, str] | None,
    mark_for: TaskInstanceLike | None = None,
) -> Steps[Finished]:
    """The run's attributes if it reached a success state; raise the task's exception otherwise.

    :param metric_tags: Tags of the run's cost metrics; None: no cost line or metrics (the sensor's, whose
        run is someone else's: its cost is reported once, by whoever started it).
    :param mark_for: The task instance to mark the run for on success (the operator's; not the sensor's,
        which did not start the run).
    """
    if outcome.ending is Ending.ERROR:
        raise outcome.error or DataflowServiceError(f"The wait for Data Flow run {outcome.run_id} failed")
    run = yield from complete_steps(outcome.run or {"id": outcome.run_id}, log)
    cost = RunCost.of(run)
    try:
        if outcome.ending is Ending.TIMEOUT:
            error = outcome.error or DataflowRunTimeoutError("The wait passed the operator's timeout", run)
            raise DataflowRunTimeoutError(str(error), run)
        if run.get("state") in success_states:
            log.info("Data Flow run %s ended %s", run.get("id"), run.get("state"))
            if mark_for is not None:
                run = yield from mark_succeeded_steps(run, mark_for, log)
            return Finished(run, cost)
        if log_tail_lines > 0:
            report = yield from failure_report_steps(run, log_tail_lines)
            log.error("%s", report)
        details = run.get("lifecycle_details") or "no lifecycle details given"
        raise run_error(f"Data Flow run {run.get('id')} ended {run.get('state')}: {details}", run)
    finally:
        if metric_tags is not None:
            report_cost(cost, run, log, metric_tags)


def complete_steps(run: dict[str, Any], log: logging.Logger | Any) -> Steps[dict[str, Any]]:
    """The run with every attribute: a wait the shared watcher ended holds a list summary. When the read
    fails, what the wait saw (its state and details decide the task; only the cost's figures are missing)."""
    if not run.get(FROM_SUMMARY):
        return run
    try:
        full: dict[str, Any] = yield from retried(get_run(run["id"], CallKind.READ), window=READ_RETRY_SECONDS, log=log)
    except DataflowServiceError as err:
        log.warning("Could not read Data Flow run %s (%s); going on with the state the wait saw", run["id"], err)
        return {key: value for key, value in run.items() if key != FROM_SUMMARY}
    return full


def failure_report_steps(run: dict[str, Any], lines: int) -> Steps[str]:
    """The run's lifecycle details and the tail of its driver's stderr and stdout."""
    run_id = str(run.get("id"))
    sections = [f"Data Flow run {run_id} ended {run.get('state')}: {run.get('lifecycle_details')}"]
    try:
        listed = yield Call(list_run_logs(run_id))
        available = {log_summary["name"] for log_summary in listed}
        wanted = [name for name in APPLICATION_LOGS if name in available]
        if not wanted:
            return "\n".join([*sections, f"No driver logs are listed for the run. {LOGS_HINT}"])
        for name in wanted:
            tail = yield Call(tail_run_log(run_id, name, lines))
            sections.append(f"--- last {len(tail)} lines of {name} ---")
            sections.extend(tail)
    except DataflowServiceError as err:  # diagnostics only: never let a log read replace the run's own failure
        sections.append(f"Could not read the run's logs ({err}). {LOGS_HINT}")
    return "\n".join(sections)


def report_cost(cost: RunCost, run: dict[str, Any], log: logging.Logger | Any, tags: Mapping[str, str]) -> None:
    """The run's cost line in the task log, and its figures through Airflow's stats interface (StatsD,
    Datadog or OpenTelemetry, as configured). Metric names carry no DAG or task id (they are tags)."""
    log.info("%s", cost.summary())
    tags = dict(tags)
    Stats.timing(f"{METRIC_PREFIX}.duration", timedelta(seconds=cost.run_seconds), tags=tags)
    if cost.queue_seconds is not None:
        Stats.timing(f"{METRIC_PREFIX}.queue_time", timedelta(seconds=cost.queue_seconds), tags=tags)
    Stats.gauge(f"{METRIC_PREFIX}.ocpu_hours", cost.ocpu_hours, tags=tags)
    kind = run_end(run)
    if kind is not None:
        Stats.incr(f"{METRIC_PREFIX}.ended.{kind.value}", tags={**tags, "state": str(cost.state)})


def mark_succeeded_steps(run: dict[str, Any], ti: TaskInstanceLike, log: logging.Logger | Any) -> Steps[dict[str, Any]]:
    """Tag the run with the try that succeeded with it, so a clear of the task runs Spark again; the run as
    the service then returns it (as it was, when the mark could not be written)."""
    tags = succeeded_tags(run, ti)
    if tags is None:
        return run
    try:
        marked: dict[str, Any] = yield from retried(
            update_run(run["id"], {"freeform_tags": tags}), window=READ_RETRY_SECONDS, log=log
        )
    except DataflowServiceError as err:
        log.warning(
            "Could not mark Data Flow run %s as used by this task (%s): a clear of the task would reuse the run "
            "instead of running Spark again",
            run["id"],
            err,
        )
        return run
    return marked

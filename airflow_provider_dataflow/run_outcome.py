"""Turn the end of a wait into the task's return value, or into a failure that explains itself."""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from airflow_provider_dataflow.exceptions import DataflowRunTimeoutError, DataflowServiceError
from airflow_provider_dataflow.failure_kind import run_error
from airflow_provider_dataflow.hooks.dataflow import APPLICATION_LOGS
from airflow_provider_dataflow.run_wait import ERROR, FROM_SUMMARY, TIMEOUT

if TYPE_CHECKING:
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook

LOGS_HINT = (
    "Data Flow writes driver logs to the bucket in logs_bucket_uri (by default 'dataflow-logs' in the "
    "tenancy's namespace). Check that the bucket exists and that the principal Airflow uses may read "
    "it: e.g. 'allow group <group> to read objects in compartment <compartment> where "
    "target.bucket.name = '<logs bucket>'' and 'allow group <group> to read dataflow-run in ...'."
)


def with_whole_run(payload: dict[str, Any], hook: DataflowHook) -> dict[str, Any]:
    """The payload with the run's every attribute: the shared watcher may end a wait on a list summary."""
    run = payload.get("run")
    if run and run.get(FROM_SUMMARY):
        return {**payload, "run": hook.get_run(run["id"])}
    return payload


def resolve_outcome(
    payload: dict[str, Any],
    *,
    hook: DataflowHook,
    success_states: Collection[str],
    log_tail_lines: int,
    log: logging.Logger | Any,
) -> dict[str, Any]:
    """Return the run's attributes if it reached a success state; raise with diagnostics otherwise."""
    if payload["status"] == ERROR:
        raise DataflowServiceError(payload["message"])
    run: dict[str, Any] = with_whole_run(payload, hook)["run"]
    if payload["status"] == TIMEOUT:
        raise DataflowRunTimeoutError(payload["message"], run)
    if run.get("state") in success_states:
        log.info("Data Flow run %s ended %s", run.get("id"), run.get("state"))
        return run
    details = run.get("lifecycle_details") or "no lifecycle details given"
    if log_tail_lines > 0:
        log.error("%s", failure_report(hook, run, log_tail_lines))
    raise run_error(f"Data Flow run {run.get('id')} ended {run.get('state')}: {details}", run)


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
    except DataflowServiceError as err:
        sections.append(f"Could not read the run's logs ({err}). {LOGS_HINT}")
    return "\n".join(sections)

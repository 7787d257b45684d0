"""Find the run an earlier attempt of this task started, so a retry never launches Spark twice.

The run id is kept in Airflow's task state store, which (unlike XCom) survives retries and
clears. If a worker died in the moment between create and store, the run is found again by the
freeform tags every run carries (see ``task_identity``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any

from airflow_provider_dataflow.exceptions import DataflowServiceError
from airflow_provider_dataflow.operators.task_identity import same_task
from airflow_provider_dataflow.run_state import RunState

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_dataflow.hooks.dataflow import DataflowHook

STATE_STORE_KEY = "dataflow_run"
TAG_SEARCH_WINDOW = timedelta(days=7)


class ReattachPolicy(str, Enum):
    """What a new attempt does with the run an earlier attempt started.

    In every policy but ``ALWAYS_SUBMIT`` a run still ACCEPTED or IN_PROGRESS is reattached, and a
    FAILED, CANCELED or STOPPED run is replaced by a new one. They differ on a SUCCEEDED run:
    """

    #: Reuse it on a retry (the earlier attempt died after Spark finished); after a user's clear
    #: of a successful task, submit a new run, because clearing means "do it again".
    REATTACH_ACTIVE = "reattach_active"
    #: Reuse it on a retry and after a clear: the Spark job runs at most once per task instance.
    REUSE_SUCCEEDED = "reuse_succeeded"
    #: Ignore earlier runs; every attempt submits a new one.
    ALWAYS_SUBMIT = "always_submit"


def find_earlier_run(
    context: Context,
    hook: DataflowHook,
    policy: ReattachPolicy,
    compartment_id: str,
    log: logging.Logger | Any,
) -> dict[str, Any] | None:
    """The earlier run this attempt should continue with, or None to submit a new one."""
    if policy is ReattachPolicy.ALWAYS_SUBMIT:
        return None
    store = context.get("task_state_store")
    record = store.get(STATE_STORE_KEY) if store is not None else None
    after_clear = bool(isinstance(record, dict) and record.get("task_succeeded"))
    if isinstance(record, dict) and record.get("run_id"):
        run = _get_if_exists(hook, str(record["run_id"]))
    elif context["ti"].try_number > 1:
        run = _find_by_tags(context, hook, compartment_id)
    else:
        return None
    if run is None:
        return None

    state = RunState.parse(run.get("state"))
    if state is not None and state.is_active():
        log.info("Reattaching to Data Flow run %s (%s) started by an earlier attempt", run["id"], state.value)
        return run
    if state is RunState.SUCCEEDED and (not after_clear or policy is ReattachPolicy.REUSE_SUCCEEDED):
        log.info("Reusing Data Flow run %s: it already SUCCEEDED (reattach_policy=%s)", run["id"], policy.value)
        return run
    log.info("Earlier Data Flow run %s is %s; submitting a new run", run["id"], run.get("state"))
    return None


def remember_run(context: Context, run_id: str, *, task_succeeded: bool = False) -> None:
    """Record the run id (and, at the end, that the task succeeded with it) for later attempts."""
    store = context.get("task_state_store")
    if store is not None:
        store.set(STATE_STORE_KEY, {"run_id": run_id, "task_succeeded": task_succeeded})


def _get_if_exists(hook: DataflowHook, run_id: str) -> dict[str, Any] | None:
    try:
        return hook.get_run(run_id)
    except DataflowServiceError as err:
        if err.status == 404:
            return None
        raise


def _find_by_tags(context: Context, hook: DataflowHook, compartment_id: str) -> dict[str, Any] | None:
    dag_run = context.get("dag_run")
    started = getattr(dag_run, "start_date", None) or datetime.now(timezone.utc) - TAG_SEARCH_WINDOW
    candidates = [
        run
        for run in hook.list_runs(compartment_id, time_created_greater_than=started)
        if same_task(run.get("freeform_tags"), context)
    ]
    if not candidates:
        return None
    newest = max(candidates, key=lambda run: str(run.get("time_created")))
    return hook.get_run(newest["id"])

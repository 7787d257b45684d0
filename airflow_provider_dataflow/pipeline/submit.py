"""Submitting a run, defined once for the worker (``execute``) and the triggerer (``start_from_trigger``).

- :func:`prepare_body`: validate the rendered fields before any API call, tag the run with its task,
  and let the service stop it at the task's timeout even if Airflow is down.
- :func:`submit_steps`: continue with the run an earlier attempt started (reattach), or create one:
  OpenLineage properties first, then the create with the attempt's retry token, every call retried
  through transient errors by the provider's own backoff (``steps.retried``).
- :func:`deadline_for`: the one deadline rule: a run's wait ends ``timeout`` seconds after the run was
  created, whichever path waits, and however often the task is retried or resumed.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_dataflow.exceptions import DataflowServiceError
from airflow_provider_dataflow.hooks.operations import CallKind, create_run, get_application, get_run, list_runs_page
from airflow_provider_dataflow.pipeline.steps import Blocking, Steps, retried
from airflow_provider_dataflow.runs.attempts import (
    ReattachPolicy,
    TaskInstanceLike,
    continue_with,
    retry_token,
    same_task,
)
from airflow_provider_dataflow.runs.request import build_create_run_details

# The service derives these from `execute` when it is given (valid input, but likely a mistake).
IGNORED_WITH_EXECUTE = ("arguments", "parameters", "configuration")
CREATE_RETRY_SECONDS = 600.0  # as long as the SDK's default strategy would retry a create
SEARCH_RETRY_SECONDS = 120.0
TAG_SEARCH_WINDOW = timedelta(days=7)


def prepare_body(
    fields: Mapping[str, Any],
    *,
    default_compartment_id: str | None,
    tags: Mapping[str, str],
    timeout: float | None,
    timeout_sets_max_duration: bool,
    log: logging.Logger | Any,
) -> dict[str, Any]:
    """The create body: validated (before any API call), tagged with the task, its duration guarded."""
    fields = dict(fields)
    if fields.get("compartment_id") is None:
        fields["compartment_id"] = default_compartment_id
    details = build_create_run_details(fields)
    details["freeform_tags"] = {**details.get("freeform_tags", {}), **tags}
    if "execute" in details and (ignored := [n for n in IGNORED_WITH_EXECUTE if n in details]):
        log.warning(
            "Data Flow ignores %s when execute is given; put them in the spark-submit line instead",
            ", ".join(ignored),
        )
    if timeout and timeout_sets_max_duration and "max_duration_in_minutes" not in details:
        details["max_duration_in_minutes"] = math.ceil(timeout / 60)
    return details


@dataclass(frozen=True)
class Lineage:
    """Which OpenLineage Spark properties to inject, and the task context OpenLineage's helpers read."""

    parent_job: bool = False
    transport: bool = False
    context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def wanted(self) -> bool:
        return self.parent_job or self.transport


@dataclass(frozen=True)
class Submission:
    """What submitting needs besides the body, from the worker's context or the trigger's task instance."""

    ti: TaskInstanceLike
    reattach_policy: ReattachPolicy = ReattachPolicy.REATTACH_ACTIVE
    #: The task state store's record of an earlier attempt's run (the worker's); None in the triggerer.
    earlier_record: Mapping[str, Any] | None = None
    #: When the DAG run started: the search for an earlier attempt's run by its tags goes back to it.
    dag_run_started: datetime | None = None
    lineage: Lineage = Lineage()
    opc_parent_rpt_url: str | None = None


def submit_steps(body: dict[str, Any], submission: Submission, log: logging.Logger | Any) -> Steps[dict[str, Any]]:
    """The run this attempt continues with, or a new one."""
    earlier = yield from _earlier_run(submission, body["compartment_id"], log)
    if earlier is not None:
        return earlier
    if submission.lineage.wanted:
        body = yield from _with_lineage(body, submission.lineage, log)
    token = retry_token(submission.ti)
    operation = create_run(body, retry_token=token, opc_parent_rpt_url=submission.opc_parent_rpt_url)
    run: dict[str, Any] = yield from retried(operation, window=CREATE_RETRY_SECONDS, log=log)
    log.info("Created Data Flow run %s (%s)", run["id"], run.get("state"))
    return run


def deadline_for(run: Mapping[str, Any], timeout: float | None) -> float | None:
    """Unix time at which the wait for ``run`` ends: ``timeout`` seconds after its creation."""
    if not timeout:
        return None
    return created_at(run) + timeout


def created_at(run: Mapping[str, Any]) -> float:
    """When the run was created (Unix time); now if the run does not say."""
    created = run.get("time_created")
    if isinstance(created, datetime):
        return created.timestamp()
    try:
        return datetime.fromisoformat(str(created).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return time.time()


def _earlier_run(submission: Submission, compartment_id: str, log: logging.Logger | Any) -> Steps[dict | None]:
    """The run an earlier attempt started, if this attempt should continue with it (``runs.attempts``).

    The task state store names it; a worker that died between create and store (or the triggerer, which
    has no store) finds it by the tags every run carries.
    """
    policy = submission.reattach_policy
    if policy is ReattachPolicy.ALWAYS_SUBMIT:
        return None
    record = submission.earlier_record or {}
    if record.get("run_id"):
        run = yield from _run_if_it_exists(str(record["run_id"]), log)
    elif submission.ti.try_number > 1:
        run = yield from _run_by_tags(submission, compartment_id, log)
    else:
        return None
    if run is None:
        return None
    if continue_with(run, policy, after_clear=bool(record.get("task_succeeded"))):
        if run.get("state") == "SUCCEEDED":
            log.info("Reusing Data Flow run %s: it already SUCCEEDED (reattach_policy=%s)", run["id"], policy.value)
        else:
            log.info("Reattaching to Data Flow run %s (%s) started by an earlier attempt", run["id"], run.get("state"))
        return run
    log.info("Earlier Data Flow run %s is %s; submitting a new run", run["id"], run.get("state"))
    return None


def _run_if_it_exists(run_id: str, log: logging.Logger | Any) -> Steps[dict | None]:
    try:
        run: dict[str, Any] = yield from retried(get_run(run_id, CallKind.SEARCH), window=SEARCH_RETRY_SECONDS, log=log)
    except DataflowServiceError as err:
        if err.status == 404:
            return None
        raise
    return run


def _run_by_tags(submission: Submission, compartment_id: str, log: logging.Logger | Any) -> Steps[dict | None]:
    """The newest run tagged with this task instance, created since its DAG run started (pages newest first)."""
    since = submission.dag_run_started or datetime.now(timezone.utc) - TAG_SEARCH_WINDOW
    page: str | None = None
    while True:
        operation = list_runs_page(compartment_id, page, CallKind.SEARCH, time_created_greater_than=since)
        summaries, page = yield from retried(operation, window=SEARCH_RETRY_SECONDS, log=log)
        mine = next((s for s in summaries if same_task(s.freeform_tags, submission.ti)), None)
        if mine is not None:
            return (yield from _run_if_it_exists(mine.id, log))
        if not page:
            return None


def _with_lineage(body: dict[str, Any], lineage: Lineage, log: logging.Logger | Any) -> Steps[dict[str, Any]]:
    """The body with OpenLineage's Spark properties; on any failure of theirs, the body as it was."""
    from airflow_provider_dataflow.lineage.injection import inject_openlineage_properties

    inherited: dict[str, str] = {}
    if body.get("application_id") and not body.get("execute"):  # a run inherits its application's keys
        application = yield from retried(get_application(body["application_id"]), window=SEARCH_RETRY_SECONDS, log=log)
        inherited = application.get("configuration") or {}

    def inject() -> dict[str, Any]:
        return inject_openlineage_properties(
            body,
            lineage.context,
            parent_job=lineage.parent_job,
            transport=lineage.transport,
            application_configuration=inherited,
            log=log,
        )

    result: dict[str, Any] = yield Blocking(inject)
    return result

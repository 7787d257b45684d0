"""Submitting a run, defined once for the worker (``execute``) and the triggerer (``start_from_trigger``).

:func:`plan_steps` is the one function both paths drive: it validates the rendered fields before any
API call, tags the run with its task, continues with the run an earlier attempt started or creates one
(OpenLineage properties first, then the create with the attempt's retry token, every call retried through
transient errors by ``steps.retried``), and says what the task waits for: the target states and the
deadline. Which earlier run to continue with follows ``runs.attempts``: the run is found by the task state
store's record (a worker on 3.3) or by its tags (everywhere else), and whether the task already succeeded
with it (a clear, or a backfill's reprocess) is read from the run's own mark, so both paths decide alike.
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
from airflow_provider_dataflow.pipeline.wait import PoolQueue
from airflow_provider_dataflow.runs.attempts import (
    ReattachPolicy,
    TaskInstanceLike,
    continue_with,
    retry_token,
    same_task,
    task_succeeded_with,
    task_tags,
)
from airflow_provider_dataflow.runs.fields import SUBMIT_SETTINGS, run_fields_of
from airflow_provider_dataflow.runs.request import build_create_run_details
from airflow_provider_dataflow.runs.states import success_states, wait_is_over

# The service derives these from `execute` when it is given (valid input, but likely a mistake).
IGNORED_WITH_EXECUTE = ("arguments", "parameters", "configuration")
CREATE_RETRY_SECONDS = 600.0  # as long as the SDK's default strategy would retry a create
SEARCH_RETRY_SECONDS = 120.0
#: How far back the runs of a task's earlier tries are searched by their tags.
TAG_SEARCH_WINDOW = timedelta(days=7)


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
class RunRequest:
    """Everything submitting needs, read alike from an operator (a worker) or a submit trigger."""

    fields: Mapping[str, Any]  # the rendered run fields, under Terraform's names
    ti: TaskInstanceLike
    default_compartment_id: str | None
    timeout: float | None = None
    timeout_sets_max_duration: bool = True
    reattach_policy: ReattachPolicy = ReattachPolicy.REATTACH_ACTIVE
    wait_for_termination: bool = False
    lineage: Lineage = Lineage()
    opc_parent_rpt_url: str | None = None
    pool_queue_timeout: float | None = None
    #: The run id an earlier try kept in the task state store (a worker on 3.3); None: search by tags.
    earlier_run_id: str | None = None

    @classmethod
    def of(
        cls,
        holder: Any,
        ti: TaskInstanceLike,
        *,
        default_compartment_id: str | None,
        lineage_context: Mapping[str, Any],
        earlier_run_id: str | None = None,
    ) -> RunRequest:
        """Read from an operator or a submit trigger: both hold the run fields and ``SUBMIT_SETTINGS`` as
        attributes of the same names."""
        settings = {name: getattr(holder, name) for name in SUBMIT_SETTINGS}
        return cls(
            fields=run_fields_of(holder),
            ti=ti,
            default_compartment_id=default_compartment_id,
            timeout=settings["timeout"],
            timeout_sets_max_duration=settings["timeout_sets_max_duration"],
            reattach_policy=ReattachPolicy(settings["reattach_policy"]),
            wait_for_termination=settings["wait_for_termination"],
            lineage=Lineage(
                parent_job=settings["openlineage_inject_parent_job_info"],
                transport=settings["openlineage_inject_transport_info"],
                context=lineage_context,
            ),
            opc_parent_rpt_url=settings["opc_parent_rpt_url"],
            pool_queue_timeout=settings["pool_queue_timeout"],
            earlier_run_id=earlier_run_id,
        )


@dataclass(frozen=True)
class RunPlan:
    """The run this try goes on with, and what the task waits for.

    A run submitted to a pool has no deadline yet: its timeout counts from when it leaves the pool's queue
    (``wait.PoolQueue``).
    """

    run: dict[str, Any]
    target_states: tuple[str, ...]
    deadline: float | None
    pool_queue: PoolQueue | None = None

    @property
    def wait_is_over(self) -> bool:
        return wait_is_over(self.run.get("state"), self.target_states)


def plan_steps(request: RunRequest, log: logging.Logger | Any) -> Steps[RunPlan]:
    """Validate, then continue with an earlier try's run or create one; the target states and the deadline."""
    body = prepare_body(request, log)
    run = yield from _earlier_run(request, body["compartment_id"], log)
    if run is None:
        run = yield from _create(body, request, log)
    targets = tuple(success_states(run.get("type"), request.wait_for_termination))
    if pool_id := run.get("pool_id"):
        timeout = request.pool_queue_timeout
        queue = PoolQueue(pool_id, timeout, created_at(run) + timeout if timeout else None)
        return RunPlan(run, targets, None, queue)
    return RunPlan(run, targets, deadline_for(run, request.timeout))


def prepare_body(request: RunRequest, log: logging.Logger | Any) -> dict[str, Any]:
    """The create body: validated (before any API call), tagged with the task, its duration guarded."""
    fields = dict(request.fields)
    if fields.get("compartment_id") is None:
        fields["compartment_id"] = request.default_compartment_id
    details = build_create_run_details(fields)
    details["freeform_tags"] = {**details.get("freeform_tags", {}), **task_tags(request.ti)}
    if "execute" in details and (ignored := [n for n in IGNORED_WITH_EXECUTE if n in details]):
        log.warning(
            "Data Flow ignores %s when execute is given; put them in the spark-submit line instead",
            ", ".join(ignored),
        )
    timeout = request.timeout
    if timeout and request.timeout_sets_max_duration and "max_duration_in_minutes" not in details:
        details["max_duration_in_minutes"] = math.ceil(timeout / 60)
    return details


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


def _create(body: dict[str, Any], request: RunRequest, log: logging.Logger | Any) -> Steps[dict[str, Any]]:
    if request.lineage.wanted:
        body = yield from _with_lineage(body, request.lineage, log)
    operation = create_run(body, retry_token=retry_token(request.ti), opc_parent_rpt_url=request.opc_parent_rpt_url)
    run: dict[str, Any] = yield from retried(operation, window=CREATE_RETRY_SECONDS, log=log)
    log.info("Created Data Flow run %s (%s)", run["id"], run.get("state"))
    return run


def _earlier_run(request: RunRequest, compartment_id: str, log: logging.Logger | Any) -> Steps[dict | None]:
    """The run an earlier attempt started, if this attempt should continue with it (``runs.attempts``)."""
    policy = request.reattach_policy
    if policy is ReattachPolicy.ALWAYS_SUBMIT:
        return None
    if request.earlier_run_id:
        run = yield from _run_if_it_exists(request.earlier_run_id, log)
    elif request.ti.try_number > 1:
        run = yield from _run_by_tags(request.ti, compartment_id, log)
    else:
        return None
    if run is None:
        return None
    if continue_with(run, policy):
        if run.get("state") == "SUCCEEDED":
            log.info("Reusing Data Flow run %s: it already SUCCEEDED (reattach_policy=%s)", run["id"], policy.value)
        else:
            log.info("Reattaching to Data Flow run %s (%s) started by an earlier attempt", run["id"], run.get("state"))
        return run
    if task_succeeded_with(run):
        log.info("The task already succeeded with Data Flow run %s and was cleared: submitting a new run", run["id"])
    else:
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


def _run_by_tags(ti: TaskInstanceLike, compartment_id: str, log: logging.Logger | Any) -> Steps[dict | None]:
    """The newest run tagged with this task instance, created within ``TAG_SEARCH_WINDOW`` (pages newest first)."""
    since = datetime.now(timezone.utc) - TAG_SEARCH_WINDOW
    page: str | None = None
    while True:
        operation = list_runs_page(compartment_id, page, CallKind.SEARCH, time_created_greater_than=since)
        summaries, page = yield from retried(operation, window=SEARCH_RETRY_SECONDS, log=log)
        mine = next((s for s in summaries if same_task(s.freeform_tags, ti)), None)
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

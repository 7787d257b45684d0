"""A task's attempts and their runs: tags naming the task, a retry token per attempt, the mark a run gets
once its task succeeded with it, and what a new attempt does with the run an earlier one started.

Read from the task instance (a worker's ``context["ti"]`` or a trigger's ``task_instance``), so both
paths tag, token and reattach a run the same way. Whether an earlier attempt's task already succeeded with
its run is read from the run itself (``TAG_SUCCEEDED_TRY``), the one record both paths can read and write
on every Airflow release: the triggerer has no task state store. Finding the earlier run is a step of the
submission pipeline (``pipeline.submit``); the rule is here.
"""

from __future__ import annotations

import hashlib
from enum import Enum
from typing import Any, Protocol

from airflow_provider_dataflow.runs.states import RunState

TAG_DAG_ID = "airflow_dag_id"
TAG_RUN_ID = "airflow_run_id"
TAG_TASK_ID = "airflow_task_id"
TAG_MAP_INDEX = "airflow_map_index"
TAG_TRY_NUMBER = "airflow_try_number"
#: Set on a run when its task succeeded with it (the value is that try's number): a later try of the same
#: task instance then runs after a clear (a user's, or a backfill's reprocess), which means "do it again".
TAG_SUCCEEDED_TRY = "airflow_succeeded_try"
TAG_VALUE_LIMIT = 256  # OCI's limit for a freeform tag value


class TaskInstanceLike(Protocol):
    dag_id: str
    run_id: str
    task_id: str
    map_index: int | None
    try_number: int


def task_tags(ti: TaskInstanceLike) -> dict[str, str]:
    """Tags that find this task's runs again, e.g. after a worker died before it stored the run id."""
    tags = {
        TAG_DAG_ID: ti.dag_id,
        TAG_RUN_ID: ti.run_id,
        TAG_TASK_ID: ti.task_id,
        TAG_MAP_INDEX: str(ti.map_index),
        TAG_TRY_NUMBER: str(ti.try_number),
    }
    return {key: value[:TAG_VALUE_LIMIT] for key, value in tags.items()}


def same_task(tags: dict[str, Any] | None, ti: TaskInstanceLike) -> bool:
    """Whether a run's tags name this task instance (any attempt)."""
    mine = task_tags(ti)
    return bool(tags) and all(
        (tags or {}).get(key) == mine[key] for key in (TAG_DAG_ID, TAG_RUN_ID, TAG_TASK_ID, TAG_MAP_INDEX)
    )


def retry_token(ti: TaskInstanceLike) -> str:
    """Deterministic ``opc-retry-token`` for one task attempt (64 hex chars, the API's maximum).

    A create repeated within the attempt (lost response) returns the same run; a new attempt gets
    a new token, so a retry never silently receives the previous attempt's failed run.
    """
    tags = task_tags(ti)
    identity = "\x1f".join(tags[key] for key in sorted(tags))
    return hashlib.sha256(identity.encode()).hexdigest()


#: Key of the run id in Airflow's task state store (3.3+), which (unlike XCom) survives retries and clears:
#: it spares a worker the search by tags.
STATE_STORE_KEY = "dataflow_run"


class ReattachPolicy(str, Enum):
    """What a new attempt does with the run an earlier attempt started.

    In every policy but ``ALWAYS_SUBMIT`` a run still ACCEPTED or IN_PROGRESS is reattached, and a
    FAILED, CANCELED or STOPPED run is replaced by a new one. They differ on a SUCCEEDED run:
    """

    #: Reuse it on a retry (the earlier attempt died after Spark finished); after a clear of a task that
    #: succeeded with it (a user's, or a backfill's reprocess), submit a new run: clearing means "do it again".
    REATTACH_ACTIVE = "reattach_active"
    #: Reuse it on a retry and after a clear: the Spark job runs at most once per task instance.
    REUSE_SUCCEEDED = "reuse_succeeded"
    #: Ignore earlier runs; every attempt submits a new one.
    ALWAYS_SUBMIT = "always_submit"


def continue_with(run: dict[str, Any], policy: ReattachPolicy) -> bool:
    """Whether this attempt continues with the earlier ``run`` instead of submitting a new one."""
    state = RunState.parse(run.get("state"))
    if state is not None and state.is_active():
        return True
    return state is RunState.SUCCEEDED and (not task_succeeded_with(run) or policy is ReattachPolicy.REUSE_SUCCEEDED)


def task_succeeded_with(run: dict[str, Any]) -> bool:
    """Whether a try of the run's task already succeeded with it (so a later try follows a clear)."""
    return TAG_SUCCEEDED_TRY in (run.get("freeform_tags") or {})


def succeeded_tags(run: dict[str, Any], ti: TaskInstanceLike) -> dict[str, str] | None:
    """The run's freeform tags with the success mark of ``ti``'s try; None when it already carries it."""
    tags = dict(run.get("freeform_tags") or {})
    if tags.get(TAG_SUCCEEDED_TRY) == str(ti.try_number):
        return None
    return {**tags, TAG_SUCCEEDED_TRY: str(ti.try_number)}

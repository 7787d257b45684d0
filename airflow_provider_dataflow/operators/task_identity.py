"""Who submitted a run: freeform tags naming the Airflow task, and a per-attempt retry token."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.sdk import Context

TAG_DAG_ID = "airflow_dag_id"
TAG_RUN_ID = "airflow_run_id"
TAG_TASK_ID = "airflow_task_id"
TAG_MAP_INDEX = "airflow_map_index"
TAG_TRY_NUMBER = "airflow_try_number"
TAG_VALUE_LIMIT = 256  # OCI's limit for a freeform tag value


def task_tags(context: Context) -> dict[str, str]:
    """Tags that find this task's runs again, e.g. after a worker died before it stored the run id."""
    ti = context["ti"]
    tags = {
        TAG_DAG_ID: ti.dag_id,
        TAG_RUN_ID: ti.run_id,
        TAG_TASK_ID: ti.task_id,
        TAG_MAP_INDEX: str(ti.map_index),
        TAG_TRY_NUMBER: str(ti.try_number),
    }
    return {key: value[:TAG_VALUE_LIMIT] for key, value in tags.items()}


def same_task(tags: dict[str, str] | None, context: Context) -> bool:
    """Whether a run's tags name this task instance (any attempt)."""
    mine = task_tags(context)
    return bool(tags) and all(
        (tags or {}).get(key) == mine[key] for key in (TAG_DAG_ID, TAG_RUN_ID, TAG_TASK_ID, TAG_MAP_INDEX)
    )


def retry_token(context: Context) -> str:
    """Deterministic ``opc-retry-token`` for one task attempt (64 hex chars, the API's maximum).

    A create repeated within the attempt (lost response) returns the same run; a new attempt gets
    a new token, so a retry never silently receives the previous attempt's failed run.
    """
    tags = task_tags(context)
    identity = "\x1f".join(tags[key] for key in sorted(tags))
    return hashlib.sha256(identity.encode()).hexdigest()

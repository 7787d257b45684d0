"""A backfill, then the same dates backfilled again with reprocess_behavior="completed": Airflow clears the
successful task instances, which means "run it again". Every path submits one new Data Flow run per date
(issue 19: start_from_trigger reused the old runs, so Spark never ran again)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from airflow_provider_dataflow.testing.airflow_stack import AirflowStack
from airflow_provider_dataflow.testing.emulator import DataflowEmulator

from .waiting import wait_for

pytestmark = pytest.mark.system

DAG_ID = "system_dataflow_reprocess"
DAYS = ("2026-02-01", "2026-02-02", "2026-02-03")
PATHS = ("sync", "deferrable", "sft")


def _backfill(stack: AirflowStack, *extra: str) -> None:
    stack.cli("backfill", "create", "--dag-id", DAG_ID, "--from-date", DAYS[0], "--to-date", DAYS[-1], *extra)


def _backfills_completed(stack: AirflowStack) -> bool:
    backfills = stack.api.get("/backfills", params={"dag_id": DAG_ID})["backfills"]
    return bool(backfills) and all(backfill["completed_at"] for backfill in backfills)


def _task_instances(stack: AirflowStack) -> list[dict[str, Any]]:
    runs = stack.api.get(f"/dags/{DAG_ID}/dagRuns", params={"run_type": "backfill"})["dag_runs"]
    return [ti for run in runs for ti in stack.api.task_instances(DAG_ID, run["dag_run_id"])]


def _all_succeeded_at_try(stack: AirflowStack, try_number: int) -> bool:
    tis = _task_instances(stack)
    return len(tis) == len(DAYS) * len(PATHS) and all(
        ti["state"] == "success" and ti["try_number"] == try_number for ti in tis
    )


def test_a_reprocess_backfill_runs_spark_again_on_every_path(stack: AirflowStack, emulator: DataflowEmulator) -> None:
    stack.api.wait_for_dag(DAG_ID)
    _backfill(stack)
    wait_for(lambda: _all_succeeded_at_try(stack, 1), 300, "the first backfill to succeed")
    wait_for(lambda: _backfills_completed(stack), 120, "Airflow to close the first backfill")
    first = {run["id"] for run in emulator.control.runs() if run["displayName"].startswith("reprocess-")}
    assert len(first) == len(DAYS) * len(PATHS)

    _backfill(stack, "--reprocess-behavior", "completed")
    wait_for(lambda: _all_succeeded_at_try(stack, 2), 300, "the reprocess backfill to succeed")

    runs = [run for run in emulator.control.runs() if run["displayName"].startswith("reprocess-")]
    per_path_and_day = Counter(run["displayName"] for run in runs)
    assert per_path_and_day == {f"reprocess-{path}-{day}": 2 for path in PATHS for day in DAYS}
    assert all(run["lifecycleState"] == "SUCCEEDED" for run in runs)
    for path in PATHS:  # the XCom is the new run's, marked by the try that succeeded with it
        for run in stack.api.get(f"/dags/{DAG_ID}/dagRuns", params={"run_type": "backfill"})["dag_runs"]:
            result = stack.api.xcom(DAG_ID, run["dag_run_id"], path)
            assert result["id"] not in first and result["freeform_tags"]["airflow_succeeded_try"] == "2"

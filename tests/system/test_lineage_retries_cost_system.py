"""Lineage, the retry policy and the cost line on a real Airflow, through the triggerer and LocalExecutor workers."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dataflow.testing.airflow_stack import AirflowStack
from airflow_provider_dataflow.testing.emulator import DataflowEmulator

pytestmark = pytest.mark.system

DAG_ID = "system_dataflow_lineage_retries"


def _creates(emulator: DataflowEmulator, name: str) -> list[dict[str, Any]]:
    posts = [e for e in emulator.control.journal() if e["method"] == "POST" and e["path"].endswith("/runs")]
    return [entry for entry in posts if (entry["body"] or {}).get("displayName") == name]


def _events(path: Path, run_id: str, timeout: float = 30.0) -> dict[str, dict[str, Any]]:
    """The listener's START/COMPLETE/FAIL events of the task in this DAG run (written by a worker thread)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        events = [json.loads(line) for line in lines if line.strip()]
        mine = {
            e["eventType"]: e
            for e in events
            if e["job"]["name"] == f"{DAG_ID}.spark"
            and e["run"]["facets"].get("airflow", {}).get("dagRun", {}).get("run_id") == run_id
        }
        if {"START", "COMPLETE"} <= set(mine) or time.monotonic() > deadline:
            return mine
        time.sleep(0.5)


def test_spark_lineage_points_at_the_task_and_the_log_closes_with_the_cost(
    stack: AirflowStack, emulator: DataflowEmulator, openlineage_events: Path
) -> None:
    name = "stack-lineage"
    run_id = stack.api.trigger_dag(DAG_ID, conf={"name": name})
    assert stack.api.wait_for_dag_run(DAG_ID, run_id, timeout=150) == "success"

    (create,) = _creates(emulator, name)
    (run,) = [r for r in emulator.control.runs() if r["displayName"] == name]
    spark = run["configuration"]  # derived by the service from the --conf options in execute
    assert create["body"]["execute"].endswith(
        f"--conf spark.sql.shuffle.partitions=4 oci://code@namespace/lineage.py --day {run_id}"
    )
    assert spark["spark.openlineage.parentJobName"] == f"{DAG_ID}.spark"
    assert spark["spark.openlineage.parentJobNamespace"] == "system-tests"

    events = _events(openlineage_events, run_id)
    assert events["COMPLETE"]["run"]["runId"] == spark["spark.openlineage.parentRunId"]
    facet = events["COMPLETE"]["run"]["facets"]["oci_dataflow_run"]
    assert (facet["runId"], facet["state"]) == (run["id"], "SUCCEEDED")

    result = stack.api.xcom(DAG_ID, run_id, "spark")
    assert result["cost"]["total_ocpu"] == run["totalOCpu"]
    assert result["cost"]["run_seconds"] == run["runDurationInMilliseconds"] / 1000
    log = stack.api.task_log(DAG_ID, run_id, "spark", try_number=1)
    assert f"Data Flow run {run['id']} SUCCEEDED:" in log and "OCPU-hours" in log


def test_an_application_failure_fails_at_once_after_the_deferred_wait(
    stack: AirflowStack, emulator: DataflowEmulator
) -> None:
    name = "stack-application-failure"
    emulator.control.add_behaviour(display_name_regex=f"^{name}$", outcome="FAILED", stderr=["KeyError: 'day'"])
    run_id = stack.api.trigger_dag(DAG_ID, conf={"name": name})
    assert stack.api.wait_for_dag_run(DAG_ID, run_id, timeout=150) == "failed"
    ti = stack.api.task_instance(DAG_ID, run_id, "spark")
    assert (ti["state"], ti["try_number"]) == ("failed", 1)
    assert len(_creates(emulator, name)) == 1


def test_limit_exceeded_is_retried_and_then_succeeds(stack: AirflowStack, emulator: DataflowEmulator) -> None:
    name = "stack-limit-exceeded"
    emulator.control.add_fault(method="POST", path_regex="/runs$", status=400, code="LimitExceeded", times=1)
    run_id = stack.api.trigger_dag(DAG_ID, conf={"name": name})
    assert stack.api.wait_for_dag_run(DAG_ID, run_id, timeout=150) == "success"
    assert stack.api.task_instance(DAG_ID, run_id, "spark")["try_number"] == 2
    assert [entry["status"] for entry in _creates(emulator, name)] == [400, 200]

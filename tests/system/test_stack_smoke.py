"""The harness itself: a core deferrable sensor crosses worker, triggerer and scheduler on a real stack."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from airflow_provider_dataflow.testing.airflow_stack import AirflowStack

pytestmark = pytest.mark.system

DAG_ID = "stack_smoke"


def test_deferrable_sensor_runs_through_the_triggerer(stack: AirflowStack) -> None:
    api = stack.api
    api.wait_for_dag(DAG_ID, timeout=60)
    run_id = api.trigger_dag(DAG_ID)

    state = api.wait_for_dag_run(DAG_ID, run_id, timeout=120)

    seen = api.states_seen(DAG_ID, run_id)
    assert state == "success", seen
    assert "deferred" in seen["wait"], seen
    assert seen["wait"][-1] == "success"
    assert api.xcom(DAG_ID, run_id, "done") == "resumed"
    assert "DateTimeTrigger" in api.task_log(DAG_ID, run_id, "wait", try_number=1)  # the triggerer's part


def test_deferred_task_survives_a_triggerer_restart(stack: AirflowStack) -> None:
    api = stack.api
    api.wait_for_dag(DAG_ID, timeout=60)
    run_id = api.trigger_dag(DAG_ID, conf={"wait_seconds": 10})
    api.wait_for_task_state(DAG_ID, run_id, "wait", "deferred", timeout=60)

    stack.restart("triggerer")

    assert api.wait_for_dag_run(DAG_ID, run_id, timeout=120) == "success"
    assert api.task_instance(DAG_ID, run_id, "wait")["try_number"] == 1  # resumed, not retried

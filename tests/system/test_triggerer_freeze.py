"""A triggerer that stalls past its health threshold (alive, but its heartbeat late) loses its triggers
to the other triggerer. When it carries on, it must not cancel the Data Flow runs those triggers wait for:
their tasks are still deferred, now on the other triggerer.

Airflow 3.3.2 cancels such triggers on the stalled triggerer through the same path as a user's
mark-failed or clear (``TriggerRunnerSupervisor.update_triggers`` puts every trigger no longer assigned
to it into ``cancelling_triggers``, and ``cancel_triggers`` awaits ``on_kill()``), so the trigger itself
has to tell the two apart: it asks the supervisor for the task's state (``GetTaskStates``) before every
cancel (``pipeline/kill.py``). The first such call in a triggerer takes ~10 s; the decision and the cancel
run shielded, so Airflow's second cancel and ``on_kill_timeout`` cannot cut them off.
"""

from __future__ import annotations

import time

import pytest

from airflow_provider_dataflow.testing.airflow_stack import ProductionStack
from airflow_provider_dataflow.testing.emulator import DataflowEmulator

from .waiting import wait_for

pytestmark = pytest.mark.system

DEFERRED_DAG = "system_dataflow_deferred"
HEALTH_THRESHOLD = 30  # [triggerer] triggerer_health_check_threshold of the production_stack fixture


def test_a_stalled_triggerer_that_lost_its_triggers_leaves_their_runs_running(
    production_stack: ProductionStack, emulator: DataflowEmulator
) -> None:
    stack, api, control = production_stack, production_stack.api, emulator.control
    names = [f"stalled-triggerer-{index}" for index in range(3)]
    control.add_behaviour("^stalled-triggerer-", run_seconds=HEALTH_THRESHOLD + 45)
    # Only triggerer-1 runs while the tasks defer, so it holds every trigger.
    stack.kill("triggerer-2")
    run_ids = [api.trigger_dag(DEFERRED_DAG, conf={"display_name": name}) for name in names]
    for run_id in run_ids:
        api.wait_for_task_state(DEFERRED_DAG, run_id, "spark", "deferred", timeout=120)
    wait_for(lambda: len(_runs_in(emulator, names, "IN_PROGRESS")) == len(names), 60, "the runs to start")
    time.sleep(5)  # the triggers poll at least once on triggerer-1

    stack.freeze("triggerer-1")
    try:
        stack.start_component("triggerer-2")
        time.sleep(HEALTH_THRESHOLD + 10)  # triggerer-2 takes over the stalled one's triggers
    finally:
        stack.thaw("triggerer-1")
    time.sleep(10)  # triggerer-1 notices it lost them

    assert _runs_in(emulator, names, "CANCELING", "CANCELED") == []
    for run_id in run_ids:
        assert api.wait_for_dag_run(DEFERRED_DAG, run_id, timeout=180) == "success"
    assert sorted(_runs_in(emulator, names, "SUCCEEDED")) == names


def _runs_in(emulator: DataflowEmulator, names: list[str], *states: str) -> list[str]:
    return [
        run["displayName"]
        for run in emulator.control.runs()
        if run["displayName"] in names and run["lifecycleState"] in states
    ]

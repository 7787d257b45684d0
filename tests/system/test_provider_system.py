"""The provider on a real Airflow (api-server, scheduler, dag-processor, triggerer) and the emulator.

Covers what only a real deployment shows: deferral through the triggerer, a worker killed
mid-run, a triggerer restarted mid-wait, a user marking a deferred task failed, manual runs with
conf through the REST API, backfills, the console link while deferred, the sensor example.
"""

from __future__ import annotations

import signal
import time
from typing import Any

import psutil
import pytest

from airflow_provider_dataflow.testing.airflow_stack import AirflowStack
from airflow_provider_dataflow.testing.emulator import DataflowEmulator

from .waiting import wait_for

pytestmark = pytest.mark.system

DEFERRED_DAG = "system_dataflow_deferred"


def _runs_named(emulator: DataflowEmulator, display_name: str) -> list[dict[str, Any]]:
    return [run for run in emulator.control.runs() if run["displayName"] == display_name]


def test_example_dags_parse_without_import_errors(stack: AirflowStack) -> None:
    for dag_id in (
        "example_dataflow_quickstart",
        "example_dataflow_daily",
        "example_dataflow_manual",
        "example_dataflow_fan_out",
        "example_dataflow_sensor",
        "example_dataflow_pool_backfill",
    ):
        stack.api.wait_for_dag(dag_id)
    assert stack.api.import_errors() == []


@pytest.mark.compat
def test_quickstart_defers_and_returns_the_run_id(stack: AirflowStack, emulator: DataflowEmulator) -> None:
    api = stack.api
    run_id = api.trigger_dag("example_dataflow_quickstart")
    assert api.wait_for_dag_run("example_dataflow_quickstart", run_id) == "success"
    assert "deferred" in api.states_seen("example_dataflow_quickstart", run_id)["word_count"]
    result = api.xcom("example_dataflow_quickstart", run_id, "word_count")
    assert result["state"] == "SUCCEEDED"
    assert result["id"] in {run["id"] for run in _runs_named(emulator, "quickstart-word-count")}


def test_worker_killed_after_create_reattaches_on_retry(stack: AirflowStack, emulator: DataflowEmulator) -> None:
    name = "sigkill-retry"
    emulator.control.add_behaviour(display_name_regex=f"^{name}$", run_seconds=12)
    api = stack.api
    run_id = api.trigger_dag("system_dataflow_sync_retry", conf={"display_name": name})
    wait_for(lambda: _runs_named(emulator, name), 60, "the run to be created")
    ti = api.task_instance("system_dataflow_sync_retry", run_id, "spark")
    worker = wait_for(lambda: _task_process(ti["id"]), 30, "the task's worker process")
    worker.send_signal(signal.SIGKILL)

    assert api.wait_for_dag_run("system_dataflow_sync_retry", run_id, timeout=120) == "success"
    assert api.task_instance("system_dataflow_sync_retry", run_id, "spark")["try_number"] == 2
    (run,) = _runs_named(emulator, name)
    assert run["lifecycleState"] == "SUCCEEDED"
    log = api.task_log("system_dataflow_sync_retry", run_id, "spark", try_number=2)
    assert "Reattaching to Data Flow run" in log


def test_triggerer_restart_mid_wait_neither_duplicates_nor_cancels(
    stack: AirflowStack, emulator: DataflowEmulator
) -> None:
    name = "triggerer-restart"
    emulator.control.add_behaviour(display_name_regex=f"^{name}$", run_seconds=15)
    api = stack.api
    run_id = _start_deferred(stack, name)
    stack.kill("triggerer")
    time.sleep(2)
    stack.start_component("triggerer")

    assert api.wait_for_dag_run(DEFERRED_DAG, run_id, timeout=180) == "success"
    (run,) = _runs_named(emulator, name)
    assert run["lifecycleState"] == "SUCCEEDED"
    assert not _cancels(emulator, run["id"])


@pytest.mark.compat
def test_a_graceful_triggerer_stop_leaves_the_run_running(stack: AirflowStack, emulator: DataflowEmulator) -> None:
    """A stop is no kill: the task stays deferred, so neither on_kill (3.3) nor the kill fallback cancels."""
    name = "triggerer-sigterm"
    run_id, run = _deferred_and_polled(stack, emulator, name, run_seconds=15)
    stack.restart("triggerer")

    assert stack.api.wait_for_dag_run(DEFERRED_DAG, run_id, timeout=180) == "success"
    assert _runs_named(emulator, name)[0]["lifecycleState"] == "SUCCEEDED"
    assert not _cancels(emulator, run["id"])


@pytest.mark.compat
def test_marking_a_deferred_task_failed_cancels_the_run(stack: AirflowStack, emulator: DataflowEmulator) -> None:
    name = "mark-failed"
    # A task marked failed before the triggerer picked its trigger up has no trigger to kill.
    run_id, _ = _deferred_and_polled(stack, emulator, name, run_seconds=120)
    marked = time.monotonic()
    stack.api.set_task_state(DEFERRED_DAG, run_id, "spark", "failed")
    wait_for(lambda: _runs_named(emulator, name)[0]["lifecycleState"] == "CANCELED", 30, "the run to be CANCELED")
    assert time.monotonic() - marked < 30


def test_console_link_is_shown_while_the_task_is_deferred(stack: AirflowStack, emulator: DataflowEmulator) -> None:
    name = "link-while-deferred"
    emulator.control.add_behaviour(display_name_regex=f"^{name}$", run_seconds=8)
    api = stack.api
    run_id = _start_deferred(stack, name)
    links = api.extra_links(DEFERRED_DAG, run_id, "spark")
    (run,) = _runs_named(emulator, name)
    assert links["OCI Data Flow run"] == (
        f"https://cloud.oracle.com/data-flow/runs/details/{run['id']}?region=us-ashburn-1"
    )
    assert api.wait_for_dag_run(DEFERRED_DAG, run_id) == "success"


def test_a_failed_run_puts_details_and_the_stderr_tail_in_the_task_log(
    stack: AirflowStack, emulator: DataflowEmulator
) -> None:
    name = "fails-with-logs"
    emulator.control.add_behaviour(
        display_name_regex=f"^{name}$",
        outcome="FAILED",
        lifecycle_details="Stage 3 failed 4 times",
        stderr=["Traceback (most recent call last):", "KeyError: 'customer_id'"],
    )
    api = stack.api
    run_id = api.trigger_dag(DEFERRED_DAG, conf={"display_name": name})
    assert api.wait_for_dag_run(DEFERRED_DAG, run_id) == "failed"
    log = api.task_log(DEFERRED_DAG, run_id, "spark", try_number=1)
    assert "ended FAILED: Stage 3 failed 4 times" in log
    assert "KeyError: 'customer_id'" in log


def test_manual_run_conf_reaches_the_create_body(stack: AirflowStack, emulator: DataflowEmulator) -> None:
    api = stack.api
    conf = {"mode": "full", "num_executors": 7, "shuffle_partitions": 12, "input_path": "oci://raw@ns/x/"}
    run_id = api.trigger_dag("example_dataflow_manual", conf=conf)  # no logical date, as from the UI
    assert api.wait_for_dag_run("example_dataflow_manual", run_id) == "success"
    (create,) = [
        entry["body"]
        for entry in emulator.control.journal()
        if entry["method"] == "POST" and entry["path"].endswith("/runs") and entry["body"].get("numExecutors") == 7
    ]
    assert "--conf spark.sql.shuffle.partitions=12" in create["execute"]
    assert "--mode full" in create["execute"] and "--input oci://raw@ns/x/" in create["execute"]
    assert api.xcom("example_dataflow_manual", run_id, "rebuild")["num_executors"] == 7


def test_backfill_of_seven_days_runs_each_day_once(stack: AirflowStack, emulator: DataflowEmulator) -> None:
    dag_id = "example_dataflow_daily"
    stack.cli("backfill", "create", "--dag-id", dag_id, "--from-date", "2026-01-01", "--to-date", "2026-01-07")

    def backfill_runs() -> list[dict[str, Any]]:
        return list(stack.api.get(f"/dags/{dag_id}/dagRuns", params={"run_type": "backfill"})["dag_runs"])

    wait_for(
        lambda: len(backfill_runs()) == 7 and all(r["state"] == "success" for r in backfill_runs()),
        300,
        "seven backfilled days to succeed",
    )
    days = [f"2026-01-0{day}" for day in range(1, 8)]
    runs = [run for run in emulator.control.runs() if run["displayName"].startswith("daily-aggregate-2026-01-0")]
    assert sorted(run["displayName"] for run in runs) == [f"daily-aggregate-{day}" for day in days]
    for run in runs:
        day = run["displayName"].removeprefix("daily-aggregate-")
        assert run["arguments"][-1] == f"oci://lake@namespace/daily_aggregates/dt={day}/"


def test_sensor_example_waits_for_a_run_started_elsewhere(stack: AirflowStack) -> None:
    api = stack.api
    run_id = api.trigger_dag("example_dataflow_sensor")
    assert api.wait_for_dag_run("example_dataflow_sensor", run_id) == "success"
    assert "deferred" in api.states_seen("example_dataflow_sensor", run_id)["wait_for_run"]
    started = api.xcom("example_dataflow_sensor", run_id, "start_elsewhere")
    sensed = api.xcom("example_dataflow_sensor", run_id, "wait_for_run")
    assert sensed["id"] == started["id"] and sensed["state"] == "SUCCEEDED"


def _start_deferred(stack: AirflowStack, display_name: str) -> str:
    """Trigger the deferred-wait DAG for a run named ``display_name`` and return once the task defers."""
    run_id = stack.api.trigger_dag(DEFERRED_DAG, conf={"display_name": display_name})
    stack.api.wait_for_task_state(DEFERRED_DAG, run_id, "spark", "deferred")
    return run_id


def _deferred_and_polled(
    stack: AirflowStack, emulator: DataflowEmulator, display_name: str, run_seconds: float
) -> tuple[str, dict[str, Any]]:
    """Start a deferred wait for a run lasting ``run_seconds``; return (DAG run id, run) once it is polled."""
    emulator.control.add_behaviour(display_name_regex=f"^{display_name}$", run_seconds=run_seconds)
    run_id = _start_deferred(stack, display_name)
    (run,) = _runs_named(emulator, display_name)
    wait_for(lambda: _polled(emulator, run["id"]), 60, "the triggerer to poll the run")
    return run_id, run


def _polled(emulator: DataflowEmulator, run_id: str) -> bool:
    return any(e["method"] == "GET" and e["path"].endswith(run_id) for e in emulator.control.journal())


def _cancels(emulator: DataflowEmulator, run_id: str) -> list[dict[str, Any]]:
    return [e for e in emulator.control.journal() if e["method"] == "DELETE" and run_id in e["path"]]


def _task_process(ti_id: str) -> psutil.Process | None:
    """The process running a task instance (the task runner titles itself 'airflow worker -- <ti id>')."""
    for process in psutil.process_iter(["cmdline"]):
        if f"airflow worker -- {ti_id}" in " ".join(process.info["cmdline"] or []):
            return process
    return None

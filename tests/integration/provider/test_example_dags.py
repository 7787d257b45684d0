"""Every example DAG parses, and runs with ``dag.test()`` against the emulator (triggers run inline).

Marked ``compat``: ``.ci/airflow_matrix`` runs these on every supported Airflow release.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dataflow.testing.dag_runner import task_result
from airflow_provider_dataflow.testing.emulator import EmulatorControl

EXAMPLE_DAGS = Path(__file__).resolve().parents[3] / "example_dags"

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module")
def airflow_db() -> None:
    """A migrated metadata database in the session's AIRFLOW_HOME (see tests/conftest.py)."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)


@pytest.fixture(scope="module")
def dag_bag(airflow_db: None) -> Any:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # before Airflow 3.2
        from airflow.models.dagbag import DagBag

    return DagBag(dag_folder=str(EXAMPLE_DAGS))


@pytest.fixture
def quiet_emulator(control: EmulatorControl) -> Iterator[EmulatorControl]:
    yield control


def test_every_example_dag_imports_without_errors(dag_bag: Any) -> None:
    assert dag_bag.import_errors == {}
    assert {
        "example_dataflow_quickstart",
        "example_dataflow_daily",
        "example_dataflow_manual",
        "example_dataflow_fan_out",
        "example_dataflow_sensor",
        "example_dataflow_pool_backfill",
    } <= set(dag_bag.dags)


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "synchronous"])
def test_quickstart_succeeds_and_returns_the_run(
    dag_bag: Any, dataflow_conn: str, control: EmulatorControl, deferrable: bool
) -> None:
    dag = dag_bag.get_dag("example_dataflow_quickstart")
    dag.get_task("word_count").deferrable = deferrable
    dag_run = dag.test()
    assert dag_run.state == "success"
    (run,) = control.runs()
    result = task_result(dag_run, "word_count")
    assert result["id"] == run["id"] and result["state"] == "SUCCEEDED"
    assert run["freeformTags"]["airflow_dag_id"] == "example_dataflow_quickstart"


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "synchronous"])
def test_a_failed_run_fails_the_task_and_logs_details_and_stderr_tail(
    dag_bag: Any, dataflow_conn: str, control: EmulatorControl, capfd: pytest.CaptureFixture[str], deferrable: bool
) -> None:
    control.add_behaviour(
        display_name_regex="quickstart",
        outcome="FAILED",
        lifecycle_details="Job aborted due to stage failure",
        stderr=["INFO starting", "Traceback (most recent call last):", "ValueError: bad row 42"],
    )
    dag = dag_bag.get_dag("example_dataflow_quickstart")
    dag.get_task("word_count").deferrable = deferrable
    assert dag.test().state == "failed"
    output = capfd.readouterr().out
    assert "ended FAILED: Job aborted due to stage failure" in output
    assert "spark_application_stderr.log.gz" in output
    assert "ValueError: bad row 42" in output


def test_daily_pipeline_runs_for_its_logical_date(dag_bag: Any, dataflow_conn: str, control: EmulatorControl) -> None:
    import pendulum

    dag = dag_bag.get_dag("example_dataflow_daily")
    assert dag.test(logical_date=pendulum.datetime(2026, 3, 4, tz="UTC")).state == "success"
    (run,) = control.runs()
    assert run["displayName"] == "daily-aggregate-2026-03-04"
    assert run["arguments"][-2:] == ["--output", "oci://lake@namespace/daily_aggregates/dt=2026-03-04/"]


def test_manual_dag_renders_params_without_a_logical_date(
    dag_bag: Any, dataflow_conn: str, control: EmulatorControl
) -> None:
    dag = dag_bag.get_dag("example_dataflow_manual")
    conf = {"mode": "full", "num_executors": 5, "shuffle_partitions": 16, "as_of": "2026-02-01"}
    assert dag.test(run_conf=conf).state == "success"
    (run,) = control.runs()
    assert run["numExecutors"] == 5
    assert run["configuration"]["spark.sql.shuffle.partitions"] == "16"
    assert run["arguments"] == ["--mode", "full", "--as-of", "2026-02-01", "--input", "oci://raw@namespace/events/"]


def test_fan_out_starts_one_run_per_table(dag_bag: Any, dataflow_conn: str, control: EmulatorControl) -> None:
    assert dag_bag.get_dag("example_dataflow_fan_out").test().state == "success"
    assert sorted(run["displayName"] for run in control.runs()) == ["load-customers", "load-orders", "load-payments"]


def test_asynchronous_run_then_sensor_waits_for_it(dag_bag: Any, dataflow_conn: str, control: EmulatorControl) -> None:
    dag_run = dag_bag.get_dag("example_dataflow_sensor").test()
    assert dag_run.state == "success"
    (run,) = control.runs()
    assert task_result(dag_run, "wait_for_run")["state"] == "SUCCEEDED"
    assert task_result(dag_run, "start_elsewhere")["id"] == run["id"]


@pytest.mark.parametrize("state", ["STOPPED", "ACTIVE"])
def test_pool_backfill_starts_the_pool_runs_the_date_in_it_and_stops_it(
    dag_bag: Any, dataflow_conn: str, control: EmulatorControl, state: str
) -> None:
    import pendulum

    dag = dag_bag.get_dag("example_dataflow_pool_backfill")
    pool_id = dag.get_task("start_pool").pool_id
    control.pool_settings(start_seconds=0.5, stop_seconds=0.2)
    control.register_pool(pool_id, lifecycle_state=state)
    dag_run = dag.test(logical_date=pendulum.datetime(2026, 1, 5, tz="UTC"))
    assert dag_run.state == "success"
    (run,) = control.runs()
    assert (run["displayName"], run["poolId"], run["lifecycleState"]) == (
        "pool-aggregate-2026-01-05",
        pool_id,
        "SUCCEEDED",
    )
    assert task_result(dag_run, "start_pool")["state"] == "ACTIVE"
    assert task_result(dag_run, "stop_pool")["state"] == "STOPPED"
    (pool,) = control.pools()
    assert pool["lifecycleState"] == "STOPPED"
    assert pool["poolMetrics"]["timeLastStarted"] <= run["timeCreated"]  # warm before the date's run


def _configure(task: Any, monkeypatch: pytest.MonkeyPatch, **attributes: Any) -> None:
    """Change the module-scoped DAG's task for one test only."""
    for name, value in attributes.items():
        monkeypatch.setattr(task, name, value)


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "synchronous"])
def test_a_timeout_cancels_the_run_and_fails_the_task(
    dag_bag: Any, dataflow_conn: str, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch, deferrable: bool
) -> None:
    control.add_behaviour(display_name_regex="quickstart", run_seconds=120)
    dag = dag_bag.get_dag("example_dataflow_quickstart")
    _configure(dag.get_task("word_count"), monkeypatch, deferrable=deferrable, timeout=1.0, poll_interval=0.2)
    assert dag.test().state == "failed"
    (run,) = control.runs()
    assert run["lifecycleState"] in ("CANCELING", "CANCELED")


def test_a_retry_reattaches_to_the_run_of_the_failed_attempt(
    dag_bag: Any, dataflow_conn: str, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first wait fails on a 400 while Spark runs on; the retry finds that run and waits for it.

    Found through ``task_state_store`` on 3.3, through the run's ``airflow_*`` tags before. Synchronous
    only: on 3.0 ``dag.test()`` resumes a retried task at ``execute_complete`` with the failed attempt's
    event, which a real deployment does not do; the reattach code is the same in both modes.
    """
    control.add_behaviour(display_name_regex="quickstart", run_seconds=3)
    control.add_fault(method="GET", path_regex="/runs/", status=400, code="InvalidParameter", times=1)
    dag = dag_bag.get_dag("example_dataflow_quickstart")
    _configure(dag.get_task("word_count"), monkeypatch, deferrable=False, retries=1, retry_delay=timedelta(0))
    dag_run = dag.test()
    assert dag_run.state == "success"
    (run,) = control.runs()
    assert task_result(dag_run, "word_count")["id"] == run["id"]


def test_no_line_of_the_private_key_reaches_the_output(
    dag_bag: Any, dataflow_conn: str, creds: Any, control: EmulatorControl, capfd: pytest.CaptureFixture[str]
) -> None:
    """dag.test() prints the task, trigger and supervisor logs.

    One exception, on 3.0 only: its in-process stand-in for the supervisor logs every request at debug
    level, the ``MaskSecret`` requests included, which Airflow itself sends with the connection's password
    before the provider sees the connection (docs/compatibility.md). A real deployment does not log them.
    """
    assert dag_bag.get_dag("example_dataflow_quickstart").test().state == "success"
    captured = capfd.readouterr()
    key_lines = [line for line in creds.private_key_pem.splitlines() if line and not line.startswith("-----")]
    leaks = [
        line
        for line in (captured.out + captured.err).splitlines()
        if any(key_line in line for key_line in key_lines)
        and not ("[debug    ] Sending request" in line and "msg=MaskSecret(" in line)
    ]
    assert leaks == []

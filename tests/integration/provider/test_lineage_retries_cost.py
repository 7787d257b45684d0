"""``example_dataflow_lineage`` under ``dag.test()``: OpenLineage injection and events, retries by failure kind, cost.

OpenLineage is configured through Airflow's own settings with a composite transport: a file (the
events the listener emitted) and an HTTP endpoint on 127.0.0.1 with an API key (so the transport,
and its secret, are injected into Spark). Airflow registers the OpenLineage listener when it loads
plugins, once per process, so that DAG run happens in a fresh process, as on a worker.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.testing.emulator import EmulatorControl

from .conftest import COMPARTMENT

EXAMPLE_DAGS = Path(__file__).resolve().parents[3] / "example_dags"
DAG_ID = "example_dataflow_lineage"
API_KEY = "ol-api-key-that-must-not-leak"
NAMESPACE = "lineage-tests"


class _Collector(BaseHTTPRequestHandler):
    """An OpenLineage HTTP endpoint that keeps what it receives."""

    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def collector_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def airflow_db() -> None:
    """A migrated metadata database in the session's AIRFLOW_HOME (see tests/conftest.py)."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)


@pytest.fixture(scope="module")
def dag(airflow_db: None) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(EXAMPLE_DAGS / f"{DAG_ID}.py"))
    assert bag.import_errors == {}
    return bag.get_dag(DAG_ID)


@pytest.fixture
def events_file(tmp_path: Path, collector_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """OpenLineage enabled for this test; the listener writes every event it emits to the returned file."""
    events = tmp_path / "openlineage.jsonl"
    transport = {
        "type": "composite",
        "transports": {
            "file": {"type": "file", "log_file_path": str(events), "append": True},
            "collector": {"type": "http", "url": collector_url, "auth": {"type": "api_key", "apiKey": API_KEY}},
        },
    }
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(transport))
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__NAMESPACE", NAMESPACE)
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD", "True")
    return events


@pytest.fixture
def application_id(hook: DataflowHook) -> str:
    """An application whose configuration already chooses a transport and a root parent name."""
    import oci

    details = oci.data_flow.models.CreateApplicationDetails(
        compartment_id=COMPARTMENT,
        display_name="lineage-app",
        driver_shape="VM.Standard.E4.Flex",
        executor_shape="VM.Standard.E4.Flex",
        driver_shape_config=oci.data_flow.models.ShapeConfig(ocpus=2, memory_in_gbs=32),
        executor_shape_config=oci.data_flow.models.ShapeConfig(ocpus=2, memory_in_gbs=32),
        num_executors=2,
        file_uri="oci://code@namespace/app.py",
        language="PYTHON",
        spark_version="3.5.0",
        configuration={
            "spark.openlineage.transport.type": "console",
            "spark.openlineage.rootParentJobName": "set-in-the-application",
        },
    )
    return str(hook.get_conn().create_application(details).data.id)


def _create_bodies(control: EmulatorControl, display_name: str) -> list[dict[str, Any]]:
    creates = [e for e in control.journal() if e["method"] == "POST" and e["path"].endswith("/runs")]
    return [entry for entry in creates if entry["body"]["displayName"] == display_name]


def _task_instance(dag_run: Any, task_id: str) -> Any:
    return next(ti for ti in dag_run.get_task_instances() if ti.task_id == task_id)


def _xcom(run_id: str, task_id: str) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(key="return_value", run_id=run_id, dag_ids=DAG_ID, task_ids=task_id)
        ).first()
        return XComModel.deserialize_value(row) if row is not None else None


def _dag_test_in_a_fresh_process(run_conf: dict[str, Any]) -> tuple[str, str, str]:
    """``dag.test()`` in a new interpreter (inheriting this one's environment); (run id, state, output)."""
    code = (
        "import json, sys\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"dag = DagBag(dag_folder={str(EXAMPLE_DAGS / f'{DAG_ID}.py')!r}).get_dag({DAG_ID!r})\n"
        "dag_run = dag.test(run_conf=json.loads(sys.argv[1]))\n"
        "print('DAG RUN', dag_run.run_id, dag_run.state)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(run_conf)], capture_output=True, text=True, timeout=300
    )
    output = result.stdout + result.stderr
    last = [line for line in result.stdout.splitlines() if line.startswith("DAG RUN ")]
    assert last, output
    _, _, run_id, state = last[-1].split(" ")
    return run_id, state, output


def _events(path: Path, job_name: str) -> dict[str, dict[str, Any]]:
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {event["eventType"]: event for event in events if event["job"]["name"] == job_name}


def test_both_paths_point_spark_lineage_at_their_task_without_overriding_user_keys(
    airflow_db: None,
    dataflow_conn: str,
    control: EmulatorControl,
    events_file: Path,
    application_id: str,
) -> None:
    run_id, state, output = _dag_test_in_a_fresh_process({"application_id": application_id})
    assert state == "success"

    # execute path: --conf options in the spark-submit line, the user's own option kept.
    (submit,) = _create_bodies(control, "lineage-spark-submit")
    execute = submit["body"]["execute"]
    assert "configuration" not in submit["body"]
    assert execute.endswith(
        "--conf spark.sql.shuffle.partitions=8 oci://samples@namespace/wordcount.py "
        "oci://samples@namespace/input/shakespeare.txt"
    )
    runs = {run["displayName"]: run for run in control.runs()}
    spark = runs["lineage-spark-submit"]["configuration"]  # what the service derived from execute
    assert spark["spark.sql.shuffle.partitions"] == "8"
    assert spark["spark.openlineage.parentJobNamespace"] == NAMESPACE
    assert spark["spark.openlineage.parentJobName"] == f"{DAG_ID}.spark_submit"
    assert spark["spark.openlineage.rootParentJobName"] == DAG_ID
    assert spark["spark.openlineage.transport.type"] == "composite"
    assert spark["spark.openlineage.transport.transports.collector.auth.apiKey"] == f"Bearer {API_KEY}"

    # The listener's events for that task carry the same run id, and the run's facet.
    submit_events = _events(events_file, f"{DAG_ID}.spark_submit")
    complete = submit_events["COMPLETE"]
    assert complete["run"]["runId"] == spark["spark.openlineage.parentRunId"]
    assert submit_events["START"]["run"]["runId"] == complete["run"]["runId"]
    facet = complete["run"]["facets"]["oci_dataflow_run"]
    assert facet["runId"] == runs["lineage-spark-submit"]["id"]
    assert facet["state"] == "SUCCEEDED" and facet["runType"] == "BATCH"
    assert facet["consoleUrl"].endswith(f"{facet['runId']}?region=us-ashburn-1")
    assert facet["totalOcpu"] == runs["lineage-spark-submit"]["totalOCpu"]
    assert facet["dataReadInBytes"] == runs["lineage-spark-submit"]["dataReadInBytes"] > 0
    assert complete["job"]["facets"]["sourceCodeLocation"]["url"] == "oci://samples@namespace/wordcount.py"

    # configuration path: parent job added; the application's transport and root name left alone.
    (app_create,) = _create_bodies(control, "lineage-application")
    configuration = app_create["body"]["configuration"]
    assert configuration["spark.sql.shuffle.partitions"] == "8"
    assert configuration["spark.openlineage.parentJobName"] == f"{DAG_ID}.application"
    app_events = _events(events_file, f"{DAG_ID}.application")
    assert configuration["spark.openlineage.parentRunId"] == app_events["COMPLETE"]["run"]["runId"]
    assert not [key for key in configuration if key.startswith("spark.openlineage.transport")]
    assert "spark.openlineage.rootParentJobName" not in configuration
    merged = runs["lineage-application"]["configuration"]
    assert merged["spark.openlineage.rootParentJobName"] == "set-in-the-application"
    assert merged["spark.openlineage.transport.type"] == "console"

    # The transport's API key reaches Spark, not the task log or XCom.
    result = _xcom(run_id, "spark_submit")
    assert API_KEY not in json.dumps(result)
    assert result["configuration"]["spark.openlineage.transport.transports.collector.auth.apiKey"] == "***"
    assert API_KEY not in output
    assert "Injected OpenLineage Spark properties" in output


def test_an_application_failure_fails_at_once_with_the_policy(
    dag: Any, dataflow_conn: str, control: EmulatorControl, capfd: pytest.CaptureFixture[str]
) -> None:
    control.add_behaviour(
        display_name_regex="^lineage-spark-submit$",
        outcome="FAILED",
        lifecycle_details="Run failed: the Spark application exited with status 1.",
        stderr=["Traceback (most recent call last):", "KeyError: 'customer_id'"],
    )
    task = dag.get_task("spark_submit")
    task.retries, task.retry_delay = 3, timedelta(0)
    try:
        dag_run = dag.test(mark_success_pattern="application")
    finally:
        task.retries, task.retry_delay = 3, timedelta(minutes=5)
    assert dag_run.state == "failed"
    ti = _task_instance(dag_run, "spark_submit")
    assert (ti.state, ti.try_number) == ("failed", 1)
    assert len(_create_bodies(control, "lineage-spark-submit")) == 1
    output = capfd.readouterr().out
    assert "DataflowApplicationError" in output and "KeyError: 'customer_id'" in output
    assert "OCPU-hours" in output  # the cost line closes a failed run's log too


def test_limit_exceeded_on_create_is_retried_then_succeeds_and_reports_cost(
    dag: Any, dataflow_conn: str, control: EmulatorControl, capfd: pytest.CaptureFixture[str]
) -> None:
    control.add_fault(
        method="POST",
        path_regex="/runs$",
        status=400,
        code="LimitExceeded",
        message="The limit for active runs in this tenancy is reached.",
        times=1,
    )
    task = dag.get_task("spark_submit")
    task.retries, task.retry_delay = 2, timedelta(0)
    try:
        dag_run = dag.test(mark_success_pattern="application")
    finally:
        task.retries, task.retry_delay = 3, timedelta(minutes=5)
    assert dag_run.state == "success"
    assert _task_instance(dag_run, "spark_submit").try_number == 2
    posts = _create_bodies(control, "lineage-spark-submit")
    assert [post["status"] for post in posts] == [400, 200]
    (run,) = control.runs()

    result = _xcom(dag_run.run_id, "spark_submit")
    cost = result["cost"]
    assert cost["total_ocpu"] == run["totalOCpu"]
    assert cost["run_seconds"] == run["runDurationInMilliseconds"] / 1000 > 0
    assert cost["ocpu_hours"] == pytest.approx(run["totalOCpu"] * cost["run_seconds"] / 3600, abs=1e-6)
    assert cost["data_read_in_bytes"] == run["dataReadInBytes"]
    assert cost["data_written_in_bytes"] == run["dataWrittenInBytes"]
    assert cost["queue_seconds"] == pytest.approx(control.settings()["acceptedSeconds"], abs=0.002), "ACCEPTED so long"
    cost_lines = [line for line in capfd.readouterr().out.splitlines() if "OCPU-hours" in line]
    assert cost_lines and f"Data Flow run {run['id']} SUCCEEDED" in cost_lines[-1]


def test_a_capacity_failure_after_accepted_is_retried_with_a_new_run(
    dag: Any, dataflow_conn: str, control: EmulatorControl
) -> None:
    control.add_behaviour(
        display_name_regex="^lineage-spark-submit$", outcome="NO_CAPACITY", freeform_tags={"airflow_try_number": "1"}
    )
    task = dag.get_task("spark_submit")
    task.retries, task.retry_delay = 2, timedelta(0)
    try:
        dag_run = dag.test(mark_success_pattern="application")
    finally:
        task.retries, task.retry_delay = 3, timedelta(minutes=5)
    assert dag_run.state == "success"
    assert len(_create_bodies(control, "lineage-spark-submit")) == 2
    first, second = control.runs()
    assert first["lifecycleState"] == "FAILED" and "out of host capacity" in first["lifecycleDetails"]
    assert first["runDurationInMilliseconds"] == 0
    assert second["lifecycleState"] == "SUCCEEDED"

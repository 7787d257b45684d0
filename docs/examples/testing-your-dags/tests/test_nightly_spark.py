import threading
import time
from datetime import datetime, timezone

APPLICATION_ID = "ocid1.dataflowapplication.oc1.iad.aaaa"  # the application the DAG names


def test_nightly_spark_runs_the_day_it_is_given(dataflow_emulator, dataflow_dag_test):
    dataflow_emulator.register_application(APPLICATION_ID)
    dag_run = dataflow_dag_test("dags/nightly_spark.py", logical_date=datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert dag_run.state == "success"
    (run,) = dataflow_emulator.runs()
    assert run["arguments"] == ["--day", "2026-01-01", "--output", "oci://lake@namespace/aggregates/dt=2026-01-01/"]


def test_a_failed_spark_job_fails_the_task_and_logs_its_error(dataflow_emulator, dataflow_dag_test, capfd):
    dataflow_emulator.register_application(APPLICATION_ID)
    dataflow_emulator.add_behaviour(
        outcome="FAILED",
        lifecycle_details="Job aborted due to stage failure",
        stderr=["Traceback (most recent call last):", "ValueError: bad row 42"],
    )
    assert dataflow_dag_test("dags/nightly_spark.py").state == "failed"
    assert "ValueError: bad row 42" in capfd.readouterr().out  # the driver's stderr, in the task log


def test_a_lost_create_reply_still_starts_exactly_one_run(dataflow_emulator, dataflow_dag_test):
    dataflow_emulator.register_application(APPLICATION_ID)
    # The service creates the run, then the connection drops before the reply reaches the task.
    dataflow_emulator.add_fault(method="POST", path_regex=r"/runs$", action="drop_after")
    # And the first two status reads are throttled.
    dataflow_emulator.add_fault(method="GET", path_regex=r"/runs", status=429, times=2)
    assert dataflow_dag_test("dags/nightly_spark.py").state == "success"
    assert len(dataflow_emulator.runs()) == 1


def test_the_wait_rides_out_a_service_that_refuses_connections(
    dataflow_emulator, dataflow_network_faults, dataflow_dag_test, capfd
):
    dataflow_emulator.register_application(APPLICATION_ID)

    def refuse_once_the_run_exists():
        while not dataflow_emulator.runs():
            time.sleep(0.05)
        with dataflow_network_faults.refuse():  # nothing listens for 2 s
            time.sleep(2)

    threading.Thread(target=refuse_once_the_run_exists, daemon=True).start()
    assert dataflow_dag_test("dags/nightly_spark.py").state == "success"
    assert "Connection refused" in capfd.readouterr().out  # retried in the task log, not failed

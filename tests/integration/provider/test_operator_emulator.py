"""The operator's worker path against the emulator: one run per attempt, validation, reattach."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_dataflow.exceptions import DataflowInvalidInputError, DataflowRunError, DataflowRunTimeoutError
from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator
from airflow_provider_dataflow.pipeline.finish import failure_report_steps
from airflow_provider_dataflow.pipeline.steps import blocking_performer, drive
from airflow_provider_dataflow.testing.emulator import EmulatorControl
from tests.bad_inputs import BAD_INPUTS

from .conftest import COMPARTMENT, MemoryStateStore, task_context


def _operator(**kwargs: Any) -> DataflowInvokeRunOperator:
    defaults: dict[str, Any] = {"execute": "oci://code@namespace/job.py", "poll_interval": 0.1, "deferrable": False}
    return DataflowInvokeRunOperator(task_id="spark", **{**defaults, **kwargs})


def _posts(control: EmulatorControl) -> list[dict[str, Any]]:
    return [e for e in control.journal() if e["method"] == "POST"]


@pytest.fixture
def conn_without_compartment(emulator: Any, creds: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A connection with no default compartment, so a missing compartment_id is really missing."""
    conn = creds.airflow_connection_json(service_endpoint=emulator.url, compartment_id=COMPARTMENT)
    monkeypatch.setenv("AIRFLOW_CONN_NO_COMPARTMENT", conn.replace(COMPARTMENT, ""))
    return "no_compartment"


@pytest.mark.parametrize(("fields", "field"), BAD_INPUTS)
def test_bad_input_is_rejected_before_any_api_call(
    fields: dict[str, Any], field: str, conn_without_compartment: str, control: EmulatorControl
) -> None:
    operator = _operator(oci_conn_id=conn_without_compartment, **{"execute": None, **fields})
    with pytest.raises(DataflowInvalidInputError) as raised:
        operator.execute(task_context())
    assert raised.value.field == field
    assert control.journal() == []


def test_synchronous_run_returns_terraform_attributes_and_tags_the_task(
    dataflow_conn: str, control: EmulatorControl
) -> None:
    context = task_context()
    result = _operator(display_name="sync", freeform_tags={"team": "data"}).execute(context)
    assert result["state"] == "SUCCEEDED"
    assert result["compartment_id"] == COMPARTMENT  # from the connection's default
    assert {"id", "lifecycle_details", "total_ocpu", "time_created", "run_duration_in_milliseconds"} <= set(result)
    assert result["freeform_tags"]["team"] == "data"
    assert result["freeform_tags"]["airflow_task_id"] == "spark"
    assert context["ti"].xcom["dataflow_run_url"].endswith(f"{result['id']}?region=us-ashburn-1")
    (post,) = _posts(control)
    assert len(post["opc_retry_token"]) == 64


def test_a_lost_create_response_yields_exactly_one_run(dataflow_conn: str, control: EmulatorControl) -> None:
    control.add_fault(method="POST", path_regex="/runs$", action="drop_after", times=1)
    result = _operator(display_name="lossy").execute(task_context())
    assert result["state"] == "SUCCEEDED"
    assert len(_posts(control)) == 2  # the SDK retried the create ...
    assert len(control.runs()) == 1  # ... and the retry token made it return the same run


def test_failed_run_fails_the_task_with_state_and_details(dataflow_conn: str, control: EmulatorControl) -> None:
    control.add_behaviour(display_name_regex="^breaks$", outcome="FAILED", lifecycle_details="Executor lost")
    with pytest.raises(DataflowRunError, match=r"ended FAILED: .*Executor lost"):
        _operator(display_name="breaks").execute(task_context())


def test_retry_reattaches_to_the_active_run_instead_of_submitting(
    dataflow_conn: str, hook: DataflowHook, control: EmulatorControl
) -> None:
    control.add_behaviour(display_name_regex="^long$", run_seconds=1.5)
    store = MemoryStateStore()
    first = _operator(display_name="long", asynchronous=True).execute(task_context(try_number=1, store=store))
    second = _operator(display_name="long").execute(task_context(try_number=2, store=store))
    assert second["id"] == first["id"] and second["state"] == "SUCCEEDED"
    assert len(control.runs()) == 1


def test_retry_without_stored_id_finds_the_run_by_its_airflow_tags(
    dataflow_conn: str, control: EmulatorControl
) -> None:
    control.add_behaviour(display_name_regex="^long$", run_seconds=1.5)
    first = _operator(display_name="long", asynchronous=True).execute(task_context(try_number=1, store=None))
    second = _operator(display_name="long").execute(task_context(try_number=2, store=MemoryStateStore()))
    assert second["id"] == first["id"]
    assert len(control.runs()) == 1


def test_retry_after_a_failed_run_submits_a_new_one(dataflow_conn: str, control: EmulatorControl) -> None:
    control.add_behaviour(display_name_regex="^flaky$", outcome="FAILED")
    store = MemoryStateStore()
    with pytest.raises(DataflowRunError):
        _operator(display_name="flaky").execute(task_context(try_number=1, store=store))
    control.clear_behaviours()
    result = _operator(display_name="flaky").execute(task_context(try_number=2, store=store))
    assert result["state"] == "SUCCEEDED"
    assert len(control.runs()) == 2


@pytest.mark.parametrize(
    ("policy", "after", "runs_expected"),
    [
        ("reattach_active", "retry", 1),
        ("reattach_active", "clear", 2),
        ("reuse_succeeded", "clear", 1),
        ("always_submit", "retry", 2),
    ],
)
def test_what_happens_to_a_succeeded_run_is_the_reattach_policy(
    dataflow_conn: str, control: EmulatorControl, policy: str, after: str, runs_expected: int
) -> None:
    store = MemoryStateStore()
    first = _operator(display_name="once", reattach_policy=policy).execute(task_context(1, store))
    if after == "retry":  # the earlier attempt died after Spark finished: its task never succeeded with it
        tags = {key: value for key, value in first["freeform_tags"].items() if key != "airflow_succeeded_try"}
        DataflowHook(dataflow_conn).update_run(first["id"], freeform_tags=tags)
    second = _operator(display_name="once", reattach_policy=policy).execute(task_context(2, store))
    assert len(control.runs()) == runs_expected
    assert (second["id"] == first["id"]) is (runs_expected == 1)


def test_timeout_cancels_the_run_in_the_synchronous_path(dataflow_conn: str, control: EmulatorControl) -> None:
    control.add_behaviour(display_name_regex="^slow$", run_seconds=60)
    with pytest.raises(DataflowRunError, match="did not finish within the operator's timeout"):
        _operator(display_name="slow", timeout=1).execute(task_context())
    (run,) = control.runs()
    assert run["lifecycleState"] == "CANCELED"
    assert run["maxDurationInMinutes"] == 1  # the server-side guard derived from timeout


def test_streaming_run_returns_once_in_progress(dataflow_conn: str, hook: DataflowHook) -> None:
    result = _operator(display_name="stream", type="STREAMING").execute(task_context())
    assert result["state"] == "IN_PROGRESS"
    hook.cancel_run(result["id"])


def test_clients_do_not_use_the_sdks_process_wide_circuit_breaker(hook: DataflowHook) -> None:
    """The SDK's default breaker opens for every client in the process after 10 errors in a row."""
    import oci

    strategy = hook.client.base_client.circuit_breaker_strategy
    assert isinstance(strategy, oci.circuit_breaker.NoCircuitBreakerStrategy)


def test_unreadable_logs_give_a_one_line_hint(hook: DataflowHook, control: EmulatorControl) -> None:
    control.add_behaviour(display_name_regex="^nologs$", outcome="FAILED", lifecycle_details="OOM")
    run = _operator(display_name="nologs", asynchronous=True).execute(task_context())
    control.finish_run(run["id"], state="FAILED", lifecycle_details="OOM")
    control.add_fault(method="GET", path_regex="/logs$", status=404, code="NotAuthorizedOrNotFound", times=None)
    report = _failure_report(hook, hook.get_run(run["id"]))
    assert report.splitlines()[0].endswith("ended FAILED: OOM")
    (hint,) = [line for line in report.splitlines() if line.startswith("Could not read the run's logs")]
    assert "logs_bucket_uri" in hint and "read objects" in hint


def test_failure_report_tails_stderr_and_stdout(hook: DataflowHook, control: EmulatorControl) -> None:
    stderr = [f"stderr line {i}" for i in range(120)]
    control.add_behaviour(display_name_regex="^noisy$", outcome="FAILED", stderr=stderr, stdout=["done"])
    with pytest.raises(DataflowRunError):
        _operator(display_name="noisy").execute(task_context())
    (run,) = control.runs()
    report = _failure_report(hook, hook.get_run(run["id"])).splitlines()
    start = report.index("--- last 50 lines of spark_application_stderr.log.gz ---")
    assert report[start + 1 : start + 51] == stderr[-50:]
    assert "--- last 1 lines of spark_application_stdout.log.gz ---" in report


def test_synchronous_wait_survives_fifty_transient_errors_in_a_row(
    dataflow_conn: str, control: EmulatorControl
) -> None:
    control.add_behaviour(display_name_regex="^bumpy$", run_seconds=1)
    control.add_fault(method="GET", path_regex="/runs/", status=503, code="ServiceUnavailable", times=50)
    result = _operator(display_name="bumpy", poll_interval=0.05).execute(task_context())
    assert result["state"] == "SUCCEEDED"
    assert sum(1 for e in control.journal() if e["status"] == 503) == 50


def test_on_kill_during_the_synchronous_wait_cancels_the_run(dataflow_conn: str, control: EmulatorControl) -> None:
    control.add_behaviour(display_name_regex="^killed$", run_seconds=60)
    operator = _operator(display_name="killed", asynchronous=True)
    operator.execute(task_context())
    operator.on_kill()  # what Airflow calls when the task is killed or marked failed
    (run,) = control.runs()
    assert run["lifecycleState"] == "CANCELED"


def _failure_report(hook: DataflowHook, run: dict[str, Any]) -> str:
    return drive(failure_report_steps(run, 50), blocking_performer(hook))


def test_a_409_on_the_cancel_of_a_running_run_is_not_taken_for_its_end(
    dataflow_conn: str, control: EmulatorControl
) -> None:
    """At the deadline the service answers the cancel 409 while the run still runs: the cancel is tried
    again until accepted, and the task says it cancelled the run (issue 21, item 4: it said the run had
    already ended, and left it running)."""
    control.add_behaviour(display_name_regex="^refused-once$", run_seconds=60)
    control.add_fault(method="DELETE", path_regex=r"/runs/", status=409, code="IncorrectState", times=1)
    with pytest.raises(DataflowRunTimeoutError, match=r"cancelled it \(state CANCEL"):
        _operator(display_name="refused-once", timeout=1).execute(task_context())
    (run,) = control.runs()
    assert run["lifecycleState"] in ("CANCELING", "CANCELED")
    assert [fault["applied"] for fault in control.faults()] == [1]

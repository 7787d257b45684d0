"""Runs move through their lifecycle on the wall clock, steered by behaviours and timing settings."""

from __future__ import annotations

import gzip
import time
from typing import Any

import oci
import pytest
from oci.data_flow import DataFlowClient as Client

from airflow_provider_dataflow.testing.emulator import EmulatorControl, EmulatorControlError

from .conftest import StateWaiter


def _states_until_terminal(client: Client, run_id: str, timeout: float = 5.0) -> list[str]:
    """The distinct states seen while polling every 20 ms."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get_run(run_id).data.lifecycle_state
        if not seen or seen[-1] != state:
            seen.append(state)
        if state in ("SUCCEEDED", "FAILED", "CANCELED", "STOPPED"):
            return seen
        time.sleep(0.02)
    raise AssertionError(f"no terminal state within {timeout} s: {seen}")


def _log_text(client: Client, run_id: str, name: str) -> str:
    return gzip.decompress(client.get_run_log(run_id, name).data.content).decode()


def test_a_batch_run_is_accepted_runs_and_succeeds(client: Client, create_run: Any) -> None:
    run = create_run()
    assert _states_until_terminal(client, run.id) == ["ACCEPTED", "IN_PROGRESS", "SUCCEEDED"]
    finished = client.get_run(run.id).data
    assert finished.lifecycle_details is None
    assert 450 <= finished.run_duration_in_milliseconds <= 600  # runSeconds 0.5
    assert finished.data_read_in_bytes > 0 and finished.data_written_in_bytes > 0
    time.sleep(0.1)
    assert client.get_run(run.id).data.run_duration_in_milliseconds == finished.run_duration_in_milliseconds


def test_a_failing_behaviour_fails_the_run_with_details_and_a_traceback(
    client: Client, control: EmulatorControl, create_run: Any, wait_for_state: StateWaiter
) -> None:
    control.add_behaviour(display_name_regex=".*fail.*", outcome="FAILED", lifecycle_details="Executor lost")
    python_run = create_run(display_name="will-fail")
    java_run = create_run(display_name="fails-too", execute="--class com.example.Main oci://b@n/Main.jar")
    healthy = create_run(display_name="healthy")
    assert wait_for_state(python_run.id).lifecycle_state == "FAILED"
    failed = client.get_run(python_run.id).data
    assert failed.lifecycle_details == "Executor lost"
    stderr = _log_text(client, python_run.id, "spark_application_stderr.log.gz")
    assert "Traceback (most recent call last):" in stderr
    assert "RuntimeError: Executor lost" in stderr
    assert wait_for_state(java_run.id).lifecycle_state == "FAILED"
    assert "java.lang.RuntimeException: Executor lost" in _log_text(
        client, java_run.id, "spark_application_stderr.log.gz"
    )
    assert wait_for_state(healthy.id).lifecycle_state == "SUCCEEDED"
    assert "Traceback" not in _log_text(client, healthy.id, "spark_application_stderr.log.gz")


def test_behaviours_match_in_order_by_name_and_tag_and_set_logs_and_timing(
    client: Client, control: EmulatorControl, create_run: Any, wait_for_state: StateWaiter
) -> None:
    control.add_behaviour(
        display_name_regex="^report",
        freeform_tags={"env": "prod"},
        stdout=["rows=42"],
        stderr=["custom error line"],
        outcome="FAILED",
        run_seconds=0.1,
        data_read_in_bytes=1000,
    )
    control.add_behaviour(display_name_regex="^report", stdout=["second behaviour"])
    tagged = create_run(display_name="report-daily", freeform_tags={"env": "prod"})
    untagged = create_run(display_name="report-daily", freeform_tags={"env": "dev"})
    first = wait_for_state(tagged.id)
    assert first.lifecycle_state == "FAILED"
    assert first.data_read_in_bytes == 1000
    assert 50 <= first.run_duration_in_milliseconds <= 200
    assert _log_text(client, tagged.id, "spark_application_stdout.log.gz") == "rows=42\n"
    assert _log_text(client, tagged.id, "spark_application_stderr.log.gz") == "custom error line\n"
    assert wait_for_state(untagged.id).lifecycle_state == "SUCCEEDED"
    assert _log_text(client, untagged.id, "spark_application_stdout.log.gz") == "second behaviour\n"
    control.clear_behaviours()
    assert "Starting" in _log_text(client, wait_for_state(create_run(display_name="report-x").id).id,
                                   "spark_application_stdout.log.gz")  # fmt: skip


def test_cancel_moves_through_canceling_to_canceled(client: Client, create_run: Any) -> None:
    run = create_run()
    while client.get_run(run.id).data.lifecycle_state != "IN_PROGRESS":
        time.sleep(0.02)
    client.delete_run(run.id)
    assert client.get_run(run.id).data.lifecycle_state == "CANCELING"
    assert client.delete_run(run.id).status == 204  # still canceling: nothing more to do
    assert _states_until_terminal(client, run.id) == ["CANCELING", "CANCELED"]


def test_a_run_canceled_while_accepted_never_ran(
    client: Client, control: EmulatorControl, create_run: Any, wait_for_state: StateWaiter
) -> None:
    control.settings(accepted_seconds=10)
    run = create_run()
    client.delete_run(run.id)
    canceled = wait_for_state(run.id)
    assert (canceled.lifecycle_state, canceled.run_duration_in_milliseconds) == ("CANCELED", 0)
    assert client.list_run_logs(run.id).data == []


def test_a_streaming_run_runs_until_canceled(client: Client, create_run: Any, wait_for_state: StateWaiter) -> None:
    run = create_run(type="STREAMING")
    time.sleep(1.0)  # twice runSeconds: a batch run would have finished
    assert client.get_run(run.id).data.lifecycle_state == "IN_PROGRESS"
    client.delete_run(run.id)
    assert wait_for_state(run.id).lifecycle_state == "CANCELED"


@pytest.mark.parametrize("run_type", ["STREAMING", "SESSION", "BATCH"])
def test_max_duration_stops_a_run_in_compressed_minutes(
    client: Client, control: EmulatorControl, create_run: Any, run_type: str
) -> None:
    control.settings(minute_seconds=0.3, run_seconds=30)
    run = create_run(type=run_type, max_duration_in_minutes=1)
    states = _states_until_terminal(client, run.id)
    assert states == ["ACCEPTED", "IN_PROGRESS", "STOPPING", "STOPPED"]
    stopped = client.get_run(run.id).data
    assert "maxDurationInMinutes (1)" in stopped.lifecycle_details
    assert 250 <= stopped.run_duration_in_milliseconds <= 400


def test_lowering_max_duration_of_a_running_stream_stops_it(
    client: Client, control: EmulatorControl, create_run: Any, wait_for_state: StateWaiter
) -> None:
    control.settings(minute_seconds=0.2)
    run = create_run(type="STREAMING", max_duration_in_minutes=600)
    wait_for_state(run.id, ("IN_PROGRESS",))
    client.update_run(oci.data_flow.models.UpdateRunDetails(max_duration_in_minutes=2), run.id)
    assert wait_for_state(run.id).lifecycle_state == "STOPPED"


def test_finish_run_forces_a_terminal_state(client: Client, control: EmulatorControl, create_run: Any) -> None:
    run = create_run(type="STREAMING")
    forced = control.finish_run(run.id, state="FAILED", lifecycle_details="Forced by test")
    assert (forced["lifecycleState"], forced["lifecycleDetails"]) == ("FAILED", "Forced by test")
    assert client.get_run(run.id).data.lifecycle_state == "FAILED"
    with pytest.raises(EmulatorControlError, match="409"):
        control.finish_run(run.id)


def test_settings_apply_to_runs_created_afterwards(
    client: Client, control: EmulatorControl, create_run: Any, wait_for_state: StateWaiter
) -> None:
    before = create_run()
    assert control.settings(run_seconds=0.05)["runSeconds"] == 0.05
    after = create_run()
    assert wait_for_state(after.id).run_duration_in_milliseconds < 150
    assert wait_for_state(before.id).run_duration_in_milliseconds >= 450

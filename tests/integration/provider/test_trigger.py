"""DataflowRunTrigger against the emulator with the real oci SDK: every ending, faults, deadline, kill."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.testing.credentials import TestCredentials
from airflow_provider_dataflow.testing.emulator import EmulatorControl
from airflow_provider_dataflow.triggers.dataflow import DataflowRunTrigger

from .conftest import COMPARTMENT, run_details


async def first_event(trigger: DataflowRunTrigger, timeout: float = 30.0) -> dict:
    events: AsyncIterator = trigger.run()
    event = await asyncio.wait_for(events.__anext__(), timeout)
    return event.payload


def test_trigger_reports_success_with_the_run_attributes(hook: DataflowHook) -> None:
    run = hook.create_run(run_details("ok"))
    payload = asyncio.run(first_event(DataflowRunTrigger(run["id"], poll_interval=0.1)))
    assert payload["status"] == "done"
    assert payload["run"]["id"] == run["id"]
    assert payload["run"]["state"] == "SUCCEEDED"
    assert payload["run"]["run_duration_in_milliseconds"] > 0


def test_trigger_reports_a_failed_run_with_lifecycle_details(hook: DataflowHook, control: EmulatorControl) -> None:
    control.add_behaviour(display_name_regex="^breaks$", outcome="FAILED", lifecycle_details="Executor lost")
    run = hook.create_run(run_details("breaks"))
    payload = asyncio.run(first_event(DataflowRunTrigger(run["id"], poll_interval=0.1)))
    assert payload["run"]["state"] == "FAILED"
    assert "Executor lost" in payload["run"]["lifecycle_details"]


def test_trigger_reports_a_run_cancelled_elsewhere(hook: DataflowHook, control: EmulatorControl) -> None:
    control.add_behaviour(display_name_regex="^slow$", run_seconds=30)
    run = hook.create_run(run_details("slow"))
    hook.cancel_run(run["id"])
    payload = asyncio.run(first_event(DataflowRunTrigger(run["id"], poll_interval=0.1)))
    assert payload["run"]["state"] == "CANCELED"


def test_trigger_reports_a_streaming_run_stopped_at_max_duration(hook: DataflowHook, control: EmulatorControl) -> None:
    control.settings(minute_seconds=0.5)
    run = hook.create_run(run_details("stream", type="STREAMING", max_duration_in_minutes=1))
    payload = asyncio.run(first_event(DataflowRunTrigger(run["id"], poll_interval=0.1)))
    assert payload["run"]["state"] == "STOPPED"


def test_trigger_can_end_at_in_progress_for_streaming_runs(hook: DataflowHook) -> None:
    run = hook.create_run(run_details("stream", type="STREAMING"))
    trigger = DataflowRunTrigger(run["id"], poll_interval=0.1, target_states=["IN_PROGRESS"])
    assert asyncio.run(first_event(trigger))["run"]["state"] == "IN_PROGRESS"
    hook.cancel_run(run["id"])


def test_deadline_cancels_the_run_and_reports_a_timeout(hook: DataflowHook, control: EmulatorControl) -> None:
    control.add_behaviour(display_name_regex="^slow$", run_seconds=60)
    run = hook.create_run(run_details("slow"))
    trigger = DataflowRunTrigger(run["id"], poll_interval=0.1, deadline=time.time() + 0.5, timeout=0.5)
    payload = asyncio.run(first_event(trigger))
    assert payload["status"] == "timeout"
    assert payload["run"]["state"] == "CANCELED"
    assert "timeout" in payload["error"]["message"] and "cancelled it" in payload["error"]["message"]


@pytest.mark.parametrize(("status", "code"), [(429, "TooManyRequests"), (503, "ServiceUnavailable")])
def test_a_burst_of_fifty_transient_errors_does_not_end_the_wait(
    hook: DataflowHook, control: EmulatorControl, status: int, code: str
) -> None:
    run = hook.create_run(run_details("ok"))
    retry_after = 0.01 if status == 429 else None
    control.add_fault(
        method="GET", path_regex="/runs/", status=status, code=code, retry_after_seconds=retry_after, times=50
    )
    payload = asyncio.run(first_event(DataflowRunTrigger(run["id"], poll_interval=0.05), timeout=60))
    assert payload["status"] == "done" and payload["run"]["state"] == "SUCCEEDED"
    failed_gets = [e for e in control.journal() if e["method"] == "GET" and e["status"] == status]
    assert len(failed_gets) == 50


def test_a_permanent_error_ends_the_wait_with_the_service_message(dataflow_conn: str) -> None:
    payload = asyncio.run(first_event(DataflowRunTrigger("ocid1.dataflowrun.oc1.iad.doesnotexist", poll_interval=0.1)))
    assert payload["status"] == "error"
    assert "404" in payload["error"]["message"] and "NotAuthorizedOrNotFound" in payload["error"]["message"]
    assert "manage dataflow-family" in payload["error"]["message"]


def test_on_kill_cancels_the_run_and_cleanup_does_not(hook: DataflowHook, control: EmulatorControl) -> None:
    control.add_behaviour(display_name_regex="^slow", run_seconds=60)
    kept = hook.create_run(run_details("slow-kept"))
    killed = hook.create_run(run_details("slow-killed"))

    async def scenario() -> None:
        for run, kill in ((kept, False), (killed, True)):
            trigger = DataflowRunTrigger(run["id"], poll_interval=0.1)
            waiting = asyncio.ensure_future(first_event(trigger))
            await asyncio.sleep(0.5)
            waiting.cancel()  # the triggerer stops the trigger (restart, redistribution, or a kill)
            await asyncio.gather(waiting, return_exceptions=True)
            await trigger.cleanup()
            if kill:
                await trigger.on_kill()

    asyncio.run(scenario())
    assert hook.get_run(kept["id"])["state"] == "IN_PROGRESS"
    assert hook.get_run(killed["id"])["state"] == "CANCELED"


def test_on_kill_cancelled_again_by_the_triggerer_still_cancels_the_run(
    hook: DataflowHook, control: EmulatorControl
) -> None:
    """Airflow 3.3.2 cancels on_kill itself about a second later; the cancel, backing off after 503s
    here, goes on and the run ends CANCELED."""
    control.add_behaviour(display_name_regex="^slow$", run_seconds=60)
    run = hook.create_run(run_details("slow"))
    control.add_fault("DELETE", "/runs/", status=503, times=2)

    async def scenario() -> None:
        killing = asyncio.ensure_future(DataflowRunTrigger(run["id"]).on_kill())
        await asyncio.sleep(0.3)  # the first DELETE got its 503 and the cancel backs off
        killing.cancel()  # the triggerer's next loop cancels the trigger's task again
        await asyncio.gather(killing, return_exceptions=True)
        for _ in range(100):
            if hook.get_run(run["id"])["state"] in ("CANCELING", "CANCELED"):
                return
            await asyncio.sleep(0.1)

    asyncio.run(scenario())
    assert [e["status"] for e in control.journal() if e["method"] == "DELETE"] == [503, 503, 204]
    assert hook.get_run(run["id"])["state"] in ("CANCELING", "CANCELED")


def test_cancel_on_kill_off_leaves_the_run_running(hook: DataflowHook, control: EmulatorControl) -> None:
    control.add_behaviour(display_name_regex="^slow$", run_seconds=60)
    run = hook.create_run(run_details("slow"))
    asyncio.run(DataflowRunTrigger(run["id"], cancel_on_kill=False).on_kill())
    assert hook.get_run(run["id"])["state"] in ("ACCEPTED", "IN_PROGRESS")


async def test_polling_never_blocks_the_event_loop_for_more_than_50_ms(
    emulator_process: str, creds: TestCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    """25 triggers polling at once leave the loop responsive (emulator out of process: no GIL sharing)."""
    conn = creds.airflow_connection_json(service_endpoint=emulator_process, compartment_id=COMPARTMENT)
    monkeypatch.setenv("AIRFLOW_CONN_LAG_TEST", conn)
    control = EmulatorControl(emulator_process)
    control.settings(accepted_seconds=0.5, run_seconds=2)
    hook = DataflowHook("lag_test")
    runs = [hook.create_run(run_details(f"fleet-{i}")) for i in range(25)]
    worst_lag = 0.0
    stop = asyncio.Event()

    async def watchdog() -> None:
        nonlocal worst_lag
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            worst_lag = max(worst_lag, time.perf_counter() - before - 0.005)

    # A full garbage collection stops every thread (~150 ms with Airflow loaded) whoever allocated;
    # freeze what exists so the measurement is of the triggers, not of the collector.
    gc.collect()
    gc.freeze()
    watcher = asyncio.create_task(watchdog())
    await asyncio.sleep(0.05)
    triggers = [DataflowRunTrigger(run["id"], oci_conn_id="lag_test", poll_interval=0.1) for run in runs]
    payloads = await asyncio.gather(*(first_event(trigger) for trigger in triggers))
    stop.set()
    await watcher
    assert {p["run"]["state"] for p in payloads} == {"SUCCEEDED"}
    gc.unfreeze()
    assert worst_lag < 0.05, f"event loop blocked for {worst_lag * 1000:.0f} ms"


async def _raw_first_event(trigger: DataflowRunTrigger) -> Any:
    async for event in trigger.run():
        return event
    raise AssertionError("the trigger ended without an event")


def test_end_from_trigger_ends_a_successful_task_with_its_result_link_and_mark(
    dataflow_conn: str, hook: DataflowHook
) -> None:
    from airflow.triggers.base import TaskSuccessEvent

    from .conftest import FakeTaskInstance

    run = hook.create_run(run_details("ends-in-the-triggerer"))
    trigger = DataflowRunTrigger(run["id"], poll_interval=0.1, target_states=["SUCCEEDED"], end_from_trigger=True)
    trigger.task_instance = FakeTaskInstance(try_number=3)  # type: ignore[assignment]
    event = asyncio.run(asyncio.wait_for(_raw_first_event(trigger), 30))
    assert isinstance(event, TaskSuccessEvent)
    result, url = event.xcoms["return_value"], event.xcoms["dataflow_run_url"]
    assert result["id"] == run["id"] and result["state"] == "SUCCEEDED" and result["cost"]["run_seconds"] > 0
    assert result["freeform_tags"]["airflow_succeeded_try"] == "3"
    assert hook.get_run(run["id"])["freeform_tags"]["airflow_succeeded_try"] == "3", "marked at the service"
    assert url.endswith(f"{run['id']}?region=us-ashburn-1")


def test_end_from_trigger_hands_a_failed_run_to_the_worker(
    dataflow_conn: str, hook: DataflowHook, control: EmulatorControl
) -> None:
    """Only a worker can raise the exception the retry policy reads: a failed run resumes the task."""
    control.add_behaviour(display_name_regex="^fails-in-the-triggerer$", outcome="FAILED", lifecycle_details="OOM")
    run = hook.create_run(run_details("fails-in-the-triggerer"))
    trigger = DataflowRunTrigger(run["id"], poll_interval=0.1, target_states=["SUCCEEDED"], end_from_trigger=True)
    event = asyncio.run(asyncio.wait_for(_raw_first_event(trigger), 30))
    assert type(event).__name__ == "TriggerEvent"
    assert event.payload["status"] == "done" and event.payload["run"]["state"] == "FAILED"

"""The one kill decision (``pipeline.kill``) against the emulator: read the task's state, then cancel.

Airflow 3.3 awaits ``on_kill``; before, the triggerer only cancels the trigger, and the fallback takes
the same decision. Both ask the supervisor for the task's state through the Task SDK
(``RuntimeTaskInstance.get_task_states``). Only the supervisor's answer is staged here; the real stack
proves the whole path on each release (tests/system, ``.ci/airflow_matrix``).
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_dataflow import compat
from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.pipeline import kill
from airflow_provider_dataflow.testing.emulator import EmulatorControl
from airflow_provider_dataflow.triggers.dataflow import DataflowRunTrigger

from .conftest import run_details

pytestmark = pytest.mark.compat


class StagedSupervisor:
    """Answers the Task SDK's ``GetTaskStates`` request with given states, as the triggerer's supervisor does."""

    def __init__(self, states: dict[str, Any] | Exception) -> None:
        self.states = states
        self.requests: list[Any] = []

    def send(self, msg: Any) -> Any:
        from airflow.sdk.execution_time.comms import GetTaskStates, TaskStatesResult

        if not isinstance(msg, GetTaskStates):
            return None  # MaskSecret: nothing to answer
        self.requests.append(msg)
        if isinstance(self.states, Exception):
            raise self.states
        return TaskStatesResult(task_states={"manual__1": self.states})


def _stop_while_waiting(
    hook: DataflowHook,
    control: EmulatorControl,
    supervisor: StagedSupervisor,
    cancel_on_kill: bool = True,
    cancels: int = 1,
    **ti: Any,
) -> str:
    """Start a trigger for a slow run, let it poll, cancel it as the triggerer does; return the run's state."""
    from airflow.sdk.execution_time import task_runner

    control.add_behaviour(display_name_regex="^slow$", run_seconds=60)
    run = hook.create_run(run_details("slow"))
    trigger = DataflowRunTrigger(run["id"], poll_interval=0.1, cancel_on_kill=cancel_on_kill)
    trigger.task_instance = SimpleNamespace(**{"dag_id": "dag", "task_id": "spark", "run_id": "manual__1", **ti})

    async def scenario() -> None:
        waiting = asyncio.ensure_future(trigger.run().__anext__())
        await asyncio.sleep(0.5)
        for _ in range(cancels):  # a triggerer may cancel again at its next sync
            waiting.cancel()
            await asyncio.sleep(0.01)
        await asyncio.gather(waiting, return_exceptions=True)
        await asyncio.gather(*kill._in_flight)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(task_runner, "SUPERVISOR_COMMS", supervisor, raising=False)
        asyncio.run(scenario())
    return str(hook.get_run(run["id"])["state"])


@pytest.fixture
def no_trigger_on_kill(monkeypatch: pytest.MonkeyPatch) -> None:
    """What Airflow 3.0-3.2 offer, on any release."""
    monkeypatch.setattr(compat, "TRIGGER_ON_KILL", False)


@pytest.mark.parametrize(
    ("states", "map_index", "expected"),
    [
        ({"spark": "failed"}, -1, "CANCELED"),  # marked failed
        ({"spark": "success"}, -1, "CANCELED"),  # marked success
        ({"spark": None}, -1, "CANCELED"),  # cleared
        ({"spark_3": "failed", "spark": "deferred"}, 3, "CANCELED"),  # one mapped instance marked failed
        ({"spark": "deferred"}, -1, "IN_PROGRESS"),  # triggerer restart or redistribution
        ({"spark_3": "deferred", "spark": "failed"}, 3, "IN_PROGRESS"),
        ({}, -1, "IN_PROGRESS"),  # the task instance is gone: cannot tell
    ],
    ids=["failed", "success", "cleared", "mapped-failed", "deferred", "mapped-deferred", "unknown"],
)
def test_a_stopped_trigger_cancels_the_run_only_if_the_task_left_deferred(
    hook: DataflowHook,
    control: EmulatorControl,
    no_trigger_on_kill: None,
    states: dict[str, Any],
    map_index: int,
    expected: str,
) -> None:
    supervisor = StagedSupervisor(states)
    assert _stop_while_waiting(hook, control, supervisor, map_index=map_index) == expected
    (request,) = supervisor.requests
    assert (request.dag_id, request.task_ids, request.run_ids, request.map_index) == (
        "dag",
        ["spark"],
        ["manual__1"],
        map_index,
    )


def test_a_second_cancel_does_not_cut_the_cancel_short(
    hook: DataflowHook, control: EmulatorControl, no_trigger_on_kill: None
) -> None:
    supervisor = StagedSupervisor({"spark": "failed"})
    assert _stop_while_waiting(hook, control, supervisor, cancels=2, map_index=-1) == "CANCELED"


def test_an_unreadable_state_leaves_the_run_running(
    hook: DataflowHook, control: EmulatorControl, no_trigger_on_kill: None
) -> None:
    supervisor = StagedSupervisor(ConnectionResetError("supervisor went away"))
    assert _stop_while_waiting(hook, control, supervisor, map_index=-1) == "IN_PROGRESS"


def test_where_the_triggerer_calls_on_kill_the_fallback_never_cancels(
    hook: DataflowHook, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compat, "TRIGGER_ON_KILL", True)
    supervisor = StagedSupervisor({"spark": "failed"})
    assert _stop_while_waiting(hook, control, supervisor, map_index=-1) == "IN_PROGRESS"
    assert supervisor.requests == []


def test_cancel_on_kill_off_never_asks_or_cancels(
    hook: DataflowHook, control: EmulatorControl, no_trigger_on_kill: None
) -> None:
    supervisor = StagedSupervisor({"spark": "failed"})
    assert _stop_while_waiting(hook, control, supervisor, cancel_on_kill=False, map_index=-1) == "IN_PROGRESS"
    assert supervisor.requests == []


@pytest.mark.parametrize(
    ("states", "expected"),
    [({"spark": "deferred"}, "IN_PROGRESS"), ({"spark": "failed"}, "CANCELED"), ({}, "CANCELED")],
    ids=["still-deferred", "marked-failed", "unknown"],
)
def test_on_kill_reads_the_task_state_before_cancelling(
    hook: DataflowHook, control: EmulatorControl, states: dict[str, Any], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow 3.3 awaits ``on_kill`` after a user's action, and also for a trigger that moved to another
    triggerer; only the task's state tells them apart. Unknown: Airflow said it was a kill, so cancel."""
    from airflow.sdk.execution_time import task_runner

    monkeypatch.setattr(compat, "TRIGGER_ON_KILL", True)  # as on 3.3, whatever the release: no fallback

    control.add_behaviour(display_name_regex="^slow$", run_seconds=60)
    run = hook.create_run(run_details("slow"))
    trigger = DataflowRunTrigger(run["id"], poll_interval=0.1)
    trigger.task_instance = SimpleNamespace(dag_id="dag", task_id="spark", run_id="manual__1", map_index=-1)
    supervisor = StagedSupervisor(states)

    async def scenario() -> None:
        waiting = asyncio.ensure_future(trigger.run().__anext__())
        await asyncio.sleep(0.5)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        await trigger.on_kill()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(task_runner, "SUPERVISOR_COMMS", supervisor, raising=False)
        asyncio.run(scenario())
    assert hook.get_run(run["id"])["state"] == expected
    assert len(supervisor.requests) == 1

"""start_from_trigger without a stack: the submit trigger validates, creates once per try, reattaches, kills."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator
from airflow_provider_dataflow.testing.emulator import EmulatorControl
from airflow_provider_dataflow.triggers.submit import DataflowSubmitRunTrigger
from tests.bad_inputs import BAD_INPUTS

from .conftest import FakeTaskInstance


def _submit_trigger(try_number: int = 1, **overrides: Any) -> DataflowSubmitRunTrigger:
    """The trigger exactly as the scheduler builds it from the operator's start_trigger_args."""
    fields: dict[str, Any] = {"execute": "oci://code@namespace/job.py", "display_name": "from-trigger", **overrides}
    operator = DataflowInvokeRunOperator(task_id="spark", start_from_trigger=True, poll_interval=0.1, **fields)
    args = operator.start_trigger_args
    assert args is not None and args.next_method == "execute_complete"
    trigger = DataflowSubmitRunTrigger(**(args.trigger_kwargs or {}))
    trigger.task_instance = FakeTaskInstance(try_number)  # type: ignore[assignment]
    return trigger


async def _payload(trigger: DataflowSubmitRunTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return event.payload
    raise AssertionError("no event")


async def _until_created(control: EmulatorControl) -> None:
    for _ in range(400):
        if control.runs():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the trigger created no run")


def _creates(control: EmulatorControl) -> list[dict[str, Any]]:
    return [e for e in control.journal() if e["method"] == "POST" and e["path"].endswith("/runs")]


def test_the_trigger_creates_the_run_and_waits_for_it(dataflow_conn: str, control: EmulatorControl) -> None:
    payload = asyncio.run(_payload(_submit_trigger(arguments=["--day", "2026-01-01"])))

    assert payload["status"] == "done" and payload["run"]["state"] == "SUCCEEDED"
    (create,) = _creates(control)
    assert create["body"]["displayName"] == "from-trigger"
    assert create["body"]["freeformTags"]["airflow_task_id"] == "spark"
    assert len(create["opc_retry_token"]) == 64


def test_a_restarted_trigger_gets_the_same_run_back(dataflow_conn: str, control: EmulatorControl) -> None:
    first = asyncio.run(_payload(_submit_trigger()))
    again = asyncio.run(_payload(_submit_trigger()))  # same try: e.g. the triggerer died mid-create

    assert first["run"]["id"] == again["run"]["id"]
    assert len({e["opc_retry_token"] for e in _creates(control)}) == 1
    assert len(control.runs()) == 1


def test_a_retry_reattaches_to_the_active_run_of_the_earlier_try(
    dataflow_conn: str, hook: DataflowHook, control: EmulatorControl
) -> None:
    control.add_behaviour(display_name_regex="^from-trigger$", run_seconds=3)

    async def scenario() -> dict[str, Any]:
        first = asyncio.ensure_future(_payload(_submit_trigger(try_number=1)))
        await _until_created(control)
        first.cancel()  # try 1 ends while its run goes on (e.g. its task failed for another reason)
        await asyncio.gather(first, return_exceptions=True)
        return await _payload(_submit_trigger(try_number=2))

    payload = asyncio.run(scenario())

    assert payload["run"]["state"] == "SUCCEEDED"
    assert len(control.runs()) == 1, "the retry waited for the earlier run instead of submitting another"
    assert len(_creates(control)) == 1


@pytest.mark.parametrize(("fields", "field"), BAD_INPUTS[1:9])  # [0] needs a connection without a compartment
def test_bad_input_fails_in_the_trigger_before_any_api_call(
    fields: dict[str, Any], field: str, dataflow_conn: str, control: EmulatorControl
) -> None:
    trigger = _submit_trigger(**{"execute": None, **fields})
    payload = asyncio.run(_payload(trigger))
    assert payload["status"] == "error"
    assert f"`{field}`" in payload["error"]["message"]
    assert control.journal() == []


def test_a_kill_during_the_wait_cancels_the_run(dataflow_conn: str, control: EmulatorControl) -> None:
    control.add_behaviour(display_name_regex="^from-trigger$", run_seconds=60)

    async def scenario() -> None:
        trigger = _submit_trigger()
        waiting = asyncio.ensure_future(_payload(trigger))
        await _until_created(control)
        await asyncio.sleep(0.2)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        await trigger.on_kill()

    asyncio.run(scenario())
    (run,) = control.runs()
    assert run["lifecycleState"] == "CANCELED"


def test_start_from_trigger_cannot_return_before_the_run_ends() -> None:
    with pytest.raises(ValueError, match="start_from_trigger"):
        DataflowInvokeRunOperator(
            task_id="spark", execute="oci://code@namespace/job.py", start_from_trigger=True, asynchronous=True
        )

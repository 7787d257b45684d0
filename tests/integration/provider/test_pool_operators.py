"""The pool operators against the emulator, on a worker and through their trigger, with the real oci SDK.

Deferrable tests run as Airflow would: ``execute`` on the worker, the trigger's ``run`` in an event
loop, then ``execute_complete`` with its event.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider_dataflow.exceptions import (
    DataflowInvalidInputError,
    DataflowPoolError,
    DataflowPoolTimeoutError,
    DataflowRequestRejectedError,
)
from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.operators.pool import DataflowStartPoolOperator, DataflowStopPoolOperator
from airflow_provider_dataflow.testing.emulator import EmulatorControl
from airflow_provider_dataflow.triggers.pool import DataflowPoolTrigger

from .conftest import COMPARTMENT, run_details, task_context

POOL_ID = "ocid1.dataflowpool.oc1..operators"
BOTH_PATHS = pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "deferrable"])
PoolOperator = DataflowStartPoolOperator | DataflowStopPoolOperator


@pytest.fixture(autouse=True)
def _pool_timing(control: EmulatorControl) -> None:
    control.pool_settings(start_seconds=0.5, stop_seconds=0.2)


def _start(**kwargs: Any) -> DataflowStartPoolOperator:
    return DataflowStartPoolOperator(task_id="start_pool", **{"pool_id": POOL_ID, "poll_interval": 0.1, **kwargs})


def _stop(**kwargs: Any) -> DataflowStopPoolOperator:
    return DataflowStopPoolOperator(task_id="stop_pool", **{"pool_id": POOL_ID, "poll_interval": 0.1, **kwargs})


def _run(operator: PoolOperator) -> dict[str, Any]:
    """``execute``; when it defers, the trigger's first event and ``execute_complete``, as Airflow does."""
    context: Any = task_context()
    try:
        return operator.execute(context)
    except TaskDeferred as deferred:
        assert isinstance(deferred.trigger, DataflowPoolTrigger)
        payload = asyncio.run(_first_event(deferred.trigger))
        return operator.execute_complete(context, payload)


async def _first_event(trigger: DataflowPoolTrigger) -> dict[str, Any]:
    event = await asyncio.wait_for(trigger.run().__anext__(), 30)
    return dict(event.payload)


def _pool_calls(control: EmulatorControl, action: str) -> list[dict[str, Any]]:
    return [e for e in control.journal() if e["method"] == "POST" and e["path"].endswith(f"/actions/{action}")]


@BOTH_PATHS
def test_start_brings_a_stopped_pool_to_active_and_returns_its_attributes(
    dataflow_conn: str, control: EmulatorControl, deferrable: bool
) -> None:
    control.register_pool(POOL_ID, COMPARTMENT, lifecycle_state="STOPPED")
    pool = _run(_start(deferrable=deferrable))
    assert (pool["id"], pool["state"], pool["compartment_id"]) == (POOL_ID, "ACTIVE", COMPARTMENT)
    assert pool["pool_metrics"]["time_last_started"]
    (start,) = _pool_calls(control, "start")
    assert len(start["opc_retry_token"]) == 64


@BOTH_PATHS
def test_starting_an_active_pool_is_a_no_op_without_deferring(
    dataflow_conn: str, control: EmulatorControl, deferrable: bool
) -> None:
    control.register_pool(POOL_ID, COMPARTMENT, lifecycle_state="ACTIVE")
    assert _start(deferrable=deferrable).execute(task_context())["state"] == "ACTIVE"  # no TaskDeferred
    assert _pool_calls(control, "start") == []


@BOTH_PATHS
def test_a_pool_already_starting_is_only_waited_for(
    dataflow_conn: str, hook: DataflowHook, control: EmulatorControl, deferrable: bool
) -> None:
    control.register_pool(POOL_ID, COMPARTMENT, lifecycle_state="STOPPED")
    hook.get_conn().start_pool(POOL_ID)
    assert _run(_start(deferrable=deferrable))["state"] == "ACTIVE"
    assert len(_pool_calls(control, "start")) == 1  # the one made before the task


@BOTH_PATHS
def test_a_stopping_pool_is_waited_for_then_started(
    dataflow_conn: str, hook: DataflowHook, control: EmulatorControl, deferrable: bool
) -> None:
    control.pool_settings(stop_seconds=1.0)
    control.register_pool(POOL_ID, COMPARTMENT, lifecycle_state="ACTIVE")
    hook.get_conn().stop_pool(POOL_ID)
    assert _run(_start(deferrable=deferrable))["state"] == "ACTIVE"
    (start,) = _pool_calls(control, "start")
    stopped_at = next(p for p in control.pools() if p["id"] == POOL_ID)["poolMetrics"]["timeLastStopped"]
    assert start["time"] >= stopped_at  # started only once the stop had finished (no 409 on the way)


@BOTH_PATHS
def test_stopping_waits_for_the_runs_in_the_pool_and_never_cancels_them(
    dataflow_conn: str, hook: DataflowHook, control: EmulatorControl, deferrable: bool
) -> None:
    control.register_pool(POOL_ID, COMPARTMENT, lifecycle_state="ACTIVE")
    control.add_behaviour(display_name_regex="^in-pool$", run_seconds=1.5)
    run = hook.create_run(run_details("in-pool", pool_id=POOL_ID))
    pool = _run(_stop(deferrable=deferrable))
    assert pool["state"] == "STOPPED"
    assert hook.get_run(run["id"])["state"] == "SUCCEEDED"


@BOTH_PATHS
def test_stopping_with_runs_in_the_pool_refuses_when_told_not_to_wait(
    dataflow_conn: str, hook: DataflowHook, control: EmulatorControl, deferrable: bool
) -> None:
    control.register_pool(POOL_ID, COMPARTMENT, lifecycle_state="ACTIVE")
    control.add_behaviour(display_name_regex="^in-pool$", run_seconds=30)
    run = hook.create_run(run_details("in-pool", pool_id=POOL_ID))
    with pytest.raises(DataflowPoolError, match=rf"still has 1 unfinished run: {run['id']} \((ACCEPTED|IN_PROGRESS)\)"):
        _run(_stop(wait_for_runs=False, deferrable=deferrable))
    assert _pool_calls(control, "stop") == []
    assert hook.get_run(run["id"])["state"] in ("ACCEPTED", "IN_PROGRESS")
    hook.cancel_run(run["id"])


@BOTH_PATHS
def test_stopping_a_stopped_pool_is_a_no_op(dataflow_conn: str, control: EmulatorControl, deferrable: bool) -> None:
    control.register_pool(POOL_ID, COMPARTMENT, lifecycle_state="STOPPED")
    assert _run(_stop(deferrable=deferrable))["state"] == "STOPPED"
    assert _pool_calls(control, "stop") == []


@BOTH_PATHS
def test_the_deadline_fails_the_task_naming_the_pool_its_state_and_the_timeout(
    dataflow_conn: str, control: EmulatorControl, deferrable: bool
) -> None:
    control.pool_settings(start_seconds=60)
    control.register_pool(POOL_ID, COMPARTMENT, lifecycle_state="STOPPED")
    with pytest.raises(DataflowPoolTimeoutError) as raised:
        _run(_start(deferrable=deferrable, timeout=1))
    assert str(raised.value) == (
        f"Data Flow pool {POOL_ID} did not become ACTIVE within the operator's timeout (1 s): it is CREATING."
    )


def test_a_stop_waiting_for_runs_names_them_at_its_deadline(
    dataflow_conn: str, hook: DataflowHook, control: EmulatorControl
) -> None:
    control.register_pool(POOL_ID, COMPARTMENT, lifecycle_state="ACTIVE")
    control.add_behaviour(display_name_regex="^in-pool$", run_seconds=30)
    run = hook.create_run(run_details("in-pool", pool_id=POOL_ID))
    with pytest.raises(DataflowPoolTimeoutError, match=rf"it is ACTIVE, waiting for 1 unfinished run: {run['id']}"):
        _run(_stop(timeout=0.5))
    hook.cancel_run(run["id"])


@BOTH_PATHS
def test_a_deleted_pool_fails_the_start(dataflow_conn: str, control: EmulatorControl, deferrable: bool) -> None:
    control.pool_settings(stop_seconds=0)
    control.register_pool(POOL_ID, COMPARTMENT, lifecycle_state="STOPPED")
    DataflowHook().get_conn().delete_pool(POOL_ID)
    with pytest.raises(DataflowPoolError, match=f"Data Flow pool {POOL_ID} is DELETED; it cannot be started"):
        _run(_start(deferrable=deferrable))


def test_an_unknown_pool_fails_at_once_as_a_rejected_request(dataflow_conn: str, control: EmulatorControl) -> None:
    with pytest.raises(DataflowRequestRejectedError, match="404 NotAuthorizedOrNotFound"):
        _run(_start(pool_id="ocid1.dataflowpool.oc1..missing"))


def test_transient_errors_are_retried_through_a_start(dataflow_conn: str, control: EmulatorControl) -> None:
    control.register_pool(POOL_ID, COMPARTMENT, lifecycle_state="STOPPED")
    control.add_fault(method="POST", path_regex="/actions/start$", status=503, times=1)
    control.add_fault(method="GET", path_regex="/pools/", status=429, retry_after_seconds=0.1, times=2)
    assert _run(_start())["state"] == "ACTIVE"
    assert [e["status"] for e in _pool_calls(control, "start")] == [503, 202]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"pool_id": ""}, "pool_id"),
        ({"pool_id": "my-pool"}, "pool_id"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"timeout": -1}, "timeout"),
    ],
)
def test_bad_input_names_the_field_before_any_call(
    dataflow_conn: str, control: EmulatorControl, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(DataflowInvalidInputError) as raised:
        _run(_start(**kwargs))
    assert raised.value.field == field
    assert control.journal() == []


def test_wait_for_runs_must_be_a_boolean() -> None:
    with pytest.raises(DataflowInvalidInputError, match="wait_for_runs"):
        _stop(wait_for_runs="yes")


def test_the_deadline_is_absolute_so_a_rebuilt_trigger_keeps_it(dataflow_conn: str, control: EmulatorControl) -> None:
    """A triggerer restart rebuilds the trigger from its kwargs: the wait still ends at the original deadline."""
    control.pool_settings(start_seconds=60)
    control.register_pool(POOL_ID, COMPARTMENT, lifecycle_state="STOPPED")
    with pytest.raises(TaskDeferred) as deferred:
        _start(deferrable=True, timeout=1).execute(task_context())
    _, kwargs = deferred.value.trigger.serialize()
    time.sleep(1.2)  # the triggerer was down past the deadline
    control.clear_journal()
    payload = asyncio.run(_first_event(DataflowPoolTrigger(**kwargs)))
    assert (payload["status"], payload["pool"]["state"]) == ("timeout", "CREATING")
    assert len(control.journal()) == 1  # one read, then the deadline: not a fresh second of polling


def test_a_run_queued_in_the_pool_waits_outside_its_timeout_then_runs(
    dataflow_conn: str, hook: DataflowHook, control: EmulatorControl
) -> None:
    """The emulator's queue meets the run operator's: ACCEPTED with the pool's queue in lifecycleDetails,
    then IN_PROGRESS; the time in the queue does not count against ``timeout``."""
    from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator

    control.register_pool(POOL_ID, COMPARTMENT, configurations=[{"shape": "VM.Standard.E4.Flex", "max": 2}])
    control.add_behaviour(display_name_regex="^first$", run_seconds=2.0)
    first = hook.create_run(run_details("first", pool_id=POOL_ID))
    queued = DataflowInvokeRunOperator(
        task_id="spark",
        execute="oci://code@namespace/job.py",
        display_name="queued",
        pool_id=POOL_ID,
        poll_interval=0.1,
        timeout=1.5,  # less than the queue's 2 s plus the run's 0.8 s
        deferrable=False,
    )
    result = queued.execute(task_context())
    assert result["state"] == "SUCCEEDED"
    assert hook.get_run(first["id"])["state"] == "SUCCEEDED"
    assert result["time_created"] < hook.get_run(first["id"])["time_updated"]  # it was created while first ran

"""Runs in pools through the real SDK: capacity, the pool's queue, acquireQuotaTimeout, stop, idle timeout.

Sources: Oracle's pools.htm (runs use the pool's shapes; queued for 20 minutes by default, set with
spark.dataflow.acquireQuotaTimeout), dfs_provide_jvm_options.htm (the property's h/m/min format),
pools-start-stop.htm (force stopping cancels unfinished runs), pools_create.htm (idle timeout).
Where they are silent the emulator's choice is in docs/emulator.md; the contract with the provider:
a queued run stays ACCEPTED with lifecycleDetails naming the pool's queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import oci
import pytest
from oci.data_flow import DataFlowClient as Client
from oci.data_flow import models

from airflow_provider_dataflow.runs.failures import RunEnd, run_end
from airflow_provider_dataflow.testing.emulator import EmulatorControl

from .conftest import StateWaiter

POOL_ID = "ocid1.dataflowpool.oc1..backfill"
SHAPE = "VM.Standard.E4.Flex"
QUEUED = "Waiting in the queue of pool"
RunMaker = Callable[..., models.Run]


def _with_timeout(value: str) -> str:
    """An ``execute`` line setting the property (a run given ``execute`` takes its configuration from it)."""
    return f"--conf spark.dataflow.acquireQuotaTimeout={value} oci://bucket@namespace/jobs/etl.py"


@pytest.fixture(autouse=True)
def _quick_pools(control: EmulatorControl) -> None:
    control.pool_settings(start_seconds=0.3, stop_seconds=0.1)


@pytest.fixture
def pooled_run(create_run: RunMaker) -> RunMaker:
    """A run in POOL_ID: a driver and one executor of the default shape, two of the pool's instances."""

    def create(**overrides: Any) -> models.Run:
        return create_run(pool_id=POOL_ID, **overrides)

    return create


def _register(control: EmulatorControl, compartment_id: str, state: str = "ACTIVE", **fields: Any) -> None:
    control.register_pool(POOL_ID, compartment_id, lifecycle_state=state, **fields)


def _wait_until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        time.sleep(0.05)


def test_runs_beyond_the_pools_capacity_wait_in_its_queue_then_start(
    client: Client, control: EmulatorControl, compartment_id: str, pooled_run: RunMaker, wait_for_state: StateWaiter
) -> None:
    _register(control, compartment_id)  # four instances: room for two runs
    runs = [pooled_run(display_name=f"date-{day}") for day in range(3)]
    third = client.get_run(runs[2].id).data
    assert third.lifecycle_state == "ACCEPTED"
    assert third.lifecycle_details.startswith(f"{QUEUED} {POOL_ID}")
    assert "spark.dataflow.acquireQuotaTimeout 20m" in third.lifecycle_details  # the default (pools.htm)
    pool = client.get_pool(POOL_ID).data
    assert pool.pool_metrics.active_runs_count == 2
    assert [(n.logical_shape, n.count) for n in pool.pool_metrics.actively_used_node_count] == [(SHAPE, 4)]
    first_done = wait_for_state(runs[0].id)
    started = wait_for_state(runs[2].id, states=("IN_PROGRESS", "SUCCEEDED"))
    assert started.lifecycle_details is None
    ended = wait_for_state(runs[2].id)
    assert ended.lifecycle_state == "SUCCEEDED"
    assert ended.run_duration_in_milliseconds == first_done.run_duration_in_milliseconds  # its run time starts late


def test_a_run_in_a_stopped_pool_waits_until_the_pool_is_started(
    client: Client, control: EmulatorControl, compartment_id: str, pooled_run: RunMaker, wait_for_state: StateWaiter
) -> None:
    _register(control, compartment_id, state="STOPPED")
    run = pooled_run()
    time.sleep(0.5)
    waiting = client.get_run(run.id).data
    assert (waiting.lifecycle_state, client.get_pool(POOL_ID).data.lifecycle_state) == ("ACCEPTED", "STOPPED")
    assert waiting.lifecycle_details.startswith(QUEUED)
    client.start_pool(POOL_ID)
    assert wait_for_state(run.id).lifecycle_state == "SUCCEEDED"


def test_acquire_quota_timeout_fails_a_queued_run_as_a_capacity_failure(
    client: Client, control: EmulatorControl, compartment_id: str, pooled_run: RunMaker, wait_for_state: StateWaiter
) -> None:
    control.settings(minute_seconds=0.2)
    _register(control, compartment_id, state="STOPPED")
    run = pooled_run(execute=_with_timeout("2min"))
    assert "spark.dataflow.acquireQuotaTimeout 2m" in run.lifecycle_details
    failed = wait_for_state(run.id)
    assert failed.lifecycle_state == "FAILED"
    assert failed.lifecycle_details.startswith(f"Run failed to start: not enough capacity in pool {POOL_ID}")
    assert failed.run_duration_in_milliseconds == 0
    assert run_end({"state": failed.lifecycle_state, "lifecycle_details": failed.lifecycle_details}) is (
        RunEnd.CAPACITY_FAILURE
    )


@pytest.mark.parametrize("value", ["1h", "30m", "45min", "1.5h"])
def test_acquire_quota_timeout_takes_hours_and_minutes(
    control: EmulatorControl, compartment_id: str, pooled_run: RunMaker, value: str
) -> None:
    _register(control, compartment_id, state="STOPPED")
    assert pooled_run(execute=_with_timeout(value)).lifecycle_state == "ACCEPTED"


def test_a_bad_acquire_quota_timeout_is_a_400(
    client: Client, control: EmulatorControl, compartment_id: str, pooled_run: RunMaker
) -> None:
    _register(control, compartment_id)
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        pooled_run(execute=_with_timeout("soon"))
    assert raised.value.status == 400
    assert "configuration.spark.dataflow.acquireQuotaTimeout" in raised.value.message


def test_runs_must_use_an_existing_pools_shapes(
    control: EmulatorControl, compartment_id: str, pooled_run: RunMaker, create_run: RunMaker
) -> None:
    _register(control, compartment_id)
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        pooled_run(executor_shape="VM.Standard2.4")
    assert (raised.value.status, raised.value.code) == (400, "InvalidParameter")
    assert f"executorShape VM.Standard2.4 is not a shape of pool {POOL_ID}" in raised.value.message
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        create_run(pool_id="ocid1.dataflowpool.oc1..nosuchpool")
    assert (raised.value.status, raised.value.code) == (400, "RelatedResourceNotAuthorizedOrNotFound")


def test_a_deleted_pool_takes_no_runs(
    client: Client, control: EmulatorControl, compartment_id: str, pooled_run: RunMaker
) -> None:
    control.pool_settings(stop_seconds=0)
    _register(control, compartment_id, state="STOPPED")
    client.delete_pool(POOL_ID)
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        pooled_run()
    assert (raised.value.status, raised.value.code) == (409, "Conflict")


def test_stopping_a_pool_cancels_its_unfinished_runs(
    client: Client, control: EmulatorControl, compartment_id: str, pooled_run: RunMaker, wait_for_state: StateWaiter
) -> None:
    control.settings(run_seconds=30)
    _register(control, compartment_id)
    running, _, queued = (pooled_run() for _ in range(3))
    wait_for_state(running.id, states=("IN_PROGRESS",))
    client.stop_pool(POOL_ID)
    for run_id in (running.id, queued.id):
        canceled = wait_for_state(run_id)
        assert canceled.lifecycle_state == "CANCELED"
        assert canceled.lifecycle_details == f"Canceled: pool {POOL_ID} was stopped while the run was unfinished."


def test_cancelling_a_run_makes_room_for_the_next_in_the_queue(
    client: Client, control: EmulatorControl, compartment_id: str, pooled_run: RunMaker, wait_for_state: StateWaiter
) -> None:
    control.settings(run_seconds=30)
    _register(control, compartment_id, configurations=[{"shape": SHAPE, "max": 2}])
    first, second = pooled_run(), pooled_run()
    assert client.get_run(second.id).data.lifecycle_details.startswith(QUEUED)
    client.delete_run(first.id)
    assert wait_for_state(second.id, states=("IN_PROGRESS",)).lifecycle_state == "IN_PROGRESS"


def test_an_idle_pool_stops_after_its_idle_timeout(
    client: Client, control: EmulatorControl, compartment_id: str, pooled_run: RunMaker, wait_for_state: StateWaiter
) -> None:
    control.settings(minute_seconds=0.3)
    _register(control, compartment_id, idle_timeout_in_minutes=1)
    run = pooled_run()
    assert client.get_pool(POOL_ID).data.lifecycle_state == "ACTIVE"
    ended = wait_for_state(run.id)
    _wait_until(lambda: client.get_pool(POOL_ID).data.lifecycle_state == "STOPPED")
    pool = client.get_pool(POOL_ID).data
    assert pool.lifecycle_details == "The pool was idle for idleTimeoutInMinutes (1) and was stopped."
    assert pool.pool_metrics.time_last_stopped > ended.time_updated  # idle only once the run had ended
    assert pool.pool_metrics.time_last_used == ended.time_updated


def test_a_behaviour_sets_the_cold_start_of_the_pools_it_matches(
    client: Client, control: EmulatorControl, compartment_id: str
) -> None:
    control.add_behaviour(display_name_regex="^slow-", pool_start_seconds=30)
    slow = control.register_pool("ocid1.dataflowpool.oc1..slow", compartment_id, "STOPPED", display_name="slow-pool")
    quick = control.register_pool("ocid1.dataflowpool.oc1..quick", compartment_id, "STOPPED", display_name="quick")
    for pool in (slow, quick):
        client.start_pool(pool["id"])
    _wait_until(lambda: client.get_pool(quick["id"]).data.lifecycle_state == "ACTIVE")
    assert client.get_pool(slow["id"]).data.lifecycle_state == "CREATING"

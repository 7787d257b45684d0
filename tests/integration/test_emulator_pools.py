"""Pools through the real SDK: create, get, list, update, start, stop, delete, work requests, etags.

Sources: the SDK's DataFlowClient, its models (Pool, PoolConfig, CreatePoolDetails, WorkRequest) and
composite operations; Oracle's pools_create.htm, pools-start-stop.htm, pools-delete.htm. Runs in pools
are in test_emulator_pool_runs.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import oci
import pytest
from oci.data_flow import DataFlowClient as Client
from oci.data_flow import DataFlowClientCompositeOperations as Composite
from oci.data_flow import models

from airflow_provider_dataflow.testing.emulator import EmulatorControl

SHAPE = "VM.Standard.E4.Flex"
WAIT = {"max_interval_seconds": 0.05, "max_wait_seconds": 10}
PoolMaker = Callable[..., models.Pool]


@pytest.fixture(autouse=True)
def _quick_pools(control: EmulatorControl) -> None:
    control.pool_settings(start_seconds=0.4, stop_seconds=0.1)


@pytest.fixture
def composite(client: Client) -> Composite:
    return Composite(client)


@pytest.fixture
def create_pool(client: Client, compartment_id: str) -> PoolMaker:
    def create(**overrides: Any) -> models.Pool:
        fields = {
            "compartment_id": compartment_id,
            "display_name": "backfill-pool",
            "configurations": [models.PoolConfig(shape=SHAPE, max=4, min=0)],
            **overrides,
        }
        return client.create_pool(models.CreatePoolDetails(**fields)).data

    return create


def _error(call: Callable[[], Any]) -> oci.exceptions.ServiceError:
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        call()
    return raised.value


def test_create_answers_the_pool_and_a_work_request_the_composite_waits_for(
    client: Client, composite: Composite, compartment_id: str, credentials: Any
) -> None:
    details = models.CreatePoolDetails(
        compartment_id=compartment_id,
        display_name="nightly",
        description="for the backfill",
        configurations=[models.PoolConfig(shape=SHAPE, shape_config=models.ShapeConfig(ocpus=2.0), min=2, max=6)],
        idle_timeout_in_minutes=30,
        freeform_tags={"team": "data"},
    )
    done = composite.create_pool_and_wait_for_state(details, wait_for_states=["SUCCEEDED"], waiter_kwargs=WAIT)
    work = done.data
    assert (work.status, work.percent_complete, work.compartment_id) == ("SUCCEEDED", 100.0, compartment_id)
    (resource,) = work.resources
    assert (resource.action_type, resource.resource_type) == ("CREATED", "DATAFLOW_POOL")
    response = client.get_pool(resource.resource_id)
    pool = response.data
    assert response.headers["etag"]
    assert pool.id.startswith("ocid1.dataflowpool.oc1.")
    assert (pool.display_name, pool.description, pool.idle_timeout_in_minutes) == ("nightly", "for the backfill", 30)
    assert (pool.configurations[0].shape, pool.configurations[0].max, pool.configurations[0].shape_config.ocpus) == (
        SHAPE,
        6,
        2.0,
    )
    assert (pool.owner_principal_id, pool.freeform_tags) == (credentials.user, {"team": "data"})
    # A created pool runs nothing until it is started ("When you ... create a pool, it's stopped").
    assert pool.lifecycle_state == "ACCEPTED"
    assert (pool.pool_metrics.active_runs_count, pool.pool_metrics.time_last_started) == (0, None)


def test_a_pool_with_schedules_is_scheduled_and_a_retry_token_returns_the_same_pool(
    client: Client, create_pool: PoolMaker, compartment_id: str, control: EmulatorControl
) -> None:
    control.pool_settings(stop_seconds=0)
    scheduled = create_pool(schedules=[models.PoolSchedule(day_of_week="MONDAY", start_time=6, stop_time=20)])
    assert client.get_pool(scheduled.id).data.lifecycle_state == "SCHEDULED"
    details = models.CreatePoolDetails(
        compartment_id=compartment_id, display_name="p", configurations=[models.PoolConfig(shape=SHAPE, max=2)]
    )
    first = client.create_pool(details, opc_retry_token="pool-token-1")
    again = client.create_pool(details, opc_retry_token="pool-token-1")
    assert first.data.id == again.data.id
    assert first.headers["opc-work-request-id"] == again.headers["opc-work-request-id"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"compartmentId": None}, "compartmentId is required"),
        ({"configurations": None}, "configurations is required"),
        ({"configurations": [{"shape": SHAPE, "max": 2}] * 4}, "1 to 3 configurations"),  # pools_create.htm
        ({"configurations": [{"shape": SHAPE, "min": 3, "max": 2}]}, "min must not exceed max"),
        ({"configurations": [{"max": 2}]}, "configurations[0].shape is required"),
        ({"schedules": [{"dayOfWeek": "FUNDAY"}]}, "schedules[0].dayOfWeek must be one of"),
        ({"idleTimeoutInMinutes": 0}, "idleTimeoutInMinutes must be at least 1"),
        ({"shapes": []}, "shapes is not a recognized field"),
    ],
)
def test_an_invalid_create_is_a_400_naming_the_field(
    client: Client, compartment_id: str, changes: dict[str, Any], message: str
) -> None:
    body = {"compartmentId": compartment_id, "displayName": "p", "configurations": [{"shape": SHAPE, "max": 2}]}
    body.update(changes)
    error = _error(lambda: client.create_pool({key: value for key, value in body.items() if value is not None}))
    assert error.status == 400
    assert message in error.message


def test_list_filters_pages_and_sorts_as_the_sdk_asks(
    client: Client, create_pool: PoolMaker, compartment_id: str, control: EmulatorControl
) -> None:
    control.pool_settings(stop_seconds=0)
    pools = [create_pool(display_name=name) for name in ("alpha", "beta", "alpine")]
    listed = client.list_pools(compartment_id).data
    assert isinstance(listed, models.PoolCollection)
    assert [p.id for p in listed.items] == [p.id for p in reversed(pools)]  # newest first
    ascending = client.list_pools(compartment_id, sort_by="timeCreated", sort_order="ASC").data.items
    assert [p.id for p in ascending] == [p.id for p in pools]
    starts = client.list_pools(compartment_id, display_name_starts_with="alp").data.items
    assert sorted(p.display_name for p in starts) == ["alpha", "alpine"]
    assert [p.display_name for p in client.list_pools(compartment_id, display_name="beta").data.items] == ["beta"]
    assert len(client.list_pools(compartment_id, lifecycle_state="ACCEPTED").data.items) == 3
    page = client.list_pools(compartment_id, limit=2)
    assert len(page.data.items) == 2 and page.next_page
    everything = oci.pagination.list_call_get_all_results(client.list_pools, compartment_id, limit=1).data
    assert sorted(p.id for p in everything) == sorted(p.id for p in pools)
    error = _error(lambda: client.list_pools(compartment_id, display_name="beta", lifecycle_state="ACCEPTED"))
    assert (error.status, error.code) == (400, "InvalidParameter")


def test_start_and_stop_wait_through_their_work_requests(
    client: Client, composite: Composite, create_pool: PoolMaker
) -> None:
    pool = create_pool()
    started = composite.start_pool_and_wait_for_state(pool.id, wait_for_states=["SUCCEEDED"], waiter_kwargs=WAIT)
    work = started.data
    assert work.status == "SUCCEEDED"
    assert (work.time_finished - work.time_accepted).total_seconds() == pytest.approx(0.4, abs=0.01)  # the cold start
    active = client.get_pool(pool.id).data
    assert active.lifecycle_state == "ACTIVE"
    assert active.pool_metrics.time_last_started is not None
    stopped = composite.stop_pool_and_wait_for_state(pool.id, wait_for_states=["SUCCEEDED"], waiter_kwargs=WAIT)
    assert stopped.data.status == "SUCCEEDED"
    final = client.get_pool(pool.id).data
    assert final.lifecycle_state == "STOPPED"
    assert final.pool_metrics.time_last_stopped is not None


def test_a_starting_pool_is_creating_and_a_second_start_joins_the_first(
    client: Client, create_pool: PoolMaker, control: EmulatorControl
) -> None:
    control.pool_settings(start_seconds=30)
    pool = create_pool()
    first = client.start_pool(pool.id)
    assert first.status == 202
    starting = client.get_pool(pool.id).data
    assert (starting.lifecycle_state, starting.lifecycle_details) == (
        "CREATING",
        "Starting: provisioning the pool's compute instances.",
    )
    second = client.start_pool(pool.id)
    assert second.headers["opc-work-request-id"] == first.headers["opc-work-request-id"]
    assert client.get_work_request(first.headers["opc-work-request-id"]).data.status in ("ACCEPTED", "INPROGRESS")


def test_a_stop_overtakes_a_start_whose_work_request_then_fails(
    client: Client, create_pool: PoolMaker, control: EmulatorControl
) -> None:
    control.pool_settings(start_seconds=30, stop_seconds=30)
    pool = create_pool()
    start = client.start_pool(pool.id).headers["opc-work-request-id"]
    stop = client.stop_pool(pool.id).headers["opc-work-request-id"]
    assert client.get_work_request(start).data.status == "FAILED"
    (error,) = client.list_work_request_errors(start).data.items
    assert "STOP_POOL" in error.message
    assert client.get_pool(pool.id).data.lifecycle_state == "STOPPING"
    refused = _error(lambda: client.start_pool(pool.id))  # a STOPPING pool is started once it is STOPPED
    assert (refused.status, refused.code) == (409, "IncorrectState")
    assert client.stop_pool(pool.id).headers["opc-work-request-id"] == stop
    assert [log.message for log in client.list_work_request_logs(stop).data.items] == ["STOP_POOL accepted"]


def test_starting_an_active_pool_and_stopping_a_stopped_one_succeed_at_once(
    client: Client, control: EmulatorControl, compartment_id: str
) -> None:
    active = control.register_pool("ocid1.dataflowpool.oc1..active", compartment_id, lifecycle_state="ACTIVE")
    stopped = control.register_pool("ocid1.dataflowpool.oc1..stopped", compartment_id, lifecycle_state="STOPPED")
    for call, pool in ((client.start_pool, active), (client.stop_pool, stopped)):
        work = client.get_work_request(call(pool["id"]).headers["opc-work-request-id"]).data
        assert work.status == "SUCCEEDED"
    assert [p["lifecycleState"] for p in control.pools()] == ["ACTIVE", "STOPPED"]


def test_retry_tokens_replay_start_and_stop(client: Client, create_pool: PoolMaker) -> None:
    pool = create_pool()
    first = client.start_pool(pool.id, opc_retry_token="start-1").headers["opc-work-request-id"]
    assert client.start_pool(pool.id, opc_retry_token="start-1").headers["opc-work-request-id"] == first
    stop = client.stop_pool(pool.id, opc_retry_token="stop-1").headers["opc-work-request-id"]
    assert client.stop_pool(pool.id, opc_retry_token="stop-1").headers["opc-work-request-id"] == stop


def test_if_match_with_a_stale_etag_is_412_on_every_change(client: Client, create_pool: PoolMaker) -> None:
    pool = create_pool()
    etag = client.get_pool(pool.id).headers["etag"]
    client.update_pool(models.UpdatePoolDetails(description="changed"), pool.id, if_match=etag)
    for call in (
        lambda: client.update_pool(models.UpdatePoolDetails(description="again"), pool.id, if_match=etag),
        lambda: client.start_pool(pool.id, if_match=etag),
        lambda: client.stop_pool(pool.id, if_match=etag),
        lambda: client.delete_pool(pool.id, if_match=etag),
    ):
        error = _error(call)
        assert (error.status, error.code) == (412, "NoEtagMatch")


def test_update_changes_the_given_fields_and_answers_a_work_request(client: Client, create_pool: PoolMaker) -> None:
    pool = create_pool(freeform_tags={"team": "data"})
    response = client.update_pool(
        models.UpdatePoolDetails(display_name="renamed", configurations=[models.PoolConfig(shape=SHAPE, max=8)]),
        pool.id,
    )
    assert response.status == 202
    assert client.get_work_request(response.headers["opc-work-request-id"]).data.status == "SUCCEEDED"
    updated = client.get_pool(pool.id).data
    assert (updated.display_name, updated.configurations[0].max, updated.freeform_tags) == (
        "renamed",
        8,
        {"team": "data"},
    )
    error = _error(lambda: client.update_pool({"compartmentId": "ocid1.compartment.oc1..other"}, pool.id))
    assert (error.status, error.code) == (400, "InvalidParameter")


def test_only_a_stopped_pool_is_deleted_and_stays_readable_as_deleted(
    client: Client, composite: Composite, control: EmulatorControl, compartment_id: str
) -> None:
    pool_id = control.register_pool("ocid1.dataflowpool.oc1..todelete", compartment_id)["id"]
    error = _error(lambda: client.delete_pool(pool_id))  # "Delete a stopped pool" (pools-delete.htm)
    assert (error.status, error.code) == (409, "Conflict")
    composite.stop_pool_and_wait_for_state(pool_id, wait_for_states=["SUCCEEDED"], waiter_kwargs=WAIT)
    deleted = composite.delete_pool_and_wait_for_state(pool_id, wait_for_states=["DELETED"], waiter_kwargs=WAIT)
    assert deleted.data.lifecycle_state == "DELETED"
    assert client.list_pools(compartment_id).data.items == []
    assert [p.id for p in client.list_pools(compartment_id, lifecycle_state="DELETED").data.items] == [pool_id]
    for call in (lambda: client.start_pool(pool_id), lambda: client.delete_pool(pool_id)):
        assert _error(call).status == 409


def test_work_requests_are_listed_newest_first_and_unknown_ones_are_404(
    client: Client, create_pool: PoolMaker, compartment_id: str
) -> None:
    pool = create_pool()
    start = client.start_pool(pool.id).headers["opc-work-request-id"]
    listed = client.list_work_requests(compartment_id).data
    assert isinstance(listed, models.WorkRequestCollection)
    assert listed.items[0].id == start
    assert len(listed.items) == 2  # the create's, then the start's
    error = _error(lambda: client.get_work_request("ocid1.dataflowworkrequest.oc1..missing"))
    assert (error.status, error.code) == (404, "NotAuthorizedOrNotFound")

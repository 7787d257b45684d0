"""A rotated API key: the user uploads a new key, updates the connection and deletes the old key in OCI while
tasks wait. On a 401 the hook reads the connection again, once, and carries on with the new key, on a worker
and in the triggerer; only a connection that still holds a refused key fails the call."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from airflow_provider_dataflow.exceptions import DataflowRequestRejectedError
from airflow_provider_dataflow.hooks.dataflow import DataflowHook, client_pool
from airflow_provider_dataflow.testing.credentials import TestCredentials, generate_test_credentials
from airflow_provider_dataflow.testing.emulator import DataflowEmulator, EmulatorControl
from airflow_provider_dataflow.triggers.dataflow import DataflowRunTrigger

from .conftest import COMPARTMENT, run_details

CONN_ID = "rotated"


def _connect(monkeypatch: pytest.MonkeyPatch, creds: TestCredentials, emulator: DataflowEmulator) -> None:
    conn_json = creds.airflow_connection_json(service_endpoint=emulator.url, compartment_id=COMPARTMENT)
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", conn_json)


def _rotate(
    old: TestCredentials, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch, emulator: DataflowEmulator
) -> TestCredentials:
    """A new key for the same user: uploaded, put in the connection, the old one deleted."""
    new = dataclasses.replace(generate_test_credentials(), tenancy=old.tenancy, user=old.user)
    control.register_key(new.key_id, new.public_key_pem)
    _connect(monkeypatch, new, emulator)
    control.remove_key(old.key_id)
    return new


@pytest.fixture
def old_key(emulator: DataflowEmulator, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch) -> TestCredentials:
    creds = generate_test_credentials()
    control.register_key(creds.key_id, creds.public_key_pem)
    _connect(monkeypatch, creds, emulator)
    return creds


def test_a_worker_picks_up_a_rotated_key_on_its_next_call(
    old_key: TestCredentials, emulator: DataflowEmulator, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = DataflowHook(CONN_ID)
    run = hook.create_run(run_details("before-rotation"))
    new_key = _rotate(old_key, control, monkeypatch, emulator)
    assert hook.get_run(run["id"])["id"] == run["id"], "the same hook, still holding the old key, carries on"
    key_ids = [entry["key_id"] for entry in control.journal()]
    assert key_ids[-2:] == [old_key.key_id, new_key.key_id], "refused once with the old key, then the new one"


def test_a_connection_still_holding_a_deleted_key_fails_after_one_reload(
    old_key: TestCredentials, control: EmulatorControl
) -> None:
    hook = DataflowHook(CONN_ID)
    run = hook.create_run(run_details("deleted-key"))
    control.remove_key(old_key.key_id)
    control.clear_journal()
    with pytest.raises(DataflowRequestRejectedError, match="401"):
        hook.get_run(run["id"])
    assert len(control.journal()) == 2, "one call, one retry after reloading the connection: no more"


def test_a_deferred_wait_survives_a_key_rotation_mid_wait(
    old_key: TestCredentials, emulator: DataflowEmulator, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    control.add_behaviour(display_name_regex="^rotated-mid-wait$", run_seconds=3)
    run = DataflowHook(CONN_ID).create_run(run_details("rotated-mid-wait"))

    async def scenario() -> dict[str, Any]:
        waits = [
            asyncio.ensure_future(_first_event(DataflowRunTrigger(run["id"], oci_conn_id=CONN_ID, poll_interval=0.2)))
            for _ in range(3)
        ]
        await asyncio.sleep(1.0)  # every trigger has signed with the old key by now
        await asyncio.to_thread(_rotate, old_key, control, monkeypatch, emulator)
        events = await asyncio.wait_for(asyncio.gather(*waits), 30)
        assert {(event["status"], event["run"]["state"]) for event in events} == {("done", "SUCCEEDED")}
        return events[0]

    event = asyncio.run(scenario())
    assert event["status"] == "done" and event["run"]["state"] == "SUCCEEDED", event
    assert [r["id"] for r in control.runs()] == [run["id"]]


def test_forgotten_credentials_leave_no_client_behind_for_the_rotated_key(
    old_key: TestCredentials, emulator: DataflowEmulator, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = DataflowHook(CONN_ID)
    hook.create_run(run_details("pool-after-rotation"))
    old_settings = hook.settings
    _rotate(old_key, control, monkeypatch, emulator)
    hook.list_runs(COMPARTMENT)
    assert hook.settings != old_settings
    assert client_pool().client(hook.settings) is hook.client
    assert old_settings not in client_pool()._credentials, "the refused key's credentials were dropped"


async def _first_event(trigger: DataflowRunTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger ended without an event")

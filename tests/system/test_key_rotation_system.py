"""A rotated API key on a real Airflow: the user uploads a new key, updates the connection through Airflow's
REST API and deletes the old key in OCI while a deferred task waits. The task still succeeds with one run,
and a DAG run started after the rotation too (issue 21: both failed with 401 and left their runs running)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from airflow_provider_dataflow.testing.airflow_stack import AirflowStack
from airflow_provider_dataflow.testing.credentials import TestCredentials, generate_test_credentials
from airflow_provider_dataflow.testing.emulator import DataflowEmulator

from .conftest import COMPARTMENT_ID
from .waiting import wait_for

pytestmark = pytest.mark.system

DAG_ID = "system_dataflow_key_rotation"
CONN_ID = "oci_dataflow_rotated"


def _connection_body(creds: TestCredentials, emulator: DataflowEmulator) -> dict[str, object]:
    return {
        "connection_id": CONN_ID,
        "conn_type": "oci_dataflow",
        "password": creds.private_key_pem,
        "extra": json.dumps(creds.connection_extra(emulator.url, COMPARTMENT_ID)),
    }


def test_a_key_rotated_while_a_task_waits_fails_nothing(stack: AirflowStack, emulator: DataflowEmulator) -> None:
    api = stack.api
    old = generate_test_credentials()
    emulator.control.register_key(old.key_id, old.public_key_pem)
    api.post("/connections", json=_connection_body(old, emulator))
    emulator.control.add_behaviour(display_name_regex="^rotated-key-", run_seconds=25)
    api.wait_for_dag(DAG_ID)

    waiting = api.trigger_dag(DAG_ID)
    api.wait_for_task_state(DAG_ID, waiting, "spark", "deferred", timeout=120)
    (run,) = [r for r in emulator.control.runs() if r["displayName"] == f"rotated-key-{waiting}"]
    wait_for(
        lambda: any(
            e["method"] == "GET" and e["path"].endswith(run["id"]) and e["key_id"] == old.key_id and e["status"] == 200
            for e in emulator.control.journal()
        ),
        60,
        "the triggerer to poll the run with the old key",
    )

    new = dataclasses.replace(generate_test_credentials(), tenancy=old.tenancy, user=old.user)
    emulator.control.register_key(new.key_id, new.public_key_pem)
    api.patch(f"/connections/{CONN_ID}", json=_connection_body(new, emulator))
    emulator.control.remove_key(old.key_id)
    started_after = api.trigger_dag(DAG_ID)

    for run_id in (waiting, started_after):
        assert api.wait_for_dag_run(DAG_ID, run_id, timeout=240) == "success", run_id
        runs = [r for r in emulator.control.runs() if r["displayName"] == f"rotated-key-{run_id}"]
        assert len(runs) == 1 and runs[0]["lifecycleState"] == "SUCCEEDED", runs
    refused = [e for e in emulator.control.journal() if e["status"] == 401 and e["key_id"] == old.key_id]
    assert refused, "the triggerer signed with the old key once, was refused, and reloaded the connection"

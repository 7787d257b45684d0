"""Injected faults and the request journal, seen through the real SDK and its retry strategies."""

from __future__ import annotations

from typing import Any

import oci
import pytest
from oci.data_flow import DataFlowClient as Client

from airflow_provider_dataflow.testing.emulator import EmulatorControl, EmulatorControlError

DEFAULT_RETRY = oci.retry.DEFAULT_RETRY_STRATEGY


def _statuses(control: EmulatorControl, method: str, path_part: str) -> list[int | None]:
    return [e["status"] for e in control.journal() if e["method"] == method and path_part in e["path"]]


def test_a_429_carries_retry_after_and_the_default_strategy_retries_it(
    client: Client, control: EmulatorControl, create_run: Any
) -> None:
    run = create_run()
    control.add_fault(method="GET", path_regex=r"/runs/", status=429, retry_after_seconds=1, times=1)
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        client.get_run(run.id)
    error = raised.value
    assert (error.status, error.code, error.headers["Retry-After"]) == (429, "TooManyRequests", "1")
    assert error.headers["opc-request-id"]
    control.add_fault(method="GET", path_regex=r"/runs/", status=429, code="TooManyRequests", times=1)
    assert client.get_run(run.id, retry_strategy=DEFAULT_RETRY).data.id == run.id
    assert _statuses(control, "GET", run.id) == [429, 429, 200]


@pytest.mark.parametrize(("status", "code"), [(500, "InternalServerError"), (503, "ServiceUnavailable")])
def test_a_5xx_on_get_is_retried_by_the_default_strategy(
    client: Client, control: EmulatorControl, create_run: Any, compartment_id: str, status: int, code: str
) -> None:
    create_run()
    control.add_fault(method="GET", path_regex=r"/runs$", status=status, times=1)
    assert len(client.list_runs(compartment_id, retry_strategy=DEFAULT_RETRY).data) == 1
    assert _statuses(control, "GET", "/runs") == [status, 200]
    assert control.faults()[0]["applied"] == 1
    control.add_fault(method="GET", path_regex=r"/runs$", status=status, times=1)
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        client.list_runs(compartment_id)  # the fixture's client does not retry
    assert (raised.value.status, raised.value.code) == (status, code)


def test_a_response_lost_after_create_yields_one_run_when_the_sdk_retries_with_one_token(
    client: Client, control: EmulatorControl, compartment_id: str
) -> None:
    control.add_fault(method="POST", path_regex=r"/runs$", action="drop_after", times=1)
    details = oci.data_flow.models.CreateRunDetails(compartment_id=compartment_id, execute="oci://b@n/job.py")
    run = client.create_run(details, opc_retry_token="attempt-1-token", retry_strategy=DEFAULT_RETRY).data
    assert [r["id"] for r in control.runs()] == [run.id]
    posts = [e for e in control.journal() if e["method"] == "POST"]
    assert [(e["fault"], e["status"], e["opc_retry_token"]) for e in posts] == [
        ("drop_after", 200, "attempt-1-token"),
        (None, 200, "attempt-1-token"),
    ]


def test_without_retries_a_lost_create_response_leaves_an_orphan_run(
    client: Client, control: EmulatorControl, compartment_id: str
) -> None:
    """What drop_after is for: the run exists, but the caller only saw a connection error."""
    control.add_fault(method="POST", path_regex=r"/runs$", action="drop_after")
    details = oci.data_flow.models.CreateRunDetails(compartment_id=compartment_id, execute="oci://b@n/job.py")
    with pytest.raises(oci.exceptions.RequestException):
        client.create_run(details)
    assert len(control.runs()) == 1


def test_drop_before_loses_the_request_without_creating_anything(
    client: Client, control: EmulatorControl, compartment_id: str
) -> None:
    control.add_fault(method="POST", path_regex=r"/runs$", action="drop_before", times=2)
    details = oci.data_flow.models.CreateRunDetails(compartment_id=compartment_id, execute="oci://b@n/job.py")
    for _ in range(2):
        with pytest.raises(oci.exceptions.RequestException):
            client.create_run(details)
    assert control.runs() == []
    assert client.create_run(details).status == 200  # the rule is used up
    assert [e["fault"] for e in control.journal()] == ["drop_before", "drop_before", None]


def test_faults_match_method_and_path_and_can_be_cleared(
    client: Client, control: EmulatorControl, create_run: Any, compartment_id: str
) -> None:
    run = create_run()
    control.add_fault(method="DELETE", path_regex=r"/runs/", status=503, times=None)
    assert client.get_run(run.id).status == 200
    assert client.list_runs(compartment_id).status == 200
    for _ in range(3):
        with pytest.raises(oci.exceptions.ServiceError):
            client.delete_run(run.id)
    control.clear_faults()
    assert client.delete_run(run.id).status == 204
    with pytest.raises(EmulatorControlError, match="action"):
        control.add_fault(action="explode")


def test_faults_do_not_touch_the_control_api(control: EmulatorControl) -> None:
    control.add_fault(path_regex=".*", status=500, times=None)
    assert control.health()["status"] == "ok"
    assert control.runs() == []


def test_the_journal_records_every_api_request(
    client: Client, control: EmulatorControl, compartment_id: str, credentials: Any
) -> None:
    details = oci.data_flow.models.CreateRunDetails(
        compartment_id=compartment_id, execute="oci://b@n/job.py", display_name="journaled"
    )
    run = client.create_run(details, opc_retry_token="token-1", opc_request_id="req-1").data
    client.get_run(run.id)
    client.list_runs(compartment_id, limit=5)
    with pytest.raises(oci.exceptions.ServiceError):
        client.get_run("ocid1.dataflowrun.oc1.us-ashburn-1.missing")
    create, get, listing, missing = control.journal()
    assert (create["method"], create["path"], create["status"]) == ("POST", "/20200129/runs", 200)
    assert (create["opc_retry_token"], create["opc_request_id"]) == ("token-1", "req-1")
    assert create["body"]["displayName"] == "journaled"
    assert (create["key_id"], create["principal_id"]) == (credentials.key_id, credentials.user)
    assert create["time"].endswith("Z") and create["duration_ms"] >= 0
    assert (get["path"], get["body"]) == (f"/20200129/runs/{run.id}", None)
    assert listing["query"] == {"compartmentId": compartment_id, "limit": "5"}
    assert missing["status"] == 404
    control.clear_journal()
    assert control.journal() == []


def test_a_truncated_body_breaks_the_clients_read_of_the_stream(
    client: Client, control: EmulatorControl, create_run: Any, wait_for_state: Any
) -> None:
    run = create_run()
    wait_for_state(run.id)
    control.add_fault(method="GET", path_regex=r"/logs/", action="truncate_body")
    response = client.get_run_log(run.id, "spark_application_stdout.log.gz")
    with pytest.raises(Exception, match=r"IncompleteRead|ProtocolError|Connection broken"):
        response.data.raw.read()
    assert control.faults()[0]["applied"] == 1
    whole = client.get_run_log(run.id, "spark_application_stdout.log.gz").data.raw.read()
    assert whole[:2] == b"\x1f\x8b"

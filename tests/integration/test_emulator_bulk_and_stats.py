"""Bulk run creation, request stats, the journal limit and the socket setup, through the real SDK."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import oci
import pytest
from oci.data_flow import DataFlowClient as Client

from airflow_provider_dataflow.testing.credentials import TestCredentials
from airflow_provider_dataflow.testing.emulator import DataflowEmulator, EmulatorControl, EmulatorControlError
from airflow_provider_dataflow.testing.emulator.__main__ import main as emulator_main
from airflow_provider_dataflow.testing.emulator.server import EmulatorServer
from airflow_provider_dataflow.testing.emulator.settings import EmulatorSettings
from airflow_provider_dataflow.testing.emulator.state import EmulatorState

from .conftest import COMPARTMENT_ID, StateWaiter

OTHER_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaanothercompartment"


def test_bulk_runs_are_real_runs_the_sdk_reads_and_lists(
    client: Client, control: EmulatorControl, compartment_id: str
) -> None:
    ids = control.create_runs(12, compartment_id, display_name_prefix="load-", freeform_tags={"suite": "bulk"})
    assert len(set(ids)) == 12
    run = client.get_run(ids[7]).data
    assert (run.display_name, run.compartment_id, run.freeform_tags) == ("load-07", compartment_id, {"suite": "bulk"})
    assert (run.owner_principal_id, run.owner_user_name) == ("emulator-bulk", "emulator-bulk")
    assert (run.language, run.type, run.lifecycle_state) == ("PYTHON", "BATCH", "ACCEPTED")
    assert len({client.get_run(run_id).data.opc_request_id for run_id in ids[:3]}) == 3, "a request id per run"
    listed = oci.pagination.list_call_get_all_results(
        client.list_runs, compartment_id, display_name_starts_with="load-", limit=5
    ).data
    assert sorted(summary.id for summary in listed) == sorted(ids)
    assert not [entry for entry in control.journal() if entry["method"] == "POST"]  # bulk is not API traffic


def test_bulk_runs_get_behaviours_timing_and_their_application(
    client: Client, control: EmulatorControl, compartment_id: str, wait_for_state: StateWaiter
) -> None:
    control.add_behaviour(display_name_regex="^doomed-", outcome="FAILED", accepted_seconds=0, run_seconds=0.1)
    doomed = control.create_runs(3, compartment_id, display_name_prefix="doomed-")
    streams = control.create_runs(2, compartment_id, display_name_prefix="stream-", run_type="STREAMING")
    assert {wait_for_state(run_id).lifecycle_state for run_id in doomed} == {"FAILED"}
    assert {client.get_run(run_id).data.type for run_id in streams} == {"STREAMING"}
    application = client.create_application(
        oci.data_flow.models.CreateApplicationDetails(
            compartment_id=compartment_id,
            display_name="bulk-app",
            driver_shape="VM.Standard2.2",
            executor_shape="VM.Standard2.4",
            language="SCALA",
            num_executors=2,
            spark_version="3.2.1",
            file_uri="oci://b@n/app.scala",
        )
    ).data
    (from_app,) = control.create_runs(1, compartment_id, application_id=application.id)
    run = client.get_run(from_app).data
    assert (run.application_id, run.language, run.file_uri, run.total_o_cpu) == (
        application.id,
        "SCALA",
        "oci://b@n/app.scala",
        2 + 2 * 4,
    )
    assert run.display_name == "bulk-0"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"count": 0}, "count must be an integer from 1 to 100000"),
        ({"count": 2, "run_type": "NIGHTLY"}, "type must be one of BATCH, STREAMING, SESSION"),
        ({"count": 2, "execute": "oci://b@n/job.txt"}, "must be a .jar or a .py file"),
        ({"count": 2, "freeform_tags": {"team": 7}}, "freeformTags.team must be a string"),
        ({"count": 2, "application_id": "ocid1.dataflowapplication.oc1..missing"}, "RelatedResourceNotAuthorized"),
    ],
)
def test_bad_bulk_calls_name_the_field_and_create_nothing(
    control: EmulatorControl, compartment_id: str, arguments: dict[str, Any], message: str
) -> None:
    count = arguments.pop("count")
    with pytest.raises(EmulatorControlError, match=message):
        control.create_runs(count, compartment_id, **arguments)
    assert control.health()["runs"] == 0


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"count": 1, "compartmentId": COMPARTMENT_ID, "displayName": "x"}, "send displayNamePrefix instead"),
        ({"count": 1, "compartmentId": COMPARTMENT_ID, "sparkVersion": 3}, "sparkVersion must be a string"),
        ({"count": 1, "compartmentId": COMPARTMENT_ID, "bogus": True}, "bogus is not a recognized field"),
        ({"count": 1}, "compartmentId is required"),
        ({"count": "10", "compartmentId": COMPARTMENT_ID}, "count must be an integer"),
        ({"count": 1, "compartmentId": COMPARTMENT_ID, "displayNamePrefix": 5}, "displayNamePrefix must be a string"),
    ],
)
def test_bulk_payloads_are_validated_like_create_run_details(
    emulator: DataflowEmulator, payload: dict[str, Any], message: str
) -> None:
    request = urllib.request.Request(
        f"{emulator.url}/_emulator/runs/bulk", data=json.dumps(payload).encode(), method="POST"
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with pytest.raises(urllib.error.HTTPError) as raised:
        opener.open(request, timeout=5)
    assert raised.value.code == 400
    assert message in json.loads(raised.value.read())["message"]


def test_stats_count_what_was_served(client: Client, control: EmulatorControl, compartment_id: str) -> None:
    before = control.stats()
    details = oci.data_flow.models.CreateRunDetails(compartment_id=compartment_id, execute="oci://b@n/job.py")
    run = client.create_run(details).data
    control.add_fault(method="GET", status=503)
    with pytest.raises(oci.exceptions.ServiceError):
        client.get_run(run.id)  # faulted calls were still served
    client.get_run(run.id)
    control.create_runs(4, compartment_id)
    after = control.stats()
    assert after["apiRequests"] - before["apiRequests"] == 3
    assert after["controlRequests"] - before["controlRequests"] == 3  # add_fault, create_runs, this stats call
    assert after["runs"] == 5
    assert after["cpuSeconds"] >= before["cpuSeconds"] > 0
    assert after["uptimeSeconds"] > before["uptimeSeconds"] > 0
    assert after["journalEntries"] == 3
    control.reset()
    assert control.stats()["apiRequests"] == after["apiRequests"]  # counters outlive a reset


def test_the_journal_keeps_the_newest_entries_up_to_its_limit(
    client: Client, control: EmulatorControl, compartment_id: str
) -> None:
    for name in ("first", "second", "third"):
        client.list_runs(compartment_id, display_name=name)
    control.set_journal_limit(2)
    assert [entry["query"]["displayName"] for entry in control.journal()] == ["second", "third"]
    client.list_runs(compartment_id, display_name="fourth")
    assert [entry["query"]["displayName"] for entry in control.journal()] == ["third", "fourth"]
    control.set_journal_limit(0)
    client.list_runs(compartment_id)
    assert control.journal() == [] and control.stats()["journalEntries"] == 0
    with pytest.raises(EmulatorControlError, match="must not be negative"):
        control.set_journal_limit(-1)


def test_an_emulator_built_with_journal_limit_zero_records_nothing(
    credentials: TestCredentials, compartment_id: str
) -> None:
    with DataflowEmulator(journal_limit=0) as quiet:
        quiet.register_credentials(credentials)
        client = oci.data_flow.DataFlowClient(
            credentials.sdk_config(),
            service_endpoint=quiet.url,
            retry_strategy=oci.retry.NoneRetryStrategy(),
            circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
        )
        client.list_runs(compartment_id)
        assert quiet.control.journal() == []
        assert quiet.control.stats()["apiRequests"] == 1


def test_the_cli_rejects_a_negative_journal_limit(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        emulator_main(["--port", "0", "--journal-limit", "-1"])
    assert raised.value.code == 2
    assert "--journal-limit must be 0" in capsys.readouterr().err


@pytest.fixture
def many_runs(control: EmulatorControl, compartment_id: str) -> list[dict[str, Any]]:
    """3,000 runs in stable states (no state changes while a test pages through them), plus another compartment."""
    control.settings(accepted_seconds=0, run_seconds=3600)
    control.add_behaviour(display_name_regex="^waiting-", accepted_seconds=3600)
    control.add_behaviour(display_name_regex="^done-", run_seconds=0)
    control.add_behaviour(display_name_regex="^broken-", outcome="FAILED", run_seconds=0)
    for prefix, count in (("running-", 1500), ("waiting-", 700), ("done-", 500), ("broken-", 300)):
        control.create_runs(count, compartment_id, display_name_prefix=prefix)
    control.create_runs(200, OTHER_COMPARTMENT, display_name_prefix="running-")
    return [run for run in control.runs() if run["compartmentId"] == compartment_id]


def _expected(runs: list[dict[str, Any]], sort_by: str, descending: bool) -> list[str]:
    """The documented order: by the sort field, ties by id ascending."""
    by_id = sorted(runs, key=lambda run: run["id"])
    return [run["id"] for run in sorted(by_id, key=lambda run: run[sort_by], reverse=descending)]


def test_list_filters_sorts_and_pages_many_runs_as_documented(
    client: Client, compartment_id: str, many_runs: list[dict[str, Any]]
) -> None:
    in_progress = [run for run in many_runs if run["lifecycleState"] == "IN_PROGRESS"]
    assert len(in_progress) == 1500
    first = client.list_runs(compartment_id, lifecycle_state="IN_PROGRESS", limit=1000)
    second = client.list_runs(compartment_id, lifecycle_state="IN_PROGRESS", limit=1000, page=first.next_page)
    assert first.has_next_page and not second.has_next_page
    assert [s.id for s in first.data + second.data] == _expected(in_progress, "timeCreated", descending=True)

    everything = oci.pagination.list_call_get_all_results(
        client.list_runs, compartment_id, sort_by="lifecycleState", limit=1000
    ).data
    assert [s.id for s in everything] == _expected(many_runs, "lifecycleState", descending=False)

    page = client.list_runs(compartment_id, sort_by="displayName", sort_order="DESC", limit=7, page="page-14")
    assert [s.display_name for s in page.data] == [f"waiting-{i:03d}" for i in range(685, 678, -1)]
    by_id = {run["id"]: run for run in many_runs}
    for summary in page.data:
        run = by_id[summary.id]
        assert (summary.lifecycle_state, summary.compartment_id, summary.total_o_cpu, summary.data_read_in_bytes) == (
            run["lifecycleState"],
            compartment_id,
            run["totalOCpu"],
            run["dataReadInBytes"],
        )

    failed = client.list_runs(compartment_id, lifecycle_state="FAILED", sort_by="dataReadInBytes", limit=1000).data
    assert [s.id for s in failed] == _expected(
        [run for run in many_runs if run["lifecycleState"] == "FAILED"], "dataReadInBytes", descending=False
    )
    assert client.list_runs(OTHER_COMPARTMENT, limit=1000).data[0].compartment_id == OTHER_COMPARTMENT
    assert len(client.list_runs(OTHER_COMPARTMENT, limit=1000).data) == 200


@pytest.fixture
def bare_server() -> Iterator[EmulatorServer]:
    server = EmulatorServer(("127.0.0.1", 0), EmulatorState(settings=EmulatorSettings(1.0, 3.0, 0.5, 60.0)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.close()
    thread.join(timeout=5)


def test_accepted_connections_disable_nagle_and_keep_alive_framing_holds(bare_server: EmulatorServer) -> None:
    host, port = bare_server.server_address[:2]
    connection = http.client.HTTPConnection(str(host), port, timeout=5)
    try:
        connection.request("HEAD", "/no/such/route")
        head = connection.getresponse()
        assert (head.status, head.read()) == (404, b"")  # a HEAD answer announces its body but omits it
        assert int(head.headers["content-length"]) > 0
        connection.request("GET", "/_emulator/health")  # the same connection: the HEAD left nothing behind
        assert json.loads(connection.getresponse().read()) == {"status": "ok", "runs": 0}
        (accepted,) = bare_server.open_connections()
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        connection.close()

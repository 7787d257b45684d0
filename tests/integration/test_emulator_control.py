"""The control API and the command line: an emulator in another process, steered over HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import oci
import pytest
from oci.data_flow import DataFlowClient as Client

from airflow_provider_dataflow.testing.credentials import TestCredentials, generate_test_credentials
from airflow_provider_dataflow.testing.emulator import EmulatorControl, EmulatorControlError
from airflow_provider_dataflow.testing.emulator.__main__ import _parse_args

from .conftest import ClientFactory

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def emulator_process(tmp_path: Path, credentials: TestCredentials) -> Iterator[tuple[subprocess.Popen[str], str]]:
    key_file = tmp_path / "public.pem"
    key_file.write_text(credentials.public_key_pem)
    process = subprocess.Popen(
        [
            sys.executable, "-m", "airflow_provider_dataflow.testing.emulator",
            "--port", "0", "--accepted-seconds", "0.1", "--run-seconds", "0.2",
            "--public-key", f"{credentials.key_id}={key_file}",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.fullmatch(r"Data Flow emulator listening on (http://127\.0\.0\.1:(\d+))\n", line)
        assert match and match.group(2) != "0", line
        yield process, match.group(1)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


def test_the_cli_serves_the_sdk_and_stops_on_sigterm(
    emulator_process: tuple[subprocess.Popen[str], str], credentials: TestCredentials, compartment_id: str
) -> None:
    process, url = emulator_process
    control = EmulatorControl(url)
    assert control.health()["status"] == "ok"
    client = oci.data_flow.DataFlowClient(
        credentials.sdk_config(),
        service_endpoint=url,
        retry_strategy=oci.retry.NoneRetryStrategy(),
        circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
    )
    details = oci.data_flow.models.CreateRunDetails(compartment_id=compartment_id, execute="oci://b@n/job.py")
    run = client.create_run(details).data  # signed with the key passed by --public-key
    assert control.runs()[0]["id"] == run.id
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=5) == 0


def test_reset_drops_everything_but_keys_and_settings(
    client: Client, control: EmulatorControl, compartment_id: str
) -> None:
    details = oci.data_flow.models.CreateRunDetails(compartment_id=compartment_id, execute="oci://b@n/job.py")
    client.create_run(details, opc_retry_token="kept-across-reset?")
    control.settings(run_seconds=7)
    control.add_behaviour(display_name_regex="x", outcome="FAILED")
    control.add_fault(path_regex="/nothing", status=500)
    control.reset()
    assert (control.runs(), control.journal(), control.faults()) == ([], [], [])
    assert control.settings()["runSeconds"] == 7
    run = client.create_run(details, opc_retry_token="kept-across-reset?").data  # keys still trusted
    assert [r["id"] for r in control.runs()] == [run.id]


def test_keys_registered_over_http_are_trusted(
    make_client: ClientFactory, control: EmulatorControl, compartment_id: str
) -> None:
    newcomer = generate_test_credentials()
    client = make_client(newcomer)
    with pytest.raises(oci.exceptions.ServiceError):
        client.list_runs(compartment_id)
    control.register_key(newcomer.key_id, newcomer.public_key_pem, user_name="jane.doe@example.com")
    details = oci.data_flow.models.CreateRunDetails(compartment_id=compartment_id, execute="oci://b@n/job.py")
    run = client.create_run(details).data
    assert (run.owner_principal_id, run.owner_user_name) == (newcomer.user, "jane.doe@example.com")


def test_bad_control_calls_are_rejected_with_the_reason(control: EmulatorControl) -> None:
    with pytest.raises(EmulatorControlError, match="outcome must be one of SUCCEEDED, FAILED"):
        control.add_behaviour(outcome="MAYBE")
    with pytest.raises(EmulatorControlError, match="displayNameRegex is not a valid regex"):
        control.add_behaviour(display_name_regex="(")
    with pytest.raises(EmulatorControlError, match="minute_seconds must be greater than 0"):
        control.settings(minute_seconds=0)
    with pytest.raises(EmulatorControlError, match="404"):
        control.finish_run("ocid1.dataflowrun.oc1.us-ashburn-1.missing")
    with pytest.raises(EmulatorControlError, match="publicKeyPem"):
        control.register_key("some/key/id", "not a pem")


def test_behaviours_and_faults_can_be_removed_one_by_one(control: EmulatorControl) -> None:
    kept = control.add_behaviour(display_name_regex="^kept$")
    dropped = control.add_behaviour(display_name_regex="^dropped$")
    control.remove_behaviour(dropped)
    fault = control.add_fault(path_regex="/runs", status=503)
    control.remove_fault(fault)
    assert control.faults() == []
    with pytest.raises(EmulatorControlError, match="404"):
        control.remove_behaviour(dropped)
    assert kept != dropped


def test_credentials_describe_an_airflow_connection(credentials: TestCredentials) -> None:
    endpoint, compartment = "http://127.0.0.1:1", "ocid1.compartment.oc1..c"
    conn = json.loads(credentials.airflow_connection_json(endpoint, compartment, region="eu-frankfurt-1"))
    assert conn["conn_type"] == "oci_dataflow"
    assert conn["password"] == credentials.private_key_pem  # the password field is masked in task logs
    assert conn["extra"] == credentials.connection_extra(endpoint, compartment, region="eu-frankfurt-1")
    assert conn["extra"] == {
        "auth_type": "api_key",
        "region": "eu-frankfurt-1",
        "tenancy": credentials.tenancy,
        "user": credentials.user,
        "fingerprint": credentials.fingerprint,
        "service_endpoint": endpoint,
        "compartment_id": compartment,
    }
    assert re.fullmatch(r"([0-9a-f]{2}:){15}[0-9a-f]{2}", credentials.fingerprint)
    assert credentials.key_id == f"{credentials.tenancy}/{credentials.user}/{credentials.fingerprint}"
    assert credentials.tenancy.startswith("ocid1.tenancy.oc1..") and credentials.user.startswith("ocid1.user.oc1..")
    assert generate_test_credentials().private_key_pem != credentials.private_key_pem


def test_tag_namespaces_are_declared_on_the_command_line_or_over_http(control: EmulatorControl) -> None:
    parsed = _parse_args(["--port", "0", "--tag-namespace", "Operations=CostCenter,Project", "--tag-namespace", "HR="])
    assert parsed.tag_namespaces == {"Operations": ["CostCenter", "Project"], "HR": []}
    assert _parse_args(["--port", "0"]).tag_namespaces is None
    with pytest.raises(SystemExit):
        _parse_args(["--port", "0", "--tag-namespace", "Operations"])
    with pytest.raises(EmulatorControlError, match="must map to a list of key names"):
        control.set_tag_namespaces({"Operations": "CostCenter"})  # a string, not a list of keys

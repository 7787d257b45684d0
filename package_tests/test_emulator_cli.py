"""``python -m airflow_provider_dataflow.testing.emulator``: serves the real SDK, hands Airflow a connection to
it, stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import oci

from airflow_provider_dataflow.testing.credentials import generate_test_credentials

COMPARTMENT = "ocid1.compartment.oc1..emulator"


def test_the_command_line_emulator_runs_a_job_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    creds = generate_test_credentials()
    public_key = tmp_path / "public.pem"
    public_key.write_text(creds.public_key_pem)
    command = [sys.executable, "-m", "airflow_provider_dataflow.testing.emulator", "--port", "0"]
    command += ["--run-seconds", "0.3", "--accepted-seconds", "0.1", "--public-key", f"{creds.key_id}={public_key}"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        match = re.fullmatch(r"Data Flow emulator listening on (http://127\.0\.0\.1:\d+)\n", process.stdout.readline())
        assert match, "the first line names the address"
        client = oci.data_flow.DataFlowClient(
            creds.sdk_config(),
            service_endpoint=match.group(1),
            circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
        )
        run = client.create_run(
            oci.data_flow.models.CreateRunDetails(
                compartment_id=COMPARTMENT, execute="--packages a:b:1.0 oci://bucket@namespace/etl.py"
            )
        ).data
        deadline = time.monotonic() + 30
        while client.get_run(run.id).data.lifecycle_state != "SUCCEEDED":
            assert time.monotonic() < deadline, "the run never succeeded"
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=10)
    assert returncode == 0


def test_the_connection_it_writes_passes_airflow_connections_test_in_another_process(tmp_path: Path) -> None:
    connection_file = tmp_path / "emulator-connection.json"
    command = [sys.executable, "-m", "airflow_provider_dataflow.testing.emulator", "--port", "0"]
    command += ["--airflow-connection", str(connection_file)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("Data Flow emulator listening on http://127.0.0.1:")
        assert stat.S_IMODE(connection_file.stat().st_mode) == 0o600, "it holds a private key"
        # The recipe of docs/testing-your-dags.md, in a throw-away home.
        env = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")}
        env.update(
            AIRFLOW_HOME=str(tmp_path / "home"),
            AIRFLOW_CONN_OCI_DATAFLOW_DEFAULT=connection_file.read_text(),
            AIRFLOW__CORE__TEST_CONNECTION="Enabled",
            NO_PROXY="127.0.0.1,localhost",
        )
        test = [sys.executable, "-m", "airflow", "connections", "test", "oci_dataflow_default"]
        result = subprocess.run(test, env=env, capture_output=True, text=True, check=False)
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=10)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Connection success!" in result.stdout
    assert returncode == 0
    assert not connection_file.exists(), "the key is removed with the emulator"

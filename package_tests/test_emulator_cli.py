"""``python -m airflow_provider_dataflow.testing.emulator``: serves the real SDK, stops cleanly on SIGTERM."""

from __future__ import annotations

import re
import signal
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

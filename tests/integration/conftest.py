"""Fixtures that drive the real oci SDK against an in-process Data Flow emulator."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import oci
import pytest

from airflow_provider_dataflow.testing.credentials import TestCredentials, generate_test_credentials
from airflow_provider_dataflow.testing.emulator import DataflowEmulator, EmulatorControl

COMPARTMENT_ID = "ocid1.compartment.oc1..aaaaaaaaemulatortestscompartment"
TERMINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELED", "STOPPED")

ClientFactory = Callable[..., oci.data_flow.DataFlowClient]
StateWaiter = Callable[..., oci.data_flow.models.Run]


@pytest.fixture(scope="session", autouse=True)
def _local_endpoints_bypass_proxies() -> Iterator[None]:
    """A proxy from the environment would swallow calls to 127.0.0.1."""
    saved = {name: os.environ.get(name) for name in ("NO_PROXY", "no_proxy")}
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def credentials() -> TestCredentials:
    return generate_test_credentials()


@pytest.fixture
def compartment_id() -> str:
    return COMPARTMENT_ID


@pytest.fixture
def emulator(credentials: TestCredentials) -> Iterator[DataflowEmulator]:
    with DataflowEmulator(accepted_seconds=0.2, run_seconds=0.5, cancel_seconds=0.2) as running:
        running.register_credentials(credentials)
        yield running


@pytest.fixture
def control(emulator: DataflowEmulator) -> EmulatorControl:
    return emulator.control


@pytest.fixture
def make_client(emulator: DataflowEmulator, credentials: TestCredentials) -> ClientFactory:
    """Real SDK clients; no retries unless a test asks (per client or per call) and no circuit breaker."""

    def make(
        creds: TestCredentials = credentials,
        retry_strategy: Any = None,
        signer: Any = None,
    ) -> oci.data_flow.DataFlowClient:
        kwargs: dict[str, Any] = {
            "service_endpoint": emulator.url,
            "retry_strategy": retry_strategy or oci.retry.NoneRetryStrategy(),
            "circuit_breaker_strategy": oci.circuit_breaker.NoCircuitBreakerStrategy(),
            "timeout": (5, 10),
        }
        if signer is not None:
            kwargs["signer"] = signer
        return oci.data_flow.DataFlowClient(creds.sdk_config(), **kwargs)

    return make


@pytest.fixture
def client(make_client: ClientFactory) -> oci.data_flow.DataFlowClient:
    return make_client()


@pytest.fixture
def create_run(client: oci.data_flow.DataFlowClient, compartment_id: str) -> Callable[..., oci.data_flow.models.Run]:
    """Create a run from ``execute`` with CreateRunDetails keyword overrides."""

    def create(**overrides: Any) -> oci.data_flow.models.Run:
        fields = {"compartment_id": compartment_id, "execute": "oci://bucket@namespace/jobs/etl.py", **overrides}
        return client.create_run(oci.data_flow.models.CreateRunDetails(**fields)).data

    return create


@pytest.fixture
def wait_for_state(client: oci.data_flow.DataFlowClient) -> StateWaiter:
    """Poll GET /runs/{id} until the run reaches one of ``states``; returns the Run."""

    def wait(run_id: str, states: tuple[str, ...] = TERMINAL_STATES, timeout: float = 5.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            run = client.get_run(run_id).data
            if run.lifecycle_state in states:
                return run
            if time.monotonic() > deadline:
                raise AssertionError(f"run stayed {run.lifecycle_state}, expected one of {states}")
            time.sleep(0.05)

    return wait

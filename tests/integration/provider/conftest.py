"""An emulator per module and a connection to it, for tests of the provider's own code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.testing.credentials import TestCredentials, generate_test_credentials
from airflow_provider_dataflow.testing.emulator import DataflowEmulator, EmulatorControl
from airflow_provider_dataflow.testing.emulator import emulator_process as run_emulator_process

COMPARTMENT = "ocid1.compartment.oc1..emulator"


@pytest.fixture(scope="module")
def creds() -> TestCredentials:
    return generate_test_credentials()


@pytest.fixture(scope="module")
def emulator(creds: TestCredentials) -> Iterator[DataflowEmulator]:
    with DataflowEmulator(host="127.0.0.1", port=0, accepted_seconds=0.2, run_seconds=0.6) as running:
        running.register_credentials(creds)
        yield running


@pytest.fixture
def control(emulator: DataflowEmulator) -> Iterator[EmulatorControl]:
    """The emulator's control API, reset after each test (runs, faults, behaviours, journal)."""
    yield emulator.control
    emulator.control.reset()
    emulator.control.settings(accepted_seconds=0.2, run_seconds=0.6, cancel_seconds=0.5, minute_seconds=60)


@pytest.fixture
def dataflow_conn(emulator: DataflowEmulator, creds: TestCredentials, monkeypatch: pytest.MonkeyPatch) -> str:
    """``oci_dataflow_default`` pointing at the emulator, as an environment-variable connection."""
    conn_json = creds.airflow_connection_json(service_endpoint=emulator.url, compartment_id=COMPARTMENT)
    monkeypatch.setenv("AIRFLOW_CONN_OCI_DATAFLOW_DEFAULT", conn_json)
    return DataflowHook.default_conn_name


@pytest.fixture
def hook(dataflow_conn: str) -> DataflowHook:
    return DataflowHook(dataflow_conn)


def run_details(display_name: str, **overrides: Any) -> dict[str, Any]:
    return {
        "compartment_id": COMPARTMENT,
        "execute": "oci://code@namespace/job.py --day 2026-01-01",
        "display_name": display_name,
        **overrides,
    }


class FakeTaskInstance:
    """The few task-instance fields the operator reads, for calling ``execute`` outside Airflow."""

    def __init__(self, try_number: int = 1, map_index: int = -1) -> None:
        self.dag_id, self.run_id, self.task_id = "dag", "manual__2026-01-01", "spark"
        self.map_index, self.try_number = map_index, try_number
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


class MemoryStateStore:
    """Stands in for ``context["task_state_store"]``, which survives retries in a real deployment."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value


def task_context(try_number: int = 1, store: MemoryStateStore | None = None) -> dict[str, Any]:
    return {"ti": FakeTaskInstance(try_number), "task_state_store": store, "dag_run": None}


@pytest.fixture(scope="module")
def emulator_process(creds: TestCredentials) -> Iterator[str]:
    """The emulator in its own process, for measurements its threads must not distort (the GIL)."""
    with run_emulator_process(creds) as url:
        yield url

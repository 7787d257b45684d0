"""pytest plugin for testing your own DAGs against the bundled Data Flow emulator (docs/testing-your-dags.md).

Installed with the provider and loaded by pytest in every session of the environment, so importing it
does nothing but declare options and fixtures: it imports neither Airflow nor oci, and changes the
environment only when asked to (``dataflow_isolated_airflow = true`` in the pytest configuration, or
``--dataflow-isolated-airflow``). Then, before any conftest.py or test module can import Airflow, it
gives the session a throw-away AIRFLOW_HOME with its own SQLite database and no example DAGs.

Fixtures:

- ``dataflow_emulator``: the control API (``EmulatorControl``) of an emulator that runs for the whole
  session with fast run and pool timings; runs, applications, pools, behaviours and faults are dropped
  after each test (``register_pool``, ``set_ocpu_limit``: docs/emulator.md).
- ``dataflow_connection``: ``oci_dataflow_default`` pointing at that emulator with a freshly generated
  key, and every wait's poll interval capped (``[oci_dataflow] max_poll_interval``).
- ``dataflow_dag_test``: ``dataflow_dag_test(file_or_module_or_dag, dag_id=None, **dag_test_kwargs)``
  runs the DAG once with ``dag.test()`` against the emulator and returns the DagRun (needs the isolated
  home; its database is migrated once per session).
- ``dataflow_network_faults``: a ``FaultProxy`` in front of the emulator, with ``oci_dataflow_default``
  pointing at it: switch network faults on (``refuse``, ``reset_mid_response``, ``black_hole``,
  ``partition``); the network is healed after each test.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_dataflow.testing.isolated_airflow import AirflowImportedTooEarly, IsolatedAirflowHome

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun

    from airflow_provider_dataflow.testing.credentials import TestCredentials
    from airflow_provider_dataflow.testing.emulator import DataflowEmulator, EmulatorControl
    from airflow_provider_dataflow.testing.fault_proxy import FaultProxy

OPTION = "dataflow_isolated_airflow"
CONNECTION_ID = "oci_dataflow_default"
# Runs go ACCEPTED -> IN_PROGRESS -> SUCCEEDED in 0.7 s; waits poll at least every 0.2 s, whatever the DAG says.
ACCEPTED_SECONDS, RUN_SECONDS, CANCEL_SECONDS = 0.2, 0.5, 0.2
# Pools start in 0.5 s and stop (or are created, or deleted) in 0.2 s.
POOL_START_SECONDS, POOL_STOP_SECONDS = 0.5, 0.2
MAX_POLL_INTERVAL = "0.2"
LOOPBACK = "127.0.0.1,localhost"

_home_key = pytest.StashKey[IsolatedAirflowHome]()


@dataclass(frozen=True)
class EmulatorConnection:
    """The Airflow connection the fixture set, and what it points at."""

    conn_id: str
    compartment_id: str
    service_endpoint: str


def pytest_addoption(parser: pytest.Parser) -> None:
    help_text = "give this session a throw-away AIRFLOW_HOME (SQLite, no examples) before Airflow is imported"
    parser.addini(OPTION, help_text, type="bool", default=False)
    parser.addoption(f"--{OPTION.replace('_', '-')}", action="store_true", dest=OPTION, help=help_text)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Runs before conftest.py files are imported, which is the last moment before Airflow can be."""
    if not (getattr(early_config.known_args_namespace, OPTION, False) or early_config.getini(OPTION)):
        return
    home = IsolatedAirflowHome()
    try:
        home.activate()
    except AirflowImportedTooEarly as error:
        home.restore()
        raise pytest.UsageError(str(error)) from None
    early_config.stash[_home_key] = home


def pytest_unconfigure(config: pytest.Config) -> None:
    home = config.stash.get(_home_key, None)
    if home is not None:
        home.restore()


def pytest_report_header(config: pytest.Config) -> str | None:
    home = config.stash.get(_home_key, None)
    return f"dataflow: isolated AIRFLOW_HOME {home.home}" if home is not None else None


@pytest.fixture(scope="session")
def _dataflow_credentials() -> TestCredentials:
    from airflow_provider_dataflow.testing.credentials import generate_test_credentials

    return generate_test_credentials()


@pytest.fixture(scope="session")
def _dataflow_emulator_server(_dataflow_credentials: TestCredentials) -> Iterator[DataflowEmulator]:
    from airflow_provider_dataflow.testing.emulator import DataflowEmulator

    with DataflowEmulator(
        accepted_seconds=ACCEPTED_SECONDS,
        run_seconds=RUN_SECONDS,
        cancel_seconds=CANCEL_SECONDS,
        pool_start_seconds=POOL_START_SECONDS,
        pool_stop_seconds=POOL_STOP_SECONDS,
    ) as emulator:
        emulator.register_credentials(_dataflow_credentials)
        yield emulator


@pytest.fixture
def dataflow_emulator(_dataflow_emulator_server: DataflowEmulator) -> Iterator[EmulatorControl]:
    """The running emulator's control API; every test starts with no runs, applications, pools, faults or
    behaviours, and no OCPU limit."""
    control = _dataflow_emulator_server.control
    yield control
    control.reset()
    control.settings(
        accepted_seconds=ACCEPTED_SECONDS,
        run_seconds=RUN_SECONDS,
        cancel_seconds=CANCEL_SECONDS,
        minute_seconds=60.0,
        clock_offset_seconds=0.0,
    )
    control.set_compartments(None)
    control.pool_settings(start_seconds=POOL_START_SECONDS, stop_seconds=POOL_STOP_SECONDS)
    control.set_ocpu_limit(None)


@pytest.fixture
def dataflow_connection(
    dataflow_emulator: EmulatorControl, _dataflow_credentials: TestCredentials, monkeypatch: pytest.MonkeyPatch
) -> EmulatorConnection:
    """``oci_dataflow_default`` on the emulator (an ``AIRFLOW_CONN_`` variable), and waits capped at 0.2 s."""
    from airflow_provider_dataflow.testing.emulator.control import DEFAULT_COMPARTMENT_ID

    conn_json = _dataflow_credentials.airflow_connection_json(
        service_endpoint=dataflow_emulator.url, compartment_id=DEFAULT_COMPARTMENT_ID
    )
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONNECTION_ID.upper()}", conn_json)
    monkeypatch.setenv("AIRFLOW__OCI_DATAFLOW__MAX_POLL_INTERVAL", MAX_POLL_INTERVAL)
    for name in ("NO_PROXY", "no_proxy"):  # a proxy from the environment would swallow calls to 127.0.0.1
        existing = os.environ.get(name)
        monkeypatch.setenv(name, f"{LOOPBACK},{existing}" if existing else LOOPBACK)
    return EmulatorConnection(CONNECTION_ID, DEFAULT_COMPARTMENT_ID, dataflow_emulator.url)


@pytest.fixture(scope="session")
def _dataflow_fault_proxy(_dataflow_emulator_server: DataflowEmulator) -> Iterator[FaultProxy]:
    from airflow_provider_dataflow.testing.fault_proxy import FaultProxy

    with FaultProxy(_dataflow_emulator_server.url) as proxy:
        yield proxy


@pytest.fixture
def dataflow_network_faults(
    dataflow_connection: EmulatorConnection,
    _dataflow_fault_proxy: FaultProxy,
    _dataflow_credentials: TestCredentials,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[FaultProxy]:
    """A fault proxy in front of the emulator, ``oci_dataflow_default`` pointing at it; healed after each test."""
    conn_json = _dataflow_credentials.airflow_connection_json(
        service_endpoint=_dataflow_fault_proxy.url, compartment_id=dataflow_connection.compartment_id
    )
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONNECTION_ID.upper()}", conn_json)
    yield _dataflow_fault_proxy
    _dataflow_fault_proxy.heal()


@pytest.fixture(scope="session")
def dataflow_airflow_db(pytestconfig: pytest.Config) -> None:
    """The isolated home's metadata database, migrated once per session."""
    if pytestconfig.stash.get(_home_key, None) is None:
        pytest.fail(
            f"dataflow_dag_test needs a throw-away Airflow metadata database: set `{OPTION} = true` in your "
            f"pytest configuration (or pass --{OPTION.replace('_', '-')})",
            pytrace=False,
        )
    from airflow_provider_dataflow.testing.dag_runner import migrate_metadata_db

    migrate_metadata_db()


@pytest.fixture
def dataflow_dag_test(
    dataflow_airflow_db: None, dataflow_connection: EmulatorConnection, pytestconfig: pytest.Config
) -> Callable[..., DagRun]:
    """``dataflow_dag_test(target, dag_id=None, **dag_test_kwargs)`` -> the DagRun of one ``dag.test()``.

    ``target``: a DAG file (relative paths start at pytest's rootdir), a dotted module name, or a DAG.
    """
    from airflow_provider_dataflow.testing.dag_runner import run_dag_test

    def run(target: Any, *, dag_id: str | None = None, **test_kwargs: Any) -> DagRun:
        return run_dag_test(target, dag_id=dag_id, rootdir=pytestconfig.rootpath, **test_kwargs)

    return run

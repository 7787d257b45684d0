"""One Data Flow emulator and one real Airflow stack for the whole session of system tests, plus the
production topology (``production_stack``) for the tests that need it (the chaos soak).

A stack takes ~30 s to start on two cores, so every system test shares it: give each test its own DAG run
(and its own DAG if it changes emulator behaviour). The stack's dags folder is a temporary directory of
symlinks to ``example_dags/*.py`` and ``tests/system/dags/*.py``, so edits to those files are seen.
When a test that uses the stack fails, the tail of every component's log is attached to its report.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from airflow_provider_dataflow.testing.airflow_stack import AirflowStack, ProductionStack
    from airflow_provider_dataflow.testing.credentials import TestCredentials
    from airflow_provider_dataflow.testing.emulator import DataflowEmulator
    from airflow_provider_dataflow.testing.principals import PrincipalServices

    from ..auth_modes import ModeSetup

REPO = Path(__file__).resolve().parents[2]
DAG_SOURCES = (REPO / "example_dags", Path(__file__).parent / "dags")
COMPARTMENT_ID = "ocid1.compartment.oc1..emulator"


@pytest.fixture(scope="session")
def creds() -> TestCredentials:
    _skip_without_airflow()
    from airflow_provider_dataflow.testing.credentials import generate_test_credentials

    return generate_test_credentials()


@pytest.fixture(scope="session")
def emulator(creds: TestCredentials) -> Iterator[DataflowEmulator]:
    from airflow_provider_dataflow.testing.emulator import DataflowEmulator

    # Runs last ~10 s: a deferred task whose trigger fires within a few seconds can hit an Airflow 3.3
    # scheduler race on a loaded machine (the executor's report of the deferring exit arrives after the
    # resumed task was queued again, and the task is failed). Real Data Flow runs take minutes.
    with DataflowEmulator(host="127.0.0.1", port=0, accepted_seconds=2.0, run_seconds=8.0) as running:
        running.register_credentials(creds)
        yield running


def _dags_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dags = tmp_path_factory.mktemp("dags")
    for source in DAG_SOURCES:
        for dag_file in sorted(source.glob("*.py")):
            (dags / dag_file.name).symlink_to(dag_file)
    return dags


@pytest.fixture(scope="session")
def openlineage_events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the stack's OpenLineage listener writes every event it emits (file transport)."""
    return tmp_path_factory.mktemp("openlineage") / "events.jsonl"


@pytest.fixture(scope="session")
def principals(emulator: DataflowEmulator) -> Iterator[PrincipalServices]:
    """The credential services for principal signers, beside the session's emulator (this process)."""
    from airflow_provider_dataflow.testing.principals import PrincipalServices

    with PrincipalServices(emulator) as services:
        yield services


@pytest.fixture(scope="session")
def auth_modes(
    emulator: DataflowEmulator,
    creds: TestCredentials,
    principals: PrincipalServices,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, ModeSetup]:
    """A connection ``oci_dataflow_<auth_type>`` per auth mode, for the session stack.

    Resource principals run as version 3.0 here: 2.2 needs OCI_RESOURCE_PRINCIPAL_VERSION=2.2 in the same
    processes (test_principal_auth_system.py starts a stack of its own for it).
    """
    from ..auth_modes import MODES, RESOURCE_PRINCIPAL_V2_2, mode_setup

    directory = tmp_path_factory.mktemp("auth-modes")
    return {
        mode: mode_setup(
            mode,
            endpoint=emulator.url,
            compartment_id=COMPARTMENT_ID,
            region=emulator.state.region,
            creds=creds,
            principals=principals,
            directory=directory / mode,
            register_key=emulator.control.register_key,
        )
        for mode in MODES
        if mode != RESOURCE_PRINCIPAL_V2_2
    }


@pytest.fixture(scope="session")
def stack(
    emulator: DataflowEmulator,
    creds: TestCredentials,
    auth_modes: dict[str, ModeSetup],
    openlineage_events: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AirflowStack]:
    """Airflow with ``oci_dataflow_default`` pointing at the emulator, and a connection per auth mode with
    every principal mode's variables (they do not conflict); stopped at the end of the session."""
    from airflow_provider_dataflow.testing.airflow_stack import AirflowStack

    from ..auth_modes import stack_environment

    dags = _dags_folder(tmp_path_factory)
    conn_json = creds.airflow_connection_json(service_endpoint=emulator.url, compartment_id=COMPARTMENT_ID)
    with AirflowStack(
        home=tmp_path_factory.mktemp("airflow-home"),
        dags_folder=dags,
        env={
            **stack_environment(auth_modes.values()),
            "AIRFLOW_CONN_OCI_DATAFLOW_DEFAULT": conn_json,
            "AIRFLOW_CONN_OCI_DATAFLOW_WITH_PASSPHRASE": _with_passphrase(conn_json),
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {"type": "file", "log_file_path": str(openlineage_events), "append": True}
            ),
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "system-tests",
            "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
            # Only DAGs that call enable_lineage() emit events, so the other tests' load stays as it was.
            "AIRFLOW__OPENLINEAGE__SELECTIVE_ENABLE": "True",
            # Log streaming (test_log_streaming.py): the emulator's lines are ingested within 2 s, and a killed
            # triggerer's successor continues from the last batch shown (the cursor is saved with each one).
            "AIRFLOW__OCI_DATAFLOW__LOG_DRAIN_SECONDS": "5",
            "AIRFLOW__OCI_DATAFLOW__LOG_CURSOR_SAVE_SECONDS": "0",
        },
        extra_config={
            # A killed triggerer's triggers move to a new one once it is this many seconds silent.
            "triggerer.triggerer_health_check_threshold": "10",
            # The Test button, `airflow connections test` and connection tests queued to a worker.
            "core.test_connection": "Enabled",
        },
    ).start(timeout=180) as running:
        yield running


@pytest.fixture(scope="module")  # not kept up beside the SQLite stack's tests: SQLite locks under that load
def production_stack(
    emulator: DataflowEmulator, creds: TestCredentials, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProductionStack]:
    """PostgreSQL, Celery (two workers), two schedulers, two triggerers, api-server and dag-processor, with
    ``oci_dataflow_default`` pointing at the emulator; skipped where PostgreSQL or Redis is not installed."""
    from airflow_provider_dataflow.testing.airflow_stack import ProductionStack
    from airflow_provider_dataflow.testing.airflow_stack.database import postgres_bin_dir

    if postgres_bin_dir() is None or shutil.which("redis-server") is None:
        pytest.skip("needs Debian's postgresql and redis-server (apt-get install postgresql redis-server)")
    conn_json = creds.airflow_connection_json(service_endpoint=emulator.url, compartment_id=COMPARTMENT_ID)
    with ProductionStack(
        home=tmp_path_factory.mktemp("airflow-production-home"),
        dags_folder=_dags_folder(tmp_path_factory),
        env={"AIRFLOW_CONN_OCI_DATAFLOW_DEFAULT": conn_json},
        extra_config={
            # A killed triggerer's triggers move to another one once it is this many seconds silent. Not
            # lower on a loaded machine: a live triggerer whose heartbeat lags past it loses its triggers
            # too, and they bounce between triggerers (test_triggerer_freeze.py covers that case).
            "triggerer.triggerer_health_check_threshold": "30",
            # A task whose worker died is failed (and retried) after this many seconds without a heartbeat.
            "scheduler.task_instance_heartbeat_timeout": "20",
            # Tasks a killed worker had taken from Redis but not started go back to the queue this soon.
            "celery_broker_transport_options.visibility_timeout": "60",
        },
    ).start(timeout=240) as running:
        yield running


@pytest.fixture(autouse=True)
def _faults_end_with_their_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Emulator faults are one test's weather: a test that fails before its faults were used up must not
    pass them on to the next test (a dropped create there looks like a duplicate submit)."""
    yield
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").control.clear_faults()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the components' log tails to the report of a failed test that used the stack."""
    report = yield
    funcargs = getattr(item, "funcargs", {})
    running = funcargs.get("stack") or funcargs.get("production_stack")
    if report.failed and running is not None:
        report.sections.append(("Airflow component logs", running.log_tails()))
    return report


PASSPHRASE = "correct-horse-battery-staple-42"


def _with_passphrase(conn_json: str) -> str:
    """The same connection with a passphrase extra, for the secrets-masking test."""
    conn = json.loads(conn_json)
    conn["extra"]["passphrase"] = PASSPHRASE
    return json.dumps(conn)


def _skip_without_airflow() -> None:
    """The harness's own imports (httpx, cryptography) come with Airflow, so fixtures import them lazily."""
    if importlib.util.find_spec("airflow") is None:
        pytest.skip("apache-airflow is not installed")

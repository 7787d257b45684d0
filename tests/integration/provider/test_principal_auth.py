"""Every auth mode over HTTP through the provider: the hook, the triggers in this process and ``dag.test()``.

Tokens live seconds (``auth_modes.LIFETIME_SECONDS``), so a wait of a few seconds spans several refreshes.
The credential services (``testing.principals``) issue real expiring tokens to the SDK's own signers; the
emulator refuses a token once it has expired. "Failed calls" are Data Flow calls whose error reached the
provider (``DataflowHook.call``/``acall`` raised): the 401s the SDK answers with a refresh and a retry are
not failures, and the journal shows them.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dataflow.exceptions import DataflowRequestRejectedError, DataflowServiceError
from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator
from airflow_provider_dataflow.testing.credentials import TestCredentials
from airflow_provider_dataflow.testing.emulator import DataflowEmulator, EmulatorControl
from airflow_provider_dataflow.testing.principals import PrincipalService, PrincipalServices
from airflow_provider_dataflow.triggers.dataflow import DataflowRunTrigger

from ...auth_modes import (
    INSTANCE_PRINCIPAL,
    LIFETIME_SECONDS,
    MODES,
    RESOURCE_PRINCIPAL_V2_2,
    RESOURCE_PRINCIPAL_V3,
    SECURITY_TOKEN,
    TOKEN_SERVICE,
    WORKLOAD_IDENTITY,
    ModeSetup,
    auth_type,
    clean_signer_environment,
    mode_setup,
    shorten_lifetimes,
)
from .conftest import COMPARTMENT, run_details, task_context

EXAMPLE_DAGS = Path(__file__).resolve().parents[3] / "example_dags"
WAIT_SECONDS = 3 * (LIFETIME_SECONDS + 1) + 0.5  # a run lasts this long: three token lifetimes at least
POLL_SECONDS = 0.3
TIME_BOUND_SECONDS = 60.0  # generous: the measured figures are printed


@pytest.fixture(scope="module")
def principals(emulator: DataflowEmulator) -> Iterator[PrincipalServices]:
    with PrincipalServices(emulator) as services:
        yield services


@pytest.fixture(autouse=True)
def _fresh_services(principals: PrincipalServices, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Short waits between polls and snapshots; the services as new after each test."""
    monkeypatch.setenv("AIRFLOW__OCI_DATAFLOW__MAX_POLL_INTERVAL", str(POLL_SECONDS))
    monkeypatch.setenv("AIRFLOW__OCI_DATAFLOW__SHARED_WATCH_MIN_INTERVAL", str(POLL_SECONDS))
    yield
    for service in PrincipalService:
        principals.refuse(service, None)
        if service is not PrincipalService.INSTANCE_METADATA:
            principals.set_token_lifetime(service, 3600)


Connect = Callable[[str], tuple[str, ModeSetup]]


@pytest.fixture
def connect(
    emulator: DataflowEmulator,
    creds: TestCredentials,
    principals: PrincipalServices,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Connect]:
    """A new connection for a mode (a new id, so the process builds a new signer), its variables set here."""
    setups: list[ModeSetup] = []

    def connect(mode: str) -> tuple[str, ModeSetup]:
        for name in clean_signer_environment(os.environ):
            monkeypatch.delenv(name)
        setup = mode_setup(
            mode,
            endpoint=emulator.url,
            compartment_id=COMPARTMENT,
            region=emulator.state.region,
            creds=creds,
            principals=principals,
            directory=tmp_path / mode,
            register_key=emulator.control.register_key,
        )
        for name, value in setup.env.items():
            monkeypatch.setenv(name, value)
        conn_id = f"{mode}_{uuid.uuid4().hex[:8]}"
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", setup.connection_json())
        setups.append(setup)
        return conn_id, setup

    yield connect
    for setup in setups:
        if setup.session is not None:
            setup.session.stop()


@dataclass
class CallLog:
    """Data Flow calls the provider made (both paths), and the errors that reached it."""

    calls: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, error: BaseException | None) -> None:
        with self.lock:
            self.calls += 1
            if error is not None:
                self.failures.append(str(error))


@pytest.fixture
def call_log(monkeypatch: pytest.MonkeyPatch) -> CallLog:
    log = CallLog()
    call, acall = DataflowHook.call, DataflowHook.acall

    def counted_call(self: DataflowHook, operation: Any, **kwargs: Any) -> Any:
        try:
            result = call(self, operation, **kwargs)
        except DataflowServiceError as error:
            log.count(error)
            raise
        log.count(None)
        return result

    async def counted_acall(self: DataflowHook, operation: Any) -> Any:
        try:
            result = await acall(self, operation)
        except DataflowServiceError as error:
            log.count(error)
            raise
        log.count(None)
        return result

    monkeypatch.setattr(DataflowHook, "call", counted_call)
    monkeypatch.setattr(DataflowHook, "acall", counted_acall)
    return log


@pytest.fixture(scope="module")
def dag_bag() -> Any:
    """The example DAGs, with a migrated metadata database in the session's AIRFLOW_HOME."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # before Airflow 3.2
        from airflow.models.dagbag import DagBag

    return DagBag(dag_folder=str(EXAMPLE_DAGS))


@dataclass(frozen=True)
class Refreshes:
    tokens_used: int  # distinct key ids Data Flow accepted
    answered_401: int  # calls the SDK answered with a refresh and one retry
    tokens_expired: int  # distinct key ids Data Flow refused (they had expired): each asks for one refresh

    @property
    def seen(self) -> int:
        return max(0, self.tokens_used - 1)


def _refreshes(control: EmulatorControl) -> Refreshes:
    journal = control.journal()
    accepted = {entry["key_id"] for entry in journal if entry["status"] < 400}
    refused = [entry["key_id"] for entry in journal if entry["status"] == 401]
    return Refreshes(len(accepted), len(refused), len(set(refused)))


def _start_session_refreshes(setup: ModeSetup) -> None:
    if setup.session is not None:
        setup.session.keep_refreshing(pause=0.05)  # the file stays empty for 50 ms each time


def _operator(conn_id: str, name: str, **kwargs: Any) -> DataflowInvokeRunOperator:
    return DataflowInvokeRunOperator(
        task_id=name,
        oci_conn_id=conn_id,
        display_name=name,
        execute="oci://code@namespace/job.py",
        poll_interval=POLL_SECONDS,
        **kwargs,
    )


@pytest.mark.parametrize("mode", MODES)
def test_a_deferred_and_a_synchronous_wait_survive_every_refresh(
    mode: str,
    connect: Connect,
    principals: PrincipalServices,
    control: EmulatorControl,
    call_log: CallLog,
    dag_bag: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``dag.test()`` defers (the trigger runs inline) while a synchronous wait runs beside it, one signer."""
    shorten_lifetimes(principals)
    conn_id, setup = connect(mode)
    control.add_behaviour(display_name_regex=f"^{conn_id}", run_seconds=WAIT_SECONDS)
    _start_session_refreshes(setup)
    dag = dag_bag.get_dag("example_dataflow_quickstart")
    task = dag.get_task("word_count")
    for name, value in {"oci_conn_id": conn_id, "display_name": f"{conn_id}-deferred", "deferrable": True}.items():
        monkeypatch.setattr(task, name, value)
    synchronous: dict[str, Any] = {}

    def wait_synchronously() -> None:
        try:
            synchronous["run"] = _operator(conn_id, f"{conn_id}-sync", deferrable=False).execute(task_context())
        except Exception as error:  # reported by the assertion below
            synchronous["error"] = error

    control.clear_journal()
    started = time.monotonic()
    worker = threading.Thread(target=wait_synchronously)
    worker.start()
    dag_run = dag.test()
    worker.join(timeout=120)
    elapsed = time.monotonic() - started

    refreshes = _refreshes(control)
    print(
        f"\n{mode}: {elapsed:.1f} s, {call_log.calls} calls, {len(call_log.failures)} failed, "
        f"{refreshes.seen} refreshes seen ({refreshes.answered_401} calls answered 401 and retried by the SDK)"
    )
    assert dag_run.state == "success"
    assert synchronous.get("run", {}).get("state") == "SUCCEEDED", synchronous
    assert call_log.failures == []
    assert {run["lifecycleState"] for run in control.runs()} == {"SUCCEEDED"}
    if mode not in ("api_key", "config_file"):
        assert refreshes.seen >= 3, refreshes


@pytest.mark.parametrize("mode", [*TOKEN_SERVICE, SECURITY_TOKEN])
def test_triggers_and_threads_sharing_a_connection_refresh_once_per_expiry(
    mode: str, connect: Connect, principals: PrincipalServices, control: EmulatorControl, call_log: CallLog
) -> None:
    """Six triggers (enough for the shared watcher's snapshots) and four worker threads on one connection."""
    shorten_lifetimes(principals)
    conn_id, setup = connect(mode)
    hook = DataflowHook(conn_id)
    control.add_behaviour(display_name_regex="^shared-", run_seconds=WAIT_SECONDS)
    runs = [hook.create_run(run_details(f"shared-{i}")) for i in range(6)]
    _start_session_refreshes(setup)
    service = TOKEN_SERVICE.get(mode)
    issued_before = principals.issued(service) if service else 0
    control.clear_journal()
    done = threading.Event()

    def poll_from_a_worker_thread() -> None:
        while not done.is_set():
            DataflowHook(conn_id).get_run(runs[0]["id"])
            time.sleep(0.05)

    async def wait_in_triggers() -> list[dict[str, Any]]:
        async def first(trigger: DataflowRunTrigger) -> dict[str, Any]:
            async for event in trigger.run():
                return event.payload
            raise AssertionError("the trigger ended without an event")

        triggers = [
            DataflowRunTrigger(run["id"], conn_id, poll_interval=POLL_SECONDS, compartment_id=COMPARTMENT)
            for run in runs
        ]
        return await asyncio.wait_for(asyncio.gather(*(first(trigger) for trigger in triggers)), 60)

    threads = [threading.Thread(target=poll_from_a_worker_thread) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        payloads = asyncio.run(wait_in_triggers())
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=30)

    refreshes = _refreshes(control)
    issued = principals.issued(service) - issued_before if service else refreshes.seen
    lists = sum(1 for entry in control.journal() if entry["path"].endswith("/runs"))
    print(
        f"\n{mode}: {call_log.calls} calls ({lists} list snapshots), {len(call_log.failures)} failed, "
        f"{refreshes.seen} refreshes, {issued} tokens issued, {refreshes.answered_401} answered 401 "
        f"({refreshes.tokens_expired} tokens)"
    )
    assert {payload["run"]["state"] for payload in payloads} == {"SUCCEEDED"}
    assert call_log.failures == []
    assert lists > 0, "the triggers shared list snapshots"
    assert refreshes.seen >= 3, refreshes
    if mode == INSTANCE_PRINCIPAL:  # renewed ahead of expiry, under the SDK's lock: Data Flow never refuses
        assert refreshes.answered_401 == 0 and issued <= refreshes.seen + 1
    elif mode != SECURITY_TOKEN:  # renewed after a 401: one token request per expired token, however many
        assert issued <= refreshes.tokens_expired + 1, "one token request per refresh, not one per caller"


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# What makes a mode's credential service unreachable (or, where the SDK cannot be bounded, refuse) before
# the first call; and what the error must point at.
UNREACHABLE: dict[str, tuple[Callable[[PrincipalServices, pytest.MonkeyPatch], None], str]] = {
    INSTANCE_PRINCIPAL: (
        lambda _p, env: env.setenv("OCI_METADATA_BASE_URL", f"http://127.0.0.1:{_closed_port()}/opc/v2"),
        "OCI_METADATA_BASE_URL",
    ),
    WORKLOAD_IDENTITY: (
        lambda _p, env: env.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1"),  # nothing listens on port 12250
        "KUBERNETES_SERVICE_HOST",
    ),
    RESOURCE_PRINCIPAL_V2_2: (
        lambda _p, env: env.setenv("OCI_RESOURCE_PRINCIPAL_RPST", "/nonexistent/rpst"),
        "OCI_RESOURCE_PRINCIPAL_RPST (file /nonexistent/rpst",
    ),
    # Unreachable, the 3.0 endpoints cost the SDK's own ~94 s (no retry strategy can be passed): refuse.
    RESOURCE_PRINCIPAL_V3: (
        lambda services, _env: services.refuse(PrincipalService.RESOURCE_PRINCIPAL_SESSION_TOKEN, 401),
        "OCI_RESOURCE_PRINCIPAL_RPST_ENDPOINT_FOR_PARENT_RESOURCE",
    ),
}


@pytest.mark.parametrize("mode", list(UNREACHABLE))
def test_an_unreachable_credential_service_fails_the_task_naming_the_mode_without_fallback(
    mode: str,
    connect: Connect,
    creds: TestCredentials,
    principals: PrincipalServices,
    control: EmulatorControl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The connection also carries a working API key: it must not be used instead."""
    conn_id, setup = connect(mode)
    with_api_key = {**creds.connection_extra(setup.extra["service_endpoint"], COMPARTMENT), **setup.extra}
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", ModeSetup(mode, with_api_key, creds.private_key_pem).connection_json()
    )
    break_service, check = UNREACHABLE[mode]
    break_service(principals, monkeypatch)
    control.clear_journal()

    started = time.monotonic()
    with pytest.raises(DataflowServiceError) as raised:
        _operator(conn_id, "never-created").execute(task_context())
    elapsed = time.monotonic() - started

    message = str(raised.value)
    print(f"\n{mode}: failed after {elapsed:.1f} s: {message}")
    assert f"auth_type {auth_type(mode)}" in message and check in message
    iam_policy = "principal.type = 'workload'" if mode == WORKLOAD_IDENTITY else "matched by a dynamic group"
    assert iam_policy in message, "the IAM policy the mode needs"
    assert not raised.value.transient
    assert elapsed < TIME_BOUND_SECONDS
    assert control.journal() == [], "nothing reached Data Flow, signed by another mode or otherwise"


# A credential service refusing once the wait runs; and what the error must point at.
REFUSING_MID_WAIT = {
    INSTANCE_PRINCIPAL: (PrincipalService.FEDERATION, "federation_endpoint"),
    RESOURCE_PRINCIPAL_V3: (PrincipalService.RESOURCE_PRINCIPAL_SESSION_TOKEN, "FOR_PARENT_RESOURCE"),
    WORKLOAD_IDENTITY: (PrincipalService.WORKLOAD_IDENTITY, "service_account_token_path"),
    # The platform stops renewing the token file: Data Flow refuses the expired token it still holds.
    RESOURCE_PRINCIPAL_V2_2: (PrincipalService.RESOURCE_PRINCIPAL_V2_2, "OCI_RESOURCE_PRINCIPAL_RPST (file"),
}


@pytest.mark.parametrize("mode", list(REFUSING_MID_WAIT))
def test_a_credential_service_refusing_during_a_deferred_wait_fails_it_naming_the_mode(
    mode: str,
    connect: Connect,
    principals: PrincipalServices,
    control: EmulatorControl,
) -> None:
    shorten_lifetimes(principals)
    conn_id, _setup = connect(mode)
    control.add_behaviour(display_name_regex="^refused", run_seconds=60)
    run = DataflowHook(conn_id).create_run(run_details("refused"))
    service, check = REFUSING_MID_WAIT[mode]
    principals.refuse(service, 401)

    async def wait() -> dict[str, Any]:
        trigger = DataflowRunTrigger(run["id"], conn_id, poll_interval=POLL_SECONDS, compartment_id=COMPARTMENT)
        async for event in trigger.run():
            return event.payload
        raise AssertionError("the trigger ended without an event")

    started = time.monotonic()
    payload = asyncio.run(asyncio.wait_for(wait(), 90))
    elapsed = time.monotonic() - started
    with pytest.raises(DataflowRequestRejectedError) as raised:
        _operator(conn_id, "spark").execute_complete(task_context(), payload)

    message = str(raised.value)
    print(f"\n{mode}: the wait failed after {elapsed:.1f} s: {message}")
    assert f"auth_type {auth_type(mode)}" in message and check in message
    assert elapsed < TIME_BOUND_SECONDS

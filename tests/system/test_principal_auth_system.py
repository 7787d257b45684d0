"""Every auth mode on a real Airflow: waits in the triggerer and on workers through token refreshes, the
shared watcher under the same refreshes, and the connection test queued to a worker.

The session stack carries a connection per mode and every principal mode's variables at once (they do not
conflict), with the credential services running in this process beside the emulator. Resource principals
2.2 need ``OCI_RESOURCE_PRINCIPAL_VERSION=2.2`` where the session stack has 3.0, so they get a stack of
their own at the end of this module. Tokens live seconds: runs of ~10 s span at least three lifetimes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from airflow_provider_dataflow.testing.airflow_stack import AirflowStack
from airflow_provider_dataflow.testing.credentials import TestCredentials
from airflow_provider_dataflow.testing.emulator import DataflowEmulator
from airflow_provider_dataflow.testing.principals import PrincipalService, PrincipalServices

from ..auth_modes import (
    INSTANCE_PRINCIPAL,
    LIFETIME_SECONDS,
    RESOURCE_PRINCIPAL_V2_2,
    RESOURCE_PRINCIPAL_V3,
    SECURITY_TOKEN,
    TOKEN_SERVICE,
    WORKLOAD_IDENTITY,
    ModeSetup,
    auth_type,
    mode_setup,
    shorten_lifetimes,
    stack_environment,
)
from .conftest import COMPARTMENT_ID, _dags_folder
from .waiting import wait_for

pytestmark = pytest.mark.system

RUN_SECONDS = 4 * (LIFETIME_SECONDS + 1) + 1  # over three token lifetimes (exp is whole seconds), under load too
SHARED_RUN_SECONDS = 300.0  # ended by the test once the triggerer has been measured
MEASURE_SECONDS = 3 * (LIFETIME_SECONDS + 1) + 1
TOKEN_MODES = tuple(TOKEN_SERVICE)
SHARED_WAITS = 5  # mapped tasks per mode in system_auth_<mode>_shared: [oci_dataflow] shared_watch_min_runs


@pytest.fixture
def short_lifetimes(principals: PrincipalServices, auth_modes: dict[str, ModeSetup]) -> Iterator[None]:
    """Tokens live seconds; the session token file is renewed the way `oci session refresh` does it."""
    shorten_lifetimes(principals)
    session = auth_modes[SECURITY_TOKEN].session
    assert session is not None
    session.keep_refreshing(pause=0.05)
    yield
    session.stop()
    for service in PrincipalService:
        if service is not PrincipalService.INSTANCE_METADATA:
            principals.set_token_lifetime(service, 3600)


def _key_ids_seen(emulator: DataflowEmulator, run_id: str) -> tuple[set[str], int]:
    """Key ids Data Flow accepted on reads of one run, and how many of those reads it answered 401."""
    reads = [entry for entry in emulator.control.journal() if entry["path"].endswith(f"/runs/{run_id}")]
    return {entry["key_id"] for entry in reads if entry["status"] < 400}, sum(1 for e in reads if e["status"] == 401)


def _wait_in_every_mode(
    stack: AirflowStack, emulator: DataflowEmulator, modes: Iterable[str], prefix: str
) -> dict[str, dict[str, tuple[int, int]]]:
    """Run each mode's DAG at once and return, per mode and task, (refreshes seen, reads answered 401)."""
    api = stack.api
    emulator.control.add_behaviour(display_name_regex=f"^{prefix}-", run_seconds=RUN_SECONDS)
    dag_runs = {
        mode: (
            f"system_auth_{auth_type(mode)}",
            api.trigger_dag(f"system_auth_{auth_type(mode)}", conf={"prefix": f"{prefix}-{mode}"}),
        )
        for mode in modes
    }
    states: dict[tuple[str, str], set[str]] = {}

    def all_ended() -> bool:
        ended = True
        for mode, (dag_id, run_id) in dag_runs.items():
            for ti in api.task_instances(dag_id, run_id):
                states.setdefault((mode, ti["task_id"]), set()).add(ti["state"])
            ended = ended and api.dag_run(dag_id, run_id)["state"] in ("success", "failed")
        return ended

    wait_for(all_ended, 240, "every mode's DAG run to end", every=0.5)
    seen: dict[str, dict[str, tuple[int, int]]] = {}
    for mode, (dag_id, run_id) in dag_runs.items():
        failed_logs = {
            ti["task_id"]: api.task_log(dag_id, run_id, ti["task_id"], try_number=1)[-3000:]
            for ti in api.task_instances(dag_id, run_id)
            if ti["state"] == "failed"
        }
        assert api.dag_run(dag_id, run_id)["state"] == "success", (mode, states, failed_logs)
        assert "deferred" in states[(mode, "deferred")] and "deferred" not in states[(mode, "synchronous")]
        seen[mode] = {}
        for task in ("deferred", "synchronous"):
            log = api.task_log(dag_id, run_id, task, try_number=1)
            assert "Transient error" not in log, log[-3000:]
            keys, refused = _key_ids_seen(emulator, api.xcom(dag_id, run_id, task)["id"])
            seen[mode][task] = (len(keys) - 1, refused)
    print(f"\nrefreshes seen, reads answered 401 (and retried by the SDK), per mode and task: {seen}")
    return seen


def test_every_mode_waits_through_token_refreshes_in_the_triggerer_and_on_a_worker(
    stack: AirflowStack, emulator: DataflowEmulator, short_lifetimes: None
) -> None:
    modes = ("api_key", "config_file", SECURITY_TOKEN, INSTANCE_PRINCIPAL, RESOURCE_PRINCIPAL_V3, WORKLOAD_IDENTITY)
    seen = _wait_in_every_mode(stack, emulator, modes, "auth-waits")
    for mode in (SECURITY_TOKEN, *TOKEN_MODES):
        for task, (refreshes, _refused) in seen[mode].items():
            assert refreshes >= 3, (mode, task, refreshes)


def test_shared_watcher_waits_refresh_once_per_expiry_in_the_triggerer(
    stack: AirflowStack, emulator: DataflowEmulator, principals: PrincipalServices, short_lifetimes: None
) -> None:
    """Five deferred tasks per principal mode on one connection: only the triggerer calls Data Flow while it is
    measured, and it asks for one token per expired token, not one per trigger or thread."""
    api = stack.api
    emulator.control.add_behaviour(display_name_regex="^auth-shared-", run_seconds=SHARED_RUN_SECONDS)
    runs = {
        mode: api.trigger_dag(f"system_auth_{auth_type(mode)}_shared", conf={"prefix": f"auth-shared-{mode}"})
        for mode in TOKEN_MODES
    }

    def all_deferred() -> bool:
        states = [
            ti["state"]
            for mode, run_id in runs.items()
            for ti in api.task_instances(f"system_auth_{auth_type(mode)}_shared", run_id)
        ]
        return states == ["deferred"] * SHARED_WAITS * len(runs)

    started = time.monotonic()
    wait_for(all_deferred, 240, "every mapped task to defer")
    print(f"\n{SHARED_WAITS * len(runs)} mapped tasks deferred within {time.monotonic() - started:.0f} s")
    issued_before = {mode: principals.issued(TOKEN_SERVICE[mode]) for mode in TOKEN_MODES}
    emulator.control.clear_journal()
    time.sleep(MEASURE_SECONDS)
    assert all_deferred(), "the runs outlast the measurement"
    journal = emulator.control.journal()
    figures = {}
    for mode in TOKEN_MODES:
        principal = _principal_of(emulator, f"auth-shared-{mode}-")
        calls = [entry for entry in journal if entry.get("principal_id") == principal]
        expired = {entry["key_id"] for entry in calls if entry["status"] == 401}
        used = {entry["key_id"] for entry in calls if entry["status"] < 400}
        issued = principals.issued(TOKEN_SERVICE[mode]) - issued_before[mode]
        lists = sum(1 for entry in calls if entry["path"].endswith("/runs"))
        figures[mode] = {"calls": len(calls), "lists": lists, "used": len(used), "expired": len(expired)}
        figures[mode]["issued"] = issued
        assert lists > 0, (mode, "the triggers shared list snapshots")
        assert len(used) >= 3, (mode, figures[mode])
        if mode == INSTANCE_PRINCIPAL:
            assert not expired and issued <= len(used), figures[mode]
        else:
            assert issued <= len(expired) + 1, figures[mode]
    print(f"\nthe triggerer over {MEASURE_SECONDS:.0f} s, per mode: {figures}")
    for run in emulator.control.runs():
        if run["displayName"].startswith("auth-shared-") and run["lifecycleState"] in ("ACCEPTED", "IN_PROGRESS"):
            emulator.control.finish_run(run["id"])
    for mode, run_id in runs.items():
        assert api.wait_for_dag_run(f"system_auth_{auth_type(mode)}_shared", run_id, timeout=120) == "success"


def _principal_of(emulator: DataflowEmulator, display_name_prefix: str) -> str:
    """The principal a connection's calls are made as: the owner of the runs it created."""
    runs = [run for run in emulator.control.runs() if run["displayName"].startswith(display_name_prefix)]
    owners = {run["ownerPrincipalId"] for run in runs}
    assert len(owners) == 1, owners
    return owners.pop()


# The service that renews each principal mode's token, and what the task's error must point at.
REFUSING = {
    INSTANCE_PRINCIPAL: (PrincipalService.FEDERATION, "federation_endpoint"),
    RESOURCE_PRINCIPAL_V3: (PrincipalService.RESOURCE_PRINCIPAL_SESSION_TOKEN, "FOR_PARENT_RESOURCE"),
    WORKLOAD_IDENTITY: (PrincipalService.WORKLOAD_IDENTITY, "service_account_token_path"),
}


def test_a_credential_service_refusing_mid_wait_fails_the_tasks_naming_the_mode(
    stack: AirflowStack, emulator: DataflowEmulator, principals: PrincipalServices, short_lifetimes: None
) -> None:
    """Once every wait runs (in the triggerer and on a worker), each mode's token service refuses."""
    api = stack.api
    emulator.control.add_behaviour(display_name_regex="^auth-refused-", run_seconds=300)
    dag_runs = {
        mode: (
            f"system_auth_{auth_type(mode)}",
            api.trigger_dag(f"system_auth_{auth_type(mode)}", conf={"prefix": f"auth-refused-{mode}"}),
        )
        for mode in REFUSING
    }
    for dag_id, run_id in dag_runs.values():
        api.wait_for_task_state(dag_id, run_id, "deferred", "deferred", timeout=120)
        api.wait_for_task_state(dag_id, run_id, "synchronous", "running", timeout=120)
    try:
        for service, _check in REFUSING.values():
            principals.refuse(service, 401)
        started = time.monotonic()
        for mode, (dag_id, run_id) in dag_runs.items():
            assert api.wait_for_dag_run(dag_id, run_id, timeout=120) == "failed"
            for task in ("deferred", "synchronous"):
                assert api.task_instance(dag_id, run_id, task)["state"] == "failed"
                log = api.task_log(dag_id, run_id, task, try_number=1)
                assert f"auth_type {auth_type(mode)}" in log and REFUSING[mode][1] in log, log[-3000:]
        print(f"\nevery task failed naming its mode within {time.monotonic() - started:.0f} s of the refusal")
    finally:
        for service, _check in REFUSING.values():
            principals.refuse(service, None)
        for run in emulator.control.runs():
            if run["displayName"].startswith("auth-refused-") and run["lifecycleState"] in ("ACCEPTED", "IN_PROGRESS"):
                emulator.control.finish_run(run["id"])


def _enqueue_connection_test(stack: AirflowStack, connection_id: str, setup: ModeSetup) -> dict[str, Any]:
    """What the REST API offers for a connection test on a worker: queue it, then poll it by its token."""
    import json

    api = stack.api
    body = {"connection_id": connection_id, "conn_type": "oci_dataflow", "extra": json.dumps(setup.extra)}
    queued = api.post("/connections/enqueue-test", json=body)
    headers = {"Airflow-Connection-Test-Token": queued["token"]}

    def finished() -> dict[str, Any] | None:
        result: dict[str, Any] = api.request("GET", "/connections/enqueue-test", headers=headers)
        return result if result["state"] in ("success", "failed") else None

    return wait_for(finished, 120, f"the connection test of {connection_id}", every=1.0)


def test_the_connection_test_runs_on_a_worker_where_the_principal_exists(
    stack: AirflowStack, auth_modes: dict[str, ModeSetup]
) -> None:
    setup = auth_modes[INSTANCE_PRINCIPAL]
    passed = _enqueue_connection_test(stack, "instance_principal_on_a_worker", setup)
    assert passed["state"] == "success", passed
    assert COMPARTMENT_ID in passed["result_message"]

    unreachable = ModeSetup(setup.mode, {**setup.extra, "federation_endpoint": "http://127.0.0.1:9/v1/x509"})
    started = time.monotonic()
    failed = _enqueue_connection_test(stack, "instance_principal_without_auth_service", unreachable)
    print(f"\nthe failing connection test took {time.monotonic() - started:.1f} s: {failed['result_message']}")
    assert failed["state"] == "failed"
    assert "auth_type instance_principal" in failed["result_message"]
    assert "http://127.0.0.1:9/v1/x509" in failed["result_message"]


@pytest.fixture(scope="module")
def resource_principal_v2_2_stack(
    emulator: DataflowEmulator,
    creds: TestCredentials,
    principals: PrincipalServices,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AirflowStack]:
    """A stack whose processes hold resource principal 2.2 variables (token files the services renew)."""
    shorten_lifetimes(principals)  # the first token in the files lives seconds too
    setup = mode_setup(
        RESOURCE_PRINCIPAL_V2_2,
        endpoint=emulator.url,
        compartment_id=COMPARTMENT_ID,
        region=emulator.state.region,
        creds=creds,
        principals=principals,
        directory=tmp_path_factory.mktemp("resource-principal-v2-2"),
        register_key=emulator.control.register_key,
    )
    with AirflowStack(
        home=tmp_path_factory.mktemp("airflow-home-rp22"),
        dags_folder=_dags_folder(tmp_path_factory),
        env=stack_environment([setup]),
    ).start(timeout=180) as running:
        yield running


def test_resource_principal_v2_2_waits_through_renewed_token_files(
    resource_principal_v2_2_stack: AirflowStack, emulator: DataflowEmulator, short_lifetimes: None
) -> None:
    seen = _wait_in_every_mode(resource_principal_v2_2_stack, emulator, [RESOURCE_PRINCIPAL_V2_2], "auth-rp22")
    for task, (refreshes, _refused) in seen[RESOURCE_PRINCIPAL_V2_2].items():
        assert refreshes >= 3, (task, refreshes)

"""One I/O contract in the triggerer: every call budgeted and classified, no kind of call starving another,
connections loaded without blocking the event loop, and no unlocked state shared by the SDK's threads.

Each test here failed before the contract (issue 14).
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from airflow.sdk import BaseHook, Connection

from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator
from airflow_provider_dataflow.testing.credentials import TestCredentials, generate_test_credentials
from airflow_provider_dataflow.testing.emulator import DataflowEmulator, EmulatorControl
from airflow_provider_dataflow.triggers.dataflow import DataflowRunTrigger
from airflow_provider_dataflow.triggers.submit import DataflowSubmitRunTrigger

from .conftest import COMPARTMENT, FakeTaskInstance, run_details


async def _first_event(trigger: DataflowRunTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger ended without an event")


def _submit_trigger(name: str) -> DataflowSubmitRunTrigger:
    operator = DataflowInvokeRunOperator(
        task_id=name, start_from_trigger=True, poll_interval=0.1, execute="oci://code@namespace/job.py"
    )
    trigger = DataflowSubmitRunTrigger(**(operator.start_trigger_args.trigger_kwargs or {}))  # type: ignore[union-attr]
    task_instance = FakeTaskInstance()
    task_instance.task_id = name
    trigger.task_instance = task_instance  # type: ignore[assignment]
    return trigger


def test_throttled_creates_neither_stall_polling_nor_bypass_the_request_budget(
    hook: DataflowHook, control: EmulatorControl, caplog: pytest.LogCaptureFixture
) -> None:
    """Six start_from_trigger creates answered 429 without end, beside a wait for a run that ends in a second:
    the wait still ends at its pace, and the 429s lower this process's request budget."""
    run = hook.create_run(run_details("quick"))
    control.add_fault(method="POST", path_regex=r"/runs$", status=429, code="TooManyRequests", times=None)

    async def scenario() -> dict[str, Any]:
        creating = [asyncio.ensure_future(_first_event(_submit_trigger(f"throttled_{i}"))) for i in range(6)]
        await asyncio.sleep(0.5)
        try:
            return await asyncio.wait_for(_first_event(DataflowRunTrigger(run["id"], poll_interval=0.1)), 20)
        finally:
            for task in creating:
                task.cancel()
            await asyncio.gather(*creating, return_exceptions=True)

    event = asyncio.run(scenario())
    assert event["run"]["state"] == "SUCCEEDED"
    assert "answered 429" in caplog.text
    assert control.runs()[0]["id"] == run["id"] and len(control.runs()) == 1


def test_creates_held_at_429_leave_a_hundred_waits_on_time(hook: DataflowHook, control: EmulatorControl) -> None:
    """A start_from_trigger backfill whose creates are answered 429 with a 30 s Retry-After, for the whole
    test, beside 100 waits (poll 0.5 s) on runs ending over 20 s: every wait fires soon after its run ends.
    With one budget for every kind of call, each 429 paused the polls too (issue 19: p95 182 s)."""
    for low, high, seconds in ((0, 1, 4), (2, 3, 8), (4, 5, 12), (6, 7, 16), (8, 9, 20)):
        control.add_behaviour(display_name_regex=rf"^wait-\d*[{low}-{high}]$", run_seconds=seconds)
    run_ids = control.create_runs(100, COMPARTMENT, display_name_prefix="wait-")
    control.add_fault(
        method="POST", path_regex=r"/runs$", status=429, code="TooManyRequests", retry_after_seconds=30, times=None
    )
    fired: dict[str, float] = {}

    async def wait(run_id: str) -> None:
        event = await _first_event(DataflowRunTrigger(run_id, poll_interval=0.5, compartment_id=COMPARTMENT))
        assert event["run"]["state"] == "SUCCEEDED", event
        fired[run_id] = time.time()

    async def scenario() -> None:
        creating = [asyncio.ensure_future(_first_event(_submit_trigger(f"throttled_{i}"))) for i in range(20)]
        try:
            await asyncio.wait_for(asyncio.gather(*(wait(run_id) for run_id in run_ids)), 90)
        finally:
            for task in creating:
                task.cancel()
            await asyncio.gather(*creating, return_exceptions=True)

    asyncio.run(scenario())
    ended = {run["id"]: _unix(run["timeUpdated"]) for run in control.runs() if run["id"] in fired}
    late = {run_id: round(fired[run_id] - ended[run_id], 1) for run_id in run_ids if fired[run_id] - ended[run_id] > 5}
    assert late == {}, f"waits that fired more than 5 s after their run ended (s): {late}"
    assert sum(fault["applied"] for fault in control.faults()) >= 2, "creates were tried and answered 429"
    assert len(control.runs()) == 100, "no create got through"


def _unix(rfc3339: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def _connection(creds: TestCredentials, emulator: DataflowEmulator) -> Connection:
    extra = creds.connection_extra(emulator.url, COMPARTMENT)
    return Connection(
        conn_id="loaded", conn_type="oci_dataflow", password=creds.private_key_pem, extra=json.dumps(extra)
    )


def test_a_cancelled_lookup_does_not_fail_the_triggers_waiting_for_the_same_connection(
    emulator: DataflowEmulator, creds: TestCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[str] = []

    async def scenario() -> Any:
        release = asyncio.Event()

        async def slow_lookup(cls: Any, conn_id: str) -> Connection:
            lookups.append(conn_id)
            await release.wait()
            return _connection(creds, emulator)

        monkeypatch.setattr(BaseHook, "aget_connection", classmethod(slow_lookup))
        first = asyncio.ensure_future(DataflowHook("cancelled_lookup").asettings())
        second = asyncio.ensure_future(DataflowHook("cancelled_lookup").asettings())
        await asyncio.sleep(0.05)
        first.cancel()  # e.g. the first trigger was killed while the connection loaded
        await asyncio.sleep(0.05)
        release.set()
        return await asyncio.wait_for(second, 5)

    settings = asyncio.run(scenario())
    assert settings.service_endpoint == emulator.url
    assert lookups == ["cancelled_lookup"]


def test_connection_extras_are_never_read_synchronously_on_the_event_loop(
    emulator: DataflowEmulator, creds: TestCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``extra_dejson`` masks through a blocking call to the supervisor (DeadlockImminentError before 3.3.2)."""

    async def lookup(cls: Any, conn_id: str) -> Connection:
        return _connection(creds, emulator)

    def extra_dejson(conn: Connection) -> dict[str, Any]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return dict(json.loads(conn.extra or "{}"))
        raise RuntimeError("DeadlockImminentError: a blocking supervisor call from the event loop")

    monkeypatch.setattr(BaseHook, "aget_connection", classmethod(lookup))
    monkeypatch.setattr(Connection, "extra_dejson", property(extra_dejson))
    settings = asyncio.run(DataflowHook("extras_on_the_loop").asettings())
    assert settings.compartment_id == COMPARTMENT


@pytest.fixture
def session_token_hook(
    emulator: DataflowEmulator, control: EmulatorControl, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[DataflowHook, pathlib.Path, list[str]]]:
    session_key = generate_test_credentials()  # `oci session authenticate` makes a key pair of its own
    tokens = [_token({"sub": "user-1", "n": n}) for n in (1, 2)]
    for token in tokens:
        control.register_key(f"ST${token}", session_key.public_key_pem)
    (tmp_path / "key.pem").write_text(session_key.private_key_pem)
    token_file = tmp_path / "token"
    token_file.write_text(tokens[0])
    extra = {
        "auth_type": "security_token",
        "security_token_file": str(token_file),
        "key_file": str(tmp_path / "key.pem"),
        "region": "us-ashburn-1",
        "service_endpoint": emulator.url,
    }
    monkeypatch.setenv("AIRFLOW_CONN_SESSION_TOKEN_SHARED", json.dumps({"conn_type": "oci_dataflow", "extra": extra}))
    yield DataflowHook("session_token_shared"), token_file, tokens


def _token(claims: dict[str, Any]) -> str:
    import base64

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def test_a_refreshed_session_token_is_read_once_by_the_threads_sharing_the_signer(
    session_token_hook: tuple[DataflowHook, pathlib.Path, list[str]],
    control: EmulatorControl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`oci session refresh` rewrites the token file while eight threads sign with one signer."""
    hook, token_file, tokens = session_token_hook
    assert hook.list_runs(COMPARTMENT) == []  # the signer exists, with the first token
    token_file.write_text(tokens[1])
    os.utime(token_file, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))
    control.clear_journal()

    reads: list[str] = []
    read_text = pathlib.Path.read_text

    def slow_read(path: pathlib.Path, *args: Any, **kwargs: Any) -> str:
        if path == token_file:
            reads.append(threading.current_thread().name)
            time.sleep(0.05)  # a slow disk widens the window a lock must close
        return read_text(path, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "read_text", slow_read)
    barrier, errors = threading.Barrier(8), []

    def call() -> None:
        barrier.wait()
        try:
            hook.list_runs(COMPARTMENT)
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(reads) == 1
    assert {entry["key_id"] for entry in control.journal()} == {f"ST${tokens[1]}"}

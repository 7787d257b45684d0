"""Faults below HTTP, through the fault proxy in front of the emulator: what a hook call does on a worker and in
the triggerer, that a hung call frees its thread at its kind's timeout, that waits survive a partition longer
than the poll read timeout and end with the run's real state, and that a skewed clock is named.

The timeouts are the provider's own (``client_pool.TIMEOUTS``), not shortened: the black hole costs one poll
read timeout (30 s) and the partition a little more, each once for all the paths it checks.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

import pytest

from airflow_provider_dataflow.exceptions import (
    DataflowClockSkewError,
    DataflowServiceError,
)
from airflow_provider_dataflow.hooks.client_pool import TIMEOUTS
from airflow_provider_dataflow.hooks.dataflow import DataflowHook, client_pool
from airflow_provider_dataflow.hooks.operations import CallKind, get_run
from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator
from airflow_provider_dataflow.pipeline.steps import blocking_performer, drive
from airflow_provider_dataflow.pipeline.wait import wait_steps
from airflow_provider_dataflow.testing.credentials import TestCredentials
from airflow_provider_dataflow.testing.emulator import DataflowEmulator, EmulatorControl
from airflow_provider_dataflow.testing.fault_proxy import FaultProxy
from airflow_provider_dataflow.triggers.dataflow import DataflowRunTrigger

from .conftest import COMPARTMENT, task_context

T = TypeVar("T")
CONN_ID = "behind_faults"
CONNECT_TIMEOUT, READ_TIMEOUT = TIMEOUTS[CallKind.POLL]
#: What a call may take beyond its timeout here: scheduling on two busy cores, not the network.
SLACK_SECONDS = 5.0
PARTITION_SECONDS = READ_TIMEOUT + 10.0  # longer than a poll's read timeout, and than the watcher's 33 s staleness
SHARED_WAITS = 5  # [oci_dataflow] shared_watch_min_runs: these waits poll through the compartment's watcher


@pytest.fixture(scope="module")
def proxy(emulator: DataflowEmulator) -> Iterator[FaultProxy]:
    with FaultProxy(emulator.url) as running:
        yield running


@pytest.fixture
def network(proxy: FaultProxy) -> Iterator[FaultProxy]:
    yield proxy
    proxy.heal()


@pytest.fixture
def faulty_hook(network: FaultProxy, creds: TestCredentials, monkeypatch: pytest.MonkeyPatch) -> DataflowHook:
    """A hook whose connection goes through the proxy."""
    conn_json = creds.airflow_connection_json(service_endpoint=network.url, compartment_id=COMPARTMENT)
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", conn_json)
    return DataflowHook(CONN_ID)


@pytest.fixture
def run_id(control: EmulatorControl, faulty_hook: DataflowHook) -> str:
    run = control.create_runs(1, COMPARTMENT, display_name_prefix="faulty-")[0]
    assert faulty_hook.call(get_run(run))["id"] == run  # a keep-alive connection through the proxy is open
    return run


def _failure(call: Callable[[], Any]) -> tuple[DataflowServiceError, float]:
    """The error ``call`` raised, and how long it took."""
    started = time.monotonic()
    with pytest.raises(DataflowServiceError) as failed:
        call()
    return failed.value, time.monotonic() - started


def _in_thread(work: Callable[[], T]) -> Future[T]:
    """``work()`` on a thread of its own (a worker's call beside the event loop's)."""
    done: Future[T] = Future()

    def run() -> None:
        try:
            done.set_result(work())
        except BaseException as error:  # the test fails with it when it awaits the result
            done.set_exception(error)

    threading.Thread(target=run, daemon=True).start()
    return done


async def _afailure(call: Callable[[], Any]) -> tuple[DataflowServiceError, float]:
    started = time.monotonic()
    with pytest.raises(DataflowServiceError) as failed:
        await call()
    return failed.value, time.monotonic() - started


def _on_worker_and_in_triggerer(hook: DataflowHook, run_id: str) -> list[tuple[DataflowServiceError, float]]:
    """One get_run as a worker makes it (``call``), then as the triggerer does (``acall``)."""
    worker = _failure(lambda: hook.call(get_run(run_id)))
    triggerer = asyncio.run(_afailure(lambda: hook.acall(get_run(run_id))))
    assert client_pool().busy(CallKind.POLL) == 0
    return [worker, triggerer]


def test_refused_fails_transient_at_once(network: FaultProxy, faulty_hook: DataflowHook, run_id: str) -> None:
    network.refuse()
    for error, seconds in _on_worker_and_in_triggerer(faulty_hook, run_id):
        assert error.transient, error
        assert "Connection refused" in str(error)
        assert seconds < CONNECT_TIMEOUT, "a refusal is an answer, not a timeout"


def test_reset_mid_response_fails_transient_as_a_connection_error(
    network: FaultProxy, faulty_hook: DataflowHook, run_id: str
) -> None:
    network.reset_mid_response()
    for error, seconds in _on_worker_and_in_triggerer(faulty_hook, run_id):
        assert error.transient, error
        assert "Connection reset by peer" in str(error)
        assert seconds < CONNECT_TIMEOUT
    assert network.counters().resets == 2


def test_a_black_hole_times_out_at_the_poll_read_timeout_and_frees_every_thread(
    network: FaultProxy, faulty_hook: DataflowHook, run_id: str
) -> None:
    """A worker's call, a triggerer's awaited call, and a triggerer's call whose trigger is cancelled: all three
    at once in one black hole. The cancelled caller stops waiting at once; its thread holds its place until
    the read timeout ends the call, and no longer."""
    network.black_hole()
    pool = client_pool()

    async def scenario() -> dict[str, Any]:
        worker = _in_thread(lambda: _failure(lambda: faulty_hook.call(get_run(run_id))))
        awaited = asyncio.ensure_future(_afailure(lambda: faulty_hook.acall(get_run(run_id))))
        cancelled = asyncio.ensure_future(faulty_hook.acall(get_run(run_id)))
        started = time.monotonic()
        await _until(lambda: pool.busy(CallKind.POLL) == 2, seconds=5)
        cancelled.cancel()
        await asyncio.gather(cancelled, return_exceptions=True)
        held_after_cancel = pool.busy(CallKind.POLL)
        triggerer = await awaited
        await _until(lambda: pool.busy(CallKind.POLL) == 0, seconds=SLACK_SECONDS)
        return {
            "held_after_cancel": held_after_cancel,
            "freed_after": time.monotonic() - started,
            "triggerer": triggerer,
            "worker": await asyncio.wrap_future(worker),
        }

    seen = asyncio.run(scenario())
    assert seen["held_after_cancel"] == 2, "the cancelled call still holds its thread"
    assert READ_TIMEOUT <= seen["freed_after"] < READ_TIMEOUT + SLACK_SECONDS
    for error, seconds in (seen["worker"], seen["triggerer"]):
        assert error.transient, error
        assert f"Read timed out. (read timeout={READ_TIMEOUT})" in str(error)
        assert READ_TIMEOUT <= seconds < READ_TIMEOUT + SLACK_SECONDS
    assert network.counters().black_holed == 3


def test_waits_survive_a_partition_longer_than_the_read_timeout_and_end_with_the_runs_real_state(
    network: FaultProxy, faulty_hook: DataflowHook, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Triggers that poll through the shared watcher and a synchronous wait on a worker, through one partition
    in which every run ends (one of them FAILED): each wait fires once the network is back, with that state."""
    monkeypatch.setenv("AIRFLOW__OCI_DATAFLOW__SHARED_WATCH_MIN_INTERVAL", "1")
    control.settings(run_seconds=3)
    control.add_behaviour(display_name_regex=r"^partitioned-\d*0$", outcome="FAILED", lifecycle_details="Executor lost")
    shared = control.create_runs(SHARED_WAITS, COMPARTMENT, display_name_prefix="partitioned-")
    synchronous = control.create_runs(1, COMPARTMENT, display_name_prefix="synchronous-")[0]
    fired: dict[str, tuple[float, dict[str, Any]]] = {}

    def wait_on_a_worker() -> None:
        steps = wait_steps(
            synchronous, poll_interval=1, target_states=(), deadline=None, timeout=None, log=_quiet_logger()
        )
        outcome = drive(steps, blocking_performer(faulty_hook))
        fired[synchronous] = (time.monotonic(), outcome.to_event())

    async def wait_in_triggerer(run: str) -> None:
        trigger = DataflowRunTrigger(run, oci_conn_id=CONN_ID, poll_interval=1, compartment_id=COMPARTMENT)
        async for event in trigger.run():
            fired[run] = (time.monotonic(), dict(event.payload))

    async def scenario() -> float:
        worker = threading.Thread(target=wait_on_a_worker)
        worker.start()
        triggers = asyncio.gather(*(wait_in_triggerer(run) for run in shared))
        await asyncio.sleep(0.5)  # every wait has polled once: the runs are ACCEPTED
        healed = time.monotonic() + PARTITION_SECONDS  # the network is back no earlier than this
        network.partition(PARTITION_SECONDS)
        await asyncio.wait_for(triggers, PARTITION_SECONDS + 30)
        await asyncio.to_thread(worker.join, 30)
        await _until(lambda: client_pool().busy(CallKind.POLL) == 0, seconds=SLACK_SECONDS)
        return healed

    healed = asyncio.run(scenario())
    ended = {run["id"]: run["lifecycleState"] for run in control.runs()}
    assert {run: event["run"]["state"] for run, (_, event) in fired.items()} == {
        run: ended[run] for run in [*shared, synchronous]
    }
    assert sorted(ended.values()) == ["FAILED", *["SUCCEEDED"] * SHARED_WAITS]
    late = {run: round(at - healed, 1) for run, (at, _) in fired.items() if not healed <= at < healed + SLACK_SECONDS}
    assert late == {}, f"waits that fired before the network came back or more than {SLACK_SECONDS} s after it"
    assert network.counters().held >= 2


@pytest.fixture
def skewed_clock(control: EmulatorControl) -> Iterator[float]:
    """The service's clock 10 minutes ahead: this machine's is 10 minutes behind (more than OCI's 5)."""
    control.settings(clock_offset_seconds=600)
    yield -600.0
    control.settings(clock_offset_seconds=0)


def test_a_skewed_clock_fails_a_worker_call_naming_the_clock_without_reloading_the_connection(
    faulty_hook: DataflowHook, control: EmulatorControl, skewed_clock: float
) -> None:
    run = control.create_runs(1, COMPARTMENT)[0]
    control.clear_journal()
    with pytest.raises(DataflowClockSkewError, match=r"This machine's clock is -(599|600|601) s off OCI's") as failed:
        faulty_hook.call(get_run(run))
    assert "Synchronise this machine's clock" in str(failed.value)
    assert [entry["status"] for entry in control.journal()] == [401], "no reload: a new key cannot fix a clock"


def test_a_skewed_clock_ends_a_triggers_wait_and_the_resumed_task_with_the_error_naming_the_clock(
    faulty_hook: DataflowHook, control: EmulatorControl, skewed_clock: float
) -> None:
    run = control.create_runs(1, COMPARTMENT)[0]
    event = asyncio.run(_first_event(DataflowRunTrigger(run, oci_conn_id=CONN_ID, poll_interval=0.2)))
    assert event["status"] == "error"
    with pytest.raises(DataflowClockSkewError, match=r"This machine's clock is -(599|600|601) s off OCI's") as failed:
        _resume(event)
    assert "Synchronise this machine's clock" in str(failed.value)
    assert not failed.value.transient


def _resume(event: dict[str, Any]) -> Any:
    operator = DataflowInvokeRunOperator(task_id="skewed", oci_conn_id=CONN_ID, execute="oci://code@namespace/job.py")
    return operator.execute_complete(task_context(), event)  # type: ignore[arg-type]


async def _first_event(trigger: DataflowRunTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger ended without an event")


async def _until(condition: Callable[[], bool], *, seconds: float) -> None:
    give_up = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError(f"not reached within {seconds} s")
        await asyncio.sleep(0.05)


def _quiet_logger() -> Any:
    import logging

    return logging.getLogger("test_network_faults.synchronous_wait")

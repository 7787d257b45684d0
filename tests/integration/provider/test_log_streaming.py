"""Streaming a run's OCI Logging lines against the emulator: the worker's tail and the triggerer's shared search."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import time
from typing import Any

import pytest

from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.pipeline.logs.blocking import BlockingRunLogs
from airflow_provider_dataflow.pipeline.logs.deferred import DeferredRunLogs
from airflow_provider_dataflow.pipeline.logs.follower import Cursor, StreamLimits
from airflow_provider_dataflow.pipeline.logs.records import run_key
from airflow_provider_dataflow.pipeline.logs.registry import active_searchers
from airflow_provider_dataflow.pipeline.logs.sources import LogSource, LogStream, run_log_sources
from airflow_provider_dataflow.runs.states import TERMINAL_STATES
from airflow_provider_dataflow.testing.emulator import EmulatorControl

from .conftest import COMPARTMENT, run_details

LOG_GROUP = "ocid1.loggroup.oc1.iad.aaaastreaminggroup"
LOG = "ocid1.log.oc1.iad.aaaastreaminglog"
LIMITS = StreamLimits(overlap=1.0, drain=0.8, cursor_save_every=0.0)
TERMINAL = {state.value for state in TERMINAL_STATES}
trigger_name: contextvars.ContextVar[str] = contextvars.ContextVar("trigger_name", default="the triggerer")


@pytest.fixture(autouse=True)
def _fast_search(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__OCI_DATAFLOW__LOG_SEARCH_MIN_INTERVAL", "0.2")


class TaskLog:
    """A trigger's logger: keeps each line with the trigger whose context wrote it (Airflow routes by context)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, message: str, *args: Any) -> None:
        self.lines.append((trigger_name.get(), message % args if args else message))

    warning = info

    def numbers(self) -> list[int]:
        """The line numbers of the run's ``driver line N`` lines, in the order shown."""
        return [int(m.group(1)) for _, line in self.lines if (m := re.search(r"\] INFO driver line (\d+)$", line))]


def _logging_run(hook: DataflowHook, name: str) -> dict[str, Any]:
    log_config = {"log_group_id": LOG_GROUP, "log_id": LOG}
    return hook.create_run(run_details(name, application_log_config=log_config))


def _written(control: EmulatorControl, run: dict[str, Any]) -> int:
    """How many lines the emulator wrote for the run: 10 a second over its IN_PROGRESS time."""
    final = next(r for r in control.runs() if r["id"] == run["id"])
    return round(final["runDurationInMilliseconds"] / 100)


def _searches(control: EmulatorControl) -> list[dict[str, Any]]:
    return [entry for entry in control.journal() if entry["path"] == "/20190909/search"]


def test_the_synchronous_wait_shows_every_line_once_in_order_between_polls(
    hook: DataflowHook, control: EmulatorControl
) -> None:
    control.add_behaviour("^tail", run_seconds=2.0, log_lines_per_second=10, log_ingestion_lag_seconds=0.3)
    run = _logging_run(hook, "tail-1")
    log = TaskLog()
    key = run_key(run)
    assert key is not None
    tail = BlockingRunLogs(hook, key, time.time() - 5, run_log_sources(run), log, LIMITS)
    shown_while_running = 0
    while hook.get_run(run["id"])["state"] not in TERMINAL:
        tail.poll()
        shown_while_running = len(log.numbers())
        time.sleep(0.3)
    tail.drain(interval=0.3)
    written = _written(control, run)
    assert 0 < shown_while_running < written, "lines appear while the run runs, not at its end"
    assert log.numbers() == list(range(1, written + 1))
    searches = _searches(control)
    assert all(f"data.opcRequestId = '{key}'" in entry["body"]["searchQuery"] for entry in searches)


def test_runs_sharing_a_log_cost_one_search_per_interval_and_each_trigger_log_gets_only_its_lines(
    hook: DataflowHook, control: EmulatorControl
) -> None:
    control.add_behaviour("^shared", run_seconds=2.0, log_lines_per_second=10, log_ingestion_lag_seconds=0.3)
    runs = [_logging_run(hook, f"shared-{i:02d}") for i in range(30)]
    logs = {run["id"]: TaskLog() for run in runs}

    async def trigger(run: dict[str, Any]) -> None:
        trigger_name.set(run["id"])  # as Airflow binds each trigger's id before running it
        stream = DeferredRunLogs(
            hook, str(run_key(run)), time.time() - 5, run_log_sources(run), 0.3, logs[run["id"]], limits=LIMITS
        )
        await stream.start()
        try:
            await _until_terminal(hook, run)
            await stream.drain()
        finally:
            stream.close()

    async def all_triggers() -> float:
        started = time.monotonic()
        await asyncio.gather(*(trigger(run) for run in runs))
        assert active_searchers() == [], "the searcher stops with its last subscriber"
        return time.monotonic() - started

    elapsed = asyncio.run(asyncio.wait_for(all_triggers(), 60))

    for run in runs:
        log = logs[run["id"]]
        assert log.numbers() == list(range(1, _written(control, run) + 1)), run["display_name"]
        assert {writer for writer, _ in log.lines} == {run["id"]}, "lines are written in their trigger's context"
    searches = _searches(control)
    assert len(searches) <= elapsed / 0.2 + 2, f"{len(searches)} searches in {elapsed:.1f} s for {len(runs)} runs"
    queries = [entry["body"]["searchQuery"] for entry in searches]
    assert max(query.count("data.opcRequestId =") for query in queries) <= 20, "no query names more than 20 runs"
    assert any("where" not in query for query in queries), "30 runs: the log is read whole"


def test_a_failing_search_says_so_once_per_run_and_the_lines_resume_without_a_gap(
    hook: DataflowHook, control: EmulatorControl
) -> None:
    control.add_behaviour("^flaky", run_seconds=2.0, log_lines_per_second=10, log_ingestion_lag_seconds=0.2)
    runs = [_logging_run(hook, f"flaky-{i}") for i in range(3)]
    control.add_fault(method="POST", path_regex="/20190909/search", status=503, times=3)
    logs = asyncio.run(_stream_until_terminal(hook, runs, LIMITS))
    for run in runs:
        text = [line for _, line in logs[run["id"]].lines]
        failures = [line for line in text if line.startswith("Cannot read this run's lines")]
        assert len(failures) == 1 and "503" in failures[0], text
        assert sum(line.endswith("this run's lines resume.") for line in text) == 1
        assert logs[run["id"]].numbers() == list(range(1, _written(control, run) + 1))


def test_a_search_refused_for_good_says_so_and_never_holds_the_end_of_the_wait(
    hook: DataflowHook, control: EmulatorControl
) -> None:
    control.add_behaviour("^denied", run_seconds=0.5)
    run = _logging_run(hook, "denied-1")
    control.add_fault(method="POST", path_regex="/20190909/search", status=404, times=None)
    started = time.monotonic()
    logs = asyncio.run(_stream_until_terminal(hook, [run], LIMITS))
    assert time.monotonic() - started < 10
    text = [line for _, line in logs[run["id"]].lines]
    assert sum(line.startswith("Cannot read this run's lines") for line in text) == 1, text
    assert "404" in next(line for line in text if line.startswith("Cannot read"))


def test_a_window_too_large_for_one_search_is_searched_in_halves(hook: DataflowHook, control: EmulatorControl) -> None:
    control.add_behaviour("^dense", run_seconds=1.5, log_lines_per_second=40, log_ingestion_lag_seconds=0.2)
    run = _logging_run(hook, "dense-1")
    control.set_log_search_max_results(12)
    logs = asyncio.run(_stream_until_terminal(hook, [run], StreamLimits(overlap=0.5, drain=0.8)))
    assert logs[run["id"]].numbers() == list(range(1, round(_written(control, run) * 4) + 1))
    refused = [e for e in _searches(control) if e["status"] == 400]
    assert refused, "the emulator refused a window as too large at least once"


class MemoryCursorStore:
    """Stands in for the task instance's XCom, which survives the trigger in a real deployment."""

    def __init__(self) -> None:
        self.saved: dict[str, Any] | None = None

    async def load(self) -> Cursor | None:
        return Cursor.from_json(self.saved)

    async def save(self, cursor: Cursor) -> None:
        self.saved = cursor.to_json()


def test_a_restarted_trigger_continues_from_the_saved_cursor_without_repeating_or_missing_a_line(
    hook: DataflowHook, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    control.add_behaviour("^restart", run_seconds=3.0, log_lines_per_second=10, log_ingestion_lag_seconds=0.3)
    run = _logging_run(hook, "restart-1")
    store = MemoryCursorStore()
    monkeypatch.setattr(
        "airflow_provider_dataflow.pipeline.logs.deferred.XComCursorStore", lambda task_instance, source: store
    )
    log = TaskLog()

    def stream() -> DeferredRunLogs:
        return DeferredRunLogs(
            hook, str(run_key(run)), time.time() - 10, run_log_sources(run), 0.3, log, task_instance=object(),
            limits=LIMITS,
        )  # fmt: skip

    async def killed_then_restarted() -> None:
        first = stream()
        await first.start()
        await asyncio.sleep(1.8)  # the run is IN_PROGRESS: some lines shown, then the triggerer dies
        first.close()
        await asyncio.sleep(0.8)  # no trigger while the run goes on writing
        second = stream()
        await second.start()
        await _until_terminal(hook, run)
        await second.drain()
        second.close()

    asyncio.run(asyncio.wait_for(killed_then_restarted(), 30))
    text = [line for _, line in log.lines]
    assert any(line.startswith("Continuing this run's lines") for line in text)
    assert log.numbers() == list(range(1, _written(control, run) + 1))


async def _until_terminal(hook: DataflowHook, run: dict[str, Any]) -> None:
    for _ in range(100):
        if (await hook.aget_run(run["id"]))["state"] in TERMINAL:
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"run {run['display_name']} did not end")


async def _stream_until_terminal(
    hook: DataflowHook, runs: list[dict[str, Any]], limits: StreamLimits
) -> dict[str, TaskLog]:
    logs = {run["id"]: TaskLog() for run in runs}

    async def one(run: dict[str, Any]) -> None:
        trigger_name.set(run["id"])
        sources = [LogSource(COMPARTMENT, LOG_GROUP, LOG)]
        stream = DeferredRunLogs(hook, str(run_key(run)), time.time() - 5, sources, 0.3, logs[run["id"]], limits=limits)
        await stream.start()
        try:
            await _until_terminal(hook, run)
            await stream.drain()
        finally:
            stream.close()

    await asyncio.wait_for(asyncio.gather(*(one(run) for run in runs)), 60)
    return logs


# -- the operator, the trigger and the sensor with stream_logs ----------------------------------------------


@pytest.fixture
def _quick_drain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__OCI_DATAFLOW__LOG_DRAIN_SECONDS", "0.8")
    monkeypatch.setenv("AIRFLOW__OCI_DATAFLOW__LOG_OVERLAP_SECONDS", "2")


def _numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\] INFO driver line (\d+)", text)]


@pytest.mark.usefixtures("_quick_drain")
def test_the_operator_waiting_on_a_worker_shows_its_runs_lines_between_polls(
    dataflow_conn: str, control: EmulatorControl, capfd: pytest.CaptureFixture[str]
) -> None:
    from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator

    from .conftest import task_context

    control.add_behaviour("^operator", run_seconds=2.0, log_lines_per_second=5, log_ingestion_lag_seconds=0.3)
    operator = DataflowInvokeRunOperator(
        task_id="spark", execute="oci://code@namespace/job.py", display_name="operator-sync", deferrable=False,
        poll_interval=0.3, application_log_config={"log_group_id": LOG_GROUP, "log_id": LOG}, stream_logs=True,
    )  # fmt: skip
    result = operator.execute(task_context())
    written = _written(control, result) // 2  # 5 lines a second, not 10
    assert _numbers(capfd.readouterr().out) == list(range(1, written + 1))


@pytest.mark.usefixtures("_quick_drain")
def test_the_trigger_shows_its_runs_lines_and_those_ingested_after_its_end_before_its_event(
    hook: DataflowHook, control: EmulatorControl, capfd: pytest.CaptureFixture[str]
) -> None:
    from airflow_provider_dataflow.triggers.dataflow import DataflowRunTrigger

    control.add_behaviour("^deferred", run_seconds=2.0, log_lines_per_second=10, log_ingestion_lag_seconds=0.5)
    run = _logging_run(hook, "deferred-1")
    stream = LogStream.of(run, [], logging.getLogger(__name__))
    assert isinstance(stream, LogStream)
    trigger = DataflowRunTrigger(run["id"], poll_interval=0.3, log_stream=stream.to_json())
    assert DataflowRunTrigger(**trigger.serialize()[1]).log_stream == stream.to_json()

    async def first_event() -> dict[str, Any]:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("no event")

    payload = asyncio.run(asyncio.wait_for(first_event(), 30))
    assert payload["run"]["state"] == "SUCCEEDED"
    assert _numbers(capfd.readouterr().out) == list(range(1, _written(control, run) + 1))


@pytest.mark.usefixtures("_quick_drain")
def test_the_sensor_poking_on_a_worker_shows_the_runs_lines(
    dataflow_conn: str, hook: DataflowHook, control: EmulatorControl, capfd: pytest.CaptureFixture[str]
) -> None:
    from airflow_provider_dataflow.sensors.dataflow import DataflowRunSensor

    control.add_behaviour("^sensed", run_seconds=1.5, log_lines_per_second=10, log_ingestion_lag_seconds=0.3)
    run = _logging_run(hook, "sensed-1")
    sensor = DataflowRunSensor(task_id="sense", dataflow_run_id=run["id"], stream_logs=True, poke_interval=0.3)
    for _ in range(50):
        if sensor.poke({}):
            break
        time.sleep(0.3)
    assert _numbers(capfd.readouterr().out) == list(range(1, _written(control, run) + 1))


def test_stream_logs_on_without_any_log_says_so_and_the_task_goes_on(
    dataflow_conn: str, control: EmulatorControl, capfd: pytest.CaptureFixture[str]
) -> None:
    from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator

    from .conftest import task_context

    operator = DataflowInvokeRunOperator(
        task_id="spark", execute="oci://code@namespace/job.py", deferrable=False, poll_interval=0.2, stream_logs=True
    )
    assert operator.execute(task_context())["state"] == "SUCCEEDED"
    assert "has no application_log_config (own or its application's) and no log was named" in capfd.readouterr().out
    assert _searches(control) == []


@pytest.mark.usefixtures("_quick_drain")
def test_a_run_submitted_from_the_triggerer_streams_its_lines_too(
    dataflow_conn: str, control: EmulatorControl, capfd: pytest.CaptureFixture[str]
) -> None:
    from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator
    from airflow_provider_dataflow.triggers.submit import DataflowSubmitRunTrigger

    from .conftest import FakeTaskInstance

    control.add_behaviour("^from-trigger", run_seconds=1.5, log_lines_per_second=10, log_ingestion_lag_seconds=0.3)
    operator = DataflowInvokeRunOperator(
        task_id="spark", execute="oci://code@namespace/job.py", display_name="from-trigger", start_from_trigger=True,
        poll_interval=0.3, application_log_config={"log_group_id": LOG_GROUP, "log_id": LOG}, stream_logs=True,
    )  # fmt: skip
    assert operator.start_trigger_args is not None
    trigger = DataflowSubmitRunTrigger(**(operator.start_trigger_args.trigger_kwargs or {}))
    trigger.task_instance = FakeTaskInstance()  # type: ignore[assignment]

    async def first_event() -> dict[str, Any]:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("no event")

    payload = asyncio.run(asyncio.wait_for(first_event(), 30))
    assert _numbers(capfd.readouterr().out) == list(range(1, _written(control, payload["run"]) + 1))


def test_a_rescheduled_sensor_says_it_cannot_stream_and_searches_nothing(
    dataflow_conn: str, hook: DataflowHook, control: EmulatorControl, capfd: pytest.CaptureFixture[str]
) -> None:
    from airflow_provider_dataflow.sensors.dataflow import DataflowRunSensor

    run = _logging_run(hook, "rescheduled-1")
    sensor = DataflowRunSensor(task_id="sense", dataflow_run_id=run["id"], stream_logs=True, mode="reschedule")
    sensor.poke({})
    assert "stream_logs needs mode='poke' or deferrable=True" in capfd.readouterr().out
    assert _searches(control) == []

"""The shared run watcher against the emulator: few list calls for many runs, and every wait still ends right."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator
from airflow_provider_dataflow.pipeline.watch import watcher as watcher_module
from airflow_provider_dataflow.pipeline.watch.registry import active_watchers
from airflow_provider_dataflow.testing.emulator import EmulatorControl
from airflow_provider_dataflow.triggers.dataflow import DataflowRunTrigger

from .conftest import COMPARTMENT, run_details, task_context

OTHER_COMPARTMENT = "ocid1.compartment.oc1..other"


@pytest.fixture(autouse=True)
def _fast_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__OCI_DATAFLOW__SHARED_WATCH_MIN_INTERVAL", "0.2")


def _trigger(run: dict[str, Any], **kwargs: Any) -> DataflowRunTrigger:
    return DataflowRunTrigger(run["id"], poll_interval=0.2, compartment_id=run["compartment_id"], **kwargs)


async def _first_payloads(triggers: list[DataflowRunTrigger], timeout: float = 60.0) -> list[dict[str, Any]]:
    async def first(trigger: DataflowRunTrigger) -> dict[str, Any]:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("the trigger ended without an event")

    return await asyncio.wait_for(asyncio.gather(*(first(t) for t in triggers)), timeout)


def _calls(control: EmulatorControl) -> Counter[str]:
    """API calls by kind: 'list' (GET /runs), 'get' (GET /runs/{id}), 'create', 'cancel'."""
    kinds: Counter[str] = Counter()
    for entry in control.journal():
        if entry["path"].endswith("/runs"):
            kinds["list" if entry["method"] == "GET" else "create"] += 1
        elif "/runs/" in entry["path"]:
            kinds["get" if entry["method"] == "GET" else "cancel"] += 1
    return kinds


def test_many_runs_cost_list_calls_not_a_get_per_poll(hook: DataflowHook, control: EmulatorControl) -> None:
    control.settings(accepted_seconds=0.5, run_seconds=2.0)
    control.add_behaviour(display_name_regex="^fails", outcome="FAILED", lifecycle_details="Executor lost")
    runs = [hook.create_run(run_details(f"ok-{i}")) for i in range(20)]
    runs += [hook.create_run(run_details(f"fails-{i}")) for i in range(5)]
    control.clear_journal()

    payloads = asyncio.run(_first_payloads([_trigger(run) for run in runs]))

    states = Counter(p["run"]["state"] for p in payloads)
    assert states == {"SUCCEEDED": 20, "FAILED": 5}
    assert {p["run"]["lifecycle_details"] for p in payloads if p["run"]["state"] == "FAILED"} == {"Executor lost"}
    calls = _calls(control)
    # Per-run polling would have made about 25 runs x 12 polls = 300 GETs. Here: each run is read whole once
    # when its wait ends (for the task's return value), plus the few ended runs the watcher reads alone.
    assert calls["get"] < 2 * len(runs), calls
    lists = [e for e in control.journal() if e["path"].endswith("/runs") and e["method"] == "GET"]
    assert {"ACCEPTED", "IN_PROGRESS", "CANCELING", "STOPPING"} <= {e["query"].get("lifecycleState") for e in lists}
    assert all("timeCreatedGreaterThan" not in e["query"] for e in lists), "cost must not grow with history"


def test_a_wait_ended_on_a_summary_hands_the_worker_the_whole_run_read_once_in_the_triggerer(
    dataflow_conn: str, hook: DataflowHook, control: EmulatorControl, capfd: pytest.CaptureFixture[str]
) -> None:
    """The watcher ends waits on list summaries; the trigger reads each run whole once before it fires, so
    the worker that resumes makes no call at all to return the run and its cost."""
    control.settings(accepted_seconds=0.3, run_seconds=1.0)
    runs = [hook.create_run(run_details(f"ok-{i}")) for i in range(6)]
    control.clear_journal()
    payloads = asyncio.run(_first_payloads([_trigger(run) for run in runs]))
    assert all(not p["run"].get("from_summary") and p["run"]["execute"] for p in payloads)
    ended_reads = [e for e in control.journal() if e["method"] == "GET" and "/runs/" in e["path"]]
    assert len(ended_reads) <= 2 * len(runs), "once per run, plus the watcher's reads of lone ended runs"
    control.clear_journal()

    operator = DataflowInvokeRunOperator(task_id="spark", execute="oci://code@namespace/job.py")
    result = operator.execute_complete(task_context(), payloads[0])

    assert result["state"] == "SUCCEEDED" and result["execute"].startswith("oci://code@namespace/job.py")
    assert "from_summary" not in result
    assert result["cost"]["run_seconds"] > 0, "the cost comes from the whole run, not the summary"
    (cost_line,) = [line for line in capfd.readouterr().out.splitlines() if "OCPU-hours" in line]
    assert "ran 0.0 s" not in cost_line, cost_line
    assert _calls(control)["get"] == 0, "the worker reads nothing: the trigger did"


def test_runs_beyond_the_first_page_are_seen_in_the_snapshot(hook: DataflowHook, control: EmulatorControl) -> None:
    control.add_behaviour(display_name_regex="^early-", run_seconds=2.0)
    control.add_behaviour(display_name_regex="^filler-", run_seconds=120.0)
    watched = control.create_runs(6, COMPARTMENT, display_name_prefix="early-")  # oldest: listed last
    control.create_runs(1100, COMPARTMENT, display_name_prefix="filler-")
    control.clear_journal()
    triggers = [DataflowRunTrigger(run_id, poll_interval=0.2, compartment_id=COMPARTMENT) for run_id in watched]

    payloads = asyncio.run(_first_payloads(triggers))

    assert {p["run"]["state"] for p in payloads} == {"SUCCEEDED"}
    assert any("page" in e["query"] for e in control.journal() if e["path"].endswith("/runs")), "followed pages"
    gets = Counter(e["path"].rsplit("/", 1)[1] for e in control.journal() if "/runs/" in e["path"])
    assert all(gets[run_id] <= 2 for run_id in watched), gets


def test_a_run_watched_twice_costs_nothing_extra(hook: DataflowHook, control: EmulatorControl) -> None:
    control.settings(accepted_seconds=0.3, run_seconds=1.5)
    runs = [hook.create_run(run_details(f"ok-{i}")) for i in range(6)]
    control.clear_journal()
    twice = [_trigger(run) for run in runs] + [_trigger(runs[0])]

    payloads = asyncio.run(_first_payloads(twice))

    assert [p["run"]["id"] for p in payloads[-1:]] == [runs[0]["id"]]
    assert {p["run"]["state"] for p in payloads} == {"SUCCEEDED"}
    gets = Counter(e["path"].rsplit("/", 1)[1] for e in control.journal() if "/runs/" in e["path"])
    others = max(gets[run["id"]] for run in runs[1:])
    assert gets[runs[0]["id"]] <= others + 1, "watching it twice adds only the second task's own final read"


def test_two_compartments_get_one_watcher_each(hook: DataflowHook, control: EmulatorControl) -> None:
    control.settings(accepted_seconds=0.3, run_seconds=1.5)
    runs = [hook.create_run(run_details(f"a-{i}")) for i in range(6)]
    runs += [hook.create_run(run_details(f"b-{i}", compartment_id=OTHER_COMPARTMENT)) for i in range(6)]
    seen: list[set[str]] = []

    async def scenario() -> list[dict[str, Any]]:
        waiting = asyncio.ensure_future(_first_payloads([_trigger(run) for run in runs]))
        await asyncio.sleep(0.5)
        seen.append({w.compartment_id for w in active_watchers()})
        return await waiting

    payloads = asyncio.run(scenario())

    assert seen == [{COMPARTMENT, OTHER_COMPARTMENT}]
    assert {p["run"]["state"] for p in payloads} == {"SUCCEEDED"}
    listed = {
        e["query"]["compartmentId"] for e in control.journal() if e["path"].endswith("/runs") and e["method"] == "GET"
    }
    assert listed == {COMPARTMENT, OTHER_COMPARTMENT}


def test_an_old_streaming_run_is_seen_by_state_not_by_age(hook: DataflowHook, control: EmulatorControl) -> None:
    old = hook.create_run(run_details("stream", type="STREAMING"))
    control.settings(accepted_seconds=0.3, run_seconds=4.0)
    runs = [hook.create_run(run_details(f"ok-{i}")) for i in range(6)]
    control.clear_journal()

    async def scenario() -> list[dict[str, Any]]:
        stream = _trigger(old, target_states=["SUCCEEDED"])  # waits past IN_PROGRESS
        waiting = asyncio.ensure_future(_first_payloads([stream, *(_trigger(run) for run in runs)]))
        await asyncio.sleep(2.0)  # many snapshots later, while the newer runs keep sharing worthwhile
        control.finish_run(old["id"], "SUCCEEDED")
        return await waiting

    payloads = asyncio.run(scenario())

    assert payloads[0]["run"]["state"] == "SUCCEEDED"
    gets = [e for e in control.journal() if e["path"].endswith(old["id"]) and e["method"] == "GET"]
    assert len(gets) <= 2, f"the old run was read {len(gets)} times instead of being seen in the snapshots"


def test_forbidden_listing_falls_back_to_per_run_reads(
    hook: DataflowHook, control: EmulatorControl, caplog: pytest.LogCaptureFixture
) -> None:
    control.settings(accepted_seconds=0.3, run_seconds=1.0)
    runs = [hook.create_run(run_details(f"ok-{i}")) for i in range(6)]
    control.add_fault(method="GET", path_regex="/runs$", status=404, code="NotAuthorizedOrNotFound", times=None)
    control.clear_journal()

    payloads = asyncio.run(_first_payloads([_trigger(run) for run in runs]))

    assert {p["run"]["state"] for p in payloads} == {"SUCCEEDED"}
    assert _calls(control)["list"] == 1, "one forbidden list, then per-run reads"
    assert "Cannot list runs in compartment" in caplog.text


def test_transient_list_errors_back_off_for_the_group(hook: DataflowHook, control: EmulatorControl) -> None:
    control.settings(accepted_seconds=0.3, run_seconds=1.5)
    runs = [hook.create_run(run_details(f"ok-{i}")) for i in range(8)]
    control.add_fault(method="GET", path_regex="/runs$", status=429, code="TooManyRequests", times=5)

    payloads = asyncio.run(_first_payloads([_trigger(run) for run in runs]))

    assert {p["run"]["state"] for p in payloads} == {"SUCCEEDED"}
    throttled = [e for e in control.journal() if e["path"].endswith("/runs") and e["status"] == 429]
    assert len(throttled) == 5


def test_a_crashed_watcher_restarts_and_no_wait_is_lost(
    hook: DataflowHook, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    control.settings(accepted_seconds=0.3, run_seconds=1.5)
    runs = [hook.create_run(run_details(f"ok-{i}")) for i in range(6)]
    real_snapshot = watcher_module.snapshot_active_runs
    crashes = []

    async def crashes_once(*args: Any) -> dict[str, Any]:
        if not crashes:
            crashes.append(1)
            raise RuntimeError("a bug in the watcher")
        return await real_snapshot(*args)

    monkeypatch.setattr(watcher_module, "snapshot_active_runs", crashes_once)

    control.clear_journal()
    payloads = asyncio.run(_first_payloads([_trigger(run) for run in runs]))

    assert crashes == [1]
    assert {p["run"]["state"] for p in payloads} == {"SUCCEEDED"}
    assert _calls(control)["list"] >= 4, "the restarted watcher took snapshots again"


def test_cancelled_triggers_leave_no_watcher_and_no_task_behind(hook: DataflowHook, control: EmulatorControl) -> None:
    control.add_behaviour(display_name_regex="^slow", run_seconds=60)
    runs = [hook.create_run(run_details(f"slow-{i}")) for i in range(6)]
    left: list[Any] = []

    async def scenario() -> None:
        waiting = asyncio.ensure_future(_first_payloads([_trigger(run) for run in runs]))
        await asyncio.sleep(1.0)
        assert active_watchers(), "the watcher was running while the triggers waited"
        waiting.cancel()  # what the triggerer does on clear, timeout or on_kill
        await asyncio.gather(waiting, return_exceptions=True)
        await asyncio.sleep(0)
        left.extend(active_watchers())
        left.extend(t for t in asyncio.all_tasks() if t.get_name().startswith("dataflow-run-watcher"))

    asyncio.run(scenario())

    assert left == []
    assert {hook.get_run(run["id"])["state"] for run in runs} == {"IN_PROGRESS"}, "cancelling the wait cancels no run"


def test_a_lone_trigger_polls_its_run_as_before(hook: DataflowHook, control: EmulatorControl) -> None:
    run = hook.create_run(run_details("ok"))
    control.clear_journal()

    payloads = asyncio.run(_first_payloads([_trigger(run)]))

    assert payloads[0]["run"]["state"] == "SUCCEEDED"
    calls = _calls(control)
    assert calls["list"] == 0 and calls["get"] >= 2


def test_lists_failing_for_long_hand_every_wait_back_to_its_own_reads(
    hook: DataflowHook, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chaos soak's stall: every list answered 503 while GETs worked. Failed ticks must not count
    as a live watcher, or its waiters wait for a snapshot that never comes."""
    monkeypatch.setattr(watcher_module, "STALE_GRACE_SECONDS", 1.0)
    control.settings(accepted_seconds=0.3, run_seconds=1.5)
    runs = [hook.create_run(run_details(f"ok-{i}")) for i in range(6)]
    control.add_fault(method="GET", path_regex="/runs$", status=503, code="ServiceUnavailable", times=10_000)

    control.clear_journal()
    payloads = asyncio.run(_first_payloads([_trigger(run) for run in runs], timeout=30.0))

    assert {p["run"]["state"] for p in payloads} == {"SUCCEEDED"}
    assert _calls(control)["get"] >= len(runs), "each run was read on its own"
    assert all(entry["status"] == 503 for entry in control.journal() if entry["path"].endswith("/runs"))


def test_the_watcher_logs_to_the_triggerer_not_to_the_trigger_that_started_it(
    hook: DataflowHook, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The triggerer routes a log line to a trigger's log file by structlog context variables."""
    from structlog.contextvars import bind_contextvars, get_contextvars

    contexts: list[dict[str, Any]] = []
    real_snapshot = watcher_module.snapshot_active_runs

    async def recording(*args: Any) -> Any:
        contexts.append(get_contextvars())
        return await real_snapshot(*args)

    monkeypatch.setattr(watcher_module, "snapshot_active_runs", recording)
    control.settings(accepted_seconds=0.3, run_seconds=1.0)
    triggers = [_trigger(hook.create_run(run_details(f"ok-{i}"))) for i in range(6)]

    async def first(trigger: DataflowRunTrigger, trigger_id: int) -> dict[str, Any]:
        bind_contextvars(trigger_id=trigger_id)  # what the triggerer does in each trigger's task
        async for event in trigger.run():
            return event.payload
        raise AssertionError("the trigger ended without an event")

    async def scenario() -> list[dict[str, Any]]:
        return await asyncio.gather(*(first(trigger, i) for i, trigger in enumerate(triggers)))

    assert {p["run"]["state"] for p in asyncio.run(scenario())} == {"SUCCEEDED"}
    assert contexts and all("trigger_id" not in context for context in contexts)


def test_a_watcher_that_always_crashes_still_leaves_each_wait_at_its_own_pace(
    hook: DataflowHook, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def crashes(*args: Any) -> dict[str, Any]:
        raise RuntimeError("a bug in the watcher")

    monkeypatch.setattr(watcher_module, "snapshot_active_runs", crashes)
    control.settings(accepted_seconds=0.3, run_seconds=1.5)
    runs = [hook.create_run(run_details(f"ok-{i}")) for i in range(6)]

    control.clear_journal()
    payloads = asyncio.run(_first_payloads([_trigger(run) for run in runs]))

    assert {p["run"]["state"] for p in payloads} == {"SUCCEEDED"}
    # ~1.8 s of waiting at poll_interval=0.2 is ~10 reads per run; handed back at once it would be hundreds.
    assert _calls(control)["get"] <= len(runs) * 14, _calls(control)

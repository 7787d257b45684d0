"""Chaos soak on the production topology: a 60-day backfill and a 90-way mapped fan-out (150+ Data Flow
runs of 20-60 s, ~10% FAILED, retries=2) while a triggerer and a Celery worker are SIGKILLed, a scheduler
restarts, the emulator answers with 429/503 bursts and drops create responses, and a user marks deferred
tasks failed. Afterwards the emulator's runs (by their ``airflow_*`` tags), Airflow's REST API and the
triggerers' logs must agree: one run per task try, nothing left running, every wait ended as its run did.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from airflow_provider_dataflow.testing.airflow_stack import ProductionStack
from airflow_provider_dataflow.testing.emulator import DataflowEmulator

pytestmark = [pytest.mark.system, pytest.mark.soak]

BACKFILL_DAG, FAN_OUT_DAG, FAN_OUT_WIDTH = "soak_backfill", "soak_fan_out", 90
BACKFILL_FROM, BACKFILL_TO, BACKFILL_DAYS = "2025-01-01", "2025-03-01", 60
SOAK_TIMEOUT = 480.0  # seconds from the first DAG run to the last
TERMINAL_RUNS = frozenset({"SUCCEEDED", "FAILED", "CANCELED", "STOPPED"})
TERMINAL_TASKS = frozenset({"success", "failed", "upstream_failed", "skipped"})

# Runs that end FAILED on every try (the task fails after 3 tries), or on the first try only.
ALWAYS_FAIL = ("soak-day-20250115", "soak-day-20250210", "soak-map-013", "soak-map-047")
FAIL_ONCE = ("soak-day-20250105", "soak-day-20250120", "soak-day-20250205", "soak-day-20250225")
FAIL_ONCE += ("soak-map-003", "soak-map-021", "soak-map-038", "soak-map-052", "soak-map-066", "soak-map-081")
# Long runs whose deferred tasks the soak marks failed; their runs must end CANCELED.
MARK_FAILED = ("soak-map-030", "soak-map-060", "soak-map-075", "soak-map-088")


def _names(names: tuple[str, ...]) -> str:
    return "^(" + "|".join(names) + ")$"


def _give_runs_their_behaviour(emulator: DataflowEmulator) -> None:
    """First match wins: failures and marked runs first, then 20-60 s by the name's last digit."""
    control = emulator.control
    control.add_behaviour(_names(MARK_FAILED), run_seconds=600, accepted_seconds=2)
    control.add_behaviour(_names(ALWAYS_FAIL), "FAILED", run_seconds=20, lifecycle_details="soak: always fails")
    control.add_behaviour(_names(FAIL_ONCE), "FAILED", run_seconds=20, freeform_tags={"airflow_try_number": "1"})
    for digit in range(10):
        control.add_behaviour(f"^soak-.*{digit}$", run_seconds=20 + digit * 40 / 9, accepted_seconds=2)


@dataclass
class Chaos:
    """Faults fired once each while the load runs, each when its moment has come; counts what it did."""

    stack: ProductionStack
    emulator: DataflowEmulator
    started: float = field(default_factory=time.monotonic)
    done: dict[str, float] = field(default_factory=dict)
    marked: list[tuple[str, int]] = field(default_factory=list)  # (dag run id, map index)
    killed_worker_tasks: list[str] = field(default_factory=list)
    killed_worker: str = ""
    killed_triggerer: str = ""
    killed_trigger_logs: set[str] = field(default_factory=set)
    _pending: dict[str, tuple[str, set[str]]] = field(default_factory=dict)  # a fault's target, found when due

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def step(self, tis: list[dict[str, Any]]) -> None:
        by_state: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for ti in tis:
            by_state[ti["state"] or "none"].append(ti)
        worker_task = self._worker_task(by_state["running"])
        to_mark = [ti for ti in by_state["deferred"] if _display_name(ti) in MARK_FAILED]
        # Marked only once every trigger runs somewhere: a task marked failed while its trigger waits to
        # move off a dead triggerer has no trigger whose on_kill could cancel the run.
        marks_due = len(to_mark) == len(MARK_FAILED) and self._since("restart triggerer") > 10
        faults: list[tuple[str, bool, Callable[[], None]]] = [
            ("api bursts", self.elapsed() > 15, self._api_bursts),
            ("second api bursts", self.elapsed() > 100, self._api_bursts),
            ("kill triggerer", len(by_state["deferred"]) >= 30 and self._busy_triggerer(), self._kill_busy_triggerer),
            ("restart triggerer", self._since("kill triggerer") > 45, self._restart_triggerer),
            ("kill worker", worker_task is not None, lambda: self._kill_worker(*(worker_task or ("", {})))),
            ("restart worker", self._since("kill worker") > 10, self._restart_worker),
            ("restart scheduler-1", self.elapsed() > 90, lambda: self.stack.restart("scheduler-1")),
            ("mark failed", marks_due, lambda: self._mark(to_mark)),
        ]
        for name, due, act in faults:
            if name not in self.done and due:
                act()
                self.done[name] = time.monotonic()

    def _since(self, name: str) -> float:
        return time.monotonic() - self.done[name] if name in self.done else -1.0

    def _api_bursts(self) -> None:
        control = self.emulator.control
        control.add_fault("GET", r"/runs", status=429, times=15, retry_after_seconds=1)
        control.add_fault("GET", r"/runs", status=503, times=10)
        control.add_fault("POST", r"/runs$", status=503, times=3)
        control.add_fault("POST", r"/runs$", action="drop_after", times=3)

    def _busy_triggerer(self) -> bool:
        """Find the triggerer running the most triggers (each has its trigger's log file open), once it runs
        at least ten: deferred tasks reach a triggerer only when one claims their triggers."""
        if "kill triggerer" in self.done or "kill triggerer" in self._pending:
            return True
        name, logs = max(
            ((name, _open_trigger_logs(self.stack.pid(name))) for name in ("triggerer-1", "triggerer-2")),
            key=lambda item: len(item[1]),
        )
        if len(logs) < 10:
            return False
        self._pending["kill triggerer"] = (name, logs)
        return True

    def _kill_busy_triggerer(self) -> None:
        self.killed_triggerer, self.killed_trigger_logs = self._pending.pop("kill triggerer")
        self.stack.kill(self.killed_triggerer)

    def _restart_triggerer(self) -> None:
        self.stack.start_component(self.killed_triggerer)

    def _worker_task(self, running: list[dict[str, Any]]) -> tuple[str, dict[str, Any]] | None:
        """A fan-out task running on a Celery worker right now, and that worker: one whose run exists (it
        submitted and has not deferred yet) if there is one, any after two minutes."""
        if "kill worker" in self.done:
            return None
        if self.elapsed() < 120:
            active = {
                run["displayName"] for run in self.emulator.control.runs() if run["lifecycleState"] != "SUCCEEDED"
            }
            running = [ti for ti in running if _display_name(ti) in active]
        workers = {self.stack.pid(name): name for name in ("worker-1", "worker-2") if name in self.stack.running()}
        for ti in running:
            if ti["dag_id"] == FAN_OUT_DAG and ti["pid"] and _display_name(ti) not in MARK_FAILED:
                try:
                    session = os.getsid(ti["pid"])
                except ProcessLookupError:
                    continue
                if session in workers:
                    return workers[session], ti
        return None

    def _kill_worker(self, worker: str, ti: dict[str, Any]) -> None:
        self.stack.kill(worker, signal.SIGKILL)
        self.killed_worker_tasks.append(f"{ti['dag_run_id']}[{ti['map_index']}]")
        self.killed_worker = worker

    def _restart_worker(self) -> None:
        self.stack.start_component(self.killed_worker)

    def _mark(self, deferred: list[dict[str, Any]]) -> None:
        for ti in deferred:
            self.stack.api.set_task_state(FAN_OUT_DAG, ti["dag_run_id"], "spark", "failed", ti["map_index"])
            self.marked.append((ti["dag_run_id"], ti["map_index"]))


def _open_trigger_logs(session: int) -> set[str]:
    """Trigger log files the processes of a triggerer's session hold open: one per trigger it runs."""
    paths = set()
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error, ProcessLookupError):  # it may exit while we look
            if os.getsid(process.pid) == session:
                paths.update(f.path for f in process.open_files() if ".log.trigger." in f.path)
    return paths


def _display_name(ti: dict[str, Any]) -> str:
    """The run name the soak DAGs give a task instance (see tests/system/dags/chaos_soak.py)."""
    if ti["dag_id"] == FAN_OUT_DAG:
        return f"soak-map-{ti['map_index']:03d}"
    return "soak-day-" + str(ti["logical_date"])[:10].replace("-", "")


def _all_task_instances(stack: ProductionStack) -> list[dict[str, Any]]:
    tis: list[dict[str, Any]] = []
    for dag_id in (BACKFILL_DAG, FAN_OUT_DAG):
        offset = 0
        while True:
            page = stack.api.get(f"/dags/{dag_id}/dagRuns/~/taskInstances", params={"limit": 100, "offset": offset})
            tis.extend(page["task_instances"])
            offset += len(page["task_instances"])
            if not page["task_instances"] or offset >= page["total_entries"]:
                break
    return tis


TryKey = tuple[str, str, str, str]


def _ti_key(dag_id: str, run_id: str, map_index: int | str) -> tuple[str, str, str]:
    return dag_id, run_id, str(map_index)


_TRY_LOG = re.compile(
    r"dag_id=(?P<dag>soak_[^/]+)/run_id=(?P<run>[^/]+)/task_id=spark/(?:map_index=(?P<map>-?\d+)/)?"
    r"attempt=(?P<try>\d+)\.log(?:\.trigger\.(?P<job>\d+)\.log)?$"
)
# What execute_complete logs once per resumed try, whatever the run's end.
_RESUMED = re.compile(r'"event":"Data Flow run \S+ ended [A-Z]+')  # not the exception that repeats it


def _task_logs(stack: ProductionStack) -> tuple[Counter[TryKey], Counter[TryKey], dict[TryKey, set[str]]]:
    """Per task try: events its trigger logged as fired, times the task resumed on a worker, and the
    triggerer jobs that ran its trigger (more than one: the trigger moved)."""
    fired: Counter[TryKey] = Counter()
    resumed: Counter[TryKey] = Counter()
    triggerers: dict[TryKey, set[str]] = defaultdict(set)
    for path in Path(stack.home / "logs").rglob("attempt=*.log*"):
        match = _TRY_LOG.search(path.as_posix())
        if match is None:
            continue
        key = (match["dag"], match["run"], match["map"] or "-1", match["try"])
        text = path.read_text(errors="replace")
        if match["job"]:
            triggerers[key].add(match["job"])
            fired[key] += text.count("Trigger fired event")
        else:
            resumed[key] += len(_RESUMED.findall(text))
    return fired, resumed, triggerers


def _last_trigger_events(stack: ProductionStack, tis: list[dict[str, Any]]) -> dict[str, int]:
    """How many deferred tasks' newest trigger logs end with each event (run ids cut), to see a stall's shape."""
    deferred = {(ti["dag_id"], ti["dag_run_id"], str(ti["map_index"]), str(ti["try_number"])) for ti in tis
                if ti["state"] == "deferred"}  # fmt: skip
    newest: dict[TryKey, tuple[float, Path]] = {}
    for path in Path(stack.home / "logs").rglob("attempt=*.log.trigger.*.log"):
        match = _TRY_LOG.search(path.as_posix())
        key = match and (match["dag"], match["run"], match["map"] or "-1", match["try"])
        if key in deferred and path.stat().st_mtime >= newest.get(key, (0.0, path))[0]:
            newest[key] = (path.stat().st_mtime, path)
    events: Counter[str] = Counter()
    for _, path in newest.values():
        lines = path.read_text(errors="replace").splitlines()
        event = re.search(r'"event":"([^"]*)"', lines[-1]) if lines else None
        events[re.sub(r"ocid1\.\S+", "<run>", event[1] if event else "<empty>")[:120]] += 1
    return dict(events.most_common(5))


def test_chaos_soak_loses_nothing(
    production_stack: ProductionStack, emulator: DataflowEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    stack, control = production_stack, emulator.control
    wall_start = time.monotonic()
    _give_runs_their_behaviour(emulator)
    stack.api.wait_for_dag(BACKFILL_DAG)
    stack.api.wait_for_dag(FAN_OUT_DAG)
    chaos = Chaos(stack, emulator)
    stack.api.trigger_dag(FAN_OUT_DAG)
    stack.cli(
        "backfill", "create", "--dag-id", BACKFILL_DAG, "--from-date", BACKFILL_FROM, "--to-date", BACKFILL_TO,
        "--max-active-runs", "64",
    )  # fmt: skip

    deadline = time.monotonic() + SOAK_TIMEOUT
    while True:
        tis = _all_task_instances(stack)
        chaos.step(tis)
        finished = len(tis) == BACKFILL_DAYS + FAN_OUT_WIDTH and all(ti["state"] in TERMINAL_TASKS for ti in tis)
        if finished and len(chaos.done) == 8:
            break
        if time.monotonic() > deadline:
            states = Counter(ti["state"] for ti in tis)
            pytest.fail(
                f"soak not done after {SOAK_TIMEOUT:.0f} s: tasks {dict(states)}, faults done at "
                f"{ {name: round(at - chaos.started) for name, at in chaos.done.items()} } s; "
                f"last trigger log events of deferred tasks: {_last_trigger_events(stack, tis)}"
            )
        time.sleep(2)
    # A cancel takes the emulator a moment: CANCELING -> CANCELED.
    cancel_deadline = time.monotonic() + 30
    while any(run["lifecycleState"] == "CANCELING" for run in control.runs()) and time.monotonic() < cancel_deadline:
        time.sleep(1)
    wall = time.monotonic() - wall_start

    runs = [run for run in control.runs() if run["displayName"].startswith("soak-")]
    tags = ("airflow_dag_id", "airflow_run_id", "airflow_map_index", "airflow_try_number")
    per_try = Counter(tuple(run["freeformTags"].get(tag) for tag in tags) for run in runs)
    duplicates = sum(count - 1 for count in per_try.values())
    runs_of: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        t = run["freeformTags"]
        runs_of[_ti_key(t["airflow_dag_id"], t["airflow_run_id"], t["airflow_map_index"])].append(run)
    final = {_ti_key(ti["dag_id"], ti["dag_run_id"], ti["map_index"]): ti for ti in tis}
    left_running = [run for run in runs if run["lifecycleState"] not in TERMINAL_RUNS]
    unclaimed = [run for key, group in runs_of.items() if key not in final for run in group]
    abandoned = [
        older
        for group in runs_of.values()
        for older in group
        for newer in group
        if int(newer["freeformTags"]["airflow_try_number"]) > int(older["freeformTags"]["airflow_try_number"])
        and older["timeUpdated"] > newer["timeCreated"]  # still active when a later try started another run
    ]
    orphans = len(left_running) + len(unclaimed) + len(abandoned)
    marked = {_ti_key(FAN_OUT_DAG, run_id, map_index) for run_id, map_index in chaos.marked}

    mismatched = []
    for key, ti in final.items():
        group = sorted(runs_of.get(key, []), key=lambda run: int(run["freeformTags"]["airflow_try_number"]))
        last = group[-1]["lifecycleState"] if group else None
        expected = {"SUCCEEDED": "success", "FAILED": "failed", "CANCELED": "failed"}.get(str(last))
        if ti["state"] != expected or (key in marked) != (last == "CANCELED"):
            mismatched.append((key, ti["state"], ti["try_number"], [run["lifecycleState"] for run in group]))

    fired, resumed, triggerers = _task_logs(stack)
    moved = sum(1 for jobs in triggerers.values() if len(jobs) > 1)
    # A trigger fires at most once and its task resumes at most once, per try; a killed triggerer may lose
    # the log line of an event it did persist, so the resume on the worker is the proof it fired.
    not_once = {key: (fired[key], resumed[key]) for key in fired | resumed if fired[key] > 1 or resumed[key] > 1}
    # The try each task instance ended with resumed from its trigger exactly once.
    final_not_resumed = [
        key for key, ti in final.items() if key not in marked and resumed[(*key, str(ti["try_number"]))] != 1
    ]

    faults = {rule["status"] if rule["action"] == "respond" else rule["action"]: 0 for rule in control.faults()}
    for rule in control.faults():
        faults[rule["status"] if rule["action"] == "respond" else rule["action"]] += rule["applied"]
    table = [
        ("Data Flow runs", len(runs)),
        ("task instances", len(final)),
        ("task tries", sum(ti["try_number"] for ti in final.values())),
        ("runs FAILED / CANCELED", f"{sum(r['lifecycleState'] == 'FAILED' for r in runs)} / "
                                   f"{sum(r['lifecycleState'] == 'CANCELED' for r in runs)}"),
        *((f"emulator fault {kind}", count) for kind, count in faults.items()),
        ("triggerer SIGKILL / restart", "1 / 1"),
        ("triggers on the killed triggerer", len(chaos.killed_trigger_logs)),
        ("Celery worker SIGKILL mid-task / restart", f"{len(chaos.killed_worker_tasks)} / 1"),
        ("scheduler restart", 1),
        ("tasks marked failed while deferred", len(chaos.marked)),
        ("duplicates", duplicates),
        ("orphans", orphans),
        ("triggers moved", moved),
        ("triggers not fired exactly once", len(not_once) + len(final_not_resumed)),
        ("wall time (s)", f"{wall:.0f}"),
    ]  # fmt: skip
    with capsys.disabled():  # CI shows the table on success too
        print("\nchaos soak summary\n" + "\n".join(f"| {name:<42} | {value!s:>9} |" for name, value in table))

    assert len(runs) >= 150
    assert duplicates == 0, [key for key, count in per_try.items() if count > 1]
    assert orphans == 0, (left_running, unclaimed, abandoned)
    assert mismatched == [], mismatched
    assert len(chaos.marked) == len(MARK_FAILED)
    assert chaos.killed_worker_tasks
    assert moved >= 1
    assert not_once == {}, not_once
    assert final_not_resumed == [], final_not_resumed

"""One triggerer waiting for N runs in one compartment: per-run polling against the shared run watcher.

Both scenarios wait for the same workload, each with its own fresh emulator process and in a fresh
Python process of its own (so memory and CPU figures do not mix):

- per-run polling: the previous release's trigger loop (one GET per run per interval), kept here as
  the baseline, with the request budget lifted so it behaves as it did;
- shared watcher: today's ``DataflowRunTrigger`` (few list calls per compartment per interval, one
  GET per run at its end, the default request budget).

The runs are created in bulk through the emulator's control API, all before the wait starts, and end
spread over ``--spread`` seconds (5% of them FAILED). The table shows, for both: API calls per
interval in steady state and in total, the achieved observation interval per run (its largest gap
between two observations), terminal-to-event latency, event-loop lag, CPU, RSS per watched run,
missed / duplicated / wrong events, and what the emulator served. Lines under the table name any
limit other than the code under test (the emulator's CPU, the client's SDK threads).

    .venv/bin/python benchmarks/triggerer_scale.py --runs 5000 --poll-interval 30 --run-seconds 90
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import json
import math
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

COMPARTMENT = "ocid1.compartment.oc1..scale"
CONN_ID = "scale"
SCENARIOS = ("per_run", "shared")
BUCKETS = 40  # end times spread over this many waves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--poll-interval", type=float, default=30.0)
    parser.add_argument("--run-seconds", type=float, default=90.0, help="shortest run (IN_PROGRESS time)")
    parser.add_argument("--spread", type=float, default=60.0, help="runs end over this many more seconds")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    parser.add_argument("--scenario", choices=SCENARIOS, help=argparse.SUPPRESS)
    parser.add_argument("--emulator", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(asyncio.run(measure(args))))
        return
    results = compare(args)
    print_table(args, results)
    if args.json:
        print(json.dumps(results))


# -- orchestration (parent process) -------------------------------------------------------------


def compare(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    from airflow_provider_dataflow.testing.credentials import generate_test_credentials
    from airflow_provider_dataflow.testing.emulator import emulator_process

    creds = generate_test_credentials()
    results = {}
    for scenario in args.scenarios.split(","):
        with emulator_process(creds, "--accepted-seconds", "2", "--journal-limit", "0") as url:
            env = {**os.environ, f"AIRFLOW_CONN_{CONN_ID.upper()}": creds.airflow_connection_json(url, COMPARTMENT)}
            env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
            if scenario == "per_run":  # the baseline predates the request budget
                env["AIRFLOW__OCI_DATAFLOW__MAX_REQUESTS_PER_SECOND"] = "1000000"
            _create_workload(url, args)
            command = [sys.executable, __file__, "--scenario", scenario, "--emulator", url]
            command += ["--runs", str(args.runs), "--poll-interval", str(args.poll_interval)]
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"scenario {scenario} failed:\n{done.stderr[-3000:]}")
            results[scenario] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


def _create_workload(url: str, args: argparse.Namespace) -> None:
    """N runs in BUCKETS waves of end times; every twentieth wave FAILED. Timed from the wait's start."""
    from airflow_provider_dataflow.testing.emulator import EmulatorControl

    control = EmulatorControl(url, timeout=120)
    per_bucket = [args.runs // BUCKETS + (1 if b < args.runs % BUCKETS else 0) for b in range(BUCKETS)]
    for bucket in range(BUCKETS):
        outcome = "FAILED" if bucket % 20 == 7 else "SUCCEEDED"
        seconds = args.run_seconds + args.spread * bucket / BUCKETS
        control.add_behaviour(f"^w{bucket:02d}-", outcome, run_seconds=seconds, lifecycle_details="injected")
    for bucket, count in enumerate(per_bucket):
        if count:
            control.create_runs(count, COMPARTMENT, display_name_prefix=f"w{bucket:02d}-")


# -- measurement (scenario process) -------------------------------------------------------------


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    import logging

    logging.disable(logging.INFO)  # per-run state lines would dominate the measurement
    from airflow.sdk import BaseHook

    from airflow_provider_dataflow.hooks.dataflow import DataflowHook
    from airflow_provider_dataflow.testing.emulator import EmulatorControl
    from airflow_provider_dataflow.triggers.dataflow import DataflowRunTrigger  # noqa: F401 (loaded, as in a triggerer)

    control = EmulatorControl(args.emulator, timeout=120)
    run_ids = [run["id"] for run in control.runs()]
    # A triggerer has its connection machinery, the SDK and a client loaded already: not per-run costs.
    await BaseHook.aget_connection(CONN_ID)
    await DataflowHook(CONN_ID).aget_run(run_ids[0])
    import gc as collector

    collector.collect()
    calls = _instrument_hook()
    gc_pauses = _record_gc_pauses()
    lags: list[tuple[float, float, float]] = []  # (lag, started, ended)
    stop = asyncio.Event()

    async def watchdog() -> None:
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            after = time.perf_counter()
            lags.append((after - before - 0.005, before, after))

    rss_before = _rss_bytes()
    emulator_before = control.stats()
    events: dict[str, list[tuple[float, str]]] = {run_id: [] for run_id in run_ids}
    waiter = _per_run_wait if args.scenario == "per_run" else _shared_wait
    cpu, started = time.process_time(), time.time()
    watch = asyncio.create_task(watchdog())
    waits = []
    for run_id in run_ids:  # as the triggerer starts triggers: one task per loop turn
        waits.append(asyncio.create_task(waiter(run_id, args.poll_interval, events[run_id])))
        await asyncio.sleep(0)
    await asyncio.sleep(min(args.poll_interval + 1, 10))
    rss_watching = _rss_bytes()
    await asyncio.gather(*waits)
    wall, cpu = time.time() - started, time.process_time() - cpu
    stop.set()
    await watch
    emulator_after = control.stats()
    final = {run["id"]: run for run in control.runs()}
    return _figures(
        args, started, wall, cpu, lags, gc_pauses, calls, events, final, emulator_before, emulator_after
    ) | {"rss_per_run_bytes": (rss_watching - rss_before) / max(1, len(run_ids))}


async def _shared_wait(run_id: str, poll_interval: float, events: list[tuple[float, str]]) -> None:
    from airflow_provider_dataflow.triggers.dataflow import DataflowRunTrigger

    trigger = DataflowRunTrigger(run_id, oci_conn_id=CONN_ID, poll_interval=poll_interval, compartment_id=COMPARTMENT)
    async for event in trigger.run():
        events.append((time.time(), str((event.payload.get("run") or {}).get("state"))))


async def _per_run_wait(run_id: str, poll_interval: float, events: list[tuple[float, str]]) -> None:
    """The previous release's trigger loop: a GET per run per interval, with backoff on transient errors."""
    from airflow_provider_dataflow.exceptions import DataflowServiceError
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook
    from airflow_provider_dataflow.runs.backoff import Backoff
    from airflow_provider_dataflow.runs.states import default_target_states, wait_is_over

    hook, backoff = DataflowHook(CONN_ID), Backoff.for_polling(poll_interval)
    while True:
        try:
            run = await hook.aget_run(run_id)
        except DataflowServiceError as err:
            if not err.transient:
                events.append((time.time(), "ERROR"))
                return
            await asyncio.sleep(backoff.next_delay(err.retry_after))
            continue
        backoff.reset()
        if wait_is_over(run.get("state"), default_target_states()):
            events.append((time.time(), str(run.get("state"))))
            return
        await asyncio.sleep(poll_interval)


def _instrument_hook() -> dict[str, list[Any]]:
    """Record when the provider observed what: (time, run id) per GET, (time, ids) per list page."""
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook

    calls: dict[str, list[Any]] = {"get": [], "list": []}
    acall = DataflowHook.acall

    async def recorded(self: DataflowHook, operation: Any) -> Any:
        result = await acall(self, operation)
        if isinstance(result, tuple):  # a list page: (summaries, next page)
            calls["list"].append((time.time(), [summary.id for summary in result[0]]))
        elif isinstance(result, dict) and "id" in result:  # a run
            calls["get"].append((time.time(), result["id"]))
        return result

    DataflowHook.acall = recorded  # type: ignore[method-assign]
    return calls


def _figures(
    args: argparse.Namespace,
    started: float,
    wall: float,
    cpu: float,
    lags: list[tuple[float, float, float]],
    gc_pauses: list[tuple[float, float]],
    calls: dict[str, list[Any]],
    events: dict[str, list[tuple[float, str]]],
    final: dict[str, dict[str, Any]],
    emulator_before: dict[str, Any],
    emulator_after: dict[str, Any],
) -> dict[str, Any]:
    ended = {run_id: _timestamp(run["timeUpdated"]) for run_id, run in final.items()}
    observed: dict[str, list[float]] = {run_id: [] for run_id in final}
    for at, run_id in calls["get"]:
        observed[run_id].append(at)
    for at, ids in calls["list"]:
        for run_id in ids:
            observed[run_id].append(at)
    gaps = [_largest_gap(sorted(observed[run_id]), started, ended[run_id]) for run_id in final]
    latencies = sorted(run_events[0][0] - ended[run_id] for run_id, run_events in events.items() if run_events)
    # Whole intervals, offset by half of one so that snapshots (taken about every interval since the
    # start) fall inside, never on a boundary; they end before the first run does.
    steady_start = started + args.poll_interval / 2
    intervals = math.floor((min(ended.values()) - 1.0 - steady_start) / args.poll_interval)
    steady_end = steady_start + intervals * args.poll_interval
    steady_calls = sum(1 for kind in calls.values() for at, _ in kind if steady_start <= at < steady_end)
    gc_pauses.sort()
    outside_gc = sorted(max(0.0, lag - _gc_overlap(gc_pauses, begun, ended_at)) for lag, begun, ended_at in lags)
    all_lags = sorted(lag for lag, _, _ in lags)
    served = emulator_after["apiRequests"] - emulator_before["apiRequests"]
    return {
        "runs": len(final),
        "wall_s": wall,
        "calls_total": len(calls["get"]) + len(calls["list"]),
        "gets_total": len(calls["get"]),
        "lists_total": len(calls["list"]),
        "calls_per_interval": steady_calls / intervals if intervals > 0 else math.nan,
        "observation_gap_p50_s": _pct(sorted(gaps), 0.5),
        "observation_gap_max_s": max(gaps),
        "latency_p50_s": _pct(latencies, 0.5),
        "latency_p95_s": _pct(latencies, 0.95),
        "lag_p50_ms": _pct(all_lags, 0.5) * 1000,
        "lag_p99_ms": _pct(all_lags, 0.99) * 1000,
        "lag_max_ms": all_lags[-1] * 1000,
        "lag_max_outside_gc_ms": outside_gc[-1] * 1000 if outside_gc else math.nan,
        "gc_max_ms": max((end - start for start, end in gc_pauses), default=0.0) * 1000,
        "cpu_s": cpu,
        "missed": sum(1 for run_events in events.values() if not run_events),
        "duplicated": sum(1 for run_events in events.values() if len(run_events) > 1),
        "wrong_state": sum(1 for r, e in events.items() if e and e[0][1] != final[r]["lifecycleState"]),
        "emulator_rps": served / wall,
        "emulator_cpu_share": (emulator_after["cpuSeconds"] - emulator_before["cpuSeconds"]) / wall,
    }


def _largest_gap(times: list[float], started: float, ended: float) -> float:
    """The longest stretch of the wait without an observation, up to the first one after the run ended."""
    points = [started, *(t for t in times if started <= t)]
    after_end = next((t for t in points if t >= ended), None)
    points = [t for t in points if t < ended] + ([after_end] if after_end is not None else [])
    return max((b - a for a, b in itertools.pairwise(points)), default=0.0)


def _gc_overlap(pauses: list[tuple[float, float]], begun: float, ended: float) -> float:
    """Seconds of a watchdog sample spent in garbage-collector pauses (pauses sorted by start)."""
    index = bisect.bisect_right(pauses, (ended, math.inf))
    return sum(max(0.0, min(end, ended) - max(start, begun)) for start, end in pauses[max(0, index - 8) : index])


def _pct(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(len(values) * share))] if values else math.nan


def _timestamp(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def _rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _record_gc_pauses() -> list[tuple[float, float]]:
    """The collector stops every thread whoever allocated, so it bounds how low the worst lag can be."""
    import gc

    pauses: list[tuple[float, float]] = []
    started = [0.0]

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append((started[0], time.perf_counter()))

    gc.callbacks.append(callback)
    return pauses


# -- report -------------------------------------------------------------------------------------

ROWS = (
    ("API calls per interval (steady)", "calls_per_interval", "{:.1f}"),
    ("API calls in total", "calls_total", "{:d}"),
    ("  of which GET /runs/{id}", "gets_total", "{:d}"),
    ("  of which list pages", "lists_total", "{:d}"),
    ("observation gap per run, p50 (s)", "observation_gap_p50_s", "{:.1f}"),
    ("observation gap per run, max (s)", "observation_gap_max_s", "{:.1f}"),
    ("terminal-to-event latency p50 (s)", "latency_p50_s", "{:.1f}"),
    ("terminal-to-event latency p95 (s)", "latency_p95_s", "{:.1f}"),
    ("event-loop lag p50 (ms)", "lag_p50_ms", "{:.1f}"),
    ("event-loop lag p99 (ms)", "lag_p99_ms", "{:.1f}"),
    ("event-loop lag max (ms)", "lag_max_ms", "{:.0f}"),
    ("  worst GC pause (ms)", "gc_max_ms", "{:.0f}"),
    ("  lag max, GC pauses taken out (ms)", "lag_max_outside_gc_ms", "{:.0f}"),
    ("CPU (s)", "cpu_s", "{:.1f}"),
    ("RSS per watched run (KB)", "rss_per_run_bytes", "{:.1f}"),
    ("missed / duplicated / wrong events", None, ""),
    ("emulator served (requests/s)", "emulator_rps", "{:.0f}"),
    ("emulator CPU (share of a core)", "emulator_cpu_share", "{:.0%}"),
    ("all waits ended (s)", "wall_s", "{:.0f}"),
)


def print_table(args: argparse.Namespace, results: dict[str, dict[str, Any]]) -> None:
    names = [s for s in SCENARIOS if s in results]
    print(f"{args.runs} runs in one compartment, poll {args.poll_interval:g} s, runs end after "
          f"{args.run_seconds:g}-{args.run_seconds + args.spread:g} s")  # fmt: skip
    print(f"| metric | {' | '.join(n.replace('_', '-') for n in names)} |")
    print(f"|---|{'---:|' * len(names)}")
    for label, key, fmt in ROWS:
        if key is None:
            cells = [f"{r['missed']} / {r['duplicated']} / {r['wrong_state']}" for r in map(results.get, names)]
        elif key == "rss_per_run_bytes":
            cells = [fmt.format(results[n][key] / 1024) for n in names]
        else:
            cells = [fmt.format(results[n][key]) for n in names]
        print(f"| {label} | {' | '.join(str(c) for c in cells)} |")
    print("GC pauses stop every thread and scale with every object in the process (Airflow and the SDK")
    print("loaded), not with the code under test; the row below them is the lag the code under test causes.")
    for name in names:
        result = results[name]
        if result["emulator_cpu_share"] > 0.8:
            print(
                f"note: {name}: the emulator used {result['emulator_cpu_share']:.0%} of a core: it may limit this run"
            )
        if result["observation_gap_max_s"] > 1.5 * args.poll_interval + 2:
            print(
                f"note: {name}: runs went {result['observation_gap_max_s']:.0f} s unobserved although the poll "
                f"interval is {args.poll_interval:g} s: asked {args.runs / args.poll_interval:.0f} requests/s, the "
                f"client (4 SDK threads) and emulator together served {result['emulator_rps']:.0f}/s"
            )


if __name__ == "__main__":
    main()

"""One triggerer waiting for N runs that share one OCI Logging log: with their lines streamed, and without.

Both scenarios wait for the same workload, each with a fresh emulator process and in a fresh Python
process of its own (so memory and CPU figures do not mix):

- ``off``: today's deferred wait (``DataflowRunTrigger``, polls through the shared run watcher);
- ``stream``: the same triggers with ``log_stream`` (the operator's ``stream_logs=True``): one shared
  search of the log per interval for all runs, lines written to each trigger's logger, a drain after
  the run's end.

The runs inherit one application's ``applicationLogConfig``, write ``--lines-per-second`` lines each
(``--chatty`` of them far more, to show the per-interval cap at work) and end spread over ``--spread``
seconds. The table shows, side by side: search calls per interval in steady state, lines delivered and
dropped (with the reason), lines missing or shown twice, event-loop lag p99 and max, CPU, RSS per run,
and when each wait ended after its run. Lines under it name what else limits the figures.

    .venv/bin/python benchmarks/log_streaming.py --runs 1000 --poll-interval 30 --run-seconds 90 --spread 60
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import json
import math
import os
import re
import resource
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

COMPARTMENT = "ocid1.compartment.oc1..logstreaming"
APPLICATION = "ocid1.dataflowapplication.oc1.iad.aaaalogstreamingbenchmark"
LOG_GROUP = "ocid1.loggroup.oc1.iad.aaaalogstreamingbenchmark"
LOG = "ocid1.log.oc1.iad.aaaalogstreamingbenchmark"
CONN_ID = "logs"
SCENARIOS = ("off", "stream")
BUCKETS = 20  # end times spread over this many waves
LINE = re.compile(r"\] INFO (?:driver|executor-\d+) line (\d+)$")
SKIPPED = re.compile(r"\.\.\. (\d+) lines skipped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--poll-interval", type=float, default=30.0)
    parser.add_argument("--run-seconds", type=float, default=90.0, help="shortest run (IN_PROGRESS time)")
    parser.add_argument("--spread", type=float, default=60.0, help="runs end over this many more seconds")
    parser.add_argument("--lines-per-second", type=float, default=0.1, help="lines each run writes per second")
    parser.add_argument("--chatty", type=int, default=2, help="runs writing 40 lines a second (over the cap)")
    parser.add_argument("--ingestion-lag", type=float, default=5.0)
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
            _create_workload(url, args)
            command = [sys.executable, __file__, "--scenario", scenario, "--emulator", url]
            command += ["--runs", str(args.runs), "--poll-interval", str(args.poll_interval)]
            command += ["--lines-per-second", str(args.lines_per_second), "--chatty", str(args.chatty)]
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"scenario {scenario} failed:\n{done.stderr[-3000:]}")
            results[scenario] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


def _create_workload(url: str, args: argparse.Namespace) -> None:
    """N runs of one application (its log config inherited), in BUCKETS waves of end times."""
    from airflow_provider_dataflow.testing.emulator import EmulatorControl

    control = EmulatorControl(url, timeout=120)
    control.register_application(
        APPLICATION, COMPARTMENT, application_log_config={"logGroupId": LOG_GROUP, "logId": LOG}
    )
    lag = args.ingestion_lag
    control.add_behaviour(
        "^chatty-", run_seconds=args.run_seconds, log_lines_per_second=40, log_ingestion_lag_seconds=lag
    )
    for bucket in range(BUCKETS):
        seconds = args.run_seconds + args.spread * bucket / BUCKETS
        control.add_behaviour(
            f"^w{bucket:02d}-", run_seconds=seconds, log_lines_per_second=args.lines_per_second,
            log_ingestion_lag_seconds=lag,
        )  # fmt: skip
    if args.chatty:
        control.create_runs(args.chatty, COMPARTMENT, display_name_prefix="chatty-", application_id=APPLICATION)
    quiet = args.runs - args.chatty
    for bucket in range(BUCKETS):
        count = quiet // BUCKETS + (1 if bucket < quiet % BUCKETS else 0)
        if count:
            control.create_runs(count, COMPARTMENT, display_name_prefix=f"w{bucket:02d}-", application_id=APPLICATION)


# -- measurement (scenario process) -------------------------------------------------------------


class TaskLog:
    """A trigger's logger: counts lines and keeps the numbers of its run's lines (to find gaps and repeats)."""

    __slots__ = ("notices", "numbers")

    def __init__(self) -> None:
        self.numbers: list[int] = []
        self.notices: list[str] = []

    def info(self, message: str, *args: Any) -> None:
        line = message % args if args else message
        if match := LINE.search(line):
            self.numbers.append(int(match.group(1)))
        elif line.startswith(("...", "Cannot", "Lines written")):
            self.notices.append(line)

    warning = info


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    import gc
    import logging

    logging.disable(logging.INFO)  # the provider's own INFO lines would dominate; the task logs are TaskLogs
    from airflow.sdk import BaseHook

    from airflow_provider_dataflow.hooks.dataflow import DataflowHook
    from airflow_provider_dataflow.pipeline.logs import (
        deferred,  # noqa: F401 (loaded, as in a triggerer)
        sources,  # noqa: F401
    )
    from airflow_provider_dataflow.testing.emulator import EmulatorControl
    from airflow_provider_dataflow.triggers.dataflow import DataflowRunTrigger  # noqa: F401

    control = EmulatorControl(args.emulator, timeout=120)
    runs = control.runs()
    await BaseHook.aget_connection(CONN_ID)
    await DataflowHook(CONN_ID).aget_run(runs[0]["id"])  # the SDK and a client are loaded in a triggerer already
    gc.collect()
    searches = _count_searches()
    gc_pauses = _record_gc_pauses()
    lags: list[tuple[float, float, float]] = []  # (lag, started, ended)
    loop_cpu: list[float] = []  # the event loop's thread's own CPU time per sample: its work, not waiting
    stop = asyncio.Event()

    async def watchdog() -> None:
        while not stop.is_set():
            before, cpu_before = time.perf_counter(), time.thread_time()
            await asyncio.sleep(0.005)
            after = time.perf_counter()
            lags.append((after - before - 0.005, before, after))
            loop_cpu.append(time.thread_time() - cpu_before)

    rss_before = _rss_bytes()
    logs = {run["id"]: TaskLog() for run in runs}
    ended: dict[str, float] = {}
    cpu, started = time.process_time(), time.time()
    watch = asyncio.create_task(watchdog())
    waits = []
    for run in runs:  # as the triggerer starts triggers: one task per loop turn
        stream = args.scenario == "stream"
        waits.append(asyncio.create_task(_wait(run, args.poll_interval, logs[run["id"]], ended, stream)))
        await asyncio.sleep(0)
    await asyncio.sleep(min(args.poll_interval + 1, 10))
    rss_watching = _rss_bytes()
    await asyncio.gather(*waits)
    wall, cpu = time.time() - started, time.process_time() - cpu
    stop.set()
    await watch
    final = {run["id"]: run for run in control.runs()}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return _figures(args, started, wall, cpu, lags, gc_pauses, searches, logs, ended, final) | {
        "rss_per_run_bytes": (rss_watching - rss_before) / len(runs),
        "peak_rss_per_run_bytes": (peak - rss_before) / len(runs),
        "loop_cpu_max_ms": max(loop_cpu) * 1000,
    }


async def _wait(run: dict[str, Any], interval: float, log: TaskLog, ended: dict[str, float], stream: bool) -> None:
    """One deferred task: ``DataflowRunTrigger`` as the operator defers it, with or without ``stream_logs``."""
    from airflow_provider_dataflow.pipeline.logs.sources import LogSource, LogStream
    from airflow_provider_dataflow.triggers.dataflow import DataflowRunTrigger

    logs = LogStream(run["opcRequestId"], _timestamp(run["timeCreated"]), (LogSource(COMPARTMENT, LOG_GROUP, LOG),))
    trigger = DataflowRunTrigger(
        run["id"], oci_conn_id=CONN_ID, poll_interval=interval, compartment_id=COMPARTMENT,
        log_stream=logs.to_json() if stream else None,
    )  # fmt: skip
    trigger._log = log  # what Airflow's triggerer routes to the task's log
    async for _event in trigger.run():
        ended[run["id"]] = time.time()


def _count_searches() -> list[tuple[float, int]]:
    """(time, records) per search page the hook performed."""
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook
    from airflow_provider_dataflow.hooks.operations import CallKind

    pages: list[tuple[float, int]] = []
    acall = DataflowHook.acall

    async def counted(self: DataflowHook, operation: Any) -> Any:
        result = await acall(self, operation)
        if operation.kind is CallKind.LOGS:
            pages.append((time.time(), len(result[0])))
        return result

    DataflowHook.acall = counted  # type: ignore[method-assign]
    return pages


def _figures(
    args: argparse.Namespace, started: float, wall: float, cpu: float, lags: list[tuple[float, float, float]],
    gc_pauses: list[tuple[float, float]], searches: list[tuple[float, int]], logs: dict[str, TaskLog],
    ended: dict[str, float], final: dict[str, dict[str, Any]],
) -> dict[str, Any]:  # fmt: skip
    run_end = {run_id: _timestamp(run["timeUpdated"]) for run_id, run in final.items()}
    first_end = min(run_end.values())
    steady_start = started + args.poll_interval  # after the first search of every run's window
    intervals = math.floor((first_end - steady_start) / args.poll_interval)
    steady = [at for at, _ in searches if steady_start <= at < steady_start + intervals * args.poll_interval]
    written = {run_id: _written(run, args.lines_per_second) for run_id, run in final.items()}
    missing = repeated = out_of_order = 0
    for run_id, log in logs.items():
        numbers = log.numbers
        repeated += len(numbers) - len(set(numbers))
        out_of_order += sum(1 for a, b in itertools.pairwise(numbers) if b < a)
        missing += written[run_id] - len(set(numbers)) if args.scenario == "stream" else 0
    skipped = sum(int(m.group(1)) for log in logs.values() for n in log.notices if (m := SKIPPED.match(n)))
    gc_pauses.sort()
    outside_gc = sorted(max(0.0, lag - _gc_overlap(gc_pauses, begun, ended_at)) for lag, begun, ended_at in lags)
    all_lags = sorted(lag for lag, _, _ in lags)
    after_end = sorted(ended[run_id] - run_end[run_id] for run_id in ended)
    return {
        "runs": len(final),
        "wall_s": wall,
        "search_calls_per_interval": len(steady) / intervals if intervals > 0 else math.nan,
        "search_calls_total": len(searches),
        "records_read": sum(count for _, count in searches),
        "lines_written": sum(written.values()),
        "lines_delivered": sum(len(log.numbers) for log in logs.values()),
        "lines_skipped_cap": skipped,
        "lines_missing": missing - skipped,
        "lines_repeated": repeated,
        "lines_out_of_order": out_of_order,
        "notices": sum(len(log.notices) for log in logs.values()),
        "lag_p99_ms": _pct(all_lags, 0.99) * 1000,
        "lag_max_ms": all_lags[-1] * 1000,
        "lag_max_outside_gc_ms": outside_gc[-1] * 1000,
        "gc_max_ms": max((end - start for start, end in gc_pauses), default=0.0) * 1000,
        "gc_pauses": len(gc_pauses),
        "gc_full_collections": len(_FULL_COLLECTIONS),
        "cpu_s": cpu,
        "event_after_end_p50_s": _pct(after_end, 0.5),
        "event_after_end_max_s": after_end[-1],
        "waits_ended": len(ended),
    }


def _written(run: dict[str, Any], lines_per_second: float) -> int:
    """Lines the emulator wrote for the run: its rate over its IN_PROGRESS time (line i at i / rate)."""
    rate = 40.0 if run["displayName"].startswith("chatty-") else lines_per_second
    return math.ceil(round(run["runDurationInMilliseconds"] / 1000 * rate, 9))


def _gc_overlap(pauses: list[tuple[float, float]], begun: float, ended: float) -> float:
    """Seconds of a watchdog sample spent in garbage-collector pauses (pauses sorted by start)."""
    index = bisect.bisect_right(pauses, (ended, math.inf))
    return sum(max(0.0, min(end, ended) - max(start, begun)) for start, end in pauses[max(0, index - 8) : index])


_FULL_COLLECTIONS: list[float] = []


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
            if info["generation"] == 2:
                _FULL_COLLECTIONS.append(time.perf_counter() - started[0])

    gc.callbacks.append(callback)
    return pauses


def _pct(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(len(values) * share))] if values else math.nan


def _timestamp(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def _rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# -- report -------------------------------------------------------------------------------------

ROWS = (
    ("search calls per interval (steady)", "search_calls_per_interval", "{:.1f}"),
    ("search calls in total", "search_calls_total", "{:d}"),
    ("records read", "records_read", "{:d}"),
    ("lines written by the runs", "lines_written", "{:d}"),
    ("lines delivered to task logs", "lines_delivered", "{:d}"),
    ("  dropped: over the per-interval cap (said in the log)", "lines_skipped_cap", "{:d}"),
    ("  missing / shown twice / out of order", None, ""),
    ("event-loop lag p99 (ms)", "lag_p99_ms", "{:.1f}"),
    ("event-loop lag max (ms)", "lag_max_ms", "{:.0f}"),
    ("  worst GC pause (ms)", "gc_max_ms", "{:.0f}"),
    ("  GC runs / of which full collections", None, ""),
    ("  lag max, GC pauses taken out (ms)", "lag_max_outside_gc_ms", "{:.0f}"),
    ("  longest loop turn on the loop's own CPU (ms)", "loop_cpu_max_ms", "{:.0f}"),
    ("CPU (s)", "cpu_s", "{:.1f}"),
    ("RSS per run, 10 s in (KB)", "rss_per_run_bytes", "{:.1f}"),
    ("peak RSS per run (KB)", "peak_rss_per_run_bytes", "{:.1f}"),
    ("wait's event after the run ended, p50 (s)", "event_after_end_p50_s", "{:.1f}"),
    ("wait's event after the run ended, max (s)", "event_after_end_max_s", "{:.1f}"),
    ("all waits ended (s)", "wall_s", "{:.0f}"),
)


def print_table(args: argparse.Namespace, results: dict[str, dict[str, Any]]) -> None:
    names = [s for s in SCENARIOS if s in results]
    print(f"{args.runs} runs sharing one log, poll {args.poll_interval:g} s, {args.lines_per_second:g} lines/s per run "
          f"({args.chatty} at 40/s), ingestion lag {args.ingestion_lag:g} s, runs end after "
          f"{args.run_seconds:g}-{args.run_seconds + args.spread:g} s")  # fmt: skip
    print(f"| metric | {' | '.join('streaming off' if n == 'off' else 'streaming' for n in names)} |")
    print(f"|---|{'---:|' * len(names)}")
    for label, key, fmt in ROWS:
        if key is None:
            keys = ("gc_pauses", "gc_full_collections") if label.startswith("  GC") else (
                "lines_missing", "lines_repeated", "lines_out_of_order")  # fmt: skip
            cells = [" / ".join(str(results[n][k]) for k in keys) for n in names]
        elif key.endswith("rss_per_run_bytes"):
            cells = [fmt.format(results[n][key] / 1024) for n in names]
        else:
            cells = [fmt.format(results[n][key]) for n in names]
        print(f"| {label} | {' | '.join(str(c) for c in cells)} |")
    print("Task-log lines go to an in-memory logger here; a triggerer writes them to its log socket, which costs more.")
    print("A lag much longer than the loop's own CPU in that turn is time the process did not run (other processes")
    print("on the machine, or a thread holding the GIL), not work of the loop.")
    print("The wait's event comes log_drain_seconds (default 30) later with streaming: the lines still being ingested.")


if __name__ == "__main__":
    main()

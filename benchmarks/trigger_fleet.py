"""How a triggerer copes with many Data Flow runs at once: this provider vs the usual approach.

Both scenarios wait for the same N runs on a local emulator (in its own process, so it does not
share our GIL), each scenario in a fresh Python process so memory figures do not mix:

- baseline: what a hand-written async wrapper over a sync SDK usually does: every trigger builds
  its own ``DataFlowClient`` (parsing the API key each time) and polls with ``asyncio.to_thread``;
- provider: ``DataflowRunTrigger`` (credentials shared per connection, a few SDK threads with a
  client each, backoff on transient errors).

Reported: wall time until every trigger fired, worst and p99 event-loop lag (a watchdog sleeping
5 ms; the triggerer logs a warning above 200 ms) beside the worst garbage-collector pause (it stops
every thread whoever allocated, so it bounds how low the worst lag can be), CPU seconds, peak RSS,
HTTP requests served.

    .venv/bin/python benchmarks/trigger_fleet.py --runs 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

COMPARTMENT = "ocid1.compartment.oc1..benchmark"
CONN_ID = "benchmark"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--poll-interval", type=float, default=2.0)
    parser.add_argument("--run-seconds", type=float, default=45.0)
    parser.add_argument("--scenario", choices=["baseline", "provider"], help=argparse.SUPPRESS)
    parser.add_argument("--emulator", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(asyncio.run(_measure(args))))
        return
    _compare(args)


def _compare(args: argparse.Namespace) -> None:
    from airflow_provider_dataflow.testing.credentials import generate_test_credentials
    from airflow_provider_dataflow.testing.emulator import emulator_process

    creds = generate_test_credentials()
    with emulator_process(creds, "--accepted-seconds", "2", "--run-seconds", str(args.run_seconds)) as url:
        env = {**os.environ, f"AIRFLOW_CONN_{CONN_ID.upper()}": creds.airflow_connection_json(url, COMPARTMENT)}
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        results = {scenario: _run_scenario(scenario, url, args, env) for scenario in ("baseline", "provider")}
    _print_table(args, results["baseline"], results["provider"])


def _run_scenario(scenario: str, url: str, args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    command = [sys.executable, __file__, "--scenario", scenario, "--emulator", url, "--runs", str(args.runs)]
    command += ["--poll-interval", str(args.poll_interval), "--run-seconds", str(args.run_seconds)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


async def _measure(args: argparse.Namespace) -> dict[str, Any]:
    """Inside a fresh process: create the runs, then wait for all of them the scenario's way."""
    import logging

    logging.disable(logging.INFO)  # the per-run state lines would dominate the measurement
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook
    from airflow_provider_dataflow.testing.emulator import EmulatorControl

    control = EmulatorControl(args.emulator)
    control.clear_journal()
    hook = DataflowHook(CONN_ID)
    details = {"compartment_id": COMPARTMENT, "execute": "oci://code@namespace/job.py"}
    run_ids = [hook.create_run({**details, "display_name": f"fleet-{i}"})["id"] for i in range(args.runs)]
    # A triggerer has Airflow's connection machinery loaded already; do not time its first import.
    from airflow.sdk import BaseHook

    await BaseHook.aget_connection(CONN_ID)
    rss_before = _peak_rss_mb()
    waiter = _provider_wait if args.scenario == "provider" else _baseline_wait

    lags: list[float] = []
    stop = asyncio.Event()
    gc_pauses = _record_gc_pauses()

    async def watchdog() -> None:
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - before - 0.005)

    watcher = asyncio.create_task(watchdog())
    cpu, wall = time.process_time(), time.perf_counter()
    states = await asyncio.gather(*(waiter(run_id, args.poll_interval) for run_id in run_ids))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    stop.set()
    await watcher
    lags.sort()
    requests = sum(1 for entry in control.journal() if entry["method"] == "GET")
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "lag_max_ms": lags[-1] * 1000,
        "lag_p99_ms": lags[int(len(lags) * 0.99)] * 1000,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_growth_mb": _peak_rss_mb() - rss_before,
        "gc_max_ms": max(gc_pauses, default=0.0) * 1000,
        "get_requests": requests,
        "succeeded": sum(1 for state in states if state == "SUCCEEDED"),
    }


async def _provider_wait(run_id: str, poll_interval: float) -> str:
    from airflow_provider_dataflow.triggers.dataflow import DataflowRunTrigger

    trigger = DataflowRunTrigger(run_id, oci_conn_id=CONN_ID, poll_interval=poll_interval)
    async for event in trigger.run():
        return str(event.payload["run"]["state"])
    raise RuntimeError("the trigger ended without an event")


async def _baseline_wait(run_id: str, poll_interval: float) -> str:
    import oci

    from airflow_provider_dataflow.hooks.auth import ConnectionSettings, build_config_and_signer
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook

    settings: ConnectionSettings = await DataflowHook(CONN_ID).asettings()

    def build() -> Any:
        config, signer = build_config_and_signer(settings)
        return oci.data_flow.DataFlowClient(config, signer=signer, service_endpoint=settings.service_endpoint)

    client = await asyncio.to_thread(build)
    while True:
        state = (await asyncio.to_thread(client.get_run, run_id)).data.lifecycle_state
        if state in ("SUCCEEDED", "FAILED", "CANCELED", "STOPPED"):
            return str(state)
        await asyncio.sleep(poll_interval)


def _record_gc_pauses() -> list[float]:
    """Durations of the garbage collector's runs: they stop every thread, whoever allocated."""
    import gc

    pauses: list[float] = []
    started = [0.0]

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append(time.perf_counter() - started[0])

    gc.callbacks.append(callback)
    return pauses


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _print_table(args: argparse.Namespace, baseline: dict[str, Any], provider: dict[str, Any]) -> None:
    seconds = args.run_seconds + 2
    print(f"{args.runs} runs, poll every {args.poll_interval:g} s, each run ~{seconds:g} s on the emulator")
    print(f"{'metric':<28}{'baseline':>14}{'this provider':>16}")
    rows = [
        ("all triggers fired (s)", "wall_s", "{:.1f}"),
        ("event-loop lag, max (ms)", "lag_max_ms", "{:.0f}"),
        ("event-loop lag, p99 (ms)", "lag_p99_ms", "{:.1f}"),
        ("  of which GC, worst (ms)", "gc_max_ms", "{:.0f}"),
        ("CPU (s)", "cpu_s", "{:.1f}"),
        ("peak RSS (MB)", "peak_rss_mb", "{:.0f}"),
        ("RSS growth while waiting (MB)", "rss_growth_mb", "{:.0f}"),
        ("GET requests", "get_requests", "{:d}"),
        ("runs seen SUCCEEDED", "succeeded", "{:d}"),
    ]
    for label, key, fmt in rows:
        print(f"{label:<28}{fmt.format(baseline[key]):>14}{fmt.format(provider[key]):>16}")


if __name__ == "__main__":
    main()

"""Waits through a network partition: how soon each fires once the network returns, and what it held meanwhile.

One process plays the triggerer (``--waits`` ``DataflowRunTrigger`` waits through the compartment's shared
watcher, in one event loop) and a worker (one synchronous wait, ``pipeline.steps.drive``, on a thread), all
through the test kit's fault proxy in front of an in-process emulator. Two scenarios, same workload:

- baseline: no fault; the lag is from each run's end (the emulator's ``timeUpdated``) to its event;
- partition: ``--partition`` seconds (issue 21: 60) starting once every wait has polled, during which every
  run ends; the lag is from the end of the partition to the event.

The table gives events, errors, the lag (p50 / p95 / max), the most calls of kind POLL that held a thread at
once (``client_pool().busy``; at most the pool's threads) and the proxy's counters. The emulator shares the
process's GIL, so the lags include its work and the proxy's.

    .venv/bin/python benchmarks/network_partition.py                       # 200 waits, a 60 s partition
    .venv/bin/python benchmarks/network_partition.py --waits 50 --partition 40
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import threading
import time
from datetime import datetime
from typing import Any

COMPARTMENT = "ocid1.compartment.oc1..partition"
CONN_ID = "partitioned"
POLL_INTERVAL = 1.0
RUN_SECONDS = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waits", type=int, default=200, help="trigger waits (plus one synchronous wait)")
    parser.add_argument("--partition", type=float, default=60.0, help="seconds the network is partitioned")
    args = parser.parse_args()
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="network-partition-"))
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    os.environ["AIRFLOW__OCI_DATAFLOW__SHARED_WATCH_MIN_INTERVAL"] = str(POLL_INTERVAL)
    logging.basicConfig(level=logging.WARNING)

    from airflow_provider_dataflow.testing.credentials import generate_test_credentials
    from airflow_provider_dataflow.testing.emulator import DataflowEmulator
    from airflow_provider_dataflow.testing.fault_proxy import FaultProxy

    creds = generate_test_credentials()
    rows = []
    for partition in (None, args.partition):
        with (
            DataflowEmulator(accepted_seconds=0.5, run_seconds=RUN_SECONDS) as emulator,
            FaultProxy(emulator.url) as proxy,
        ):
            emulator.register_credentials(creds)
            os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = creds.airflow_connection_json(
                service_endpoint=proxy.url, compartment_id=COMPARTMENT
            )
            rows.append(_scenario(emulator, proxy, args.waits, partition))
    print(f"\n{args.waits} trigger waits + 1 synchronous wait, poll interval {POLL_INTERVAL:g} s\n")
    print("| scenario | events | errors | lag p50 / p95 / max (s) | most POLL calls on threads | held | wall (s) |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['scenario']} | {row['events']} | {row['errors']} | {row['p50']:.1f} / {row['p95']:.1f} / "
            f"{row['max']:.1f} | {row['busy']} | {row['held']} | {row['wall']:.0f} |"
        )
    print("\nlag: from the run's end (baseline) or the partition's end, to the event; held: connections held.")


def _scenario(emulator: Any, proxy: Any, waits: int, partition: float | None) -> dict[str, Any]:
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook, client_pool
    from airflow_provider_dataflow.hooks.operations import CallKind
    from airflow_provider_dataflow.pipeline.steps import blocking_performer, drive
    from airflow_provider_dataflow.pipeline.wait import wait_steps
    from airflow_provider_dataflow.triggers.dataflow import DataflowRunTrigger

    run_ids = emulator.control.create_runs(waits + 1, COMPARTMENT, display_name_prefix="partitioned-")
    synchronous, shared = run_ids[0], run_ids[1:]
    fired: dict[str, tuple[float, dict[str, Any]]] = {}
    most_busy = 0

    def wait_on_a_worker() -> None:
        steps = wait_steps(
            synchronous,
            poll_interval=POLL_INTERVAL,
            target_states=(),
            deadline=None,
            timeout=None,
            log=logging.getLogger("sync"),
        )
        fired[synchronous] = (time.time(), drive(steps, blocking_performer(DataflowHook(CONN_ID))).to_event())

    async def wait_in_triggerer(run_id: str) -> None:
        trigger = DataflowRunTrigger(
            run_id, oci_conn_id=CONN_ID, poll_interval=POLL_INTERVAL, compartment_id=COMPARTMENT
        )
        async for event in trigger.run():
            fired[run_id] = (time.time(), dict(event.payload))

    async def watch_threads() -> None:
        nonlocal most_busy
        while True:
            most_busy = max(most_busy, client_pool().busy(CallKind.POLL))
            await asyncio.sleep(0.05)

    async def run() -> float | None:
        started = time.monotonic()
        worker = threading.Thread(target=wait_on_a_worker, daemon=True)
        worker.start()
        watching = asyncio.ensure_future(watch_threads())
        triggers = asyncio.gather(*(wait_in_triggerer(run_id) for run_id in shared))
        healed = None
        if partition is not None:
            await asyncio.sleep(2 * POLL_INTERVAL)  # every wait has polled: its run is ACCEPTED
            proxy.partition(partition)
            healed = time.time() + partition
        await triggers
        await asyncio.to_thread(worker.join)
        watching.cancel()
        print(f"{'partition' if partition else 'baseline'}: {time.monotonic() - started:.0f} s", flush=True)
        return healed

    wall = time.monotonic()
    healed = asyncio.run(run())
    wall = time.monotonic() - wall
    ended = {run["id"]: _unix(run["timeUpdated"]) for run in emulator.control.runs()}
    lags = sorted(at - (healed if healed is not None else ended[run_id]) for run_id, (at, _) in fired.items())
    errors = sum(1 for _, event in fired.values() if event["status"] != "done")
    return {
        "scenario": f"partition {partition:g} s" if partition else "baseline (no fault)",
        "events": len(fired),
        "errors": errors,
        "p50": statistics.median(lags),
        "p95": lags[int(0.95 * (len(lags) - 1))],
        "max": lags[-1],
        "busy": most_busy,
        "held": proxy.counters().held,
        "wall": wall,
    }


def _unix(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


if __name__ == "__main__":
    main()

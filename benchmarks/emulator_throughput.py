"""How fast the bundled emulator answers the real oci SDK, so benchmarks know what they measure.

The emulator runs in its own process (as in trigger_fleet.py), so its CPU figure is its own. Measured:
sequential get_run/create_run latency, get_run throughput from threads that each own an SDK client,
the emulator's CPU per API request, bulk creation of many runs, and listing among them.

    .venv/bin/python benchmarks/emulator_throughput.py --threads 8 --seconds 5 --runs 20000
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

COMPARTMENT = "ocid1.compartment.oc1..emulatorbenchmark"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=30, help="sequential calls per latency figure")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the throughput phase")
    parser.add_argument("--runs", type=int, default=20_000, help="runs created in bulk for the list figures")
    args = parser.parse_args()

    from airflow_provider_dataflow.testing.credentials import generate_test_credentials
    from airflow_provider_dataflow.testing.emulator import EmulatorControl, emulator_process

    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    creds = generate_test_credentials()
    # Runs start IN_PROGRESS at once and stay there for an hour, so the list filter has work to do.
    with emulator_process(creds, "--accepted-seconds", "0", "--run-seconds", "3600") as url:
        rows = _measure(args, url, lambda: _client(creds, url), EmulatorControl(url, timeout=120))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def _client(creds: Any, url: str) -> Any:
    import oci

    return oci.data_flow.DataFlowClient(
        creds.sdk_config(),
        service_endpoint=url,
        retry_strategy=oci.retry.NoneRetryStrategy(),
        circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
    )


def _measure(args: argparse.Namespace, url: str, make_client: Callable[[], Any], control: Any) -> list[tuple[str, str]]:
    import oci

    client = make_client()
    details = oci.data_flow.models.CreateRunDetails(compartment_id=COMPARTMENT, execute="oci://b@n/job.py")
    create_ms = _latencies(args.samples, lambda: client.create_run(details))
    run_id = client.create_run(details).data.id
    get_ms = _latencies(args.samples, lambda: client.get_run(run_id))

    before, client_cpu = control.stats(), time.process_time()
    served = _throughput(args.threads, args.seconds, make_client, run_id)
    after, client_cpu = control.stats(), time.process_time() - client_cpu
    requests = after["apiRequests"] - before["apiRequests"]
    cpu_us = (after["cpuSeconds"] - before["cpuSeconds"]) / requests * 1e6
    client_us = client_cpu / requests * 1e6

    started, cpu_before = time.perf_counter(), control.stats()["cpuSeconds"]
    control.create_runs(args.runs, COMPARTMENT)
    bulk_s, bulk_cpu_s = time.perf_counter() - started, control.stats()["cpuSeconds"] - cpu_before
    in_progress = len(client.list_runs(COMPARTMENT, lifecycle_state="IN_PROGRESS", limit=1000).data)
    cpu_before = control.stats()["cpuSeconds"]
    list_ms = _latencies(10, lambda: client.list_runs(COMPARTMENT, lifecycle_state="IN_PROGRESS", limit=1000))
    list_cpu_ms = (control.stats()["cpuSeconds"] - cpu_before) / 10 * 1000
    started = time.perf_counter()
    listed = len(oci.pagination.list_call_get_all_results(client.list_runs, COMPARTMENT, limit=1000).data)
    page_all_s = time.perf_counter() - started

    return [
        ("emulator", url),
        (f"create_run latency, {args.samples} sequential (median / min)", _ms(create_ms)),
        (f"get_run latency, {args.samples} sequential (median / min)", _ms(get_ms)),
        (f"get_run throughput, {args.threads} threads with a client each, {args.seconds:g} s", f"{served:.0f} req/s"),
        ("CPU per request (throughput phase): emulator / SDK client", f"{cpu_us:.0f} / {client_us:.0f} us"),
        (f"bulk create {args.runs} runs, one control call (wall / emulator CPU)", f"{bulk_s:.2f} / {bulk_cpu_s:.2f} s"),
        (
            f"list_runs IN_PROGRESS limit=1000 among {after['runs'] + args.runs} runs (median / min)",
            f"{_ms(list_ms)} ({in_progress} per page)",
        ),
        ("  of which emulator CPU per call", f"{list_cpu_ms:.0f} ms"),
        (f"list_runs every page, limit=1000 ({listed} runs)", f"{page_all_s:.2f} s"),
    ]


def _latencies(samples: int, call: Callable[[], Any]) -> list[float]:
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _throughput(threads: int, seconds: float, make_client: Callable[[], Any], run_id: str) -> float:
    """Requests per second; clients are built before the clock starts."""
    clients = [make_client() for _ in range(threads)]
    counts = [0] * threads
    start = threading.Barrier(threads + 1)
    deadline = 0.0

    def work(index: int) -> None:
        start.wait()
        while time.monotonic() < deadline:
            clients[index].get_run(run_id)
            counts[index] += 1

    workers = [threading.Thread(target=work, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + seconds
    started = time.perf_counter()
    start.wait()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - started)


def _ms(timings: list[float]) -> str:
    return f"{statistics.median(timings):.1f} / {min(timings):.1f} ms"


if __name__ == "__main__":
    main()

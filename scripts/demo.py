"""Run an example DAG end to end: the Data Flow emulator, a real Airflow, one triggered run, a summary.

    .venv/bin/python scripts/demo.py [--dag-id ID] [--keep-running] [--home DIR]

Nothing to install or configure: the emulator runs in this process, throw-away API-key credentials are
generated and trusted by it, and Airflow (api-server, scheduler, dag-processor, triggerer) runs on SQLite
in a temporary AIRFLOW_HOME with the connection ``oci_dataflow_default`` pointing at the emulator.
Exits 0 only if the DAG run succeeds.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from airflow_provider_dataflow.testing.airflow_stack import AirflowStack, AirflowStackError
from airflow_provider_dataflow.testing.credentials import generate_test_credentials
from airflow_provider_dataflow.testing.emulator import DataflowEmulator

REPO = Path(__file__).resolve().parents[1]
COMPARTMENT_ID = "ocid1.compartment.oc1..emulator"


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    # Ctrl-C and SIGTERM unwind through the with-blocks, so no Airflow process outlives the demo (also when
    # a shell started it in the background with SIGINT ignored).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.default_int_handler)
    try:
        return _demo(args)
    except KeyboardInterrupt:
        print("\nInterrupted; Airflow and the emulator are stopped.", file=sys.stderr)
        return 130


def _demo(args: argparse.Namespace) -> int:
    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="dataflow-demo-"))
    creds = generate_test_credentials()
    with DataflowEmulator(host="127.0.0.1", port=0, accepted_seconds=1.0, run_seconds=3.0) as emulator:
        emulator.register_credentials(creds)
        print(f"Data Flow emulator: {emulator.url}")
        conn_json = creds.airflow_connection_json(service_endpoint=emulator.url, compartment_id=COMPARTMENT_ID)
        stack = AirflowStack(
            home=home, dags_folder=REPO / "example_dags", env={"AIRFLOW_CONN_OCI_DATAFLOW_DEFAULT": conn_json}
        )
        print(f"Starting Airflow in {home} ...", flush=True)
        started = time.monotonic()
        try:
            with stack.start(timeout=args.timeout):
                print(f"Airflow is up at {stack.url} ({time.monotonic() - started:.0f} s)", flush=True)
                state = _run_dag(stack, args.dag_id, args.timeout)
                print(f"Data Flow runs the emulator saw: {_emulator_runs(emulator.control.runs())}")
                print(f"Logs: {home / 'logs'} (components: api-server.log, scheduler.log, ...; tasks: dag_id=*/)")
                if args.keep_running:
                    _wait_for_interrupt(stack)
                return 0 if state == "success" else 1
        except AirflowStackError as error:
            print(f"FAILED: {error}\nLogs: {home / 'logs'}", file=sys.stderr)
            return 1


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dag-id", default="example_dataflow_quickstart", help="a DAG in example_dags/")
    parser.add_argument("--keep-running", action="store_true", help="leave Airflow up until Ctrl-C")
    parser.add_argument("--home", help="AIRFLOW_HOME to use (default: a new temporary directory)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds for start-up and for the run")
    return parser.parse_args(argv)


def _run_dag(stack: AirflowStack, dag_id: str, timeout: float) -> str:
    """Trigger one run, wait for it, print what every task went through; return the run's state."""
    api = stack.api
    api.wait_for_dag(dag_id, timeout=60)
    run_id = api.trigger_dag(dag_id)
    print(f"Triggered {dag_id}, run {run_id}; waiting ...", flush=True)
    state = api.wait_for_dag_run(dag_id, run_id, timeout=timeout)
    print(f"\nDAG run {run_id}: {state.upper()}")
    seen = api.states_seen(dag_id, run_id)
    for ti in api.task_instances(dag_id, run_id):
        key = ti["task_id"] if ti["map_index"] < 0 else f"{ti['task_id']}[{ti['map_index']}]"
        print(f"  {key}: {' -> '.join(seen.get(key, [str(ti['state'])]))} (try {ti['try_number']})")
        for line in [*_dataflow_details(stack, dag_id, run_id, ti), f"log: {_task_log_path(stack, ti)}"]:
            print(f"      {line}")
    return state


def _task_log_path(stack: AirflowStack, ti: dict[str, Any]) -> Path:
    """Where Airflow's default ``[logging] log_filename_template`` puts this try's log."""
    mapped = f"map_index={ti['map_index']}/" if ti["map_index"] >= 0 else ""
    task_dir = f"dag_id={ti['dag_id']}/run_id={ti['dag_run_id']}/task_id={ti['task_id']}/{mapped}"
    return stack.home / "logs" / f"{task_dir}attempt={ti['try_number']}.log"


def _dataflow_details(stack: AirflowStack, dag_id: str, run_id: str, ti: dict[str, Any]) -> list[str]:
    """The Data Flow run a task returned (the operator's XCom) and its console link, if it has them."""
    try:
        value = stack.api.xcom(dag_id, run_id, ti["task_id"], map_index=ti["map_index"])
    except AirflowStackError:
        return []  # no return value: not a Data Flow task, or it failed before returning
    if not isinstance(value, dict) or not str(value.get("id", "")).startswith("ocid1.dataflowrun"):
        return []
    lines = [f"Data Flow run {value['id']}: {value.get('state')}"]
    links = stack.api.extra_links(dag_id, run_id, ti["task_id"], map_index=ti["map_index"])
    lines += [f"{name}: {url}" for name, url in links.items() if url]
    return lines


def _emulator_runs(runs: list[dict[str, Any]]) -> str:
    described = []
    for run in runs:
        details = f" ({run['lifecycleDetails']})" if run.get("lifecycleDetails") else ""
        described.append(f"{run['displayName']} {run['lifecycleState']}{details}")
    return ", ".join(described) or "none"


def _wait_for_interrupt(stack: AirflowStack) -> None:
    print(f"\nAirflow UI: {stack.url}/ (no login: every visitor is an admin)")
    print(f"CLI: set -a; . {stack.home / 'stack.env'}; set +a; {Path(sys.executable).parent / 'airflow'} dags list")
    print("Ctrl-C stops Airflow and the emulator.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\nStopping ...")


if __name__ == "__main__":
    sys.exit(main())

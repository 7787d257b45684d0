"""How far a reader travels: the provider modules one run enters, this tree beside an earlier commit.

Two stretches of the worker path, recorded with a profiler hook while a real run goes through the
bundled emulator: from ``DataflowInvokeRunOperator.execute`` to the SDK's ``create_run`` call, and from
``execute_complete`` (the resume after a deferred wait) to the value it returns for XCom. For each: the
distinct provider modules entered (``testing`` aside), the moves from one module to another, and how
often the path comes back to ``operators/`` after leaving it. Every module is imported before the
recording starts, so an import on first use does not count. The earlier commit is exported with
``git archive`` and run from its own directory, so both trees are measured the same way.

    .venv/bin/python benchmarks/call_path.py                 # against df785e1 (before issue 14)
    .venv/bin/python benchmarks/call_path.py --baseline HEAD~3 --show
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROBE = r"""
import importlib, json, os, pkgutil, sys, tempfile

os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp()
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["NO_PROXY"] = "127.0.0.1,localhost"

from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator
from airflow_provider_dataflow.testing.credentials import generate_test_credentials
from airflow_provider_dataflow.testing.emulator import DataflowEmulator

COMPARTMENT = "ocid1.compartment.oc1..callpath"
PACKAGE = "airflow_provider_dataflow."


class TaskInstance:
    dag_id, run_id, task_id, map_index, try_number = "dag", "manual__1", "spark", -1, 1

    def xcom_push(self, key, value):
        pass


def record(work, stop_at=None):
    # The provider modules whose functions are called, in order, until `stop_at` (module, function) is called.
    seen, stopped = [], False

    def profile(frame, event, arg):
        nonlocal stopped
        if event != "call" or stopped:
            return
        module, name = frame.f_globals.get("__name__", ""), frame.f_code.co_name
        if stop_at is not None and (module, name) == stop_at:
            stopped = True
        elif module.startswith(PACKAGE) and not module.startswith(PACKAGE + "testing"):
            if not seen or seen[-1] != module:
                seen.append(module)

    sys.setprofile(profile)
    try:
        result = work()
    finally:
        sys.setprofile(None)
    return seen, result


# Import every module first: a module imported on first use would count as a module entered.
import airflow_provider_dataflow
for module in pkgutil.walk_packages(airflow_provider_dataflow.__path__, PACKAGE):
    if ".testing" not in module.name and not module.name.endswith("lineage.facets"):
        importlib.import_module(module.name)

creds = generate_test_credentials()
with DataflowEmulator(accepted_seconds=0.2, run_seconds=0.3) as emulator:
    emulator.register_credentials(creds)
    os.environ["AIRFLOW_CONN_OCI_DATAFLOW_DEFAULT"] = creds.airflow_connection_json(emulator.url, COMPARTMENT)
    operator = DataflowInvokeRunOperator(
        task_id="spark", execute="oci://code@namespace/job.py", poll_interval=0.1, deferrable=False
    )
    context = {"ti": TaskInstance(), "task_state_store": None, "dag_run": None}
    operator.hook.settings  # the connection lookup is Airflow's, before either stretch
    to_create, run = record(lambda: operator.execute(context), ("oci.data_flow.data_flow_client", "create_run"))
    event = {"status": "done", "run": {k: v for k, v in run.items() if k != "cost"}}
    to_xcom, _ = record(lambda: operator.execute_complete(context, event))
print(json.dumps({"execute_to_create": to_create, "resume_to_xcom": to_xcom}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="df785e1", help="git revision to compare with")
    parser.add_argument("--show", action="store_true", help="print each path, module by module")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="call-path-") as baseline_tree:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", args.baseline, "airflow_provider_dataflow"],
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(baseline_tree, filter="data")
        trees = {f"baseline ({args.baseline})": Path(baseline_tree), "this tree": REPO}
        paths = {name: _probe(tree) for name, tree in trees.items()}

    print("| stretch | " + " | ".join(f"{name}: modules / moves / back to operators" for name in trees) + " |")
    print("|---|" + "---:|" * len(trees))
    for stretch in ("execute_to_create", "resume_to_xcom"):
        cells = [_summary(paths[name][stretch]) for name in trees]
        print(f"| {stretch.replace('_', ' ')} | " + " | ".join(cells) + " |")
    if args.show:
        for name, stretches in paths.items():
            for stretch, modules in stretches.items():
                print(
                    f"\n{name}, {stretch}:\n  "
                    + "\n  ".join(m.removeprefix("airflow_provider_dataflow.") for m in modules)
                )


def _probe(tree: Path) -> dict[str, list[str]]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH" and not key.startswith("AIRFLOW")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, cwd=tree, env=env
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def _summary(modules: list[str]) -> str:
    returns = sum(
        1 for before, after in itertools.pairwise(modules) if ".operators." in after and ".operators." not in before
    )
    return f"{len(set(modules))} / {len(modules) - 1} / {returns}"


if __name__ == "__main__":
    main()

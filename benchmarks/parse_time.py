"""What importing the operator costs a DAG file, on every parse: this tree beside an earlier commit, in one run.

Each figure is the median over fresh interpreters of the time ``import <module>`` takes after
``import airflow.sdk`` (which every DAG file pays anyway, and which is printed for scale). The earlier
commit is exported with ``git archive`` into a temporary directory and put first on ``sys.path``, so both
trees are measured with the same interpreter, packages and disk cache, alternating run by run.

    .venv/bin/python benchmarks/parse_time.py                      # against df785e1 (before issue 14)
    .venv/bin/python benchmarks/parse_time.py --baseline HEAD~5 --runs 9
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODULES = ("airflow_provider_dataflow.operators.dataflow", "airflow_provider_dataflow.sensors.dataflow")
TARGET_MS = 20.0  # the operator module, over `import airflow.sdk` (issue 14)
PROBE = """
import sys, time
t0 = time.perf_counter()
import airflow.sdk
t1 = time.perf_counter()
__import__(sys.argv[1])
t2 = time.perf_counter()
print((t1 - t0) * 1000, (t2 - t1) * 1000, sys.modules[sys.argv[1]].__file__)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="df785e1", help="git revision to compare with")
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters per module and tree")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="parse-time-") as baseline_tree:
        _export(args.baseline, Path(baseline_tree))
        trees = {f"baseline ({args.baseline})": Path(baseline_tree), "this tree": REPO}
        figures: dict[tuple[str, str], list[float]] = {}
        sdk: list[float] = []
        for module in MODULES:  # a first import writes the bytecode; it is not what a DAG parse pays
            for tree in trees.values():
                _probe(tree, module)
        for _ in range(args.runs):
            for module in MODULES:
                for name, tree in trees.items():  # alternate, so drift in the machine's load hits both alike
                    sdk_ms, module_ms = _probe(tree, module)
                    sdk.append(sdk_ms)
                    figures.setdefault((module, name), []).append(module_ms)

    print(f"`import airflow.sdk` itself: median {statistics.median(sdk):.0f} ms (not the code under test)\n")
    print(f"| module (ms over `import airflow.sdk`, median of {args.runs}) | " + " | ".join(trees) + " | target |")
    print("|---|" + "---:|" * len(trees) + "---|")
    for module in MODULES:
        cells = [f"{statistics.median(figures[(module, name)]):.1f}" for name in trees]
        target = f"<= {TARGET_MS:.0f}" if module.endswith("operators.dataflow") else ""
        print(f"| `{module}` | " + " | ".join(cells) + f" | {target} |")


def _export(revision: str, into: Path) -> None:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", revision, "airflow_provider_dataflow"], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def _probe(tree: Path, module: str) -> tuple[float, float]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, module],
        capture_output=True,
        text=True,
        check=True,
        cwd=tree,  # the tree's package comes first on sys.path (the current directory)
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
    )
    sdk_ms, module_ms, loaded_from = result.stdout.split()
    if not Path(loaded_from).is_relative_to(tree):
        raise RuntimeError(f"{module} was imported from {loaded_from}, not from {tree}")
    return float(sdk_ms), float(module_ms)


if __name__ == "__main__":
    main()

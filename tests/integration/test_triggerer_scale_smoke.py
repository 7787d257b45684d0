"""The scale benchmark at N=200 as a smoke test: every wait ends exactly once in its run's state.

Figures are printed (with ``-s``, or in the report of a failure), never asserted: speed belongs to
``benchmarks/triggerer_scale.py`` runs, correctness to tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "triggerer_scale.py"


def test_two_hundred_runs_end_exactly_once_each_with_either_way_of_polling() -> None:
    command = [sys.executable, str(BENCHMARK), "--runs", "200", "--poll-interval", "2", "--run-seconds", "6"]
    command += ["--spread", "4", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    print(done.stdout)
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(results) == {"per_run", "shared"}
    for scenario, figures in results.items():
        assert figures["runs"] == 200, scenario
        assert (figures["missed"], figures["duplicated"], figures["wrong_state"]) == (0, 0, 0), scenario
    assert results["shared"]["lists_total"] > 0, "the shared watcher listed the compartment"

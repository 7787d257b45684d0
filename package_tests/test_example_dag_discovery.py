"""With ``[core] load_examples`` on, Airflow finds this provider's example DAGs and logs no error.

Airflow 3.3 derives the module ``airflow_provider_oci_dataflow`` from the distribution name and reads
``example_dags/`` beside it. Runs the CLI in a throw-away home of its own, with examples on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BUNDLE = "airflow-provider-oci-dataflow-example-dags"
EXAMPLES = {
    "example_dataflow_daily",
    "example_dataflow_fan_out",
    "example_dataflow_lineage",
    "example_dataflow_manual",
    "example_dataflow_pool_backfill",
    "example_dataflow_quickstart",
    "example_dataflow_sensor",
}


def test_airflow_lists_the_example_dags_of_the_provider_bundle(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")}
    env.update(AIRFLOW_HOME=str(tmp_path), AIRFLOW__CORE__LOAD_EXAMPLES="True")
    outputs = [
        _airflow(env, "db", "migrate"),
        _airflow(env, "dags", "reserialize", "--bundle-name", BUNDLE),
        listed := _airflow(env, "dags", "list", "--bundle-name", BUNDLE, "--output", "json"),
    ]
    assert not [output for output in outputs if "Could not load provider module" in output]
    dags = json.loads(next(line for line in listed.splitlines() if line.startswith("[{")))
    assert {dag["dag_id"] for dag in dags} == EXAMPLES
    assert {dag["bundle_name"] for dag in dags} == {BUNDLE}


def _airflow(env: dict[str, str], *arguments: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *arguments], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr

"""The example DAGs the package ships run with ``dag.test()`` against the emulator, through the plugin."""

from __future__ import annotations

import importlib.util
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import airflow_provider_oci_dataflow

EXAMPLE_DAGS = Path(airflow_provider_oci_dataflow.__file__).parent / "example_dags"


@pytest.mark.parametrize(
    ("dag_file", "test_kwargs", "display_names"),
    [
        ("example_dataflow_quickstart.py", {}, ["quickstart-word-count"]),
        (
            "example_dataflow_daily.py",
            {"logical_date": datetime(2026, 3, 4, tzinfo=timezone.utc)},
            ["daily-aggregate-2026-03-04"],
        ),
        ("example_dataflow_manual.py", {"run_conf": {"mode": "full", "as_of": "2026-02-01"}}, None),
        ("example_dataflow_fan_out.py", {}, ["load-customers", "load-orders", "load-payments"]),
        ("example_dataflow_sensor.py", {}, None),
    ],
)
def test_an_example_dag_succeeds(
    dataflow_emulator: Any,
    dataflow_dag_test: Any,
    dag_file: str,
    test_kwargs: dict[str, Any],
    display_names: list[str] | None,
) -> None:
    assert dataflow_dag_test(EXAMPLE_DAGS / dag_file, **test_kwargs).state == "success"
    runs = dataflow_emulator.runs()
    assert runs and {run["lifecycleState"] for run in runs} == {"SUCCEEDED"}
    if display_names is not None:
        assert sorted(run["displayName"] for run in runs) == display_names


def test_the_pool_backfill_example_starts_its_pool_and_stops_it(dataflow_emulator: Any, dataflow_dag_test: Any) -> None:
    spec = importlib.util.spec_from_file_location(
        "example_pool_backfill", EXAMPLE_DAGS / "example_dataflow_pool_backfill.py"
    )
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    dataflow_emulator.register_pool(example.POOL_ID, lifecycle_state="STOPPED")
    logical_date = datetime(2026, 1, 5, tzinfo=timezone.utc)
    assert dataflow_dag_test(EXAMPLE_DAGS / "example_dataflow_pool_backfill.py", logical_date=logical_date).state == (
        "success"
    )
    (run,) = dataflow_emulator.runs()
    assert (run["poolId"], run["lifecycleState"]) == (example.POOL_ID, "SUCCEEDED")
    assert [pool["lifecycleState"] for pool in dataflow_emulator.pools()] == ["STOPPED"]

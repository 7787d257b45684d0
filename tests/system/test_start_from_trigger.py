"""start_from_trigger on a real Airflow: no worker slot before the run exists, rendered fields, reattach on retry."""

from __future__ import annotations

import pytest

from airflow_provider_dataflow.testing.airflow_stack import AirflowStack
from airflow_provider_dataflow.testing.emulator import DataflowEmulator

from .waiting import wait_for

pytestmark = pytest.mark.system

DAG_ID = "system_dataflow_start_from_trigger"


def test_the_triggerer_submits_rendered_fields_and_a_retry_reattaches(
    stack: AirflowStack, emulator: DataflowEmulator
) -> None:
    name = "submitted-by-the-triggerer"
    emulator.control.add_behaviour(display_name_regex=f"^{name}$", run_seconds=12)
    api = stack.api
    run_id = api.trigger_dag(DAG_ID, conf={"display_name": name})

    (run,) = wait_for(lambda: [r for r in emulator.control.runs() if r["displayName"] == name], 90, "the run")
    ti = api.task_instance(DAG_ID, run_id, "spark")
    assert ti["state"] == "deferred" and ti["queued_when"] is None, "no worker was involved in submitting"
    assert run["execute"] == f"oci://code@namespace/job.py --dag-run {run_id}", "Jinja reached the service rendered"

    # Try 1's wait ends with a permanent error while the run goes on; try 2 must wait for that run.
    emulator.control.add_fault(method="GET", path_regex=f"/runs/{run['id']}$", status=404, times=1)
    assert api.wait_for_dag_run(DAG_ID, run_id, timeout=150) == "success"

    assert [r["id"] for r in emulator.control.runs() if r["displayName"] == name] == [run["id"]]
    ti = api.task_instance(DAG_ID, run_id, "spark")
    assert ti["try_number"] == 2
    result = api.xcom(DAG_ID, run_id, "spark")
    assert result["id"] == run["id"] and result["state"] == "SUCCEEDED"
    assert api.extra_links(DAG_ID, run_id, "spark")["OCI Data Flow run"].endswith(f"{run['id']}?region=us-ashburn-1")
    # The trigger logs its search for the earlier try's run in the task's own log, as a worker would.
    assert f"Reattaching to Data Flow run {run['id']}" in api.task_log(DAG_ID, run_id, "spark", try_number=2)

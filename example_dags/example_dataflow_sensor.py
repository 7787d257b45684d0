"""Wait for a Data Flow run started elsewhere (another DAG, a console user, a script).

Here a first task stands in for "elsewhere": it starts a run without waiting
(``asynchronous=True``). The sensor then waits for that run by OCID in the triggerer, fails with
the run's diagnostics if it fails, and returns its attributes like the operator does.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator
from airflow_provider_dataflow.sensors.dataflow import DataflowRunSensor

with DAG(
    dag_id="example_dataflow_sensor",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "oci-dataflow"],
    doc_md=__doc__,
):
    started = DataflowInvokeRunOperator(
        task_id="start_elsewhere",
        display_name="started-elsewhere",
        execute="oci://code@namespace/report.py",
        asynchronous=True,
    )
    waited = DataflowRunSensor(
        task_id="wait_for_run",
        dataflow_run_id="{{ ti.xcom_pull(task_ids='start_elsewhere')['id'] }}",
        deferrable=True,
        poke_interval=2,  # short for the emulator; 30-60 s suits real runs
        timeout=3600,
    )
    started >> waited

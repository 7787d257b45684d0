"""A deferred Data Flow task on a connection kept in the metadata database (``oci_dataflow_rotated``), whose
key the key-rotation system test rotates through the REST API while the task waits."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator

with DAG(dag_id="system_dataflow_key_rotation", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    DataflowInvokeRunOperator(
        task_id="spark",
        oci_conn_id="oci_dataflow_rotated",
        display_name="rotated-key-{{ run_id }}",
        execute="oci://code@namespace/job.py",
        deferrable=True,
        poll_interval=2,
    )

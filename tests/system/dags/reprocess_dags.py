"""A daily DAG with one Data Flow task per path (synchronous, deferrable, start_from_trigger), for the
backfill-then-reprocess system test (test_backfill_reprocess.py). Each run is named by its path and day."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator

PATHS = {"sync": {"deferrable": False}, "deferrable": {"deferrable": True}, "sft": {"start_from_trigger": True}}

with DAG(dag_id="system_dataflow_reprocess", schedule="@daily", start_date=datetime(2026, 2, 1), catchup=False):
    for path, mode in PATHS.items():
        DataflowInvokeRunOperator(
            task_id=path,
            display_name=f"reprocess-{path}-{{{{ ds }}}}",
            execute="oci://code@namespace/job.py --day {{ ds }}",
            poll_interval=2,
            **mode,
        )

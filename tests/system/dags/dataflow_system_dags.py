"""DAGs the system tests drive: a deferred wait whose run is named by a param, and a synchronous
task with one retry (for killing its worker mid-wait)."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator

with DAG(
    dag_id="system_dataflow_deferred",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"display_name": Param("system-deferred", type="string")},
):
    DataflowInvokeRunOperator(
        task_id="spark",
        display_name="{{ params.display_name }}",
        execute="oci://code@namespace/job.py",
        deferrable=True,
        poll_interval=1,
    )

with DAG(
    dag_id="system_dataflow_sync_retry",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"display_name": Param("system-sync", type="string")},
):
    DataflowInvokeRunOperator(
        task_id="spark",
        display_name="{{ params.display_name }}",
        execute="oci://code@namespace/job.py",
        deferrable=False,
        poll_interval=1,
        retries=1,
        retry_delay=timedelta(seconds=1),
    )

"""DAGs the system tests drive: a deferred wait, and a synchronous wait with one retry (for killing its
worker mid-run). The Data Flow run is named by the ``display_name`` param, so each test can give its
run its own emulator behaviour."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator

for dag_id, deferrable, retries in (("system_dataflow_deferred", True, 0), ("system_dataflow_sync_retry", False, 1)):
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        params={"display_name": Param(dag_id, type="string")},
    ):
        DataflowInvokeRunOperator(
            task_id="spark",
            display_name="{{ params.display_name }}",
            execute="oci://code@namespace/job.py",
            deferrable=deferrable,
            poll_interval=1,
            retries=retries,
            retry_delay=timedelta(seconds=1),
        )

with DAG(
    dag_id="system_dataflow_start_from_trigger",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"display_name": Param("system_dataflow_start_from_trigger", type="string")},
):
    DataflowInvokeRunOperator(
        task_id="spark",
        display_name="{{ params.display_name }}",
        execute="oci://code@namespace/job.py --dag-run {{ run_id }}",
        start_from_trigger=True,
        poll_interval=3,
        retries=1,
        retry_delay=timedelta(seconds=1),
    )

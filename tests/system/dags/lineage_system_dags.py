"""A DAG for the lineage, retry-policy and cost system tests: short retry delay, name from conf, lineage on."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.openlineage.utils.selective_enable import enable_lineage
from airflow.sdk import DAG, Param

from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator
from airflow_provider_dataflow.retry_policy import DataflowRetryPolicy

with DAG(
    dag_id="system_dataflow_lineage_retries",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=1), "retry_policy": DataflowRetryPolicy()},
    params={"name": Param("system-lineage", type="string")},
) as dag:
    DataflowInvokeRunOperator(
        task_id="spark",
        display_name="{{ params.name }}",
        execute="--conf spark.sql.shuffle.partitions=4 oci://code@namespace/lineage.py --day {{ run_id }}",
        openlineage_inject_parent_job_info=True,
        openlineage_inject_transport_info=True,
        deferrable=True,
        poll_interval=1,
    )

enable_lineage(dag)  # the stack's OpenLineage is selective: only this DAG emits events

"""Fan out: one Data Flow run per table, with dynamic task mapping.

Each mapped task instance gets its own run, retry token and reattach record (the map index is
part of the task identity tagged on every run).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator

TABLES = ["orders", "customers", "payments"]

with DAG(
    dag_id="example_dataflow_fan_out",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "oci-dataflow"],
    doc_md=__doc__,
):
    DataflowInvokeRunOperator.partial(
        task_id="load_table",
        execute="oci://code@namespace/load_table.py",
        deferrable=True,
        poll_interval=2,  # short for the emulator; 30-60 s suits real runs
        map_index_template="{{ task.display_name }}",
    ).expand_kwargs([{"display_name": f"load-{table}", "arguments": ["--table", table]} for table in TABLES])

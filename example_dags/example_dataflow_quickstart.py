"""Quickstart: run one Spark job on OCI Data Flow and wait for it in the triggerer.

Uses the connection ``oci_dataflow_default``; its ``compartment_id`` extra supplies the
compartment, so the task only says what to run. ``scripts/demo.py`` runs this DAG on a local
Airflow against the bundled Data Flow emulator.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator

with DAG(
    dag_id="example_dataflow_quickstart",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "oci-dataflow"],
    doc_md=__doc__,
):
    DataflowInvokeRunOperator(
        task_id="word_count",
        display_name="quickstart-word-count",
        execute="--conf spark.sql.shuffle.partitions=8 oci://samples@namespace/wordcount.py "
        "oci://samples@namespace/input/shakespeare.txt",
        num_executors=2,
        deferrable=True,
        poll_interval=2,  # short for the demo; 30-60 s suits real runs
        timeout=3600,
    )

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator

with DAG(dag_id="nightly_spark", schedule="@daily", start_date=datetime(2026, 1, 1), catchup=False):
    DataflowInvokeRunOperator(
        task_id="aggregate",
        application_id="ocid1.dataflowapplication.oc1.iad.aaaa",
        arguments=["--day", "{{ ds }}", "--output", "${output}"],
        parameters={"output": "oci://lake@namespace/aggregates/dt={{ ds }}/"},
        num_executors=4,
        deferrable=True,
        timeout=4 * 3600,  # cancel the run and fail the task after 4 h
    )

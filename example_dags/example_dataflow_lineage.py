"""Lineage, retries by failure kind, and what each run cost.

- ``retry_policy=DataflowRetryPolicy()`` in ``default_args``: a Spark job that failed on its own code
  or data, bad input and authorisation errors fail at once; capacity and limit errors are retried
  after ``retry_delay``; anything else follows ``retries`` as usual.
- With ``pip install airflow-provider-oci-dataflow[openlineage]`` and OpenLineage configured, each run
  gets ``spark.openlineage.parent*`` properties naming its task (and the HTTP transport), so the
  Spark job's lineage events point back at Airflow: in ``configuration`` for an application run, as
  ``--conf`` options in the spark-submit line for an ``execute`` run.
- The task log closes with the run's OCPU-hours, bytes, queue and run time; the XCom has them
  under ``cost``.

Trigger it with ``{"application_id": "ocid1.dataflowapplication..."}`` to run your application.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator
from airflow_provider_dataflow.retry_policy import DataflowRetryPolicy

with DAG(
    dag_id="example_dataflow_lineage",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={
        "retries": 3,
        "retry_delay": timedelta(minutes=5),
        "retry_policy": DataflowRetryPolicy(),
    },
    params={"application_id": Param("ocid1.dataflowapplication.oc1.iad.example", type="string")},
    tags=["example", "oci-dataflow"],
    doc_md=__doc__,
):
    DataflowInvokeRunOperator(
        task_id="spark_submit",
        display_name="lineage-spark-submit",
        execute="--conf spark.sql.shuffle.partitions=8 oci://samples@namespace/wordcount.py "
        "oci://samples@namespace/input/shakespeare.txt",
        openlineage_inject_parent_job_info=True,
        openlineage_inject_transport_info=True,
        deferrable=True,
        poll_interval=2,  # short for the emulator; 30-60 s suits real runs
    )
    DataflowInvokeRunOperator(
        task_id="application",
        display_name="lineage-application",
        application_id="{{ params.application_id }}",
        configuration={"spark.sql.shuffle.partitions": "8"},
        openlineage_inject_parent_job_info=True,
        openlineage_inject_transport_info=True,
        poll_interval=2,
    )

"""Run a Spark job by hand from the Airflow UI, with a form for its settings.

Every ``Param`` renders as a typed field of the trigger form and flows into the run's
spark-submit line (arguments and Spark configuration) and its executor count. Manual runs have no logical
date in Airflow 3, so the date defaults to the day the run was triggered (``run_after``).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator

with DAG(
    dag_id="example_dataflow_manual",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "oci-dataflow"],
    doc_md=__doc__,
    params={
        "input_path": Param(
            "oci://raw@namespace/events/",
            type="string",
            pattern="^oci://",
            title="Input path",
            description="OCI URI the job reads (oci://bucket@namespace/prefix/).",
        ),
        "mode": Param(
            "incremental",
            enum=["incremental", "full"],
            title="Mode",
            description="incremental reads one day; full rebuilds everything.",
        ),
        "as_of": Param(
            None,
            type=["null", "string"],
            format="date",
            title="As of date",
            description="Day to process; empty means the day the run is triggered.",
        ),
        "num_executors": Param(2, type="integer", minimum=1, maximum=64, title="Executors"),
        "shuffle_partitions": Param(
            64, type="integer", minimum=1, title="Shuffle partitions", description="spark.sql.shuffle.partitions"
        ),
    },
):
    DataflowInvokeRunOperator(
        task_id="rebuild",
        display_name="manual-{{ params.mode }}-{{ params.as_of or (dag_run.run_after | ds) }}",
        execute="--conf spark.sql.shuffle.partitions={{ params.shuffle_partitions }}"
        " oci://code@namespace/rebuild.py --mode {{ params.mode }}"
        " --as-of {{ params.as_of or (dag_run.run_after | ds) }} --input {{ params.input_path }}",
        num_executors="{{ params.num_executors }}",
        deferrable=True,
        poll_interval=2,  # short for the emulator; 30-60 s suits real runs
    )

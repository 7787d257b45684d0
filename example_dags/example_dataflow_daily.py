"""A daily pipeline that is safe to backfill.

Each run processes exactly its data interval and writes to a path named after its logical date,
so re-running or backfilling a day overwrites that day only. ``max_active_runs`` bounds how many
days a backfill runs at once; ``max_active_tis_per_dag`` bounds concurrent Spark runs (or use a
pool, see docs/dag-authoring.md).

    airflow backfill create --dag-id example_dataflow_daily --from-date 2026-01-01 --to-date 2026-01-07
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator

with DAG(
    dag_id="example_dataflow_daily",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=4,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["example", "oci-dataflow"],
    doc_md=__doc__,
):
    DataflowInvokeRunOperator(
        task_id="aggregate_day",
        display_name="daily-aggregate-{{ ds }}",
        # With `execute`, the job's arguments are part of the spark-submit line (the service
        # ignores `arguments`/`parameters` then); with `application_id`, pass them separately.
        execute="oci://code@namespace/aggregate_day.py"
        " --from {{ data_interval_start | ts }} --to {{ data_interval_end | ts }}"
        " --output oci://lake@namespace/daily_aggregates/dt={{ ds }}/",
        freeform_tags={"pipeline": "daily-aggregate", "logical_date": "{{ ds }}"},
        max_active_tis_per_dag=2,
        deferrable=True,
        poll_interval=2,  # short for the emulator; 30-60 s suits real runs
        timeout=4 * 3600,
    )

"""DAGs of the chaos soak (tests/system/test_chaos_soak.py): a daily DAG to backfill, submitting from the
triggerer, and a mapped fan-out that submits from Celery workers. Each Data Flow run is named after its
logical date or map index, so the soak gives groups of runs their own length and outcome."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator

BACKFILL_DAG = "soak_backfill"
FAN_OUT_DAG = "soak_fan_out"
FAN_OUT_WIDTH = 90
# Both DAGs' tasks wait alike: short polls so the soak sees faults land, and two retries per task.
WAIT_AND_RETRY = {"poll_interval": 5, "retries": 2, "retry_delay": timedelta(seconds=3)}

with DAG(
    dag_id=BACKFILL_DAG,
    schedule="@daily",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=64,
):
    DataflowInvokeRunOperator(
        task_id="spark",
        display_name="soak-day-{{ ds_nodash }}",
        execute="oci://code@namespace/daily.py --day {{ ds }}",
        start_from_trigger=True,
        **WAIT_AND_RETRY,
    )

with DAG(dag_id=FAN_OUT_DAG, schedule=None, start_date=datetime(2025, 1, 1), catchup=False):
    DataflowInvokeRunOperator.partial(
        task_id="spark",
        execute="oci://code@namespace/part.py",
        deferrable=True,
        **WAIT_AND_RETRY,
    ).expand(display_name=[f"soak-map-{index:03d}" for index in range(FAN_OUT_WIDTH)])

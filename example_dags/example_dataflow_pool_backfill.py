"""A backfill through a Data Flow pool: warm the pool first, run every date in it, stop it after.

    airflow backfill create --dag-id example_dataflow_pool_backfill --from-date 2026-01-01 --to-date 2026-03-31

A pool keeps Spark instances ready, so each date's run starts in seconds instead of provisioning its
own. Airflow has no hook for a backfill's start or end (no listener or callback fires for them), so each
DAG run brackets its Spark task with a setup task that starts the pool (a no-op once it is ACTIVE, a
wait while another date's setup starts it) and a teardown task that stops it once no run is left in
the pool (runs of other dates included: it waits for them, and never cancels them). The pool's own
``idle_timeout_in_minutes`` (set when the pool is created, e.g. 30) is the safety net: it stops a pool
a failed or cancelled backfill left running. See docs/pools.md for what each setting does.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator
from airflow_provider_dataflow.operators.pool import DataflowStartPoolOperator, DataflowStopPoolOperator

# The pool's OCID (create it once, in the console or with Terraform's oci_dataflow_pool, with a
# configuration of the shape below and an idle timeout).
POOL_ID = "ocid1.dataflowpool.oc1.iad.aaaaaaaaexamplebackfillpool"
SHAPE = "VM.Standard.E4.Flex"

with DAG(
    dag_id="example_dataflow_pool_backfill",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=8,  # dates in flight at once; the pool's queue holds runs beyond its instances
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["example", "oci-dataflow"],
    doc_md=__doc__,
):
    start_pool = DataflowStartPoolOperator(
        task_id="start_pool",
        pool_id=POOL_ID,
        deferrable=True,
        poll_interval=2,  # short for the emulator; 30 s suits a real pool
        timeout=30 * 60,
    )
    aggregate = DataflowInvokeRunOperator(
        task_id="aggregate_day",
        display_name="pool-aggregate-{{ ds }}",
        pool_id=POOL_ID,
        # A run in a pool uses the pool's shapes. acquireQuotaTimeout: how long it may wait in the pool's
        # queue for a free instance before the service fails it (20 minutes by default).
        execute="--conf spark.dataflow.acquireQuotaTimeout=2h oci://code@namespace/aggregate_day.py --day {{ ds }}",
        driver_shape=SHAPE,
        executor_shape=SHAPE,
        num_executors=1,
        deferrable=True,
        poll_interval=2,
        timeout=4 * 3600,
    )
    stop_pool = DataflowStopPoolOperator(
        task_id="stop_pool",
        pool_id=POOL_ID,
        wait_for_runs=True,
        deferrable=True,
        poll_interval=2,
    )
    start_pool >> aggregate >> stop_pool.as_teardown(setups=start_pool)

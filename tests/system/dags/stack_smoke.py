"""The smallest DAG that crosses every component: a worker defers, the triggerer fires, a worker resumes.

It uses only core Airflow, so the harness can be checked apart from the provider. The sensor's target is
rendered when the task starts, so it always lies in the future and the task always defers.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
from airflow.sdk import DAG, task

with DAG(
    dag_id="stack_smoke",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"wait_seconds": 2},  # a test that acts while the task is deferred asks for longer
    tags=["system-test"],
):

    @task
    def done() -> str:
        return "resumed"

    wait = DateTimeSensorAsync(
        task_id="wait",
        target_time="{{ (ti.start_date + macros.timedelta(seconds=params.wait_seconds)).isoformat() }}",
    )
    wait >> done()

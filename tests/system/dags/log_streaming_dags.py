"""DAGs of the log streaming system test: the same Spark job waited for in the triggerer and on a worker, each
streaming its run's application log (OCI Logging, served by the emulator) into the task log. The run is
named by the ``display_name`` param, so each test gives its run its own emulator behaviour."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator

LOG_GROUP = "ocid1.loggroup.oc1.iad.aaaasystemtestlogs"
LOG = "ocid1.log.oc1.iad.aaaasystemtestapplicationlog"
POLL_INTERVAL = 2.0

for dag_id, deferrable in (("system_log_streaming_deferred", True), ("system_log_streaming_sync", False)):
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        params={"display_name": Param(dag_id, type="string")},
    ):
        DataflowInvokeRunOperator(
            task_id="spark",
            display_name="{{ params.display_name }}",
            execute="oci://code@namespace/job.py",
            application_log_config={"log_group_id": LOG_GROUP, "log_id": LOG},
            stream_logs=True,
            deferrable=deferrable,
            poll_interval=POLL_INTERVAL,
        )

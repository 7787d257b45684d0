"""DAGs for the auth-mode system tests: one per connection ``oci_dataflow_<mode>`` (the stack defines them).

``system_auth_<mode>`` waits for one run in the triggerer (``deferred``) and one on a worker
(``synchronous``) at once; ``system_auth_<mode>_shared`` defers five mapped tasks on the same connection, so
the triggerer's shared watcher lists their compartment for all of them. Runs are named from the ``prefix``
param, so each test gives its runs an emulator behaviour of its own.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator

MODES = ("api_key", "config_file", "security_token", "instance_principal", "resource_principal", "workload_identity")
SHARED_WAITS = 5  # [oci_dataflow] shared_watch_min_runs: the triggerer lists the compartment for them

for mode in MODES:
    common = {
        "oci_conn_id": f"oci_dataflow_{mode}",
        "execute": "oci://code@namespace/job.py",
        "poll_interval": 1,
    }
    with DAG(
        dag_id=f"system_auth_{mode}",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        params={"prefix": Param(f"auth-{mode}", type="string")},
    ):
        DataflowInvokeRunOperator(
            task_id="deferred", display_name="{{ params.prefix }}-deferred", deferrable=True, **common
        )
        DataflowInvokeRunOperator(
            task_id="synchronous", display_name="{{ params.prefix }}-synchronous", deferrable=False, **common
        )
    with DAG(
        dag_id=f"system_auth_{mode}_shared",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        params={"prefix": Param(f"auth-{mode}-shared", type="string")},
    ):
        DataflowInvokeRunOperator.partial(
            task_id="wait", display_name="{{ params.prefix }}-{{ ti.map_index }}", deferrable=True, **common
        ).expand(arguments=[["--part", str(index)] for index in range(SHARED_WAITS)])

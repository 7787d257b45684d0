"""A task that tries to print the connection's secrets, so a test can check they come out masked."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_dataflow.hooks.dataflow import DataflowHook

with DAG(dag_id="system_secrets_leak_attempt", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):

    @task
    def print_secrets() -> str:
        settings = DataflowHook("oci_dataflow_with_passphrase").settings
        print("private key:", settings.private_key)
        print("passphrase:", settings.passphrase)
        return "printed"

    print_secrets()

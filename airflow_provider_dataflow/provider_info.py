"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_dataflow import __version__
from airflow_provider_dataflow.config import provider_config
from airflow_provider_dataflow.hooks.connection_form import CONNECTION_FIELDS, UI_FIELD_BEHAVIOUR


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-oci-dataflow",
        "name": "OCI Data Flow",
        "description": "Run Apache Spark on Oracle Cloud Infrastructure Data Flow from Airflow.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "OCI Data Flow",
                "external-doc-url": "https://docs.oracle.com/en-us/iaas/data-flow/using/home.htm",
                "tags": ["service"],
            }
        ],
        "operators": [
            {
                "integration-name": "OCI Data Flow",
                "python-modules": [
                    "airflow_provider_dataflow.operators.dataflow",
                    "airflow_provider_dataflow.operators.pool",
                    "airflow_provider_dataflow.operators.update_run",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "OCI Data Flow",
                "python-modules": ["airflow_provider_dataflow.sensors.dataflow"],
            }
        ],
        "hooks": [
            {
                "integration-name": "OCI Data Flow",
                "python-modules": ["airflow_provider_dataflow.hooks.dataflow"],
            }
        ],
        "triggers": [
            {
                "integration-name": "OCI Data Flow",
                "python-modules": [
                    "airflow_provider_dataflow.triggers.dataflow",
                    "airflow_provider_dataflow.triggers.pool",
                    "airflow_provider_dataflow.triggers.submit",
                ],
            }
        ],
        "config": provider_config(),
        "extra-links": ["airflow_provider_dataflow.links.dataflow.DataflowRunLink"],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_dataflow.hooks.dataflow.DataflowHook",
                "connection-type": "oci_dataflow",
                "hook-name": "OCI Data Flow",
                "conn-fields": CONNECTION_FIELDS,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            }
        ],
    }

"""A real Airflow stack on one machine for system tests and demos, in two topologies.

``AirflowStack``: api-server, scheduler, dag-processor and triggerer on SQLite and the LocalExecutor.
``ProductionStack``: PostgreSQL, CeleryExecutor on Redis with two workers, two schedulers, two
triggerers, api-server and dag-processor. Both are driven through ``AirflowApi`` (the REST API).
"""

from airflow_provider_dataflow.testing.airflow_stack.api import TERMINAL_RUN_STATES, AirflowApi
from airflow_provider_dataflow.testing.airflow_stack.errors import AirflowApiError, AirflowStackError
from airflow_provider_dataflow.testing.airflow_stack.processes import free_port
from airflow_provider_dataflow.testing.airflow_stack.production import ProductionStack
from airflow_provider_dataflow.testing.airflow_stack.stack import COMPONENTS, AirflowStack

__all__ = [
    "COMPONENTS",
    "TERMINAL_RUN_STATES",
    "AirflowApi",
    "AirflowApiError",
    "AirflowStack",
    "AirflowStackError",
    "ProductionStack",
    "free_port",
]

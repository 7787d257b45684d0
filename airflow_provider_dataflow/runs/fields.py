"""The run's fields under Terraform's ``oci_dataflow_invoke_run`` names, and where an operator keeps them.

Names only, no rules (those are ``request``): the operator's class body reads them on every DAG parse.
"""

from __future__ import annotations

from typing import Any

# Every argument of Terraform's oci_dataflow_invoke_run that goes into the create body.
RUN_FIELDS = (
    "application_id",
    "application_log_config",
    "archive_uri",
    "arguments",
    "compartment_id",
    "configuration",
    "defined_tags",
    "display_name",
    "driver_shape",
    "driver_shape_config",
    "execute",
    "executor_shape",
    "executor_shape_config",
    "freeform_tags",
    "idle_timeout_in_minutes",
    "logs_bucket_uri",
    "max_duration_in_minutes",
    "metastore_id",
    "num_executors",
    "parameters",
    "pool_id",
    "spark_version",
    "type",
    "warehouse_bucket_uri",
)

# `execute` is BaseOperator.execute, so the operator (and the submit trigger) keep it under this name.
EXECUTE_ATTRIBUTE = "spark_submit"
FIELD_ATTRIBUTES = tuple(EXECUTE_ATTRIBUTE if name == "execute" else name for name in RUN_FIELDS)


def run_fields_of(holder: Any) -> dict[str, Any]:
    """The run fields an operator or trigger holds (as attributes), under Terraform's names."""
    return {name: getattr(holder, EXECUTE_ATTRIBUTE if name == "execute" else name) for name in RUN_FIELDS}


# The operator's settings a submission and its wait read besides the run fields (the submit trigger's kwargs).
SUBMIT_SETTINGS = (
    "oci_conn_id",
    "region",
    "opc_parent_rpt_url",
    "poll_interval",
    "timeout",
    "timeout_sets_max_duration",
    "cancel_on_kill",
    "reattach_policy",
    "wait_for_termination",
    "openlineage_inject_parent_job_info",
    "openlineage_inject_transport_info",
    "pool_queue_timeout",
    "end_from_trigger",
    "stream_logs",
)

# The fields the service lets an existing run change (UpdateRunDetails).
UPDATABLE_FIELDS = ("defined_tags", "freeform_tags", "max_duration_in_minutes", "idle_timeout_in_minutes")

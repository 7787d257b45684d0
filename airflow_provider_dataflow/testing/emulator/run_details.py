"""Derive a new run's fields from CreateRunDetails and its application, as the service fills them.

Run values win over the application's, but for ``sparkVersion``: without ``execute`` it "will be taken from
the associated application" (CreateRunDetails). With ``execute`` the service uses what execute derives and
ignores the class, file, language, arguments, configuration and parameters of the application.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from airflow_provider_dataflow.testing.emulator.spark_submit import parse_execute
from airflow_provider_dataflow.testing.emulator.validation import resolve_placeholders

DEFAULT_SHAPE = "VM.Standard.E4.Flex"
DEFAULT_SHAPE_CONFIG = {"ocpus": 1.0, "memoryInGBs": 16.0}
DEFAULT_SPARK_VERSION = "3.5.0"
# Run.idle_timeout_in_minutes: "only applicable for Runs of type SESSION. Default value is 2880 minutes (2 days)".
DEFAULT_SESSION_IDLE_TIMEOUT_MINUTES = 2880

# Copied from the application unless the run sets them.
_INHERITED = (
    "applicationLogConfig",
    "archiveUri",
    "driverShape",
    "driverShapeConfig",
    "executorShape",
    "executorShapeConfig",
    "logsBucketUri",
    "metastoreId",
    "numExecutors",
    "poolId",
    "sparkVersion",
    "type",
    "warehouseBucketUri",
    "maxDurationInMinutes",
    "idleTimeoutInMinutes",
    "privateEndpointId",
)
_FIXED_OCPU_SHAPE = re.compile(r"\.(\d+)$")


def resolve_run_fields(details: dict[str, Any], application: dict[str, Any] | None) -> dict[str, Any]:
    """The run's static API fields (camelCase); lifecycle and ownership are added by the store."""
    app = application or {}
    fields: dict[str, Any] = {key: details.get(key, app.get(key)) for key in _INHERITED}
    if application is not None and not details.get("execute"):
        fields["sparkVersion"] = application.get("sparkVersion")
    fields.update(
        applicationId=details.get("applicationId"),
        compartmentId=details["compartmentId"],
        execute=details.get("execute") or app.get("execute"),
        definedTags=details.get("definedTags", {}),
        freeformTags=details.get("freeformTags", {}),
    )
    run_parameters = _parameter_map(details.get("parameters", []))
    inherited_parameters = {**_parameter_map(app.get("parameters", [])), **run_parameters}
    if fields["execute"]:
        submit = parse_execute(fields["execute"])
        parameters = run_parameters if details.get("execute") else inherited_parameters
        fields.update(
            language=submit.language,
            fileUri=submit.file_uri,
            className=submit.class_name,
            configuration=dict(submit.configuration),
            arguments=resolve_placeholders("execute", submit.arguments, parameters),
        )
    else:
        parameters = inherited_parameters
        arguments = details.get("arguments", app.get("arguments", []))
        fields.update(
            language=app.get("language"),
            fileUri=app.get("fileUri"),
            className=app.get("className"),
            configuration={**app.get("configuration", {}), **details.get("configuration", {})},
            arguments=resolve_placeholders("arguments", arguments, parameters),
        )
    fields["parameters"] = [{"name": name, "value": value} for name, value in parameters.items()]
    _apply_defaults(fields)
    fields["displayName"] = (
        details.get("displayName") or app.get("displayName") or PurePosixPath(fields["fileUri"] or "run").name
    )
    fields["totalOCpu"] = _total_ocpu(fields)
    return fields


def _parameter_map(parameters: list[dict[str, str]]) -> dict[str, str]:
    return {parameter["name"]: parameter["value"] for parameter in parameters}


def _apply_defaults(fields: dict[str, Any]) -> None:
    """What the service fills itself when neither the run nor its application sets it."""
    for shape, config in (("driverShape", "driverShapeConfig"), ("executorShape", "executorShapeConfig")):
        if fields[shape] is None:
            fields[shape] = DEFAULT_SHAPE
            fields[config] = fields[config] or dict(DEFAULT_SHAPE_CONFIG)
    fields["numExecutors"] = fields["numExecutors"] or 1
    fields["sparkVersion"] = fields["sparkVersion"] or DEFAULT_SPARK_VERSION
    fields["type"] = fields["type"] or "BATCH"
    if fields["type"] == "SESSION" and fields["idleTimeoutInMinutes"] is None:
        fields["idleTimeoutInMinutes"] = DEFAULT_SESSION_IDLE_TIMEOUT_MINUTES


def _ocpus(shape: str, config: dict[str, Any] | None) -> float:
    """Flex shapes take OCPUs from their config; fixed shapes (VM.Standard2.4) name them."""
    if config and config.get("ocpus"):
        return float(config["ocpus"])
    match = _FIXED_OCPU_SHAPE.search(shape)
    return float(match.group(1)) if match else 1.0


def _total_ocpu(fields: dict[str, Any]) -> int:
    driver = _ocpus(fields["driverShape"], fields["driverShapeConfig"])
    executors = _ocpus(fields["executorShape"], fields["executorShapeConfig"]) * fields["numExecutors"]
    return round(driver + executors)

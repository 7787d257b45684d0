"""Point a run's OpenLineage events back at the Airflow task that started it.

The OpenLineage provider's own helpers build the Spark properties (parent job, transport); this
module only decides where they go: into ``configuration`` for an application run, or as ``--conf``
options at the front of the spark-submit line when ``execute`` is given (the service then ignores
``configuration``). A key the user set, in the run or in its application, is never overwritten.
The provider is imported only when injection is asked for, so without it nothing changes.
"""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Mapping
from typing import Any, cast

INSTALL_HINT = "install airflow-provider-oci-dataflow[openlineage] (brings apache-airflow-providers-openlineage)"
# Transport properties that carry credentials: masked in logs, redacted in the task's return value.
SECRET_KEY = re.compile(r"^spark\.openlineage\.transport\.(.+\.)?(auth\.apiKey|headers\..+)$")
REDACTED = "***"


def inject_openlineage_properties(
    details: dict[str, Any],
    context: Mapping[str, Any],
    *,
    parent_job: bool,
    transport: bool,
    application_configuration: Mapping[str, str],
    log: logging.Logger | Any,
) -> dict[str, Any]:
    """``details`` (a create body) with the OpenLineage Spark properties added where the service reads them.

    Lineage is observability: when OpenLineage's helpers fail (a task instance without its DAG run, say),
    the run is submitted without the properties and the task log says why.

    :param context: The task's context (a worker's), or ``{"ti": ...}`` (the triggerer's task instance).
    :param application_configuration: The ``configuration`` of the run's application, whose keys the
        run inherits (so they count as set by the user).
    """
    if not (parent_job or transport):
        return details
    try:
        from airflow.providers.openlineage.conf import is_disabled
        from airflow.providers.openlineage.utils.spark import (
            inject_parent_job_information_into_spark_properties,
            inject_transport_information_into_spark_properties,
        )
    except ImportError:
        log.warning("OpenLineage injection is on but the OpenLineage provider is missing; %s", INSTALL_HINT)
        return details
    if is_disabled():
        log.info("OpenLineage is disabled in this deployment; no lineage properties injected")
        return details

    execute = details.get("execute")
    if execute:
        existing = spark_submit_properties(execute)
    else:
        existing = {**application_configuration, **details.get("configuration", {})}
    properties = dict(existing)
    helpers_context = cast(Any, context)  # they read only what a task instance's context holds
    try:
        if parent_job:
            properties = inject_parent_job_information_into_spark_properties(properties, helpers_context)
        if transport:
            properties = inject_transport_information_into_spark_properties(properties, helpers_context)
    except Exception as err:
        log.warning("Could not build the OpenLineage Spark properties; submitting without them: %s", err)
        return details
    added = {key: str(value) for key, value in properties.items() if key not in existing}
    if not added:
        return details
    _mask_secrets(added)
    log.info("Injected OpenLineage Spark properties: %s", ", ".join(sorted(added)))
    if execute:
        return {**details, "execute": with_conf_options(execute, added)}
    return {**details, "configuration": {**details.get("configuration", {}), **added}}


def spark_submit_properties(execute: str) -> dict[str, str]:
    """The ``--conf key=value`` properties of a spark-submit line (options come before the main file)."""
    tokens = shlex.split(execute)
    properties: dict[str, str] = {}
    position = 0
    while position < len(tokens) and tokens[position].startswith("--"):
        option, has_inline, inline_value = tokens[position].partition("=")
        value = inline_value if has_inline else (tokens[position + 1] if position + 1 < len(tokens) else "")
        position += 1 if has_inline else 2
        if option == "--conf":
            key, _, conf_value = value.partition("=")
            properties[key] = conf_value
    return properties


def with_conf_options(execute: str, properties: dict[str, str]) -> str:
    """``execute`` with ``--conf key=value`` options in front, quoted for spark-submit's shell syntax."""
    options = " ".join(f"--conf {shlex.quote(f'{key}={value}')}" for key, value in properties.items())
    return f"{options} {execute}"


def redact_transport_secrets(run: dict[str, Any]) -> dict[str, Any]:
    """The run's attributes with OpenLineage transport credentials replaced by ``***`` (for XCom)."""
    redacted = dict(run)
    if isinstance(run.get("configuration"), dict):
        redacted["configuration"] = {
            key: REDACTED if SECRET_KEY.match(key) else value for key, value in run["configuration"].items()
        }
    if isinstance(run.get("execute"), str):
        redacted["execute"] = _redacted_spark_submit(run["execute"])
    return redacted


def _redacted_spark_submit(execute: str) -> str:
    try:
        tokens = shlex.split(execute)
    except ValueError:
        return execute
    redacted = [_redacted_token(token) for token in tokens]
    return shlex.join(redacted) if redacted != tokens else execute


def _redacted_token(token: str) -> str:
    key, has_equals, _ = token.partition("=")
    return f"{key}={REDACTED}" if has_equals and SECRET_KEY.match(key) else token


def _mask_secrets(properties: dict[str, str]) -> None:
    from airflow_provider_dataflow.compat import mask_secret

    for key, value in properties.items():
        if SECRET_KEY.match(key) and value:
            mask_secret(value, key)
            mask_secret(value.removeprefix("Bearer "), key)  # the helper sends API keys as "Bearer <key>"

"""Validate the operator's (rendered) arguments and turn them into a ``CreateRunDetails`` body.

Runs before any API call, so a typo costs a clear error, not a Spark run. Field names in errors
are the operator's argument names (the same as Terraform's ``oci_dataflow_invoke_run``).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_dataflow.exceptions import DataflowInvalidInputError
from airflow_provider_dataflow.runs.fields import RUN_FIELDS, UPDATABLE_FIELDS
from airflow_provider_dataflow.runs.states import RunType

PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
PARAMETER_NAME = re.compile(r"^\w+$")
SHAPE_CONFIG_KEYS = ("ocpus", "memory_in_gbs")
LOG_CONFIG_KEYS = ("log_group_id", "log_id")
OCID_FIELDS = ("compartment_id", "application_id", "pool_id", "metastore_id")
URI_FIELDS = ("archive_uri", "logs_bucket_uri", "warehouse_bucket_uri")
STRING_FIELDS = ("display_name", "driver_shape", "executor_shape", "spark_version", "execute")
POSITIVE_INT_FIELDS = ("num_executors", "max_duration_in_minutes", "idle_timeout_in_minutes")


def build_create_run_details(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``fields`` (operator argument names) and return the snake_case create body.

    Unset (None) fields are left out so the service applies its own defaults.
    """
    body = _validated(fields, RUN_FIELDS)
    if "compartment_id" not in body:
        raise DataflowInvalidInputError(
            "compartment_id",
            "is required; pass compartment_id= or set compartment_id in the connection's extra",
        )
    if "application_id" not in body and "execute" not in body:
        raise DataflowInvalidInputError(
            "application_id",
            "a run needs application_id (an existing application) or execute (a spark-submit "
            "command line); give at least one",
        )
    if "arguments" in body:
        _check_placeholders(body["arguments"], {p["name"] for p in body.get("parameters", [])})
    return body


def build_update_run_details(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the fields the service lets an existing run change (UpdateRunDetails)."""
    body = _validated(fields, UPDATABLE_FIELDS)
    if not body:
        raise DataflowInvalidInputError(UPDATABLE_FIELDS[0], f"nothing to update; set one of {UPDATABLE_FIELDS}")
    return body


def _validated(fields: Mapping[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise DataflowInvalidInputError(sorted(unknown)[0], f"not accepted here; use one of {allowed}")
    return {name: _FIELD_VALIDATORS[name](name, value) for name, value in fields.items() if value is not None}


def normalise_defined_tags(name: str, value: Any) -> dict[str, dict[str, Any]]:
    """Accept Terraform's flat ``{"Ns.Key": v}`` and the API's nested ``{"Ns": {"Key": v}}``."""
    if not isinstance(value, Mapping):
        raise DataflowInvalidInputError(
            "defined_tags", f'must be a dict like {{"Operations.CostCenter": "42"}}, got {_kind(value)}'
        )
    nested: dict[str, dict[str, Any]] = {}
    for key, tag_value in value.items():
        if not isinstance(key, str) or not key:
            raise DataflowInvalidInputError("defined_tags", f"keys must be non-empty strings, got {key!r}")
        if isinstance(tag_value, Mapping):
            for tag, inner in tag_value.items():
                nested.setdefault(key, {})[str(tag)] = _tag_value(f"{key}.{tag}", inner)
        elif "." in key:
            namespace, tag = key.split(".", 1)
            nested.setdefault(namespace, {})[tag] = _tag_value(key, tag_value)
        else:
            raise DataflowInvalidInputError(
                "defined_tags",
                f"key {key!r} needs a namespace: write 'Namespace.{key}' or {{'Namespace': {{'{key}': ...}}}}",
            )
    return nested


def _tag_value(key: str, value: Any) -> Any:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return value
    raise DataflowInvalidInputError("defined_tags", f"value of {key!r} must be a string, got {_kind(value)}")


def validated_ocid(name: str, value: Any) -> str:
    """An OCID argument outside the run's fields (a pool's, say), checked as theirs are."""
    return _ocid(name, value)


def _ocid(name: str, value: Any) -> str:
    text = _non_empty_string(name, value)
    if not text.startswith("ocid1."):
        raise DataflowInvalidInputError(name, f"must be an OCID (starting with 'ocid1.'), got {text!r}")
    return text


def _non_empty_string(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise DataflowInvalidInputError(name, f"must be a string, got {_kind(value)}")
    if not value.strip():
        raise DataflowInvalidInputError(name, "must not be empty; leave it unset instead")
    return value


def _oci_uri(name: str, value: Any) -> str:
    text = _non_empty_string(name, value)
    for uri in text.split(","):
        if not uri.strip().startswith("oci://"):
            raise DataflowInvalidInputError(
                name, f"{uri.strip()!r} is not an OCI URI; use oci://<bucket>@<namespace>/<path>"
            )
    return text


def _positive_int(name: str, value: Any) -> int:
    # Templated values arrive as strings ("4") unless the DAG renders native objects.
    number = value
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, int):
        raise DataflowInvalidInputError(name, f"must be a whole number, got {_kind(value)} {value!r}")
    if number < 1:
        raise DataflowInvalidInputError(name, f"must be at least 1, got {number}")
    return number


def _positive_number(name: str, value: Any) -> float | int:
    number = value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            number = float(value)
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        raise DataflowInvalidInputError(name, f"must be a number, got {_kind(value)} {value!r}")
    if number <= 0:
        raise DataflowInvalidInputError(name, f"must be greater than 0, got {number}")
    return int(number) if float(number).is_integer() else number


def _shape_config(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise DataflowInvalidInputError(
            name, f'must be a dict like {{"ocpus": 2, "memory_in_gbs": 32}}, got {_kind(value)}'
        )
    unknown = set(value) - set(SHAPE_CONFIG_KEYS)
    if unknown:
        raise DataflowInvalidInputError(name, f"unknown key {sorted(unknown)[0]!r}; allowed: {SHAPE_CONFIG_KEYS}")
    return {key: _positive_number(f"{name}.{key}", item) for key, item in value.items() if item is not None}


def _log_config(name: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise DataflowInvalidInputError(name, f"must be a dict with log_group_id and log_id, got {_kind(value)}")
    unknown = set(value) - set(LOG_CONFIG_KEYS)
    if unknown:
        raise DataflowInvalidInputError(name, f"unknown key {sorted(unknown)[0]!r}; allowed: {LOG_CONFIG_KEYS}")
    return {key: _ocid(f"{name}.{key}", value.get(key)) for key in LOG_CONFIG_KEYS}


def _run_type(name: str, value: Any) -> str:
    allowed = [t.value for t in RunType]
    if not isinstance(value, str) or value.upper() not in allowed:
        raise DataflowInvalidInputError("type", f"must be one of {allowed}, got {value!r}")
    return value.upper()


def _string_map(name: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise DataflowInvalidInputError(name, f"must be a dict of strings, got {_kind(value)}")
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise DataflowInvalidInputError(name, f"keys must be non-empty strings, got {key!r}")
        if not isinstance(item, str):
            raise DataflowInvalidInputError(
                name, f"value of {key!r} must be a string (write {str(item)!r}), got {_kind(item)}"
            )
    return dict(value)


def _parameters(name: str, value: Any) -> list[dict[str, str]]:
    """Accept ``{"name": "value"}`` or Terraform's ``[{"name": ..., "value": ...}]``."""
    if isinstance(value, Mapping):
        pairs = [{"name": key, "value": item} for key, item in value.items()]
    elif isinstance(value, (list, tuple)):
        pairs = []
        for item in value:
            if not isinstance(item, Mapping) or set(item) != {"name", "value"}:
                raise DataflowInvalidInputError(
                    "parameters", f'list items must be {{"name": ..., "value": ...}}, got {item!r}'
                )
            pairs.append(dict(item))
    else:
        raise DataflowInvalidInputError(
            "parameters", f'must be a dict {{"name": "value"}} or a list of {{name, value}}, got {_kind(value)}'
        )
    seen: set[str] = set()
    for pair in pairs:
        param_name, item = pair["name"], pair["value"]
        if not isinstance(param_name, str) or not PARAMETER_NAME.match(param_name):
            raise DataflowInvalidInputError(
                "parameters", f"name {param_name!r} must be one or more word characters (a-z, A-Z, 0-9, _)"
            )
        if param_name in seen:
            raise DataflowInvalidInputError("parameters", f"name {param_name!r} is given twice")
        seen.add(param_name)
        if not isinstance(item, str):
            raise DataflowInvalidInputError(
                "parameters", f"value of {param_name!r} must be a string (write {str(item)!r}), got {_kind(item)}"
            )
    return pairs


def _arguments(name: str, value: Any) -> list[str]:
    if not isinstance(value, (list, tuple)):
        raise DataflowInvalidInputError(name, f"must be a list of strings, got {_kind(value)}")
    for index, argument in enumerate(value):
        if not isinstance(argument, str):
            raise DataflowInvalidInputError(
                name, f"item {index} must be a string (write {str(argument)!r}), got {_kind(argument)}"
            )
    return list(value)


def _check_placeholders(arguments: list[str], parameter_names: set[str]) -> None:
    for index, argument in enumerate(arguments):
        for placeholder in PLACEHOLDER.findall(argument):
            if placeholder not in parameter_names:
                raise DataflowInvalidInputError(
                    "arguments",
                    f"placeholder ${{{placeholder}}} in item {index} has no parameter; add "
                    f"parameters={{'{placeholder}': ...}} or remove the placeholder",
                )


def _kind(value: Any) -> str:
    return type(value).__name__


_FIELD_VALIDATORS: dict[str, Callable[[str, Any], Any]] = {
    **dict.fromkeys(OCID_FIELDS, _ocid),
    **dict.fromkeys(STRING_FIELDS, _non_empty_string),
    **dict.fromkeys(URI_FIELDS, _oci_uri),
    **dict.fromkeys(POSITIVE_INT_FIELDS, _positive_int),
    **dict.fromkeys(("driver_shape_config", "executor_shape_config"), _shape_config),
    **dict.fromkeys(("configuration", "freeform_tags"), _string_map),
    "application_log_config": _log_config,
    "type": _run_type,
    "defined_tags": normalise_defined_tags,
    "parameters": _parameters,
    "arguments": _arguments,
}

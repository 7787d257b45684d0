"""Check request bodies the way the service does: unknown keys, JSON types, ranges, enums, required fields.

Every failure is a 400 whose message starts with the camelCase API field name: MissingParameter for a
required field that is absent, InvalidParameter for the rest (Oracle, "API Errors").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

from airflow_provider_dataflow.testing.emulator.errors import invalid_parameter, missing_parameter

Check = Callable[[str, Any], None]

RUN_TYPES = ("BATCH", "STREAMING", "SESSION")
LANGUAGES = ("PYTHON", "JAVA", "SCALA", "SQL")
PARAMETER_NAME = re.compile(r"[A-Za-z0-9_]+")  # the service's "word characters", ASCII only
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
# ocid1.<type>.<realm>.[region][.future use].<unique id>, as relaxed as the oci SDK's own check
# (oci.config.PATTERNS): it accepts every real OCID and the short fakes tests use.
OCID = re.compile(r"([0-9a-zA-Z-_]+[.:])([0-9a-zA-Z-_]*[.:]){3,}([0-9a-zA-Z-_]+)")


def _fail(field: str, problem: str) -> NoReturn:
    raise invalid_parameter(f"{field} {problem}")


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}.get(
        type(value), type(value).__name__
    )


def string(field: str, value: Any) -> None:
    if not isinstance(value, str):
        _fail(field, f"must be a string, got {_type_name(value)}")


def ocid(field: str, value: Any) -> None:
    string(field, value)
    if not OCID.fullmatch(value):
        _fail(field, f"is not a valid OCID, got {value!r}")


def integer(minimum: int) -> Check:
    def check(field: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(field, f"must be an integer, got {_type_name(value)}")
        if value < minimum:
            _fail(field, f"must be at least {minimum}, got {value}")

    return check


def positive_number(field: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(field, f"must be a number, got {_type_name(value)}")
    if value <= 0:
        _fail(field, f"must be greater than 0, got {value}")


def one_of(allowed: tuple[str, ...]) -> Check:
    def check(field: str, value: Any) -> None:
        string(field, value)
        if value not in allowed:
            _fail(field, f"must be one of {', '.join(allowed)}, got {value!r}")

    return check


def string_list(field: str, value: Any) -> None:
    if not isinstance(value, list):
        _fail(field, f"must be an array of strings, got {_type_name(value)}")
    for index, item in enumerate(value):
        string(f"{field}[{index}]", item)


def string_map(field: str, value: Any) -> None:
    if not isinstance(value, dict):
        _fail(field, f"must be an object of string values, got {_type_name(value)}")
    for key, item in value.items():
        string(f"{field}.{key}", item)


def defined_tags(field: str, value: Any) -> None:
    if not isinstance(value, dict):
        _fail(field, f"must be an object of namespaces, got {_type_name(value)}")
    for namespace, tags in value.items():
        if not isinstance(tags, dict):
            _fail(f"{field}.{namespace}", f"must be an object, got {_type_name(tags)}")


def obj(schema: Mapping[str, Check], required: tuple[str, ...] = ()) -> Check:
    def check(field: str, value: Any) -> None:
        if not isinstance(value, dict):
            _fail(field, f"must be an object, got {_type_name(value)}")
        check_fields(value, schema, required, prefix=f"{field}.")

    return check


def array_of(item_check: Check) -> Check:
    def check(field: str, value: Any) -> None:
        if not isinstance(value, list):
            _fail(field, f"must be an array, got {_type_name(value)}")
        for index, item in enumerate(value):
            item_check(f"{field}[{index}]", item)

    return check


def parameter_name(field: str, value: Any) -> None:
    string(field, value)
    if not PARAMETER_NAME.fullmatch(value):
        _fail(field, f"must be one or more word characters (a-z, A-Z, 0-9, _), got {value!r}")


def check_fields(
    body: dict[str, Any], schema: Mapping[str, Check], required: tuple[str, ...], prefix: str = ""
) -> None:
    """Nulls count as absent (the SDK never sends them; other clients may)."""
    for key, value in body.items():
        if key not in schema:
            _fail(f"{prefix}{key}", "is not a recognized field")
        if value is not None:
            schema[key](f"{prefix}{key}", value)
    for key in required:
        if body.get(key) is None:
            raise missing_parameter(f"{prefix}{key} is required")


SHAPE_CONFIG = obj({"ocpus": positive_number, "memoryInGBs": positive_number})
LOG_CONFIG = obj({"logGroupId": string, "logId": string}, required=("logGroupId", "logId"))
PARAMETERS = array_of(obj({"name": parameter_name, "value": string}, required=("name", "value")))

_COMMON: dict[str, Check] = {
    "applicationLogConfig": LOG_CONFIG,
    "archiveUri": string,
    "arguments": string_list,
    "compartmentId": ocid,
    "configuration": string_map,
    "definedTags": defined_tags,
    "displayName": string,
    "driverShape": string,
    "driverShapeConfig": SHAPE_CONFIG,
    "execute": string,
    "executorShape": string,
    "executorShapeConfig": SHAPE_CONFIG,
    "freeformTags": string_map,
    "logsBucketUri": string,
    "metastoreId": string,
    "numExecutors": integer(1),
    "parameters": PARAMETERS,
    "poolId": string,
    "sparkVersion": string,
    "type": one_of(RUN_TYPES),
    "warehouseBucketUri": string,
    "maxDurationInMinutes": integer(1),
    "idleTimeoutInMinutes": integer(1),
}
CREATE_RUN: dict[str, Check] = {**_COMMON, "applicationId": ocid}
CREATE_APPLICATION: dict[str, Check] = {
    **_COMMON,
    "className": string,
    "description": string,
    "fileUri": string,
    "language": one_of(LANGUAGES),
    "privateEndpointId": string,
}
# UpdateApplicationDetails: every CreateApplicationDetails field but the compartment and the type.
UPDATE_APPLICATION: dict[str, Check] = {
    key: check for key, check in CREATE_APPLICATION.items() if key not in ("compartmentId", "type")
}
UPDATE_RUN: dict[str, Check] = {
    "definedTags": defined_tags,
    "freeformTags": string_map,
    "maxDurationInMinutes": integer(1),
    "idleTimeoutInMinutes": integer(1),
}
APPLICATION_REQUIRED = (
    "compartmentId",
    "displayName",
    "driverShape",
    "executorShape",
    "language",
    "numExecutors",
    "sparkVersion",
)


def _object_body(body: Any, model: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid_parameter(f"The request body must be a {model} JSON object, got {_type_name(body)}")
    return {key: value for key, value in body.items() if value is not None}


def validate_create_run(body: Any) -> dict[str, Any]:
    """CreateRunDetails: compartmentId, and applicationId or execute (both together are valid)."""
    details = _object_body(body, "CreateRunDetails")
    check_fields(details, CREATE_RUN, required=("compartmentId",))
    if "applicationId" not in details and "execute" not in details:
        raise missing_parameter("applicationId or execute is required: set at least one of them")
    return details


def validate_update_run(body: Any) -> dict[str, Any]:
    """UpdateRunDetails allows only tags and the two duration limits."""
    details = _object_body(body, "UpdateRunDetails")
    check_fields(details, UPDATE_RUN, required=())
    return details


def validate_create_application(body: Any) -> dict[str, Any]:
    details = _object_body(body, "CreateApplicationDetails")
    check_fields(details, CREATE_APPLICATION, required=APPLICATION_REQUIRED)
    if "fileUri" not in details and "execute" not in details:
        raise missing_parameter("fileUri or execute is required: set at least one of them")
    return details


def validate_update_application(body: Any) -> dict[str, Any]:
    """UpdateApplicationDetails: any application field but compartmentId and type; all optional."""
    details = _object_body(body, "UpdateApplicationDetails")
    check_fields(details, UPDATE_APPLICATION, required=())
    return details


def resolve_placeholders(field: str, arguments: Sequence[str], parameters: Mapping[str, str]) -> list[str]:
    """Replace ``${name}`` with the parameter's value; a placeholder without a parameter is a 400."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in parameters:
            _fail(field, f"contains the placeholder ${{{name}}} but parameters has no {name!r}")
        return parameters[name]

    return [PLACEHOLDER.sub(substitute, argument) for argument in arguments]

"""Check CreatePoolDetails and UpdatePoolDetails bodies as ``validation`` checks runs and applications.

Rules from the SDK models (required fields) and Oracle's "Creating a Pool" page (at most three
configurations); every failure is a 400 InvalidParameter naming the camelCase field.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_dataflow.testing.emulator.errors import invalid_parameter
from airflow_provider_dataflow.testing.emulator.validation import (
    SHAPE_CONFIG,
    Check,
    array_of,
    check_fields,
    defined_tags,
    integer,
    obj,
    ocid,
    one_of,
    string,
    string_map,
)

DAYS_OF_WEEK = ("SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY")
MAX_CONFIGURATIONS = 3  # "You can have a maximum of three configurations per pool." (pools_create.htm)


def _hour(field: str, value: Any) -> None:
    integer(0)(field, value)
    if value > 23:
        raise invalid_parameter(f"{field} must be an hour of the day (0-23), got {value}")


POOL_CONFIG = obj(
    {"shape": string, "shapeConfig": SHAPE_CONFIG, "min": integer(0), "max": integer(1)}, required=("shape", "max")
)
POOL_SCHEDULE = obj({"dayOfWeek": one_of(DAYS_OF_WEEK), "startTime": _hour, "stopTime": _hour})


def _configurations(field: str, value: Any) -> None:
    array_of(POOL_CONFIG)(field, value)
    if not 1 <= len(value) <= MAX_CONFIGURATIONS:
        raise invalid_parameter(f"{field} must hold 1 to {MAX_CONFIGURATIONS} configurations, got {len(value)}")
    for index, config in enumerate(value):
        if config.get("min") is not None and config["min"] > config["max"]:
            raise invalid_parameter(f"{field}[{index}].min must not exceed max ({config['max']}), got {config['min']}")


UPDATE_POOL: dict[str, Check] = {
    "displayName": string,
    "description": string,
    "configurations": _configurations,
    "schedules": array_of(POOL_SCHEDULE),
    "idleTimeoutInMinutes": integer(1),
    "freeformTags": string_map,
    "definedTags": defined_tags,
}
CREATE_POOL: dict[str, Check] = {**UPDATE_POOL, "compartmentId": ocid}


def validate_create_pool(body: Any) -> dict[str, Any]:
    details = _object_body(body, "CreatePoolDetails")
    check_fields(details, CREATE_POOL, required=("compartmentId", "displayName", "configurations"))
    return details


def validate_update_pool(body: Any) -> dict[str, Any]:
    details = _object_body(body, "UpdatePoolDetails")
    check_fields(details, UPDATE_POOL, required=())
    return details


def _object_body(body: Any, model: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid_parameter(f"The request body must be a {model} JSON object")
    return {key: value for key, value in body.items() if value is not None}

"""Turn the operator's rendered fields into a create body: the same rules on a worker and in the triggerer."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from airflow_provider_dataflow.operators.run_request import build_create_run_details

# The service derives these from `execute` when it is given (valid input, but likely a mistake).
IGNORED_WITH_EXECUTE = ("arguments", "parameters", "configuration")


def create_request(
    fields: Mapping[str, Any],
    *,
    default_compartment_id: str | None,
    tags: Mapping[str, str],
    timeout: float | None,
    timeout_sets_max_duration: bool,
    log: logging.Logger | Any,
) -> dict[str, Any]:
    """Validate (before any API call), tag the run with its Airflow task, and guard the duration."""
    fields = dict(fields)
    if fields.get("compartment_id") is None:
        fields["compartment_id"] = default_compartment_id
    details = build_create_run_details(fields)
    details["freeform_tags"] = {**details.get("freeform_tags", {}), **tags}
    if "execute" in details and (ignored := [n for n in IGNORED_WITH_EXECUTE if n in details]):
        log.warning(
            "Data Flow ignores %s when execute is given; put them in the spark-submit line instead",
            ", ".join(ignored),
        )
    if timeout and timeout_sets_max_duration and "max_duration_in_minutes" not in details:
        details["max_duration_in_minutes"] = math.ceil(timeout / 60)
    return details

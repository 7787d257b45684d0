"""Bulk run creation (``POST /_emulator/runs/bulk``): set up thousands of runs for a benchmark in one call.

Every run goes through the API's own create path, so validation, behaviours and timing apply as for
``POST /runs``; the owner is the ``emulator-bulk`` principal and the journal does not record them.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_dataflow.testing.emulator.identifiers import new_request_id
from airflow_provider_dataflow.testing.emulator.run_creation import create_run
from airflow_provider_dataflow.testing.emulator.signatures import Principal
from airflow_provider_dataflow.testing.emulator.state import EmulatorState

BULK_OWNER = Principal(key_id="emulator-bulk", principal_id="emulator-bulk", user_name="emulator-bulk")
MAX_BULK_RUNS = 100_000
DEFAULT_EXECUTE = "oci://bucket@namespace/jobs/bulk.py"
DEFAULT_PREFIX = "bulk-"


def create_bulk_runs(state: EmulatorState, payload: dict[str, Any], now: float) -> list[str]:
    """``count`` runs; ``ids[i]`` is named prefix + i, zero-padded so names sort in that order. The rest of
    the payload is their CreateRunDetails. Each run has a request id of its own (``opcRequestId``), as each
    POST /runs would: their log records tell them apart by it. Raises ValueError or a 400 ApiError naming
    the bad field."""
    count = payload.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_BULK_RUNS:
        raise ValueError(f"count must be an integer from 1 to {MAX_BULK_RUNS}, got {count!r}")
    prefix = payload.get("displayNamePrefix", DEFAULT_PREFIX)
    if not isinstance(prefix, str):
        raise ValueError(f"displayNamePrefix must be a string, got {prefix!r}")
    details = {key: value for key, value in payload.items() if key not in ("count", "displayNamePrefix")}
    if "displayName" in details:
        raise ValueError("displayName is set per run from displayNamePrefix; send displayNamePrefix instead")
    if details.get("applicationId") is None and details.get("execute") is None:
        details["execute"] = DEFAULT_EXECUTE
    width = len(str(count - 1))
    names = (f"{prefix}{index:0{width}d}" for index in range(count))
    return [
        create_run(state, {**details, "displayName": name}, BULK_OWNER, new_request_id(), None, now).id
        for name in names
    ]

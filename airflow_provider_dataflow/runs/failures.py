"""Sort ended runs by kind: the user's Spark code, capacity, a cancel or a stop.

The exception a task raises for a run that ended badly (and so the retry policy's decision) and the
``oci_dataflow.run.*`` metrics both come from here, so a dashboard and the retry decisions never disagree.
Failed calls get their exception class where they fail (``hooks.service_errors``).
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any

from airflow_provider_dataflow.exceptions import DataflowApplicationError, DataflowRunCapacityError, DataflowRunError
from airflow_provider_dataflow.runs.states import RunState

# lifecycleDetails of a run the service could not place; such a run never reaches IN_PROGRESS. A run that
# waited in a pool's (or the tenancy's) queue past spark.dataflow.acquireQuotaTimeout is one of them.
CAPACITY_DETAILS = re.compile(
    r"out of (host )?capacity|insufficient capacity|not enough capacity|capacity (is )?(not available|unavailable)"
    r"|limit ?exceeded|quota ?exceeded|acquire ?quota ?timeout",
    re.IGNORECASE,
)


class RunEnd(str, Enum):
    """How a run ended, as the metric ``oci_dataflow.run.ended.<kind>`` names it."""

    SUCCEEDED = "succeeded"
    APPLICATION_FAILURE = "application_failure"
    CAPACITY_FAILURE = "capacity_failure"
    CANCELED = "canceled"
    STOPPED = "stopped"


_ENDS = {RunState.SUCCEEDED: RunEnd.SUCCEEDED, RunState.CANCELED: RunEnd.CANCELED, RunState.STOPPED: RunEnd.STOPPED}


def run_end(run: dict[str, Any]) -> RunEnd | None:
    """The kind of a terminal run's end; None while the run has not ended."""
    state = RunState.parse(run.get("state"))
    if state is RunState.FAILED:
        if CAPACITY_DETAILS.search(run.get("lifecycle_details") or ""):
            return RunEnd.CAPACITY_FAILURE
        return RunEnd.APPLICATION_FAILURE
    return _ENDS.get(state) if state is not None else None


def run_error(message: str, run: dict[str, Any]) -> DataflowRunError:
    """The exception for a run that ended in a state the task treats as failure."""
    kind = run_end(run)
    if kind is RunEnd.CAPACITY_FAILURE:
        return DataflowRunCapacityError(message, run)
    if kind is RunEnd.APPLICATION_FAILURE:
        return DataflowApplicationError(message, run)
    return DataflowRunError(message, run)

"""DataflowPoolTrigger's serialisation and the pool rule's outcome, without a service."""

from __future__ import annotations

import subprocess
import sys

import pytest
from structlog.testing import capture_logs

from airflow_provider_dataflow.exceptions import (
    DataflowLimitExceededError,
    DataflowPoolError,
    DataflowPoolTimeoutError,
    service_error,
)
from airflow_provider_dataflow.pipeline.pool import PoolAction, PoolOutcome
from airflow_provider_dataflow.runs.failures import RunEnd, run_end
from airflow_provider_dataflow.triggers.pool import DataflowPoolTrigger

KWARGS = {
    "pool_id": "ocid1.dataflowpool.oc1..p",
    "action": "stop",
    "retry_token": "a" * 64,
    "oci_conn_id": "oci_dataflow_default",
    "region": "us-phoenix-1",
    "poll_interval": 5.0,
    "deadline": 1_900_000_000.5,
    "timeout": 600.0,
    "wait_for_runs": False,
}


def test_a_trigger_rebuilt_from_its_serialisation_keeps_its_absolute_deadline() -> None:
    classpath, kwargs = DataflowPoolTrigger(**KWARGS).serialize()
    assert classpath == "airflow_provider_dataflow.triggers.pool.DataflowPoolTrigger"
    rebuilt = DataflowPoolTrigger(**kwargs)  # what a triggerer does after a restart
    assert rebuilt.serialize()[1] == KWARGS
    assert rebuilt.deadline == 1_900_000_000.5
    assert rebuilt.action is PoolAction.STOP


def test_unknown_kwargs_from_another_release_are_ignored_with_one_warning() -> None:
    with capture_logs() as logs:
        trigger = DataflowPoolTrigger(**KWARGS, drain_first=True, max_wait=3)
    warnings = [entry for entry in logs if entry["log_level"] == "warning"]
    assert len(warnings) == 1
    assert warnings[0]["event"].endswith("does not know: drain_first, max_wait")
    assert "drain_first" not in trigger.serialize()[1]


@pytest.mark.parametrize(
    ("outcome", "error", "message"),
    [
        (
            PoolOutcome.timed_out("p", {"state": "CREATING"}, PoolAction.START, 60, ""),
            DataflowPoolTimeoutError,
            r"did not become ACTIVE within the operator's timeout \(60 s\): it is CREATING\.$",
        ),
        (PoolOutcome.refused({"id": "p", "state": "DELETED"}, "p is DELETED"), DataflowPoolError, "DELETED"),
    ],
)
def test_an_outcome_survives_the_event_and_fails_the_task_with_its_kind(
    outcome: PoolOutcome, error: type[Exception], message: str
) -> None:
    rebuilt = PoolOutcome.from_event(outcome.to_event())
    assert (rebuilt.ending, rebuilt.pool_id, rebuilt.pool) == (outcome.ending, outcome.pool_id, outcome.pool)
    assert (type(rebuilt.error), str(rebuilt.error)) == (type(outcome.error), str(outcome.error))
    with pytest.raises(error, match=message):
        rebuilt.resolve()


def test_a_failed_call_resumes_as_the_exception_the_worker_would_raise() -> None:
    err = service_error("Could not start pool p: 400 LimitExceeded", status=400, code="LimitExceeded")
    outcome = PoolOutcome.from_event(PoolOutcome.failed("p", err).to_event())
    with pytest.raises(DataflowLimitExceededError, match="Could not start pool p"):
        outcome.resolve()
    assert PoolOutcome.done({"id": "p", "state": "ACTIVE"}).resolve() == {"id": "p", "state": "ACTIVE"}


@pytest.mark.parametrize(
    "details",
    [
        "Run failed to start: not enough capacity in pool ocid1.dataflowpool.oc1..p before "
        "spark.dataflow.acquireQuotaTimeout 20m ran out.",  # the emulator's wording
        "Run timed out waiting for resources (spark.dataflow.acquireQuotaTimeout=30m).",
    ],
)
def test_a_run_failed_by_acquire_quota_timeout_is_a_capacity_failure(details: str) -> None:
    assert run_end({"state": "FAILED", "lifecycle_details": details}) is RunEnd.CAPACITY_FAILURE


def test_a_dag_file_importing_the_pool_operators_loads_none_of_the_triggerers_machinery() -> None:
    code = (
        "import sys\n"
        "import airflow.sdk\n"
        "before = set(sys.modules)\n"
        "import airflow_provider_dataflow.operators.pool\n"
        "print('\\n'.join(sorted(set(sys.modules) - before)))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    ours = [m.split(".") for m in loaded if m.startswith("airflow_provider_dataflow.")]
    assert [".".join(parts) for parts in ours if parts[1] in ("triggers", "pipeline", "hooks", "lineage")] == []
    assert [m for m in loaded if m == "oci" or m.startswith("oci.")] == []

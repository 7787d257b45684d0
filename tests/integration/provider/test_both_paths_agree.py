"""The worker and the triggerer run one pipeline: the same failure, deadline and lineage whichever path waits.

Each test here failed before the pipeline was defined once (issue 14): the kind of a failure was lost in
the wait, ``start_from_trigger`` skipped OpenLineage and counted its timeout from another moment, and a
broken log download replaced the run's real failure.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pendulum
import pytest
from airflow.sdk.definitions.retry_policy import RetryAction
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider_dataflow.exceptions import DataflowApplicationError, DataflowRequestRejectedError
from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator
from airflow_provider_dataflow.retry_policy import DataflowRetryPolicy
from airflow_provider_dataflow.testing.emulator import EmulatorControl
from airflow_provider_dataflow.triggers.dataflow import DataflowRunTrigger
from airflow_provider_dataflow.triggers.submit import DataflowSubmitRunTrigger

from .conftest import MemoryStateStore, task_context


def _operator(**kwargs: Any) -> DataflowInvokeRunOperator:
    defaults: dict[str, Any] = {"execute": "oci://code@namespace/job.py", "poll_interval": 0.1}
    return DataflowInvokeRunOperator(task_id="spark", **{**defaults, **kwargs})


async def _first_event(trigger: DataflowRunTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger ended without an event")


def _run_to_the_end(operator: DataflowInvokeRunOperator, context: dict[str, Any]) -> Any:
    """``execute``, and when it defers, the trigger and ``execute_complete``, as Airflow would."""
    try:
        return operator.execute(context)  # type: ignore[arg-type]
    except TaskDeferred as deferred:
        event = asyncio.run(asyncio.wait_for(_first_event(deferred.trigger), 60))  # type: ignore[arg-type]
        return operator.execute_complete(context, event)  # type: ignore[arg-type]


@pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "triggerer"])
def test_a_run_that_cannot_be_read_while_waiting_fails_at_once_on_both_paths(
    dataflow_conn: str, control: EmulatorControl, deferrable: bool
) -> None:
    """A permanent 404 on every read of the run: the task raises the rejected-request error, and
    ``DataflowRetryPolicy`` fails it at once instead of submitting a new run per try."""
    control.add_fault(method="GET", path_regex=r"/runs/[^/]+$", status=404, code="NotAuthorizedOrNotFound", times=None)
    with pytest.raises(DataflowRequestRejectedError) as raised:
        _run_to_the_end(_operator(display_name="unreadable", deferrable=deferrable), task_context())
    assert (raised.value.status, raised.value.code, raised.value.transient) == (404, "NotAuthorizedOrNotFound", False)
    decision = DataflowRetryPolicy().evaluate(raised.value, try_number=1, max_tries=3)
    assert decision.action is RetryAction.FAIL
    assert len(control.runs()) == 1


def test_an_error_event_from_an_earlier_release_still_resumes(dataflow_conn: str) -> None:
    """Events serialised before the failure's kind travelled with them: a plain service error, as before."""
    from airflow_provider_dataflow.exceptions import DataflowServiceError

    old_event = {"status": "error", "run_id": "ocid1.dataflowrun.oc1..gone", "message": "Could not get run: 404"}
    with pytest.raises(DataflowServiceError, match="Could not get run: 404"):
        _operator().execute_complete(task_context(), old_event)  # type: ignore[arg-type]


def test_the_deadline_counts_from_the_runs_creation_on_both_paths(
    dataflow_conn: str, hook: DataflowHook, control: EmulatorControl
) -> None:
    """A retry that reattaches to a run created earlier keeps that run's deadline, as the submit trigger does."""
    control.add_behaviour(display_name_regex="^long$", run_seconds=60)
    store = MemoryStateStore()
    first_try = _operator(display_name="long", asynchronous=True, timeout=600)
    run = first_try.execute(task_context(store=store))  # type: ignore[arg-type]
    time.sleep(1.5)  # the retry comes later; its deadline must not move with it
    created = datetime.fromisoformat(str(run["time_created"]).replace("Z", "+00:00")).timestamp()

    retry = _operator(display_name="long", deferrable=True, timeout=600)
    with pytest.raises(TaskDeferred) as deferred:
        retry.execute(task_context(try_number=2, store=store))  # type: ignore[arg-type]
    worker_deadline = deferred.value.trigger.deadline  # type: ignore[attr-defined]
    assert worker_deadline == pytest.approx(created + 600, abs=0.01)
    assert len(control.runs()) == 1
    hook.cancel_run(run["id"])


class _RuntimeTaskInstance(SimpleNamespace):
    """What the 3.3 triggerer hands a start_from_trigger trigger: the task instance with its DAG run."""

    def get_template_context(self) -> dict[str, Any]:
        return {"ti": self, "dag_run": self.dag_run}


def _runtime_ti() -> _RuntimeTaskInstance:
    dag_run = SimpleNamespace(
        conf={}, clear_number=0, logical_date=pendulum.datetime(2026, 1, 1), run_after=pendulum.datetime(2026, 1, 1)
    )
    return _RuntimeTaskInstance(
        dag_id="dag", run_id="manual__2026-01-01", task_id="spark", map_index=-1, try_number=1, dag_run=dag_run
    )


def test_start_from_trigger_injects_openlineage_as_the_worker_does(
    dataflow_conn: str, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps({"type": "console"}))
    operator = _operator(start_from_trigger=True, display_name="lineage", openlineage_inject_parent_job_info=True)
    kwargs = operator.start_trigger_args.trigger_kwargs  # type: ignore[union-attr]
    trigger = DataflowSubmitRunTrigger(**(kwargs or {}))
    trigger.task_instance = _runtime_ti()  # type: ignore[assignment]
    event = asyncio.run(asyncio.wait_for(_first_event(trigger), 60))
    assert event["status"] == "done"
    (create,) = [e for e in control.journal() if e["method"] == "POST"]
    execute = create["body"]["execute"]
    assert "spark.openlineage.parentJobName=dag.spark" in execute
    assert "spark.openlineage.rootParentJobName=dag" in execute


def test_a_log_download_that_breaks_does_not_hide_the_applications_failure(
    dataflow_conn: str, control: EmulatorControl, capfd: pytest.CaptureFixture[str]
) -> None:
    """The retry policy must see the Spark application's failure, not the transport error of its log."""
    control.add_behaviour(display_name_regex="^breaks$", outcome="FAILED", lifecycle_details="Executor lost")
    control.add_fault(method="GET", path_regex=r"/logs/spark_application_stderr", action="truncate_body")
    with pytest.raises(DataflowApplicationError, match="Executor lost"):
        _run_to_the_end(_operator(display_name="breaks", deferrable=False), task_context())
    assert control.faults()[0]["applied"] == 1
    assert "Could not read the run's logs" in capfd.readouterr().out


def _try(path: str, policy: str, try_number: int, store: MemoryStateStore) -> dict[str, Any]:
    """One try of the task on ``path``; the triggerer's paths read no task state store (it has none)."""
    common: dict[str, Any] = {"display_name": f"reprocess-{path}", "reattach_policy": policy}
    if path != "start_from_trigger":
        context = task_context(try_number, store if path == "worker" else None)
        return _run_to_the_end(_operator(deferrable=path == "deferrable", **common), context)
    operator = _operator(start_from_trigger=True, **common)
    trigger = DataflowSubmitRunTrigger(**(operator.start_trigger_args.trigger_kwargs or {}))  # type: ignore[union-attr]
    ti = _runtime_ti()
    ti.try_number = try_number
    trigger.task_instance = ti  # type: ignore[assignment]
    event = asyncio.run(asyncio.wait_for(_first_event(trigger), 60))
    return operator.execute_complete(task_context(try_number), event)  # type: ignore[arg-type]


PATHS = ["worker", "deferrable", "start_from_trigger"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("policy", "new_run"), [("reattach_active", True), ("reuse_succeeded", False)])
def test_a_clear_of_a_successful_task_runs_spark_again_on_every_path(
    dataflow_conn: str, control: EmulatorControl, path: str, policy: str, new_run: bool
) -> None:
    """A user's clear, or a backfill with reprocess_behavior="completed": the next try submits a new run
    under REATTACH_ACTIVE and reuses the run under REUSE_SUCCEEDED, on every path (issue 19: the submit
    trigger took the clear for a retry and reused the old run)."""
    store = MemoryStateStore()
    first = _try(path, policy, 1, store)
    assert first["freeform_tags"]["airflow_succeeded_try"] == "1", "the run carries its task's success"
    second = _try(path, policy, 2, store)
    assert second["state"] == "SUCCEEDED"
    assert (second["id"] != first["id"]) is new_run
    assert len(control.runs()) == (2 if new_run else 1)


@pytest.mark.parametrize("path", PATHS)
def test_a_retry_after_a_crash_reattaches_to_the_run_on_every_path(
    dataflow_conn: str, hook: DataflowHook, control: EmulatorControl, path: str
) -> None:
    """Try 1's run succeeded but its task never did (the worker died): try 2 goes on with that run."""
    store = MemoryStateStore()
    first = _try(path, "reattach_active", 1, store)
    unmarked = {k: v for k, v in first["freeform_tags"].items() if k != "airflow_succeeded_try"}
    hook.update_run(first["id"], freeform_tags=unmarked)  # as if try 1 had died before its task succeeded
    second = _try(path, "reattach_active", 2, store)
    assert second["id"] == first["id"] and len(control.runs()) == 1

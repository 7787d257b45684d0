"""The provider raises a distinct exception for each failure kind, from real SDK calls to the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_dataflow.exceptions import (
    DataflowApplicationError,
    DataflowLimitExceededError,
    DataflowRequestRejectedError,
    DataflowRunCapacityError,
)
from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator
from airflow_provider_dataflow.testing.emulator import EmulatorControl

from .conftest import run_details, task_context


@pytest.mark.parametrize(
    ("status", "code", "exception"),
    [
        (400, "LimitExceeded", DataflowLimitExceededError),
        (400, "QuotaExceeded", DataflowLimitExceededError),
        (400, "InvalidParameter", DataflowRequestRejectedError),
        (401, "NotAuthenticated", DataflowRequestRejectedError),
        (404, "NotAuthorizedOrNotFound", DataflowRequestRejectedError),
    ],
)
def test_create_errors_raise_their_kind(
    hook: DataflowHook, control: EmulatorControl, status: int, code: str, exception: type[Exception]
) -> None:
    # A 401 is tried once more after reloading the connection (a rotated key): refuse both.
    control.add_fault(method="POST", path_regex="/runs$", status=status, code=code, times=2 if status == 401 else 1)
    with pytest.raises(exception) as raised:
        hook.create_run(run_details("kinds"))
    assert (raised.value.status, raised.value.code, raised.value.transient) == (status, code, False)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("outcome", "exception", "details"),
    [
        ("FAILED", DataflowApplicationError, "exited with status 1"),
        ("NO_CAPACITY", DataflowRunCapacityError, "out of host capacity"),
    ],
)
def test_failed_runs_raise_their_kind_and_still_report_cost(
    dataflow_conn: str,
    control: EmulatorControl,
    capfd: pytest.CaptureFixture[str],
    outcome: str,
    exception: type[Exception],
    details: str,
) -> None:
    control.add_behaviour(display_name_regex="^kinds$", outcome=outcome)
    operator = DataflowInvokeRunOperator(
        task_id="spark", display_name="kinds", execute="oci://code@namespace/job.py", poll_interval=0.1
    )
    context: Any = task_context()
    with pytest.raises(exception, match=details):
        operator.execute(context)
    (cost_line,) = [line for line in capfd.readouterr().out.splitlines() if "OCPU-hours" in line]
    assert f"Data Flow run {operator.run_id} FAILED" in cost_line

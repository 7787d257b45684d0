"""DataflowUpdateRunOperator against the emulator with the real oci SDK (it had never been: the hook passed
the SDK's arguments in the wrong order, and every update failed with a 400 naming the body as the run id)."""

from __future__ import annotations

import pytest

from airflow_provider_dataflow.exceptions import DataflowInvalidInputError
from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.operators.update_run import DataflowUpdateRunOperator
from airflow_provider_dataflow.testing.emulator import EmulatorControl

from .conftest import run_details, task_context


def test_an_update_changes_only_the_given_fields(
    dataflow_conn: str, hook: DataflowHook, control: EmulatorControl
) -> None:
    control.add_behaviour(display_name_regex="^to-update$", run_seconds=30)
    run = hook.create_run(run_details("to-update", freeform_tags={"team": "lake"}))
    operator = DataflowUpdateRunOperator(
        task_id="extend",
        dataflow_run_id=run["id"],
        max_duration_in_minutes="90",
        freeform_tags={"team": "lake", "x": "y"},
    )
    result = operator.execute(task_context())  # type: ignore[arg-type]
    assert result["id"] == run["id"]
    assert result["max_duration_in_minutes"] == 90 and result["freeform_tags"] == {"team": "lake", "x": "y"}
    assert hook.get_run(run["id"])["max_duration_in_minutes"] == 90
    (update,) = [entry for entry in control.journal() if entry["method"] == "PUT"]
    assert set(update["body"]) == {"maxDurationInMinutes", "freeformTags"}
    hook.cancel_run(run["id"])


def test_a_bad_value_fails_before_any_call(dataflow_conn: str, control: EmulatorControl) -> None:
    control.clear_journal()
    with pytest.raises(DataflowInvalidInputError, match="max_duration_in_minutes"):
        DataflowUpdateRunOperator(
            task_id="bad", dataflow_run_id="ocid1.dataflowrun.oc1..r", max_duration_in_minutes="soon"
        ).execute(
            task_context()  # type: ignore[arg-type]
        )
    assert control.journal() == []

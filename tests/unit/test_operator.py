"""Operator construction, templating and event handling (no API calls)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_dataflow.exceptions import DataflowInvalidInputError, DataflowRunError, DataflowRunTimeoutError
from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator
from airflow_provider_dataflow.runs.fields import RUN_FIELDS
from airflow_provider_dataflow.triggers.dataflow import DataflowRunTrigger

RUN = {"id": "ocid1.dataflowrun.oc1.iad.r1", "state": "SUCCEEDED", "type": "BATCH", "lifecycle_details": None}


def _operator(**kwargs: Any) -> DataflowInvokeRunOperator:
    return DataflowInvokeRunOperator(task_id="spark", compartment_id="ocid1.compartment.oc1..c", **kwargs)


def test_every_run_argument_is_templated_and_execute_lives_under_spark_submit() -> None:
    op = _operator(execute="--conf a=b oci://b@n/app.py")
    assert op.spark_submit == "--conf a=b oci://b@n/app.py"
    assert op.execute.__func__ is DataflowInvokeRunOperator.execute  # type: ignore[attr-defined]
    templated = set(op.template_fields)
    assert {name for name in RUN_FIELDS if name != "execute"} | {"spark_submit"} <= templated


def test_templates_render_inside_lists_and_dicts() -> None:
    op = _operator(
        execute="oci://code@ns/job.py",
        arguments=["--day", "{{ ds }}", "${out}"],
        parameters={"out": "oci://out@ns/{{ ds_nodash }}/"},
        configuration={"spark.app.name": "job-{{ ds }}"},
        num_executors="{{ params.executors }}",
        defined_tags={"Ops": {"Day": "{{ ds }}"}},
    )
    op.render_template_fields({"ds": "2026-01-02", "ds_nodash": "20260102", "params": {"executors": 3}})
    fields = op.run_fields()
    assert fields["arguments"] == ["--day", "2026-01-02", "${out}"]
    assert fields["parameters"] == {"out": "oci://out@ns/20260102/"}
    assert fields["configuration"] == {"spark.app.name": "job-2026-01-02"}
    assert fields["num_executors"] == "3"
    assert fields["defined_tags"] == {"Ops": {"Day": "2026-01-02"}}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"poll_interval": 0}, "poll_interval"),
        ({"timeout": -5}, "timeout"),
        ({"reattach_policy": "sometimes"}, "reattach_policy"),
        ({"log_tail_lines": -1}, "log_tail_lines"),
    ],
)
def test_bad_wait_settings_fail_at_dag_parse_time(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(DataflowInvalidInputError, match=f"`{field}`"):
        _operator(application_id="ocid1.dataflowapplication.oc1..a", **kwargs)


def test_success_states_depend_on_run_type() -> None:
    assert _operator().success_states("BATCH") == ["SUCCEEDED"]
    assert _operator().success_states("STREAMING") == ["IN_PROGRESS"]
    assert _operator(wait_for_termination=True).success_states("SESSION") == ["SUCCEEDED", "STOPPED"]


def test_execute_complete_returns_the_run_attributes() -> None:
    op = _operator(log_tail_lines=0)
    result = op.execute_complete({}, {"status": "done", "run": RUN})
    assert result == {**RUN, "cost": result["cost"]}
    assert result["cost"]["ocpu_hours"] == 0


def test_execute_complete_fails_with_state_and_lifecycle_details() -> None:
    op = _operator(log_tail_lines=0)
    failed = {**RUN, "state": "FAILED", "lifecycle_details": "Executor lost"}
    with pytest.raises(DataflowRunError, match=r"ocid1.dataflowrun.oc1.iad.r1 ended FAILED: Executor lost"):
        op.execute_complete({}, {"status": "done", "run": failed})


def test_execute_complete_reports_a_timeout() -> None:
    op = _operator(log_tail_lines=0)
    event = {"status": "timeout", "run": {**RUN, "state": "CANCELED"}, "message": "did not finish within"}
    with pytest.raises(DataflowRunTimeoutError, match="did not finish within"):
        op.execute_complete({}, event)


def test_trigger_round_trips_through_serialize() -> None:
    trigger = DataflowRunTrigger(
        run_id="ocid1.dataflowrun.oc1..r",
        oci_conn_id="c",
        region="eu-frankfurt-1",
        poll_interval=5,
        target_states=["SUCCEEDED"],
        deadline=1_900_000_000.0,
        timeout=600,
        cancel_on_kill=False,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_dataflow.triggers.dataflow.DataflowRunTrigger"
    rebuilt = DataflowRunTrigger(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    json.dumps(kwargs)  # only plain JSON types: nothing that fails at defer time


def test_a_trigger_serialised_by_the_previous_release_still_deserialises() -> None:
    """0.1.0 wrote these kwargs (no compartment_id); such triggers learn the compartment from their first read."""
    previous_release = {
        "run_id": "ocid1.dataflowrun.oc1..r",
        "oci_conn_id": "oci_dataflow_default",
        "region": None,
        "poll_interval": 30.0,
        "target_states": ["CANCELED", "FAILED", "STOPPED", "SUCCEEDED"],
        "deadline": None,
        "timeout": None,
        "cancel_on_kill": True,
    }
    trigger = DataflowRunTrigger(**previous_release)
    assert trigger.compartment_id is None
    assert trigger.serialize()[1] == {**previous_release, "compartment_id": None}


def test_start_from_trigger_hands_every_templated_run_field_to_the_trigger() -> None:
    op = _operator(start_from_trigger=True, display_name="{{ params.name }}", arguments=["--day", "{{ ds }}"])
    args = op.start_trigger_args
    assert args is not None
    assert args.trigger_cls == "airflow_provider_dataflow.triggers.submit.DataflowSubmitRunTrigger"
    kwargs = args.trigger_kwargs or {}
    run_field_attributes = [f for f in op.template_fields if f not in ("opc_parent_rpt_url", "region")]
    assert set(run_field_attributes) <= set(kwargs), "the triggerer renders only fields it is handed"
    assert kwargs["display_name"] == "{{ params.name }}" and kwargs["spark_submit"] == op.spark_submit
    json.dumps(kwargs)


def test_the_names_the_operator_keeps_to_parse_fast_are_the_real_ones() -> None:
    """The operator names the hook's default connection and the submit trigger's class without importing them."""
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook
    from airflow_provider_dataflow.operators import dataflow as operator_module
    from airflow_provider_dataflow.triggers.submit import DataflowSubmitRunTrigger

    assert DataflowHook.default_conn_name == operator_module.DEFAULT_CONN_ID
    submit_trigger = DataflowSubmitRunTrigger
    assert f"{submit_trigger.__module__}.{submit_trigger.__qualname__}" == operator_module.SUBMIT_TRIGGER

"""Operator construction, templating and event handling (no API calls)."""

from __future__ import annotations

import json
from types import SimpleNamespace
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


def test_execute_complete_returns_the_run_attributes_and_their_cost() -> None:
    run = {
        **RUN,
        "total_ocpu": 4,
        "run_duration_in_milliseconds": 900_000,
        "time_created": "2026-03-01T10:00:00+00:00",
        "time_updated": "2026-03-01T10:16:00+00:00",
        "data_read_in_bytes": 1024,
        "data_written_in_bytes": 2048,
    }
    result = _operator(log_tail_lines=0).execute_complete({}, {"status": "done", "run": run})
    assert result == {
        **run,
        "cost": {
            "ocpu_hours": 1.0,
            "total_ocpu": 4.0,
            "run_seconds": 900.0,
            "queue_seconds": 60.0,
            "data_read_in_bytes": 1024,
            "data_written_in_bytes": 2048,
        },
    }


def test_execute_complete_fails_with_state_and_lifecycle_details() -> None:
    op = _operator(log_tail_lines=0)
    failed = {**RUN, "state": "FAILED", "lifecycle_details": "Executor lost"}
    with pytest.raises(DataflowRunError, match=r"ocid1.dataflowrun.oc1.iad.r1 ended FAILED: Executor lost"):
        op.execute_complete({}, {"status": "done", "run": failed})


def test_execute_complete_reports_a_timeout() -> None:
    from airflow_provider_dataflow.pipeline.outcome import WaitOutcome

    op = _operator(log_tail_lines=0)
    canceled = {**RUN, "state": "CANCELED"}
    event = WaitOutcome.timed_out(canceled, "within the operator's timeout (600 s)", cancelled=True).to_event()
    message = r"Data Flow run ocid1.dataflowrun.oc1.iad.r1 did not finish within the operator's timeout \(600 s\); "
    with pytest.raises(DataflowRunTimeoutError, match=message + r"cancelled it \(state CANCELED\)\.$"):
        op.execute_complete({}, event)


def test_trigger_round_trips_through_serialize() -> None:
    given = {  # every argument, none at its default
        "run_id": "ocid1.dataflowrun.oc1..r",
        "oci_conn_id": "c",
        "region": "eu-frankfurt-1",
        "poll_interval": 5,
        "target_states": ["SUCCEEDED"],
        "deadline": 1_900_000_000.0,
        "timeout": 600,
        "cancel_on_kill": False,
        "compartment_id": "ocid1.compartment.oc1..c",
        "pool_id": "ocid1.dataflowpool.oc1..p",
        "pool_queue_deadline": 1_800_000_000.0,
        "pool_queue_timeout": 300,
        "end_from_trigger": True,
        "log_stream": {"run_key": "req", "not_before": 1.0, "logs": []},
    }
    classpath, kwargs = DataflowRunTrigger(**given).serialize()  # type: ignore[arg-type]
    assert classpath == "airflow_provider_dataflow.triggers.dataflow.DataflowRunTrigger"
    assert kwargs == given, "a triggerer rebuilds the trigger from these alone"
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
    newer_arguments = {
        "compartment_id": None,
        "pool_id": None,
        "pool_queue_deadline": None,
        "pool_queue_timeout": None,
        "end_from_trigger": False,
        "log_stream": None,
    }
    assert trigger.serialize()[1] == {**previous_release, **newer_arguments}


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


def test_triggers_written_by_a_newer_release_load_ignoring_what_they_do_not_know(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """During a rolling upgrade a trigger row may come from a release with more arguments (issue 21, item 1)."""
    from airflow_provider_dataflow.triggers.submit import DataflowSubmitRunTrigger

    _, run_kwargs = DataflowRunTrigger(run_id="ocid1.dataflowrun.oc1..r", deadline=1.0).serialize()
    newer = {**run_kwargs, "stream_logs_to": "somewhere", "max_backoff": 60}
    with caplog.at_level("WARNING"):
        trigger = DataflowRunTrigger(**newer)
    assert trigger.serialize()[1] == run_kwargs
    assert "DataflowRunTrigger ignores keyword arguments it does not know" in caplog.text
    assert "max_backoff, stream_logs_to" in caplog.text

    op = _operator(start_from_trigger=True, display_name="{{ params.name }}")
    submit_kwargs = dict(op.start_trigger_args.trigger_kwargs or {})  # type: ignore[union-attr]
    caplog.clear()
    with caplog.at_level("WARNING"):
        submit = DataflowSubmitRunTrigger(**{**submit_kwargs, "spark_ui_links": True})
    assert submit.serialize()[1] == submit_kwargs
    assert "DataflowSubmitRunTrigger ignores keyword arguments it does not know" in caplog.text


def test_a_submit_trigger_written_before_pools_and_end_from_trigger_still_loads() -> None:
    """The submit trigger's kwargs as 0.2.0.dev wrote them (no pool_queue_timeout, no end_from_trigger)."""
    from airflow_provider_dataflow.triggers.submit import DataflowSubmitRunTrigger

    op = _operator(start_from_trigger=True)
    kwargs = dict(op.start_trigger_args.trigger_kwargs or {})  # type: ignore[union-attr]
    older = {key: value for key, value in kwargs.items() if key not in ("pool_queue_timeout", "end_from_trigger")}
    trigger = DataflowSubmitRunTrigger(**older)
    assert trigger.end_from_trigger is False and trigger.pool_queue_timeout is None
    assert trigger.serialize()[1] == kwargs


@pytest.mark.parametrize("listeners", [False, True])
def test_end_from_trigger_falls_back_to_the_worker_when_listeners_are_installed(
    monkeypatch: pytest.MonkeyPatch, listeners: bool
) -> None:
    """Airflow refuses a DAG whose task has end_from_trigger=True while a listener (OpenLineage) is
    installed; the operator turns it off then, so the DAG still imports, and the task resumes on a worker."""
    from airflow.dag_processing import dagbag
    from airflow.listeners import listener
    from airflow.sdk import DAG

    for module in (listener, dagbag):
        monkeypatch.setattr(module, "get_listener_manager", lambda: SimpleNamespace(has_listeners=listeners))
    with DAG(dag_id="listened", schedule=None) as dag:
        op = _operator(application_id="ocid1.dataflowapplication.oc1..a", deferrable=True, end_from_trigger=True)
    assert op.end_from_trigger is not listeners
    bag = dagbag.DagBag(dag_folder="/nonexistent", collect_dags=False)
    bag.bag_dag(dag)  # what Airflow does with each DAG a file defines: it raises for a refused one
    assert list(bag.dags) == ["listened"]


def test_end_from_trigger_needs_a_trigger() -> None:
    with pytest.raises(DataflowInvalidInputError, match="`end_from_trigger`: needs deferrable=True"):
        _operator(application_id="ocid1.dataflowapplication.oc1..a", deferrable=False, end_from_trigger=True)

"""Which logs hold a run's lines (``pipeline.logs.sources``), and a DAG author's log names checked before any call."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from airflow_provider_dataflow.exceptions import DataflowInvalidInputError
from airflow_provider_dataflow.pipeline.logs.sources import LogSource, LogStream, run_log_sources
from airflow_provider_dataflow.runs.logs import stream_log_names

RUN_COMPARTMENT = "ocid1.compartment.oc1..run"
GROUP, LOG, DIAGNOSTIC = "ocid1.loggroup.oc1..g", "ocid1.log.oc1..app", "ocid1.log.oc1..diag"


def test_the_runs_application_log_and_the_named_logs_each_once_in_the_runs_compartment_unless_named() -> None:
    run = {"compartment_id": RUN_COMPARTMENT, "application_log_config": {"log_group_id": GROUP, "log_id": LOG}}
    named = stream_log_names(
        "stream_logs",
        [
            f"{GROUP}/{DIAGNOSTIC}",
            {"log_group_id": GROUP, "log_id": LOG},
            f"ocid1.compartment.oc1..x/{GROUP}/{DIAGNOSTIC}",
        ],
    )
    assert run_log_sources(run, named) == [
        LogSource(RUN_COMPARTMENT, GROUP, LOG),
        LogSource(RUN_COMPARTMENT, GROUP, DIAGNOSTIC),
        LogSource("ocid1.compartment.oc1..x", GROUP, DIAGNOSTIC),
    ]
    assert run_log_sources({"compartment_id": RUN_COMPARTMENT, "application_log_config": None}) == []


def test_a_runs_stream_travels_to_its_trigger_as_json_or_says_why_there_is_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    run = {
        "id": "ocid1.dataflowrun.oc1..r",
        "compartment_id": RUN_COMPARTMENT,
        "opc_request_id": "REQ/1/2",
        "time_created": "2027-01-15T08:00:00+00:00",
        "application_log_config": {"log_group_id": GROUP, "log_id": LOG},
    }
    log = logging.getLogger(__name__)
    stream = LogStream.of(run, [f"{GROUP}/{DIAGNOSTIC}"], log)
    assert isinstance(stream, LogStream)
    assert LogStream.from_json(stream.to_json()) == stream
    assert (stream.run_key, stream.not_before) == ("REQ/1/2", 1_800_000_000.0)
    with caplog.at_level(logging.WARNING):
        assert LogStream.of({**run, "application_log_config": None}, [], log) is None
    assert "has no application_log_config" in caplog.text
    assert LogStream.of(run, None, log) is None, "stream_logs off"
    assert LogStream.from_json(None) is None


@pytest.mark.parametrize(("value", "expected"), [(True, []), (False, None), ([f"{GROUP}/{LOG}"], [f"{GROUP}/{LOG}"])])
def test_stream_logs_is_on_off_or_names_logs(value: Any, expected: Any) -> None:
    assert stream_log_names("stream_logs", value) == expected


def test_stream_logs_left_unset_follows_the_provider_wide_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert stream_log_names("stream_logs", None) is None
    monkeypatch.setenv("AIRFLOW__OCI_DATAFLOW__STREAM_LOGS", "True")
    assert stream_log_names("stream_logs", None) == []


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("just-a-name", "is not '<log group OCID>/<log OCID>'"),
        ([{"log_id": LOG}], "each log needs log_group_id and log_id"),
        ([{"log_group_id": GROUP, "log_id": LOG, "region": "x"}], "each log needs log_group_id and log_id"),
        ([42], "a log is a dict or a string, got int"),
        (42, "must be True, False or a list of logs, got int"),
    ],
)
def test_a_bad_log_name_is_refused_naming_the_argument_and_the_fix(value: Any, problem: str) -> None:
    with pytest.raises(DataflowInvalidInputError) as raised:
        stream_log_names("stream_logs", value)
    assert raised.value.field == "stream_logs"
    assert problem in str(raised.value)

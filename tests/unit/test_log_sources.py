"""Which logs hold a run's lines (``pipeline.logs.sources``), and a DAG author's log names checked before any call."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_dataflow.exceptions import DataflowInvalidInputError
from airflow_provider_dataflow.pipeline.logs.sources import LogSource, parse_log_names, run_log_sources

RUN_COMPARTMENT = "ocid1.compartment.oc1..run"
GROUP, LOG, DIAGNOSTIC = "ocid1.loggroup.oc1..g", "ocid1.log.oc1..app", "ocid1.log.oc1..diag"


def test_the_runs_application_log_and_the_named_logs_each_once_in_the_runs_compartment_unless_named() -> None:
    run = {"compartment_id": RUN_COMPARTMENT, "application_log_config": {"log_group_id": GROUP, "log_id": LOG}}
    named = parse_log_names(
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


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("just-a-name", "is not '<log group OCID>/<log OCID>'"),
        ([{"log_id": LOG}], "each log needs log_group_id and log_id"),
        ([{"log_group_id": GROUP, "log_id": LOG, "region": "x"}], "each log needs log_group_id and log_id"),
        ([42], "a log is a dict or a string, got int"),
        (42, "must be a list of logs, got int"),
    ],
)
def test_a_bad_log_name_is_refused_naming_the_argument_and_the_fix(value: Any, problem: str) -> None:
    with pytest.raises(DataflowInvalidInputError) as raised:
        parse_log_names("stream_logs", value)
    assert raised.value.field == "stream_logs"
    assert problem in str(raised.value)

"""Where OpenLineage properties go in a create body, and that transport credentials stay out of XCom."""

from __future__ import annotations

import logging
import shlex
import subprocess
import sys

import pytest

from airflow_provider_dataflow.lineage.injection import (
    inject_openlineage_properties,
    redact_transport_secrets,
    spark_submit_properties,
    with_conf_options,
)

LOG = logging.getLogger(__name__)


def test_spark_submit_properties_are_the_conf_options_before_the_main_file() -> None:
    execute = (
        "--class com.example.Main --conf spark.a=1 --conf=spark.b=x=y --jars oci://b@n/x.jar "
        "oci://b@n/app.jar --conf not.an.option=1"
    )
    assert spark_submit_properties(execute) == {"spark.a": "1", "spark.b": "x=y"}


def test_conf_options_go_in_front_and_survive_spark_submit_parsing() -> None:
    execute = "--conf spark.a=1 oci://b@n/app.py --day 2026-01-01"
    added = {"spark.openlineage.parentJobName": "dag.task with space", "spark.openlineage.parentRunId": "0193"}
    result = with_conf_options(execute, added)
    assert result.endswith(execute)
    assert spark_submit_properties(result) == {"spark.a": "1", **added}
    assert shlex.split(result)[-3:] == ["oci://b@n/app.py", "--day", "2026-01-01"]


def test_transport_credentials_are_redacted_from_the_return_value() -> None:
    run = {
        "configuration": {
            "spark.openlineage.transport.auth.apiKey": "Bearer k",
            "spark.openlineage.transport.transports.http.headers.X-Token": "t",
            "spark.openlineage.transport.url": "http://127.0.0.1:5000",
        },
        "execute": "--conf 'spark.openlineage.transport.auth.apiKey=Bearer k' --conf spark.x=1 oci://b@n/a.py",
    }
    redacted = redact_transport_secrets(run)
    assert redacted["configuration"] == {
        "spark.openlineage.transport.auth.apiKey": "***",
        "spark.openlineage.transport.transports.http.headers.X-Token": "***",
        "spark.openlineage.transport.url": "http://127.0.0.1:5000",
    }
    assert "Bearer k" not in redacted["execute"]
    assert spark_submit_properties(redacted["execute"])["spark.x"] == "1"
    assert run["configuration"]["spark.openlineage.transport.auth.apiKey"] == "Bearer k"  # the input is untouched
    untouched = {"execute": "oci://b@n/a.py 'unbalanced"}
    assert redact_transport_secrets(untouched) == untouched


def test_nothing_is_injected_when_the_flags_are_off() -> None:
    details = {"execute": "oci://b@n/a.py"}
    result = inject_openlineage_properties(
        details, {}, parent_job=False, transport=False, application_configuration=_no_call, log=LOG
    )
    assert result is details


def test_nothing_is_injected_while_openlineage_is_not_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AIRFLOW__OPENLINEAGE__TRANSPORT", "OPENLINEAGE_URL", "OPENLINEAGE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    details = {"application_id": "ocid1.dataflowapplication.oc1..a", "configuration": {"spark.a": "1"}}
    result = inject_openlineage_properties(
        details, {}, parent_job=True, transport=True, application_configuration=_no_call, log=LOG
    )
    assert result is details


def test_without_the_openlineage_provider_the_body_is_unchanged_and_the_log_says_what_to_install() -> None:
    code = (
        "import logging, sys\n"
        "sys.modules['airflow.providers.openlineage'] = None  # as if the extra were not installed\n"
        "from airflow_provider_dataflow.lineage.injection import inject_openlineage_properties\n"
        "logging.basicConfig(level=logging.INFO, stream=sys.stdout, format='%(message)s')\n"
        "details = {'execute': 'oci://b@n/a.py'}\n"
        "result = inject_openlineage_properties(details, {}, parent_job=True, transport=True,\n"
        "    application_configuration=None, log=logging.getLogger('t'))\n"
        "print('unchanged' if result is details else 'changed')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "airflow-provider-oci-dataflow[openlineage]" in result.stdout
    assert result.stdout.strip().endswith("unchanged")


def _no_call(_application_id: str) -> dict[str, str]:
    raise AssertionError("the application must not be read")

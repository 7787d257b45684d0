"""Authentication as the real Airflow shows it: the connection form, and secrets that never leak."""

from __future__ import annotations

import json

import pytest

from airflow_provider_dataflow.testing.airflow_stack import AirflowStack
from airflow_provider_dataflow.testing.credentials import TestCredentials

from .conftest import PASSPHRASE

pytestmark = pytest.mark.system


def test_the_ui_gets_the_declarative_connection_form(stack: AirflowStack) -> None:
    hook_meta = stack.api.request("GET", "/ui/connections/hook_meta")
    (form,) = [entry for entry in hook_meta if entry["connection_type"] == "oci_dataflow"]
    assert form["hook_name"] == "OCI Data Flow"
    fields = form["extra_fields"]
    assert fields["auth_type"]["schema"]["enum"][:2] == ["api_key", "config_file"]
    assert fields["passphrase"]["schema"]["format"] == "password"
    standard = form["standard_fields"]
    assert all(standard[name]["hidden"] for name in ("host", "port", "login", "url_schema"))
    assert standard["password"]["title"] == "Private key (PEM)"


def _secret_fragments(creds: TestCredentials) -> list[str]:
    body_lines = [line for line in creds.private_key_pem.splitlines() if line and not line.startswith("-----")]
    return [PASSPHRASE, *body_lines]


def test_secrets_never_reach_logs_rendered_fields_or_xcom(stack: AirflowStack, creds: TestCredentials) -> None:
    api = stack.api
    leak = api.trigger_dag("system_secrets_leak_attempt")
    assert api.wait_for_dag_run("system_secrets_leak_attempt", leak) == "success"
    leak_log = api.task_log("system_secrets_leak_attempt", leak, "print_secrets", try_number=1)
    assert "passphrase: ***" in leak_log

    run = api.trigger_dag("system_dataflow_deferred", conf={"display_name": "secrets-check"})
    assert api.wait_for_dag_run("system_dataflow_deferred", run) == "success"
    seen = "\n".join(
        [
            leak_log,
            api.task_log("system_dataflow_deferred", run, "spark", try_number=1),
            json.dumps(api.rendered_fields("system_dataflow_deferred", run, "spark")),
            json.dumps(api.xcom("system_dataflow_deferred", run, "spark")),
        ]
    )
    leaked = [fragment for fragment in _secret_fragments(creds) if fragment in seen]
    assert not leaked, f"{len(leaked)} secret fragments leaked"

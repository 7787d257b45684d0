"""The declarative connection form: what Airflow's UI renders, and that real extras fit it."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import jsonschema
import pytest

from airflow_provider_dataflow.hooks.auth_type import AuthType


def _connection_type() -> dict[str, Any]:
    (entry_point,) = [ep for ep in entry_points(group="apache_airflow_provider") if "dataflow" in ep.value]
    info = entry_point.load()()
    (conn_type,) = info["connection-types"]
    return conn_type


def _extra_schema() -> dict[str, Any]:
    fields = _connection_type()["conn-fields"]
    return {
        "type": "object",
        "properties": {name: field["schema"] for name, field in fields.items()},
        "additionalProperties": False,
    }


def test_the_entry_point_registers_the_hook_and_connection_type() -> None:
    conn_type = _connection_type()
    assert conn_type["connection-type"] == "oci_dataflow"
    assert conn_type["hook-class-name"] == "airflow_provider_dataflow.hooks.dataflow.DataflowHook"


def test_every_field_is_labelled_and_described() -> None:
    for name, field in _connection_type()["conn-fields"].items():
        assert field["label"] and field["description"], name
    assert _connection_type()["conn-fields"]["auth_type"]["schema"]["enum"] == [a.value for a in AuthType]
    assert _connection_type()["conn-fields"]["passphrase"]["schema"]["format"] == "password"


@pytest.mark.parametrize(
    "extra",
    [
        {
            "auth_type": "api_key",
            "region": "us-ashburn-1",
            "tenancy": "ocid1.tenancy.oc1..aaaa",
            "user": "ocid1.user.oc1..aaaa",
            "fingerprint": "12:34:56:78:90:ab:cd:ef:12:34:56:78:90:ab:cd:ef",
            "compartment_id": "ocid1.compartment.oc1..aaaa",
        },
        {"auth_type": "config_file", "config_file": "~/.oci/config", "profile": "DATAFLOW"},
        {"auth_type": "security_token", "config_file": "~/.oci/config", "profile": "session"},
        {
            "auth_type": "security_token",
            "security_token_file": "/opt/oci/token",
            "key_file": "/opt/oci/session.pem",
            "region": "eu-frankfurt-1",
        },
        {"auth_type": "instance_principal", "region": "uk-london-1"},
        {"auth_type": "instance_principal", "federation_endpoint": "https://auth.uk-london-1.oraclecloud.com/v1/x509"},
        {"auth_type": "resource_principal"},
        {"auth_type": "workload_identity", "region": "us-phoenix-1", "service_endpoint": "https://df.internal"},
        {
            "auth_type": "workload_identity",
            "region": "us-phoenix-1",
            "service_account_token_path": "/var/run/secrets/tokens/oci",
        },
    ],
)
def test_documented_extras_fit_the_form(extra: dict[str, Any]) -> None:
    jsonschema.validate(extra, _extra_schema())


def test_a_typo_in_the_auth_type_does_not_fit() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"auth_type": "apikey"}, _extra_schema())

"""Which oci SDK signer each auth mode builds, from the documented connection inputs."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import oci
import pytest

from airflow_provider_dataflow.exceptions import DataflowInvalidInputError
from airflow_provider_dataflow.hooks.auth import ConnectionSettings, build_config_and_signer
from airflow_provider_dataflow.hooks.auth_type import AuthType
from airflow_provider_dataflow.hooks.service_errors import classify_failure


def _settings(**fields: Any) -> ConnectionSettings:
    return ConnectionSettings(conn_id="c", **fields)


class _RecordingSigner:
    """Stands in for an SDK signer that would call a metadata endpoint this machine does not have."""

    calls: list[str] = []

    def __init__(self, name: str) -> None:
        self.region = "eu-frankfurt-1"
        _RecordingSigner.calls.append(name)


@pytest.mark.parametrize(
    ("auth_type", "factory"),
    [
        (AuthType.INSTANCE_PRINCIPAL, "InstancePrincipalsSecurityTokenSigner"),
        (AuthType.RESOURCE_PRINCIPAL, "get_resource_principals_signer"),
        (AuthType.WORKLOAD_IDENTITY, "get_oke_workload_identity_resource_principal_signer"),
    ],
)
def test_principal_modes_use_the_sdks_own_signer(
    auth_type: AuthType, factory: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oci.auth.signers, factory, lambda: _RecordingSigner(factory))
    config, signer = build_config_and_signer(_settings(auth_type=auth_type, region="us-phoenix-1"))
    assert isinstance(signer, _RecordingSigner) and _RecordingSigner.calls[-1] == factory
    assert config == {"region": "us-phoenix-1"}  # the connection's region wins over the signer's
    assert build_config_and_signer(_settings(auth_type=auth_type))[0] == {"region": "eu-frankfurt-1"}


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        (
            {"auth_type": AuthType.API_KEY, "user": "u", "fingerprint": "f", "region": "r", "private_key": "k"},
            "tenancy",
        ),
        ({"auth_type": AuthType.API_KEY, "tenancy": "t", "user": "u", "fingerprint": "f", "region": "r"}, "password"),
        ({"auth_type": AuthType.SECURITY_TOKEN, "key_file": "k", "region": "r"}, "security_token_file"),
        ({"auth_type": AuthType.WORKLOAD_IDENTITY}, "region"),
    ],
)
def test_incomplete_connections_fail_before_any_call_naming_the_field(fields: dict[str, Any], missing: str) -> None:
    with pytest.raises(DataflowInvalidInputError, match=missing):
        _settings(**fields).check_complete()


def test_secrets_are_offered_to_the_masker_and_kept_out_of_repr() -> None:
    pem = "-----BEGIN KEY-----\nAAAAline1\nBBBBline2\n-----END KEY-----"
    settings = _settings(auth_type=AuthType.API_KEY, private_key=pem, passphrase="hunter22")
    assert settings.secrets() == [pem, "hunter22", "AAAAline1", "BBBBline2"]
    assert "hunter22" not in repr(settings) and "BEGIN KEY" not in repr(settings)


def _service_error(status: int, code: str, message: str) -> oci.exceptions.ServiceError:
    return oci.exceptions.ServiceError(status, code, SimpleNamespace(get=lambda key: None), message)


def test_401_advice_tells_a_bad_key_from_a_skewed_clock() -> None:
    bad_key = classify_failure(_service_error(401, "NotAuthenticated", "not authenticated"), doing="list runs")
    assert not bad_key.transient and "tenancy, user and fingerprint" in str(bad_key)
    skew = classify_failure(_service_error(401, "NotAuthenticated", "Date header is too skewed"), doing="list runs")
    assert "clock" in str(skew)


def test_404_names_the_resource_and_the_iam_policy() -> None:
    failure = classify_failure(_service_error(404, "NotAuthorizedOrNotFound", "not found"), doing="get run ocid1.x")
    assert "get run ocid1.x" in str(failure)
    assert "allow group <group> to manage dataflow-family in compartment <compartment>" in str(failure)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_server_errors_are_transient(status: int) -> None:
    assert classify_failure(_service_error(status, "X", "busy"), doing="get run").transient

"""Which oci SDK signer each auth mode builds, from the documented connection inputs."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import oci
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from airflow_provider_dataflow.exceptions import DataflowInvalidInputError, DataflowRequestRejectedError
from airflow_provider_dataflow.hooks.auth import ConnectionSettings, build_config_and_signer, session_token_signer
from airflow_provider_dataflow.hooks.auth_type import AuthType
from airflow_provider_dataflow.hooks.principals import SingleFlightRefresh, credential_error
from airflow_provider_dataflow.hooks.service_errors import classify_failure


def _settings(**fields: Any) -> ConnectionSettings:
    return ConnectionSettings(conn_id="c", **fields)


class _RecordingSigner:
    """Stands in for an SDK signer that would call a metadata endpoint this machine does not have."""

    calls: list[tuple[str, dict[str, Any]]] = []

    def __init__(self, name: str, kwargs: dict[str, Any]) -> None:
        self.region = "eu-frankfurt-1"
        _RecordingSigner.calls.append((name, kwargs))

    def refresh_security_token(self) -> str:
        return "token"


@pytest.mark.parametrize(
    ("auth_type", "factory", "passed"),
    [
        (AuthType.INSTANCE_PRINCIPAL, "InstancePrincipalsSecurityTokenSigner", {"federation_endpoint": "https://a/x"}),
        (AuthType.RESOURCE_PRINCIPAL, "get_resource_principals_signer", {}),
        (
            AuthType.WORKLOAD_IDENTITY,
            "get_oke_workload_identity_resource_principal_signer",
            {"service_account_token_path": "/t/token"},
        ),
    ],
)
def test_principal_modes_use_the_sdks_own_signer(
    auth_type: AuthType, factory: str, passed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oci.auth.signers, factory, lambda **kwargs: _RecordingSigner(factory, kwargs))
    extras = {"federation_endpoint": "https://a/x", "service_account_token_path": "/t/token"}
    config, signer = build_config_and_signer(_settings(auth_type=auth_type, region="us-phoenix-1", **extras))
    assert isinstance(signer, _RecordingSigner)
    name, kwargs = _RecordingSigner.calls[-1]
    assert name == factory and passed.items() <= kwargs.items()  # each mode's own extra, and no other
    assert set(extras) & set(kwargs) == set(passed)
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


def test_404_names_the_resource_and_the_iam_policy() -> None:
    failure = classify_failure(_service_error(404, "NotAuthorizedOrNotFound", "not found"), doing="get run ocid1.x")
    assert "get run ocid1.x" in str(failure)
    assert "allow group <group> to manage dataflow-family in compartment <compartment>" in str(failure)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_server_errors_are_transient(status: int) -> None:
    assert classify_failure(_service_error(status, "X", "busy"), doing="get run").transient


def test_threads_refused_with_one_token_refresh_it_once() -> None:
    """Eight threads answered 401 at once: one refresh; once that token expires, the next 401 refreshes."""
    refreshed, current = [], threading.Event()

    def refresh() -> str:
        time.sleep(0.05)  # other threads pile up behind the lock meanwhile
        refreshed.append(1)
        current.set()
        return "new-token"

    guard = SingleFlightRefresh(refresh, current.is_set, lambda exc: RuntimeError(str(exc)))
    barrier = threading.Barrier(8)

    def refused() -> None:
        barrier.wait()
        guard()

    threads = [threading.Thread(target=refused) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(refreshed) == 1
    current.clear()  # the new token has expired too
    guard()
    assert len(refreshed) == 2


def test_a_failed_refresh_names_the_mode_and_is_not_transient() -> None:
    settings = _settings(auth_type=AuthType.WORKLOAD_IDENTITY, region="r", service_account_token_path="/t/token")

    def refresh() -> str:
        raise _service_error(401, "Unauthorized", "Failed to get RPST token from proxymux")

    guard = SingleFlightRefresh(refresh, lambda: False, lambda exc: credential_error(settings, exc, "refreshing"))
    with pytest.raises(DataflowRequestRejectedError) as raised:
        guard()
    assert "auth_type workload_identity" in str(raised.value) and "/t/token" in str(raised.value)
    assert not raised.value.transient


def test_a_session_token_file_caught_empty_mid_rewrite_keeps_the_current_token(tmp_path: Path) -> None:
    """`oci session refresh` truncates the token file, then writes it."""
    token_file = tmp_path / "token"
    token_file.write_text("first")
    signer = session_token_signer(str(token_file), rsa.generate_private_key(public_exponent=65537, key_size=2048))
    token_file.write_text("")
    os.utime(token_file, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))
    assert signer.api_key == "ST$first"
    token_file.write_text("second")
    assert signer.api_key == "ST$second"

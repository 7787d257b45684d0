"""Each auth mode that can run here signs a real request that reaches the emulator with the right key id."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dataflow.exceptions import DataflowServiceError
from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.testing.credentials import TestCredentials, generate_test_credentials
from airflow_provider_dataflow.testing.emulator import DataflowEmulator, EmulatorControl

from .conftest import COMPARTMENT


def _connect(monkeypatch: pytest.MonkeyPatch, conn_id: str, extra: dict[str, Any], password: str = "") -> DataflowHook:
    conn = {"conn_type": "oci_dataflow", "password": password, "extra": extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return DataflowHook(conn_id)


def _key_ids(control: EmulatorControl) -> set[str]:
    return {entry["key_id"] for entry in control.journal()}


def _write_key(path: Path, creds: TestCredentials) -> Path:
    path.write_text(creds.private_key_pem)
    return path


def _token(claims: dict[str, Any]) -> str:
    """A JWT-shaped token (the emulator, like the SDK, only reads it; nobody verifies its signature here)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def test_api_key_with_key_file_signs_requests(
    emulator: DataflowEmulator,
    creds: TestCredentials,
    control: EmulatorControl,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    extra = {
        **creds.connection_extra(emulator.url, COMPARTMENT),
        "key_file": str(_write_key(tmp_path / "k.pem", creds)),
    }
    hook = _connect(monkeypatch, "api_key_file", extra)
    assert hook.list_runs(COMPARTMENT) == []
    assert _key_ids(control) == {creds.key_id}


def test_config_file_profile_signs_requests(
    emulator: DataflowEmulator,
    creds: TestCredentials,
    control: EmulatorControl,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = _write_key(tmp_path / "k.pem", creds)
    config = tmp_path / "config"
    config.write_text(
        f"[DEFAULT]\nregion=eu-frankfurt-1\n\n[DATAFLOW]\nuser={creds.user}\nfingerprint={creds.fingerprint}\n"
        f"tenancy={creds.tenancy}\nregion=us-ashburn-1\nkey_file={key}\n"
    )
    extra = {"auth_type": "config_file", "config_file": str(config), "profile": "DATAFLOW"}
    hook = _connect(monkeypatch, "config_file", {**extra, "service_endpoint": emulator.url})
    assert hook.list_runs(COMPARTMENT) == []
    assert _key_ids(control) == {creds.key_id}


def test_security_token_signs_with_the_token_and_rereads_a_refreshed_file(
    emulator: DataflowEmulator, control: EmulatorControl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_key = generate_test_credentials()  # `oci session authenticate` makes a key pair of its own
    first, second = _token({"sub": "user-1", "n": 1}), _token({"sub": "user-1", "n": 2})
    for token in (first, second):
        control.register_key(f"ST${token}", session_key.public_key_pem)
    token_file = tmp_path / "token"
    token_file.write_text(first)
    extra = {
        "auth_type": "security_token",
        "security_token_file": str(token_file),
        "key_file": str(_write_key(tmp_path / "session.pem", session_key)),
        "region": "us-ashburn-1",
        "service_endpoint": emulator.url,
    }
    hook = _connect(monkeypatch, "session", extra)
    hook.list_runs(COMPARTMENT)
    time.sleep(0.01)  # a distinct mtime for the rewrite
    token_file.write_text(second)  # what `oci session refresh` does
    hook.list_runs(COMPARTMENT)
    assert [entry["key_id"] for entry in control.journal()] == [f"ST${first}", f"ST${second}"]


def test_resource_principal_v2_2_signs_with_the_session_token_from_the_environment(
    emulator: DataflowEmulator, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    principal = generate_test_credentials()
    rpst = _token({"res_tenant": principal.tenancy, "res_compartment": COMPARTMENT, "exp": int(time.time()) + 3600})
    control.register_key(f"ST${rpst}", principal.public_key_pem)
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_VERSION", "2.2")
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_RPST", rpst)
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM", principal.private_key_pem)
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_REGION", "us-ashburn-1")
    hook = _connect(monkeypatch, "rp", {"auth_type": "resource_principal", "service_endpoint": emulator.url})
    hook.list_runs(COMPARTMENT)
    assert _key_ids(control) == {f"ST${rpst}"}


def test_a_wrong_key_fails_with_advice_on_what_to_check(
    emulator: DataflowEmulator, creds: TestCredentials, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    stranger = generate_test_credentials()
    extra = creds.connection_extra(emulator.url, COMPARTMENT)
    hook = _connect(monkeypatch, "wrong_key", extra, password=stranger.private_key_pem)
    with pytest.raises(DataflowServiceError, match="401 NotAuthenticated") as raised:
        hook.list_runs(COMPARTMENT)
    assert "tenancy, user and fingerprint" in str(raised.value)
    assert stranger.private_key_pem.splitlines()[1] not in str(raised.value)
    ok, message = hook.test_connection()
    assert not ok and "NotAuthenticated" in message


def test_connection_test_lists_runs_in_the_compartment(dataflow_conn: str, control: EmulatorControl) -> None:
    control.clear_journal()
    ok, message = DataflowHook(dataflow_conn).test_connection()
    assert ok and COMPARTMENT in message
    (call,) = control.journal()
    assert call["method"] == "GET" and call["query"]["compartmentId"] in ([COMPARTMENT], COMPARTMENT)


def test_missing_connection_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk.exceptions import AirflowNotFoundException

    monkeypatch.delenv("AIRFLOW_CONN_NOT_THERE", raising=False)
    with pytest.raises(AirflowNotFoundException, match="The conn_id `not_there` isn't defined"):
        DataflowHook("not_there").settings  # noqa: B018 - reading the property fetches the connection

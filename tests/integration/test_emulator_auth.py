"""Request signing: the emulator accepts what the real SDK signs and rejects what the service rejects."""

from __future__ import annotations

import base64
import dataclasses
import email.utils
import json
import re
import time
import urllib.error
import urllib.request
from typing import Any

import oci
import pytest
from oci.data_flow import DataFlowClient as Client

from airflow_provider_dataflow.testing.credentials import TestCredentials, generate_test_credentials
from airflow_provider_dataflow.testing.emulator import DataflowEmulator, EmulatorControl

from .conftest import ClientFactory


class _SkewedDateSigner(oci.signer.Signer):
    """Signs a date that is ``offset`` seconds away from now, like a client with a wrong clock."""

    def __init__(self, creds: TestCredentials, offset: float) -> None:
        super().__init__(creds.tenancy, creds.user, creds.fingerprint, None, private_key_content=creds.private_key_pem)
        self._offset = offset

    def __call__(self, request: Any, enforce_content_headers: bool = True) -> Any:
        request.headers["date"] = email.utils.formatdate(time.time() + self._offset, usegmt=True)
        return super().__call__(request, enforce_content_headers)


class _BodyTamperingSigner(oci.signer.Signer):
    """Signs the request, then changes the body (same length) as a man in the middle would."""

    def __call__(self, request: Any, enforce_content_headers: bool = True) -> Any:
        signed = super().__call__(request, enforce_content_headers)
        body = signed.body.decode() if isinstance(signed.body, bytes) else signed.body
        assert '"original"' in body
        signed.body = body.replace('"original"', '"tampered"').encode()
        return signed


def _expect_401(call: Any) -> str:
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        call()
    assert (raised.value.status, raised.value.code) == (401, "NotAuthenticated")
    assert raised.value.message.startswith("The required information to complete authentication")
    return str(raised.value.message)


def _details(compartment_id: str, **fields: Any) -> oci.data_flow.models.CreateRunDetails:
    return oci.data_flow.models.CreateRunDetails(
        compartment_id=compartment_id, execute="oci://bucket@namespace/app.py", **fields
    )


def test_signed_calls_succeed_and_the_signing_user_owns_the_run(
    client: Client, credentials: TestCredentials, compartment_id: str, control: EmulatorControl
) -> None:
    run = client.create_run(_details(compartment_id)).data
    assert run.owner_principal_id == credentials.user
    assert client.get_run(run.id).data.id == run.id
    assert {entry["key_id"] for entry in control.journal()} == {credentials.key_id}
    assert {entry["status"] for entry in control.journal()} == {200}


def test_a_different_private_key_for_a_known_key_id_is_rejected(
    make_client: ClientFactory, credentials: TestCredentials, compartment_id: str, control: EmulatorControl
) -> None:
    impostor = dataclasses.replace(
        generate_test_credentials(),
        tenancy=credentials.tenancy,
        user=credentials.user,
        fingerprint=credentials.fingerprint,
    )
    client = make_client(impostor)
    assert "does not verify" in _expect_401(lambda: client.create_run(_details(compartment_id)))
    assert "does not verify" in _expect_401(lambda: client.list_runs(compartment_id))
    assert control.runs() == []


def test_an_unknown_key_id_is_rejected(make_client: ClientFactory, compartment_id: str) -> None:
    client = make_client(generate_test_credentials())
    assert "Unknown keyId" in _expect_401(lambda: client.list_runs(compartment_id))


def test_a_body_changed_after_signing_is_rejected(
    make_client: ClientFactory, credentials: TestCredentials, compartment_id: str, control: EmulatorControl
) -> None:
    signer = _BodyTamperingSigner(
        credentials.tenancy,
        credentials.user,
        credentials.fingerprint,
        None,
        private_key_content=credentials.private_key_pem,
    )
    client = make_client(signer=signer)
    message = _expect_401(lambda: client.create_run(_details(compartment_id, display_name="original")))
    assert "x-content-sha256" in message
    assert control.runs() == []


def test_a_date_ten_minutes_off_is_rejected_as_clock_skew_in_the_services_words(
    make_client: ClientFactory, credentials: TestCredentials, compartment_id: str
) -> None:
    """The service's answer, as quoted in oracle/terraform-provider-oci#474 and others."""
    answer = re.compile(
        r"Date '\w{3}, \d\d \w{3} \d{4} [\d:]{8} UTC' is not within allowed clock skew\. "
        r"Current '[^']+', valid datetime range: \['[^']+', '[^']+'\]"
    )
    for offset in (-600, 600):
        client = make_client(signer=_SkewedDateSigner(credentials, offset))
        with pytest.raises(oci.exceptions.ServiceError) as raised:
            client.list_runs(compartment_id)
        assert (raised.value.status, raised.value.code) == (401, "NotAuthenticated")
        assert answer.fullmatch(raised.value.message), raised.value.message


def test_a_date_four_minutes_off_is_within_the_allowed_skew(
    make_client: ClientFactory, credentials: TestCredentials, compartment_id: str
) -> None:
    client = make_client(signer=_SkewedDateSigner(credentials, -240))
    assert client.list_runs(compartment_id).status == 200


def test_an_unsigned_request_is_rejected_with_the_service_error_shape(emulator: DataflowEmulator) -> None:
    request = urllib.request.Request(f"{emulator.url}/20200129/runs?compartmentId=x", headers={"opc-request-id": "r1"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with pytest.raises(urllib.error.HTTPError) as raised:
        opener.open(request, timeout=5)
    assert raised.value.code == 401
    assert raised.value.headers["opc-request-id"].startswith("r1/")
    error = json.loads(raised.value.read())
    assert error["code"] == "NotAuthenticated"
    assert "authorization header is missing" in error["message"]


def test_a_security_token_key_id_authenticates_and_owns_runs_as_the_token_subject(
    make_client: ClientFactory, credentials: TestCredentials, compartment_id: str, control: EmulatorControl
) -> None:
    """Session, instance and resource principal tokens sign with keyId ``ST$<jwt>``."""
    claims = {"sub": "ocid1.instance.oc1.iad.emulatorinstance", "exp": int(time.time()) + 3600}
    segments = [{"alg": "RS256"}, claims, {}]
    token = ".".join(base64.urlsafe_b64encode(json.dumps(s).encode()).decode().rstrip("=") for s in segments)
    control.register_key(f"ST${token}", credentials.public_key_pem)
    private_key = oci.signer.load_private_key(credentials.private_key_pem, None)
    client = make_client(signer=oci.auth.signers.SecurityTokenSigner(token, private_key))
    run = client.create_run(_details(compartment_id)).data
    assert run.owner_principal_id == claims["sub"]

"""Which ``ST$`` tokens the Data Flow endpoints accept: a trusted issuer's, carrying a session key, unexpired."""

from __future__ import annotations

import time

import oci
import pytest
from cryptography.hazmat.primitives import serialization

from airflow_provider_dataflow.testing.credentials import TestCredentials
from airflow_provider_dataflow.testing.emulator import DataflowEmulator, EmulatorControl
from airflow_provider_dataflow.testing.principals.certificates import new_rsa_key
from airflow_provider_dataflow.testing.principals.tokens import TokenIssuer

from ..conftest import COMPARTMENT_ID, ClientFactory

SUBJECT = "ocid1.instance.oc1.iad.trusttest"


@pytest.fixture
def issuer(emulator: DataflowEmulator) -> TokenIssuer:
    trusted = TokenIssuer()
    emulator.state.keys.trust_issuer(trusted.public_key)
    return trusted


def _call(make_client: ClientFactory, token: str, key: object) -> oci.response.Response:
    return make_client(signer=oci.auth.signers.SecurityTokenSigner(token, key)).list_runs(COMPARTMENT_ID)


def _refused(make_client: ClientFactory, token: str, key: object) -> str:
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        _call(make_client, token, key)
    assert (refused.value.status, refused.value.code) == (401, "NotAuthenticated")
    return str(refused.value.message)


def test_a_trusted_token_is_verified_with_its_jwk_session_key(
    issuer: TokenIssuer, make_client: ClientFactory, control: EmulatorControl
) -> None:
    session = new_rsa_key()
    token = issuer.issue(SUBJECT, 60, time.time(), session_key=session.public_key())
    assert _call(make_client, token, session).status == 200
    assert "does not verify" in _refused(make_client, token, new_rsa_key())  # the session key, not any key
    assert control.journal()[0]["principal_id"] == SUBJECT


def test_tokens_from_another_issuer_or_without_a_session_key_are_unknown(
    issuer: TokenIssuer, make_client: ClientFactory
) -> None:
    session = new_rsa_key()
    stranger = TokenIssuer().issue(SUBJECT, 60, time.time(), session_key=session.public_key())
    assert "Unknown keyId" in _refused(make_client, stranger, session)
    keyless = issuer.issue(SUBJECT, 60, time.time())
    assert "Unknown keyId" in _refused(make_client, keyless, session)


def test_expired_tokens_are_refused_whether_trusted_or_registered(
    issuer: TokenIssuer, make_client: ClientFactory, control: EmulatorControl, credentials: TestCredentials
) -> None:
    session = new_rsa_key()
    trusted = issuer.issue(SUBJECT, 1, time.time() - 10, session_key=session.public_key())
    assert "expired" in _refused(make_client, trusted, session)

    registered = TokenIssuer().issue(SUBJECT, 1, time.time() - 10)
    control.register_key(f"ST${registered}", credentials.public_key_pem)
    private_key = serialization.load_pem_private_key(credentials.private_key_pem.encode(), None)
    assert "expired" in _refused(make_client, registered, private_key)

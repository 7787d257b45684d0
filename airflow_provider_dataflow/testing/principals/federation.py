"""Auth Service's ``POST /v1/x509``: an instance's leaf certificate in, an instance principal token out.

The SDK's ``X509FederationClient`` sends the leaf and intermediate certificates (base64 DER), the new
session public key, and signs the request with the leaf's private key under the key id
``<tenancy>/fed-x509/<SHA-1 fingerprint of the leaf>``, leaving ``host`` unsigned. Everything is checked
here: the chain up to this service's root, the fingerprint, the tenancy in the leaf's subject, the
signature. The token's ``jwk`` is the session key, which then signs Data Flow calls.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from airflow_provider_dataflow.testing.emulator.errors import invalid_parameter, not_authenticated
from airflow_provider_dataflow.testing.emulator.messages import ApiRequest, ApiResponse, json_response
from airflow_provider_dataflow.testing.emulator.signatures import signed_key_id, verify_signature
from airflow_provider_dataflow.testing.principals.http_server import Route
from airflow_provider_dataflow.testing.principals.instance_metadata import subject_units
from airflow_provider_dataflow.testing.principals.ledger import PrincipalService, ServiceLedger
from airflow_provider_dataflow.testing.principals.tokens import TokenIssuer, decode_session_key

FEDERATION_PATH = "/v1/x509"


class FederationService:
    def __init__(self, root: x509.Certificate, issuer: TokenIssuer, ledger: ServiceLedger) -> None:
        self._root = root
        self._issuer = issuer
        self._ledger = ledger

    def routes(self) -> list[Route]:
        return [Route("POST", re.compile(re.escape(FEDERATION_PATH)), PrincipalService.FEDERATION, self._exchange)]

    def _exchange(self, request: ApiRequest, now: float) -> ApiResponse:
        tenancy_id, fingerprint = _parse_key_id(signed_key_id(request))
        body = request.json_body()
        if not isinstance(body, dict):
            raise invalid_parameter("the body must be a JSON object with certificate and publicKey")
        leaf = _certificate(body.get("certificate"), "certificate")
        intermediates = [
            _certificate(item, "intermediateCertificates") for item in body.get("intermediateCertificates") or []
        ]
        actual = leaf.fingerprint(hashes.SHA1()).hex(":").upper()  # the SDK's key id uses SHA-1
        if actual != fingerprint.upper():
            raise not_authenticated(f"keyId names fingerprint {fingerprint}, the certificate's is {actual}.")
        self._check_chain(leaf, intermediates, now)
        units = subject_units(leaf)
        if units.get("opc-tenant") != tenancy_id:
            raise not_authenticated(
                f"keyId names tenancy {tenancy_id}, the certificate's is {units.get('opc-tenant')}."
            )
        leaf_key = leaf.public_key()
        if not isinstance(leaf_key, rsa.RSAPublicKey):
            raise not_authenticated("Only RSA certificates are supported.")
        verify_signature(request, leaf_key, now, host_signed=False)
        claims = {
            "ptype": "instance",
            "ttype": "x509",
            "tenant": tenancy_id,
            "opc-tenant": tenancy_id,
            "opc-instance": units.get("opc-instance"),
            "opc-compartment": units.get("opc-compartment"),
            "opc-certtype": units.get("opc-certtype"),
        }
        subject = units.get("opc-instance") or tenancy_id
        lifetime = self._ledger.lifetime(PrincipalService.FEDERATION)
        session_key = decode_session_key(body.get("publicKey"), "publicKey")
        token = self._issuer.issue(subject, lifetime, now, claims, session_key)
        self._ledger.count_issued(PrincipalService.FEDERATION)
        return json_response(200, {"token": token})

    def _check_chain(self, leaf: x509.Certificate, intermediates: list[x509.Certificate], now: float) -> None:
        moment = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
        for intermediate in intermediates:
            if _issued_by(leaf, intermediate) and _issued_by(intermediate, self._root):
                for certificate in (leaf, intermediate):
                    if not certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc:
                        raise not_authenticated(f"The certificate {certificate.subject.rfc4514_string()} has expired.")
                return
        raise not_authenticated("The certificate does not chain up to the instance identity root.")


def _parse_key_id(key_id: str) -> tuple[str, str]:
    parts = key_id.split("/")
    if len(parts) != 3 or parts[1] != "fed-x509":
        raise not_authenticated(f"keyId {key_id!r} is not <tenancy>/fed-x509/<fingerprint>.")
    return parts[0], parts[2]


def _certificate(value: Any, field: str) -> x509.Certificate:
    """The SDK strips the PEM armour and newlines: what is left is base64 DER."""
    if not isinstance(value, str):
        raise invalid_parameter(f"{field} must be a base64 DER certificate")
    try:
        return x509.load_der_x509_certificate(base64.b64decode(value, validate=True))
    except (ValueError, binascii.Error):
        raise invalid_parameter(f"{field} is not a base64 DER certificate") from None


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True

"""Mint security tokens shaped like OCI's: RS256 JWTs with ``exp``, ``sub`` and the session key as ``jwk``.

The SDK decodes them without verifying (it reads ``exp``, ``iat`` and a few resource claims); the
emulator's Data Flow endpoints verify them against the issuer's public key and sign-check requests
with the ``jwk`` key, which is why one issuer key is all a relying service needs.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from airflow_provider_dataflow.testing.emulator.errors import invalid_parameter

ISSUER = "authService.oracle.com"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _uint(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def jwk_claim(public_key: rsa.RSAPublicKey) -> str:
    """The ``jwk`` claim as OCI writes it: the JWK serialised to a JSON string."""
    numbers = public_key.public_numbers()
    jwk = {"kid": uuid.uuid4().hex, "n": _uint(numbers.n), "e": _uint(numbers.e), "kty": "RSA"}
    return json.dumps({**jwk, "alg": "RS256", "use": "sig"}, separators=(",", ":"))


def decode_session_key(value: Any, field: str) -> rsa.RSAPublicKey:
    """The session public key as the SDK sends it: PEM without armour or newlines, i.e. base64 DER."""
    if not isinstance(value, str):
        raise invalid_parameter(f"{field} must be a base64 DER public key")
    try:
        key = serialization.load_der_public_key(base64.b64decode(value, validate=True))
    except (ValueError, binascii.Error):
        raise invalid_parameter(f"{field} is not a base64 DER public key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise invalid_parameter(f"{field} must be an RSA public key")
    return key


class TokenIssuer:
    """Signs JWTs with a key of its own; relying services trust ``public_key``."""

    def __init__(self, issuer: str = ISSUER) -> None:
        self.issuer = issuer
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self._key.public_key()

    def issue(
        self,
        subject: str,
        lifetime_seconds: float,
        now: float,
        claims: Mapping[str, Any] | None = None,
        session_key: rsa.RSAPublicKey | None = None,
    ) -> str:
        """A token valid from ``now`` for at least ``lifetime_seconds`` (``exp`` is whole seconds)."""
        issued_at = int(now)
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": "oci",
            "sub": subject,
            "iat": issued_at,
            "exp": math.ceil(now + lifetime_seconds),
            "jti": secrets.token_hex(16),
            **(claims or {}),
        }
        if session_key is not None:
            payload["jwk"] = jwk_claim(session_key)
        header = _b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "emulator"}).encode())
        body = _b64url(json.dumps(payload, separators=(",", ":")).encode())
        signature = self._key.sign(f"{header}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{header}.{body}.{_b64url(signature)}"

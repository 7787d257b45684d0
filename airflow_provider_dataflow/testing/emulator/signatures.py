"""Verify OCI request signatures (draft-cavage HTTP signatures, RSA-SHA256) as the service does.

Key ids are opaque strings (``tenancy/user/fingerprint`` for API keys, ``ST$<token>`` for session,
instance and resource principal tokens), so one key id -> public key map covers every auth mode.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from airflow_provider_dataflow.testing.emulator.errors import not_authenticated
from airflow_provider_dataflow.testing.emulator.messages import ApiRequest

MAX_CLOCK_SKEW_SECONDS = 300
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_BODY_HEADERS = ("content-length", "content-type", "x-content-sha256")
_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Principal:
    """Who signed a request; becomes a run's ownerPrincipalId / ownerUserName."""

    key_id: str
    principal_id: str
    user_name: str | None


@dataclass(frozen=True)
class _RegisteredKey:
    public_key: rsa.RSAPublicKey
    principal: Principal


def principal_for_key_id(key_id: str, user_name: str | None = None) -> Principal:
    """API keys name their user; security tokens carry the principal in the JWT ``sub`` claim."""
    if key_id.startswith("ST$"):
        return Principal(key_id, _token_subject(key_id[3:]) or key_id, user_name)
    parts = key_id.split("/")
    if len(parts) == 3:
        return Principal(key_id, parts[1], user_name or "emulator-user")
    return Principal(key_id, key_id, user_name)


def _token_subject(token: str) -> str | None:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return None
    subject = claims.get("sub") if isinstance(claims, dict) else None
    return subject if isinstance(subject, str) else None


class KeyRegistry:
    """The public keys the emulator trusts, by key id."""

    def __init__(self) -> None:
        self._keys: dict[str, _RegisteredKey] = {}
        self._lock = threading.Lock()

    def register(self, key_id: str, public_key_pem: str, user_name: str | None = None) -> None:
        """Raises ValueError when the PEM is not an RSA public key, so bad setup fails loudly."""
        try:
            key = serialization.load_pem_public_key(public_key_pem.encode())
        except ValueError as exc:
            raise ValueError(f"publicKeyPem is not a PEM public key: {exc}") from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("publicKeyPem must be an RSA public key")
        with self._lock:
            self._keys[key_id] = _RegisteredKey(key, principal_for_key_id(key_id, user_name))

    def lookup(self, key_id: str) -> _RegisteredKey | None:
        with self._lock:
            return self._keys.get(key_id)

    def key_ids(self) -> list[str]:
        with self._lock:
            return list(self._keys)


class SignatureVerifier:
    """Rebuilds the signing string exactly as ``oci.signer`` builds it and checks it against the key."""

    def __init__(self, keys: KeyRegistry) -> None:
        self._keys = keys

    def verify(self, request: ApiRequest, now: float) -> Principal:
        params = _parse_authorization(request.headers.get("authorization"))
        key_id = params["keyId"]
        registered = self._keys.lookup(key_id)
        if registered is None:
            raise not_authenticated(f"Unknown keyId {key_id!r}: no public key is registered for it.")
        signed = params["headers"].lower().split()
        _check_signed_header_set(request.method, signed)
        signing_string = _signing_string(request, signed)
        _check_date(request.headers, now)
        _check_body_hash(request)
        try:
            signature = base64.b64decode(params["signature"], validate=True)
            registered.public_key.verify(signature, signing_string, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, binascii.Error):
            raise not_authenticated(
                f"The signature does not verify with the public key registered for keyId {key_id!r}."
            ) from None
        return registered.principal


def _parse_authorization(header: str | None) -> dict[str, str]:
    if not header:
        raise not_authenticated("The authorization header is missing.")
    scheme, _, rest = header.partition(" ")
    if scheme != "Signature":
        raise not_authenticated(f"The authorization scheme must be 'Signature', got {scheme!r}.")
    params = dict(_AUTH_PARAM.findall(rest))
    for name in ("keyId", "signature", "headers", "algorithm"):
        if not params.get(name):
            raise not_authenticated(f"The authorization header has no {name}.")
    if params["algorithm"] != "rsa-sha256":
        raise not_authenticated(f"Unsupported signature algorithm {params['algorithm']!r}; use rsa-sha256.")
    if params.get("version", "1") != "1":
        raise not_authenticated(f"Unsupported signature version {params['version']!r}.")
    return params


def _check_signed_header_set(method: str, signed: list[str]) -> None:
    required = ["(request-target)", "host"]
    if method in _BODY_METHODS:
        required += _BODY_HEADERS
    missing = [name for name in required if name not in signed]
    if "date" not in signed and "x-date" not in signed:
        missing.append("date")
    if missing:
        raise not_authenticated(f"These headers must be signed but are not: {', '.join(missing)}.")


def _signing_string(request: ApiRequest, signed: list[str]) -> bytes:
    lines = []
    for name in signed:
        if name == "(request-target)":
            lines.append(f"(request-target): {request.method.lower()} {request.target}")
            continue
        value = request.headers.get(name)
        if value is None:
            raise not_authenticated(f"The signed header {name!r} is missing from the request.")
        lines.append(f"{name}: {value}")
    try:
        return "\n".join(lines).encode("ascii")
    except UnicodeEncodeError:
        raise not_authenticated("Signed headers must be ASCII.") from None


def _check_date(headers: dict[str, str], now: float) -> None:
    raw = headers.get("x-date") or headers.get("date")
    if raw is None:
        raise not_authenticated("The date header is missing.")
    try:
        sent = parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError):
        raise not_authenticated(f"The date header {raw!r} is not an RFC 7231 date.") from None
    skew = sent - now
    if abs(skew) > MAX_CLOCK_SKEW_SECONDS:
        raise not_authenticated(
            f"The date header {raw!r} is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the "
            f"server clock; the allowed clock skew is {MAX_CLOCK_SKEW_SECONDS // 60} minutes."
        )


def _check_body_hash(request: ApiRequest) -> None:
    claimed = request.headers.get("x-content-sha256")
    if claimed is None:
        return
    actual = base64.b64encode(hashlib.sha256(request.body).digest()).decode()
    if claimed != actual:
        raise not_authenticated("The x-content-sha256 header does not match the SHA-256 of the request body.")

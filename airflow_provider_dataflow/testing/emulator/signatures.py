"""Verify OCI request signatures (draft-cavage HTTP signatures, RSA-SHA256) as the service does.

Key ids are opaque strings (``tenancy/user/fingerprint`` for API keys, ``ST$<token>`` for session,
instance and resource principal tokens), so one key id -> public key map covers every auth mode. An
``ST$`` token that is not registered is accepted when a trusted issuer signed it: its ``jwk`` claim is
the key, as with the real service. Either way a token past its ``exp`` is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from airflow_provider_dataflow.testing.emulator.errors import ApiError, not_authenticated
from airflow_provider_dataflow.testing.emulator.messages import ApiRequest
from airflow_provider_dataflow.testing.emulator.security_tokens import (
    InvalidSecurityToken,
    session_key,
    token_claims,
    token_expiry,
    verify_issuer,
)
from airflow_provider_dataflow.testing.emulator.timestamps import rfc3339

MAX_CLOCK_SKEW_SECONDS = 300
_TOKEN_PREFIX = "ST$"
_VOUCHED_CACHE_SIZE = 4096
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
    expires_at: float | None = None  # a security token's ``exp``


def principal_for_key_id(key_id: str, user_name: str | None = None) -> Principal:
    """API keys name their user; security tokens carry the principal in the JWT ``sub`` claim."""
    if key_id.startswith(_TOKEN_PREFIX):
        subject = (token_claims(key_id[len(_TOKEN_PREFIX) :]) or {}).get("sub")
        return Principal(key_id, subject if isinstance(subject, str) else key_id, user_name)
    parts = key_id.split("/")
    if len(parts) == 3:
        return Principal(key_id, parts[1], user_name or "emulator-user")
    return Principal(key_id, key_id, user_name)


class KeyRegistry:
    """The public keys the emulator trusts, by key id, and the issuers whose security tokens it trusts."""

    def __init__(self) -> None:
        self._keys: dict[str, _RegisteredKey] = {}
        self._issuers: list[rsa.RSAPublicKey] = []
        self._vouched: dict[str, _RegisteredKey] = {}  # tokens already checked against the issuers
        self._lock = threading.Lock()

    def register(self, key_id: str, public_key_pem: str, user_name: str | None = None) -> None:
        """Raises ValueError when the PEM is not an RSA public key, so bad setup fails loudly."""
        try:
            key = serialization.load_pem_public_key(public_key_pem.encode())
        except ValueError as exc:
            raise ValueError(f"publicKeyPem is not a PEM public key: {exc}") from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("publicKeyPem must be an RSA public key")
        is_token = key_id.startswith(_TOKEN_PREFIX)
        expires_at = token_expiry(token_claims(key_id[len(_TOKEN_PREFIX) :])) if is_token else None
        with self._lock:
            self._keys[key_id] = _RegisteredKey(key, principal_for_key_id(key_id, user_name), expires_at)

    def remove(self, key_id: str) -> bool:
        """Stop trusting a key (a user deleted an API key in the console); False when it was not registered."""
        with self._lock:
            return self._keys.pop(key_id, None) is not None

    def trust_issuer(self, public_key: rsa.RSAPublicKey) -> None:
        """Accept ``ST$`` tokens this key signed, each verified with the session key in its ``jwk`` claim."""
        with self._lock:
            self._issuers.append(public_key)

    def lookup(self, key_id: str) -> _RegisteredKey | None:
        with self._lock:
            found = self._keys.get(key_id) or self._vouched.get(key_id)
            if found is not None or not self._issuers or not key_id.startswith(_TOKEN_PREFIX):
                return found
            issuers = list(self._issuers)
        try:
            claims = verify_issuer(key_id[len(_TOKEN_PREFIX) :], issuers)
            vouched = _RegisteredKey(session_key(claims), principal_for_key_id(key_id), token_expiry(claims))
        except InvalidSecurityToken:
            return None
        with self._lock:
            if len(self._vouched) >= _VOUCHED_CACHE_SIZE:
                del self._vouched[next(iter(self._vouched))]
            self._vouched[key_id] = vouched
        return vouched

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
        if registered.expires_at is not None and now >= registered.expires_at:
            raise not_authenticated(f"The security token in keyId expired at {rfc3339(registered.expires_at)}.")
        _verify(request, params, registered.public_key, now, host_signed=True)
        return registered.principal


def signed_key_id(request: ApiRequest) -> str:
    """The keyId of a signed request (401 when the authorization header is missing or malformed)."""
    return _parse_authorization(request.headers.get("authorization"))["keyId"]


def verify_signature(request: ApiRequest, public_key: rsa.RSAPublicKey, now: float, *, host_signed: bool) -> None:
    """Check a request signed with a known key; Auth Service's own requests leave ``host`` unsigned."""
    _verify(request, _parse_authorization(request.headers.get("authorization")), public_key, now, host_signed)


def _verify(
    request: ApiRequest, params: dict[str, str], public_key: rsa.RSAPublicKey, now: float, host_signed: bool
) -> None:
    signed = params["headers"].lower().split()
    _check_signed_header_set(request.method, signed, host_signed)
    signing_string = _signing_string(request, signed)
    _check_date(request.headers, now)
    _check_body_hash(request)
    try:
        signature = base64.b64decode(params["signature"], validate=True)
        public_key.verify(signature, signing_string, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error):
        raise not_authenticated(
            f"The signature does not verify with the public key for keyId {params['keyId']!r}."
        ) from None


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


def _check_signed_header_set(method: str, signed: list[str], host_signed: bool) -> None:
    required = ["(request-target)", "host"] if host_signed else ["(request-target)"]
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
    if abs(sent - now) > MAX_CLOCK_SKEW_SECONDS:  # the service's words, as quoted in oracle/terraform-provider-oci#474
        earliest, latest = _http_date(now - MAX_CLOCK_SKEW_SECONDS), _http_date(now + MAX_CLOCK_SKEW_SECONDS)
        raise ApiError(
            401,
            "NotAuthenticated",
            f"Date '{_http_date(sent)}' is not within allowed clock skew. Current '{_http_date(now)}', valid "
            f"datetime range: ['{earliest}', '{latest}']",
        )


def _http_date(epoch_seconds: float) -> str:
    """The service's rendering of a date in its clock-skew answer (``Sun, 11 Mar 2018 16:32:46 UTC``)."""
    return time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime(epoch_seconds))


def _check_body_hash(request: ApiRequest) -> None:
    claimed = request.headers.get("x-content-sha256")
    if claimed is None:
        return
    actual = base64.b64encode(hashlib.sha256(request.body).digest()).decode()
    if claimed != actual:
        raise not_authenticated("The x-content-sha256 header does not match the SHA-256 of the request body.")

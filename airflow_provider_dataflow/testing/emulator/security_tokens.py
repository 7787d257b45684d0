"""Security tokens, the JWTs behind ``ST$`` key ids: read their claims and check who issued them.

An OCI session token carries the public half of its session key in a ``jwk`` claim. A service that
trusts the token's issuer verifies request signatures with that key until the token's ``exp``; nothing
has to be registered per token, which is what lets the SDK refresh tokens on its own.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class InvalidSecurityToken(ValueError):
    """The token is not a JWT, not signed by a trusted issuer, or carries no usable session key."""


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def token_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT-shaped token, unverified; None when it is not one."""
    try:
        claims = json.loads(_b64url_decode(token.split(".")[1]))
    except (IndexError, ValueError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None


def token_expiry(claims: dict[str, Any] | None) -> float | None:
    """``exp`` in epoch seconds, or None when the token has no (numeric) expiry."""
    exp = (claims or {}).get("exp")
    return float(exp) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else None


def verify_issuer(token: str, issuer_keys: Sequence[rsa.RSAPublicKey]) -> dict[str, Any]:
    """The claims of an RS256 JWT signed by one of ``issuer_keys``; expiry is the caller's concern."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidSecurityToken("the security token is not a JWT")
    try:
        header = json.loads(_b64url_decode(parts[0]))
        signature = _b64url_decode(parts[2])
    except (ValueError, binascii.Error):
        raise InvalidSecurityToken("the security token is not a JWT") from None
    if not isinstance(header, dict) or header.get("alg") != "RS256":
        raise InvalidSecurityToken("the security token is not signed with RS256")
    signed = f"{parts[0]}.{parts[1]}".encode()
    for key in issuer_keys:
        try:
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        claims = token_claims(token)
        if claims is None:
            raise InvalidSecurityToken("the security token's payload is not a JSON object")
        return claims
    raise InvalidSecurityToken("the security token is not signed by a trusted issuer")


def session_key(claims: dict[str, Any]) -> rsa.RSAPublicKey:
    """The RSA public key in the ``jwk`` claim (OCI puts the JWK there as a JSON string)."""
    jwk = claims.get("jwk")
    if isinstance(jwk, str):
        try:
            jwk = json.loads(jwk)
        except ValueError:
            jwk = None
    if not isinstance(jwk, dict) or jwk.get("kty") != "RSA":
        raise InvalidSecurityToken("the security token has no RSA jwk claim")
    try:
        modulus = int.from_bytes(_b64url_decode(jwk["n"]), "big")
        exponent = int.from_bytes(_b64url_decode(jwk["e"]), "big")
        return rsa.RSAPublicNumbers(exponent, modulus).public_key()
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise InvalidSecurityToken("the security token's jwk claim is not an RSA public key") from None

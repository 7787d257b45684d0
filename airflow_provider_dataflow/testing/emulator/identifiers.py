"""Identifiers shaped like the service's, so code that parses or logs them sees realistic values."""

from __future__ import annotations

import base64
import secrets
import uuid


def new_ocid(resource_type: str, region: str) -> str:
    """``ocid1.<type>.oc1.<region>.<60 lower-case base32 chars>``, the layout of regional OCIDs."""
    unique = base64.b32encode(secrets.token_bytes(40)).decode().lower()[:59]
    return f"ocid1.{resource_type}.oc1.{region}.a{unique}"


def new_request_id() -> str:
    return uuid.uuid4().hex.upper()

"""Per credential service: how many requests and tokens, the lifetime of new tokens, an injected refusal.

Tests compare ``issued`` before and after a phase to count token requests per refresh; the control API
reads and changes the same figures for tests whose emulator runs in another process.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any


class PrincipalService(str, Enum):
    """The services, named as in the control API."""

    INSTANCE_METADATA = "instanceMetadata"  # certificates, key and region; issues no tokens
    FEDERATION = "federation"  # /v1/x509: instance principal session tokens
    RESOURCE_PRINCIPAL_V2_2 = "resourcePrincipalV22"  # RPSTs handed over in files or variables
    RESOURCE_PRINCIPAL_TOKEN = "resourcePrincipalToken"  # v3: a parent's RPT (and its service token)
    RESOURCE_PRINCIPAL_SESSION_TOKEN = "resourcePrincipalSessionToken"  # v3: RPT -> RPST
    WORKLOAD_IDENTITY = "workloadIdentity"  # the OKE proxy: service account token -> RPST


MIN_LIFETIME_SECONDS = 1.0


@dataclass
class _Record:
    lifetime_seconds: float
    requests: int = 0
    issued: int = 0
    rejected: int = 0
    refuse_status: int | None = None

    def to_json(self, service: PrincipalService) -> dict[str, Any]:
        return {
            "service": service.value,
            "requests": self.requests,
            "issued": self.issued,
            "rejected": self.rejected,
            "lifetimeSeconds": None if service is PrincipalService.INSTANCE_METADATA else self.lifetime_seconds,
            "refuseStatus": self.refuse_status,
        }


class ServiceLedger:
    def __init__(self, lifetime_seconds: float) -> None:
        _check_lifetime(lifetime_seconds)
        self._records = {service: _Record(lifetime_seconds) for service in PrincipalService}
        self._lock = threading.Lock()

    def lifetime(self, service: PrincipalService) -> float:
        with self._lock:
            return self._records[service].lifetime_seconds

    def refusal(self, service: PrincipalService) -> int | None:
        with self._lock:
            return self._records[service].refuse_status

    def count_request(self, service: PrincipalService) -> None:
        with self._lock:
            self._records[service].requests += 1

    def count_issued(self, service: PrincipalService) -> None:
        with self._lock:
            self._records[service].issued += 1

    def count_rejected(self, service: PrincipalService) -> None:
        with self._lock:
            self._records[service].rejected += 1

    def issued(self, service: PrincipalService) -> int:
        with self._lock:
            return self._records[service].issued

    def configure(self, service: PrincipalService, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Apply ``lifetimeSeconds`` and/or ``refuseStatus`` (null serves again); ValueError on bad input."""
        unknown = set(payload) - {"lifetimeSeconds", "refuseStatus"}
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
        lifetime = _lifetime(service, payload["lifetimeSeconds"]) if "lifetimeSeconds" in payload else None
        status = _refuse_status(payload["refuseStatus"]) if "refuseStatus" in payload else None
        with self._lock:
            record = self._records[service]
            if lifetime is not None:
                record.lifetime_seconds = lifetime
            if "refuseStatus" in payload:
                record.refuse_status = status
            return record.to_json(service)

    def to_json(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {service.value: record.to_json(service) for service, record in self._records.items()}


def _lifetime(service: PrincipalService, value: Any) -> float:
    if service is PrincipalService.INSTANCE_METADATA:
        raise ValueError("instanceMetadata issues no tokens; it has no lifetime")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("lifetimeSeconds must be a number")
    _check_lifetime(value)
    return float(value)


def _refuse_status(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 400 <= value < 600):
        raise ValueError("refuseStatus must be an HTTP error status (400-599) or null")
    return value


def _check_lifetime(seconds: float) -> None:
    if seconds < MIN_LIFETIME_SECONDS:
        raise ValueError(f"token lifetimes must be at least {MIN_LIFETIME_SECONDS:g} s (exp is whole seconds)")

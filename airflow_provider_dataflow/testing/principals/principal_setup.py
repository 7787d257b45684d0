"""What points an unmodified SDK signer at the credential services: environment variables and arguments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class PrincipalMode(str, Enum):
    """Each mode names the SDK call that builds its signer (see docs/auth/testing-offline.md)."""

    INSTANCE_PRINCIPAL = "instance_principal"  # InstancePrincipalsSecurityTokenSigner(**signer_kwargs)
    RESOURCE_PRINCIPAL_V2_2 = "resource_principal_v2_2"  # get_resource_principals_signer()
    RESOURCE_PRINCIPAL_V3 = "resource_principal_v3"  # get_resource_principals_signer()
    WORKLOAD_IDENTITY = "workload_identity"  # get_oke_workload_identity_resource_principal_signer(**signer_kwargs)


@dataclass(frozen=True)
class PrincipalSetup:
    """Set ``env`` in the process that builds the signer, pass it ``signer_kwargs``; runs belong to ``principal_id``."""

    mode: PrincipalMode
    env: Mapping[str, str]
    signer_kwargs: Mapping[str, Any] = field(default_factory=dict)
    principal_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode.value,
            "env": dict(self.env),
            "signerKwargs": dict(self.signer_kwargs),
            "principalId": self.principal_id,
        }

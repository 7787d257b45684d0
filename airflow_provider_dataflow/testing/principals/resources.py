"""An OCI resource acting as a principal, and the claims its resource principal session tokens carry."""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_dataflow.testing.emulator.identifiers import new_ocid


@dataclass(frozen=True)
class ResourceIdentity:
    resource_id: str
    resource_type: str
    compartment_id: str
    tenancy_id: str
    region: str

    @classmethod
    def new(cls, resource_type: str, compartment_id: str, tenancy_id: str, region: str) -> ResourceIdentity:
        return cls(new_ocid(resource_type, region), resource_type, compartment_id, tenancy_id, region)

    def rpst_claims(self) -> dict[str, str]:
        """``res_tenant`` and ``res_compartment`` are what the SDK's 2.2 signer reads back from the token."""
        return {
            "ptype": "resource",
            "res_type": self.resource_type,
            "res_id": self.resource_id,
            "res_compartment": self.compartment_id,
            "res_tenant": self.tenancy_id,
            "tenant": self.tenancy_id,
        }

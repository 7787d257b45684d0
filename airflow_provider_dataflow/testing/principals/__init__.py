"""Local credential services for the oci SDK's principal signers, beside the Data Flow emulator.

Instance metadata and Auth Service (instance principals), resource principal 2.2 token files and the 3.0
token endpoints, and the OKE workload identity proxy: each issues expiring security tokens that the
emulator's Data Flow endpoints accept, so the SDK's own refresh logic runs offline. See
docs/auth/testing-offline.md.
"""

from airflow_provider_dataflow.testing.principals.ledger import PrincipalService
from airflow_provider_dataflow.testing.principals.principal_setup import PrincipalMode, PrincipalSetup
from airflow_provider_dataflow.testing.principals.services import PrincipalServices

__all__ = ["PrincipalMode", "PrincipalService", "PrincipalServices", "PrincipalSetup"]

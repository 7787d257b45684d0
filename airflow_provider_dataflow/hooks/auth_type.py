"""Authentication modes of the ``oci_dataflow`` connection.

Kept free of Airflow imports: ``provider_info`` (loaded while Airflow itself initialises) reads it.
"""

from __future__ import annotations

from enum import Enum


class AuthType(str, Enum):
    """How the hook authenticates; each maps to one of the oci SDK's own signers."""

    API_KEY = "api_key"
    CONFIG_FILE = "config_file"
    INSTANCE_PRINCIPAL = "instance_principal"
    RESOURCE_PRINCIPAL = "resource_principal"
    SECURITY_TOKEN = "security_token"
    WORKLOAD_IDENTITY = "workload_identity"

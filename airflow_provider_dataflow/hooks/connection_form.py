"""The ``oci_dataflow`` connection form, declared as JSON schema (Airflow 3.2+ renders it)."""

from __future__ import annotations

from typing import Any

from airflow_provider_dataflow.hooks.auth_type import AuthType


def _text(label: str, description: str, placeholder: str | None = None) -> dict[str, Any]:
    field: dict[str, Any] = {"label": label, "description": description, "schema": {"type": ["string", "null"]}}
    if placeholder:
        field["placeholder"] = placeholder
    return field


CONNECTION_FIELDS: dict[str, Any] = {
    "auth_type": {
        "label": "Authentication",
        "description": "How to sign requests: api_key, config_file, instance_principal, "
        "resource_principal, security_token or workload_identity.",
        "schema": {
            "type": ["string", "null"],
            "enum": [a.value for a in AuthType],
            "default": AuthType.API_KEY.value,
        },
    },
    "region": _text("Region", "OCI region of the Data Flow service.", "us-ashburn-1"),
    "compartment_id": _text(
        "Default compartment OCID",
        "Used when an operator gives no compartment_id, and by the connection test.",
        "ocid1.compartment.oc1..aaaaaaaa",
    ),
    "tenancy": _text("Tenancy OCID", "api_key only.", "ocid1.tenancy.oc1..aaaaaaaa"),
    "user": _text("User OCID", "api_key only.", "ocid1.user.oc1..aaaaaaaa"),
    "fingerprint": _text("API key fingerprint", "api_key only.", "12:34:56:78:90:ab:cd:ef:12:34:56:78:90:ab:cd:ef"),
    "key_file": _text(
        "Private key file",
        "api_key (instead of the PEM in the password field) or security_token (the session key).",
        "/opt/airflow/oci/key.pem",
    ),
    "passphrase": {
        "label": "Key passphrase",
        "description": "Passphrase of an encrypted private key.",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "security_token_file": _text(
        "Session token file",
        "security_token only: the token `oci session authenticate` writes (re-read when it changes).",
        "~/.oci/sessions/DEFAULT/token",
    ),
    "config_file": _text("OCI config file", "config_file, or security_token with a session profile.", "~/.oci/config"),
    "profile": _text("Config profile", "config_file only.", "DEFAULT"),
    "federation_endpoint": _text(
        "Auth Service endpoint",
        "instance_principal only: where the instance's certificate is exchanged for a token; empty: the "
        "region's endpoint. The metadata service comes from OCI_METADATA_BASE_URL (default 169.254.169.254).",
        "https://auth.us-ashburn-1.oraclecloud.com/v1/x509",
    ),
    "service_account_token_path": _text(
        "Service account token file",
        "workload_identity only: the pod's projected service account token; empty: the SDK's default path. "
        "The proxy and its CA come from KUBERNETES_SERVICE_HOST and OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH.",
        "/var/run/secrets/kubernetes.io/serviceaccount/token",
    ),
    "service_endpoint": _text(
        "Service endpoint",
        "Override the endpoint: other realms, private endpoints, or the local emulator.",
        "https://dataflow.us-ashburn-1.oci.oraclecloud.com",
    ),
    "log_search_endpoint": _text(
        "Logging Search endpoint",
        "Where streamed Spark logs are searched (OCI Logging Search); empty: the region's, or the service "
        "endpoint above when that is set (the local emulator serves both).",
        "https://logging.us-ashburn-1.oci.oraclecloud.com",
    ),
    "console_url_template": _text(
        "Console URL template",
        "Run page for the console link, with {run_id} and {region}; derived from the region when empty.",
        "https://cloud.oracle.com/data-flow/runs/details/{run_id}?region={region}",
    ),
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port", "host", "login", "extra"],
    "relabeling": {"password": "Private key (PEM)"},
    "placeholders": {"password": "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----"},
}

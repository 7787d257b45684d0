"""Throw-away API-key credentials for tests: a fresh RSA key per call, so no key is ever committed."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import ClassVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass(frozen=True)
class TestCredentials:
    """An OCI API-key identity: tenancy and user OCIDs, the key pair, and its OCI fingerprint."""

    __test__: ClassVar[bool] = False  # a dataclass named Test*: keep pytest from collecting it

    tenancy: str
    user: str
    fingerprint: str
    public_key_pem: str
    private_key_pem: str = field(repr=False)

    @property
    def key_id(self) -> str:
        """The keyId the oci SDK signs with for API keys."""
        return f"{self.tenancy}/{self.user}/{self.fingerprint}"

    def sdk_config(self, region: str = "us-ashburn-1") -> dict[str, str]:
        """A config dict for oci SDK clients (``key_content`` instead of a key file)."""
        return {
            "tenancy": self.tenancy,
            "user": self.user,
            "fingerprint": self.fingerprint,
            "key_content": self.private_key_pem,
            "region": region,
        }

    def connection_extra(
        self, service_endpoint: str, compartment_id: str, region: str = "us-ashburn-1"
    ) -> dict[str, str]:
        """The ``extra`` of an ``oci_dataflow`` connection; the private key goes in the password field."""
        return {
            "auth_type": "api_key",
            "region": region,
            "tenancy": self.tenancy,
            "user": self.user,
            "fingerprint": self.fingerprint,
            "service_endpoint": service_endpoint,
            "compartment_id": compartment_id,
        }

    def airflow_connection_json(self, service_endpoint: str, compartment_id: str, region: str = "us-ashburn-1") -> str:
        """A value for ``AIRFLOW_CONN_<ID>``."""
        return json.dumps(
            {
                "conn_type": "oci_dataflow",
                "password": self.private_key_pem,
                "extra": self.connection_extra(service_endpoint, compartment_id, region),
            }
        )


def generate_test_credentials() -> TestCredentials:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_key = key.public_key()
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return TestCredentials(
        tenancy=_ocid("tenancy"),
        user=_ocid("user"),
        fingerprint=":".join(f"{byte:02x}" for byte in hashlib.md5(der, usedforsecurity=False).digest()),
        public_key_pem=public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode(),
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    )


def _ocid(resource_type: str) -> str:
    """``ocid1.<type>.oc1..aaaaaaaa<44 random base32>emulator``: realm-level OCIDs, recognisably fake."""
    unique = base64.b32encode(secrets.token_bytes(30)).decode().lower()[:44]
    return f"ocid1.{resource_type}.oc1..aaaaaaaa{unique}emulator"

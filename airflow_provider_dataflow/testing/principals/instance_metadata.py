"""The instance metadata service (IMDS v2) of one emulated compute instance.

``InstancePrincipalsSecurityTokenSigner`` reads ``/opc/v2/instance/region`` and the instance's leaf
certificate, its private key and the intermediate certificate under ``/opc/v2/identity/``, always with
``Authorization: Bearer Oracle`` (IMDS v2 refuses requests without it). The leaf's subject carries the
instance, compartment and tenancy as ``opc-*`` organisational units; the SDK takes the tenancy from it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from airflow_provider_dataflow.testing.emulator.errors import ApiError
from airflow_provider_dataflow.testing.emulator.messages import ApiRequest, ApiResponse
from airflow_provider_dataflow.testing.principals.certificates import KeyAndCertificate, issue_certificate
from airflow_provider_dataflow.testing.principals.http_server import Route
from airflow_provider_dataflow.testing.principals.ledger import PrincipalService

METADATA_PATH = "/opc/v2"
_AUTHORIZATION = "Bearer Oracle"


@dataclass(frozen=True)
class InstanceIdentity:
    instance_id: str
    region: str
    leaf: KeyAndCertificate
    intermediate: KeyAndCertificate


def new_instance_identity(
    root: KeyAndCertificate, instance_id: str, compartment_id: str, tenancy_id: str, region: str
) -> InstanceIdentity:
    """A leaf certificate for the instance, issued by an intermediate that ``root`` signed."""
    intermediate = issue_certificate(
        root, x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "PKISVC Identity Intermediate emulator")]), ca=True
    )
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, instance_id.rsplit(".", 1)[-1][:64]),  # CN holds 64 at most
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "opc-certtype:instance"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"opc-compartment:{compartment_id}"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"opc-instance:{instance_id}"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"opc-tenant:{tenancy_id}"),
        ]
    )
    leaf = issue_certificate(intermediate, subject)
    return InstanceIdentity(instance_id, region, leaf, intermediate)


def subject_units(certificate: x509.Certificate) -> dict[str, str]:
    """The ``opc-<name>:<value>`` organisational units of a leaf's subject, by name."""
    units = {}
    for attribute in certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME):
        value = attribute.value if isinstance(attribute.value, str) else attribute.value.decode()
        name, separator, content = value.partition(":")
        if separator and name.startswith("opc-"):
            units[name] = content
    return units


def metadata_routes(identity: InstanceIdentity) -> list[Route]:
    documents = {
        "instance/region": identity.region,
        "identity/cert.pem": identity.leaf.certificate_pem,
        "identity/key.pem": identity.leaf.private_key_pem,
        "identity/intermediate.pem": identity.intermediate.certificate_pem,
    }
    return [
        Route("GET", re.compile(re.escape(f"{METADATA_PATH}/{name}")), PrincipalService.INSTANCE_METADATA, _serve(text))
        for name, text in documents.items()
    ]


def _serve(text: str) -> Callable[[ApiRequest, float], ApiResponse]:
    def handler(request: ApiRequest, _now: float) -> ApiResponse:
        if request.headers.get("authorization") != _AUTHORIZATION:
            raise ApiError(401, "NotAuthenticated", f"IMDS v2 requires the header 'Authorization: {_AUTHORIZATION}'")
        return ApiResponse(200, text.encode(), "text/plain")

    return handler

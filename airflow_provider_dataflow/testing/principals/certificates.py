"""Real X.509 certificates for the credential services: a root, intermediates, leaves and TLS servers.

The SDK parses what it is given (the instance leaf's subject names its tenancy; the OKE proxy's CA is
loaded as a certificate and used to verify TLS), so nothing here may be a placeholder.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = datetime.timedelta(days=2)
_BACKDATE = datetime.timedelta(minutes=5)  # tolerate clients whose clock is a little behind


@dataclass(frozen=True)
class KeyAndCertificate:
    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey

    @property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def private_key_pem(self) -> str:
        """PKCS#1 (``BEGIN RSA PRIVATE KEY``), the form the instance metadata service serves."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ).decode()


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def self_signed_ca(common_name: str) -> KeyAndCertificate:
    key = new_rsa_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return KeyAndCertificate(_build(name, key.public_key(), name, ca=True).sign(key, hashes.SHA256()), key)


def issue_certificate(
    issuer: KeyAndCertificate, subject: x509.Name, *, ca: bool = False, ip_address: str | None = None
) -> KeyAndCertificate:
    """A certificate for a fresh key, signed by ``issuer``; ``ip_address`` makes it a TLS server certificate."""
    key = new_rsa_key()
    builder = _build(subject, key.public_key(), issuer.certificate.subject, ca=ca)
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.private_key.public_key()), critical=False
    )
    if ip_address is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip_address))]), critical=False
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return KeyAndCertificate(builder.sign(issuer.private_key, hashes.SHA256()), key)


def _build(subject: x509.Name, public_key: rsa.RSAPublicKey, issuer: x509.Name, *, ca: bool) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    usage = x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=not ca,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )

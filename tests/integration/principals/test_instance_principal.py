"""Instance principals: what the metadata service and Auth Service check, and the SDK's proactive refresh."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import oci
import pytest
from cryptography import x509
from oci.auth.certificate_retriever import PEMStringCertificateRetriever
from oci.auth.federation_client import X509FederationClient
from oci.auth.session_key_supplier import SessionKeySupplier

from airflow_provider_dataflow.testing.emulator import EmulatorControl
from airflow_provider_dataflow.testing.principals import PrincipalService, PrincipalServices
from airflow_provider_dataflow.testing.principals.certificates import self_signed_ca
from airflow_provider_dataflow.testing.principals.instance_metadata import new_instance_identity, subject_units

from ..conftest import COMPARTMENT_ID
from .conftest import SignerFactory

ClientMaker = Callable[[Any], oci.data_flow.DataFlowClient]
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _federation_client(principals: PrincipalServices, leaf_pem: str, key_pem: str, chain_pem: str) -> Any:
    """The SDK's own federation client, given certificates directly instead of from the metadata service."""
    tenancy_id = subject_units(x509.load_pem_x509_certificate(leaf_pem.encode()))["opc-tenant"]
    return X509FederationClient(
        federation_endpoint=principals.instance_principal().signer_kwargs["federation_endpoint"],
        tenancy_id=tenancy_id,
        session_key_supplier=SessionKeySupplier(),
        leaf_certificate_retriever=PEMStringCertificateRetriever(certificate_pem=leaf_pem, private_key_pem=key_pem),
        intermediate_certificate_retrievers=[PEMStringCertificateRetriever(certificate_pem=chain_pem)],
        retry_strategy=oci.retry.NoneRetryStrategy(),
        circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
    )


def _metadata(principals: PrincipalServices, name: str, headers: dict[str, str]) -> str:
    url = f"{principals.instance_principal().env['OCI_METADATA_BASE_URL']}/{name}"
    with _OPENER.open(urllib.request.Request(url, headers=headers), timeout=5) as response:
        return str(response.read().decode())


def test_the_metadata_service_requires_the_imds_v2_header(principals: PrincipalServices) -> None:
    assert _metadata(principals, "instance/region", {"Authorization": "Bearer Oracle"}) == "us-ashburn-1"
    leaf = x509.load_pem_x509_certificate(
        _metadata(principals, "identity/cert.pem", {"Authorization": "Bearer Oracle"}).encode()
    )
    assert subject_units(leaf)["opc-instance"] == principals.instance_principal().principal_id
    assert subject_units(leaf)["opc-tenant"].startswith("ocid1.tenancy.")
    with pytest.raises(urllib.error.HTTPError) as refused:
        _metadata(principals, "identity/key.pem", {})
    assert refused.value.code == 401


def test_auth_service_refuses_a_certificate_from_another_root(principals: PrincipalServices) -> None:
    root = self_signed_ca("somebody else's root")
    stranger = new_instance_identity(
        root, "ocid1.instance.oc1..x", "ocid1.compartment.oc1..x", "ocid1.tenancy.oc1..x", "r"
    )
    leaf, chain = stranger.leaf, stranger.intermediate.certificate_pem
    client = _federation_client(principals, leaf.certificate_pem, leaf.private_key_pem, chain)
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        client.get_security_token()
    assert (refused.value.status, refused.value.code) == (401, "NotAuthenticated")
    assert "does not chain up" in refused.value.message
    assert principals.issued(PrincipalService.FEDERATION) == 0


def test_auth_service_refuses_a_request_not_signed_by_the_leaf_key(principals: PrincipalServices) -> None:
    """The metadata service's certificate, with a private key that is not its own."""
    headers = {"Authorization": "Bearer Oracle"}
    leaf_pem = _metadata(principals, "identity/cert.pem", headers)
    chain_pem = _metadata(principals, "identity/intermediate.pem", headers)
    other_key = self_signed_ca("any").private_key_pem
    client = _federation_client(principals, leaf_pem, other_key, chain_pem)
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        client.get_security_token()
    assert refused.value.status == 401
    assert "does not verify" in refused.value.message


def test_the_sdk_refreshes_ahead_of_expiry_once_per_refresh_for_all_threads(
    principals: PrincipalServices,
    build_signer: SignerFactory,
    principal_client: ClientMaker,
    control: EmulatorControl,
) -> None:
    """The signer refreshes when a token has 60 s or less left: a 62 s token is renewed every ~3 s."""
    principals.set_token_lifetime(PrincipalService.FEDERATION, 62)
    signer = build_signer(principals.instance_principal())
    clients = [principal_client(signer) for _ in range(4)]
    issued_before = principals.issued(PrincipalService.FEDERATION)
    control.clear_journal()
    failures: list[BaseException] = []
    stop = threading.Event()

    def work(client: oci.data_flow.DataFlowClient) -> None:
        while not stop.is_set():
            try:
                client.list_runs(COMPARTMENT_ID, limit=1)
            except Exception as exc:
                failures.append(exc)
            time.sleep(0.05)

    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    try:
        while principals.issued(PrincipalService.FEDERATION) - issued_before < 2:
            assert time.monotonic() < deadline, "no two refreshes within 60 s"
            time.sleep(0.1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    journal = control.journal()
    assert failures == []
    assert {entry["status"] for entry in journal} == {200}  # no call ever carried an expired token
    refreshes = principals.issued(PrincipalService.FEDERATION) - issued_before
    print(f"\ninstance_principal, 62 s tokens, 4 threads: {len(journal)} calls, {refreshes} tokens issued")
    tokens = {entry["key_id"] for entry in journal}
    assert refreshes <= len(tokens) <= refreshes + 1, "one token per refresh for all four threads (and the first)"

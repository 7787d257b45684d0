"""OKE workload identity: the proxy speaks HTTPS under a cluster CA and checks the service account token."""

from __future__ import annotations

import time
from pathlib import Path

import oci
import pytest

from airflow_provider_dataflow.testing.principals import PrincipalService, PrincipalServices
from airflow_provider_dataflow.testing.principals.certificates import self_signed_ca
from airflow_provider_dataflow.testing.principals.tokens import TokenIssuer

from .conftest import SignerFactory


def test_the_proxy_is_trusted_only_through_the_cluster_ca(
    principals: PrincipalServices, build_signer: SignerFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    setup = principals.workload_identity()
    build_signer(setup)  # sets the variables; the CA they name works
    other_ca = tmp_path / "ca.crt"
    other_ca.write_text(self_signed_ca("another cluster").certificate_pem)
    monkeypatch.setenv("OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH", str(other_ca))
    with pytest.raises(oci._vendor.requests.exceptions.SSLError):
        oci.auth.signers.get_oke_workload_identity_resource_principal_signer(
            **setup.signer_kwargs, retry_strategy=oci.retry.NoneRetryStrategy()
        )


def test_a_service_account_token_from_another_cluster_is_refused(
    principals: PrincipalServices, build_signer: SignerFactory
) -> None:
    setup = principals.workload_identity(namespace="jobs", service_account="etl")
    build_signer(setup)  # sets the variables; the genuine token works
    issued = principals.issued(PrincipalService.WORKLOAD_IDENTITY)
    forged = TokenIssuer("https://elsewhere").issue("system:serviceaccount:jobs:etl", 600, time.time())
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        oci.auth.signers.get_oke_workload_identity_resource_principal_signer(service_account_token=forged)
    assert refused.value.status == 401
    assert principals.issued(PrincipalService.WORKLOAD_IDENTITY) == issued


def test_an_expired_service_account_token_is_refused_by_the_sdk_before_sending(
    principals: PrincipalServices, build_signer: SignerFactory
) -> None:
    setup = principals.workload_identity()
    build_signer(setup)
    requests = principals.status()["services"][PrincipalService.WORKLOAD_IDENTITY.value]["requests"]
    expired = TokenIssuer("https://kubernetes.default.svc.cluster.local").issue("sa", 1, time.time() - 60)
    with pytest.raises(RuntimeError, match="expired"):
        oci.auth.signers.get_oke_workload_identity_resource_principal_signer(service_account_token=expired)
    assert principals.status()["services"][PrincipalService.WORKLOAD_IDENTITY.value]["requests"] == requests

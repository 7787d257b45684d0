"""A credential service that is unreachable or refuses: what the SDK raises, when building and when refreshing.

With its default retry strategies the SDK takes about 94 s to give up on the metadata service, the
resource principal endpoints or the OKE proxy (8 attempts) and about 4.5 s on Auth Service (3 attempts);
those figures are measured once, not in the suite. Here the signers get ``NoneRetryStrategy`` where
their constructors accept one, and otherwise a refusal the SDK does not retry (401).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import oci
import pytest

from airflow_provider_dataflow.testing.emulator import EmulatorControl
from airflow_provider_dataflow.testing.emulator.security_tokens import token_claims
from airflow_provider_dataflow.testing.principals import PrincipalService, PrincipalServices

from ..conftest import COMPARTMENT_ID
from .conftest import SignerFactory

ClientMaker = Callable[[Any], oci.data_flow.DataFlowClient]
NO_RETRY = oci.retry.NoneRetryStrategy()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_expired(signer: Any) -> None:
    expires_at = (token_claims(signer.api_key[3:]) or {})["exp"]
    time.sleep(max(0.0, expires_at - time.time() + 0.2))


def test_instance_principal_without_a_metadata_service(
    principals: PrincipalServices, build_signer: SignerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = principals.instance_principal()
    build_signer(setup)
    monkeypatch.setenv("OCI_METADATA_BASE_URL", f"http://127.0.0.1:{_closed_port()}/opc/v2")
    with pytest.raises(oci._vendor.requests.exceptions.ConnectionError) as raised:
        oci.auth.signers.InstancePrincipalsSecurityTokenSigner(**setup.signer_kwargs, retry_strategy=NO_RETRY)
    assert any("OCI compute instances" in str(arg) for arg in raised.value.args)  # the SDK's usage hint


def test_instance_principal_when_auth_service_is_unreachable_or_refuses(
    principals: PrincipalServices, build_signer: SignerFactory
) -> None:
    setup = principals.instance_principal()
    build_signer(setup)
    unreachable = {"federation_endpoint": f"http://127.0.0.1:{_closed_port()}/v1/x509"}
    with pytest.raises(oci._vendor.requests.exceptions.ConnectionError):
        oci.auth.signers.InstancePrincipalsSecurityTokenSigner(**unreachable, federation_client_retry_strategy=NO_RETRY)
    principals.refuse(PrincipalService.FEDERATION, 401)
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        oci.auth.signers.InstancePrincipalsSecurityTokenSigner(**setup.signer_kwargs)
    assert (refused.value.status, refused.value.code) == (401, "NotAuthenticated")


def test_instance_principal_refresh_failing_surfaces_from_the_data_flow_call(
    principals: PrincipalServices,
    build_signer: SignerFactory,
    principal_client: ClientMaker,
    control: EmulatorControl,
) -> None:
    """The refresh happens inside the call, before anything reaches Data Flow."""
    principals.set_token_lifetime(PrincipalService.FEDERATION, 2)  # under 60 s: every call refreshes
    client = principal_client(build_signer(principals.instance_principal()))
    client.list_runs(COMPARTMENT_ID)
    principals.refuse(PrincipalService.FEDERATION, 401)
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        client.list_runs(COMPARTMENT_ID)
    assert refused.value.status == 401
    assert "federation refuses" in refused.value.message  # Auth Service's answer, not Data Flow's
    assert len(control.journal()) == 1


def test_resource_principal_v3_when_its_endpoints_are_unreachable_or_refuse(
    principals: PrincipalServices, build_signer: SignerFactory
) -> None:
    setup = principals.resource_principal_v3()
    leaf = oci.auth.signers.EphemeralResourcePrincipalSigner(
        session_token=setup.env["OCI_RESOURCE_PRINCIPAL_RPST_FOR_LEAF_RESOURCE"],
        private_key=setup.env["OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM_FOR_LEAF_RESOURCE"],
        region=setup.env["OCI_RESOURCE_PRINCIPAL_REGION_FOR_LEAF_RESOURCE"],
    )
    with pytest.raises(oci.exceptions.RequestException):
        oci.auth.signers.NestedResourcePrincipals(
            resource_principal_rpt_url=f"http://127.0.0.1:{_closed_port()}",
            resource_principal_session_token_endpoint=principals.url,
            sub_resource_rp_signer=leaf,
            retry_strategy=NO_RETRY,
        )
    principals.refuse(PrincipalService.RESOURCE_PRINCIPAL_SESSION_TOKEN, 401)
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        build_signer(setup)
    assert refused.value.status == 401


def test_workload_identity_when_the_proxy_is_unreachable_or_refuses(
    principals: PrincipalServices, build_signer: SignerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = principals.workload_identity()
    build_signer(setup)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")  # nothing listens on 127.0.0.1:12250
    with pytest.raises(oci._vendor.requests.exceptions.ConnectionError):
        oci.auth.signers.get_oke_workload_identity_resource_principal_signer(
            **setup.signer_kwargs, retry_strategy=NO_RETRY
        )
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", setup.env["KUBERNETES_SERVICE_HOST"])
    principals.refuse(PrincipalService.WORKLOAD_IDENTITY, 401)
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        oci.auth.signers.get_oke_workload_identity_resource_principal_signer(**setup.signer_kwargs)
    assert refused.value.status == 401


def test_workload_identity_refresh_failing_after_a_401_surfaces_from_the_data_flow_call(
    principals: PrincipalServices,
    build_signer: SignerFactory,
    principal_client: ClientMaker,
    control: EmulatorControl,
) -> None:
    """The SDK refreshes only when Data Flow answers 401; the proxy's refusal is what the caller sees."""
    principals.set_token_lifetime(PrincipalService.WORKLOAD_IDENTITY, 2)
    signer = build_signer(principals.workload_identity())
    client = principal_client(signer)
    client.list_runs(COMPARTMENT_ID)
    principals.refuse(PrincipalService.WORKLOAD_IDENTITY, 401)
    _wait_until_expired(signer)
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        client.list_runs(COMPARTMENT_ID)
    assert refused.value.message == "Failed to get RPST token from proxymux"
    assert [entry["status"] for entry in control.journal()] == [200, 401]

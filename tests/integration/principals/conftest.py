"""Credential services beside the in-process emulator, and the SDK's own signers pointed at them."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import oci
import pytest

from airflow_provider_dataflow.testing.emulator import DataflowEmulator
from airflow_provider_dataflow.testing.principals import PrincipalMode, PrincipalServices, PrincipalSetup

from ..conftest import ClientFactory

# Variables a developer's shell might set that would steer a signer away from the services.
_SIGNER_VARIABLES = ("OCI_METADATA_BASE_URL", "KUBERNETES_SERVICE_HOST", "OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH")

SignerFactory = Callable[[PrincipalSetup], Any]


@pytest.fixture
def principals(emulator: DataflowEmulator) -> Iterator[PrincipalServices]:
    with PrincipalServices(emulator) as services:
        yield services


@pytest.fixture
def build_signer(monkeypatch: pytest.MonkeyPatch) -> SignerFactory:
    """Set a setup's variables and build its mode's signer with the SDK's public API, as a user would."""

    def build(setup: PrincipalSetup) -> Any:
        for name in list(os.environ):
            if name.startswith("OCI_RESOURCE_PRINCIPAL_") or name in _SIGNER_VARIABLES:
                monkeypatch.delenv(name)
        for name, value in setup.env.items():
            monkeypatch.setenv(name, value)
        if setup.mode is PrincipalMode.INSTANCE_PRINCIPAL:
            return oci.auth.signers.InstancePrincipalsSecurityTokenSigner(**setup.signer_kwargs)
        if setup.mode is PrincipalMode.WORKLOAD_IDENTITY:
            return oci.auth.signers.get_oke_workload_identity_resource_principal_signer(**setup.signer_kwargs)
        return oci.auth.signers.get_resource_principals_signer()

    return build


@pytest.fixture
def principal_client(make_client: ClientFactory) -> Callable[[Any], oci.data_flow.DataFlowClient]:
    """A DataFlowClient signed by ``signer``; no retries and no circuit breaker, so every failure shows."""

    def make(signer: Any) -> oci.data_flow.DataFlowClient:
        return make_client(signer=signer)

    return make

"""The credential services through the emulator's control API, in process and in an emulator process."""

from __future__ import annotations

import os
import time
from pathlib import Path

import oci
import pytest

from airflow_provider_dataflow.testing.credentials import TestCredentials
from airflow_provider_dataflow.testing.emulator import EmulatorControl, EmulatorControlError, emulator_process
from airflow_provider_dataflow.testing.emulator.security_tokens import token_claims
from airflow_provider_dataflow.testing.principals import (
    PrincipalMode,
    PrincipalService,
    PrincipalServices,
    PrincipalSetup,
)

from ..conftest import COMPARTMENT_ID
from .conftest import SignerFactory


def test_figures_lifetimes_and_refusals_through_the_control_api(
    principals: PrincipalServices, control: EmulatorControl
) -> None:
    status = control.principals()
    assert status["endpoints"]["federation"] == f"{principals.url}/v1/x509"
    assert status["endpoints"]["workloadIdentity"] == principals.workload_identity_url
    assert status["services"]["federation"] == {
        "service": "federation",
        "requests": 0,
        "issued": 0,
        "rejected": 0,
        "lifetimeSeconds": 3600.0,
        "refuseStatus": None,
    }
    assert control.set_token_lifetime("workloadIdentity", 5)["lifetimeSeconds"] == 5
    assert control.refuse_principal_service("federation", 503)["refuseStatus"] == 503
    assert control.refuse_principal_service("federation", None)["refuseStatus"] is None
    assert principals.ledger.lifetime(PrincipalService.WORKLOAD_IDENTITY) == 5
    for bad in (lambda: control.set_token_lifetime("federation", 0.5), lambda: control.set_token_lifetime("nope", 5)):
        with pytest.raises(EmulatorControlError, match="400"):
            bad()


def test_setups_through_the_control_api(principals: PrincipalServices, control: EmulatorControl) -> None:
    setup = control.principal_setup("workload_identity", namespace="jobs", serviceAccount="etl")
    assert setup["mode"] == "workload_identity"
    assert Path(setup["signerKwargs"]["service_account_token_path"]).name == "jobs.etl.token"
    assert (
        control.principal_setup("resource_principal_v2_2", inFiles=False)["env"]["OCI_RESOURCE_PRINCIPAL_VERSION"]
        == "2.2"
    )
    with pytest.raises(EmulatorControlError, match="400"):
        control.principal_setup("resource_principal_v3", parents=3)
    with pytest.raises(EmulatorControlError, match="400"):
        control.principal_setup("instance_principal", region="x")


def test_without_credential_services_the_routes_answer_404(control: EmulatorControl) -> None:
    with pytest.raises(EmulatorControlError, match="404"):
        control.principals()


def test_an_emulator_process_with_principals_serves_a_signer_in_this_process(
    credentials: TestCredentials, build_signer: SignerFactory
) -> None:
    """What a real Airflow stack does: the emulator elsewhere, the signer and its settings here."""
    with emulator_process(credentials, "--principals", "--token-seconds", "2") as url:
        control = EmulatorControl(url)
        payload = control.principal_setup("resource_principal_v3")
        setup = PrincipalSetup(PrincipalMode(payload["mode"]), payload["env"], payload["signerKwargs"])
        assert all(os.path.exists(path) for name, path in setup.env.items() if "PRIVATE_PEM" in name)
        signer = build_signer(setup)
        client = oci.data_flow.DataFlowClient(
            {}, signer=signer, service_endpoint=url, retry_strategy=oci.retry.NoneRetryStrategy()
        )
        client.list_runs(COMPARTMENT_ID)
        expires_at = (token_claims(signer.api_key[3:]) or {})["exp"]
        time.sleep(max(0.0, expires_at - time.time() + 0.2))
        client.list_runs(COMPARTMENT_ID)
        services = control.principals()["services"]
        assert services["resourcePrincipalSessionToken"]["issued"] == 2
        assert [entry["status"] for entry in control.journal()] == [200, 401, 200]

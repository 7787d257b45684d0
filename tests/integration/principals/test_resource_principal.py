"""Resource principals 2.2 and 3.0: what the SDK can refresh, nested parents, who may borrow a parent's identity."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import oci
import pytest

from airflow_provider_dataflow.testing.emulator import EmulatorControl
from airflow_provider_dataflow.testing.emulator.security_tokens import token_claims
from airflow_provider_dataflow.testing.principals import PrincipalService, PrincipalServices, PrincipalSetup

from ..conftest import COMPARTMENT_ID
from .conftest import SignerFactory

ClientMaker = Callable[[Any], oci.data_flow.DataFlowClient]


def _wait_until_expired(signer: Any) -> None:
    expires_at = (token_claims(signer.api_key[3:]) or {})["exp"]
    time.sleep(max(0.0, expires_at - time.time() + 0.2))


def test_v2_2_values_in_variables_cannot_be_refreshed_so_calls_fail_after_expiry(
    principals: PrincipalServices, build_signer: SignerFactory, principal_client: ClientMaker, control: EmulatorControl
) -> None:
    principals.set_token_lifetime(PrincipalService.RESOURCE_PRINCIPAL_V2_2, 2)
    setup = principals.resource_principal_v2_2(in_files=False)
    assert setup.env["OCI_RESOURCE_PRINCIPAL_RPST"].count(".") == 2  # the token itself, not a path
    signer = build_signer(setup)
    client = principal_client(signer)
    client.list_runs(COMPARTMENT_ID)
    _wait_until_expired(signer)
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        client.list_runs(COMPARTMENT_ID)
    assert (refused.value.status, refused.value.code) == (401, "NotAuthenticated")
    # The SDK refreshed once on the 401 (re-reading the same value) and retried once.
    assert [entry["status"] for entry in control.journal()] == [200, 401, 401]


def test_v2_2_files_not_rewritten_in_time_fail_the_same_way(
    principals: PrincipalServices, build_signer: SignerFactory, principal_client: ClientMaker
) -> None:
    principals.set_token_lifetime(PrincipalService.RESOURCE_PRINCIPAL_V2_2, 2)
    signer = build_signer(principals.resource_principal_v2_2())
    principals.refuse(PrincipalService.RESOURCE_PRINCIPAL_V2_2, 503)  # the platform stops renewing the file
    _wait_until_expired(signer)
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        principal_client(signer).list_runs(COMPARTMENT_ID)
    assert refused.value.status == 401


def test_v3_follows_opc_parent_rpt_url_to_a_second_parent(
    principals: PrincipalServices, build_signer: SignerFactory, principal_client: ClientMaker
) -> None:
    setup = principals.resource_principal_v3(parents=2)
    signer = build_signer(setup)
    details = oci.data_flow.models.CreateRunDetails(compartment_id=COMPARTMENT_ID, execute="oci://bucket@ns/app.py")
    run = principal_client(signer).create_run(details).data
    assert run.owner_principal_id == setup.principal_id  # the outermost parent: the SDK followed the hop
    rpt_servers = principals.status()["endpoints"][PrincipalService.RESOURCE_PRINCIPAL_TOKEN.value]
    assert len(rpt_servers) == 2
    assert setup.env["OCI_RESOURCE_PRINCIPAL_RPT_URL_FOR_PARENT_RESOURCE"] in rpt_servers.values()
    assert rpt_servers[setup.principal_id] != setup.env["OCI_RESOURCE_PRINCIPAL_RPT_URL_FOR_PARENT_RESOURCE"]


def test_v3_only_the_child_may_fetch_its_parents_token(
    principals: PrincipalServices, build_signer: SignerFactory
) -> None:
    first = principals.resource_principal_v3()
    other = principals.resource_principal_v3()
    env = {**first.env}
    env["OCI_RESOURCE_PRINCIPAL_RPT_URL_FOR_PARENT_RESOURCE"] = other.env[
        "OCI_RESOURCE_PRINCIPAL_RPT_URL_FOR_PARENT_RESOURCE"
    ]
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        build_signer(PrincipalSetup(first.mode, env))
    assert (refused.value.status, refused.value.code) == (404, "NotAuthorizedOrNotFound")

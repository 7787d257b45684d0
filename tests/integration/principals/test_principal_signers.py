"""Every principal mode, with the SDK's own signer, against the credential services over HTTP(S).

For each mode: the signer obtains a token the Data Flow endpoints accept; a token the SDK obtained is
refused with 401 once it has expired; and threads sharing one signer keep working across three token
lifetimes of a couple of seconds. The refresh figures (tokens per refresh, 401s) are printed, not
asserted: they describe the SDK, and a later change is meant to improve them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import oci
import pytest

from airflow_provider_dataflow.testing.emulator import EmulatorControl
from airflow_provider_dataflow.testing.emulator.security_tokens import session_key, token_claims
from airflow_provider_dataflow.testing.principals import PrincipalMode, PrincipalService, PrincipalServices

from ..conftest import COMPARTMENT_ID
from .conftest import SignerFactory

ClientMaker = Callable[[Any], oci.data_flow.DataFlowClient]

MODES = list(PrincipalMode)
# The service whose tokens sign Data Flow calls, per mode.
SESSION_SERVICE = {
    PrincipalMode.INSTANCE_PRINCIPAL: PrincipalService.FEDERATION,
    PrincipalMode.RESOURCE_PRINCIPAL_V2_2: PrincipalService.RESOURCE_PRINCIPAL_V2_2,
    PrincipalMode.RESOURCE_PRINCIPAL_V3: PrincipalService.RESOURCE_PRINCIPAL_SESSION_TOKEN,
    PrincipalMode.WORKLOAD_IDENTITY: PrincipalService.WORKLOAD_IDENTITY,
}
LIFETIME = 2.0
THREADS = 4


def _token_of(signer: Any) -> str:
    """The token a signer signs with now: its key id is ``ST$<token>``."""
    assert signer.api_key.startswith("ST$")
    return str(signer.api_key[3:])


def _short_lifetimes(principals: PrincipalServices, seconds: float) -> None:
    for service in PrincipalService:
        if service is not PrincipalService.INSTANCE_METADATA:
            principals.set_token_lifetime(service, seconds)


@pytest.mark.parametrize("mode", MODES, ids=[mode.value for mode in MODES])
def test_the_signer_obtains_a_token_that_data_flow_accepts(
    mode: PrincipalMode,
    principals: PrincipalServices,
    build_signer: SignerFactory,
    principal_client: ClientMaker,
    control: EmulatorControl,
) -> None:
    setup = principals.for_mode(mode)
    signer = build_signer(setup)
    details = oci.data_flow.models.CreateRunDetails(compartment_id=COMPARTMENT_ID, execute="oci://bucket@ns/app.py")
    run = principal_client(signer).create_run(details).data
    assert run.owner_principal_id == setup.principal_id
    token = _token_of(signer)
    assert [entry["key_id"] for entry in control.journal()] == [f"ST${token}"]
    claims = token_claims(token)
    assert claims is not None and claims["sub"] == setup.principal_id
    assert claims["exp"] - claims["iat"] >= 3600  # the default lifetime
    assert session_key(claims).public_numbers() == signer.private_key.public_key().public_numbers()
    assert principals.issued(SESSION_SERVICE[mode]) >= 1


@pytest.mark.parametrize("mode", MODES, ids=[mode.value for mode in MODES])
def test_an_expired_token_is_refused_with_401_and_the_signer_gets_a_new_one(
    mode: PrincipalMode,
    principals: PrincipalServices,
    build_signer: SignerFactory,
    principal_client: ClientMaker,
) -> None:
    _short_lifetimes(principals, LIFETIME)
    signer = build_signer(principals.for_mode(mode))
    client = principal_client(signer)
    client.list_runs(COMPARTMENT_ID)
    old_token, old_key = _token_of(signer), signer.private_key
    expires_at = (token_claims(old_token) or {})["exp"]
    time.sleep(max(0.0, expires_at - time.time() + 0.2))

    stale = principal_client(oci.auth.signers.SecurityTokenSigner(old_token, old_key))
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        stale.list_runs(COMPARTMENT_ID)
    assert (refused.value.status, refused.value.code) == (401, "NotAuthenticated")
    assert "expired" in refused.value.message

    assert client.list_runs(COMPARTMENT_ID).status == 200
    assert _token_of(signer) != old_token


@pytest.mark.parametrize("mode", MODES, ids=[mode.value for mode in MODES])
def test_threads_sharing_one_signer_work_across_three_token_lifetimes(
    mode: PrincipalMode,
    principals: PrincipalServices,
    build_signer: SignerFactory,
    principal_client: ClientMaker,
    control: EmulatorControl,
) -> None:
    _short_lifetimes(principals, LIFETIME)
    signer = build_signer(principals.for_mode(mode))
    clients = [principal_client(signer) for _ in range(THREADS)]
    issued_before = principals.issued(SESSION_SERVICE[mode])
    control.clear_journal()
    failures: list[BaseException] = []
    calls = [0] * THREADS
    started = time.monotonic()
    enough = threading.Event()

    def work(index: int) -> None:
        while not enough.is_set():
            try:
                clients[index].list_runs(COMPARTMENT_ID, limit=1)
                calls[index] += 1
            except Exception as exc:
                failures.append(exc)
            time.sleep(0.05)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    try:
        # Three lifetimes (exp is rounded up to whole seconds) and at least three refreshes seen.
        while time.monotonic() - started < 3 * (LIFETIME + 1) or _accepted_tokens(control) < 4:
            assert time.monotonic() - started < 60, "the signer did not refresh three times within 60 s"
            time.sleep(0.2)
    finally:
        enough.set()
        for thread in threads:
            thread.join(timeout=30)

    assert failures == []
    journal = control.journal()
    refused = sum(1 for entry in journal if entry["status"] == 401)
    issued = principals.issued(SESSION_SERVICE[mode]) - issued_before
    print(
        f"\n{mode.value}: {THREADS} threads, {time.monotonic() - started:.1f} s, {sum(calls)} calls, "
        f"{_accepted_tokens(control)} tokens accepted, {issued} tokens issued, {refused} calls answered 401"
    )


def _accepted_tokens(control: EmulatorControl) -> int:
    return len({entry["key_id"] for entry in control.journal() if entry["status"] == 200})

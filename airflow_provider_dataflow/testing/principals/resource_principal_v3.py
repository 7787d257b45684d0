"""Resource principal 3.0: a nested resource borrows its parent's identity through two endpoints.

The SDK's ``NestedResourcePrincipals`` signs, with the leaf's own (2.2) token:

1. ``GET <OCI_RESOURCE_PRINCIPAL_RPT_URL_FOR_PARENT_RESOURCE>``: the parent's resource principal token
   (RPT) and a service principal session token (SPST). An ``opc-parent-rpt-url`` response header names the
   next parent's RPT URL; the SDK then repeats both steps for it, signing with the parent's token.
2. ``POST <OCI_RESOURCE_PRINCIPAL_RPST_ENDPOINT_FOR_PARENT_RESOURCE>/v1/resourcePrincipalSessionToken``
   with both tokens and its session public key: the parent's RPST, which then signs Data Flow calls.

The SDK uses the RPT URL as a client endpoint, and oci 2.189's ``BaseClient`` refuses endpoints with a
path ("endpoint must not contain path, query, or fragment"), so each parent's RPT is served at ``/`` of a
server of its own. Only the child named when a parent is added may fetch that parent's RPT.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from airflow_provider_dataflow.testing.emulator.errors import invalid_parameter, not_authenticated, not_found
from airflow_provider_dataflow.testing.emulator.messages import ApiRequest, ApiResponse, json_response
from airflow_provider_dataflow.testing.emulator.security_tokens import InvalidSecurityToken, token_expiry, verify_issuer
from airflow_provider_dataflow.testing.emulator.signatures import KeyRegistry, SignatureVerifier
from airflow_provider_dataflow.testing.principals.http_server import Route
from airflow_provider_dataflow.testing.principals.ledger import PrincipalService, ServiceLedger
from airflow_provider_dataflow.testing.principals.resources import ResourceIdentity
from airflow_provider_dataflow.testing.principals.tokens import TokenIssuer, decode_session_key

RPST_PATH = "/v1/resourcePrincipalSessionToken"
PARENT_RPT_URL_HEADER = "opc-parent-rpt-url"
SERVICE_PRINCIPAL = "ocid1.serviceprincipal.oc1..dataflow"


@dataclass(frozen=True)
class ParentResource:
    identity: ResourceIdentity
    child_id: str  # the principal (token ``sub``) allowed to fetch this parent's RPT
    next_parent_rpt_url: str | None  # sent back as ``opc-parent-rpt-url``


class NestedResourceService:
    def __init__(self, issuer: TokenIssuer, ledger: ServiceLedger) -> None:
        self._issuer = issuer
        self._ledger = ledger
        keys = KeyRegistry()
        keys.trust_issuer(issuer.public_key)
        self._verifier = SignatureVerifier(keys)
        self._parents: dict[str, ParentResource] = {}
        self._lock = threading.Lock()

    def add_parent(self, parent: ParentResource) -> None:
        with self._lock:
            self._parents[parent.identity.resource_id] = parent

    def session_token_routes(self) -> list[Route]:
        return [
            Route(
                "POST",
                re.compile(re.escape(RPST_PATH)),
                PrincipalService.RESOURCE_PRINCIPAL_SESSION_TOKEN,
                self._resource_principal_session_token,
            )
        ]

    def token_routes(self, parent: ParentResource) -> list[Route]:
        """The routes of ``parent``'s own RPT server (see the module docstring)."""

        def handler(request: ApiRequest, now: float) -> ApiResponse:
            return self._resource_principal_token(parent, request, now)

        return [Route("GET", re.compile("/?"), PrincipalService.RESOURCE_PRINCIPAL_TOKEN, handler)]

    def _resource_principal_token(self, parent: ParentResource, request: ApiRequest, now: float) -> ApiResponse:
        caller = self._verifier.verify(request, now)
        if caller.principal_id != parent.child_id:
            raise not_found(f"resource principal token of {parent.identity.resource_id} for {caller.principal_id}")
        lifetime = self._ledger.lifetime(PrincipalService.RESOURCE_PRINCIPAL_TOKEN)
        identity = parent.identity
        rpt = self._issuer.issue(identity.resource_id, lifetime, now, {"ttype": "rpt", **identity.rpst_claims()})
        spst = self._issuer.issue(SERVICE_PRINCIPAL, lifetime, now, {"ttype": "spst", "ptype": "service"})
        self._ledger.count_issued(PrincipalService.RESOURCE_PRINCIPAL_TOKEN)
        headers = {PARENT_RPT_URL_HEADER: parent.next_parent_rpt_url} if parent.next_parent_rpt_url else None
        return json_response(200, {"resourcePrincipalToken": rpt, "servicePrincipalSessionToken": spst}, headers)

    def _resource_principal_session_token(self, request: ApiRequest, now: float) -> ApiResponse:
        self._verifier.verify(request, now)
        body = request.json_body()
        if not isinstance(body, dict):
            raise invalid_parameter("the body must be a JSON object")
        rpt = self._claims(body.get("resourcePrincipalToken"), "rpt", now)
        self._claims(body.get("servicePrincipalSessionToken"), "spst", now)
        session_key = decode_session_key(body.get("sessionPublicKey"), "sessionPublicKey")
        parent = self._parent(str(rpt.get("sub")))
        if parent is None:
            raise not_authenticated("The resource principal token names an unknown resource.")
        lifetime = self._ledger.lifetime(PrincipalService.RESOURCE_PRINCIPAL_SESSION_TOKEN)
        identity = parent.identity
        token = self._issuer.issue(identity.resource_id, lifetime, now, identity.rpst_claims(), session_key)
        self._ledger.count_issued(PrincipalService.RESOURCE_PRINCIPAL_SESSION_TOKEN)
        return json_response(200, {"token": token})

    def _claims(self, token: Any, token_type: str, now: float) -> dict[str, Any]:
        if not isinstance(token, str):
            raise invalid_parameter(f"the {token_type.upper()} is missing")
        try:
            claims = verify_issuer(token, [self._issuer.public_key])
        except InvalidSecurityToken as exc:
            raise not_authenticated(f"The {token_type.upper()} is not valid: {exc}.") from None
        expires_at = token_expiry(claims)
        if claims.get("ttype") != token_type or expires_at is None or now >= expires_at:
            raise not_authenticated(f"The {token_type.upper()} is expired or not a {token_type.upper()}.")
        return claims

    def _parent(self, resource_id: str) -> ParentResource | None:
        with self._lock:
            return self._parents.get(resource_id)

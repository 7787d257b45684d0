"""The OKE workload identity proxy ("proxymux"): a pod's service account token in, an RPST out.

``get_oke_workload_identity_resource_principal_signer()`` posts ``{"podKey": <session public key>}`` to
``https://$KUBERNETES_SERVICE_HOST:12250/resourcePrincipalSessionTokens`` (the port is fixed in the SDK)
with ``Authorization: Bearer <service account token>``, trusting only the CA in
``$OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH``. The answer is base64 of ``{"token": "ST$<rpst>"}``.
Service account tokens here are JWTs from a cluster issuer of their own; the proxy checks the signature,
the expiry and that the account was provisioned.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass

from airflow_provider_dataflow.testing.emulator.errors import ApiError, invalid_parameter
from airflow_provider_dataflow.testing.emulator.messages import ApiRequest, ApiResponse
from airflow_provider_dataflow.testing.emulator.security_tokens import InvalidSecurityToken, token_expiry, verify_issuer
from airflow_provider_dataflow.testing.principals.http_server import Route
from airflow_provider_dataflow.testing.principals.ledger import PrincipalService, ServiceLedger
from airflow_provider_dataflow.testing.principals.resources import ResourceIdentity
from airflow_provider_dataflow.testing.principals.tokens import TokenIssuer, decode_session_key

PROXYMUX_PORT = 12250  # oci.auth.signers.resource_principals_signer.OCI_KUBERNETES_PROXYMUX_SERVICE_PORT
PROXYMUX_PATH = "/resourcePrincipalSessionTokens"
CLUSTER_ISSUER = "https://kubernetes.default.svc.cluster.local"


@dataclass(frozen=True)
class Workload:
    namespace: str
    service_account: str
    identity: ResourceIdentity

    @property
    def subject(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"


class WorkloadIdentityProxy:
    def __init__(self, issuer: TokenIssuer, ledger: ServiceLedger) -> None:
        self._issuer = issuer
        self._cluster = TokenIssuer(CLUSTER_ISSUER)
        self._ledger = ledger
        self._workloads: dict[str, Workload] = {}
        self._lock = threading.Lock()

    def add_workload(self, workload: Workload, token_seconds: float, now: float) -> str:
        """Provision the service account; returns a token for it, as the kubelet would project."""
        with self._lock:
            self._workloads[workload.subject] = workload
        claims = {
            "aud": ["https://kubernetes.default.svc.cluster.local"],
            "kubernetes.io": {"namespace": workload.namespace, "serviceaccount": {"name": workload.service_account}},
        }
        return self._cluster.issue(workload.subject, token_seconds, now, claims)

    def routes(self) -> list[Route]:
        return [Route("POST", re.compile(re.escape(PROXYMUX_PATH)), PrincipalService.WORKLOAD_IDENTITY, self._exchange)]

    def _exchange(self, request: ApiRequest, now: float) -> ApiResponse:
        workload = self._authenticate(request.headers.get("authorization") or "", now)
        body = request.json_body()
        if not isinstance(body, dict):
            raise invalid_parameter("the body must be a JSON object with podKey")
        session_key = decode_session_key(body.get("podKey"), "podKey")
        claims = {
            **workload.identity.rpst_claims(),
            "res_type": "workload",
            "namespace": workload.namespace,
            "service_account": workload.service_account,
        }
        lifetime = self._ledger.lifetime(PrincipalService.WORKLOAD_IDENTITY)
        token = self._issuer.issue(workload.identity.resource_id, lifetime, now, claims, session_key)
        self._ledger.count_issued(PrincipalService.WORKLOAD_IDENTITY)
        payload = json.dumps({"token": f"ST${token}"}).encode()
        return ApiResponse(200, base64.b64encode(payload), "text/plain")

    def _authenticate(self, authorization: str, now: float) -> Workload:
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or not token:
            raise _unauthorized("a service account token is required (Authorization: Bearer <token>)")
        try:
            claims = verify_issuer(token, [self._cluster.public_key])
        except InvalidSecurityToken as exc:
            raise _unauthorized(f"the service account token is not valid: {exc}") from None
        expires_at = token_expiry(claims)
        if expires_at is None or now >= expires_at:
            raise _unauthorized("the service account token has expired")
        with self._lock:
            workload = self._workloads.get(str(claims.get("sub")))
        if workload is None:
            raise _unauthorized(f"service account {claims.get('sub')} has no workload identity here")
        return workload


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "NotAuthenticated", message)

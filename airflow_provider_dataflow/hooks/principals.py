"""Principal signers (instance principal, resource principal, OKE workload identity): the SDK's own, bounded, shared.

The hook shares one signer per connection between every thread of a process (``client_pool``). Three things
are added around the SDK's signer object, which stays the SDK's class (``BaseClient`` refreshes only signers
it recognises with ``isinstance``):

- **Bounded waits.** The SDK retries an unreachable metadata service or OKE proxy for ~94 s. Where its
  constructors accept a retry strategy (instance principal, workload identity), they get
  :func:`credential_retry_strategy`; ``get_resource_principals_signer()`` accepts none, so resource principal
  3.0 keeps the SDK's bound (see docs/auth/resource-principal.md).
- **One token request per refresh.** Resource principals and workload identity refresh only when a call is
  answered 401, and the SDK lets every thread whose call got that 401 refresh. The instance's
  ``refresh_security_token`` is wrapped so that threads refused with the token another thread has just
  replaced skip their refresh and retry with the new token.
- **Errors that name the mode.** A credential service that is unreachable or refuses raises a
  ``DataflowServiceError`` saying which mode failed and what to check (endpoint, variable, file, dynamic
  group), never falling back to another mode. It is not transient: a wait ends instead of retrying for hours.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_dataflow.exceptions import service_error
from airflow_provider_dataflow.hooks.auth_type import AuthType

if TYPE_CHECKING:
    from airflow_provider_dataflow.exceptions import DataflowServiceError
    from airflow_provider_dataflow.hooks.auth import ConnectionSettings

# Up to 4 attempts within 20 s (refused connections: ~10 s in all); a service that accepts connections
# but never answers costs the SDK's read timeout of 60 s once. The connection test's own limit is 60 s.
CREDENTIAL_ATTEMPTS = 4
CREDENTIAL_RETRY_SECONDS = 20
# A refresh that completed this recently, with a token that has not expired, already answers a 401 that
# arrives now: the refused request was signed before the refresh (requests take far less than this).
RECENT_REFRESH_SECONDS = 10.0
# A token this close to its ``exp`` counts as expired: the SDK compares whole seconds, a service may not.
EXPIRY_MARGIN_SECONDS = 1.0

DEFAULT_METADATA_URL = "http://169.254.169.254/opc/v2"
DEFAULT_SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
DEFAULT_SERVICE_ACCOUNT_CA = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
PROXYMUX_PORT = 12250  # fixed in the SDK
DYNAMIC_GROUP_HINT = (
    "the {principal} is matched by a dynamic group that an IAM policy allows to manage "
    "dataflow-family in the compartment"
)


def principal_signer(settings: ConnectionSettings) -> Any:
    """The SDK's signer for a principal mode, built with bounded retries and shared-refresh guard; blocking."""
    try:
        signer = _build(settings)
    except Exception as exc:
        raise credential_error(settings, exc, "getting a security token") from exc
    _guard_refresh(signer, settings)
    return signer


def credential_retry_strategy() -> Any:
    """Retries for calls to a credential service: connection errors, 429 and 5xx, within a bound."""
    import oci

    return (
        oci.retry.RetryStrategyBuilder()
        .add_max_attempts(max_attempts=CREDENTIAL_ATTEMPTS)
        .add_total_elapsed_time(total_elapsed_time_seconds=CREDENTIAL_RETRY_SECONDS)
        .add_service_error_check(service_error_retry_config={-1: [], 429: []}, service_error_retry_on_any_5xx=True)
        .get_retry_strategy()
    )


def credential_error(settings: ConnectionSettings, exc: BaseException, doing: str) -> DataflowServiceError:
    """What failed, in which mode, and what to check. A 400, 401 or 404 answer is a rejection (the retry policy
    fails the task at once); anything else a plain, non-transient failure (the task's ``retries`` apply)."""
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    message = (
        f"OCI auth_type {settings.auth_type.value} (connection {settings.conn_id!r}) failed {doing}: "
        f"{_describe(exc)}. Check: {advice(settings)}. No other auth mode is tried."
    )
    return service_error(message, status=status if isinstance(status, int) else None, code=code)


def advice(settings: ConnectionSettings) -> str:
    """Where the mode's credentials come from, with this process's values (never a token or key)."""
    env = os.environ
    if settings.auth_type is AuthType.INSTANCE_PRINCIPAL:
        metadata = env.get("OCI_METADATA_BASE_URL") or f"{DEFAULT_METADATA_URL}, the default"
        federation = settings.federation_endpoint or "the region's https://auth.<region>.oraclecloud.com/v1/x509"
        return (
            f"that Airflow runs on an OCI compute instance whose metadata service answers at {metadata} "
            f"(OCI_METADATA_BASE_URL); that the "
            f"Auth Service at {federation} (extra federation_endpoint) is reachable; and that "
            + DYNAMIC_GROUP_HINT.format(principal="instance")
        )
    if settings.auth_type is AuthType.WORKLOAD_IDENTITY:
        host = env.get("KUBERNETES_SERVICE_HOST") or "<unset>"
        token = settings.service_account_token_path or f"{DEFAULT_SERVICE_ACCOUNT_TOKEN} (the SDK's default)"
        ca = env.get("OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH") or f"{DEFAULT_SERVICE_ACCOUNT_CA} (the SDK's default)"
        return (
            f"that the OKE workload identity proxy answers at https://{host}:{PROXYMUX_PORT} (KUBERNETES_SERVICE_HOST) "
            f"with a certificate from the CA in {ca} (OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH); that the service "
            f"account token {token} (extra service_account_token_path) is current; that the cluster is an enhanced "
            "cluster; OCI_RESOURCE_PRINCIPAL_REGION; and that an IAM policy allows the workload "
            "(request.principal.type = 'workload', its namespace and service account) to manage dataflow-family"
        )
    return _resource_principal_advice(env)


def _resource_principal_advice(env: Mapping[str, str]) -> str:
    version = env.get("OCI_RESOURCE_PRINCIPAL_VERSION")
    group = DYNAMIC_GROUP_HINT.format(principal="resource")
    if version == "3.0":
        rpt = env.get("OCI_RESOURCE_PRINCIPAL_RPT_URL_FOR_PARENT_RESOURCE") or "<unset>"
        rpst = env.get("OCI_RESOURCE_PRINCIPAL_RPST_ENDPOINT_FOR_PARENT_RESOURCE") or "<unset>"
        leaf_token = "OCI_RESOURCE_PRINCIPAL_RPST_FOR_LEAF_RESOURCE"
        leaf_key = "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM_FOR_LEAF_RESOURCE"
        return (
            f"OCI_RESOURCE_PRINCIPAL_VERSION=3.0: that the parent's token endpoint {rpt} "
            f"(OCI_RESOURCE_PRINCIPAL_RPT_URL_FOR_PARENT_RESOURCE) and session token endpoint {rpst} "
            f"(OCI_RESOURCE_PRINCIPAL_RPST_ENDPOINT_FOR_PARENT_RESOURCE) answer; the leaf's {leaf_token} "
            f"({_value_or_path(env, leaf_token)}) and {leaf_key} ({_value_or_path(env, leaf_key)}); and that {group}"
        )
    if version == "2.2":
        return (
            f"OCI_RESOURCE_PRINCIPAL_VERSION=2.2: OCI_RESOURCE_PRINCIPAL_RPST "
            f"({_value_or_path(env, 'OCI_RESOURCE_PRINCIPAL_RPST')}; only a file the platform renews can be "
            f"refreshed) and OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM "
            f"({_value_or_path(env, 'OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM')}), OCI_RESOURCE_PRINCIPAL_REGION; "
            f"and that {group}"
        )
    return (
        f"OCI_RESOURCE_PRINCIPAL_VERSION ({version or 'unset'}): the resource that runs Airflow must inject "
        f"resource principal variables (version 2.2, or 3.0 for a nested resource); and that {group}"
    )


def _value_or_path(env: Mapping[str, str], name: str) -> str:
    """A path is shown; a value (a token or a key) never is."""
    value = env.get(name)
    if not value:
        return "unset"
    return f"file {value}" if os.path.isabs(value) else "a value, not a file"


def _describe(exc: BaseException) -> str:
    import oci

    if isinstance(exc, oci.exceptions.ServiceError):
        return f"{exc.status} {exc.code}: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def _build(settings: ConnectionSettings) -> Any:
    import oci

    signers = oci.auth.signers
    if settings.auth_type is AuthType.INSTANCE_PRINCIPAL:
        return signers.InstancePrincipalsSecurityTokenSigner(
            federation_endpoint=settings.federation_endpoint,
            retry_strategy=credential_retry_strategy(),
            federation_client_retry_strategy=credential_retry_strategy(),
            # The SDK's breaker is shared by every federation client in the process and, once open, hides
            # the Auth Service's answer behind CircuitBreakerError; the bounded retries are enough.
            federation_client_circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
        )
    if settings.auth_type is AuthType.WORKLOAD_IDENTITY:
        return signers.get_oke_workload_identity_resource_principal_signer(
            service_account_token_path=settings.service_account_token_path,
            retry_strategy=credential_retry_strategy(),
        )
    return signers.get_resource_principals_signer()


def _guard_refresh(signer: Any, settings: ConnectionSettings) -> None:
    """Replace the instance's refresh (and, for instance principals, the token lookup before each request)."""
    signer.refresh_security_token = SingleFlightRefresh(
        signer.refresh_security_token,
        lambda: _token_is_current(signer),
        lambda exc: credential_error(settings, exc, "refreshing its security token"),
    )
    federation_client = getattr(signer, "federation_client", None)
    if federation_client is not None:  # instance principals renew ahead of expiry, under the SDK's own lock
        federation_client.get_security_token = _naming_failures(
            federation_client.get_security_token,
            lambda exc: credential_error(settings, exc, "refreshing its security token"),
        )


class SingleFlightRefresh:
    """A shared signer's ``refresh_security_token``: one refresh at a time, skipped when another thread's
    refresh just replaced the token the caller's request was refused with."""

    def __init__(
        self,
        refresh: Callable[[], Any],
        token_is_current: Callable[[], bool],
        failure: Callable[[BaseException], Exception],
    ) -> None:
        self._refresh = refresh
        self._token_is_current = token_is_current
        self._failure = failure
        self._lock = threading.Lock()
        self._refreshed_at: float | None = None

    def __call__(self) -> Any:
        with self._lock:
            if (
                self._refreshed_at is not None
                and time.monotonic() - self._refreshed_at < RECENT_REFRESH_SECONDS
                and self._token_is_current()
            ):
                return None
            try:
                result = self._refresh()
            except Exception as exc:
                raise self._failure(exc) from exc
            self._refreshed_at = time.monotonic()
            return result


def _naming_failures(get_token: Callable[[], str], failure: Callable[[BaseException], Exception]) -> Callable[[], str]:
    def get_security_token() -> str:
        try:
            return get_token()
        except Exception as exc:
            raise failure(exc) from exc

    return get_security_token


def _token_is_current(signer: Any) -> bool:
    """Whether the signer's token (the SDK's ``SecurityTokenContainer``) is not about to expire by this clock."""
    container = getattr(signer, "security_token", None)
    if container is None:
        container = getattr(getattr(signer, "federation_client", None), "security_token", None)
    get_jwt = getattr(container, "get_jwt", None)
    expires_at = get_jwt().get("exp") if callable(get_jwt) else None
    return isinstance(expires_at, (int, float)) and time.time() < expires_at - EXPIRY_MARGIN_SECONDS

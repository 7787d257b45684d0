"""Turn what the oci SDK raised into this provider's exception: transient (wait, retry) or permanent (advice)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_dataflow.runs.failures import CallFailure

if TYPE_CHECKING:
    from oci.exceptions import ServiceError

    from airflow_provider_dataflow.exceptions import DataflowServiceError

IAM_POLICY_HINT = (
    "If the resource exists, the principal lacks permission: Data Flow needs an IAM policy such as "
    "'allow group <group> to manage dataflow-family in compartment <compartment>' "
    "(or 'allow dynamic-group <dynamic-group> ...' for instance/resource principals)."
)
AUTH_HINT = (
    "Check the connection: tenancy, user and fingerprint must belong to the API key whose private key "
    "is in the password field (or key_file), and the key must be uploaded to that user in the console."
)
CLOCK_SKEW_HINT = "This machine's clock differs from OCI's by more than 5 minutes; synchronise it (e.g. with NTP)."


def classify_failure(exc: BaseException, *, doing: str, auth_hint: str | None = None) -> DataflowServiceError:
    """The exception for what the oci SDK raised while ``doing`` something (e.g. "get run ocid1...").

    ``auth_hint`` replaces the API-key advice of a 401 for connections that authenticate otherwise.
    """
    return _failure(exc, doing, auth_hint).to_service_error()


def _failure(exc: BaseException, doing: str, auth_hint: str | None) -> CallFailure:
    import oci
    import requests
    import urllib3
    from circuitbreaker import CircuitBreakerError

    if isinstance(exc, oci.exceptions.ServiceError):
        return _classify_service_error(exc, doing, auth_hint)
    transient = (
        oci.exceptions.RequestException,
        oci.exceptions.ConnectTimeout,
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        urllib3.exceptions.HTTPError,  # e.g. a response stream broken midway
        CircuitBreakerError,
        ConnectionError,
        TimeoutError,
    )
    message = f"Could not {doing}: {type(exc).__name__}: {exc}"
    return CallFailure(message, transient=isinstance(exc, transient))


def _classify_service_error(exc: ServiceError, doing: str, auth_hint: str | None) -> CallFailure:
    status, code = exc.status, exc.code
    base = f"Could not {doing}: {status} {code}: {exc.message} (opc-request-id {exc.request_id})"
    if status == 429 or (status >= 500 and status != 501) or (status == 409 and code == "IncorrectState"):
        return CallFailure(base, status, code, transient=True, retry_after=_retry_after(exc.headers))
    if status == 401:
        text = (exc.message or "").lower()
        hint = CLOCK_SKEW_HINT if ("date" in text or "clock" in text or "skew" in text) else auth_hint or AUTH_HINT
        return CallFailure(f"{base}. {hint}", status, code)
    if status == 404:
        return CallFailure(f"{base}. {IAM_POLICY_HINT}", status, code)
    return CallFailure(base, status, code)


def _retry_after(headers: object) -> float | None:
    value = getattr(headers, "get", lambda _key: None)("retry-after")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None

"""Sort failed Data Flow calls into transient (wait and retry) and permanent (fail with advice)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_dataflow.exceptions import DataflowServiceError
from airflow_provider_dataflow.failure_kind import service_error_class

if TYPE_CHECKING:
    from oci.exceptions import ServiceError

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


@dataclass(frozen=True)
class CallFailure:
    """What to do about one failed call."""

    transient: bool
    message: str
    status: int | None = None
    code: str | None = None
    retry_after: float | None = None

    def to_exception(self) -> DataflowServiceError:
        return service_error_class(self.status, self.code)(
            self.message,
            status=self.status,
            code=self.code,
            transient=self.transient,
            retry_after=self.retry_after,
        )


def classify_failure(exc: BaseException, *, doing: str) -> CallFailure:
    """Classify an exception raised by the oci SDK while ``doing`` something (e.g. "get run ocid1...")."""
    import oci
    import requests
    from circuitbreaker import CircuitBreakerError

    if isinstance(exc, oci.exceptions.ServiceError):
        return _classify_service_error(exc, doing)
    if isinstance(
        exc,
        (
            oci.exceptions.RequestException,
            oci.exceptions.ConnectTimeout,
            requests.exceptions.ConnectionError,
            requests.exceptions.Timeout,
            CircuitBreakerError,
            ConnectionError,
            TimeoutError,
        ),
    ):
        return CallFailure(transient=True, message=f"Could not {doing}: {type(exc).__name__}: {exc}")
    return CallFailure(transient=False, message=f"Could not {doing}: {type(exc).__name__}: {exc}")


def _classify_service_error(exc: ServiceError, doing: str) -> CallFailure:
    status, code = exc.status, exc.code
    base = f"Could not {doing}: {status} {code}: {exc.message} (opc-request-id {exc.request_id})"
    if status == 429 or (status >= 500 and status != 501) or (status == 409 and code == "IncorrectState"):
        return CallFailure(True, base, status, code, _retry_after(exc.headers))
    if status == 401:
        text = (exc.message or "").lower()
        hint = CLOCK_SKEW_HINT if ("date" in text or "clock" in text or "skew" in text) else AUTH_HINT
        return CallFailure(False, f"{base}. {hint}", status, code)
    if status == 404:
        return CallFailure(False, f"{base}. {IAM_POLICY_HINT}", status, code)
    return CallFailure(False, base, status, code)


def _retry_after(headers: object) -> float | None:
    value = getattr(headers, "get", lambda _key: None)("retry-after")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None

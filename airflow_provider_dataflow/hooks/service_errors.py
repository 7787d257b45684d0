"""Turn what the oci SDK raised into this provider's exception, once: the exception a task raises.

Transient failures (wait and retry) and permanent ones (with advice) get their class here
(``exceptions.service_error``); nothing downstream classifies again.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from airflow_provider_dataflow.exceptions import DataflowClockSkewError, DataflowServiceError, service_error

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
#: OCI refuses a request whose ``date`` header is more than 5 minutes from its own clock (401).
CLOCK_SKEW_LIMIT_SECONDS = 300.0
CLOCK_SKEW_HINT = (
    "This machine's clock is {skew:+.0f} s off OCI's (the response's Date header); OCI refuses requests signed "
    "more than 5 minutes off. Synchronise this machine's clock (e.g. with NTP)."
)


def classify_failure(exc: BaseException, *, doing: str, auth_hint: str | None = None) -> DataflowServiceError:
    """The exception for what the oci SDK raised while ``doing`` something (e.g. "get run ocid1...").

    ``auth_hint`` replaces the API-key advice of a 401 for connections that authenticate otherwise.
    """
    import oci
    import requests
    import urllib3
    from circuitbreaker import CircuitBreakerError

    if isinstance(exc, oci.exceptions.ServiceError):
        return _from_service_error(exc, doing, auth_hint)
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
    return service_error(f"Could not {doing}: {type(exc).__name__}: {exc}", transient=isinstance(exc, transient))


def _from_service_error(exc: ServiceError, doing: str, auth_hint: str | None) -> DataflowServiceError:
    status, code = exc.status, exc.code
    base = f"Could not {doing}: {status} {code}: {exc.message} (opc-request-id {exc.request_id})"
    if status == 429 or (status >= 500 and status != 501) or (status == 409 and code == "IncorrectState"):
        return service_error(base, status=status, code=code, transient=True, retry_after=_retry_after(exc.headers))
    if status == 401:
        skew = clock_skew(exc.headers)
        if skew is not None:
            return DataflowClockSkewError(f"{base}. {CLOCK_SKEW_HINT.format(skew=skew)}", status=status, code=code)
        return service_error(f"{base}. {auth_hint or AUTH_HINT}", status=status, code=code)
    if status == 404 or code == "RelatedResourceNotAuthorizedOrNotFound":
        return service_error(f"{base}. {IAM_POLICY_HINT}", status=status, code=code)
    return service_error(base, status=status, code=code)


def clock_skew(headers: object) -> float | None:
    """Seconds this machine's clock is ahead of the service's (from the answer's ``Date`` header), when that is
    more than OCI accepts; None otherwise or when the answer has no usable date."""
    value = getattr(headers, "get", lambda _key: None)("date")
    if not value:
        return None
    try:
        skew = time.time() - parsedate_to_datetime(str(value)).timestamp()
    except (TypeError, ValueError):
        return None
    return skew if abs(skew) > CLOCK_SKEW_LIMIT_SECONDS else None


def _retry_after(headers: object) -> float | None:
    value = getattr(headers, "get", lambda _key: None)("retry-after")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None

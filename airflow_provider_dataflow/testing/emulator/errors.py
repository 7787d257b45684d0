"""Service errors as the Data Flow API reports them: an HTTP status plus a JSON ``{code, message}``."""

from __future__ import annotations

from collections.abc import Mapping


class ApiError(Exception):
    """Raised anywhere in request handling; the server turns it into the service's error JSON."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


AUTH_FAILED = "The required information to complete authentication was not provided or was incorrect."
NOT_FOUND = "Authorization failed or requested resource not found."

DEFAULT_CODES = {
    400: "InvalidParameter",
    401: "NotAuthenticated",
    404: "NotAuthorizedOrNotFound",
    409: "IncorrectState",
    412: "NoEtagMatch",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}


def invalid_parameter(message: str) -> ApiError:
    return ApiError(400, "InvalidParameter", message)


def missing_parameter(message: str) -> ApiError:
    """A required parameter is absent (Oracle, "API Errors": 400 MissingParameter)."""
    return ApiError(400, "MissingParameter", message)


def related_resource_not_found(message: str) -> ApiError:
    """A resource named in the request body does not exist or may not be used (400, not the URI's 404)."""
    return ApiError(400, "RelatedResourceNotAuthorizedOrNotFound", message)


def not_authenticated(detail: str) -> ApiError:
    """The real service says only the first sentence; the detail tells a test which check failed."""
    return ApiError(401, "NotAuthenticated", f"{AUTH_FAILED} {detail}")


def not_found(what: str) -> ApiError:
    return ApiError(404, "NotAuthorizedOrNotFound", f"{NOT_FOUND} ({what})")


def no_such_operation(method: str, path: str) -> ApiError:
    """No operation at this path and method (Oracle, "API Errors": 404 NotFound, not NotAuthorizedOrNotFound)."""
    return ApiError(404, "NotFound", f"{method} {path} is not an operation of the Data Flow API.")


def conflict(message: str) -> ApiError:
    """A state that waiting will not change (Oracle, "API Errors": 409 Conflict, "not transient").

    Not 409 IncorrectState, which the SDK's default retry strategy retries for up to 600 s.
    """
    return ApiError(409, "Conflict", message)


def etag_mismatch(resource_id: str) -> ApiError:
    return ApiError(412, "NoEtagMatch", f"The if-match etag does not match the current etag of {resource_id}.")

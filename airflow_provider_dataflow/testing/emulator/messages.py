"""The request and response shapes passed between the HTTP plumbing and the API handlers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_dataflow.testing.emulator.errors import ApiError


@dataclass(frozen=True)
class ApiRequest:
    """One HTTP request, already read off the socket; header names are lower-case."""

    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    request_id: str

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def json_body(self) -> Any:
        """Parse the body; a body that is not JSON is the client's fault, hence a 400."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ApiError(400, "InvalidParameter", f"The request body is not valid JSON: {exc}") from None


@dataclass
class ApiResponse:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> ApiResponse:
    return ApiResponse(status, json.dumps(payload).encode(), "application/json", dict(headers or {}))


def error_response(error: ApiError) -> ApiResponse:
    return json_response(error.status, {"code": error.code, "message": error.message}, error.headers)

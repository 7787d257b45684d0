"""The Data Flow API (version 20200129): authenticate, route, and answer as the service does."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote

from airflow_provider_dataflow.testing.emulator.applications import to_summary as application_summary
from airflow_provider_dataflow.testing.emulator.errors import (
    invalid_parameter,
    missing_parameter,
    no_such_operation,
    not_found,
)
from airflow_provider_dataflow.testing.emulator.identifiers import new_ocid
from airflow_provider_dataflow.testing.emulator.messages import ApiRequest, ApiResponse, json_response
from airflow_provider_dataflow.testing.emulator.run_creation import create_run
from airflow_provider_dataflow.testing.emulator.runs import RunRecord
from airflow_provider_dataflow.testing.emulator.signatures import Principal, SignatureVerifier
from airflow_provider_dataflow.testing.emulator.state import EmulatorState
from airflow_provider_dataflow.testing.emulator.timestamps import parse_rfc3339, rfc3339
from airflow_provider_dataflow.testing.emulator.validation import (
    ocid,
    validate_create_application,
    validate_update_application,
    validate_update_run,
)

BASE_PATH = "/20200129"
LIST_FILTERS = (
    "applicationId",
    "poolId",
    "ownerPrincipalId",
    "displayName",
    "displayNameStartsWith",
    "lifecycleState",
    "timeCreatedGreaterThan",
)
LIFECYCLE_STATES = ("ACCEPTED", "IN_PROGRESS", "CANCELING", "CANCELED", "FAILED", "SUCCEEDED", "STOPPING", "STOPPED")
SORT_FIELDS = (
    "timeCreated",
    "displayName",
    "language",
    "runDurationInMilliseconds",
    "lifecycleState",
    "totalOCpu",
    "dataReadInBytes",
    "dataWrittenInBytes",
)
APPLICATION_LIST_FILTERS = ("displayName", "ownerPrincipalId", "displayNameStartsWith", "sparkVersion")
APPLICATION_SORT_FIELDS = ("timeCreated", "displayName", "language")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

T = TypeVar("T")
Handler = Callable[[ApiRequest, Principal, float, dict[str, str]], ApiResponse]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


class DataFlowService:
    """Handles one request under ``/20200129``; every call must carry a valid signature."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._verifier = SignatureVerifier(state.keys)
        self._routes = [
            _route("POST", "/runs", self._create_run),
            _route("GET", "/runs", self._list_runs),
            _route("GET", "/runs/{runId}", self._get_run),
            _route("PUT", "/runs/{runId}", self._update_run),
            _route("DELETE", "/runs/{runId}", self._cancel_run),
            _route("GET", "/runs/{runId}/logs", self._list_run_logs),
            _route("GET", "/runs/{runId}/logs/{name}", self._get_run_log),
            _route("POST", "/applications", self._create_application),
            _route("GET", "/applications", self._list_applications),
            _route("GET", "/applications/{applicationId}", self._get_application),
            _route("PUT", "/applications/{applicationId}", self._update_application),
            _route("DELETE", "/applications/{applicationId}", self._delete_application),
            _route(
                "POST",
                "/applications/{applicationId}/actions/cascadingDeleteApplication",
                self._cascading_delete_application,
            ),
        ]
        from airflow_provider_dataflow.testing.emulator.pool_api import pool_routes  # it imports this module

        self._routes += pool_routes(state, self._listed_compartment)

    def handle(self, request: ApiRequest, now: float) -> ApiResponse:
        principal = self._verifier.verify(request, now + self._state.settings.clock_offset_seconds)
        resource_path = request.path[len(BASE_PATH) :]
        for route in self._routes:
            match = route.pattern.fullmatch(resource_path)
            if match and route.method == request.method:
                params = {name: unquote(value) for name, value in match.groupdict().items()}
                return route.handler(request, principal, now, params)
        raise no_such_operation(request.method, request.path)

    def _create_run(self, request: ApiRequest, principal: Principal, now: float, _: dict[str, str]) -> ApiResponse:
        retry_token = request.headers.get("opc-retry-token")
        record = create_run(self._state, request.json_body(), principal, request.request_id, retry_token, now)
        return json_response(200, record.to_json(now), {"etag": record.etag(now)})

    def _list_runs(self, request: ApiRequest, _p: Principal, now: float, _: dict[str, str]) -> ApiResponse:
        """Filter and sort on the one field each needs; build summaries only for the page returned."""
        compartment_id = self._listed_compartment(request)
        filters = _one_filter(request, LIST_FILTERS)
        if "applicationId" in filters:
            ocid("applicationId", filters["applicationId"])
        keep = _run_filter(filters, now)
        sort_by, sort_order = _sort(request, SORT_FIELDS)
        records = [record for record in self._state.runs.in_compartment(compartment_id) if keep(record)]
        records.sort(key=lambda record: record.id)
        records.sort(key=lambda record: _sort_key(record.summary_value(sort_by, now)), reverse=sort_order == "DESC")
        return _paged(request, records, lambda record: record.to_summary(now))

    def _get_run(self, _r: ApiRequest, _p: Principal, now: float, params: dict[str, str]) -> ApiResponse:
        record = self._state.runs.get(params["runId"])
        return json_response(200, record.to_json(now), {"etag": record.etag(now)})

    def _update_run(self, request: ApiRequest, _p: Principal, now: float, params: dict[str, str]) -> ApiResponse:
        changes = validate_update_run(request.json_body())
        self._state.tag_namespaces.check("definedTags", changes.get("definedTags"))
        with self._state.capacity.changing(params["runId"], now):
            record = self._state.runs.update(params["runId"], changes, request.headers.get("if-match"), now)
        return json_response(200, record.to_json(now), {"etag": record.etag(now)})

    def _cancel_run(self, request: ApiRequest, _p: Principal, now: float, params: dict[str, str]) -> ApiResponse:
        with self._state.capacity.changing(params["runId"], now):
            self._state.runs.cancel(params["runId"], request.headers.get("if-match"), now)
        return ApiResponse(204)

    def _list_run_logs(self, request: ApiRequest, _p: Principal, now: float, params: dict[str, str]) -> ApiResponse:
        record = self._state.runs.get(params["runId"])
        return _paged(
            request,
            record.logs(now),
            lambda log: {
                "name": log.name,
                "runId": record.id,
                "sizeInBytes": len(log.content),
                "source": log.source,
                "type": log.type,
                "timeCreated": rfc3339(log.time_created),
            },
        )

    def _get_run_log(self, _r: ApiRequest, _p: Principal, now: float, params: dict[str, str]) -> ApiResponse:
        record = self._state.runs.get(params["runId"])
        for log in record.logs(now):
            if log.name == params["name"]:
                return ApiResponse(200, log.content, "application/octet-stream")
        raise not_found(f"log {params['name']} of run {record.id}")

    def _create_application(
        self, request: ApiRequest, principal: Principal, now: float, _: dict[str, str]
    ) -> ApiResponse:
        details = validate_create_application(request.json_body())
        self._state.compartments.check(details["compartmentId"])
        self._state.tag_namespaces.check("definedTags", details.get("definedTags"))
        application_id = new_ocid("dataflowapplication", self._state.region)
        retry_token = request.headers.get("opc-retry-token")
        application = self._state.applications.create(application_id, details, principal, now, retry_token)
        return self._application_response(application)

    def _list_applications(self, request: ApiRequest, _p: Principal, _n: float, _: dict[str, str]) -> ApiResponse:
        compartment_id = self._listed_compartment(request)
        filters = _one_filter(request, APPLICATION_LIST_FILTERS)
        sort_by, sort_order = _sort(request, APPLICATION_SORT_FIELDS)
        applications = [
            application
            for application in self._state.applications.in_compartment(compartment_id)
            if _application_matches(application, filters)
        ]
        applications.sort(key=lambda application: application["id"])
        applications.sort(key=lambda application: _sort_key(application.get(sort_by)), reverse=sort_order == "DESC")
        return _paged(request, applications, application_summary)

    def _get_application(self, _r: ApiRequest, _p: Principal, _n: float, params: dict[str, str]) -> ApiResponse:
        return self._application_response(self._state.applications.get(params["applicationId"]))

    def _update_application(
        self, request: ApiRequest, _p: Principal, now: float, params: dict[str, str]
    ) -> ApiResponse:
        changes = validate_update_application(request.json_body())
        self._state.tag_namespaces.check("definedTags", changes.get("definedTags"))
        application = self._state.applications.update(
            params["applicationId"], changes, request.headers.get("if-match"), now
        )
        return self._application_response(application)

    def _delete_application(
        self, request: ApiRequest, _p: Principal, now: float, params: dict[str, str]
    ) -> ApiResponse:
        self._state.applications.delete(params["applicationId"], request.headers.get("if-match"), now)
        return ApiResponse(204)

    def _cascading_delete_application(
        self, request: ApiRequest, _p: Principal, now: float, params: dict[str, str]
    ) -> ApiResponse:
        """Delete the application (as DELETE does) and cancel its runs that have not ended (the SDK's
        ``cascading_delete_application``: "terminates related runs")."""
        application_id = params["applicationId"]
        self._state.applications.delete(application_id, request.headers.get("if-match"), now)
        for record in self._state.runs.of_application(application_id):
            if record.state(now) in ("ACCEPTED", "IN_PROGRESS"):
                self._state.runs.cancel(record.id, None, now)
        return ApiResponse(202)

    def _application_response(self, application: dict[str, Any]) -> ApiResponse:
        return json_response(200, application, {"etag": self._state.applications.etag(application["id"])})

    def _listed_compartment(self, request: ApiRequest) -> str:
        """A list's required compartmentId: a valid OCID the caller may use."""
        compartment_id = request.query_value("compartmentId")
        if not compartment_id:
            raise missing_parameter("compartmentId is required")
        ocid("compartmentId", compartment_id)
        self._state.compartments.check(compartment_id)
        return compartment_id


def _route(method: str, template: str, handler: Handler) -> _Route:
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return _Route(method, re.compile(pattern), handler)


def _one_filter(request: ApiRequest, names: Sequence[str]) -> dict[str, str]:
    """The service's list rule: compartmentId plus at most one of the optional filters."""
    filters = {name: value for name in names if (value := request.query_value(name)) is not None}
    if len(filters) > 1:
        raise invalid_parameter(
            f"Only one of {', '.join(names)} may be combined with compartmentId; got {', '.join(filters)}"
        )
    return filters


def _sort(request: ApiRequest, fields: Sequence[str]) -> tuple[str, str]:
    """sortBy (default timeCreated, newest first) and sortOrder (other fields default to ASC)."""
    sort_by = request.query_value("sortBy") or "timeCreated"
    if sort_by not in fields:
        raise invalid_parameter(f"sortBy must be one of {', '.join(fields)}, got {sort_by!r}")
    sort_order = request.query_value("sortOrder") or ("DESC" if sort_by == "timeCreated" else "ASC")
    if sort_order not in ("ASC", "DESC"):
        raise invalid_parameter(f"sortOrder must be ASC or DESC, got {sort_order!r}")
    return sort_by, sort_order


def _application_matches(application: dict[str, Any], filters: dict[str, str]) -> bool:
    if not filters:
        return True
    ((name, value),) = filters.items()
    if name == "displayNameStartsWith":
        return str(application["displayName"]).startswith(value)
    return bool(application.get(name) == value)


def _run_filter(filters: dict[str, str], now: float) -> Callable[[RunRecord], bool]:
    """The single list filter the API allows, as a predicate on what the run's summary would say."""
    if not filters:
        return lambda record: True
    ((name, value),) = filters.items()
    if name == "displayNameStartsWith":
        return lambda record: str(record.fields["displayName"]).startswith(value)
    if name == "timeCreatedGreaterThan":
        try:
            threshold = parse_rfc3339(value)
        except ValueError:
            raise invalid_parameter(f"timeCreatedGreaterThan is not an RFC 3339 date-time: {value!r}") from None
        return lambda record: parse_rfc3339(record.time_created) > threshold
    if name == "lifecycleState" and value not in LIFECYCLE_STATES:
        raise invalid_parameter(f"lifecycleState must be one of {', '.join(LIFECYCLE_STATES)}, got {value!r}")
    return lambda record: record.summary_value(name, now) == value


def _sort_key(value: Any) -> tuple[bool, Any]:
    return (value is None, value if value is not None else 0)


def _paged(request: ApiRequest, items: Sequence[T], render: Callable[[T], dict[str, Any]]) -> ApiResponse:
    """``limit`` + opaque ``page`` tokens; ``opc-next-page`` while more items remain, ``opc-prev-page`` after
    the first page (the SDK's ``page`` docstring: "The value of the opc-next-page or opc-prev-page")."""
    raw_limit = request.query_value("limit")
    try:
        limit = DEFAULT_LIMIT if raw_limit is None else int(raw_limit)
    except ValueError:
        raise invalid_parameter(f"limit must be an integer, got {raw_limit!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid_parameter(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    offset = _page_offset(request.query_value("page"))
    headers = {}
    if offset + limit < len(items):
        headers["opc-next-page"] = _page_token(offset + limit)
    if offset > 0:
        headers["opc-prev-page"] = _page_token(max(0, offset - limit))
    return json_response(200, [render(item) for item in items[offset : offset + limit]], headers)


def _page_token(offset: int) -> str:
    return f"page-{offset}"


def _page_offset(token: str | None) -> int:
    if token is None:
        return 0
    offset = token.removeprefix("page-")
    if offset == token or not offset.isdigit():
        raise invalid_parameter(f"page is not a page token from opc-next-page: {token!r}")
    return int(offset)

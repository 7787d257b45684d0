"""The pool and work request operations of the API (``DataFlowClient``'s ``*_pool`` and ``*work_request*``).

Lists of pools and of work requests are Collection models (``{"items": [...]}``), unlike runs and
applications, which the SDK reads as bare arrays. State-changing pool calls answer with an
``opc-work-request-id`` header (Terraform's provider reads it on create and update; the SDK's
``start_pool_and_wait_for_state``/``stop_pool_and_wait_for_state`` poll it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from airflow_provider_dataflow.testing.emulator.identifiers import new_ocid
from airflow_provider_dataflow.testing.emulator.messages import ApiRequest, ApiResponse, json_response
from airflow_provider_dataflow.testing.emulator.pool_details import validate_create_pool, validate_update_pool
from airflow_provider_dataflow.testing.emulator.pools import DELETED, PoolRecord
from airflow_provider_dataflow.testing.emulator.service import (
    _one_filter,
    _paged,
    _Route,
    _route,
    _sort,
    _sort_key,
)
from airflow_provider_dataflow.testing.emulator.signatures import Principal
from airflow_provider_dataflow.testing.emulator.state import EmulatorState
from airflow_provider_dataflow.testing.emulator.validation import one_of
from airflow_provider_dataflow.testing.emulator.work_requests import WorkRequest

POOL_STATES = (
    "ACCEPTED",
    "SCHEDULED",
    "CREATING",
    "ACTIVE",
    "STOPPING",
    "STOPPED",
    "UPDATING",
    "DELETING",
    DELETED,
    "FAILED",
)
POOL_LIST_FILTERS = ("lifecycleState", "displayName", "ownerPrincipalId", "displayNameStartsWith")
WORK_REQUEST_HEADER = "opc-work-request-id"


def pool_routes(state: EmulatorState, listed_compartment: Callable[[ApiRequest], str]) -> list[_Route]:
    """``listed_compartment``: the service's rule for a list's required ``compartmentId``."""
    api = PoolApi(state, listed_compartment)
    return [
        _route("POST", "/pools", api.create),
        _route("GET", "/pools", api.list_pools),
        _route("GET", "/pools/{poolId}", api.get),
        _route("PUT", "/pools/{poolId}", api.update),
        _route("DELETE", "/pools/{poolId}", api.delete),
        _route("POST", "/pools/{poolId}/actions/start", api.start),
        _route("POST", "/pools/{poolId}/actions/stop", api.stop),
        _route("GET", "/workRequests", api.list_work_requests),
        _route("GET", "/workRequests/{workRequestId}", api.get_work_request),
        _route("GET", "/workRequests/{workRequestId}/errors", api.list_work_request_errors),
        _route("GET", "/workRequests/{workRequestId}/logs", api.list_work_request_logs),
    ]


class PoolApi:
    def __init__(self, state: EmulatorState, listed_compartment: Callable[[ApiRequest], str]) -> None:
        self._state = state
        self._listed_compartment = listed_compartment

    def create(self, request: ApiRequest, principal: Principal, now: float, _: dict[str, str]) -> ApiResponse:
        details = validate_create_pool(request.json_body())
        self._state.compartments.check(details["compartmentId"])
        pool_id = new_ocid("dataflowpool", self._state.region)
        timing = self._state.pool_settings.timing
        retry_token = request.headers.get("opc-retry-token")
        record, work = self._state.pools.create(pool_id, details, principal, timing, retry_token, now)
        return self._pool_response(record, now, {WORK_REQUEST_HEADER: work.id})

    def list_pools(self, request: ApiRequest, _p: Principal, now: float, _: dict[str, str]) -> ApiResponse:
        """``compartmentId`` plus at most one filter; DELETED pools only when that state is asked for."""
        compartment_id = self._listed_compartment(request)
        filters = _one_filter(request, POOL_LIST_FILTERS)
        if "lifecycleState" in filters:
            one_of(POOL_STATES)("lifecycleState", filters["lifecycleState"])
        sort_by, sort_order = _sort(request, ("timeCreated",))
        summaries = [
            record.to_summary(now)
            for record in self._state.pools.all()
            if record.fields["compartmentId"] == compartment_id
        ]
        listed = [summary for summary in summaries if _pool_matches(summary, filters)]
        listed.sort(key=lambda summary: summary["id"])
        listed.sort(key=lambda summary: _sort_key(summary.get(sort_by)), reverse=sort_order == "DESC")
        return _collection(_paged(request, listed, lambda summary: summary))

    def get(self, _r: ApiRequest, _p: Principal, now: float, params: dict[str, str]) -> ApiResponse:
        return self._pool_response(self._state.pools.get(params["poolId"]), now)

    def update(self, request: ApiRequest, _p: Principal, now: float, params: dict[str, str]) -> ApiResponse:
        changes = validate_update_pool(request.json_body())
        work = self._state.capacity.update_pool(params["poolId"], changes, request.headers.get("if-match"), now)
        return _accepted(work)

    def delete(self, request: ApiRequest, _p: Principal, now: float, params: dict[str, str]) -> ApiResponse:
        pool = self._state.pools.get(params["poolId"])
        timing = self._state.pool_settings.timing_for(pool, self._state.behaviours.all())
        return _accepted(self._state.pools.delete(pool.id, request.headers.get("if-match"), timing, now))

    def start(self, request: ApiRequest, _p: Principal, now: float, params: dict[str, str]) -> ApiResponse:
        if_match, token = request.headers.get("if-match"), request.headers.get("opc-retry-token")
        return _accepted(self._state.capacity.start_pool(params["poolId"], if_match, token, now))

    def stop(self, request: ApiRequest, _p: Principal, now: float, params: dict[str, str]) -> ApiResponse:
        if_match, token = request.headers.get("if-match"), request.headers.get("opc-retry-token")
        return _accepted(self._state.capacity.stop_pool(params["poolId"], if_match, token, now))

    def list_work_requests(self, request: ApiRequest, _p: Principal, now: float, _: dict[str, str]) -> ApiResponse:
        compartment_id = self._listed_compartment(request)
        requests = self._state.work_requests.in_compartment(compartment_id)
        return _collection(_paged(request, requests, lambda work: work.to_json(now)))

    def get_work_request(self, _r: ApiRequest, _p: Principal, now: float, params: dict[str, str]) -> ApiResponse:
        work = self._state.work_requests.get(params["workRequestId"])
        return json_response(200, work.to_json(now))

    def list_work_request_errors(
        self, request: ApiRequest, _p: Principal, now: float, params: dict[str, str]
    ) -> ApiResponse:
        work = self._state.work_requests.get(params["workRequestId"])
        return _collection(_paged(request, work.error_entries(now), lambda entry: entry))

    def list_work_request_logs(
        self, request: ApiRequest, _p: Principal, now: float, params: dict[str, str]
    ) -> ApiResponse:
        work = self._state.work_requests.get(params["workRequestId"])
        return _collection(_paged(request, work.log_entries(now), lambda entry: entry))

    def _pool_response(self, record: PoolRecord, now: float, headers: dict[str, str] | None = None) -> ApiResponse:
        document = record.to_json(now, self._state.capacity.pool_metrics(record, now))
        return json_response(200, document, {"etag": record.etag(now), **(headers or {})})


def _pool_matches(summary: dict[str, Any], filters: dict[str, str]) -> bool:
    if not filters:
        return summary["lifecycleState"] != DELETED
    ((name, value),) = filters.items()
    if name == "displayNameStartsWith":
        return str(summary["displayName"]).startswith(value) and summary["lifecycleState"] != DELETED
    if name == "lifecycleState":
        return bool(summary["lifecycleState"] == value)
    return summary.get(name) == value and summary["lifecycleState"] != DELETED


def _accepted(work: WorkRequest) -> ApiResponse:
    """202 with no body: the operation goes on; its work request tells when it is done."""
    return ApiResponse(202, headers={WORK_REQUEST_HEADER: work.id})


def _collection(page: ApiResponse) -> ApiResponse:
    """A page of ``_paged`` as the Collection model the SDK reads (``{"items": [...]}``), headers kept."""
    page.body = json.dumps({"items": json.loads(page.body)}).encode()
    return page

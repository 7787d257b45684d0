"""The unsigned control API under ``/_emulator/`` that tests use to steer the emulator."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from airflow_provider_dataflow.testing.emulator.applications import application_defaults
from airflow_provider_dataflow.testing.emulator.behaviours import Behaviour
from airflow_provider_dataflow.testing.emulator.bulk import create_bulk_runs
from airflow_provider_dataflow.testing.emulator.errors import ApiError, invalid_parameter
from airflow_provider_dataflow.testing.emulator.faults import FaultRule
from airflow_provider_dataflow.testing.emulator.messages import ApiRequest, ApiResponse, json_response
from airflow_provider_dataflow.testing.emulator.pool_details import validate_create_pool
from airflow_provider_dataflow.testing.emulator.pools import REGISTERED_POOL_STATES, pool_defaults
from airflow_provider_dataflow.testing.emulator.signatures import Principal
from airflow_provider_dataflow.testing.emulator.state import EmulatorState, PrincipalServicesControl
from airflow_provider_dataflow.testing.emulator.validation import ocid, validate_create_application

CONTROL_PATH = "/_emulator"
# Owner of the applications a test registers under an OCID of its choosing.
CONTROL_OWNER = Principal(key_id="emulator-control", principal_id="emulator-control", user_name="emulator-control")

ControlHandler = Callable[[ApiRequest, float, list[str]], ApiResponse]


class ControlApi:
    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._routes: list[tuple[str, re.Pattern[str], ControlHandler]] = [
            ("GET", re.compile(r"/health"), self._health),
            ("GET", re.compile(r"/settings"), self._get_settings),
            ("PUT", re.compile(r"/settings"), self._put_settings),
            ("POST", re.compile(r"/keys"), self._register_key),
            ("DELETE", re.compile(r"/keys/(.+)"), self._remove_key),
            ("GET", re.compile(r"/behaviours"), self._list_behaviours),
            ("POST", re.compile(r"/behaviours"), self._add_behaviour),
            ("DELETE", re.compile(r"/behaviours"), self._clear_behaviours),
            ("DELETE", re.compile(r"/behaviours/([^/]+)"), self._remove_behaviour),
            ("GET", re.compile(r"/faults"), self._list_faults),
            ("POST", re.compile(r"/faults"), self._add_fault),
            ("DELETE", re.compile(r"/faults"), self._clear_faults),
            ("DELETE", re.compile(r"/faults/([^/]+)"), self._remove_fault),
            ("GET", re.compile(r"/journal"), self._journal),
            ("DELETE", re.compile(r"/journal"), self._clear_journal),
            ("PUT", re.compile(r"/journal/limit"), self._set_journal_limit),
            ("GET", re.compile(r"/runs"), self._runs),
            ("POST", re.compile(r"/runs/bulk"), self._create_runs),
            ("POST", re.compile(r"/runs/([^/]+)/finish"), self._finish_run),
            ("POST", re.compile(r"/applications"), self._register_application),
            ("GET", re.compile(r"/pools"), self._pools),
            ("POST", re.compile(r"/pools"), self._register_pool),
            ("GET", re.compile(r"/pools/settings"), self._get_pool_settings),
            ("PUT", re.compile(r"/pools/settings"), self._put_pool_settings),
            ("GET", re.compile(r"/limits"), self._get_limits),
            ("PUT", re.compile(r"/limits"), self._put_limits),
            ("GET", re.compile(r"/compartments"), self._get_compartments),
            ("PUT", re.compile(r"/compartments"), self._put_compartments),
            ("POST", re.compile(r"/logs"), self._register_log),
            ("POST", re.compile(r"/logs/diagnostic"), self._enable_diagnostic_log),
            ("PUT", re.compile(r"/logs/search"), self._log_search_settings),
            ("GET", re.compile(r"/tag-namespaces"), self._get_tag_namespaces),
            ("PUT", re.compile(r"/tag-namespaces"), self._put_tag_namespaces),
            ("POST", re.compile(r"/reset"), self._reset),
            ("GET", re.compile(r"/stats"), self._stats),
            ("GET", re.compile(r"/principals"), self._principals),
            ("POST", re.compile(r"/principals/setups"), self._principal_setup),
            ("PUT", re.compile(r"/principals/services/([^/]+)"), self._configure_principal_service),
        ]

    def handle(self, request: ApiRequest, now: float) -> ApiResponse:
        resource_path = request.path[len(CONTROL_PATH) :]
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(resource_path)
            if match and method == request.method:
                try:
                    return handler(request, now, list(match.groups()))
                except ValueError as exc:
                    raise invalid_parameter(str(exc)) from None
        raise ApiError(404, "NotFound", f"{request.method} {request.path} is not a control API endpoint")

    def _health(self, _r: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        return json_response(200, {"status": "ok", "runs": self._state.runs.count()})

    def _get_settings(self, _r: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        return json_response(200, self._state.settings.to_json())

    def _put_settings(self, request: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        self._state.settings.update(_object(request))
        return json_response(200, self._state.settings.to_json())

    def _register_key(self, request: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        payload = _object(request)
        key_id, pem = payload.get("keyId"), payload.get("publicKeyPem")
        if not isinstance(key_id, str) or not isinstance(pem, str):
            raise ValueError("keyId and publicKeyPem are required strings")
        self._state.keys.register(key_id, pem, payload.get("userName"))
        return json_response(200, {"keyId": key_id})

    def _remove_key(self, _r: ApiRequest, _n: float, args: list[str]) -> ApiResponse:
        if not self._state.keys.remove(unquote(args[0])):
            raise ApiError(404, "NotFound", f"no key {unquote(args[0])!r} is registered")
        return ApiResponse(204)

    def _list_behaviours(self, _r: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        return json_response(200, [behaviour.to_json() for behaviour in self._state.behaviours.all()])

    def _add_behaviour(self, request: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        behaviour = Behaviour.from_json(_object(request))
        self._state.behaviours.add(behaviour)
        return json_response(200, behaviour.to_json())

    def _clear_behaviours(self, _r: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        self._state.behaviours.clear()
        return ApiResponse(204)

    def _remove_behaviour(self, _r: ApiRequest, _n: float, args: list[str]) -> ApiResponse:
        if not self._state.behaviours.remove(args[0]):
            raise ApiError(404, "NotFound", f"no behaviour {args[0]}")
        return ApiResponse(204)

    def _list_faults(self, _r: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        return json_response(200, [rule.to_json() for rule in self._state.faults.all()])

    def _add_fault(self, request: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        rule = FaultRule.from_json(_object(request))
        self._state.faults.add(rule)
        return json_response(200, rule.to_json())

    def _clear_faults(self, _r: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        self._state.faults.clear()
        return ApiResponse(204)

    def _remove_fault(self, _r: ApiRequest, _n: float, args: list[str]) -> ApiResponse:
        if not self._state.faults.remove(args[0]):
            raise ApiError(404, "NotFound", f"no fault {args[0]}")
        return ApiResponse(204)

    def _journal(self, _r: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        return json_response(200, self._state.journal.entries())

    def _clear_journal(self, _r: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        self._state.journal.clear()
        return ApiResponse(204)

    def _set_journal_limit(self, request: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        limit = _object(request).get("limit")
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise ValueError(f"limit must be an integer (0 records nothing), got {limit!r}")
        self._state.journal.set_limit(limit)
        return json_response(200, {"limit": self._state.journal.limit})

    def _runs(self, _r: ApiRequest, now: float, _a: list[str]) -> ApiResponse:
        records = sorted(self._state.runs.all(), key=lambda record: record.created_at)
        return json_response(200, [record.to_json(now) for record in records])

    def _finish_run(self, request: ApiRequest, now: float, args: list[str]) -> ApiResponse:
        payload = _object(request)
        with self._state.capacity.changing(args[0], now):
            record = self._state.runs.finish(
                args[0], payload.get("state", "SUCCEEDED"), payload.get("lifecycleDetails"), now
            )
        return json_response(200, record.to_json(now))

    def _create_runs(self, request: ApiRequest, now: float, _a: list[str]) -> ApiResponse:
        ids = create_bulk_runs(self._state, _object(request), now)
        return json_response(200, {"ids": ids})

    def _register_application(self, request: ApiRequest, now: float, _a: list[str]) -> ApiResponse:
        """CreateApplicationDetails plus the ``id`` to store it under; required fields a test omits get defaults."""
        payload = _object(request)
        application_id = payload.pop("id", None)
        ocid("id", application_id)
        details = validate_create_application(application_defaults(payload))
        application = self._state.applications.create(application_id, details, CONTROL_OWNER, now)
        return json_response(200, application)

    def _pools(self, _r: ApiRequest, now: float, _a: list[str]) -> ApiResponse:
        pools = sorted(self._state.pools.all(), key=lambda pool: pool.fields["timeCreated"])
        return json_response(200, [pool.to_json(now, self._state.capacity.pool_metrics(pool, now)) for pool in pools])

    def _register_pool(self, request: ApiRequest, now: float, _a: list[str]) -> ApiResponse:
        """CreatePoolDetails plus the ``id`` and ``lifecycleState`` to store it under; defaults for the rest."""
        payload = _object(request)
        pool_id = payload.pop("id", None)
        ocid("id", pool_id)
        lifecycle_state = payload.pop("lifecycleState", "ACTIVE")
        if lifecycle_state not in REGISTERED_POOL_STATES:
            raise ValueError(
                f"lifecycleState must be one of {', '.join(REGISTERED_POOL_STATES)}, got {lifecycle_state!r}"
            )
        details = validate_create_pool(pool_defaults(payload))
        record = self._state.capacity.register_pool(pool_id, details, CONTROL_OWNER, lifecycle_state, now)
        return json_response(200, record.to_json(now, self._state.capacity.pool_metrics(record, now)))

    def _get_pool_settings(self, _r: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        return json_response(200, self._state.pool_settings.to_json())

    def _put_pool_settings(self, request: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        self._state.pool_settings.update(_object(request))
        return json_response(200, self._state.pool_settings.to_json())

    def _get_limits(self, _r: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        return json_response(200, self._state.limits.to_json())

    def _put_limits(self, request: ApiRequest, now: float, _a: list[str]) -> ApiResponse:
        self._state.capacity.set_ocpu_limit(_object(request).get("ocpus"), now)
        return json_response(200, self._state.limits.to_json())

    def _get_compartments(self, _r: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        return json_response(200, _compartments_json(self._state.compartments.allowed))

    def _put_compartments(self, request: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        allowed = _object(request).get("compartmentIds")
        if allowed is not None and (not isinstance(allowed, list) or not all(isinstance(c, str) for c in allowed)):
            raise ValueError(f"compartmentIds must be a list of OCIDs, or null for every compartment; got {allowed!r}")
        self._state.compartments.set(allowed)
        return json_response(200, _compartments_json(self._state.compartments.allowed))

    def _register_log(self, request: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        payload = _object(request)
        log_id, compartment_id = _ocids(payload, "logId", "compartmentId")
        self._state.logs.register(log_id, compartment_id)
        return json_response(200, {"logId": log_id, "compartmentId": compartment_id})

    def _enable_diagnostic_log(self, request: ApiRequest, now: float, _a: list[str]) -> ApiResponse:
        payload = _object(request)
        names = ("applicationId", "compartmentId", "logGroupId", "logId")
        application_id, compartment_id, log_group_id, log_id = _ocids(payload, *names)
        self._state.logs.enable_diagnostic(application_id, compartment_id, log_group_id, log_id, now)
        return json_response(200, {name: payload[name] for name in names})

    def _log_search_settings(self, request: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        max_results = _object(request).get("maxResults")
        if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
            raise ValueError(f"maxResults must be a positive integer, got {max_results!r}")
        self._state.logs.max_results = max_results
        return json_response(200, {"maxResults": max_results})

    def _get_tag_namespaces(self, _r: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        return json_response(200, {"tagNamespaces": self._state.tag_namespaces.declared})

    def _put_tag_namespaces(self, request: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        self._state.tag_namespaces.set(_object(request).get("tagNamespaces"))
        return json_response(200, {"tagNamespaces": self._state.tag_namespaces.declared})

    def _reset(self, _r: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        self._state.reset()
        return ApiResponse(204)

    def _stats(self, _r: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        state = self._state
        return json_response(200, state.counters.to_json(state.runs.count(), state.journal.count()))

    def _principals(self, _r: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        return json_response(200, self._principal_services().status())

    def _principal_setup(self, request: ApiRequest, _n: float, _a: list[str]) -> ApiResponse:
        return json_response(200, self._principal_services().setup(_object(request)))

    def _configure_principal_service(self, request: ApiRequest, _n: float, args: list[str]) -> ApiResponse:
        return json_response(200, self._principal_services().configure(args[0], _object(request)))

    def _principal_services(self) -> PrincipalServicesControl:
        if self._state.principals is None:
            raise ApiError(
                404, "NotFound", "no credential services run beside this emulator (start it with --principals)"
            )
        return self._state.principals


def _compartments_json(allowed: frozenset[str] | None) -> dict[str, Any]:
    return {"compartmentIds": sorted(allowed) if allowed is not None else None}


def _ocids(payload: dict[str, Any], *names: str) -> list[str]:
    """The payload's values for ``names``, each checked to be an OCID."""
    for name in names:
        ocid(name, payload.get(name))
    return [payload[name] for name in names]


def _object(request: ApiRequest) -> dict[str, Any]:
    payload = request.json_body()
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise ValueError("the request body must be a JSON object")
    return payload

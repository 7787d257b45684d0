"""The emulator's HTTP server: feeds requests to the API handlers (``keep_alive`` is the plumbing).

For the API calls (Data Flow under ``/20200129``, Logging Search under ``/20190909``) it also applies
injected faults and writes the request journal.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from collections.abc import Callable

from airflow_provider_dataflow.testing.emulator.control_api import CONTROL_PATH, ControlApi
from airflow_provider_dataflow.testing.emulator.errors import ApiError, no_such_operation
from airflow_provider_dataflow.testing.emulator.faults import FaultRule
from airflow_provider_dataflow.testing.emulator.keep_alive import KeepAliveHandler, KeepAliveServer
from airflow_provider_dataflow.testing.emulator.log_search import LOG_SEARCH_PATH, LogSearchService
from airflow_provider_dataflow.testing.emulator.messages import ApiRequest, ApiResponse, error_response
from airflow_provider_dataflow.testing.emulator.service import BASE_PATH, DataFlowService
from airflow_provider_dataflow.testing.emulator.signatures import principal_for_key_id
from airflow_provider_dataflow.testing.emulator.state import EmulatorState
from airflow_provider_dataflow.testing.emulator.timestamps import rfc3339

log = logging.getLogger(__name__)

_KEY_ID = 'keyId="'


class EmulatorServer(KeepAliveServer):
    request_queue_size = 1024  # the default backlog of 5 refuses bursts of concurrent SDK clients

    def __init__(self, address: tuple[str, int], state: EmulatorState) -> None:
        super().__init__(address, _Handler)
        self.state = state
        self.service = DataFlowService(state)
        self.apis: dict[str, DataFlowService | LogSearchService] = {
            BASE_PATH: self.service,
            LOG_SEARCH_PATH: LogSearchService(state),
        }
        self.control = ControlApi(state)

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.close_connections()


class _Handler(KeepAliveHandler):
    server_version = "DataFlowEmulator"
    server: EmulatorServer

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def service_time(self) -> float:
        return time.time() + self.server.state.settings.clock_offset_seconds

    def _handle(self) -> None:
        request = self.read_request()
        if request.path.startswith(CONTROL_PATH + "/"):
            self.server.state.counters.count_control()
            self.send(request, self._dispatch(lambda: self.server.control.handle(request, time.time())))
        elif (api := self.server.apis.get("/" + request.path.split("/", 2)[1])) is not None:
            self.server.state.counters.count_api()
            self._handle_api(request, api)
        else:
            self.send(request, error_response(no_such_operation(request.method, request.path)))

    def _handle_api(self, request: ApiRequest, api: DataFlowService | LogSearchService) -> None:
        started = time.time()
        fault = self.server.state.faults.take(request.method, request.path)
        if fault is not None and fault.action == "drop_before":
            self._journal(request, started, None, fault)
            self._drop()
            return
        if fault is not None and fault.action == "respond":
            response = error_response(fault.error())
        else:
            response = self._dispatch(lambda: api.handle(request, started))
        self._journal(request, started, response.status, fault)
        if fault is not None and fault.action == "drop_after":
            self._drop()
            return
        truncate = fault is not None and fault.action == "truncate_body"
        self.send(request, response, body_bytes=len(response.body) // 2 if truncate else None)
        if truncate:
            self._drop()

    def _dispatch(self, call: Callable[[], ApiResponse]) -> ApiResponse:
        try:
            return call()
        except ApiError as error:
            return error_response(error)
        except Exception:
            log.exception("emulator failed to handle a request")
            return error_response(ApiError(500, "InternalServerError", "The emulator failed; see its log."))

    def _drop(self) -> None:
        """Close without a response: the client sees the connection reset, not an HTTP error."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _journal(self, request: ApiRequest, started: float, status: int | None, fault: FaultRule | None) -> None:
        if not self.server.state.journal.enabled:
            return
        try:
            body = json.loads(request.body) if request.body else None
        except ValueError:
            body = request.body.decode(errors="replace")
        key_id = _key_id(request.headers.get("authorization"))
        self.server.state.journal.record(
            {
                "time": rfc3339(started),
                "method": request.method,
                "path": request.path,
                "query": {name: values[-1] for name, values in request.query.items()},
                "status": status,
                "key_id": key_id,
                "principal_id": principal_for_key_id(key_id).principal_id if key_id else None,
                "opc_retry_token": request.headers.get("opc-retry-token"),
                "opc_request_id": request.headers.get("opc-request-id"),
                "opc_parent_rpt_url": request.headers.get("opc-parent-rpt-url"),
                "body": body,
                "fault": fault.action if fault else None,
                "duration_ms": round((time.time() - started) * 1000, 3),
            }
        )


def _key_id(authorization: str | None) -> str | None:
    """The claimed key id, recorded even when the signature is rejected."""
    if not authorization or _KEY_ID not in authorization:
        return None
    return authorization.split(_KEY_ID, 1)[1].split('"', 1)[0]

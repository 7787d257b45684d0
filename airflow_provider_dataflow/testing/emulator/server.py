"""HTTP plumbing: a keep-alive (HTTP/1.1) threading server that feeds requests to the API handlers.

For ``/20200129`` calls it also applies injected faults and writes the request journal. Responses leave
in one write on a TCP_NODELAY socket: with Nagle on, a body written after its headers waits for the
client's delayed ACK, which put a ~40 ms floor under every call.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_dataflow.testing.emulator.control_api import CONTROL_PATH, ControlApi
from airflow_provider_dataflow.testing.emulator.errors import ApiError
from airflow_provider_dataflow.testing.emulator.faults import FaultRule
from airflow_provider_dataflow.testing.emulator.identifiers import new_request_id
from airflow_provider_dataflow.testing.emulator.messages import ApiRequest, ApiResponse, error_response
from airflow_provider_dataflow.testing.emulator.service import BASE_PATH, DataFlowService
from airflow_provider_dataflow.testing.emulator.signatures import principal_for_key_id
from airflow_provider_dataflow.testing.emulator.state import EmulatorState
from airflow_provider_dataflow.testing.emulator.timestamps import rfc3339

log = logging.getLogger(__name__)

_KEY_ID = 'keyId="'


class EmulatorServer(ThreadingHTTPServer):
    """Tracks open connections so ``close`` also ends idle keep-alive connections."""

    daemon_threads = True
    request_queue_size = 1024  # the default backlog of 5 refuses bursts of concurrent SDK clients

    def __init__(self, address: tuple[str, int], state: EmulatorState) -> None:
        super().__init__(address, _Handler)
        self.state = state
        self.service = DataFlowService(state)
        self.control = ControlApi(state)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def open_connections(self) -> list[socket.socket]:
        """The accepted sockets still open (keep-alive ones included)."""
        with self._connections_lock:
            return list(self._connections)

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        for connection in self.open_connections():
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "DataFlowEmulator"
    timeout = 120
    disable_nagle_algorithm = True
    server: EmulatorServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, open_=True)

    def finish(self) -> None:
        self.server.track(self.connection, open_=False)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def _handle(self) -> None:
        request = self._read_request()
        if request.path.startswith(CONTROL_PATH + "/"):
            self.server.state.counters.count_control()
            self._send(request, self._dispatch(lambda: self.server.control.handle(request, time.time())))
        elif request.path == BASE_PATH or request.path.startswith(BASE_PATH + "/"):
            self.server.state.counters.count_api()
            self._handle_api(request)
        else:
            self._send(request, error_response(ApiError(404, "NotAuthorizedOrNotFound", f"No route {request.path}")))

    def _handle_api(self, request: ApiRequest) -> None:
        started = time.time()
        fault = self.server.state.faults.take(request.method, request.path)
        if fault is not None and fault.action == "drop_before":
            self._journal(request, started, None, fault)
            self._drop()
            return
        if fault is not None and fault.action == "respond":
            response = error_response(fault.error())
        else:
            response = self._dispatch(lambda: self.server.service.handle(request, started))
        self._journal(request, started, response.status, fault)
        if fault is not None and fault.action == "drop_after":
            self._drop()
            return
        truncate = fault is not None and fault.action == "truncate_body"
        self._send(request, response, body_bytes=len(response.body) // 2 if truncate else None)
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

    def _read_request(self) -> ApiRequest:
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            length = 0  # unreadable body: the signature check then fails on x-content-sha256
        body = self.rfile.read(length) if length > 0 else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        parts = urlsplit(self.path)
        return ApiRequest(
            method=self.command,
            target=self.path,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=headers,
            body=body,
            request_id=headers.get("opc-request-id") or new_request_id(),
        )

    def _send(self, request: ApiRequest, response: ApiResponse, body_bytes: int | None = None) -> None:
        """Status line, headers and body in a single write (see the module docstring); ``body_bytes``
        sends only the start of the body, under the whole body's content-length."""
        self.log_request(response.status)
        reason = self.responses[response.status][0] if response.status in self.responses else ""
        headers = [
            ("Server", self.version_string()),
            ("Date", self.date_time_string()),
            ("opc-request-id", request.request_id),
        ]
        if response.content_type:
            headers.append(("content-type", response.content_type))
        headers.extend(response.headers.items())
        headers.append(("content-length", str(len(response.body))))
        head = f"{self.protocol_version} {response.status} {reason}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
        body = b"" if self.command == "HEAD" else response.body[:body_bytes]
        self.wfile.write(head.encode("latin-1") + body)

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
                "opc_request_id": request.request_id,
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

"""A small keep-alive HTTP(S) server for the credential services, apart from the Data Flow server.

Token traffic then never queues behind Data Flow calls (and the Data Flow request path gains no
routes). Each route belongs to one service, so requests, refusals and rejections are counted per
service; ``use_tls`` makes it the HTTPS server the OKE proxy must be.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_dataflow.testing.emulator.errors import DEFAULT_CODES, ApiError
from airflow_provider_dataflow.testing.emulator.identifiers import new_request_id
from airflow_provider_dataflow.testing.emulator.messages import ApiRequest, ApiResponse, error_response
from airflow_provider_dataflow.testing.principals.ledger import PrincipalService, ServiceLedger

log = logging.getLogger(__name__)

Handler = Callable[[ApiRequest, float], ApiResponse]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    service: PrincipalService
    handler: Handler


class PrincipalServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], routes: Sequence[Route], ledger: ServiceLedger) -> None:
        super().__init__(address, _Handler)
        self.routes = list(routes)
        self.ledger = ledger
        self.scheme = "http"
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}"

    def use_tls(self, context: ssl.SSLContext) -> None:
        """Serve HTTPS; called before ``start`` (the certificate can name the address only once it is bound)."""
        # The handshake then happens in the connection's own thread, not in the accept loop.
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.scheme = "https"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name=f"principals-{self.url}", daemon=True
        )
        self._thread.start()

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close(self) -> None:
        """Stop serving and end idle keep-alive connections, so clients see the service gone."""
        if self._thread is not None:
            self.shutdown()  # waits for serve_forever, so only once it runs
        self.server_close()
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def dispatch(self, request: ApiRequest) -> ApiResponse:
        for route in self.routes:
            if route.method == request.method and route.pattern.fullmatch(request.path):
                return self._serve(route, request)
        return error_response(ApiError(404, "NotAuthorizedOrNotFound", f"No route {request.method} {request.path}"))

    def _serve(self, route: Route, request: ApiRequest) -> ApiResponse:
        self.ledger.count_request(route.service)
        refusal = self.ledger.refusal(route.service)
        try:
            if refusal is not None:
                code = DEFAULT_CODES.get(refusal, "ServiceError")
                raise ApiError(refusal, code, f"{route.service.value} refuses requests (set by a test)")
            return route.handler(request, time.time())
        except ApiError as error:
            self.ledger.count_rejected(route.service)
            return error_response(error)
        except Exception:
            log.exception("credential service %s failed", route.service.value)
            self.ledger.count_rejected(route.service)
            return error_response(ApiError(500, "InternalServerError", "The credential service failed; see its log."))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "DataFlowEmulatorPrincipals"
    timeout = 120
    disable_nagle_algorithm = True
    server: PrincipalServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, open_=True)

    def finish(self) -> None:
        self.server.track(self.connection, open_=False)
        super().finish()

    def handle(self) -> None:
        with contextlib.suppress(ssl.SSLError, ConnectionError):  # a client that rejects our TLS certificate
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        request = self._read_request()
        response = self.server.dispatch(request)
        self.log_request(response.status)
        reason = self.responses[response.status][0] if response.status in self.responses else ""
        headers = [("Date", self.date_time_string()), ("opc-request-id", request.request_id)]
        if response.content_type:
            headers.append(("content-type", response.content_type))
        headers.extend(response.headers.items())
        headers.append(("content-length", str(len(response.body))))
        head = f"{self.protocol_version} {response.status} {reason}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
        self.wfile.write(head.encode("latin-1") + response.body)  # one write: see emulator/server.py

    do_POST = do_PUT = do_DELETE = do_GET

    def _read_request(self) -> ApiRequest:
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            length = 0
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

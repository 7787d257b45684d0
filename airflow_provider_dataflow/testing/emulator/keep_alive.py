"""A keep-alive (HTTP/1.1) threading server and handler, shared by the emulator and its credential services.

Responses leave in one write on a TCP_NODELAY socket: with Nagle on, a body written after its headers
waits for the client's delayed ACK, which put a ~40 ms floor under every call. The server tracks its
open connections, so closing it also ends idle keep-alive ones and clients see the service gone.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_dataflow.testing.emulator.identifiers import new_request_id
from airflow_provider_dataflow.testing.emulator.messages import ApiRequest, ApiResponse

log = logging.getLogger(__name__)


class KeepAliveServer(ThreadingHTTPServer):
    """Tracks open connections so ``close_connections`` also ends idle keep-alive ones."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[KeepAliveHandler]) -> None:
        super().__init__(address, handler)
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

    def close_connections(self) -> None:
        for connection in self.open_connections():
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class KeepAliveHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120
    disable_nagle_algorithm = True
    server: KeepAliveServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, open_=True)

    def finish(self) -> None:
        self.server.track(self.connection, open_=False)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def service_time(self) -> float:
        """Now on this server's clock, for the ``Date`` header (the emulator's may be set off)."""
        return time.time()

    def read_request(self) -> ApiRequest:
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            length = 0  # unreadable body: a signature check then fails on x-content-sha256
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
            request_id=new_request_id(headers.get("opc-request-id")),
        )

    def send(self, request: ApiRequest, response: ApiResponse, body_bytes: int | None = None) -> None:
        """Status line, headers and body in a single write; ``body_bytes`` sends only the start of the
        body, under the whole body's content-length (a download that breaks midway)."""
        self.log_request(response.status)
        reason = self.responses[response.status][0] if response.status in self.responses else ""
        headers = [
            ("Server", self.version_string()),
            ("Date", self.date_time_string(self.service_time())),
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

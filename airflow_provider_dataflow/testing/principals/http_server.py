"""A small keep-alive HTTP(S) server for the credential services, apart from the Data Flow server.

Token traffic then never queues behind Data Flow calls (and the Data Flow request path gains no
routes). Each route belongs to one service, so requests, refusals and rejections are counted per
service; ``use_tls`` makes it the HTTPS server the OKE proxy must be.
"""

from __future__ import annotations

import contextlib
import logging
import re
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from airflow_provider_dataflow.testing.emulator.errors import DEFAULT_CODES, ApiError
from airflow_provider_dataflow.testing.emulator.keep_alive import KeepAliveHandler, KeepAliveServer
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


class PrincipalServer(KeepAliveServer):
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], routes: Sequence[Route], ledger: ServiceLedger) -> None:
        super().__init__(address, _Handler)
        self.routes = list(routes)
        self.ledger = ledger
        self.scheme = "http"
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

    def close(self) -> None:
        """Stop serving and end idle keep-alive connections, so clients see the service gone."""
        if self._thread is not None:
            self.shutdown()  # waits for serve_forever, so only once it runs
        self.server_close()
        self.close_connections()
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


class _Handler(KeepAliveHandler):
    server_version = "DataFlowEmulatorPrincipals"
    server: PrincipalServer

    def handle(self) -> None:
        with contextlib.suppress(ssl.SSLError, ConnectionError):  # a client that rejects our TLS certificate
            super().handle()

    def do_GET(self) -> None:
        request = self.read_request()
        self.send(request, self.server.dispatch(request))

    do_POST = do_PUT = do_DELETE = do_GET

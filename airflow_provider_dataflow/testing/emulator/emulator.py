"""Run the emulator inside the test process, its server on a daemon thread."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING

from airflow_provider_dataflow.testing.emulator.compartments import CompartmentScope
from airflow_provider_dataflow.testing.emulator.control import EmulatorControl
from airflow_provider_dataflow.testing.emulator.journal import DEFAULT_LIMIT, Journal
from airflow_provider_dataflow.testing.emulator.limits import TenancyLimits
from airflow_provider_dataflow.testing.emulator.pool_settings import PoolSettings
from airflow_provider_dataflow.testing.emulator.server import EmulatorServer
from airflow_provider_dataflow.testing.emulator.settings import EmulatorSettings
from airflow_provider_dataflow.testing.emulator.state import EmulatorState
from airflow_provider_dataflow.testing.emulator.tag_namespaces import TagNamespaces

if TYPE_CHECKING:
    from airflow_provider_dataflow.testing.credentials import TestCredentials


class DataflowEmulator:
    """A local OCI Data Flow service; use as a context manager or call ``start()`` / ``stop()``.

    It shares the test's process (and GIL): its ``stats()`` CPU figure includes the test's own work.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        accepted_seconds: float = 1.0,
        run_seconds: float = 3.0,
        cancel_seconds: float = 0.5,
        minute_seconds: float = 60.0,
        region: str = "us-ashburn-1",
        journal_limit: int = DEFAULT_LIMIT,
        compartments: Iterable[str] | None = None,
        tag_namespaces: Mapping[str, Iterable[str]] | None = None,
        pool_start_seconds: float = 2.0,
        pool_stop_seconds: float = 0.5,
        ocpu_limit: float | None = None,
    ) -> None:
        """``compartments``: the only compartments creates and lists may name (others: 404); None allows all.
        ``tag_namespaces``: the tenancy's defined tags, namespace -> keys (others: 400); None allows all.
        ``pool_start_seconds``: a pool's cold start; ``pool_stop_seconds``: its stop, create or delete.
        ``ocpu_limit``: the OCPUs the tenancy's runs outside pools may hold at once (None: no limit)."""
        self._address = (host, port)
        settings = EmulatorSettings(accepted_seconds, run_seconds, cancel_seconds, minute_seconds)
        self.state = EmulatorState(
            settings=settings,
            region=region,
            journal=Journal(journal_limit),
            compartments=CompartmentScope(compartments),
            tag_namespaces=TagNamespaces(tag_namespaces),
            pool_settings=PoolSettings(pool_start_seconds, pool_stop_seconds),
            limits=TenancyLimits(ocpu_limit),
        )
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The SDK's ``service_endpoint`` (the SDK appends ``/20200129``)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def control(self) -> EmulatorControl:
        return EmulatorControl(self.url)

    def start(self) -> DataflowEmulator:
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        self._server = EmulatorServer(self._address, self.state)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="dataflow-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def register_credentials(self, credentials: TestCredentials) -> None:
        """Trust the credentials' public key; runs they create are owned by their user."""
        self.state.keys.register(credentials.key_id, credentials.public_key_pem)

    def __enter__(self) -> DataflowEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

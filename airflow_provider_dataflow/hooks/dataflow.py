"""DataflowHook: OCI authentication and every Data Flow API call this provider makes.

Two call paths, one contract (see ``operations``): ``call`` performs an operation from a worker,
blocking; ``acall`` performs it from the triggerer's event loop, within the endpoint's request budget
and on the thread pool of its kind. Both make one attempt unless asked for the SDK's retries, and
classify failures the same way (``service_errors``). ``oci`` is imported inside methods only, so DAG
files that import the operator parse fast.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, TypeVar

from airflow_provider_dataflow.compat import BaseHook, amask_secret, aread_connection, mask_secret
from airflow_provider_dataflow.exceptions import DataflowServiceError
from airflow_provider_dataflow.hooks import operations
from airflow_provider_dataflow.hooks.auth import ConnectionSettings, build_config_and_signer, refused_hint
from airflow_provider_dataflow.hooks.client_pool import ClientPool
from airflow_provider_dataflow.hooks.operations import APPLICATION_LOGS, Operation, run_attributes
from airflow_provider_dataflow.hooks.rate_limit import limiter_for
from airflow_provider_dataflow.hooks.service_errors import classify_failure
from airflow_provider_dataflow.hooks.settings_cache import AsyncTtlCache

__all__ = ["APPLICATION_LOGS", "DataflowHook"]

T = TypeVar("T")


def new_client(settings: ConnectionSettings, credentials: tuple[dict[str, Any], Any]) -> Any:
    """A ``DataFlowClient`` without the SDK's process-wide circuit breaker.

    The default breaker opens after 10 consecutive 429/5xx answers *across all clients in the
    process*; in a triggerer watching many runs that would fail unrelated tasks. Our wait loops
    back off on their own instead.
    """
    import oci

    config, signer = credentials
    kwargs: dict[str, Any] = {
        "signer": signer,
        "timeout": (10.0, 60.0),
        "circuit_breaker_strategy": oci.circuit_breaker.NoCircuitBreakerStrategy(),
    }
    if settings.service_endpoint:
        kwargs["service_endpoint"] = settings.service_endpoint
    return oci.data_flow.DataFlowClient(config, **kwargs)


_async_settings: AsyncTtlCache[tuple[str, str | None], ConnectionSettings] = AsyncTtlCache()
_pool: ClientPool[ConnectionSettings] | None = None
_pool_lock = threading.Lock()


def client_pool() -> ClientPool[ConnectionSettings]:
    """The process-wide pool (created on first use, so importing the hook costs nothing)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ClientPool(make_credentials=build_config_and_signer, make_client=new_client)
        return _pool


def _retry_strategy(sdk_retries: bool) -> Any:
    import oci

    return oci.retry.DEFAULT_RETRY_STRATEGY if sdk_retries else oci.retry.NoneRetryStrategy()


class DataflowHook(BaseHook):
    """Talks to OCI Data Flow through an ``oci_dataflow`` connection.

    The public methods (``get_run``, ``create_run``, ...) serve DAG authors' own code and use the SDK's
    retries; the provider's operators and triggers perform :mod:`operations` through ``call`` and
    ``acall`` with retries of their own.

    :param oci_conn_id: Airflow connection of type ``oci_dataflow``.
    :param region: Overrides the connection's region.
    :param opc_parent_rpt_url: Parent resource principal token endpoint (resource principals 3.0).
    """

    conn_name_attr = "oci_conn_id"
    default_conn_name = "oci_dataflow_default"
    conn_type = "oci_dataflow"
    hook_name = "OCI Data Flow"

    def __init__(
        self,
        oci_conn_id: str = default_conn_name,
        region: str | None = None,
        opc_parent_rpt_url: str | None = None,
    ) -> None:
        super().__init__()
        self.oci_conn_id = oci_conn_id
        self.region = region
        self.opc_parent_rpt_url = opc_parent_rpt_url
        self._settings: ConnectionSettings | None = None

    # -- connection ----------------------------------------------------------------------------

    @property
    def settings(self) -> ConnectionSettings:
        if self._settings is None:
            settings = ConnectionSettings.from_connection(self.get_connection(self.oci_conn_id), region=self.region)
            for secret in settings.secrets():
                mask_secret(secret)
            self._settings = settings
        return self._settings

    async def asettings(self) -> ConnectionSettings:
        """The connection's settings, looked up once per process and connection for all triggers."""
        if self._settings is None:
            key = (self.oci_conn_id, self.region)
            self._settings = await _async_settings.get(key, self._aload_settings)
        return self._settings

    async def _aload_settings(self) -> ConnectionSettings:
        """Airflow's async lookup, and the extra read without a blocking call to the supervisor on the
        event loop (``DeadlockImminentError`` before Airflow 3.3.2)."""
        conn, extra = await aread_connection(self.oci_conn_id)
        settings = ConnectionSettings.from_connection(conn, extra, self.region)
        for secret in settings.secrets():
            await amask_secret(secret)
        return settings

    @property
    def client(self) -> Any:
        """The calling thread's client (credentials shared process-wide)."""
        return client_pool().client(self.settings)

    def get_conn(self) -> Any:
        """The synchronous ``oci.data_flow.DataFlowClient``."""
        return self.client

    # -- the two call paths ----------------------------------------------------------------------

    def call(self, operation: Operation[T], *, sdk_retries: bool = False) -> T:
        """Perform ``operation`` from a worker (blocking); failures raise ``DataflowServiceError``."""
        try:
            return operation.run(self.client, _retry_strategy(sdk_retries))
        except DataflowServiceError:
            raise
        except Exception as exc:
            raise classify_failure(exc, doing=operation.doing, auth_hint=self._refused_hint()) from exc

    async def acall(self, operation: Operation[T]) -> T:
        """Perform ``operation`` from the event loop: one attempt, in a place of its kind (as many as that
        kind's threads), then within the endpoint's shared request budget. A 429 lowers the budget for
        every caller in the process."""
        settings = await self.asettings()
        limiter = limiter_for(settings.service_endpoint or f"dataflow.{settings.region}")
        pool = client_pool()
        async with pool.slot(operation.kind):
            await limiter.acquire()
            try:
                return await pool.call(
                    settings, operation.kind, lambda client: operation.run(client, _retry_strategy(False))
                )
            except DataflowServiceError:
                raise
            except Exception as exc:
                error = classify_failure(exc, doing=operation.doing, auth_hint=refused_hint(settings))
                if error.status == 429:
                    limiter.throttled(error.retry_after)
                raise error from exc

    def _refused_hint(self) -> str | None:
        return refused_hint(self._settings) if self._settings is not None else None

    # -- for DAG authors' own code (the SDK's retries) -----------------------------------------

    def create_run(self, details: Mapping[str, Any], *, retry_token: str | None = None) -> dict[str, Any]:
        """Create a run; a lost response retried by the SDK returns the same run (``opc-retry-token``).

        :param details: ``CreateRunDetails`` fields in snake_case, nested values as plain dicts.
        """
        operation = operations.create_run(details, retry_token=retry_token, opc_parent_rpt_url=self.opc_parent_rpt_url)
        return self.call(operation, sdk_retries=True)

    def get_run(self, run_id: str) -> dict[str, Any]:
        return self.call(operations.get_run(run_id), sdk_retries=True)

    async def aget_run(self, run_id: str) -> dict[str, Any]:
        """Read a run from the event loop; one attempt (back off yourself on a transient error)."""
        return await self.acall(operations.get_run(run_id))

    def list_runs(self, compartment_id: str, **filters: Any) -> list[dict[str, Any]]:
        """All runs in a compartment matching the filters (every page, by the SDK's pagination)."""
        import oci

        def list_all(client: Any, retry: Any) -> list[dict[str, Any]]:
            response = oci.pagination.list_call_get_all_results(
                client.list_runs, compartment_id, retry_strategy=retry, **filters
            )
            return [run_attributes(summary) for summary in response.data]

        operation = Operation(operations.CallKind.READ, f"list runs in compartment {compartment_id}", list_all)
        return self.call(operation, sdk_retries=True)

    def update_run(
        self,
        run_id: str,
        *,
        defined_tags: Mapping[str, Mapping[str, Any]] | None = None,
        freeform_tags: Mapping[str, str] | None = None,
        max_duration_in_minutes: int | None = None,
        idle_timeout_in_minutes: int | None = None,
    ) -> dict[str, Any]:
        """Update the four fields the service allows to change on an existing run."""
        fields = {
            "defined_tags": defined_tags,
            "freeform_tags": freeform_tags,
            "max_duration_in_minutes": max_duration_in_minutes,
            "idle_timeout_in_minutes": idle_timeout_in_minutes,
        }
        changes = {key: value for key, value in fields.items() if value is not None}
        return self.call(operations.update_run(run_id, changes), sdk_retries=True)

    def cancel_run(self, run_id: str) -> bool:
        """Ask the service to cancel; False when the run had already ended (409 IncorrectState)."""
        return self.call(operations.cancel_run(run_id), sdk_retries=True)

    async def acancel_run(self, run_id: str) -> bool:
        """``cancel_run`` from the event loop; one attempt."""
        return await self.acall(operations.cancel_run(run_id))

    def get_application(self, application_id: str) -> dict[str, Any]:
        """Read an application (snake_case attributes), e.g. for the Spark properties its runs inherit."""
        return self.call(operations.get_application(application_id), sdk_retries=True)

    def list_run_logs(self, run_id: str) -> list[dict[str, Any]]:
        return self.call(operations.list_run_logs(run_id), sdk_retries=True)

    def get_run_log(self, run_id: str, name: str) -> bytes:
        """A whole log, decompressed (the service stores most logs gzipped)."""
        return self.call(operations.read_run_log(run_id, name), sdk_retries=True)

    def tail_run_log(self, run_id: str, name: str, lines: int) -> list[str]:
        """The last ``lines`` lines of a log, streamed so memory stays bounded for large logs."""
        return self.call(operations.tail_run_log(run_id, name, lines), sdk_retries=True)

    # -- connection test -----------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """List at most one run in the connection's compartment: cheap, and proves auth and IAM."""
        try:
            compartment = self.settings.compartment_id or self.settings.tenancy
            if not compartment:
                return False, "Set compartment_id in the connection's extra to test it."
            self.call(operations.list_runs_limited(compartment, 1), sdk_retries=True)
        except Exception as err:
            return False, str(err)
        return True, f"Connection works: listed runs in compartment {compartment}."

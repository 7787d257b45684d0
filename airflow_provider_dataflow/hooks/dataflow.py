"""DataflowHook: OCI authentication and every Data Flow API call this provider makes.

Two call paths, one contract (see ``operations``): ``call`` performs an operation from a worker,
blocking; ``acall`` performs it from the triggerer's event loop, within the endpoint's request budget
and on the thread pool of its kind. Both make one attempt unless asked for the SDK's retries, and
classify failures the same way (``service_errors``). ``oci`` is imported inside methods only, so DAG
files that import the operator parse fast.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, TypeVar

from airflow_provider_dataflow.compat import BaseHook, amask_secret, aread_connection, mask_secret
from airflow_provider_dataflow.exceptions import DataflowClockSkewError, DataflowServiceError
from airflow_provider_dataflow.hooks import operations
from airflow_provider_dataflow.hooks.auth import ConnectionSettings, build_config_and_signer, refused_hint
from airflow_provider_dataflow.hooks.client_pool import ClientPool
from airflow_provider_dataflow.hooks.operations import APPLICATION_LOGS, Operation, Service, run_attributes
from airflow_provider_dataflow.hooks.rate_limit import budget_for
from airflow_provider_dataflow.hooks.service_errors import classify_failure
from airflow_provider_dataflow.hooks.settings_cache import AsyncTtlCache

__all__ = ["APPLICATION_LOGS", "DataflowHook"]

T = TypeVar("T")
log = logging.getLogger(__name__)


def new_client(settings: ConnectionSettings, credentials: tuple[dict[str, Any], Any], service: Service) -> Any:
    """A ``DataFlowClient`` (or ``LogSearchClient``) without the SDK's process-wide circuit breaker.

    The default breaker opens after 10 consecutive 429/5xx answers *across all clients in the
    process*; in a triggerer watching many runs that would fail unrelated tasks. Our wait loops
    back off on their own instead. Timeouts are set per call, by its kind (``client_pool.TIMEOUTS``).
    """
    import oci

    config, signer = credentials
    kwargs: dict[str, Any] = {
        "signer": signer,
        "circuit_breaker_strategy": oci.circuit_breaker.NoCircuitBreakerStrategy(),
    }
    if service is Service.LOG_SEARCH:
        if endpoint := settings.log_search_endpoint or settings.service_endpoint:
            kwargs["service_endpoint"] = endpoint
        return oci.loggingsearch.LogSearchClient(config, **kwargs)
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


def _refused(error: DataflowServiceError) -> bool:
    """A 401 that a reloaded connection may cure (a rotated key, a renewed token); not a skewed clock."""
    return error.status == 401 and not isinstance(error, DataflowClockSkewError)


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
            self._settings = await _async_settings.get(self._settings_key, self._aload_settings)
        return self._settings

    @property
    def _settings_key(self) -> tuple[str, str | None]:
        return (self.oci_conn_id, self.region)

    async def _aload_settings(self) -> ConnectionSettings:
        """Airflow's async lookup, and the extra read without a blocking call to the supervisor on the
        event loop (``DeadlockImminentError`` before Airflow 3.3.2)."""
        conn, extra = await aread_connection(self.oci_conn_id)
        settings = ConnectionSettings.from_connection(conn, extra, self.region)
        for secret in settings.secrets():
            await amask_secret(secret)
        return settings

    def _reload(self, refused: ConnectionSettings) -> None:
        """After a 401: read the connection again (a rotated key) and build its credentials anew."""
        self._settings = None
        client_pool().forget(refused)
        log.info("OCI refused connection %r's credentials (401); reloading the connection once", self.oci_conn_id)

    async def _areload(self, refused: ConnectionSettings) -> None:
        """``_reload`` for the event loop: the triggers refused together share one lookup."""
        self._settings = await _async_settings.replace(self._settings_key, refused, self._aload_settings)
        if self._settings is not refused:
            client_pool().forget(refused)

    @property
    def client(self) -> Any:
        """The calling thread's client (credentials shared process-wide)."""
        return client_pool().client(self.settings)

    def get_conn(self) -> Any:
        """The synchronous ``oci.data_flow.DataFlowClient``."""
        return self.client

    # -- the two call paths ----------------------------------------------------------------------

    def call(self, operation: Operation[T], *, sdk_retries: bool = False) -> T:
        """Perform ``operation`` from a worker (blocking); failures raise ``DataflowServiceError``.

        A 401 reloads the connection and tries once more before it counts: a key rotated while the task
        waited is picked up instead of failing the task and leaving its run behind.
        """
        try:
            return self._perform(operation, sdk_retries)
        except DataflowServiceError as error:
            if not _refused(error):
                raise
            self._reload(self.settings)
        return self._perform(operation, sdk_retries)

    def _perform(self, operation: Operation[T], sdk_retries: bool) -> T:
        settings = self.settings
        try:
            return client_pool().perform(
                settings,
                operation.kind,
                lambda client: operation.run(client, _retry_strategy(sdk_retries)),
                operation.service,
            )
        except DataflowServiceError:
            raise
        except Exception as exc:
            raise classify_failure(exc, doing=operation.doing, auth_hint=refused_hint(settings)) from exc

    async def acall(self, operation: Operation[T]) -> T:
        """Perform ``operation`` from the event loop: one attempt, in a place of its kind (as many as that
        kind's threads), within the endpoint's request budget. A 429 slows down that kind of call for
        every caller in the process; a 401 reloads the connection once, as ``call`` does."""
        settings = await self.asettings()
        try:
            return await self._aperform(operation, settings)
        except DataflowServiceError as error:
            if not _refused(error):
                raise
            await self._areload(settings)
        return await self._aperform(operation, await self.asettings())

    async def _aperform(self, operation: Operation[T], settings: ConnectionSettings) -> T:
        endpoint = settings.service_endpoint or f"{operation.service.value}.{settings.region}"
        if operation.service is Service.LOG_SEARCH:
            endpoint = settings.log_search_endpoint or endpoint
        budget = budget_for(endpoint)
        try:
            return await client_pool().call(
                settings,
                operation.kind,
                lambda client: operation.run(client, _retry_strategy(False)),
                admitted=lambda: budget.acquire(operation.kind),
                service=operation.service,
            )
        except DataflowServiceError:
            raise
        except Exception as exc:
            error = classify_failure(exc, doing=operation.doing, auth_hint=refused_hint(settings))
            if error.status == 429:
                budget.throttled(operation.kind, error.retry_after)
            raise error from exc

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
        """Ask the service to cancel (one attempt); False when the run had already ended."""
        return self.call(operations.cancel_run(run_id))

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

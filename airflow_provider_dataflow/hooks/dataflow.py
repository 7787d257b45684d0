"""DataflowHook: OCI authentication and every Data Flow API call this provider makes.

``oci`` is imported inside methods only, so DAG files that import the operator parse fast.
Synchronous methods serve workers; ``a``-prefixed methods serve the triggerer and never block
its event loop (see ``client_pool``).
"""

from __future__ import annotations

import threading
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from airflow_provider_dataflow.compat import BaseHook, amask_secret, aread_connection, mask_secret
from airflow_provider_dataflow.exceptions import DataflowServiceError
from airflow_provider_dataflow.hooks.auth import ConnectionSettings, build_config_and_signer
from airflow_provider_dataflow.hooks.client_pool import ClientPool
from airflow_provider_dataflow.hooks.rate_limit import limiter_for
from airflow_provider_dataflow.hooks.run_attributes import run_attributes
from airflow_provider_dataflow.hooks.service_errors import classify_failure
from airflow_provider_dataflow.hooks.settings_cache import AsyncTtlCache

T = TypeVar("T")

APPLICATION_LOGS = ("spark_application_stderr.log.gz", "spark_application_stdout.log.gz")


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


class DataflowHook(BaseHook):
    """Talks to OCI Data Flow through an ``oci_dataflow`` connection.

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
            conn = self.get_connection(self.oci_conn_id)
            self._remember(ConnectionSettings.from_connection(conn, self.region))
        assert self._settings is not None
        return self._settings

    async def asettings(self) -> ConnectionSettings:
        """The connection's settings, fetched once per process and connection for all triggers."""
        if self._settings is None:
            key = (self.oci_conn_id, self.region)
            self._settings = await _async_settings.get(key, self._aload_settings)
        return self._settings

    async def _aload_settings(self) -> ConnectionSettings:
        settings = await aread_connection(
            self.oci_conn_id, lambda conn: ConnectionSettings.from_connection(conn, self.region)
        )
        # The async variant: a blocking send to the supervisor from the event loop can deadlock.
        for secret in settings.secrets():
            await amask_secret(secret)
        return settings

    def _remember(self, settings: ConnectionSettings) -> None:
        for secret in settings.secrets():
            mask_secret(secret)
        self._settings = settings

    @property
    def client(self) -> Any:
        """The calling thread's client (credentials shared process-wide)."""
        return client_pool().client(self.settings)

    def get_conn(self) -> Any:
        """The synchronous ``oci.data_flow.DataFlowClient``."""
        return self.client

    def _call(self, doing: str, fn: Callable[[Any], T]) -> T:
        try:
            return fn(self.client)
        except DataflowServiceError:
            raise
        except Exception as exc:
            raise classify_failure(exc, doing=doing).to_exception() from exc

    async def _acall(self, doing: str, fn: Callable[[Any], T]) -> T:
        """Run ``fn(client)`` in the SDK pool, within the endpoint's shared request budget."""
        settings = await self.asettings()
        limiter = limiter_for(settings.service_endpoint or f"dataflow.{settings.region}")
        await limiter.acquire()
        try:
            return await client_pool().call(settings, fn)
        except DataflowServiceError:
            raise
        except Exception as exc:
            failure = classify_failure(exc, doing=doing)
            if failure.status == 429:
                limiter.throttled(failure.retry_after)
            raise failure.to_exception() from exc

    async def arun_blocking(self, fn: Callable[[], T]) -> T:
        """Run synchronous hook code (e.g. run recovery) in the SDK pool, with settings loaded first."""
        settings = await self.asettings()
        return await client_pool().call(settings, lambda _client: fn())

    # -- runs ----------------------------------------------------------------------------------

    def create_run(self, details: Mapping[str, Any], *, retry_token: str | None = None) -> dict[str, Any]:
        """Create a run; the SDK retries a lost response with the same ``opc-retry-token``.

        :param details: ``CreateRunDetails`` fields in snake_case, nested values as plain dicts.
        """
        return self._call("create a Data Flow run", lambda c: self._create(c, details, retry_token))

    async def acreate_run(self, details: Mapping[str, Any], *, retry_token: str) -> dict[str, Any]:
        """``create_run`` from the event loop (start_from_trigger); same retry-token guarantee."""
        return await self._acall("create a Data Flow run", lambda c: self._create(c, details, retry_token))

    def _create(self, client: Any, details: Mapping[str, Any], retry_token: str | None) -> dict[str, Any]:
        import oci

        kwargs: dict[str, Any] = {"retry_strategy": oci.retry.DEFAULT_RETRY_STRATEGY}
        if retry_token:
            kwargs["opc_retry_token"] = retry_token
        if self.opc_parent_rpt_url:
            kwargs["opc_parent_rpt_url"] = self.opc_parent_rpt_url
        response = client.create_run(_create_run_details(details), **kwargs)
        return run_attributes(response.data, response.headers.get("opc-request-id"))

    def get_run(self, run_id: str, *, sdk_retries: bool = True) -> dict[str, Any]:
        """Read a run. Wait loops pass ``sdk_retries=False`` and back off themselves."""
        kwargs = _retry_kwargs(sdk_retries)
        response = self._call(f"get run {run_id}", lambda c: c.get_run(run_id, **kwargs))
        return run_attributes(response.data, response.headers.get("opc-request-id"))

    async def aget_run(self, run_id: str) -> dict[str, Any]:
        """Read a run without blocking the event loop; one attempt (the trigger backs off itself).

        Everything touching the SDK, even ``import oci`` (0.3 s the first time), runs in the pool.
        """

        def get(client: Any) -> dict[str, Any]:
            response = client.get_run(run_id, **_retry_kwargs(False))
            return run_attributes(response.data, response.headers.get("opc-request-id"))

        return await self._acall(f"get run {run_id}", get)

    def list_runs(self, compartment_id: str, **filters: Any) -> list[dict[str, Any]]:
        """All runs in a compartment matching the filters (every page)."""
        import oci

        response = self._call(
            f"list runs in compartment {compartment_id}",
            lambda c: oci.pagination.list_call_get_all_results(
                c.list_runs, compartment_id, retry_strategy=oci.retry.DEFAULT_RETRY_STRATEGY, **filters
            ),
        )
        return [run_attributes(summary) for summary in response.data]

    async def alist_runs_page(
        self, compartment_id: str, lifecycle_state: str, page: str | None
    ) -> tuple[dict[str, Any], str | None]:
        """One page (up to 1000, newest first) of the compartment's runs in a state: ``({id: RunSummary}, next_page)``.

        One attempt per page: the shared run watcher backs off for its whole group itself.
        """

        def list_page(client: Any) -> tuple[dict[str, Any], str | None]:
            kwargs: dict[str, Any] = {
                "lifecycle_state": lifecycle_state,
                "limit": 1000,
                "sort_by": "timeCreated",
                "sort_order": "DESC",
                **_retry_kwargs(False),
            }
            if page:
                kwargs["page"] = page
            response = client.list_runs(compartment_id, **kwargs)
            return {summary.id: summary for summary in response.data}, response.next_page

        return await self._acall(f"list {lifecycle_state} runs in compartment {compartment_id}", list_page)

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
        import oci

        fields = {
            "defined_tags": defined_tags,
            "freeform_tags": freeform_tags,
            "max_duration_in_minutes": max_duration_in_minutes,
            "idle_timeout_in_minutes": idle_timeout_in_minutes,
        }
        body = oci.data_flow.models.UpdateRunDetails(**{k: v for k, v in fields.items() if v is not None})
        response = self._call(
            f"update run {run_id}",
            lambda c: c.update_run(run_id, body, retry_strategy=oci.retry.DEFAULT_RETRY_STRATEGY),
        )
        return run_attributes(response.data, response.headers.get("opc-request-id"))

    def cancel_run(self, run_id: str) -> bool:
        """Ask the service to cancel; False when the run had already ended (409 IncorrectState)."""
        import oci

        try:
            self._call(
                f"cancel run {run_id}",
                lambda c: c.delete_run(run_id, retry_strategy=oci.retry.DEFAULT_RETRY_STRATEGY),
            )
        except DataflowServiceError as err:
            if err.status == 409:
                return False
            raise
        return True

    async def acancel_run(self, run_id: str) -> bool:
        """Cancel without blocking the event loop; False when the run had already ended."""
        try:
            await self._acall(f"cancel run {run_id}", lambda c: c.delete_run(run_id))
        except DataflowServiceError as err:
            if err.status == 409:
                return False
            raise
        return True

    # -- applications --------------------------------------------------------------------------

    def get_application(self, application_id: str) -> dict[str, Any]:
        """Read an application (snake_case attributes), e.g. for the Spark properties its runs inherit."""
        import oci
        from oci.util import to_dict

        response = self._call(
            f"get application {application_id}",
            lambda c: c.get_application(application_id, retry_strategy=oci.retry.DEFAULT_RETRY_STRATEGY),
        )
        return to_dict(response.data)

    # -- logs ----------------------------------------------------------------------------------

    def list_run_logs(self, run_id: str) -> list[dict[str, Any]]:
        import oci
        from oci.util import to_dict

        response = self._call(
            f"list the logs of run {run_id}",
            lambda c: oci.pagination.list_call_get_all_results(
                c.list_run_logs, run_id, retry_strategy=oci.retry.DEFAULT_RETRY_STRATEGY
            ),
        )
        return [to_dict(summary) for summary in response.data]

    def get_run_log(self, run_id: str, name: str) -> bytes:
        """A whole log, decompressed (the service stores most logs gzipped)."""
        response = self._call(f"read log {name} of run {run_id}", lambda c: c.get_run_log(run_id, name))
        return b"".join(_decompressed(response.data.raw.stream(64 * 1024, decode_content=True)))

    def tail_run_log(self, run_id: str, name: str, lines: int) -> list[str]:
        """The last ``lines`` lines of a log, streamed so memory stays bounded for large logs."""
        response = self._call(f"read log {name} of run {run_id}", lambda c: c.get_run_log(run_id, name))
        chunks = _decompressed(response.data.raw.stream(64 * 1024, decode_content=True))
        return _last_lines(chunks, lines)

    # -- connection test -----------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """List at most one run in the connection's compartment: cheap, and proves auth and IAM."""
        try:
            compartment = self.settings.compartment_id or self.settings.tenancy
            if not compartment:
                return False, "Set compartment_id in the connection's extra to test it."
            self._call(
                f"list runs in compartment {compartment}",
                lambda c: c.list_runs(compartment, limit=1),
            )
        except Exception as err:
            return False, str(err)
        return True, f"Connection works: listed runs in compartment {compartment}."


def _retry_kwargs(sdk_retries: bool) -> dict[str, Any]:
    import oci

    strategy = oci.retry.DEFAULT_RETRY_STRATEGY if sdk_retries else oci.retry.NoneRetryStrategy()
    return {"retry_strategy": strategy}


def _create_run_details(details: Mapping[str, Any]) -> Any:
    from oci.data_flow import models

    kwargs = dict(details)
    if (log_config := kwargs.get("application_log_config")) is not None:
        kwargs["application_log_config"] = models.ApplicationLogConfig(**log_config)
    for key in ("driver_shape_config", "executor_shape_config"):
        if (shape := kwargs.get(key)) is not None:
            kwargs[key] = models.ShapeConfig(**shape)
    if (parameters := kwargs.get("parameters")) is not None:
        kwargs["parameters"] = [models.ApplicationParameter(**p) for p in parameters]
    return models.CreateRunDetails(**kwargs)


def _decompressed(chunks: Iterable[bytes]) -> Iterable[bytes]:
    """Gunzip a stream when it starts with the gzip magic number; pass it through otherwise."""
    decompressor: Any = None
    for chunk in chunks:
        if decompressor is None:
            is_gzip = chunk[:2] == b"\x1f\x8b"
            decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS) if is_gzip else False
        yield decompressor.decompress(chunk) if decompressor else chunk
    if decompressor:
        yield decompressor.flush()


def _last_lines(chunks: Iterable[bytes], count: int) -> list[str]:
    tail: deque[bytes] = deque(maxlen=count)
    partial_line = b""
    for chunk in chunks:
        lines = (partial_line + chunk).split(b"\n")
        partial_line = lines.pop()
        tail.extend(lines)
    if partial_line:
        tail.append(partial_line)
    return [line.decode("utf-8", errors="replace") for line in tail]

"""Every Data Flow call this provider makes, as a value: what kind of call it is, what it does, and the SDK call.

An :class:`Operation` is performed by ``DataflowHook.call`` (a worker: blocking) or ``DataflowHook.acall``
(the triggerer: through the request budget, on the thread pool of its kind). Either way it is one
attempt unless the caller asks for the SDK's retries, and its failure is classified the same way; the
pipeline's steps decide whether to back off and try again. Each call consumes its response inside
the SDK thread (a log stream is read and closed there), so a broken download fails the call instead
of surfacing later, outside the error handling.
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

from airflow_provider_dataflow.runs.states import RunState

T = TypeVar("T")

# SDK attribute name -> Terraform's ``oci_dataflow_invoke_run`` attribute name, where they differ.
_TERRAFORM_NAMES = {"lifecycle_state": "state", "total_o_cpu": "total_ocpu"}
APPLICATION_LOGS = ("spark_application_stderr.log.gz", "spark_application_stdout.log.gz")
LIST_PAGE_LIMIT = 1000  # the service's maximum


class CallKind(str, Enum):
    """Kinds of call with a thread pool, a request budget and timeouts of their own, so a slow or throttled
    kind (creates answered 429, a long search) never holds the threads or the budget that waits need."""

    POLL = "poll"  # reads a wait depends on: a run, a page of the shared watcher's snapshot
    SUBMIT = "submit"  # create a run, read its application
    SEARCH = "search"  # find the run an earlier attempt started
    CANCEL = "cancel"
    LOGS = "logs"  # OCI Logging searches for a running job's lines
    READ = "read"  # everything else: run logs, updates, connection tests


class Service(str, Enum):
    """Which OCI client performs an operation (both signed with the connection's credentials)."""

    DATA_FLOW = "data_flow"
    LOG_SEARCH = "log_search"


@dataclass(frozen=True)
class Operation(Generic[T]):
    """One call: ``run(client, retry_strategy)`` returns plain data; ``doing`` names it in errors."""

    kind: CallKind
    doing: str
    run: Callable[[Any, Any], T]
    service: Service = Service.DATA_FLOW


def get_run(run_id: str, kind: CallKind = CallKind.POLL) -> Operation[dict[str, Any]]:
    def call(client: Any, retry: Any) -> dict[str, Any]:
        response = client.get_run(run_id, retry_strategy=retry)
        return run_attributes(response.data)

    return Operation(kind, f"get run {run_id}", call)


def create_run(
    details: Any, *, retry_token: str | None, opc_parent_rpt_url: str | None = None
) -> Operation[dict[str, Any]]:
    """``details``: a ``CreateRunDetails`` body in snake_case, nested values as plain dicts.

    Repeating it with the same ``retry_token`` returns the same run (the service's idempotency).
    """

    def call(client: Any, retry: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"retry_strategy": retry}
        if retry_token:
            kwargs["opc_retry_token"] = retry_token
        if opc_parent_rpt_url:
            kwargs["opc_parent_rpt_url"] = opc_parent_rpt_url
        response = client.create_run(_create_run_details(details), **kwargs)
        return run_attributes(response.data)

    return Operation(CallKind.SUBMIT, "create a Data Flow run", call)


def cancel_run(run_id: str) -> Operation[bool]:
    """True once the service accepted the cancel; False when the run had already ended.

    A 409 alone does not say the run ended (the service may refuse to cancel a run it is still starting),
    so the run is read: a terminal run means "already ended"; otherwise the 409 is raised as it came.
    """

    def call(client: Any, retry: Any) -> bool:
        import oci

        try:
            client.delete_run(run_id, retry_strategy=retry)
        except oci.exceptions.ServiceError as err:
            if err.status == 409 and _has_ended(client.get_run(run_id, retry_strategy=retry).data.lifecycle_state):
                return False
            raise
        return True

    return Operation(CallKind.CANCEL, f"cancel run {run_id}", call)


def _has_ended(state: str) -> bool:
    parsed = RunState.parse(state)
    return parsed is not None and parsed.is_terminal()


def list_runs_page(
    compartment_id: str, page: str | None, kind: CallKind = CallKind.POLL, **filters: Any
) -> Operation[tuple[list[Any], str | None]]:
    """One page (up to 1000, newest first) of a compartment's ``RunSummary`` objects, and the next page."""

    def call(client: Any, retry: Any) -> tuple[list[Any], str | None]:
        kwargs: dict[str, Any] = {"limit": LIST_PAGE_LIMIT, "sort_by": "timeCreated", "sort_order": "DESC"}
        if page:
            kwargs["page"] = page
        response = client.list_runs(compartment_id, retry_strategy=retry, **kwargs, **filters)
        return list(response.data), response.next_page

    described = ", ".join(f"{key}={value}" for key, value in filters.items())
    return Operation(kind, f"list runs in compartment {compartment_id} ({described or 'all'})", call)


def get_application(application_id: str) -> Operation[dict[str, Any]]:
    def call(client: Any, retry: Any) -> dict[str, Any]:
        from oci.util import to_dict

        return dict(to_dict(client.get_application(application_id, retry_strategy=retry).data))

    return Operation(CallKind.SUBMIT, f"get application {application_id}", call)


def update_run(run_id: str, changes: Mapping[str, Any]) -> Operation[dict[str, Any]]:
    """``changes``: the UpdateRunDetails fields (tags, max duration, idle timeout); a write, so a submit kind."""

    def call(client: Any, retry: Any) -> dict[str, Any]:
        from oci.data_flow.models import UpdateRunDetails

        response = client.update_run(UpdateRunDetails(**changes), run_id, retry_strategy=retry)
        return run_attributes(response.data)

    return Operation(CallKind.SUBMIT, f"update run {run_id}", call)


def list_run_logs(run_id: str) -> Operation[list[dict[str, Any]]]:
    def call(client: Any, retry: Any) -> list[dict[str, Any]]:
        import oci
        from oci.util import to_dict

        response = oci.pagination.list_call_get_all_results(client.list_run_logs, run_id, retry_strategy=retry)
        return [to_dict(summary) for summary in response.data]

    return Operation(CallKind.READ, f"list the logs of run {run_id}", call)


def read_run_log(run_id: str, name: str) -> Operation[bytes]:
    """A whole log, decompressed (the service stores most logs gzipped)."""
    return Operation(CallKind.READ, f"read log {name} of run {run_id}", _log_reader(run_id, name, b"".join))


def tail_run_log(run_id: str, name: str, lines: int) -> Operation[list[str]]:
    """The last ``lines`` lines of a log, streamed so memory stays bounded for large logs."""
    return Operation(
        CallKind.READ, f"read log {name} of run {run_id}", _log_reader(run_id, name, lambda c: _last_lines(c, lines))
    )


def _log_reader(run_id: str, name: str, consume: Callable[[Iterable[bytes]], T]) -> Callable[[Any, Any], T]:
    """Stream a log's decompressed chunks into ``consume``; the response is closed whatever happens."""

    def call(client: Any, retry: Any) -> T:
        response = client.get_run_log(run_id, name, retry_strategy=retry)
        try:
            return consume(_decompressed(response.data.raw.stream(64 * 1024, decode_content=True)))
        finally:
            response.data.close()

    return call


def list_runs_limited(compartment_id: str, limit: int) -> Operation[int]:
    """How many runs one small page lists: the connection test (proves auth and IAM cheaply)."""

    def call(client: Any, retry: Any) -> int:
        return len(client.list_runs(compartment_id, limit=limit, retry_strategy=retry).data)

    return Operation(CallKind.READ, f"list runs in compartment {compartment_id}", call)


def run_attributes(run: Any) -> dict[str, Any]:
    """An SDK ``Run`` or ``RunSummary`` as a JSON-safe dict under Terraform's attribute names (XCom, events).

    ``opc_request_id`` is the run's own: the id of the request that created it, which its Spark logs carry.
    """
    from oci.util import to_dict

    return {_TERRAFORM_NAMES.get(key, key): value for key, value in to_dict(run).items()}


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

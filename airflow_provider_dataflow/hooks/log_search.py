"""OCI Logging searches, as operations (``operations.Operation``) the hook performs like any Data Flow call.

One page of a search is one call of kind ``CallKind.LOGS`` on an ``oci.loggingsearch.LogSearchClient``
(``Service.LOG_SEARCH``): its own threads, timeouts and request budget, so a slow or throttled search
never holds what the waits poll through. The caller's ``parse`` turns each result into what it keeps, in
the SDK's thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, TypeVar

from airflow_provider_dataflow.exceptions import DataflowServiceError
from airflow_provider_dataflow.hooks.operations import CallKind, Operation, Service

R = TypeVar("R")

SEARCH_PAGE_LIMIT = 1000  # the Logging Search API's maximum
MAX_WINDOW_SECONDS = 14 * 24 * 3600  # the longest time range one search may cover
_TOO_LARGE = "search result is too large"  # the 400 for a window with too many records (Oracle's ADS splits it)


def search_logs_page(
    query: str, time_start: float, time_end: float, page: str | None, parse: Callable[[Mapping[str, Any]], R]
) -> Operation[tuple[list[R], str | None]]:
    """One page (up to 1000 results) of ``query`` over ``[time_start, time_end)`` (epoch seconds), parsed."""

    def call(client: Any, retry: Any) -> tuple[list[R], str | None]:
        from oci.loggingsearch.models import SearchLogsDetails

        details = SearchLogsDetails(time_start=_utc(time_start), time_end=_utc(time_end), search_query=query)
        kwargs: dict[str, Any] = {"limit": SEARCH_PAGE_LIMIT, "retry_strategy": retry}
        if page:
            kwargs["page"] = page
        response = client.search_logs(details, **kwargs)
        return [parse(result.data) for result in response.data.results or ()], response.next_page

    return Operation(CallKind.LOGS, f"search OCI Logging ({query})", call, Service.LOG_SEARCH)


def result_too_large(error: DataflowServiceError) -> bool:
    """The service refused the window as holding too many records: search its halves instead."""
    return error.status == 400 and _TOO_LARGE in str(error).lower()


def _utc(epoch: float) -> datetime:
    """Millisecond precision: the search API's smallest time step."""
    return datetime.fromtimestamp(round(epoch, 3), tz=timezone.utc)

"""One search of one log over a time window, as steps (``pipeline.steps``) both paths drive.

Pages are followed (``opc-next-page``) and handed to ``offer`` one at a time, so a search never holds
its whole window in memory (records that die young cost the garbage collector little; thousands kept
across pages would be promoted and make full collections, which stop the triggerer's event loop). A
window the service refuses as too large is searched in halves, down to a millisecond, as Oracle's ADS
library does; a search stops after ``max_records`` results and says how far it got
(``covered_until``), so the next one continues there. The worker drives these steps with blocking
calls, the triggerer's shared searcher with awaited ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from airflow_provider_dataflow.exceptions import DataflowServiceError
from airflow_provider_dataflow.hooks.log_search import MAX_WINDOW_SECONDS, result_too_large, search_logs_page
from airflow_provider_dataflow.pipeline.logs.records import LogRecord
from airflow_provider_dataflow.pipeline.logs.sources import LogSource
from airflow_provider_dataflow.pipeline.steps import Call, Steps

MAX_RECORDS_PER_SEARCH = 20_000
SMALLEST_WINDOW_SECONDS = 0.002  # the API's time step is 1 ms: a window this short cannot be split


@dataclass(frozen=True, slots=True)
class SearchResult:
    covered_until: float  # every line written before this time (and ingested by then) was offered
    calls: int
    records: int


def search_steps(
    source: LogSource,
    keys: Iterable[str],
    start: float,
    end: float,
    offer: Callable[[list[LogRecord]], None],
    max_records: int = MAX_RECORDS_PER_SEARCH,
) -> Steps[SearchResult]:
    """Offer the records of the runs ``keys`` in ``source`` written in ``[start, end)``, oldest first."""
    query = source.query(keys)
    records = calls = 0
    windows = [(max(start, end - MAX_WINDOW_SECONDS), end)]  # a stack: the earliest half on top
    while windows:
        low, high = windows.pop()
        page: str | None = None
        try:
            while True:
                calls += 1
                batch, page = yield Call(search_logs_page(query, low, high, page, LogRecord.parse))
                offer(batch)
                records += len(batch)
                if records >= max_records and batch:
                    return SearchResult(batch[-1].time, calls, records)
                if not page:
                    break
        except DataflowServiceError as error:
            if not result_too_large(error) or high - low < SMALLEST_WINDOW_SECONDS:
                raise
            middle = low + (high - low) / 2
            windows += [(middle, high), (low, middle)]
    return SearchResult(end, calls, records)

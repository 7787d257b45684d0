"""The Logging Search API (version 20190909): ``POST /20190909/search``, as ``oci.loggingsearch`` calls it.

Signed like every other call. The body is ``SearchLogsDetails`` (``timeStart``, ``timeEnd``,
``searchQuery``, ``isReturnFieldInfo``); ``limit`` (1-1000, default 100) and ``page`` are query
parameters, and ``opc-next-page`` is set while more results remain. A window longer than 14 days, or one
that matches more than the catalog's ``max_results`` records, is a 400 (the latter "search result is too
large", the message Oracle's ADS library splits the window on). Sources: docs/emulator.md.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from airflow_provider_dataflow.testing.emulator.errors import invalid_parameter, missing_parameter, no_such_operation
from airflow_provider_dataflow.testing.emulator.log_query import LogQuery, parse_query
from airflow_provider_dataflow.testing.emulator.log_records import RunLines
from airflow_provider_dataflow.testing.emulator.messages import ApiRequest, ApiResponse, json_response
from airflow_provider_dataflow.testing.emulator.signatures import SignatureVerifier
from airflow_provider_dataflow.testing.emulator.state import EmulatorState
from airflow_provider_dataflow.testing.emulator.timestamps import parse_rfc3339

LOG_SEARCH_PATH = "/20190909"
MAX_WINDOW_SECONDS = 14 * 24 * 3600
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
TOO_LARGE = "search result is too large"
FIELD_INFO = [
    {"fieldName": name, "fieldType": "STRING"}
    for name in ("data.level", "data.message", "data.opcRequestId", "id", "source", "subject", "time", "type")
]
_CACHED_SEARCHES = 16  # later pages of a search read the result its first page computed

Line = tuple[int, str, int, RunLines]  # (datetime in ms, run id, line index, the run's stream)


class LogSearchService:
    """Handles requests under ``/20190909``."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._verifier = SignatureVerifier(state.keys)
        self._results: OrderedDict[tuple[str, int, int, int], list[Line]] = OrderedDict()
        self._lock = threading.Lock()

    def handle(self, request: ApiRequest, now: float) -> ApiResponse:
        self._verifier.verify(request, now)
        if request.path != f"{LOG_SEARCH_PATH}/search" or request.method != "POST":
            raise no_such_operation(request.method, request.path)
        details = request.json_body()
        if not isinstance(details, dict):
            raise invalid_parameter("The body must be a SearchLogsDetails object")
        start, end = _window(details)
        text = details.get("searchQuery")
        if not isinstance(text, str) or not text.strip():
            raise missing_parameter('searchQuery is required, e.g. search "<compartment>/<log group>/<log>"')
        limit = _limit(request.query_value("limit"))
        offset, as_of = _page(request.query_value("page"), now)
        lines = self._search(text, start, end, as_of)
        headers = {}
        if offset + limit < len(lines):
            headers["opc-next-page"] = f"{offset + limit}:{as_of}"
        field_info = FIELD_INFO if details.get("isReturnFieldInfo") else []
        body: dict[str, Any] = {
            "results": [{"data": stream.record(index)} for _, _, index, stream in lines[offset : offset + limit]],
            "fields": field_info,
            "summary": {"resultCount": len(lines), "fieldCount": len(field_info)},
        }
        return json_response(200, body, headers)

    def _search(self, text: str, start: float, end: float, as_of: int) -> list[Line]:
        """Every matching line ingested by ``as_of`` (ms), in the query's order; a later page reuses the result."""
        key = (text, int(start * 1000), int(end * 1000), as_of)
        with self._lock:
            cached = self._results.get(key)
        if cached is not None:
            return cached
        lines = _matching(self._state, parse_query(text), start, end, as_of / 1000, self._state.logs.max_results)
        with self._lock:
            self._results[key] = lines
            while len(self._results) > _CACHED_SEARCHES:
                self._results.popitem(last=False)
        return lines


def _matching(state: EmulatorState, query: LogQuery, start: float, end: float, now: float, cap: int) -> list[Line]:
    streams = [
        stream
        for record in state.runs.all()
        for stream in state.logs.streams(record, now)
        if any(s.contains(stream.target.compartment_id, stream.target.log_group_id, stream.target.log_id)
               for s in query.streams)
    ]  # fmt: skip
    if sum(stream.count(start, end, now) for stream in streams) > 100 * cap:
        raise invalid_parameter(f"The {TOO_LARGE}: narrow the time range or the query")
    lines = [
        (round(at * 1000), stream.run_id, index, stream)
        for stream in streams
        for at, index in stream.times(start, end, now)
    ]
    if query.condition is not None:
        condition = query.condition
        lines = [line for line in lines if condition(line[3].record(line[2])["logContent"])]
    if len(lines) > cap:
        raise invalid_parameter(f"The {TOO_LARGE} ({len(lines)} records, at most {cap}): narrow the time range")
    lines.sort(key=lambda line: line[:3], reverse=query.descending)
    return lines


def _window(details: dict[str, Any]) -> tuple[float, float]:
    bounds = []
    for name in ("timeStart", "timeEnd"):
        value = details.get(name)
        if value is None:
            raise missing_parameter(f"{name} is required (an RFC 3339 date-time)")
        if not isinstance(value, str):
            raise invalid_parameter(f"{name} must be an RFC 3339 date-time string")
        try:
            bounds.append(parse_rfc3339(value))
        except ValueError:
            raise invalid_parameter(f"{name} is not an RFC 3339 date-time: {value!r}") from None
    start, end = bounds
    if end <= start:
        raise invalid_parameter("timeEnd must be later than timeStart")
    if end - start > MAX_WINDOW_SECONDS:
        raise invalid_parameter("The time range of a search may not exceed 14 days; split it")
    return start, end


def _limit(raw: str | None) -> int:
    try:
        limit = DEFAULT_LIMIT if raw is None else int(raw)
    except ValueError:
        raise invalid_parameter(f"limit must be an integer, got {raw!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid_parameter(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit


def _page(token: str | None, now: float) -> tuple[int, int]:
    """(offset, the first page's time in ms): later pages see what the first one saw."""
    if token is None:
        return 0, int(now * 1000)
    offset, _, as_of = token.partition(":")
    if not offset.isdigit() or not as_of.isdigit():
        raise invalid_parameter(f"page is not a page token from opc-next-page: {token!r}")
    return int(offset), int(as_of)

"""One run's lines from one log, defined once for the worker's wait and the triggerer's shared search.

A follower turns search results into the lines a task log shows: only records it has not shown (record
``id``), in time order, at most ``max_lines_per_interval`` per search (then a line says how many it
skipped), each cut at ``max_line_chars``. It also says which window to search next: from where the last
search ended minus ``overlap``, because OCI Logging ingests lines with a lag and a line written before
the last search may only now be searchable (Oracle's ADS library re-queries 180 s for the same reason).
The ids it remembers are those inside that overlap, so memory is bounded by the overlap, not the run.

Its ``cursor`` is what a restarted trigger needs to continue without a gap and without repeating a line
shown before the cursor was saved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_dataflow.config import get_float, get_int
from airflow_provider_dataflow.pipeline.logs.records import LogRecord, format_time
from airflow_provider_dataflow.pipeline.logs.sources import LogSource


@dataclass(frozen=True)
class StreamLimits:
    """The bounds of streaming (``[oci_dataflow]`` ``log_*`` options, see ``config``)."""

    overlap: float = 60.0
    max_lines_per_interval: int = 1000
    max_line_chars: int = 4000
    max_window: float = 3600.0
    drain: float = 30.0
    cursor_save_every: float = 30.0
    max_saved_ids: int = 1000  # a cursor keeps at most this many ids of the overlap (XCom size)
    max_remembered_ids: int = 5000  # ids a follower keeps to recognise lines it showed (memory per run)

    @classmethod
    def configured(cls) -> StreamLimits:
        return cls(
            overlap=get_float("log_overlap_seconds"),
            max_lines_per_interval=get_int("log_max_lines_per_interval"),
            max_line_chars=get_int("log_max_line_chars"),
            max_window=get_float("log_max_window_seconds"),
            drain=get_float("log_drain_seconds"),
            cursor_save_every=get_float("log_cursor_save_seconds"),
        )


@dataclass(frozen=True)
class Cursor:
    """Everything before ``covered_until`` has been searched; ``recent_ids`` were shown within the overlap."""

    covered_until: float
    recent_ids: tuple[str, ...] = ()
    horizon: float = 0.0  # lines written before this are not shown again (more were shown than ids kept)

    def to_json(self) -> dict[str, Any]:
        return {"covered_until": self.covered_until, "recent_ids": list(self.recent_ids), "horizon": self.horizon}

    @classmethod
    def from_json(cls, value: Any) -> Cursor | None:
        """None for anything that is not a cursor (an XCom written by something else)."""
        if not isinstance(value, Mapping) or not isinstance(value.get("covered_until"), (int, float)):
            return None
        ids = value.get("recent_ids") or []
        horizon = value.get("horizon")
        return cls(
            float(value["covered_until"]),
            tuple(str(i) for i in ids) if isinstance(ids, list) else (),
            float(horizon) if isinstance(horizon, (int, float)) else 0.0,
        )


class RunLogFollower:
    """The lines of run ``key`` in log ``source``, from ``not_before`` (the run's creation) or a saved cursor."""

    __slots__ = (
        "_covered_until",
        "_failing",
        "_fresh_ids",
        "_horizon",
        "_not_before",
        "_notices",
        "_pending",
        "_seen",
        "delivered",
        "drain_until",
        "key",
        "limits",
        "skipped",
        "source",
    )

    def __init__(
        self, key: str, source: LogSource, not_before: float, limits: StreamLimits, cursor: Cursor | None = None
    ) -> None:
        self.key = key
        self.source = source
        self.limits = limits
        self.drain_until: float | None = None  # set at the run's end: stop once a search reached this time
        self.delivered = 0
        self.skipped = 0
        self._not_before = not_before
        self._covered_until = max(not_before, cursor.covered_until) if cursor else not_before
        self._seen: dict[str, float] = dict.fromkeys(cursor.recent_ids, self._covered_until) if cursor else {}
        # Ids of lines written before this were forgotten (the memory bound): they are never shown again.
        self._horizon = cursor.horizon if cursor else 0.0
        self._failing = False
        self._notices: list[str] = []
        self._pending: list[LogRecord] = []  # the current search's new records (at most a few caps' worth)
        self._fresh_ids: dict[str, float] = {}  # and every new id it found, kept or not

    def window_start(self, now: float) -> float:
        """Where the next search starts: the overlap before the last one's end, within ``max_window`` of now."""
        start = max(self._not_before, self._covered_until - self.limits.overlap)
        oldest = now - self.limits.max_window
        if start < oldest:
            self._notices.append(
                f"Lines written between {format_time(start)} and {format_time(oldest)} are not shown: the search "
                f"fell more than {self.limits.max_window:.0f} s behind ([oci_dataflow] log_max_window_seconds)."
            )
            self._covered_until = oldest + self.limits.overlap
            start = oldest
        return start

    def accept(self, records: Iterable[LogRecord], covered_until: float) -> list[str]:
        """``offer`` and ``lines`` for a search whose records come at once."""
        self.offer(records)
        return self.lines(covered_until)

    def offer(self, records: Iterable[LogRecord]) -> None:
        """Records of the search in progress (a page at a time: a search never holds all its pages)."""
        floor = max(self._not_before, self._covered_until - self.limits.overlap, self._horizon)
        seen, fresh_ids, pending = self._seen, self._fresh_ids, self._pending
        for record in records:
            if record.time >= floor and record.id not in seen and record.id not in fresh_ids:
                fresh_ids[record.id] = record.time
                pending.append(record)
        cap = self.limits.max_lines_per_interval
        if len(pending) > 2 * cap:  # only the newest ``cap`` are shown: keep no more than that
            pending.sort(key=lambda r: (r.time, r.id))
            del pending[:-cap]

    def lines(self, covered_until: float) -> list[str]:
        """The lines to show now that the search covered everything written before ``covered_until``."""
        lines, self._notices = self._notices, []
        if self._failing:
            self._failing = False
            lines.append(f"OCI Logging search of log {self.source} works again; this run's lines resume.")
        fresh = sorted(self._pending, key=lambda r: (r.time, r.id))[-self.limits.max_lines_per_interval :]
        skipped = len(self._fresh_ids) - len(fresh)
        if skipped:
            self.skipped += skipped
            lines.append(
                f"... {skipped} lines skipped: more than {self.limits.max_lines_per_interval} in one search interval "
                "([oci_dataflow] log_max_lines_per_interval); the newest follow."
            )
        lines.extend(record.line(self.limits.max_line_chars) for record in fresh)
        self.delivered += len(fresh)
        self._seen.update(self._fresh_ids)
        self._pending, self._fresh_ids = [], {}
        self._covered_until = max(self._covered_until, covered_until)
        self._forget_before(self._covered_until - self.limits.overlap)
        return lines

    def abandon(self) -> None:
        """The search in progress failed: forget what it offered (the next one finds it again)."""
        self._pending, self._fresh_ids = [], {}

    def failed(self, error: BaseException) -> str | None:
        """The line to show when a search failed: once per run of failures."""
        if self._failing:
            return None
        self._failing = True
        return (
            f"Cannot read this run's lines from OCI Logging log {self.source}: {error}. The run's wait is not "
            "affected; the search keeps trying."
        )

    @property
    def failing(self) -> bool:
        """The last search failed (and said so)."""
        return self._failing

    def finished(self) -> bool:
        """At the run's end: a search has covered everything up to ``drain_until``."""
        return self.drain_until is not None and self._covered_until >= self.drain_until

    def cursor(self) -> Cursor:
        remembered = sorted(self._seen.items(), key=lambda item: item[1])
        recent = remembered[-self.limits.max_saved_ids :]
        horizon = recent[0][1] if len(recent) < len(remembered) else self._horizon
        return Cursor(self._covered_until, tuple(record_id for record_id, _ in recent), horizon)

    def _forget_before(self, floor: float) -> None:
        """Drop ids of records older than any future window, and the oldest beyond ``max_remembered_ids``: a run
        writing faster than that over the overlap then misses lines ingested very late, rather than repeating."""
        stale = [record_id for record_id, at in self._seen.items() if at < floor]
        for record_id in stale:
            del self._seen[record_id]
        excess = len(self._seen) - self.limits.max_remembered_ids
        if excess > 0:
            oldest = sorted(self._seen.items(), key=lambda item: item[1])[:excess]
            for record_id, _ in oldest:
                del self._seen[record_id]
            self._horizon = max(self._horizon, oldest[-1][1] + 0.001)

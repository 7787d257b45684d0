"""A Data Flow log record: which run it belongs to, where it came from, and the line a task log shows.

Which field ties a record to its run is decided here and nowhere else (``RUN_KEY_FIELD``, ``run_key``,
``LogRecord.parse``). Oracle's "Details for Data Flow" documents ``data.opcRequestId`` as the request id
of the createRun call that submitted the run, which ``Run.opc_request_id`` also carries; if a tenancy
shows the run's OCID elsewhere (``source``, say), change these three together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

RUN_KEY_FIELD = "data.opcRequestId"
EXECUTOR_TYPE_SUFFIX = ".executor"


def run_key(run: Mapping[str, Any]) -> str | None:
    """The value ``RUN_KEY_FIELD`` has in the run's records: the createRun request id, kept on the run."""
    value = run.get("opc_request_id")
    return str(value) if value else None


def run_filter(keys: Iterable[str]) -> str:
    """The ``where`` condition selecting the records of these runs (Logging query language, quotes doubled)."""
    quoted = (key.replace("'", "''") for key in sorted(keys))
    return " or ".join(f"{RUN_KEY_FIELD} = '{key}'" for key in quoted)


@dataclass(frozen=True, slots=True)
class LogRecord:
    """What a follower keeps of a search result: parsed in the SDK's thread, so the event loop never walks JSON."""

    id: str
    time: float  # when the line was written (epoch seconds); the search window and the order use it
    run_key: str | None
    source: str  # "driver", "executor 3"
    level: str
    message: str

    @classmethod
    def parse(cls, result: Mapping[str, Any]) -> LogRecord:
        """A search result's ``data`` (``datetime`` in ms and the ``logContent``)."""
        content = result.get("logContent") or {}
        data = content.get("data") or {}
        if not isinstance(data, Mapping):  # a custom log's line may be plain text
            data = {"message": data}
        millis = result.get("datetime")
        written = millis / 1000 if isinstance(millis, (int, float)) else _parse_time(content.get("time"))
        return cls(
            id=str(content.get("id") or f"{written}:{data.get('message')}"),
            time=written,
            run_key=data.get("opcRequestId"),
            source=_source(str(content.get("type") or ""), str(content.get("subject") or "")),
            level=str(data.get("level") or ""),
            message=str(data.get("message") if data.get("message") is not None else data),
        )

    def line(self, max_chars: int) -> str:
        """``[driver 2026-07-30T12:00:01.000Z] INFO message``, the message cut at ``max_chars`` characters."""
        message = self.message
        if len(message) > max_chars:
            message = f"{message[:max_chars]}... ({len(message) - max_chars} more characters)"
        level = f"{self.level} " if self.level else ""
        return f"[{self.source} {format_time(self.time)}] {level}{message}"


def format_time(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _source(record_type: str, subject: str) -> str:
    """``driver`` or ``executor <id>`` (from ``type`` and, for executors, the digits in ``subject``)."""
    if not record_type.endswith(EXECUTOR_TYPE_SUFFIX):
        return "driver"
    digits = "".join(ch for ch in subject if ch.isdigit())
    return f"executor {digits}" if digits else "executor"


def _parse_time(value: Any) -> float:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0

"""Which OCI Logging logs hold a run's lines, and the search query for a set of runs in one of them.

A run's application log is its ``application_log_config`` (set on the run or inherited from its
application: the service copies it onto the run). The Spark diagnostic log is a Logging *service* log on
the application, which the Data Flow API does not name: a DAG author names it, like any other log, as
``{"log_group_id": ..., "log_id": ..., "compartment_id": ...}`` or ``"<compartment>/<log group>/<log>"``.
A search names the log's compartment; when none is given it is the run's (where logs usually are).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from airflow_provider_dataflow.pipeline.logs.records import run_filter, run_key
from airflow_provider_dataflow.runs.logs import LogName

#: More runs than this in one query: search the whole log and keep the watched runs' records. A where clause
#: over thousands of request ids would be a query of hundreds of kilobytes.
MAX_FILTERED_RUNS = 20


@dataclass(frozen=True, slots=True)
class LogSource:
    """One log: the searcher's key (a process searches each log once per interval for all its runs)."""

    compartment_id: str
    log_group_id: str
    log_id: str

    def query(self, keys: Iterable[str]) -> str:
        """``search "<c>/<g>/<l>" [| where <the runs>] | sort by datetime asc``."""
        keys = list(keys)
        where = f" | where {run_filter(keys)}" if 0 < len(keys) <= MAX_FILTERED_RUNS else ""
        return f'search "{self.compartment_id}/{self.log_group_id}/{self.log_id}"{where} | sort by datetime asc'

    def __str__(self) -> str:
        return f"{self.log_group_id}/{self.log_id}"


def run_log_sources(run: Mapping[str, Any], named: Iterable[LogName] = ()) -> list[LogSource]:
    """The run's application log (if it has one) and the named logs, each once."""
    compartment = str(run.get("compartment_id") or "")
    sources: list[LogSource] = []
    config = run.get("application_log_config")
    if isinstance(config, Mapping) and config.get("log_group_id") and config.get("log_id"):
        sources.append(LogSource(compartment, config["log_group_id"], config["log_id"]))
    for item in named:
        if isinstance(item, str):
            parts = item.split("/")
            group, log = parts[-2:]
            sources.append(LogSource(parts[0] if len(parts) == 3 else compartment, group, log))
        else:
            sources.append(LogSource(item.get("compartment_id") or compartment, item["log_group_id"], item["log_id"]))
    return list(dict.fromkeys(sources))


@dataclass(frozen=True)
class LogStream:
    """What a trigger needs to stream a run's lines (its ``log_stream`` kwarg, as JSON): the run's key in its
    records, when it was created (nothing before that is its), and its logs."""

    run_key: str
    not_before: float
    sources: tuple[LogSource, ...]

    @classmethod
    def of(cls, run: Mapping[str, Any], named: Iterable[LogName] | None, log: Any) -> LogStream | None:
        """The lines of a run to show (``stream_logs``: None is off); None when off or when there are none,
        which the task log then says (the worker and the submit trigger both ask here)."""
        if named is None:
            return None
        key, sources = run_key(run), run_log_sources(run, named)
        if not sources:
            log.warning(
                "stream_logs is on, but Data Flow run %s has no application_log_config (own or its application's) "
                "and no log was named: no lines to show",
                run.get("id"),
            )
            return None
        if not key:
            log.warning("Data Flow run %s carries no opc_request_id, which its log lines are found by", run.get("id"))
            return None
        return cls(key, _epoch(run.get("time_created")), tuple(sources))

    def to_json(self) -> dict[str, Any]:
        return {"run_key": self.run_key, "not_before": self.not_before, "logs": [asdict(s) for s in self.sources]}

    @classmethod
    def from_json(cls, value: Any) -> LogStream | None:
        if not isinstance(value, Mapping) or not value.get("run_key") or not value.get("logs"):
            return None
        sources = tuple(LogSource(**log) for log in value["logs"])
        return cls(str(value["run_key"]), float(value.get("not_before") or 0.0), sources)


def _epoch(value: Any) -> float:
    """A run's ``time_created`` (ISO string, datetime or epoch) in seconds; 0 when unknown."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0

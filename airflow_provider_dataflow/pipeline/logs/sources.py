"""Which OCI Logging logs hold a run's lines, and the search query for a set of runs in one of them.

A run's application log is its ``application_log_config`` (set on the run or inherited from its
application: the service copies it onto the run). The Spark diagnostic log is a Logging *service* log on
the application, which the Data Flow API does not name: a DAG author names it, like any other log, as
``{"log_group_id": ..., "log_id": ..., "compartment_id": ...}`` or ``"<compartment>/<log group>/<log>"``.
A search names the log's compartment; when none is given it is the run's (where logs usually are).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_dataflow.exceptions import DataflowInvalidInputError
from airflow_provider_dataflow.pipeline.logs.records import run_filter

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


def parse_log_names(field: str, value: Any) -> tuple[Mapping[str, str] | str, ...]:
    """Check a DAG author's log names (before any API call); the compartment may be left to the run's."""
    if value is None:
        return ()
    items = [value] if isinstance(value, (str, Mapping)) else value
    if not isinstance(items, Sequence):
        raise DataflowInvalidInputError(field, f"must be a list of logs, got {type(value).__name__}")
    checked: list[Mapping[str, str] | str] = []
    for item in items:
        if isinstance(item, str):
            parts = item.split("/")
            if len(parts) not in (2, 3) or not all(part.startswith("ocid1.") for part in parts):
                raise DataflowInvalidInputError(
                    field, f"{item!r} is not '<log group OCID>/<log OCID>' or '<compartment>/<log group>/<log>'"
                )
        elif isinstance(item, Mapping):
            missing = [key for key in ("log_group_id", "log_id") if not item.get(key)]
            unknown = set(item) - {"log_group_id", "log_id", "compartment_id"}
            if missing or unknown:
                raise DataflowInvalidInputError(
                    field,
                    f"each log needs log_group_id and log_id (and may name compartment_id); got {dict(item)!r}",
                )
        else:
            raise DataflowInvalidInputError(field, f"a log is a dict or a string, got {type(item).__name__}")
        checked.append(item)
    return tuple(checked)


def run_log_sources(run: Mapping[str, Any], named: Iterable[Mapping[str, str] | str] = ()) -> list[LogSource]:
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

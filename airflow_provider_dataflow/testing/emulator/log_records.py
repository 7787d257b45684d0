"""The OCI Logging records a run writes while it is IN_PROGRESS, computed on demand for a search window.

Nothing is stored: line ``i`` of a run's stream is written at ``started + i / lines_per_second`` until the
run leaves IN_PROGRESS, and becomes searchable ``ingestion_lag_seconds`` later. So a search over
thousands of runs costs only the lines inside its window, and every search sees the same record (same
``id``) for the same line, as a re-query of the real service does.

Record shape: Oracle's "Details for Data Flow" (docs/emulator.md cites it): ``type``
``com.oraclecloud.dataflow.run.driver`` / ``.executor``, ``source``, ``subject``, ``id``, ``time``,
``oracle.{logid,loggroupid,compartmentid,tenantid,ingestedtime}``, ``data.{level,message,opcRequestId}``
where ``opcRequestId`` is the createRun request id (the run's ``opcRequestId``).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_dataflow.testing.emulator.timestamps import rfc3339

DRIVER_TYPE = "com.oraclecloud.dataflow.run.driver"
EXECUTOR_TYPE = "com.oraclecloud.dataflow.run.executor"
TENANCY_ID = "ocid1.tenancy.oc1..emulator"
_ID_NAMESPACE = uuid.UUID("5f1d2c8e-0d7b-4a52-9a51-6b0f4c3d2e10")

APPLICATION = "application"  # the run's applicationLogConfig log: the application's own lines, from the driver
DIAGNOSTIC = "diagnostic"  # the application's Spark diagnostic service log: driver and executor lines


#: The behaviour JSON's logging fields -> LogBehaviour attributes.
LOG_BEHAVIOUR_FIELDS = {
    "logLinesPerSecond": "lines_per_second",
    "logLevels": "levels",
    "logExecutors": "executors",
    "logIngestionLagSeconds": "ingestion_lag_seconds",
    "logMessage": "message",
}


@dataclass(frozen=True)
class LogBehaviour:
    """How a run's logs are written (the behaviour's ``log*`` fields)."""

    lines_per_second: float = 1.0
    levels: tuple[str, ...] = ("INFO",)
    executors: int = 2  # diagnostic lines rotate over the driver and this many executors
    ingestion_lag_seconds: float = 1.0
    message: str = "{source} line {n}"  # {source}: driver / executor-N, {n}: the line's number in its log

    @classmethod
    def from_json(cls, payload: Mapping[str, Any]) -> LogBehaviour:
        """The behaviour JSON's ``log*`` fields (others ignored); raises ValueError naming a bad one."""
        values: dict[str, Any] = {}
        for key, name in LOG_BEHAVIOUR_FIELDS.items():
            value = payload.get(key)
            if value is None:
                continue
            if name == "levels":
                if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                    raise ValueError(f"{key} must be a non-empty list of strings, e.g. ['INFO', 'WARN']")
                value = tuple(value)
            elif name == "message":
                if not isinstance(value, str):
                    raise ValueError(f"{key} must be a string ({{source}} and {{n}} are filled in)")
            elif name == "executors":
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"{key} must be a non-negative integer")
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{key} must be a non-negative number")
            values[name] = value
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        return {key: list(value) if isinstance(value := getattr(self, name), tuple) else value
                for key, name in LOG_BEHAVIOUR_FIELDS.items()}  # fmt: skip


@dataclass(frozen=True)
class LogTarget:
    """Where a stream of a run's lines goes: the log, its group and the compartment they are in."""

    compartment_id: str
    log_group_id: str
    log_id: str
    kind: str  # APPLICATION or DIAGNOSTIC


@dataclass(frozen=True)
class RunLines:
    """One run's stream into one log, over the run's IN_PROGRESS time."""

    run_id: str
    opc_request_id: str
    started_at: float
    ended_at: float | None  # None while IN_PROGRESS
    behaviour: LogBehaviour
    target: LogTarget

    def count(self, window_start: float, window_end: float, now: float) -> int:
        first, stop = self._indexes(window_start, window_end, now)
        return max(0, stop - first)

    def times(self, window_start: float, window_end: float, now: float) -> Iterator[tuple[float, int]]:
        """``(written at, index)`` of the lines written in the window and already ingested at ``now``."""
        first, stop = self._indexes(window_start, window_end, now)
        rate = self.behaviour.lines_per_second
        for index in range(first, stop):
            yield self.started_at + index / rate, index

    def _indexes(self, window_start: float, window_end: float, now: float) -> tuple[int, int]:
        rate = self.behaviour.lines_per_second
        if rate <= 0:
            return 0, 0
        limit = min(window_end, now - self.behaviour.ingestion_lag_seconds)
        if self.ended_at is not None:
            limit = min(limit, self.ended_at)
        first = max(0, math.ceil(round((window_start - self.started_at) * rate, 9)))
        stop = max(0, math.ceil(round((limit - self.started_at) * rate, 9)))
        return first, stop

    def record(self, index: int) -> dict[str, Any]:
        """The search result's ``data`` for line ``index``: ``datetime`` (ms) and the ``logContent``."""
        behaviour, target = self.behaviour, self.target
        written = self.started_at + index / behaviour.lines_per_second
        source, subject, record_type = "driver", "driver", DRIVER_TYPE
        if target.kind == DIAGNOSTIC and behaviour.executors and index % (behaviour.executors + 1):
            source = subject = f"executor-{index % (behaviour.executors + 1)}"
            record_type = EXECUTOR_TYPE
        return {
            "datetime": round(written * 1000),
            "logContent": {
                "data": {
                    "level": behaviour.levels[index % len(behaviour.levels)],
                    "message": behaviour.message.format(source=source, n=index + 1),
                    "opcRequestId": self.opc_request_id,
                },
                "id": str(uuid.uuid5(_ID_NAMESPACE, f"{self.run_id}/{target.log_id}/{index}")),
                "oracle": {
                    "compartmentid": target.compartment_id,
                    "ingestedtime": rfc3339(written + behaviour.ingestion_lag_seconds),
                    "loggroupid": target.log_group_id,
                    "logid": target.log_id,
                    "tenantid": TENANCY_ID,
                },
                "source": self.run_id,
                "specversion": "1.0",
                "subject": subject,
                "time": rfc3339(written),
                "type": record_type,
            },
        }

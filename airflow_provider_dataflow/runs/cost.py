"""What a run cost: OCPU-hours, bytes read and written, queue and run time; as a log line and XCom.

Data Flow bills the OCPUs (and memory) of a run's driver and executors while it runs, so the
OCPU-hours are ``totalOCpu`` x ``runDurationInMilliseconds``. The Run resource has no start time,
so the queue time (ACCEPTED to IN_PROGRESS) is derived: ``timeUpdated - timeCreated - run duration``.
For a run that has ended, ``timeUpdated`` is when it reached its final state, so the figure also holds
the seconds the service takes to wind a run down; it is an upper bound, good to a few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True)
class RunCost:
    """The cost figures of one run, read from its attributes (Terraform names)."""

    run_id: str
    state: str | None
    total_ocpu: float
    run_seconds: float
    queue_seconds: float | None
    data_read_in_bytes: int
    data_written_in_bytes: int

    @classmethod
    def of(cls, run: dict[str, Any]) -> RunCost:
        run_seconds = (run.get("run_duration_in_milliseconds") or 0) / 1000
        created, updated = _timestamp(run.get("time_created")), _timestamp(run.get("time_updated"))
        queue_seconds = None
        if created is not None and updated is not None:
            queue_seconds = max(0.0, (updated - created).total_seconds() - run_seconds)
        return cls(
            run_id=str(run.get("id")),
            state=run.get("state"),
            total_ocpu=float(run.get("total_ocpu") or 0),
            run_seconds=run_seconds,
            queue_seconds=queue_seconds,
            data_read_in_bytes=int(run.get("data_read_in_bytes") or 0),
            data_written_in_bytes=int(run.get("data_written_in_bytes") or 0),
        )

    @property
    def ocpu_hours(self) -> float:
        return self.total_ocpu * self.run_seconds / 3600

    def as_xcom(self) -> dict[str, Any]:
        return {
            "ocpu_hours": round(self.ocpu_hours, 6),
            "total_ocpu": self.total_ocpu,
            "run_seconds": self.run_seconds,
            "queue_seconds": None if self.queue_seconds is None else round(self.queue_seconds, 3),
            "data_read_in_bytes": self.data_read_in_bytes,
            "data_written_in_bytes": self.data_written_in_bytes,
        }

    def summary(self) -> str:
        queued = "unknown" if self.queue_seconds is None else _duration(self.queue_seconds)
        return (
            f"Data Flow run {self.run_id} {self.state}: {self.ocpu_hours:.4f} OCPU-hours "
            f"({self.total_ocpu:g} OCPU x {_duration(self.run_seconds)}), "
            f"read {self.data_read_in_bytes / MIB:.1f} MiB, wrote {self.data_written_in_bytes / MIB:.1f} MiB, "
            f"queued {queued}, ran {_duration(self.run_seconds)}"
        )


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    return str(timedelta(seconds=round(seconds)))

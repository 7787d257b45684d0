"""Cost figures of a run, its closing log line, and the metrics sent through Airflow's stats interface."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from airflow.sdk.observability import stats

from airflow_provider_dataflow.pipeline.finish import report_cost
from airflow_provider_dataflow.runs.cost import RunCost

LOG = logging.getLogger(__name__)
RUN = {
    "id": "ocid1.dataflowrun.oc1..run",
    "state": "SUCCEEDED",
    "total_ocpu": 5,
    "run_duration_in_milliseconds": 1_800_000,  # 30 min
    "time_created": "2026-03-01T10:00:00.000000+00:00",
    "time_updated": "2026-03-01T10:32:30.000000+00:00",
    "data_read_in_bytes": 3 * 1024**3,
    "data_written_in_bytes": 512 * 1024**2,
}


class RecordingStats:
    """A stats backend (the object Airflow's stats factory returns) that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any, dict[str, Any]]] = []

    def incr(self, stat: str, count: int = 1, rate: float = 1, *, tags: dict[str, Any] | None = None) -> None:
        self.calls.append(("incr", stat, count, tags or {}))

    def gauge(self, stat: str, value: float, rate: float = 1, delta: bool = False, *, tags: Any = None) -> None:
        self.calls.append(("gauge", stat, value, tags or {}))

    def timing(self, stat: str, dt: Any, *, tags: dict[str, Any] | None = None) -> None:
        self.calls.append(("timing", stat, dt, tags or {}))


@pytest.fixture
def recorded() -> Iterator[RecordingStats]:
    backend = RecordingStats()
    stats.initialize(factory=lambda: backend, export_legacy_names=False)  # type: ignore[arg-type, return-value]
    yield backend
    stats.initialize(factory=None, export_legacy_names=False)  # type: ignore[arg-type]  # back to no backend


def test_ocpu_hours_bytes_and_queue_time_come_from_the_run() -> None:
    cost = RunCost.of(RUN)
    assert cost.ocpu_hours == pytest.approx(2.5)  # 5 OCPU x 0.5 h
    assert cost.run_seconds == 1800
    assert cost.queue_seconds == pytest.approx(150)  # 32.5 min wall time - 30 min running
    assert cost.as_xcom() == {
        "ocpu_hours": 2.5,
        "total_ocpu": 5.0,
        "run_seconds": 1800.0,
        "queue_seconds": 150.0,
        "data_read_in_bytes": 3 * 1024**3,
        "data_written_in_bytes": 512 * 1024**2,
    }
    assert cost.summary() == (
        "Data Flow run ocid1.dataflowrun.oc1..run SUCCEEDED: 2.5000 OCPU-hours (5 OCPU x 0:30:00), "
        "read 3072.0 MiB, wrote 512.0 MiB, queued 0:02:30, ran 0:30:00"
    )


def test_a_run_without_timestamps_has_no_queue_time_and_costs_nothing_before_it_starts() -> None:
    cost = RunCost.of({"id": "r", "state": "FAILED", "total_ocpu": 3, "run_duration_in_milliseconds": 0})
    assert (cost.ocpu_hours, cost.queue_seconds) == (0.0, None)
    assert "queued unknown" in cost.summary()


def test_metrics_go_through_airflows_stats_with_the_task_as_tags(
    recorded: RecordingStats, caplog: pytest.LogCaptureFixture
) -> None:
    tags = {"dag_id": "nightly", "task_id": "aggregate"}
    with caplog.at_level(logging.INFO):
        report_cost(RunCost.of(RUN), RUN, LOG, tags)
    assert RunCost.of(RUN).summary() in caplog.text
    assert recorded.calls == [
        ("timing", "oci_dataflow.run.duration", timedelta(seconds=1800), tags),
        ("timing", "oci_dataflow.run.queue_time", timedelta(seconds=150), tags),
        ("gauge", "oci_dataflow.run.ocpu_hours", 2.5, tags),
        ("incr", "oci_dataflow.run.ended.succeeded", 1, {**tags, "state": "SUCCEEDED"}),
    ]


def test_terminal_states_are_counted_by_kind(recorded: RecordingStats) -> None:
    failed = {**RUN, "state": "FAILED", "lifecycle_details": "Run failed to start: out of host capacity"}
    report_cost(RunCost.of(failed), failed, LOG, {})
    report_cost(RunCost.of(up := {**RUN, "state": "IN_PROGRESS"}), up, LOG, {})  # a streaming run that is up
    counters = [call[1] for call in recorded.calls if call[0] == "incr"]
    assert counters == ["oci_dataflow.run.ended.capacity_failure"]

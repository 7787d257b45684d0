"""One run's lines from one log (``pipeline.logs.follower``): the rules both paths share, without I/O."""

from __future__ import annotations

import pytest

from airflow_provider_dataflow.exceptions import DataflowServiceError
from airflow_provider_dataflow.pipeline.logs.follower import Cursor, RunLogFollower, StreamLimits
from airflow_provider_dataflow.pipeline.logs.records import LogRecord, run_filter, run_key
from airflow_provider_dataflow.pipeline.logs.sources import LogSource

SOURCE = LogSource("ocid1.compartment.oc1..c", "ocid1.loggroup.oc1..g", "ocid1.log.oc1..l")
T0 = 1_800_000_000.0  # the run's creation
LIMITS = StreamLimits(overlap=10.0, max_lines_per_interval=100, max_line_chars=50, max_window=3600.0, drain=5.0)


def record(n: int, at: float | None = None, source: str = "driver", message: str | None = None) -> LogRecord:
    written = T0 + n if at is None else at
    return LogRecord(f"id-{n}", written, "req-1", source, "INFO", message or f"line {n}")


def follower(limits: StreamLimits = LIMITS, cursor: Cursor | None = None) -> RunLogFollower:
    return RunLogFollower("req-1", SOURCE, T0, limits, cursor)


def messages(lines: list[str]) -> list[str]:
    return [line.split("] ", 1)[1] for line in lines]


def test_overlapping_searches_show_each_line_once_in_time_order() -> None:
    f = follower()
    assert f.window_start(T0 + 5) == T0  # nothing before the run's creation
    shown = f.accept([record(3), record(1), record(2)], T0 + 5)
    assert messages(shown) == ["INFO line 1", "INFO line 2", "INFO line 3"]
    assert f.window_start(T0 + 20) == T0  # the overlap re-searches the first 10 s
    late = record(4, at=T0 + 4.5)  # written before the last search ended, ingested after it
    assert messages(f.accept([record(1), record(2), record(3), late, record(6)], T0 + 20)) == [
        "INFO line 4",
        "INFO line 6",
    ]
    assert f.delivered == 5


def test_a_line_is_prefixed_with_its_source_and_time_and_cut_at_the_character_limit() -> None:
    f = follower()
    lines = f.accept([record(1, source="executor 2", message="x" * 80)], T0 + 5)
    assert lines == [f"[executor 2 2027-01-15T08:00:01.000Z] INFO {'x' * 50}... (30 more characters)"]


def test_more_lines_than_the_cap_in_one_interval_keeps_the_newest_and_says_how_many_were_skipped() -> None:
    f = follower(StreamLimits(overlap=10.0, max_lines_per_interval=3))
    lines = f.accept([record(n) for n in range(1, 8)], T0 + 10)
    assert lines[0].startswith("... 4 lines skipped: more than 3 in one search interval")
    assert messages(lines[1:]) == ["INFO line 5", "INFO line 6", "INFO line 7"]
    assert (f.delivered, f.skipped) == (3, 4)
    assert f.accept([record(n) for n in range(1, 8)], T0 + 12) == [], "skipped lines do not come back"


def test_memory_for_de_duplication_is_bounded_by_the_overlap_not_the_runs_length() -> None:
    f = follower()
    for second in range(0, 600, 5):
        f.window_start(T0 + second + 5)
        f.accept([record(n) for n in range(second, second + 5)], T0 + second + 5)
    assert f.delivered == 600
    assert len(f.cursor().recent_ids) <= LIMITS.overlap + 1


def test_a_run_writing_more_lines_than_the_ids_kept_never_repeats_one() -> None:
    """Ten lines a second over a 10 s overlap, but only 30 ids kept: each search returns 150 records."""
    f = follower(StreamLimits(overlap=10.0, max_remembered_ids=30, max_saved_ids=20))
    shown: list[str] = []
    for second in range(0, 60, 5):
        window = f.window_start(T0 + second + 5)
        batch = [record(n, at=T0 + n / 10) for n in range(round((window - T0) * 10), (second + 5) * 10)]
        shown += messages(f.accept(batch, T0 + second + 5))
    assert shown == [f"INFO line {n}" for n in range(600)]
    resumed = follower(StreamLimits(overlap=10.0), cursor=Cursor.from_json(f.cursor().to_json()))
    window = resumed.window_start(T0 + 70)
    again = resumed.accept([record(n, at=T0 + n / 10) for n in range(round((window - T0) * 10), 700)], T0 + 70)
    assert messages(again) == [f"INFO line {n}" for n in range(600, 700)]


def test_a_cursor_resumes_without_repeating_lines_shown_within_the_overlap_and_without_a_gap() -> None:
    first = follower()
    first.accept([record(n) for n in range(1, 21)], T0 + 20.5)
    saved = Cursor.from_json(first.cursor().to_json())
    assert saved is not None
    second = follower(cursor=saved)
    assert second.window_start(T0 + 30) == T0 + 10.5
    late = LogRecord("late", T0 + 18.2, "req-1", "driver", "INFO", "late line")  # ingested after the first search
    lines = second.accept([*(record(n) for n in range(10, 26)), late], T0 + 30)
    assert messages(lines) == ["INFO late line"] + [f"INFO line {n}" for n in range(21, 26)]


def test_a_cursor_from_anything_else_is_ignored() -> None:
    assert Cursor.from_json({"something": 1}) is None
    assert Cursor.from_json("covered_until") is None


def test_a_failing_search_says_so_once_and_its_recovery_once() -> None:
    f = follower()
    error = DataflowServiceError("Could not search OCI Logging: 503 ServiceUnavailable", status=503, transient=True)
    first = f.failed(error)
    assert first is not None and "503 ServiceUnavailable" in first and "wait is not affected" in first
    assert f.failed(error) is None
    lines = f.accept([record(1)], T0 + 5)
    assert lines[0] == f"OCI Logging search of log {SOURCE} works again; this run's lines resume."
    assert messages(lines[1:]) == ["INFO line 1"]
    assert f.failed(error) is not None, "a new run of failures is reported again"


def test_a_search_that_fell_behind_more_than_the_window_skips_the_old_lines_and_says_so() -> None:
    f = follower(StreamLimits(overlap=10.0, max_window=60.0))
    f.accept([record(1)], T0 + 5)
    assert f.window_start(T0 + 600) == T0 + 540
    lines = f.accept([record(550)], T0 + 600)
    assert lines[0].startswith("Lines written between 2027-01-15T08:00:00.000Z and 2027-01-15T08:09:00.000Z are not")
    assert messages(lines[1:]) == ["INFO line 550"]


def test_draining_ends_once_a_search_covered_the_drain_time() -> None:
    f = follower()
    assert not f.finished()
    f.drain_until = T0 + 30
    f.accept([], T0 + 29)
    assert not f.finished()
    f.accept([], T0 + 31)
    assert f.finished()


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (
            {
                "datetime": 1_800_000_001_500,
                "logContent": {
                    "id": "abc",
                    "type": "com.oraclecloud.dataflow.run.executor",
                    "subject": "executor-12",
                    "data": {"level": "WARN", "message": "slow task", "opcRequestId": "req-9"},
                },
            },
            LogRecord("abc", 1_800_000_001.5, "req-9", "executor 12", "WARN", "slow task"),
        ),
        (
            {"logContent": {"id": "d", "time": "2027-01-15T08:00:00.250Z", "data": "plain text line"}},
            LogRecord("d", T0 + 0.25, None, "driver", "", "plain text line"),
        ),
    ],
)
def test_a_search_result_parses_into_a_record(result: dict, expected: LogRecord) -> None:
    assert LogRecord.parse(result) == expected


def test_the_run_filter_is_one_field_and_quotes_are_doubled() -> None:
    assert run_key({"opc_request_id": "ABC/1"}) == "ABC/1"
    assert run_key({"id": "ocid1.dataflowrun"}) is None
    assert run_filter(["b", "a'x"]) == "data.opcRequestId = 'a''x' or data.opcRequestId = 'b'"
    assert SOURCE.query(["k"]) == (
        f'search "{SOURCE.compartment_id}/{SOURCE.log_group_id}/{SOURCE.log_id}" '
        "| where data.opcRequestId = 'k' | sort by datetime asc"
    )
    many = SOURCE.query(str(n) for n in range(21))
    assert "where" not in many, "a query over many runs reads the log whole and keeps the runs' records"

"""A running Spark job's lines in the task log, on a real Airflow: deferred and synchronous, and through a
triggerer killed mid-run.

Each run lasts 60 s and writes one line a second to its application log, searchable 2 s after it was
written (the emulator's ingestion lag). Both task logs must show every line once, in order, each within
a poll interval plus that lag of being written (give or take the search's own time); after a triggerer
is killed, the new one continues from the cursor the first saved, without a gap or a repeat (lines
written while no triggerer ran, or shortly before it was killed, come late, then).
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

import pytest

from airflow_provider_dataflow.testing.airflow_stack import AirflowApiError, AirflowStack
from airflow_provider_dataflow.testing.emulator import DataflowEmulator

from .waiting import wait_for

pytestmark = pytest.mark.system

DEFERRED, SYNC = "system_log_streaming_deferred", "system_log_streaming_sync"
POLL_INTERVAL = 2.0  # the DAGs' (dags/log_streaming_dags.py)
LOG = "ocid1.log.oc1.iad.aaaasystemtestapplicationlog"
RUN_SECONDS, LAG = 60.0, 2.0
ACCEPTED_SECONDS = 10.0  # the deferred task's trigger runs before the first line is written
SLACK = 3.0  # the search's own time and a loaded machine's scheduling
ON_TIME = POLL_INTERVAL + LAG + SLACK  # a line is in the task log this long after it was written, at most
#: ``<logged at> [info] ...: [driver <written at>] INFO driver line <n>`` in the text of a task log
STREAMED = re.compile(r"^(\S+) \[info\].*?\[driver (\S+)\] INFO driver line (\d+)", re.MULTILINE)
STARTED = re.compile(r"^(\S+) \[info\].*?Streaming the run's lines from OCI Logging", re.MULTILINE)


def _streaming(emulator: DataflowEmulator, name: str) -> None:
    emulator.control.add_behaviour(
        display_name_regex=f"^{name}$", accepted_seconds=ACCEPTED_SECONDS, run_seconds=RUN_SECONDS,
        log_lines_per_second=1, log_ingestion_lag_seconds=LAG,
    )  # fmt: skip


def _lines(log: str) -> list[tuple[int, float]]:
    """(line number, seconds from being written to being in the task log) per streamed line, in log order."""
    return [(int(n), _epoch(logged) - _epoch(written)) for logged, written, n in STREAMED.findall(log)]


def _late(log: str) -> list[tuple[int, float]]:
    """Lines shown later than ``ON_TIME`` after being written, but for those written before the task began
    streaming (a loaded triggerer may take seconds to start a trigger and look its connection up)."""
    began = _epoch(STARTED.findall(log)[0])
    return [
        (int(n), round(_epoch(logged) - _epoch(written), 1))
        for logged, written, n in STREAMED.findall(log)
        if _epoch(written) >= began and _epoch(logged) - _epoch(written) > ON_TIME
    ]


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _saved_and_between_batches(api: Any, run_id: str) -> bool:
    """15 lines or more are shown, the cursor saved covers the last, and the next batch is a second away or more.

    A line shown after the last save is shown again by the next trigger: the cursor is saved right after each
    batch (``log_cursor_save_seconds`` 0 on the test stack), and a kill lands between two batches.
    """
    log = api.task_log(DEFERRED, run_id, "spark", try_number=1)
    shown = STREAMED.findall(log)
    if len(shown) < 15:
        return False
    logged, written, _ = shown[-1]
    try:
        cursor = api.xcom(DEFERRED, run_id, "spark", key=f"dataflow_log_cursor.{LOG}")
    except AirflowApiError:  # not saved yet
        return False
    saved = isinstance(cursor, dict) and cursor.get("covered_until", 0) >= _epoch(written)
    return saved and time.time() - _epoch(logged) < POLL_INTERVAL / 2


def _head(log: str, lines: int = 40) -> str:
    """The start of a task log, for a failure's message: when the wait and the streaming began."""
    return "\n".join(line[:200] for line in log.splitlines()[:lines])


def _run(emulator: DataflowEmulator, name: str) -> dict[str, Any]:
    (run,) = [run for run in emulator.control.runs() if run["displayName"] == name]
    return run


def _written(run: dict[str, Any]) -> int:
    return round(run["runDurationInMilliseconds"] / 1000)  # one line a second from IN_PROGRESS to the end


def test_deferred_and_synchronous_waits_show_every_line_once_in_order_and_on_time(
    stack: AirflowStack, emulator: DataflowEmulator
) -> None:
    api = stack.api
    started = {}
    for dag_id in (DEFERRED, SYNC):
        _streaming(emulator, dag_id)
        api.wait_for_dag(dag_id)
        started[dag_id] = api.trigger_dag(dag_id, conf={"display_name": dag_id})
    for dag_id, run_id in started.items():
        assert api.wait_for_dag_run(dag_id, run_id, timeout=180) == "success", dag_id

    for dag_id, run_id in started.items():
        log = api.task_log(dag_id, run_id, "spark", try_number=1)
        lines = _lines(log)
        written = _written(_run(emulator, dag_id))
        assert written == RUN_SECONDS
        assert [n for n, _ in lines] == list(range(1, written + 1)), _head(log)
        late = _late(log)
        assert not late, f"{dag_id}: lines shown later than a poll interval plus the lag: {late}\n{_head(log)}"
    assert "deferred" in api.states_seen(DEFERRED, started[DEFERRED])["spark"]


def test_a_triggerer_killed_mid_run_neither_loses_nor_repeats_a_line(
    stack: AirflowStack, emulator: DataflowEmulator
) -> None:
    name = "log-streaming-triggerer-killed"
    _streaming(emulator, name)
    api = stack.api
    run_id = api.trigger_dag(DEFERRED, conf={"display_name": name})
    api.wait_for_task_state(DEFERRED, run_id, "spark", "deferred")
    wait_for(lambda: _saved_and_between_batches(api, run_id), 120, "15 lines shown, their cursor saved", every=0.1)
    stack.kill("triggerer")
    killed_at = time.time()
    time.sleep(2)
    stack.start_component("triggerer")
    back_at = time.time()

    assert api.wait_for_dag_run(DEFERRED, run_id, timeout=180) == "success"
    log = api.task_log(DEFERRED, run_id, "spark", try_number=1)
    lines = _lines(log)
    assert [n for n, _ in lines] == list(range(1, _written(_run(emulator, name)) + 1)), _head(log, 200)
    assert "Continuing this run's lines from where the previous trigger saved them" in log
    run_started = _epoch(_run(emulator, name)["timeCreated"]) + ACCEPTED_SECONDS
    late = [(n, delay) for n, delay in _late(log) if not killed_at - ON_TIME <= run_started + n - 1 <= back_at + 30]
    assert not late, f"lines written while a triggerer ran were shown late\n{_head(log, 200)}"

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from airflow_provider_dataflow.runs.attempts import retry_token, same_task, task_tags


def _context(try_number: int = 1, map_index: int = -1, run_id: str = "manual__2026-01-01") -> Any:
    """A task instance: the worker's ``context["ti"]`` or the trigger's ``task_instance``."""
    return SimpleNamespace(dag_id="d", run_id=run_id, task_id="t", map_index=map_index, try_number=try_number)


def test_retry_token_is_stable_within_an_attempt_and_new_for_each_attempt() -> None:
    first = retry_token(_context(try_number=1))
    assert first == retry_token(_context(try_number=1))
    assert first != retry_token(_context(try_number=2))
    assert first != retry_token(_context(map_index=3))
    assert len(first) == 64


def test_tags_name_the_task_and_find_runs_of_any_attempt() -> None:
    tags = task_tags(_context(try_number=1, map_index=2))
    assert tags == {
        "airflow_dag_id": "d",
        "airflow_run_id": "manual__2026-01-01",
        "airflow_task_id": "t",
        "airflow_map_index": "2",
        "airflow_try_number": "1",
    }
    assert same_task(tags, _context(try_number=3, map_index=2))
    assert not same_task(tags, _context(try_number=1, map_index=1))
    assert not same_task(None, _context())


def test_tag_values_respect_the_oci_length_limit() -> None:
    assert len(task_tags(_context(run_id="x" * 400))["airflow_run_id"]) == 256

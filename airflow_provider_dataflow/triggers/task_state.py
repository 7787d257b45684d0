"""Whether a trigger's task instance is still deferred, to tell a user's kill from a trigger that moved.

Airflow 3.3.2 awaits ``on_kill()`` whenever a triggerer stops running a trigger it no longer owns
(``TriggerRunnerSupervisor.update_triggers`` -> ``cancel_triggers``). That covers a user marking the task
failed or success or clearing it, but also a live triggerer whose heartbeat was late past
``[triggerer] triggerer_health_check_threshold``: another triggerer took the trigger over, and the run is
still wanted. The task instance tells them apart: a user's action moves it out of ``deferred``; a move
leaves it deferred.
"""

from __future__ import annotations

from typing import Any


async def still_deferred(ti: Any, log: Any) -> bool:
    """True when the task instance is deferred (its trigger runs elsewhere now); False if unknown."""
    if ti is None:
        return False
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
    from asgiref.sync import sync_to_async

    try:
        states = await sync_to_async(RuntimeTaskInstance.get_task_states)(
            dag_id=ti.dag_id, map_index=ti.map_index, task_ids=[ti.task_id], run_ids=[ti.run_id]
        )
    except Exception:  # the kill must still cancel when the state cannot be read
        log.warning("Could not read the task's state; treating the kill as a user's", exc_info=True)
        return False
    key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}_{ti.map_index}"
    return bool(states.get(ti.run_id, {}).get(key) == "deferred")

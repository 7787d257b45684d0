"""Cancel the run of a deferred task a user killed, on Airflow releases whose triggerer never calls ``on_kill``.

Before 3.3, marking a deferred task failed or success, or clearing it, only cancels its trigger
(``asyncio.CancelledError`` in ``run``), exactly as a triggerer shutdown or a move to another
triggerer does. What tells them apart is the task instance: after a user's action it is no longer
DEFERRED. So when ``run`` is cancelled, ask the supervisor (the one thing a triggerer can reach)
for the task's state and call ``on_kill`` only if it is not DEFERRED. When the state cannot be
read, the run is left alone: a restart must never kill healthy Spark jobs (apache/airflow#41231).
On 3.3+ the triggerer calls ``on_kill`` itself and this does nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Protocol, TypeVar

from airflow_provider_dataflow import compat
from airflow_provider_dataflow.triggers.run_to_completion import run_to_completion

T = TypeVar("T")

#: Bound on the state check plus ``on_kill``, like ``[triggerer] on_kill_timeout`` on 3.3.
KILL_FALLBACK_TIMEOUT = 30.0
DEFERRED = "deferred"
#: A cleared task instance has no state until the scheduler picks it up again.
NO_STATE = "none"


class Killable(Protocol):
    """What this module needs from a trigger."""

    task_instance: Any
    cancel_on_kill: bool

    @property
    def log(self) -> Any: ...

    async def on_kill(self) -> None: ...


async def on_kill_when_user_killed(trigger: Killable, waiting: Awaitable[T]) -> T:
    """Await ``waiting``; if that is cancelled because a user killed the task, run ``trigger.on_kill`` first.

    The check and cancel go on when the triggerer cancels the trigger again (``run_to_completion``).
    """
    try:
        return await waiting
    except asyncio.CancelledError:
        if not compat.TRIGGER_ON_KILL and trigger.cancel_on_kill:
            await run_to_completion(_fallback(trigger))
        raise


async def _fallback(trigger: Killable) -> None:
    try:
        await asyncio.wait_for(_on_kill_if_not_deferred(trigger), KILL_FALLBACK_TIMEOUT)
    except Exception as err:
        trigger.log.warning("Could not cancel the Data Flow run after the trigger was stopped: %s", err)


async def _on_kill_if_not_deferred(trigger: Killable) -> None:
    state = await task_state(trigger.task_instance)
    if state is None:
        trigger.log.warning(
            "Trigger stopped and the task's state is unknown; leaving the Data Flow run running"
            " (cancel it by hand if the task was killed)"
        )
        return
    if state == DEFERRED:
        trigger.log.info("Trigger stopped while the task is still deferred (triggerer stop or move); run kept")
        return
    trigger.log.info("Trigger stopped and the task is now %s: treating it as a kill", state)
    await trigger.on_kill()


async def task_state(ti: Any) -> str | None:
    """The task instance's state as the API server sees it (``NO_STATE`` once cleared); None if unreadable."""
    if ti is None:
        return None
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
    from asgiref.sync import sync_to_async

    try:
        # The supervisor answers a blocking send only from a thread sync_to_async started.
        states = await sync_to_async(RuntimeTaskInstance.get_task_states)(
            dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id], map_index=ti.map_index
        )
    except Exception:
        return None
    key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}_{ti.map_index}"
    if key not in states.get(ti.run_id, {}):
        return None
    state = states[ti.run_id][key]
    return NO_STATE if state is None else str(getattr(state, "value", state))

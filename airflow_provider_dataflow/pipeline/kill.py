"""The one kill decision, on every Airflow 3 release: read the task's state, then cancel the run, shielded.

Who asks a trigger to stop its run:

- Airflow 3.3+ awaits the trigger's ``on_kill`` when a user marks the deferred task failed or success,
  or clears it; 3.3.2 also does so for triggers it moved away from a triggerer whose loop stalled, and
  those runs are still wanted (another triggerer waits for them).
- Before 3.3 nothing is called: the trigger is cancelled, exactly as on a triggerer restart or move, so
  the fallback (:func:`cancel_when_killed`) asks the same question when the trigger is cancelled.

The task instance answers it: after a user's action it has left ``deferred``; after a move or a restart
it is still deferred. So: still deferred, keep the run; any other state, cancel. When the state cannot
be read, cancel only if Airflow itself said it was a kill (``on_kill``): a bare cancellation may be a
restart, which must never kill healthy Spark jobs (apache/airflow#41231).

The decision and the cancel run in a task of their own: Airflow cancels a killed trigger's task again
while ``on_kill`` runs (3.2.2 milliseconds later, 3.3.2 on the triggerer's next loop), which must not
cut a cancel off halfway, e.g. while it backs off after a 503.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from airflow_provider_dataflow import compat
from airflow_provider_dataflow.pipeline.steps import adrive, blocking_performer, drive
from airflow_provider_dataflow.pipeline.wait import cancel_and_confirm_steps
from airflow_provider_dataflow.pipeline.watch.performer import EventLoopPerformer

if TYPE_CHECKING:
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook

T = TypeVar("T")

#: Bound on reading the task's state; its first call may build the in-process execution API (~10 s on
#: two loaded cores). The cancel goes on past Airflow's ``[triggerer] on_kill_timeout`` (shielded).
STATE_READ_TIMEOUT = 25.0
DEFERRED = "deferred"
#: A cleared task instance has no state until the scheduler picks it up again.
NO_STATE = "none"

#: Kills in flight; the event loop holds only weak references to tasks.
_in_flight: set[asyncio.Future[Any]] = set()


class AskedBy(str, Enum):
    ON_KILL = "on_kill"  # Airflow 3.3+ said the task was killed
    CANCELLATION = "cancellation"  # the trigger was cancelled (before 3.3: kill, restart or move alike)


class Killable(Protocol):
    """What the decision needs from a trigger."""

    task_instance: Any
    cancel_on_kill: bool

    @property
    def log(self) -> Any: ...

    def hook(self) -> DataflowHook: ...

    async def run_to_cancel(self) -> str | None: ...


def should_cancel(state: str | None, asked_by: AskedBy) -> bool:
    """The rule. ``state``: the task instance's state, ``NO_STATE`` once cleared, None when unreadable."""
    if state is None:
        return asked_by is AskedBy.ON_KILL
    return state != DEFERRED


async def on_kill(trigger: Killable, asked_by: AskedBy = AskedBy.ON_KILL) -> None:
    """Decide and cancel in a task of its own, which goes on when the caller is cancelled again."""
    work = asyncio.ensure_future(_decide_and_cancel(trigger, asked_by))
    _in_flight.add(work)
    work.add_done_callback(_in_flight.discard)
    await asyncio.shield(work)


async def cancel_when_killed(trigger: Killable, waiting: Awaitable[T]) -> T:
    """Await ``waiting``; before 3.3, when a cancellation stops it, take the kill decision first."""
    try:
        return await waiting
    except asyncio.CancelledError:
        if not compat.TRIGGER_ON_KILL and trigger.cancel_on_kill:
            await on_kill(trigger, AskedBy.CANCELLATION)
        raise


def cancel_now(hook: DataflowHook, run_id: str, log: logging.Logger | Any) -> None:
    """A worker's kill (the synchronous wait killed, or ``execution_timeout``): cancel and confirm."""
    log.info("Cancelling Data Flow run %s", run_id)
    drive(cancel_and_confirm_steps(run_id, log), blocking_performer(hook))


async def _decide_and_cancel(trigger: Killable, asked_by: AskedBy) -> None:
    log = trigger.log
    try:
        if not trigger.cancel_on_kill:
            log.info("cancel_on_kill is off; leaving the Data Flow run running")
            return
        run_id = await trigger.run_to_cancel()
        if not run_id:
            return
        state = await task_state(trigger.task_instance)
        if not should_cancel(state, asked_by):
            log.info(
                "The trigger stopped (%s) and the task is %s: it still waits elsewhere; leaving Data Flow run %s",
                asked_by.value,
                state or "in an unknown state",
                run_id,
            )
            return
        log.info("Task was killed by a user (task state %s); cancelling Data Flow run %s", state, run_id)
        await adrive(cancel_and_confirm_steps(run_id, log), EventLoopPerformer(trigger.hook()).perform)
    except Exception as err:
        log.warning("Could not cancel the Data Flow run after the kill: %s", err)


async def task_state(ti: Any) -> str | None:
    """The task instance's state as the API server sees it (``NO_STATE`` once cleared); None if unreadable."""
    if ti is None:
        return None
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
    from asgiref.sync import sync_to_async

    try:
        # The supervisor answers a blocking send only from a thread sync_to_async started.
        read = sync_to_async(RuntimeTaskInstance.get_task_states)
        states = await asyncio.wait_for(
            read(dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id], map_index=ti.map_index),
            STATE_READ_TIMEOUT,
        )
    except Exception:
        return None
    key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}_{ti.map_index}"
    if key not in states.get(ti.run_id, {}):
        return None
    state = states[ti.run_id][key]
    return NO_STATE if state is None else str(getattr(state, "value", state))

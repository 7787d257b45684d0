"""Perform the pipeline's steps (``pipeline.steps``) from the event loop: the triggerer's driver.

Polls go through the compartment's shared watcher whenever sharing pays; otherwise, and for every
other call, the trigger calls the service itself through the hook's event-loop path (request budget,
thread pool of the call's kind). A trigger that does not know its run's compartment (serialised by an
earlier release) learns it from its first read.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from airflow_provider_dataflow.hooks.operations import get_run
from airflow_provider_dataflow.pipeline.steps import Blocking, Call, Step
from airflow_provider_dataflow.pipeline.watch.registry import watcher_for

if TYPE_CHECKING:
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook
    from airflow_provider_dataflow.pipeline.watch.watcher import CompartmentWatcher


class EventLoopPerformer:
    """Performs one trigger's steps; ``close()`` (always, in ``finally``) detaches it from its watcher."""

    def __init__(self, hook: DataflowHook, compartment_id: str | None = None) -> None:
        self._hook = hook
        self._compartment_id = compartment_id
        self._watched: tuple[CompartmentWatcher, str] | None = None

    async def perform(self, step: Step) -> Any:
        if isinstance(step, Blocking):
            from asgiref.sync import sync_to_async

            # The supervisor answers blocking calls (secret masking) only from a thread sync_to_async started.
            return await sync_to_async(step.work)()
        if isinstance(step, Call):
            await asyncio.sleep(step.delay)
            return await self._hook.acall(step.operation)
        # A Poll, inline rather than in a method of its own: one coroutine frame fewer per waiting trigger.
        started = time.monotonic()
        watcher = await self._attached_watcher(step.run_id)
        if watcher is not None and watcher.sharing():
            changed = await watcher.wait_for_change(step.run_id, step)
            if changed is not None:
                return changed
        # Handed back early (a watcher that crashed at once, say): still never faster than the poll's own pace.
        await asyncio.sleep(max(0.0, step.delay - (time.monotonic() - started)))
        run = await self._hook.acall(get_run(step.run_id))
        self._compartment_id = self._compartment_id or run.get("compartment_id")
        return run

    def close(self) -> None:
        if self._watched is not None:
            watcher, run_id = self._watched
            watcher.detach(run_id)
            self._watched = None

    async def _attached_watcher(self, run_id: str) -> CompartmentWatcher | None:
        if self._watched is None and self._compartment_id:
            watcher = await watcher_for(self._hook, self._compartment_id)
            watcher.attach(run_id)
            self._watched = (watcher, run_id)
        return self._watched[0] if self._watched else None

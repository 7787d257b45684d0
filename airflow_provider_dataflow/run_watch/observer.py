"""Perform one trigger's wait steps (``run_wait``) from the event loop.

Polls go through the compartment's shared watcher whenever sharing pays; otherwise, and for
cancels and confirm reads, the trigger calls the service itself, exactly as without a watcher. A
trigger that does not know its run's compartment (serialised by an earlier release) learns it from
its first read.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from airflow_provider_dataflow.run_wait import Cancel, Poll, Step
from airflow_provider_dataflow.run_watch.registry import watcher_for

if TYPE_CHECKING:
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook
    from airflow_provider_dataflow.run_watch.watcher import CompartmentWatcher


class RunObserver:
    """Steps for one run; ``close()`` (always, in ``finally``) detaches it from its watcher."""

    def __init__(self, hook: DataflowHook, run_id: str, compartment_id: str | None) -> None:
        self._hook = hook
        self._run_id = run_id
        self._compartment_id = compartment_id
        self._watcher: CompartmentWatcher | None = None

    async def perform(self, step: Step) -> Any:
        if isinstance(step, Cancel):
            await asyncio.sleep(step.delay)
            return await self._hook.acancel_run(self._run_id)
        started = time.monotonic()
        if isinstance(step, Poll):
            watcher = await self._attached_watcher()
            if watcher is not None and watcher.sharing():
                changed = await watcher.wait_for_change(self._run_id, step)
                if changed is not None:
                    return changed
        # Handed back early (a watcher that crashed at once, say): still never faster than the poll's own pace.
        await asyncio.sleep(max(0.0, step.delay - (time.monotonic() - started)))
        return await self._read()

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.detach(self._run_id)
            self._watcher = None

    async def _attached_watcher(self) -> CompartmentWatcher | None:
        if self._watcher is None and self._compartment_id:
            self._watcher = await watcher_for(self._hook, self._compartment_id)
            self._watcher.attach(self._run_id)
        return self._watcher

    async def _read(self) -> dict[str, Any]:
        run = await self._hook.aget_run(self._run_id)
        self._compartment_id = self._compartment_id or run.get("compartment_id")
        return run

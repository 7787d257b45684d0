"""Whether this process's event loop stalled lately, so a cancel may not have been a user's.

Airflow reassigns a live triggerer's triggers when its heartbeat is late (CPU starvation, a long
garbage collection, a stopped process). When that triggerer carries on, Airflow 3.3.2 cancels the
triggers it lost through the same path as a user's mark-failed or clear, and awaits their
``on_kill``: cancelling there would kill runs the other triggerer still waits for. A loop that never
stalled gets ``on_kill`` only from a user, so it cancels at once; after a stall, the trigger asks
for its task's state first (``kill_fallback.task_state``).
"""

from __future__ import annotations

import asyncio
import time
import weakref

TICK_SECONDS = 1.0
STALL_SECONDS = 5.0  # a loop this late has been stopped or starved: its triggerer may have lost triggers
REMEMBER_SECONDS = 600.0


class StallWatch:
    """A tick per second; remembers when the loop last woke up ``STALL_SECONDS`` late or more."""

    def __init__(self) -> None:
        self.last_stall: float | None = None
        self._task: asyncio.Task[None] | None = None

    def ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._tick(), name="dataflow-loop-stall-watch")

    def stalled_recently(self) -> bool:
        return self.last_stall is not None and time.monotonic() - self.last_stall < REMEMBER_SECONDS

    async def _tick(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(TICK_SECONDS)
            if time.monotonic() - before - TICK_SECONDS >= STALL_SECONDS:
                self.last_stall = time.monotonic()


_watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, StallWatch] = weakref.WeakKeyDictionary()


def watch_loop() -> StallWatch:
    """The running loop's watch, started on first use (one tiny task per process, whatever the triggers)."""
    watch = _watches.setdefault(asyncio.get_running_loop(), StallWatch())
    watch.ensure_running()
    return watch

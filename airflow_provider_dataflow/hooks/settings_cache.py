"""Share one connection lookup between the many triggers of a triggerer process.

A triggerer that resumes a thousand deferred tasks would otherwise fetch the same connection a
thousand times, each fetch costing a round trip to the supervisor on the event loop. Lookups are
single-flight (concurrent callers await the same fetch) and expire, so edited connections (a
rotated key, say) are picked up within ``ttl`` seconds, or at once by ``replace`` when the service
refused the value in hand. The fetch runs in a task of its own: a
caller cancelled while it waits (its trigger killed) stops waiting, and the others still get the value.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

DEFAULT_TTL_SECONDS = 300.0


class AsyncTtlCache(Generic[K, V]):
    """Single-flight, time-limited cache of awaited values (for one event loop at a time)."""

    def __init__(self, ttl: float = DEFAULT_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._entries: dict[K, tuple[float, asyncio.Task[V]]] = {}

    async def get(self, key: K, load: Callable[[], Coroutine[Any, Any, V]]) -> V:
        loop = asyncio.get_running_loop()
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic() or entry[1].get_loop() is not loop:
            task = loop.create_task(load(), name=f"dataflow-connection-lookup[{key}]")
            self._entries[key] = (time.monotonic() + self.ttl, task)
            task.add_done_callback(lambda done: self._forget_failure(key, done))
            entry = self._entries[key]
        return await asyncio.shield(entry[1])

    async def replace(self, key: K, stale: V, load: Callable[[], Coroutine[Any, Any, V]]) -> V:
        """The value for ``key``, loaded again if it still is ``stale`` (refused, say): many callers that held
        the same stale value share one new lookup, and those that come after it get its result."""
        entry = self._entries.get(key)
        if entry is not None and _holds(entry[1], stale):
            del self._entries[key]
        return await self.get(key, load)

    def _forget_failure(self, key: K, task: asyncio.Task[V]) -> None:
        """Failures are not cached: the next caller looks the connection up again."""
        if (task.cancelled() or task.exception() is not None) and self._entries.get(key, (0, None))[1] is task:
            del self._entries[key]


def _holds(task: asyncio.Task[V], value: V) -> bool:
    return task.done() and not task.cancelled() and task.exception() is None and task.result() is value

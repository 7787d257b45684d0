"""Share one connection lookup between the many triggers of a triggerer process.

A triggerer that resumes a thousand deferred tasks would otherwise fetch the same connection a
thousand times, each fetch costing a round trip to the supervisor on the event loop. Lookups are
single-flight (concurrent callers await the same fetch) and expire, so edited connections (a
rotated key, say) are picked up within ``ttl`` seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

DEFAULT_TTL_SECONDS = 300.0


class AsyncTtlCache(Generic[K, V]):
    """Single-flight, time-limited cache of awaited values (for one event loop at a time)."""

    def __init__(self, ttl: float = DEFAULT_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._entries: dict[K, tuple[float, asyncio.Future[V]]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        loop = asyncio.get_running_loop()
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic() or entry[1].get_loop() is not loop:
            future: asyncio.Future[V] = loop.create_future()
            self._entries[key] = (time.monotonic() + self.ttl, future)
            try:
                future.set_result(await load())
            except BaseException as err:
                self._entries.pop(key, None)  # do not cache failures
                future.set_exception(err)
                future.exception()  # mark retrieved: the caller below re-raises it
                raise
            return future.result()
        return await asyncio.shield(entry[1])

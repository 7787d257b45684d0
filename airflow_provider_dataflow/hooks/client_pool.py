"""Run blocking oci SDK calls off the event loop, with one client per thread and connection.

The oci SDK has no async Data Flow client, so the trigger's calls run in one bounded thread pool
per process. Each pool thread keeps its own ``DataFlowClient`` per connection settings, so a
triggerer watching thousands of runs holds at most ``max_workers`` clients per connection, reuses
their HTTP keep-alive sessions, and never shares a requests session between threads.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_MAX_WORKERS = int(os.environ.get("AIRFLOW_PROVIDER_DATAFLOW_ASYNC_THREADS", "16"))


class ClientPool:
    """A bounded thread pool whose threads cache one client per key."""

    def __init__(self, max_workers: int = DEFAULT_MAX_WORKERS) -> None:
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="dataflow-sdk")
        self._local = threading.local()

    async def call(self, key: Hashable, build_client: Callable[[], Any], fn: Callable[[Any], T]) -> T:
        """Await ``fn(client)`` on a pool thread, building that thread's client for ``key`` once."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call_with_client, key, build_client, fn)

    def _call_with_client(self, key: Hashable, build_client: Callable[[], Any], fn: Callable[[Any], T]) -> T:
        clients: dict[Hashable, Any] = self._local.__dict__.setdefault("clients", {})
        client = clients.get(key)
        if client is None:
            client = clients[key] = build_client()
        return fn(client)


_shared_pool: ClientPool | None = None
_shared_pool_lock = threading.Lock()


def shared_client_pool() -> ClientPool:
    """The process-wide pool (created on first use, so importing costs nothing)."""
    global _shared_pool
    with _shared_pool_lock:
        if _shared_pool is None:
            _shared_pool = ClientPool()
        return _shared_pool

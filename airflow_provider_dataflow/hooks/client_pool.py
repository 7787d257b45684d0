"""Run blocking oci SDK calls off the event loop, sharing credentials and reusing clients.

The oci SDK has no async Data Flow client, so the triggerer's calls run in bounded thread pools, one
per kind of call (``operations.CallKind``): throttled creates or a long search for an earlier run can
only fill their own few threads, never the ones that waits poll through. Two costs are paid once
instead of per trigger:

- credentials (config + signer) are built once per connection settings and shared by every
  thread: parsing an RSA key holds the GIL for ~40 ms, which would freeze the triggerer's
  event loop if each of many threads did it;
- each thread keeps its own client per connection settings, so HTTP keep-alive sessions are
  reused and no requests session is shared between threads.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Hashable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

from airflow_provider_dataflow.hooks.operations import CallKind

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

# Few threads on purpose: the work is mostly waiting on the network, and every extra thread
# competes with the event loop for the GIL while it signs and parses.
POLL_THREADS = int(os.environ.get("AIRFLOW_PROVIDER_DATAFLOW_ASYNC_THREADS", "4"))
THREADS_PER_KIND: Mapping[CallKind, int] = {
    CallKind.POLL: POLL_THREADS,
    CallKind.CANCEL: 2,
    CallKind.SUBMIT: 2,
    CallKind.SEARCH: 1,
    CallKind.READ: 1,
}


class ClientPool(Generic[K]):
    """Per-thread clients over per-key shared credentials, plus a bounded thread pool per kind of call."""

    def __init__(
        self,
        make_credentials: Callable[[K], Any],
        make_client: Callable[[K, Any], Any],
        threads: Mapping[CallKind, int] = THREADS_PER_KIND,
    ) -> None:
        self._make_credentials = make_credentials
        self._make_client = make_client
        self._credentials: dict[K, Any] = {}
        self._credentials_locks: dict[K, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._local = threading.local()
        self._threads = dict(threads)
        self._executors = {
            kind: ThreadPoolExecutor(max_workers=count, thread_name_prefix=f"dataflow-{kind.value}")
            for kind, count in threads.items()
        }
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[CallKind, asyncio.Semaphore]] = (
            weakref.WeakKeyDictionary()
        )

    @asynccontextmanager
    async def slot(self, kind: CallKind) -> AsyncIterator[None]:
        """One of ``kind``'s places, as many as its threads: callers wait here, before the request budget,
        so a thousand queued creates never stand in the budget's queue ahead of the waits' polls."""
        slots = self._slots.setdefault(asyncio.get_running_loop(), {})
        semaphore = slots.get(kind)
        if semaphore is None:
            semaphore = slots[kind] = asyncio.Semaphore(self._threads[kind])
        async with semaphore:
            yield

    def client(self, key: K) -> Any:
        """This thread's client for ``key`` (built on first use; blocking)."""
        clients: dict[K, Any] = self._local.__dict__.setdefault("clients", {})
        if key not in clients:
            clients[key] = self._make_client(key, self._credentials_for(key))
        return clients[key]

    async def call(self, key: K, kind: CallKind, fn: Callable[[Any], T]) -> T:
        """Await ``fn(client)`` on a thread of ``kind``'s pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executors[kind], lambda: fn(self.client(key)))

    def _credentials_for(self, key: K) -> Any:
        """Built once per key; a lock per key, so a slow principal signer never delays other connections."""
        with self._locks_lock:
            lock = self._credentials_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._credentials:
                self._credentials[key] = self._make_credentials(key)
            return self._credentials[key]

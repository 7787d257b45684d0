"""Run blocking oci SDK calls off the event loop, sharing credentials and reusing clients.

The oci SDK has no async clients, so the triggerer's calls run in bounded thread pools, one per kind
of call (``operations.CallKind``): throttled creates or a long search for an earlier run can only fill
their own few threads, never the ones that waits poll through. A place is held until its thread is done
with the call, also when the caller was cancelled meanwhile, and every call has its kind's connect and
read timeouts: a hung call holds its thread no longer than that. Two costs are paid once instead of per
trigger:

- credentials (config + signer) are built once per connection settings and shared by every
  thread: parsing an RSA key holds the GIL for ~40 ms, which would freeze the triggerer's
  event loop if each of many threads did it;
- each thread keeps its own client per connection settings and service, so HTTP keep-alive sessions
  are reused and no requests session is shared between threads.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from airflow_provider_dataflow.hooks.operations import CallKind, Service

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
    CallKind.LOGS: 2,
    CallKind.READ: 1,
}
#: (connect, read) seconds per kind: a read answers in well under a second, so a silent peer is given up
#: on soon and the wait backs off and tries again; a create may take the service longer.
TIMEOUTS: Mapping[CallKind, tuple[float, float]] = {
    CallKind.POLL: (5.0, 30.0),
    CallKind.CANCEL: (5.0, 30.0),
    CallKind.SUBMIT: (10.0, 60.0),
    CallKind.SEARCH: (10.0, 60.0),
    CallKind.LOGS: (10.0, 60.0),
    CallKind.READ: (10.0, 120.0),
}

MakeClient = Callable[[K, Any, Service], Any]


class ClientPool(Generic[K]):
    """Per-thread clients over per-key shared credentials, plus a bounded thread pool per kind of call."""

    def __init__(
        self,
        make_credentials: Callable[[K], Any],
        make_client: MakeClient[K],
        threads: Mapping[CallKind, int] = THREADS_PER_KIND,
    ) -> None:
        self._make_credentials = make_credentials
        self._make_client = make_client
        self._credentials: dict[K, tuple[int, Any]] = {}  # key -> (generation, credentials)
        self._generations = itertools.count()
        self._credentials_locks: dict[K, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._local = threading.local()
        self._threads = dict(threads)
        self._busy: Counter[CallKind] = Counter()
        self._executors = {
            kind: ThreadPoolExecutor(max_workers=count, thread_name_prefix=f"dataflow-{kind.value}")
            for kind, count in threads.items()
        }
        self._places: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[CallKind, asyncio.Semaphore]] = (
            weakref.WeakKeyDictionary()
        )

    def client(self, key: K, service: Service = Service.DATA_FLOW) -> Any:
        """This thread's client for ``key`` (built on first use, and again after ``forget``; blocking)."""
        clients: dict[tuple[K, Service], tuple[int, Any]] = self._local.__dict__.setdefault("clients", {})
        generation, credentials = self._credentials_for(key)
        cached = clients.get((key, service))
        if cached is not None and cached[0] == generation:
            return cached[1]
        for stale in [entry for entry in clients if entry[0] not in self._credentials]:
            del clients[stale]  # built from credentials since forgotten and not used again (a rotated key)
        client = self._make_client(key, credentials, service)
        clients[(key, service)] = (generation, client)
        return client

    def forget(self, key: K) -> None:
        """Drop ``key``'s credentials: every thread's next call builds them, and its client, again."""
        with self._locks_lock:
            self._credentials.pop(key, None)

    def busy(self, kind: CallKind) -> int:
        """Calls of ``kind`` holding a place: waiting for the request budget or running on a thread."""
        return self._busy[kind]

    async def call(
        self,
        key: K,
        kind: CallKind,
        fn: Callable[[Any], T],
        *,
        admitted: Callable[[], Awaitable[None]],
        service: Service = Service.DATA_FLOW,
    ) -> T:
        """Await ``fn(client)`` on a thread of ``kind``'s pool.

        First one of ``kind``'s places (as many as its threads: callers queue here, before ``admitted``, the
        request budget, so a thousand queued creates never stand ahead of the waits' polls), then
        ``admitted()``, then the thread. The place is given back when the thread is done with the call: a
        caller cancelled meanwhile (its trigger killed) stops waiting, but its call still holds the thread.
        """
        loop = asyncio.get_running_loop()
        place = self._place(loop, kind)
        await place.acquire()
        self._busy[kind] += 1

        def give_back() -> None:
            self._busy[kind] -= 1
            place.release()

        try:
            await admitted()
            running: Future[T] = self._executors[kind].submit(self.perform, key, kind, fn, service)
        except BaseException:
            give_back()
            raise
        running.add_done_callback(lambda _: loop.call_soon_threadsafe(give_back))
        return await asyncio.wrap_future(running)

    def perform(self, key: K, kind: CallKind, fn: Callable[[Any], T], service: Service = Service.DATA_FLOW) -> T:
        """``fn(client)`` on the calling thread, within ``kind``'s timeouts."""
        client = self.client(key, service)
        client.base_client.timeout = TIMEOUTS[kind]  # this thread's own client: no other call sees it
        return fn(client)

    def _place(self, loop: asyncio.AbstractEventLoop, kind: CallKind) -> asyncio.Semaphore:
        places = self._places.setdefault(loop, {})
        place = places.get(kind)
        if place is None:
            place = places[kind] = asyncio.Semaphore(self._threads[kind])
        return place

    def _credentials_for(self, key: K) -> tuple[int, Any]:
        """Built once per key; a lock per key, so a slow principal signer never delays other connections."""
        with self._locks_lock:
            lock = self._credentials_locks.setdefault(key, threading.Lock())
        with lock:
            entry = self._credentials.get(key)
            if entry is None:
                entry = self._credentials[key] = (next(self._generations), self._make_credentials(key))
            return entry

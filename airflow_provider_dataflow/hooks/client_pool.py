"""Run blocking oci SDK calls off the event loop, sharing credentials and reusing clients.

The oci SDK has no async Data Flow client, so the trigger's calls run in one bounded thread pool
per process. Two costs are paid once instead of per trigger:

- credentials (config + signer) are built once per connection settings and shared by every
  thread: parsing an RSA key holds the GIL for ~40 ms, which would freeze the triggerer's
  event loop if each of many threads did it;
- each pool thread keeps its own client per connection settings, so HTTP keep-alive sessions are
  reused and no requests session is shared between threads.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

# Few threads on purpose: the work is mostly waiting on the network, and every extra thread
# competes with the event loop for the GIL while it signs and parses.
DEFAULT_MAX_WORKERS = int(os.environ.get("AIRFLOW_PROVIDER_DATAFLOW_ASYNC_THREADS", "4"))


class ClientPool(Generic[K]):
    """Per-thread clients over per-key shared credentials, plus a bounded pool to run calls in."""

    def __init__(
        self,
        make_credentials: Callable[[K], Any],
        make_client: Callable[[K, Any], Any],
        max_workers: int = DEFAULT_MAX_WORKERS,
    ) -> None:
        self._make_credentials = make_credentials
        self._make_client = make_client
        self._credentials: dict[K, Any] = {}
        self._credentials_lock = threading.Lock()
        self._local = threading.local()
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="dataflow-sdk")

    def client(self, key: K) -> Any:
        """This thread's client for ``key`` (built on first use; blocking)."""
        clients: dict[K, Any] = self._local.__dict__.setdefault("clients", {})
        if key not in clients:
            clients[key] = self._make_client(key, self._credentials_for(key))
        return clients[key]

    async def call(self, key: K, fn: Callable[[Any], T]) -> T:
        """Await ``fn(client)`` on a pool thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(self.client(key)))

    def _credentials_for(self, key: K) -> Any:
        with self._credentials_lock:
            if key not in self._credentials:
                self._credentials[key] = self._make_credentials(key)
            return self._credentials[key]

"""A bounded record of every Data Flow API request, for assertions in tests and for benchmarks.

Entries are plain dicts with snake_case keys (time, method, path, query, status, key_id, principal_id,
opc_retry_token, opc_request_id, opc_parent_rpt_url, body, fault, duration_ms); Python tests read them.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

DEFAULT_CAPACITY = 100_000


class Journal:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

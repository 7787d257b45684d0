"""A bounded record of every Data Flow API request, for assertions in tests and for benchmarks.

Entries are plain dicts with snake_case keys (time, method, path, query, status, key_id, principal_id,
opc_retry_token, opc_request_id, opc_parent_rpt_url, body, fault, duration_ms); Python tests read them.
The oldest entries fall out past ``limit``; a limit of 0 records nothing (long benchmarks save the memory).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

DEFAULT_LIMIT = 100_000


class Journal:
    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=_checked(limit))
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        return self._entries.maxlen or 0

    @property
    def enabled(self) -> bool:
        """False at limit 0, so the server need not even build entries."""
        return self.limit > 0

    def set_limit(self, limit: int) -> None:
        """Keeps the newest entries that fit the new limit."""
        with self._lock:
            self._entries = deque(self._entries, maxlen=_checked(limit))

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def count(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _checked(limit: int) -> int:
    if limit < 0:
        raise ValueError(f"the journal limit must not be negative (0 records nothing), got {limit}")
    return limit

"""Request counters and process figures for benchmark reports (``GET /_emulator/stats``).

``cpuSeconds`` is ``time.process_time()`` of the process serving the emulator: for an in-process
``DataflowEmulator`` that includes the test itself; for ``python -m ...emulator`` it is the emulator's alone.
"""

from __future__ import annotations

import threading
import time
from typing import Any


class RequestCounters:
    """Counts survive ``reset()``, like the process figures beside them; report differences between reads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._api = 0
        self._control = 0

    def count_api(self) -> None:
        with self._lock:
            self._api += 1

    def count_control(self) -> None:
        with self._lock:
            self._control += 1

    def to_json(self, runs: int, journal_entries: int) -> dict[str, Any]:
        with self._lock:
            api, control = self._api, self._control
        return {
            "apiRequests": api,
            "controlRequests": control,
            "cpuSeconds": time.process_time(),
            "uptimeSeconds": time.monotonic() - self._started,
            "runs": runs,
            "journalEntries": journal_entries,
        }

"""Which compartments callers may use: all of them by default, or only a configured set.

IAM answers a request naming a compartment the caller may not use as if the resource did not exist
(404 NotAuthorizedOrNotFound), so a test can check what a DAG does with a wrong compartment OCID.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from airflow_provider_dataflow.testing.emulator.errors import not_found


class CompartmentScope:
    def __init__(self, allowed: Iterable[str] | None = None) -> None:
        self._lock = threading.Lock()
        self._allowed = frozenset(allowed) if allowed is not None else None

    @property
    def allowed(self) -> frozenset[str] | None:
        """None: every compartment."""
        with self._lock:
            return self._allowed

    def set(self, allowed: Iterable[str] | None) -> None:
        with self._lock:
            self._allowed = frozenset(allowed) if allowed is not None else None

    def check(self, compartment_id: str) -> None:
        """Raise the service's 404 for a compartment outside the set."""
        allowed = self.allowed
        if allowed is not None and compartment_id not in allowed:
            raise not_found(f"compartment {compartment_id}")

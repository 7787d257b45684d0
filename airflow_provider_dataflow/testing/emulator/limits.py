"""The tenancy's limit on the OCPUs of its runs outside pools, set from tests (no limit by default).

Oracle's "Supported Spark Properties" page: without ``spark.dataflow.acquireQuotaTimeout`` "a run is
accepted only if the required resources are available"; with it the run is "held in an internal queue
... released when resources become available". The refusal is the service's common 400 LimitExceeded
("Fulfilling this request exceeds the Oracle-defined limit for this tenancy", API Errors page).
"""

from __future__ import annotations

import threading

from airflow_provider_dataflow.testing.emulator.errors import ApiError

LIMIT_EXCEEDED = "Fulfilling this request exceeds the Oracle-defined limit for this tenancy for this resource type."
TENANCY = "tenancy"  # the queue of runs waiting for the tenancy's OCPUs
OCPU = "ocpu"


class TenancyLimits:
    def __init__(self, ocpus: float | None = None) -> None:
        self._lock = threading.Lock()
        self._ocpus: float | None = None
        self.set_ocpus(ocpus)

    @property
    def ocpus(self) -> float | None:
        """Concurrent OCPUs the tenancy's runs outside pools may hold; None: no limit."""
        with self._lock:
            return self._ocpus

    def set_ocpus(self, ocpus: float | None) -> None:
        if ocpus is not None and (isinstance(ocpus, bool) or not isinstance(ocpus, (int, float)) or ocpus < 0):
            raise ValueError(f"the OCPU limit must be a number >= 0, or null for none; got {ocpus!r}")
        with self._lock:
            self._ocpus = None if ocpus is None else float(ocpus)

    def to_json(self) -> dict[str, float | None]:
        return {"ocpus": self.ocpus}


def limit_exceeded(need: float, in_use: float, limit: float) -> ApiError:
    return ApiError(
        400,
        "LimitExceeded",
        f"{LIMIT_EXCEEDED} The run needs {need:g} OCPUs; the tenancy's runs hold {in_use:g} of its {limit:g}. "
        "Set spark.dataflow.acquireQuotaTimeout to queue the run instead.",
    )

"""Which OCI Logging logs a run writes to: its application log, and its application's diagnostic log.

- The application log is the run's ``applicationLogConfig`` (``logGroupId``, ``logId``), set on the run
  or inherited from its application (``run_details``). The emulator has no Logging management API, so a
  log lives in the run's compartment unless a test registered it elsewhere (``register``).
- The Spark diagnostic log is a Logging *service* log enabled on an application; Oracle streams it only
  for runs submitted after it was enabled ("Details for Data Flow"). ``enable_diagnostic`` stands in for
  enabling it in the console.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_dataflow.testing.emulator.log_records import APPLICATION, DIAGNOSTIC, LogTarget, RunLines

if TYPE_CHECKING:
    from airflow_provider_dataflow.testing.emulator.runs import RunRecord

DEFAULT_MAX_RESULTS = 10_000  # the emulator's "search result is too large" threshold (docs/emulator.md)


@dataclass(frozen=True)
class _DiagnosticLog:
    compartment_id: str
    log_group_id: str
    log_id: str
    enabled_at: float


class LogCatalog:
    """Thread-safe; cleared with the emulator's state."""

    def __init__(self) -> None:
        self._compartments: dict[str, str] = {}  # log id -> compartment, for logs a test placed
        self._diagnostic: dict[str, _DiagnosticLog] = {}  # application id -> its service log
        self.max_results = DEFAULT_MAX_RESULTS
        self._lock = threading.Lock()

    def register(self, log_id: str, compartment_id: str) -> None:
        """The compartment a custom log is in (otherwise: the compartment of the run writing to it)."""
        with self._lock:
            self._compartments[log_id] = compartment_id

    def enable_diagnostic(
        self, application_id: str, compartment_id: str, log_group_id: str, log_id: str, now: float
    ) -> None:
        """Stream the Spark diagnostic logs of the application's runs submitted from ``now`` on."""
        with self._lock:
            self._diagnostic[application_id] = _DiagnosticLog(compartment_id, log_group_id, log_id, now)
            self._compartments[log_id] = compartment_id

    def clear(self) -> None:
        with self._lock:
            self._compartments.clear()
            self._diagnostic.clear()
            self.max_results = DEFAULT_MAX_RESULTS

    def streams(self, record: RunRecord, now: float) -> list[RunLines]:
        """The run's streams of lines, once it has started; none before."""
        snap = record.snapshot(now)
        if snap.started_at is None:
            return []
        fields = record.fields
        targets = []
        if config := fields.get("applicationLogConfig"):
            compartment = self._compartments.get(config["logId"], fields["compartmentId"])
            targets.append(LogTarget(compartment, config["logGroupId"], config["logId"], APPLICATION))
        diagnostic = self._diagnostic.get(fields.get("applicationId") or "")
        if diagnostic is not None and record.created_at >= diagnostic.enabled_at:
            targets.append(LogTarget(diagnostic.compartment_id, diagnostic.log_group_id, diagnostic.log_id, DIAGNOSTIC))
        return [
            RunLines(record.id, fields["opcRequestId"], snap.started_at, snap.ended_at, record.behaviour.logs, target)
            for target in targets
        ]

"""The run store: creation (with opc-retry-token replay), reads, updates, cancel, and run JSON."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_dataflow.testing.emulator import lifecycle
from airflow_provider_dataflow.testing.emulator.behaviours import Behaviour
from airflow_provider_dataflow.testing.emulator.errors import conflict, etag_mismatch, not_found
from airflow_provider_dataflow.testing.emulator.lifecycle import Event, Plan, Snapshot, Timing
from airflow_provider_dataflow.testing.emulator.logs import LogFile, RunFacts, run_logs
from airflow_provider_dataflow.testing.emulator.retry_tokens import RetryTokens
from airflow_provider_dataflow.testing.emulator.timestamps import rfc3339

RUN_FIELDS = (
    "archiveUri", "arguments", "applicationId", "applicationLogConfig", "className", "compartmentId",
    "configuration", "dataReadInBytes", "dataWrittenInBytes", "definedTags", "displayName", "driverShape",
    "driverShapeConfig", "execute", "executorShape", "executorShapeConfig", "fileUri", "freeformTags", "id",
    "language", "lifecycleDetails", "lifecycleState", "logsBucketUri", "metastoreId", "numExecutors",
    "opcRequestId", "ownerPrincipalId", "ownerUserName", "parameters", "poolId", "privateEndpointDnsZones",
    "privateEndpointMaxHostCount", "privateEndpointNsgIds", "privateEndpointId", "privateEndpointSubnetId",
    "runDurationInMilliseconds", "sparkVersion", "timeCreated", "timeUpdated", "totalOCpu", "type",
    "warehouseBucketUri", "maxDurationInMinutes", "idleTimeoutInMinutes",
)  # fmt: skip
SUMMARY_FIELDS = (
    "applicationId", "compartmentId", "dataReadInBytes", "dataWrittenInBytes", "definedTags", "displayName",
    "freeformTags", "id", "language", "lifecycleDetails", "lifecycleState", "opcRequestId", "ownerPrincipalId",
    "ownerUserName", "poolId", "runDurationInMilliseconds", "totalOCpu", "timeCreated", "timeUpdated", "type",
)  # fmt: skip
# The fields that change with time; every other field is read as stored.
USAGE_FIELDS = ("runDurationInMilliseconds", "dataReadInBytes", "dataWrittenInBytes")
LIVE_FIELDS = ("lifecycleState", "lifecycleDetails", *USAGE_FIELDS, "timeCreated", "timeUpdated")


@dataclass
class RunRecord:
    """A run's static fields plus the schedule its lifecycle is read from."""

    fields: dict[str, Any]
    behaviour: Behaviour
    timing: Timing
    created_at: float
    schedule: list[Event]
    updated_at: float
    revision: int = 0
    retry_token: str | None = None
    time_created: str = field(init=False)

    def __post_init__(self) -> None:
        self.time_created = rfc3339(self.created_at)

    @property
    def id(self) -> str:
        return str(self.fields["id"])

    def plan(self) -> Plan:
        return Plan(
            run_type=self.fields["type"],
            outcome=self.behaviour.outcome,
            failure_details=self.behaviour.failure_details,
            max_duration_minutes=self.fields.get("maxDurationInMinutes"),
            idle_timeout_minutes=self.fields.get("idleTimeoutInMinutes"),
        )

    def snapshot(self, now: float) -> Snapshot:
        return lifecycle.snapshot(self.schedule, now)

    def state(self, now: float) -> str:
        return lifecycle.state_at(self.schedule, now)

    def etag(self, now: float) -> str:
        """Changes whenever the resource does: an update, a cancel, or a lifecycle transition."""
        state = self.state(now)
        return hashlib.sha256(f"{self.id}:{self.revision}:{state}".encode()).hexdigest()[:32]

    def to_json(self, now: float) -> dict[str, Any]:
        document = {name: self.fields.get(name) for name in RUN_FIELDS}
        document.update(self._live_fields(now))
        return document

    def to_summary(self, now: float) -> dict[str, Any]:
        live = self._live_fields(now)
        return {name: live[name] if name in live else self.fields.get(name) for name in SUMMARY_FIELDS}

    def summary_value(self, name: str, now: float) -> Any:
        """``to_summary(now)[name]`` without building the rest: lists filter and sort thousands of runs."""
        if name == "lifecycleState":
            return self.state(now)
        if name == "timeCreated":
            return self.time_created
        if name in USAGE_FIELDS:
            return self._usage(self.snapshot(now), now)[name]
        if name in LIVE_FIELDS:
            return self._live_fields(now)[name]
        return self.fields.get(name)

    def _live_fields(self, now: float) -> dict[str, Any]:
        snap = self.snapshot(now)
        return {
            "lifecycleState": snap.state,
            "lifecycleDetails": snap.details,
            **self._usage(snap, now),
            "timeCreated": self.time_created,
            "timeUpdated": rfc3339(max(snap.entered_at, self.updated_at)),
        }

    def _usage(self, snap: Snapshot, now: float) -> dict[str, int]:
        running_seconds = 0.0
        if snap.started_at is not None:
            running_seconds = (snap.ended_at if snap.ended_at is not None else now) - snap.started_at
        progress = _progress(snap, running_seconds, self.timing.run_seconds)
        return {
            "runDurationInMilliseconds": int(running_seconds * 1000),
            "dataReadInBytes": int(self.behaviour.data_read_in_bytes * progress),
            "dataWrittenInBytes": int(self.behaviour.data_written_in_bytes * progress),
        }

    def logs(self, now: float) -> list[LogFile]:
        """The application's stdout/stderr, "available immediately after the Run completes" (Oracle, "Viewing
        Run Logs"): none while the run is live, none for a run that never started."""
        snap = self.snapshot(now)
        if snap.started_at is None or snap.ended_at is None or snap.state not in lifecycle.TERMINAL_STATES:
            return []
        facts = RunFacts(
            run_id=self.id,
            display_name=self.fields["displayName"],
            language=self.fields.get("language"),
            spark_version=self.fields.get("sparkVersion"),
            started_at=snap.started_at,
            ended_at=snap.ended_at,
        )
        return run_logs(facts, self.behaviour, snap.state)


class RunStore:
    """Thread-safe; every read computes the lifecycle for ``now``.

    Records are changed by swapping whole values (fields, schedule), so a reader never sees half an update.
    """

    def __init__(self) -> None:
        self._runs: dict[str, RunRecord] = {}
        self._by_compartment: dict[str, dict[str, RunRecord]] = {}  # a run never changes compartment here
        self._retry_tokens = RetryTokens()
        self._lock = threading.Lock()

    def create(
        self, fields: dict[str, Any], behaviour: Behaviour, timing: Timing, retry_token: str | None, now: float
    ) -> RunRecord:
        """A retry token seen in the last 24 h returns the run it created instead of a new one."""
        with self._lock:
            replayed = self._retry_tokens.created_by(retry_token, now)
            if replayed in self._runs:
                return self._runs[replayed]
            record = RunRecord(fields, behaviour, timing, now, [], now, retry_token=retry_token)
            record.schedule = lifecycle.natural_schedule(now, timing, record.plan())
            self._runs[record.id] = record
            self._by_compartment.setdefault(record.fields["compartmentId"], {})[record.id] = record
            self._retry_tokens.remember(retry_token, record.id, now)
            return record

    def get(self, run_id: str) -> RunRecord:
        record = self._runs.get(run_id)
        if record is None:
            raise not_found(f"run {run_id}")
        return record

    def all(self) -> list[RunRecord]:
        with self._lock:
            return list(self._runs.values())

    def of_application(self, application_id: str) -> list[RunRecord]:
        with self._lock:
            return [record for record in self._runs.values() if record.fields.get("applicationId") == application_id]

    def in_compartment(self, compartment_id: str) -> list[RunRecord]:
        with self._lock:
            return list(self._by_compartment.get(compartment_id, {}).values())

    def count(self) -> int:
        return len(self._runs)

    def clear(self) -> None:
        with self._lock:
            self._runs.clear()
            self._by_compartment.clear()
            self._retry_tokens.clear()

    def update(self, run_id: str, changes: dict[str, Any], if_match: str | None, now: float) -> RunRecord:
        with self._lock:
            record = self.get(run_id)
            _check_etag(record, if_match, now)
            record.fields = {**record.fields, **changes}
            if {"maxDurationInMinutes", "idleTimeoutInMinutes"} & changes.keys():
                record.schedule = lifecycle.replan(record.schedule, now, record.timing, record.plan())
            record.revision += 1
            record.updated_at = now
            return record

    def cancel(self, run_id: str, if_match: str | None, now: float) -> None:
        """ACCEPTED and IN_PROGRESS runs start CANCELING; cancelling again while CANCELING is a no-op.

        Any other state will not change by waiting: 409 Conflict, which the SDK does not retry.
        """
        with self._lock:
            record = self.get(run_id)
            _check_etag(record, if_match, now)
            state = record.snapshot(now).state
            if state == "CANCELING":
                return
            if state not in ("ACCEPTED", "IN_PROGRESS"):
                raise conflict(f"Run {run_id} is {state} and cannot be canceled.")
            record.schedule = lifecycle.cancel(record.schedule, now, record.timing)
            record.revision += 1

    def finish(self, run_id: str, state: str, details: str | None, now: float) -> RunRecord:
        """Force a terminal state now (control API), e.g. to end a STREAMING run without cancelling."""
        if state not in lifecycle.TERMINAL_STATES:
            raise ValueError(f"state must be one of {', '.join(lifecycle.TERMINAL_STATES)}, got {state!r}")
        with self._lock:
            record = self.get(run_id)
            current = record.snapshot(now).state
            if current in lifecycle.TERMINAL_STATES:
                raise conflict(f"Run {run_id} is already {current}.")
            record.schedule = lifecycle.force(record.schedule, now, state, details)
            record.revision += 1
            return record


def _progress(snap: Snapshot, running_seconds: float, run_seconds: float) -> float:
    """Share of the behaviour's data read/written so far: all of it once the run ended by itself."""
    if snap.started_at is None:
        return 0.0
    if snap.state in lifecycle.OUTCOMES or run_seconds <= 0:
        return 1.0
    return min(1.0, running_seconds / run_seconds)


def _check_etag(record: RunRecord, if_match: str | None, now: float) -> None:
    if if_match is not None and if_match != "*" and if_match != record.etag(now):
        raise etag_mismatch(record.id)

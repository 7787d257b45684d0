"""Pools: create, read, update, start, stop and delete, each state change a timed event read lazily.

A pool's life is a short schedule of ``(time, state)`` events, like a run's: a start plans CREATING now
and ACTIVE after the cold start, a stop plans STOPPING now and STOPPED a moment later. Which runs a
pool holds, and when it stops because it is idle, is ``capacity``'s business; this store keeps the
pool's own rules (what each state allows) and answers every state-changing call with a work request.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_dataflow.testing.emulator.errors import ApiError, conflict, etag_mismatch, not_found
from airflow_provider_dataflow.testing.emulator.lifecycle import Event, state_at
from airflow_provider_dataflow.testing.emulator.retry_tokens import RetryTokens
from airflow_provider_dataflow.testing.emulator.run_details import DEFAULT_SHAPE, DEFAULT_SHAPE_CONFIG
from airflow_provider_dataflow.testing.emulator.signatures import Principal
from airflow_provider_dataflow.testing.emulator.timestamps import rfc3339
from airflow_provider_dataflow.testing.emulator.work_requests import FINAL_STATUSES, WorkRequest, WorkRequestStore

ACTIVE, CREATING, STOPPING, STOPPED = "ACTIVE", "CREATING", "STOPPING", "STOPPED"
DELETING, DELETED = "DELETING", "DELETED"
#: States in which nothing runs: a start starts the pool, a delete is allowed.
AT_REST = ("ACCEPTED", "SCHEDULED", STOPPED, "FAILED")
GONE = (DELETING, DELETED)
TOKEN_OPERATIONS = ("create", "start", "stop")  # the calls that take an opc-retry-token
#: States a test may register a pool in (``POST /_emulator/pools``).
REGISTERED_POOL_STATES = (*AT_REST, ACTIVE)
STARTING_DETAILS = "Starting: provisioning the pool's compute instances."
IDLE_DETAILS = "The pool was idle for idleTimeoutInMinutes"
DEFAULT_POOL_NODES = 4
SUMMARY_FIELDS = (
    "compartmentId", "definedTags", "displayName", "freeformTags", "id", "lifecycleState", "ownerPrincipalId",
    "ownerUserName", "timeCreated", "timeUpdated",
)  # fmt: skip


@dataclass(frozen=True)
class PoolTiming:
    """Real seconds a pool takes to start (cold start), and to stop, be created or be deleted."""

    start_seconds: float
    stop_seconds: float


@dataclass
class PoolRecord:
    fields: dict[str, Any]
    schedule: list[Event]
    updated_at: float
    revision: int = 0
    #: The start or stop still under way, which a later stop or start overtakes.
    pending_work_request: str | None = None

    @property
    def id(self) -> str:
        return str(self.fields["id"])

    def state(self, now: float) -> str:
        return state_at(self.schedule, now)

    def current(self, now: float) -> Event:
        past = [event for event in self.schedule if event.at <= now]
        return past[-1] if past else self.schedule[0]

    def active_from(self, now: float) -> float | None:
        """When the pool is (or, while starting, will be) ACTIVE in its current cycle; None when it is not."""
        current = self.current(now)
        if current.state == ACTIVE:
            return current.at
        upcoming = [event for event in self.schedule if event.at > now]
        if current.state == CREATING and upcoming and upcoming[0].state == ACTIVE:
            return upcoming[0].at
        return None

    def last_time(self, state: str, now: float) -> float | None:
        return max((event.at for event in self.schedule if event.state == state and event.at <= now), default=None)

    def etag(self, now: float) -> str:
        return hashlib.sha256(f"{self.id}:{self.revision}:{self.state(now)}".encode()).hexdigest()[:32]

    def to_json(self, now: float, metrics: dict[str, Any]) -> dict[str, Any]:
        current = self.current(now)
        return {
            **self.fields,
            "lifecycleState": current.state,
            "lifecycleDetails": current.details,
            "poolMetrics": metrics,
            "timeUpdated": rfc3339(max(current.at, self.updated_at)),
        }

    def to_summary(self, now: float) -> dict[str, Any]:
        document = self.to_json(now, {})
        return {name: document.get(name) for name in SUMMARY_FIELDS}


@dataclass
class PoolStore:
    """Thread-safe; every change swaps a record's schedule or fields whole, under the store's lock."""

    work_requests: WorkRequestStore
    _pools: dict[str, PoolRecord] = field(default_factory=dict)
    _tokens: dict[str, RetryTokens] = field(default_factory=lambda: {op: RetryTokens() for op in TOKEN_OPERATIONS})
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def create(
        self,
        pool_id: str,
        details: dict[str, Any],
        owner: Principal,
        timing: PoolTiming,
        retry_token: str | None,
        now: float,
    ) -> tuple[PoolRecord, WorkRequest]:
        """CREATING, then ACCEPTED (SCHEDULED with schedules); a retry token seen in 24 h returns that pool."""
        with self._lock:
            replayed = self._replayed("create", retry_token, now)
            if replayed is not None:
                record = self.get(replayed)
                return record, self.work_requests.get(str(record.pending_work_request))
            settled = "SCHEDULED" if details.get("schedules") else "ACCEPTED"
            done = now + timing.stop_seconds
            record = self._store(pool_id, details, owner, [Event(now, CREATING), Event(done, settled)], now)
            request = self.work_requests.create("CREATE_POOL", details["compartmentId"], pool_id, now, done)
            record.pending_work_request = request.id
            self._remember("create", retry_token, pool_id, now)
            return record, request

    def register(self, pool_id: str, details: dict[str, Any], owner: Principal, state: str, now: float) -> PoolRecord:
        """A pool already in ``state`` (the control API's, for tests naming their own OCID)."""
        with self._lock:
            return self._store(pool_id, details, owner, [Event(now, state)], now)

    def get(self, pool_id: str) -> PoolRecord:
        with self._lock:
            record = self._pools.get(pool_id)
        if record is None:
            raise not_found(f"pool {pool_id}")
        return record

    def all(self) -> list[PoolRecord]:
        with self._lock:
            return list(self._pools.values())

    def update(self, pool_id: str, changes: dict[str, Any], if_match: str | None, now: float) -> WorkRequest:
        with self._lock:
            record = self._changeable(pool_id, if_match, now, "updated")
            record.fields = {**record.fields, **changes}
            record.updated_at = now
            record.revision += 1
            return self.work_requests.create("UPDATE_POOL", record.fields["compartmentId"], pool_id, now, now)

    def start(
        self, pool_id: str, if_match: str | None, timing: PoolTiming, retry_token: str | None, now: float
    ) -> WorkRequest:
        """ACTIVE: nothing to do; starting: the start under way; at rest: CREATING, then ACTIVE."""
        with self._lock:
            if (replayed := self._replayed("start", retry_token, now)) is not None:
                return self.work_requests.get(replayed)
            record = self._changeable(pool_id, if_match, now, "started")
            state = record.state(now)
            if state == STOPPING:
                # IncorrectState: waiting resolves it (the SDK's default strategy retries it).
                raise ApiError(409, "IncorrectState", f"Pool {pool_id} is STOPPING; start it once it is STOPPED.")
            if (ongoing := self._ongoing(record, "START_POOL", now)) is not None:
                return ongoing
            active_at = record.active_from(now)
            if active_at is None:
                active_at = now + timing.start_seconds
                record.schedule = [
                    *_past(record, now),
                    Event(now, CREATING, STARTING_DETAILS),
                    Event(active_at, ACTIVE),
                ]
                record.revision += 1
            request = self._operation(record, "START_POOL", now, active_at)
            self._remember("start", retry_token, request.id, now)
            return request

    def stop(
        self, pool_id: str, if_match: str | None, timing: PoolTiming, retry_token: str | None, now: float
    ) -> WorkRequest:
        """ACTIVE or starting: STOPPING, then STOPPED; at rest: STOPPED now; STOPPING: the stop under way."""
        with self._lock:
            if (replayed := self._replayed("stop", retry_token, now)) is not None:
                return self.work_requests.get(replayed)
            record = self._changeable(pool_id, if_match, now, "stopped")
            if (ongoing := self._ongoing(record, "STOP_POOL", now)) is not None:
                return ongoing
            state = record.state(now)
            if state == STOPPING:  # an idle stop under way
                stopped_at = next(event.at for event in record.schedule if event.at > now and event.state == STOPPED)
            elif state in AT_REST:
                stopped_at = now
                if state != STOPPED:
                    record.schedule = [*_past(record, now), Event(now, STOPPED)]
            else:
                stopped_at = now + timing.stop_seconds
                record.schedule = [*_past(record, now), Event(now, STOPPING), Event(stopped_at, STOPPED)]
            record.revision += 1
            request = self._operation(record, "STOP_POOL", now, stopped_at)
            self._remember("stop", retry_token, request.id, now)
            return request

    def delete(self, pool_id: str, if_match: str | None, timing: PoolTiming, now: float) -> WorkRequest:
        """Only a pool at rest ("Delete a stopped pool", pools-delete.htm); it stays readable, DELETED."""
        with self._lock:
            record = self._changeable(pool_id, if_match, now, "deleted")
            state = record.state(now)
            if state not in AT_REST:
                raise conflict(f"Pool {pool_id} is {state}; stop it before deleting it.")
            deleted_at = now + timing.stop_seconds
            record.schedule = [*_past(record, now), Event(now, DELETING), Event(deleted_at, DELETED)]
            record.revision += 1
            return self._operation(record, "DELETE_POOL", now, deleted_at)

    def plan_idle_stop(self, pool_id: str, stop_at: float | None, timing: PoolTiming, now: float) -> None:
        """Replace a planned (not yet begun) idle stop with one at ``stop_at``; None: no idle stop.

        Only a pool that is ACTIVE, or starting, with nothing else planned gets one."""
        with self._lock:
            record = self.get(pool_id)
            future = [event for event in record.schedule if event.at > now]
            if future and future[0].state == STOPPING and (future[0].details or "").startswith(IDLE_DETAILS):
                record.schedule = _past(record, now)
            last = record.schedule[-1]
            if stop_at is None or last.state != ACTIVE or record.active_from(now) is None:
                return
            at = max(stop_at, now, last.at)
            idle = f"{IDLE_DETAILS} ({record.fields.get('idleTimeoutInMinutes')}) and was stopped."
            stopping = [Event(at, STOPPING, idle), Event(at + timing.stop_seconds, STOPPED, idle)]
            record.schedule = [*record.schedule, *stopping]

    def clear(self) -> None:
        with self._lock:
            self._pools.clear()
            for tokens in self._tokens.values():
                tokens.clear()

    def _store(
        self, pool_id: str, details: dict[str, Any], owner: Principal, schedule: list[Event], now: float
    ) -> PoolRecord:
        fields = {
            "definedTags": {},
            "freeformTags": {},
            "description": None,
            "schedules": [],
            "idleTimeoutInMinutes": None,
            **details,
            "id": pool_id,
            "ownerPrincipalId": owner.principal_id,
            "ownerUserName": owner.user_name,
            "timeCreated": rfc3339(now),
        }
        record = PoolRecord(fields, schedule, now)
        self._pools[pool_id] = record
        return record

    def _changeable(self, pool_id: str, if_match: str | None, now: float, action: str) -> PoolRecord:
        record = self.get(pool_id)
        if if_match and if_match != "*" and if_match != record.etag(now):
            raise etag_mismatch(pool_id)
        state = record.state(now)
        if state in GONE:
            raise conflict(f"Pool {pool_id} is {state} and cannot be {action}.")
        return record

    def _operation(self, record: PoolRecord, operation: str, now: float, finishes_at: float) -> WorkRequest:
        """A work request for ``operation``; the one it overtakes (a start cut short by a stop) FAILS now."""
        if record.pending_work_request is not None:
            self.work_requests.fail(
                record.pending_work_request, now, "IncorrectState", f"Overtaken by {operation} at {rfc3339(now)}."
            )
        request = self.work_requests.create(operation, record.fields["compartmentId"], record.id, now, finishes_at)
        record.pending_work_request = request.id
        return request

    def _ongoing(self, record: PoolRecord, operation: str, now: float) -> WorkRequest | None:
        """The unfinished work request of ``operation`` on this pool (a second start while starting)."""
        if record.pending_work_request is None:
            return None
        request = self.work_requests.get(record.pending_work_request)
        return request if request.operation == operation and request.status(now) not in FINAL_STATUSES else None

    def _replayed(self, operation: str, retry_token: str | None, now: float) -> str | None:
        return self._tokens[operation].created_by(retry_token, now)

    def _remember(self, operation: str, retry_token: str | None, result_id: str, now: float) -> None:
        self._tokens[operation].remember(retry_token, result_id, now)


def pool_defaults(details: dict[str, Any]) -> dict[str, Any]:
    """CreatePoolDetails with what a test did not care about filled in: a name, and one configuration of
    four instances of the default shape (room for two runs of a driver and one executor)."""
    return {
        "displayName": "pool",
        "configurations": [
            {"shape": DEFAULT_SHAPE, "shapeConfig": dict(DEFAULT_SHAPE_CONFIG), "min": 0, "max": DEFAULT_POOL_NODES}
        ],
        **details,
    }


def _past(record: PoolRecord, now: float) -> list[Event]:
    return [event for event in record.schedule if event.at <= now] or record.schedule[:1]

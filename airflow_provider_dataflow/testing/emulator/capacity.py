"""Which runs hold a pool's instances or the tenancy's OCPUs, and when queued runs get them.

A run created with a ``poolId`` must use the pool's shapes (pools.htm); it needs one instance of its
driver shape and ``numExecutors`` of its executor shape. It starts once the pool is ACTIVE and has
room; until then it stays ACCEPTED with lifecycleDetails saying it waits in the pool's queue, for at
most its ``spark.dataflow.acquireQuotaTimeout`` (20 minutes by default), then FAILS. Stopping a pool
cancels its unfinished runs, and a pool with ``idleTimeoutInMinutes`` stops once it has been idle that
long. Runs outside pools count against the tenancy's OCPU limit, when one is set (``limits``).

Every change a queue depends on (a run created, cancelled, updated or finished; a pool started,
stopped or resized) re-plans the affected queue (``run_queue``) under one lock; runs nobody queues
skip all of this, so thousands of ordinary runs cost nothing here.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from airflow_provider_dataflow.testing.emulator import lifecycle
from airflow_provider_dataflow.testing.emulator.errors import (
    ApiError,
    conflict,
    invalid_parameter,
    related_resource_not_found,
)
from airflow_provider_dataflow.testing.emulator.lifecycle import Event
from airflow_provider_dataflow.testing.emulator.limits import OCPU, TENANCY, TenancyLimits, limit_exceeded
from airflow_provider_dataflow.testing.emulator.pools import DELETED, DELETING, PoolRecord, PoolStore, PoolTiming
from airflow_provider_dataflow.testing.emulator.run_queue import (
    DEFAULT_POOL_QUEUE_MINUTES,
    QUOTA_TIMEOUT_KEY,
    Holding,
    Need,
    Waiting,
    admissions,
    describe_minutes,
    in_use,
    quota_timeout_minutes,
)
from airflow_provider_dataflow.testing.emulator.runs import RunRecord, RunStore
from airflow_provider_dataflow.testing.emulator.signatures import Principal
from airflow_provider_dataflow.testing.emulator.timestamps import rfc3339
from airflow_provider_dataflow.testing.emulator.work_requests import WorkRequest

UNFINISHED = ("ACCEPTED", "IN_PROGRESS")


@dataclass(frozen=True)
class _Entry:
    """A queued (or pooled) run: what it needs, where it waits, when it gives up, what it shows."""

    queue: str  # a pool id, or TENANCY
    need: Need
    deadline: float
    waiting_details: str
    failed_details: str


class Capacity:
    def __init__(
        self,
        runs: RunStore,
        pools: PoolStore,
        limits: TenancyLimits,
        pool_timing: Callable[[PoolRecord], PoolTiming],
        minute_seconds: Callable[[], float],
    ) -> None:
        self._runs = runs
        self._pools = pools
        self._limits = limits
        self._pool_timing = pool_timing
        self._minute_seconds = minute_seconds
        self._lock = threading.RLock()
        self._entries: dict[str, _Entry] = {}
        self._queues: dict[str, list[str]] = {}  # queue -> run ids in arrival order
        self._admitted: dict[str, float] = {}  # run id -> when it got capacity

    # -- runs ------------------------------------------------------------------------------------

    def create(self, fields: dict[str, Any], now: float, make: Callable[[], RunRecord]) -> RunRecord:
        """Check the run against its pool or the tenancy's limit, ``make`` it, and queue it if it must wait."""
        pool_id = fields.get("poolId")
        limit = self._limits.ocpus
        if not pool_id and limit is None:
            return make()
        with self._lock:
            if pool_id:
                return self._create_in_pool(pool_id, fields, now, make)
            return self._create_under_limit(fields, float(limit or 0), now, make)

    @contextmanager
    def changing(self, run_id: str, now: float) -> Iterator[None]:
        """Around a change to a run (cancel, update, finish): afterwards, re-plan the queue it affects."""
        entry = self._entries.get(run_id)
        if entry is None and not self._queues.get(TENANCY):
            yield
            return
        with self._lock:
            yield
            self._replan(entry.queue if entry is not None else TENANCY, now)

    # -- pools -----------------------------------------------------------------------------------

    def register_pool(
        self, pool_id: str, details: dict[str, Any], owner: Principal, lifecycle_state: str, now: float
    ) -> PoolRecord:
        """A pool already in ``lifecycle_state`` (the control API's); an ACTIVE one plans its idle stop."""
        with self._lock:
            record = self._pools.register(pool_id, details, owner, lifecycle_state, now)
            self._queues.setdefault(pool_id, [])
            self._replan(pool_id, now)
            return record

    def start_pool(self, pool_id: str, if_match: str | None, retry_token: str | None, now: float) -> WorkRequest:
        with self._lock:
            timing = self._pool_timing(self._pools.get(pool_id))
            request = self._pools.start(pool_id, if_match, timing, retry_token, now)
            self._replan(pool_id, now)
            return request

    def stop_pool(self, pool_id: str, if_match: str | None, retry_token: str | None, now: float) -> WorkRequest:
        """Stop the pool and cancel its unfinished runs ("Force stopping the pool cancels or stops any
        incomplete Data Flow runs in the pool", pools-start-stop.htm)."""
        with self._lock:
            timing = self._pool_timing(self._pools.get(pool_id))
            request = self._pools.stop(pool_id, if_match, timing, retry_token, now)
            details = f"Canceled: pool {pool_id} was stopped while the run was unfinished."
            for run_id in self._queues.get(pool_id, []):
                record = self._runs.get(run_id)
                if record.state(now) in UNFINISHED:
                    record.schedule = [
                        *[event for event in record.schedule if event.at <= now],
                        Event(now, "CANCELING", details),
                        Event(now + record.timing.cancel_seconds, "CANCELED", details),
                    ]
                    record.revision += 1
                    if self._admitted.get(run_id, math.inf) > now:  # it had not got capacity yet
                        self._admitted.pop(run_id, None)
            self._replan(pool_id, now)
            return request

    def update_pool(self, pool_id: str, changes: dict[str, Any], if_match: str | None, now: float) -> WorkRequest:
        with self._lock:
            request = self._pools.update(pool_id, changes, if_match, now)
            self._replan(pool_id, now)
            return request

    def set_ocpu_limit(self, ocpus: float | None, now: float) -> None:
        with self._lock:
            self._limits.set_ocpus(ocpus)
            self._replan(TENANCY, now)

    def pool_metrics(self, pool: PoolRecord, now: float) -> dict[str, Any]:
        """PoolMetrics: the runs holding the pool's instances now, and when it was last started, stopped, used."""
        with self._lock:
            run_ids = list(self._queues.get(pool.id, []))
            holdings = self._pool_holdings(pool.id, now)
            used = [t for run_id in run_ids for t in self._use_times(run_id) if t <= now]
        nodes = in_use(holdings, now)
        return {
            "activeRunsCount": len(holdings),
            "activelyUsedNodeCount": [{"logicalShape": shape, "count": int(count)} for shape, count in nodes.items()],
            "timeLastMetricsUpdated": rfc3339(now),
            "timeLastStarted": _time(pool.last_time("ACTIVE", now)),
            "timeLastStopped": _time(pool.last_time("STOPPED", now)),
            "timeLastUsed": _time(max(used, default=None)),
        }

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._queues.clear()
            self._admitted.clear()

    # -- creating --------------------------------------------------------------------------------

    def _create_in_pool(
        self, pool_id: str, fields: dict[str, Any], now: float, make: Callable[[], RunRecord]
    ) -> RunRecord:
        try:
            pool = self._pools.get(pool_id)
        except ApiError:
            raise related_resource_not_found(
                f"poolId {pool_id}: the pool was not found or you are not authorized to use it. In the emulator, "
                "create it first (POST /pools) or register it with dataflow_emulator.register_pool(...)."
            ) from None
        if (state := pool.state(now)) in (DELETING, DELETED):
            raise conflict(f"poolId {pool_id}: the pool is {state}; runs may use a pool in any state but DELETED.")
        shapes = pool_capacity(pool.fields["configurations"])
        for field in ("driverShape", "executorShape"):
            if fields[field] not in shapes:
                raise invalid_parameter(
                    f"{field} {fields[field]} is not a shape of pool {pool_id} ({', '.join(sorted(shapes))}); "
                    "runs in a pool use its configured shapes"
                )
        minutes = quota_timeout_minutes(fields.get("configuration"))
        minutes = DEFAULT_POOL_QUEUE_MINUTES if minutes is None else minutes
        record = make()
        if record.id not in self._entries:  # a replayed retry token returns a run already queued
            timeout = f"{QUOTA_TIMEOUT_KEY} {describe_minutes(minutes)}"
            waiting = f"Waiting in the queue of pool {pool_id} for capacity ({timeout})."
            failed = f"Run failed to start: not enough capacity in pool {pool_id} before {timeout} ran out."
            self._enqueue(record, pool_id, run_need(fields), minutes, waiting, failed)
            self._replan(pool_id, now)
        return record

    def _create_under_limit(
        self, fields: dict[str, Any], limit: float, now: float, make: Callable[[], RunRecord]
    ) -> RunRecord:
        minutes = quota_timeout_minutes(fields.get("configuration"))
        need = float(fields["totalOCpu"])
        held = in_use(self._tenancy_holdings(now), now).get(OCPU, 0.0)
        queue_empty = not self._waiting(TENANCY, now)
        if queue_empty and held + need <= limit:
            return make()
        if minutes is None:
            raise limit_exceeded(need, held, limit)
        record = make()
        if record.id not in self._entries:
            timeout = f"{QUOTA_TIMEOUT_KEY} {describe_minutes(minutes)}"
            waiting = f"Waiting for OCPUs under the tenancy's limit ({timeout})."
            failed = (
                f"Run failed to start: not enough capacity under the tenancy's OCPU limit before {timeout} ran out."
            )
            self._enqueue(record, TENANCY, {OCPU: need}, minutes, waiting, failed)
            self._replan(TENANCY, now)
        return record

    def _enqueue(self, record: RunRecord, queue: str, need: Need, minutes: float, waiting: str, failed: str) -> None:
        deadline = record.created_at + minutes * record.timing.minute_seconds
        self._entries[record.id] = _Entry(queue, need, deadline, waiting, failed)
        self._queues.setdefault(queue, []).append(record.id)

    # -- planning --------------------------------------------------------------------------------

    def _replan(self, queue: str, now: float) -> None:
        """Give the queue's waiting runs their start (or their failure) from ``now`` on."""
        if queue == TENANCY:
            limit = self._limits.ocpus
            capacity: Need = {OCPU: math.inf if limit is None else limit}
            opens_at: float | None = now
            holdings = self._tenancy_holdings(now)
        else:
            pool = self._pools.get(queue)
            capacity = pool_capacity(pool.fields["configurations"])
            opens_at = pool.active_from(now)
            holdings = self._pool_holdings(queue, now)
        waiting = self._waiting(queue, now)
        plan = admissions(now, capacity, opens_at, holdings, waiting, self._end_if_admitted)
        ends = [holding.end for holding in holdings]
        for run_id, at in plan.items():
            record, entry = self._runs.get(run_id), self._entries[run_id]
            if at is None:
                self._admitted.pop(run_id, None)
                record.schedule = [
                    Event(record.created_at, "ACCEPTED", entry.waiting_details),
                    Event(entry.deadline, "FAILED", entry.failed_details),
                ]
                ends.append(entry.deadline)
            else:
                self._admitted[run_id] = at
                record.schedule = self._admitted_schedule(record, at)
                ends.append(_end(record.schedule))
        if queue != TENANCY:
            self._plan_idle_stop(self._pools.get(queue), opens_at, ends, now)

    def _plan_idle_stop(self, pool: PoolRecord, opens_at: float | None, ends: list[float], now: float) -> None:
        idle_minutes = pool.fields.get("idleTimeoutInMinutes")
        stop_at = None
        if opens_at is not None and idle_minutes:
            busy_until = max([opens_at, *ends])
            if not math.isinf(busy_until):
                stop_at = busy_until + idle_minutes * self._minute_seconds()
        self._pools.plan_idle_stop(pool.id, stop_at, self._pool_timing(pool), now)

    def _waiting(self, queue: str, now: float) -> list[Waiting]:
        """The queue's runs still waiting at ``now`` (in arrival order); others leave the queue's list."""
        waiting, kept = [], []
        for run_id in self._queues.get(queue, []):
            record, entry = self._runs.get(run_id), self._entries[run_id]
            admitted = self._admitted.get(run_id)
            still_waiting = (admitted is None or admitted > now) and record.state(now) == "ACCEPTED"
            if still_waiting:
                waiting.append(Waiting(run_id, entry.need, entry.deadline))
            if still_waiting or queue != TENANCY:
                kept.append(run_id)  # a pool keeps its runs for metrics; the tenancy queue only its waiting ones
        self._queues[queue] = kept
        return waiting

    def _pool_holdings(self, pool_id: str, now: float) -> list[Holding]:
        """The pool's runs that got capacity by ``now`` and have not ended."""
        holdings = []
        for run_id in self._queues.get(pool_id, []):
            admitted = self._admitted.get(run_id)
            end = _end(self._runs.get(run_id).schedule)
            if admitted is not None and admitted <= now < end:
                holdings.append(Holding(end, self._entries[run_id].need))
        return holdings

    def _tenancy_holdings(self, now: float) -> list[Holding]:
        """Runs outside pools that hold OCPUs: every unfinished one but those still waiting for them."""
        waiting = {w.key for w in self._waiting(TENANCY, now)}
        holdings = []
        for record in self._runs.all():
            if record.fields.get("poolId") or record.id in waiting:
                continue
            end = _end(record.schedule)
            if end > now:
                holdings.append(Holding(end, {OCPU: float(record.fields["totalOCpu"])}))
        return holdings

    def _end_if_admitted(self, run_id: str, at: float) -> float:
        return _end(self._admitted_schedule(self._runs.get(run_id), at))

    def _admitted_schedule(self, record: RunRecord, at: float) -> list[Event]:
        """The run's own lifecycle from ``at``, after the time it spent waiting in the queue."""
        natural = lifecycle.natural_schedule(at, record.timing, record.plan())
        if at <= record.created_at:
            return natural
        return [Event(record.created_at, "ACCEPTED", self._entries[record.id].waiting_details), *natural]

    def _use_times(self, run_id: str) -> list[float]:
        admitted = self._admitted.get(run_id)
        if admitted is None:
            return []
        return [admitted, _end(self._runs.get(run_id).schedule)]


def pool_capacity(configurations: list[dict[str, Any]]) -> dict[str, float]:
    """Instances per shape: the ``max`` of each configuration."""
    capacity: dict[str, float] = {}
    for config in configurations:
        capacity[config["shape"]] = capacity.get(config["shape"], 0.0) + float(config["max"])
    return capacity


def run_need(fields: dict[str, Any]) -> dict[str, float]:
    """One instance for the driver, one per executor, each of its shape."""
    need = {fields["driverShape"]: 1.0}
    need[fields["executorShape"]] = need.get(fields["executorShape"], 0.0) + float(fields["numExecutors"])
    return need


def _end(schedule: list[Event]) -> float:
    return next((event.at for event in schedule if event.state in lifecycle.TERMINAL_STATES), math.inf)


def _time(moment: float | None) -> str | None:
    return None if moment is None else rfc3339(moment)

"""A pool's rules, as steps (``steps``) the worker and the triggerer both drive: start it if needed, stop
it once nothing runs in it, and wait for the state each asks for, within an absolute deadline.

Each rule is a loop that reads the pool and acts on what it sees, so it is idempotent and restartable:
a trigger rebuilt after a triggerer restart, or a retried task, reads the pool again and carries on
(an ACTIVE pool needs no start, a starting one only a wait, a STOPPING one a wait and then a start).
The start and stop calls carry a retry token per task attempt, so a lost answer repeated starts
nothing twice. Every end is a :class:`PoolOutcome`, the trigger's event.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from airflow_provider_dataflow.exceptions import (
    DataflowPoolError,
    DataflowPoolTimeoutError,
    DataflowServiceError,
)
from airflow_provider_dataflow.hooks.pool_operations import get_pool, pool_runs_page, start_pool, stop_pool
from airflow_provider_dataflow.pipeline.outcome import DataflowError, Ending, error_from_json, error_to_json
from airflow_provider_dataflow.pipeline.steps import Call, Step, Steps, log_transient
from airflow_provider_dataflow.runs.attempts import TaskInstanceLike, retry_token
from airflow_provider_dataflow.runs.backoff import Backoff

ACTIVE, STOPPING, STOPPED = "ACTIVE", "STOPPING", "STOPPED"
#: Nothing runs in a pool in these states: a start starts it, a stop has nothing to do.
AT_REST = frozenset({"ACCEPTED", "SCHEDULED", STOPPED, "FAILED"})
GONE = frozenset({"DELETING", "DELETED"})
UNFINISHED_RUN_STATES = frozenset({"ACCEPTED", "IN_PROGRESS"})
RUNS_NAMED = 10  # how many of a pool's unfinished runs a message names


class PoolAction(str, Enum):
    START = "start"
    STOP = "stop"

    @property
    def target(self) -> str:
        return ACTIVE if self is PoolAction.START else STOPPED


def pool_retry_token(ti: TaskInstanceLike, action: PoolAction) -> str:
    """``opc-retry-token`` for this task attempt's start or stop call (64 hex chars)."""
    return hashlib.sha256(f"{action.value}\x1f{retry_token(ti)}".encode()).hexdigest()


PoolError = DataflowPoolError | DataflowError


@dataclass(frozen=True)
class PoolOutcome:
    """How a pool task's rule ended; the payload of the trigger's event. ``error`` is the exception the
    task raises, carried whole (class and message) as the run's outcome carries its own."""

    ending: Ending
    pool_id: str
    pool: dict[str, Any] | None = None
    error: PoolError | None = None

    @classmethod
    def done(cls, pool: dict[str, Any]) -> PoolOutcome:
        return cls(Ending.DONE, str(pool.get("id")), pool)

    @classmethod
    def refused(cls, pool: dict[str, Any], message: str) -> PoolOutcome:
        return cls(Ending.ERROR, str(pool.get("id")), pool, DataflowPoolError(message))

    @classmethod
    def failed(cls, pool_id: str, error: DataflowError) -> PoolOutcome:
        return cls(Ending.ERROR, pool_id, None, error)

    @classmethod
    def timed_out(
        cls, pool_id: str, pool: dict[str, Any] | None, action: PoolAction, timeout: float | None, waiting_for: str
    ) -> PoolOutcome:
        state = (pool or {}).get("state") or "in an unknown state (it could not be read)"
        message = (
            f"Data Flow pool {pool_id} did not become {action.target} within the operator's timeout "
            f"({timeout or 0:.0f} s): it is {state}{waiting_for}."
        )
        return cls(Ending.TIMEOUT, pool_id, pool, DataflowPoolTimeoutError(message))

    def to_event(self) -> dict[str, Any]:
        event: dict[str, Any] = {"status": self.ending.value, "pool_id": self.pool_id, "pool": self.pool}
        if isinstance(self.error, DataflowPoolError):
            event["error"] = {"type": type(self.error).__name__, "message": str(self.error)}
        elif self.error is not None:
            event["error"] = error_to_json(self.error)
        return event

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> PoolOutcome:
        payload = event.get("error")
        error: PoolError | None = None
        if payload is not None:
            pool_error = _POOL_ERRORS.get(str(payload.get("type")))
            error = pool_error(str(payload.get("message"))) if pool_error else error_from_json(payload)
        return cls(Ending(event["status"]), str(event.get("pool_id")), event.get("pool"), error)

    def resolve(self) -> dict[str, Any]:
        """The pool's attributes, or the exception that fails the task."""
        if self.error is not None:
            raise self.error
        if self.pool is None:
            raise DataflowPoolError(f"Data Flow pool {self.pool_id}: the wait ended without the pool")
        return self.pool


_POOL_ERRORS: dict[str, type[DataflowPoolError]] = {
    cls.__name__: cls for cls in (DataflowPoolError, DataflowPoolTimeoutError)
}


@dataclass(frozen=True)
class PoolWait:
    """How long to wait and how often to look: ``deadline`` is Unix time, computed once by the operator."""

    poll_interval: float
    deadline: float | None
    timeout: float | None


def pool_steps(
    action: PoolAction, pool_id: str, *, retry_token: str, wait: PoolWait, wait_for_runs: bool, log: Any
) -> Steps[PoolOutcome]:
    """The rule for ``action``: :func:`start_steps` or :func:`stop_steps`."""
    if action is PoolAction.START:
        return start_steps(pool_id, retry_token=retry_token, wait=wait, log=log)
    return stop_steps(pool_id, retry_token=retry_token, wait=wait, wait_for_runs=wait_for_runs, log=log)


def start_steps(pool_id: str, *, retry_token: str, wait: PoolWait, log: Any) -> Steps[PoolOutcome]:
    """ACTIVE: done. At rest (stopped, never started, failed): start it, then wait. Starting or updating:
    wait. STOPPING: wait until it is stopped, then start it. Deleted, or back at rest after this task
    started it (stopped by someone, or it failed to start): fail, naming the state."""
    requested = False

    def decide(pool: dict[str, Any]) -> Steps[PoolOutcome | None]:
        nonlocal requested
        state = pool.get("state")
        if state == ACTIVE:
            return PoolOutcome.done(pool)
        if state in GONE:
            return PoolOutcome.refused(pool, f"Data Flow pool {pool_id} is {state}; it cannot be started.")
        if state in AT_REST and requested:
            details = pool.get("lifecycle_details") or "no lifecycle details given"
            return PoolOutcome.refused(
                pool, f"Data Flow pool {pool_id} is {state} after this task started it: {details}"
            )
        if state in AT_REST:
            work_request = yield Call(start_pool(pool_id, retry_token=retry_token))
            log.info("Starting Data Flow pool %s (it was %s; work request %s)", pool_id, state, work_request)
            requested = True
        elif state == STOPPING:
            log.info("Data Flow pool %s is STOPPING; it will be started once it is STOPPED", pool_id)
        return None

    return _until_decided(pool_id, PoolAction.START, decide, wait, log, waiting_for=lambda: "")


def stop_steps(pool_id: str, *, retry_token: str, wait: PoolWait, wait_for_runs: bool, log: Any) -> Steps[PoolOutcome]:
    """At rest: done (nothing to stop). Deleted: done, with a warning. Runs still ACCEPTED or IN_PROGRESS
    in it: wait for them (``wait_for_runs``) or fail naming them; never cancel them, which is what the
    service's stop does to unfinished runs. Then stop it and wait until it is STOPPED."""
    requested = False
    unfinished: list[dict[str, Any]] = []

    def decide(pool: dict[str, Any]) -> Steps[PoolOutcome | None]:
        nonlocal requested, unfinished
        state = pool.get("state")
        if state in AT_REST:
            return PoolOutcome.done(pool)
        if state in GONE:
            log.warning("Data Flow pool %s is %s: there is nothing to stop", pool_id, state)
            return PoolOutcome.done(pool)
        if requested or state == STOPPING:
            return None
        runs = yield from _unfinished_runs(pool)
        if runs and not wait_for_runs:
            return PoolOutcome.refused(
                pool,
                f"Data Flow pool {pool_id} still has {_named(runs)}; not stopping it, because stopping a pool "
                "cancels its unfinished runs. Set wait_for_runs=True to wait for them instead.",
            )
        if runs:
            if [run["id"] for run in runs] != [run["id"] for run in unfinished]:
                log.info("Waiting for %s in Data Flow pool %s before stopping it", _named(runs), pool_id)
            unfinished = runs
            return None
        unfinished = []
        work_request = yield Call(stop_pool(pool_id, retry_token=retry_token))
        log.info("Stopping Data Flow pool %s (work request %s)", pool_id, work_request)
        requested = True
        return None

    def waiting_for() -> str:
        return f", waiting for {_named(unfinished)} to finish" if unfinished else ""

    return _until_decided(pool_id, PoolAction.STOP, decide, wait, log, waiting_for)


def _until_decided(
    pool_id: str,
    action: PoolAction,
    decide: Callable[[dict[str, Any]], Steps[PoolOutcome | None]],
    wait: PoolWait,
    log: logging.Logger | Any,
    waiting_for: Callable[[], str],
) -> Steps[PoolOutcome]:
    """Read the pool and let ``decide`` act, every poll interval, until it returns an outcome or the
    deadline passes (checked after each read, so the failure names the pool's state, and nothing is
    started or stopped after it). Transient errors (429, 5xx, connection errors) back off, honouring
    Retry-After; any other error ends the rule with its kind."""
    backoff = Backoff.for_polling(wait.poll_interval)
    pool: dict[str, Any] | None = None
    known_state: str | None = None
    delay = 0.0
    while True:
        try:
            pool = yield Call(get_pool(pool_id), _within(delay, wait.deadline))
            if pool.get("state") != known_state:
                known_state = pool.get("state")
                log.info("Data Flow pool %s is %s", pool_id, known_state)
            if _passed(wait.deadline):
                return PoolOutcome.timed_out(pool_id, pool, action, wait.timeout, waiting_for())
            outcome = yield from decide(pool)
        except DataflowServiceError as err:
            if not err.transient:
                return PoolOutcome.failed(pool_id, err)
            if _passed(wait.deadline):
                return PoolOutcome.timed_out(pool_id, pool, action, wait.timeout, waiting_for())
            delay = backoff.next_delay(err.retry_after)
            log_transient(log, err, delay, backoff.attempt)
            continue
        backoff.reset()
        if outcome is not None:
            return outcome
        delay = wait.poll_interval


def _unfinished_runs(pool: dict[str, Any]) -> Steps[list[dict[str, Any]]]:
    """The pool's runs still ACCEPTED or IN_PROGRESS in its compartment, oldest first."""
    runs: list[dict[str, Any]] = []
    page: str | None = None
    while True:
        listed, page = yield Call(pool_runs_page(str(pool.get("compartment_id")), str(pool.get("id")), page))
        runs += [run for run in listed if run.get("state") in UNFINISHED_RUN_STATES]
        if not page:
            return list(reversed(runs))


def _named(runs: list[dict[str, Any]]) -> str:
    shown = ", ".join(f"{run['id']} ({run['state']})" for run in runs[:RUNS_NAMED])
    more = f" and {len(runs) - RUNS_NAMED} more" if len(runs) > RUNS_NAMED else ""
    return f"{len(runs)} unfinished run{'s' if len(runs) != 1 else ''}: {shown}{more}"


def _passed(deadline: float | None) -> bool:
    return deadline is not None and time.time() >= deadline


def _within(delay: float, deadline: float | None) -> float:
    """``delay``, cut short so the deadline is checked on time."""
    return delay if deadline is None else max(0.0, min(delay, deadline - time.time()))


class WaitAhead(Exception):
    """Raised by :func:`until_first_wait`: the rule needs to wait, which a deferrable task does in the triggerer."""


def until_first_wait(perform: Callable[[Step], Any]) -> Callable[[Step], Any]:
    """Perform steps until the first one that would wait; then raise :class:`WaitAhead`.

    A deferrable task runs a rule on the worker this way: an ACTIVE pool's start ends there and then,
    and only a rule that must wait defers (the trigger runs the rule again from a fresh read).
    """

    def perform_now(step: Step) -> Any:
        if isinstance(step, Call) and step.delay > 0:
            raise WaitAhead
        return perform(step)

    return perform_now

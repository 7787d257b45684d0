"""What "waiting for a run" means, as steps (``steps``) the worker and the triggerer both drive.

The rules: poll at the task's interval (capped by ``[oci_dataflow] max_poll_interval``), back off on
transient errors honouring Retry-After, end on a permanent error with its exception, and at the deadline
cancel the run and confirm where it ended. A run submitted to a Data Flow pool may first wait in the
pool's queue (ACCEPTED): that wait is reported in the task log and bounded on its own
(:class:`PoolQueue`), and the timeout counts from when the run leaves the queue. Every wait ends in a
:class:`~.outcome.WaitOutcome`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Generator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_provider_dataflow.config import max_poll_interval
from airflow_provider_dataflow.exceptions import DataflowServiceError
from airflow_provider_dataflow.hooks.operations import CallKind, cancel_run, get_run
from airflow_provider_dataflow.pipeline.outcome import WaitOutcome
from airflow_provider_dataflow.pipeline.steps import Call, Poll, Step, Steps, log_transient, retried
from airflow_provider_dataflow.runs.backoff import Backoff
from airflow_provider_dataflow.runs.states import RunState, wait_is_over

CANCEL_CONFIRM_SECONDS = 25.0
CONFIRM_EVERY_SECONDS = 1.0
CANCEL_RETRY_SECONDS = 120.0  # how long a cancel is retried through 429s and 5xx before giving up


@dataclass(frozen=True)
class PoolQueue:
    """A run submitted to a pool: while it is ACCEPTED it waits for the pool's capacity.

    ``deadline`` (Unix time, from ``pool_queue_timeout``) bounds that wait; None leaves it to the service's
    ``spark.dataflow.acquireQuotaTimeout`` (20 minutes by default).
    """

    pool_id: str
    timeout: float | None = None
    deadline: float | None = None

    @property
    def bound(self) -> str:
        return f"out of pool {self.pool_id}'s queue within pool_queue_timeout ({self.timeout or 0:.0f} s)"


def wait_steps(
    run_id: str,
    *,
    poll_interval: float,
    target_states: Collection[str],
    deadline: float | None,
    timeout: float | None,
    log: logging.Logger | Any,
    pool_queue: PoolQueue | None = None,
) -> Steps[WaitOutcome]:
    """Observe the run until the wait is over, a permanent error, or the deadline (then cancel).

    With ``pool_queue`` and no ``deadline``, the deadline is ``timeout`` seconds after the run leaves the
    pool's queue (the service's time of that change, so a restarted trigger keeps it).
    """
    targets = tuple(sorted(target_states))
    poll_interval = max_poll_interval(poll_interval)
    backoff = Backoff.for_polling(poll_interval)
    known_state: str | None = None  # only the state: thousands of waits must not each keep a whole run
    queued = pool_queue is not None and deadline is None
    delay = 0.0
    while True:
        limit = pool_queue.deadline if queued and pool_queue is not None else deadline
        if limit is not None and time.time() >= limit:
            bound = (
                pool_queue.bound if queued and pool_queue else f"within the operator's timeout ({timeout or 0:.0f} s)"
            )
            return (yield from _cancel_after_timeout(run_id, known_state, bound, log))
        try:
            run = yield Poll(run_id, _sleep_budget(delay, limit), known_state, limit, targets, poll_interval)
        except DataflowServiceError as err:
            if not err.transient:
                last_seen = {"id": run_id, "state": known_state} if known_state else None
                return WaitOutcome.failed(run_id, err, last_seen)
            delay = backoff.next_delay(err.retry_after)
            log_transient(log, err, delay, backoff.attempt)
            continue
        backoff.reset()
        state = run.get("state")
        if state != known_state:
            log.info("Data Flow run %s is %s", run_id, state)
            if queued and pool_queue is not None and state == RunState.ACCEPTED.value:
                log.info("It waits in pool %s's queue: %s", pool_queue.pool_id, run.get("lifecycle_details") or "")
            known_state = state
        if queued and state != RunState.ACCEPTED.value:
            queued = False
            deadline = _left_queue_at(run) + timeout if timeout else None
        if wait_is_over(state, targets):
            return WaitOutcome.done(run)
        delay = poll_interval


def _left_queue_at(run: Mapping[str, Any]) -> float:
    """When the run left its pool's queue: its last state change if it is IN_PROGRESS, else now."""
    updated = run.get("time_updated")
    if run.get("state") == RunState.IN_PROGRESS.value and updated:
        try:
            stamp = (
                updated
                if isinstance(updated, datetime)
                else datetime.fromisoformat(str(updated).replace("Z", "+00:00"))
            )
            return stamp.timestamp()
        except ValueError:
            pass
    return time.time()


def _cancel_after_timeout(
    run_id: str, known_state: str | None, bound: str, log: logging.Logger | Any
) -> Steps[WaitOutcome]:
    log.warning("Data Flow run %s did not finish %s; cancelling it", run_id, bound)
    try:
        cancelled, run = yield from cancel_and_confirm_steps(run_id, log)
    except DataflowServiceError as err:
        return WaitOutcome.timed_out({"id": run_id, "state": known_state}, bound, cancelled=False, cancel_error=err)
    return WaitOutcome.timed_out(run, bound, cancelled=cancelled)


def cancel_and_confirm_steps(run_id: str, log: logging.Logger | Any) -> Generator[Step, Any, tuple[bool, dict]]:
    """Cancel (retrying 429s and 5xx for up to ``CANCEL_RETRY_SECONDS``: one 503 must not leave a killed
    or timed-out task's run running), then read the run briefly until it is terminal, so the log can
    say where it ended. Returns whether the service accepted the cancel (False: it had already ended)."""
    cancelled: bool = yield from retried(cancel_run(run_id), window=CANCEL_RETRY_SECONDS, log=log, cap=15.0)
    give_up = time.monotonic() + CANCEL_CONFIRM_SECONDS
    run: dict[str, Any] = {"id": run_id}
    delay = 0.0
    while time.monotonic() < give_up:
        try:
            run = yield Call(get_run(run_id, CallKind.CANCEL), delay)
        except DataflowServiceError as err:
            if not err.transient:  # the cancel is accepted: a failed read only leaves the last state known
                raise
        if wait_is_over(run.get("state"), ()):
            break
        delay = CONFIRM_EVERY_SECONDS
    log.info("Data Flow run %s is %s after cancel", run_id, run.get("state"))
    return cancelled, run


def _sleep_budget(delay: float, deadline: float | None) -> float:
    """How long to sleep: ``delay``, cut short so the deadline is checked on time."""
    if deadline is None:
        return delay
    return max(0.0, min(delay, deadline - time.time()))

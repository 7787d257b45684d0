"""What "waiting for a run" means, as steps (``steps``) the worker and the triggerer both drive.

The rules: poll at the task's interval (capped by ``[oci_dataflow] max_poll_interval``), back off on
transient errors honouring Retry-After, end on a permanent error with its kind, and at the deadline
cancel the run and confirm where it ended. Every wait ends in a :class:`~.outcome.WaitOutcome`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Generator
from typing import Any

from airflow_provider_dataflow.config import max_poll_interval
from airflow_provider_dataflow.exceptions import DataflowServiceError
from airflow_provider_dataflow.hooks.operations import CallKind, cancel_run, get_run
from airflow_provider_dataflow.pipeline.outcome import WaitOutcome
from airflow_provider_dataflow.pipeline.steps import Call, Poll, Step, Steps, log_transient, retried
from airflow_provider_dataflow.runs.backoff import Backoff
from airflow_provider_dataflow.runs.states import wait_is_over

CANCEL_CONFIRM_SECONDS = 25.0
CONFIRM_EVERY_SECONDS = 1.0
CANCEL_RETRY_SECONDS = 120.0  # how long a cancel is retried through 429s and 5xx before giving up


def wait_steps(
    run_id: str,
    *,
    poll_interval: float,
    target_states: Collection[str],
    deadline: float | None,
    timeout: float | None,
    log: logging.Logger | Any,
) -> Steps[WaitOutcome]:
    """Observe the run until the wait is over, a permanent error, or the deadline (then cancel)."""
    targets = tuple(sorted(target_states))
    poll_interval = max_poll_interval(poll_interval)
    backoff = Backoff.for_polling(poll_interval)
    known_state: str | None = None  # only the state: thousands of waits must not each keep a whole run
    delay = 0.0
    while True:
        if deadline is not None and time.time() >= deadline:
            return (yield from _cancel_after_timeout(run_id, timeout, log))
        try:
            run = yield Poll(run_id, _sleep_budget(delay, deadline), known_state, deadline, targets, poll_interval)
        except DataflowServiceError as err:
            if not err.transient:
                last_seen = {"id": run_id, "state": known_state} if known_state else None
                return WaitOutcome.failed(run_id, err, last_seen)
            delay = backoff.next_delay(err.retry_after)
            log_transient(log, err, delay, backoff.attempt)
            continue
        backoff.reset()
        if run.get("state") != known_state:
            log.info("Data Flow run %s is %s", run_id, run.get("state"))
            known_state = run.get("state")
        if wait_is_over(run.get("state"), targets):
            return WaitOutcome.done(run)
        delay = poll_interval


def _cancel_after_timeout(run_id: str, timeout: float | None, log: logging.Logger | Any) -> Steps[WaitOutcome]:
    log.warning("Timeout of %s s reached; cancelling Data Flow run %s", timeout, run_id)
    try:
        cancelled, run = yield from cancel_and_confirm_steps(run_id, log)
    except DataflowServiceError as err:
        return WaitOutcome.failed(run_id, err, message=f"Timeout reached, and cancelling the run failed: {err}")
    return WaitOutcome.timed_out(run, timeout, cancelled)


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

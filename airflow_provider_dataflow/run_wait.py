"""What "waiting for a run" means, shared by the trigger (async) and the worker (sync) paths.

Both paths produce the same payload, so one function (``run_outcome.resolve_outcome``) turns it
into the task's return value or failure.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from airflow_provider_dataflow.backoff import Backoff
from airflow_provider_dataflow.exceptions import DataflowServiceError
from airflow_provider_dataflow.run_state import TERMINAL_STATES, RunState

if TYPE_CHECKING:
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook

DONE, TIMEOUT, ERROR = "done", "timeout", "error"
CANCEL_CONFIRM_SECONDS = 25.0


def wait_is_over(state: str | None, target_states: Collection[str]) -> bool:
    """The wait ends at a target state or at any terminal state (a run never leaves those)."""
    parsed = RunState.parse(state)
    return state in target_states or (parsed is not None and parsed.is_terminal())


def default_target_states() -> list[str]:
    return sorted(s.value for s in TERMINAL_STATES)


def done_payload(run: dict[str, Any]) -> dict[str, Any]:
    return {"status": DONE, "run": run}


def error_payload(run_id: str, message: str) -> dict[str, Any]:
    return {"status": ERROR, "run_id": run_id, "message": message}


def timeout_payload(run: dict[str, Any], timeout: float | None, cancelled: bool) -> dict[str, Any]:
    action = "cancelled it" if cancelled else "it had already ended when the cancel arrived"
    message = (
        f"Data Flow run {run.get('id')} did not finish within the operator's timeout "
        f"({timeout:.0f} s); {action} (state {run.get('state')})."
    )
    return {"status": TIMEOUT, "run": run, "message": message}


def log_transient(log: logging.Logger | Any, err: DataflowServiceError, delay: float, attempt: int) -> None:
    """One line per transient failure: INFO for the first few, WARNING once it persists."""
    level = logging.INFO if attempt <= 3 else logging.WARNING
    log.log(level, "Transient error (attempt %d), retrying in %.1f s: %s", attempt, delay, err)


def wait_for_run(
    hook: DataflowHook,
    run_id: str,
    *,
    poll_interval: float,
    target_states: Collection[str],
    deadline: float | None,
    timeout: float | None,
    log: logging.Logger | Any,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll from a worker until the wait is over, the deadline passes, or a permanent error."""
    backoff = Backoff.for_polling(poll_interval)
    last_state: str | None = None
    while True:
        if deadline is not None and time.time() >= deadline:
            return cancel_after_timeout(hook, run_id, timeout, log, sleep)
        try:
            run = hook.get_run(run_id, sdk_retries=False)
        except DataflowServiceError as err:
            if not err.transient:
                return error_payload(run_id, str(err))
            delay = backoff.next_delay(err.retry_after)
            log_transient(log, err, delay, backoff.attempt)
            sleep(sleep_budget(delay, deadline))
            continue
        backoff.reset()
        state = run.get("state")
        if state != last_state:
            log.info("Data Flow run %s is %s", run_id, state)
            last_state = state
        if wait_is_over(state, target_states):
            return done_payload(run)
        sleep(sleep_budget(poll_interval, deadline))


def cancel_after_timeout(
    hook: DataflowHook,
    run_id: str,
    timeout: float | None,
    log: logging.Logger | Any,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    log.warning("Timeout of %s s reached; cancelling Data Flow run %s", timeout, run_id)
    cancelled = hook.cancel_run(run_id)
    run = confirm_cancelled(hook, run_id, sleep)
    return timeout_payload(run, timeout, cancelled)


def confirm_cancelled(hook: DataflowHook, run_id: str, sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Poll briefly until the run is terminal, so the log can say where it ended."""
    give_up = time.monotonic() + CANCEL_CONFIRM_SECONDS
    run = hook.get_run(run_id)
    while not wait_is_over(run.get("state"), ()) and time.monotonic() < give_up:
        sleep(1.0)
        run = hook.get_run(run_id)
    return run


def sleep_budget(delay: float, deadline: float | None) -> float:
    """How long to sleep: ``delay``, cut short so the deadline is checked on time."""
    if deadline is None:
        return delay
    return max(0.0, min(delay, deadline - time.time()))

"""What "waiting for a run" means, defined once for the worker (sync) and the triggerer (async).

The rules (deadline, backoff on transient errors, state-change logging, cancel and confirm) live in
generators that never do I/O: they yield a step (:class:`Poll`, :class:`Get`, :class:`Cancel`) and
receive its result, or have the step's :class:`DataflowServiceError` thrown into them. ``drive``
performs the steps with blocking calls (worker); ``adrive`` performs them with awaits (triggerer,
through the shared run watcher). A fix to the rules therefore lands in both paths at once.

Both paths end in the same payload, which ``run_outcome.resolve_outcome`` turns into the task's
return value or failure.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_dataflow.backoff import Backoff
from airflow_provider_dataflow.exceptions import DataflowServiceError
from airflow_provider_dataflow.provider_config import max_poll_interval
from airflow_provider_dataflow.run_state import TERMINAL_STATES, RunState

if TYPE_CHECKING:
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook

DONE, TIMEOUT, ERROR = "done", "timeout", "error"
FROM_SUMMARY = "from_summary"  # in a run dict built from a list summary: the worker reads the whole run once
CANCEL_CONFIRM_SECONDS = 25.0
CONFIRM_EVERY_SECONDS = 1.0
CANCEL_RETRY_SECONDS = 120.0  # how long a cancel is retried through 429s and 5xx before giving up


@dataclass(frozen=True)
class Poll:
    """Observe the run ``delay`` seconds from now, to see whether the wait is over.

    A shared watcher may answer later while the run stays in ``known_state`` (nothing to act on),
    but never after ``deadline`` (Unix time), so the deadline is always checked on time.
    """

    delay: float
    known_state: str | None
    deadline: float | None
    target_states: tuple[str, ...]
    poll_interval: float


@dataclass(frozen=True)
class Get:
    """Read the run directly, ``delay`` seconds from now (used while confirming a cancel)."""

    delay: float


@dataclass(frozen=True)
class Cancel:
    """Ask the service to cancel the run, ``delay`` seconds from now; the result is False when it had
    already ended."""

    delay: float = 0.0


Step = Poll | Get | Cancel
Steps = Generator[Step, Any, dict[str, Any]]


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
        f"({timeout or 0:.0f} s); {action} (state {run.get('state')})."
    )
    return {"status": TIMEOUT, "run": run, "message": message}


def log_transient(log: logging.Logger | Any, err: DataflowServiceError, delay: float, attempt: int) -> None:
    """One line per transient failure: INFO for the first few, WARNING once it persists."""
    level = logging.INFO if attempt <= 3 else logging.WARNING
    log.log(level, "Transient error (attempt %d), retrying in %.1f s: %s", attempt, delay, err)


def sleep_budget(delay: float, deadline: float | None) -> float:
    """How long to sleep: ``delay``, cut short so the deadline is checked on time."""
    if deadline is None:
        return delay
    return max(0.0, min(delay, deadline - time.time()))


def wait_steps(
    run_id: str,
    *,
    poll_interval: float,
    target_states: Collection[str],
    deadline: float | None,
    timeout: float | None,
    log: logging.Logger | Any,
) -> Steps:
    """Observe the run until the wait is over, a permanent error, or the deadline (then cancel)."""
    targets = tuple(sorted(target_states))
    poll_interval = max_poll_interval(poll_interval)
    backoff = Backoff.for_polling(poll_interval)
    last_state: str | None = None
    delay = 0.0
    while True:
        if deadline is not None and time.time() >= deadline:
            return (yield from cancel_after_timeout_steps(run_id, timeout, log))
        try:
            run = yield Poll(sleep_budget(delay, deadline), last_state, deadline, targets, poll_interval)
        except DataflowServiceError as err:
            if not err.transient:
                return error_payload(run_id, str(err))
            delay = backoff.next_delay(err.retry_after)
            log_transient(log, err, delay, backoff.attempt)
            continue
        backoff.reset()
        state = run.get("state")
        if state != last_state:
            log.info("Data Flow run %s is %s", run_id, state)
            last_state = state
        if wait_is_over(state, targets):
            return done_payload(run)
        delay = poll_interval


def cancel_after_timeout_steps(run_id: str, timeout: float | None, log: logging.Logger | Any) -> Steps:
    log.warning("Timeout of %s s reached; cancelling Data Flow run %s", timeout, run_id)
    try:
        cancelled = yield from cancel_steps(log)
        run = yield from confirm_cancelled_steps(run_id)
    except DataflowServiceError as err:
        return error_payload(run_id, f"Timeout reached, and cancelling the run failed: {err}")
    return timeout_payload(run, timeout, cancelled)


def kill_steps(run_id: str, log: logging.Logger | Any) -> Steps:
    """Cancel because a user killed the task, and log where the run ended."""
    log.info("Cancelling Data Flow run %s", run_id)
    yield from cancel_steps(log)
    run = yield from confirm_cancelled_steps(run_id)
    log.info("Data Flow run %s is %s after cancel", run_id, run.get("state"))
    return run


def cancel_steps(log: logging.Logger | Any) -> Generator[Step, Any, bool]:
    """Cancel, retrying transient errors (honouring Retry-After) for up to ``CANCEL_RETRY_SECONDS``:
    one 503 or 429 must not leave a killed or timed-out task's run running."""
    backoff = Backoff(base=1.0, cap=15.0)
    give_up = time.monotonic() + CANCEL_RETRY_SECONDS
    delay = 0.0
    while True:
        try:
            cancelled: bool = yield Cancel(delay)
            return cancelled
        except DataflowServiceError as err:
            if not err.transient or time.monotonic() >= give_up:
                raise
            delay = backoff.next_delay(err.retry_after)
            log_transient(log, err, delay, backoff.attempt)


def confirm_cancelled_steps(run_id: str) -> Steps:
    """Read the run briefly until it is terminal, so the log can say where it ended (the cancel is
    already accepted: a failed read only leaves the last state known)."""
    give_up = time.monotonic() + CANCEL_CONFIRM_SECONDS
    run: dict[str, Any] = {"id": run_id}
    delay = 0.0
    while time.monotonic() < give_up:
        try:
            run = yield Get(delay)
        except DataflowServiceError as err:
            if not err.transient:
                raise
        if wait_is_over(run.get("state"), ()):
            break
        delay = CONFIRM_EVERY_SECONDS
    return run


def drive(steps: Steps, perform: Callable[[Step], Any]) -> dict[str, Any]:
    """Run the steps with a blocking ``perform``; service errors go back into the generator."""
    result: Any = None
    error: DataflowServiceError | None = None
    while True:
        try:
            step = steps.throw(error) if error is not None else steps.send(result)
        except StopIteration as finished:
            return finished.value
        result, error = None, None
        try:
            result = perform(step)
        except DataflowServiceError as err:
            error = err


async def adrive(steps: Steps, perform: Callable[[Step], Awaitable[Any]]) -> dict[str, Any]:
    """``drive`` for the event loop: the same steps, performed with awaits."""
    result: Any = None
    error: DataflowServiceError | None = None
    while True:
        try:
            step = steps.throw(error) if error is not None else steps.send(result)
        except StopIteration as finished:
            return finished.value
        result, error = None, None
        try:
            result = await perform(step)
        except DataflowServiceError as err:
            error = err


def blocking_performer(
    hook: DataflowHook, run_id: str, sleep: Callable[[float], None] = time.sleep
) -> Callable[[Step], Any]:
    """Perform steps from a worker: sleep, then one synchronous call."""

    def perform(step: Step) -> Any:
        sleep(step.delay)
        if isinstance(step, Cancel):
            return hook.cancel_run(run_id)
        # The wait backs off by itself; a confirm read may lean on the SDK's retries.
        return hook.get_run(run_id, sdk_retries=isinstance(step, Get))

    return perform


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
    """Wait from a worker until the wait is over, the deadline passes, or a permanent error."""
    steps = wait_steps(
        run_id, poll_interval=poll_interval, target_states=target_states, deadline=deadline, timeout=timeout, log=log
    )
    return drive(steps, blocking_performer(hook, run_id, sleep))


def cancel_run(hook: DataflowHook, run_id: str, log: logging.Logger | Any) -> dict[str, Any]:
    """Cancel from a worker (task killed) and wait briefly for the run to end."""
    return drive(kill_steps(run_id, log), blocking_performer(hook, run_id))

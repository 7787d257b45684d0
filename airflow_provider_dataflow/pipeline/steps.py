"""The steps of a run's life, and the two ways to perform them: blocking on a worker, awaited in the triggerer.

The rules (``submit``, ``wait``, ``kill``) are generators that never do I/O: they yield a step and
receive its result, or have the step's ``DataflowServiceError`` thrown into them. ``drive`` performs the
steps with blocking calls (a worker); ``adrive`` with awaits (the triggerer, ``watch.performer``). So
a rule is written once and both paths behave the same way under failure.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from airflow_provider_dataflow.exceptions import DataflowServiceError
from airflow_provider_dataflow.hooks.operations import Operation, get_run
from airflow_provider_dataflow.runs.backoff import Backoff

if TYPE_CHECKING:
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook

T = TypeVar("T")


@dataclass(frozen=True)
class Call(Generic[T]):
    """Perform one Data Flow operation ``delay`` seconds from now (one attempt)."""

    operation: Operation[T]
    delay: float = 0.0


@dataclass(frozen=True)
class Poll:
    """Observe the run ``delay`` seconds from now, to see whether the wait is over.

    In the triggerer a shared watcher may answer later while the run stays in ``known_state``
    (nothing to act on), but never after ``deadline`` (Unix time), so the deadline is checked on time.
    """

    run_id: str
    delay: float
    known_state: str | None
    deadline: float | None
    target_states: tuple[str, ...]
    poll_interval: float


@dataclass(frozen=True)
class Blocking:
    """Local work that may block (OpenLineage's helpers, which also mask secrets): inline on a worker; in
    the triggerer on a thread from which the supervisor answers blocking calls."""

    work: Callable[[], Any]


Step = Call[Any] | Poll | Blocking
Steps = Generator[Step, Any, T]


def drive(steps: Steps[T], perform: Callable[[Step], Any]) -> T:
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


async def adrive(steps: Steps[T], perform: Callable[[Step], Awaitable[Any]]) -> T:
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


def blocking_performer(hook: DataflowHook, sleep: Callable[[float], None] = time.sleep) -> Callable[[Step], Any]:
    """Perform steps from a worker: sleep, then one synchronous call."""

    def perform(step: Step) -> Any:
        if isinstance(step, Blocking):
            return step.work()
        sleep(step.delay)
        operation = step.operation if isinstance(step, Call) else get_run(step.run_id)
        return hook.call(operation)

    return perform


def retried(operation: Operation[T], *, window: float, log: logging.Logger | Any, cap: float = 30.0) -> Steps[T]:
    """Perform ``operation``, retrying transient failures (honouring Retry-After, else backing off up to
    ``cap`` seconds) for up to ``window`` seconds, then raise: the provider's own retries, on both paths."""
    backoff: Backoff | None = None  # built on the first failure: most calls need none
    give_up = time.monotonic() + window
    delay = 0.0
    while True:
        try:
            result: T = yield Call(operation, delay)
            return result
        except DataflowServiceError as err:
            if not err.transient or time.monotonic() >= give_up:
                raise
            backoff = backoff or Backoff(base=1.0, cap=cap)
            delay = backoff.next_delay(err.retry_after)
            log_transient(log, err, delay, backoff.attempt)


def log_transient(log: logging.Logger | Any, err: DataflowServiceError, delay: float, attempt: int) -> None:
    """One line per transient failure: INFO for the first few, WARNING once it persists."""
    level = logging.INFO if attempt <= 3 else logging.WARNING
    log.log(level, "Transient error (attempt %d), retrying in %.1f s: %s", attempt, delay, err)

"""A run's lines on a worker: the synchronous wait searches each log for its run between two polls.

The same follower and search steps as the triggerer's shared searcher (``follower``, ``search``), with
blocking calls and one search per log per poll (a worker waits for one run). A failing search says so
once and is tried again at the next poll; it never fails the wait.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_dataflow.exceptions import DataflowServiceError
from airflow_provider_dataflow.pipeline.logs.follower import RunLogFollower, StreamLimits
from airflow_provider_dataflow.pipeline.logs.search import search_steps
from airflow_provider_dataflow.pipeline.logs.sources import LogSource, LogStream
from airflow_provider_dataflow.pipeline.steps import Call, Poll, Step, drive
from airflow_provider_dataflow.runs.states import RunState

if TYPE_CHECKING:
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook


class BlockingRunLogs:
    """The lines of run ``run_key`` (created at ``not_before``) from ``sources``, written to ``logger``."""

    def __init__(
        self,
        hook: DataflowHook,
        run_key: str,
        not_before: float,
        sources: Sequence[LogSource],
        logger: logging.Logger | Any,
        limits: StreamLimits | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._hook = hook
        self._logger = logger
        self._clock = clock
        self.limits = limits or StreamLimits.configured()
        self.followers = [RunLogFollower(run_key, source, not_before, self.limits) for source in sources]

    @classmethod
    def of(cls, hook: DataflowHook, stream: LogStream, logger: logging.Logger | Any) -> BlockingRunLogs:
        logger.info("Streaming the run's lines from OCI Logging log(s) %s", ", ".join(map(str, stream.sources)))
        return cls(hook, stream.run_key, stream.not_before, stream.sources, logger)

    def poll(self) -> None:
        """Search each log once and write the new lines."""
        now = self._clock()
        for follower in self.followers:
            steps = search_steps(follower.source, [follower.key], follower.window_start(now), now, follower.offer)
            try:
                result = drive(steps, self._perform)
            except DataflowServiceError as error:
                follower.abandon()
                self._write([line] if (line := follower.failed(error)) else [])
                continue
            self._write(follower.lines(result.covered_until))

    def drain(self, interval: float, sleep: Callable[[float], None] = time.sleep) -> None:
        """The run has ended: keep searching every ``interval`` for ``drain`` seconds, then stop."""
        until = self._clock() + self.limits.drain
        for follower in self.followers:
            follower.drain_until = until
        while True:
            self.poll()
            remaining = until - self._clock()
            if all(follower.finished() for follower in self.followers) or remaining <= 0:
                return
            sleep(min(interval, remaining))

    def drain_if_ended(self, run: Mapping[str, Any] | None, interval: float) -> None:
        """``drain`` when the run has ended; a run still going (a STREAMING run's task ends once it runs) is left."""
        state = RunState.parse((run or {}).get("state"))
        if state is not None and state.is_terminal():
            self.drain(interval)

    def _perform(self, step: Step) -> Any:
        assert isinstance(step, Call)  # search steps are calls only
        return self._hook.call(step.operation)

    def _write(self, lines: list[str]) -> None:
        for line in lines:
            self._logger.info("%s", line)


def polling_with_logs(
    perform: Callable[[Step], Any], logs: BlockingRunLogs, sleep: Callable[[float], None] = time.sleep
) -> Callable[[Step], Any]:
    """A performer that shows the run's new lines before each poll, once the poll's delay has passed."""

    def perform_with_logs(step: Step) -> Any:
        if isinstance(step, Poll):
            sleep(step.delay)
            logs.poll()
            step = dataclasses.replace(step, delay=0.0)
        return perform(step)

    return perform_with_logs

"""A deferred task's run lines, in the triggerer: subscribe to each log's shared searcher, drain at the run's end.

``DeferredRunLogs`` is all a trigger needs: ``begin()`` once the run is known (in a task of its own it
loads the cursors a previous trigger saved and subscribes: a slow cursor read or connection lookup never
delays the wait), ``drain()`` after the wait ended (lines are still being ingested: collect them for
``log_drain_seconds`` more, bounded), ``close()`` in ``finally``. Nothing here raises into the wait: a log
that cannot be searched only says so in the task log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_dataflow.pipeline.logs.cursor_store import XComCursorStore
from airflow_provider_dataflow.pipeline.logs.follower import Cursor, RunLogFollower, StreamLimits
from airflow_provider_dataflow.pipeline.logs.registry import searcher_for
from airflow_provider_dataflow.pipeline.logs.searcher import CURSOR_IO_TIMEOUT_SECONDS, LogSearcher, Subscription
from airflow_provider_dataflow.pipeline.logs.sources import LogSource, LogStream
from airflow_provider_dataflow.runs.states import RunState

if TYPE_CHECKING:
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook

DRAIN_SLACK_SECONDS = 60.0  # a drain waits at most this much past drain time plus an interval (a slow search)


class DeferredRunLogs:
    """The lines of run ``run_key`` (created at ``not_before``) from ``sources``, written to ``logger``.

    ``task_instance``: the trigger's, to keep each log's cursor in its XCom (None: no resuming).
    """

    def __init__(
        self,
        hook: DataflowHook,
        run_key: str,
        not_before: float,
        sources: Sequence[LogSource],
        interval: float,
        logger: logging.Logger | Any,
        task_instance: Any = None,
        limits: StreamLimits | None = None,
    ) -> None:
        self._hook = hook
        self._run_key = run_key
        self._not_before = not_before
        self._sources = sources
        self._interval = interval
        self._logger = logger
        self._task_instance = task_instance
        self._limits = limits or StreamLimits.configured()
        self._subscribed: list[tuple[LogSearcher, Subscription]] = []
        self._starting: asyncio.Future[None] | None = None

    @classmethod
    def of(
        cls, hook: DataflowHook, stream: LogStream | None, interval: float, logger: logging.Logger | Any,
        task_instance: Any = None,
    ) -> DeferredRunLogs:  # fmt: skip
        """The trigger's streaming (none: nothing happens) from its ``log_stream`` kwarg."""
        sources = stream.sources if stream is not None else ()
        key, not_before = (stream.run_key, stream.not_before) if stream is not None else ("", 0.0)
        return cls(hook, key, not_before, sources, interval, logger, task_instance)

    def begin(self) -> None:
        """``start`` in a task of its own, created in the trigger's context (it routes the lines to its log)."""
        if self._sources:
            self._starting = asyncio.ensure_future(self.start())

    async def start(self) -> None:
        """Subscribe to each log's searcher (from the trigger's context: it routes the lines to its log)."""
        try:
            await self._subscribe()
        except Exception as err:  # e.g. the connection cannot be read: the wait goes on without lines
            self._logger.warning("Cannot stream this run's lines from OCI Logging: %s", err)

    async def _subscribe(self) -> None:
        """The cursors and the searchers (a connection lookup) are fetched together: both go through the
        triggerer's supervisor, which a loaded deployment answers slowly."""
        ti = self._task_instance
        stores = [XComCursorStore(ti, source) if ti is not None else None for source in self._sources]
        cursors, searchers = await asyncio.gather(
            asyncio.gather(*(self._load(store) for store in stores)),
            asyncio.gather(*(searcher_for(self._hook, source) for source in self._sources)),
        )
        for source, store, cursor, searcher in zip(self._sources, stores, cursors, searchers, strict=True):
            follower = RunLogFollower(self._run_key, source, self._not_before, self._limits, cursor)
            subscription = Subscription(follower, self._logger, self._interval, store)
            searcher.subscribe(subscription)
            self._subscribed.append((searcher, subscription))
        names = ", ".join(str(source) for source in self._sources)
        self._logger.info("Streaming the run's lines from OCI Logging log(s) %s", names)

    @property
    def followers(self) -> list[RunLogFollower]:
        """One per log (their counters: lines delivered and skipped)."""
        return [subscription.follower for _, subscription in self._subscribed]

    async def drain(self) -> None:
        """The run has ended: collect what is still being ingested for ``drain`` seconds, then stop."""
        if self._starting is not None and not self._starting.done():
            await asyncio.wait([self._starting], timeout=self._limits.drain + DRAIN_SLACK_SECONDS)
        if not self._subscribed:
            return
        until = time.time() + self._limits.drain
        for searcher, subscription in self._subscribed:
            subscription.follower.drain_until = until
            searcher.wake()
        # A log whose search is failing is not waited for: the task's end must not wait on OCI Logging.
        readable = [subscription for _, subscription in self._subscribed if not subscription.follower.failing]
        if not readable:
            return
        waits = [asyncio.ensure_future(subscription.finished.wait()) for subscription in readable]
        _, pending = await asyncio.wait(waits, timeout=self._limits.drain + self._interval + DRAIN_SLACK_SECONDS)
        for wait in pending:
            wait.cancel()

    async def drain_if_ended(self, run: Mapping[str, Any] | None) -> None:
        """``drain`` when the run has ended; a run still going (a STREAMING run's task ends once it runs) is left."""
        state = RunState.parse((run or {}).get("state"))
        if state is not None and state.is_terminal():
            await self.drain()

    def close(self) -> None:
        if self._starting is not None:
            self._starting.cancel()
        for searcher, subscription in self._subscribed:
            searcher.unsubscribe(subscription)
        self._subscribed = []

    async def _load(self, store: XComCursorStore | None) -> Cursor | None:
        if store is None:
            return None
        try:
            cursor = await asyncio.wait_for(store.load(), CURSOR_IO_TIMEOUT_SECONDS)
        except Exception as err:
            self._logger.warning("Cannot read where this run's lines were shown before (%r); showing them all", err)
            return None
        if cursor is not None:
            self._logger.info("Continuing this run's lines from where the previous trigger saved them")
        return cursor

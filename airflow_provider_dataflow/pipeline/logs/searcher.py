"""The shared log search: one loop per log and triggerer process serves every run waiting on that log.

Once per interval (the shortest any subscriber asked for, floored at ``log_search_min_interval``) the
searcher searches its log once for all its runs, from the earliest window any of them needs to now
(``search.search_steps``: paged, split when too large, bounded), groups the records by run
(``records.LogRecord.run_key``) and hands each run's records to its follower. Only a run with something
to show costs a log write, and at most ``WAKE_BATCH`` runs are served per event-loop turn. The lines are
written with the trigger's own logger inside the trigger's context (captured when it subscribed), so
Airflow routes them to that task's trigger log, not the triggerer's.

Like the run watcher (``pipeline.watch``): one searcher per (connection settings, log) and event loop,
a loop task started in an empty context (its own lines belong in the triggerer's log), the last
subscriber out stops it. A failing search never fails anything: each subscriber's task log says so once
(``RunLogFollower.failed``), the loop backs off (transient: as a wait would; permanent, e.g. no
``read log-content`` permission: ``PERMANENT_RETRY_SECONDS``) and keeps trying. The run's wait does not
depend on the searcher at all.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_dataflow.exceptions import DataflowServiceError
from airflow_provider_dataflow.pipeline.logs.follower import Cursor, RunLogFollower
from airflow_provider_dataflow.pipeline.logs.records import LogRecord
from airflow_provider_dataflow.pipeline.logs.search import SearchResult, search_steps
from airflow_provider_dataflow.pipeline.logs.sources import LogSource
from airflow_provider_dataflow.pipeline.steps import Call, adrive
from airflow_provider_dataflow.runs.backoff import Backoff

if TYPE_CHECKING:
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook

log = logging.getLogger(__name__)

WAKE_BATCH = 128  # subscribers served per event-loop turn
PERMANENT_RETRY_SECONDS = 300.0  # after a permanent search error, try again this much later
#: A cursor read or write goes through the triggerer's supervisor to the API server, which can be slow under
#: load (a triggerer starting up, a busy database): it is waited for this long, off the wait and the loop.
CURSOR_IO_TIMEOUT_SECONDS = 120.0


class CursorStore(Protocol):
    """Where a deferred task keeps its cursor across trigger restarts (``cursor_store``)."""

    async def load(self) -> Cursor | None: ...

    async def save(self, cursor: Cursor) -> None: ...


@dataclass(eq=False)
class Subscription:
    """One run's interest in one log: its follower, where its lines go, and its cursor's store."""

    follower: RunLogFollower
    logger: logging.Logger | Any
    interval: float
    store: CursorStore | None = None
    context: contextvars.Context = field(default_factory=contextvars.copy_context, repr=False)
    finished: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _saved_at: float = field(default=0.0, repr=False)
    _saved_delivered: int = field(default=0, repr=False)
    _saving: asyncio.Task[None] | None = field(default=None, repr=False)

    def write(self, lines: list[str]) -> None:
        """In the trigger's context, so that Airflow routes the lines to its task's log."""
        if lines:
            self.context.run(_write_lines, self.logger, lines)

    def save_due(self, now: float) -> bool:
        if self.store is None or (self._saving is not None and not self._saving.done()):
            return False
        shown_since = self.follower.delivered != self._saved_delivered
        every = self.follower.limits.cursor_save_every
        return shown_since and (now - self._saved_at >= every or self.finished.is_set())

    def save(self, now: float) -> None:
        """Save the cursor in a task of its own (one at a time): a slow write holds neither the searcher nor the
        other runs' lines."""
        self._saved_at, self._saved_delivered = now, self.follower.delivered
        self._saving = asyncio.get_running_loop().create_task(self._save(self.follower.cursor()))

    async def _save(self, cursor: Cursor) -> None:
        """Never raises: a store that fails is dropped, saying so once in the task log."""
        if self.store is None:
            return
        try:
            await asyncio.wait_for(self.store.save(cursor), CURSOR_IO_TIMEOUT_SECONDS)
        except Exception as err:
            self.store = None
            self.write([f"Cannot save how far this run's lines were shown ({err!r}); after a triggerer restart "
                        "they may be shown again from the run's start."])  # fmt: skip


def _write_lines(logger: logging.Logger | Any, lines: list[str]) -> None:
    for line in lines:
        logger.info("%s", line)


class LogSearcher:
    """Searches one log once per interval for the runs of one event loop's triggers."""

    def __init__(self, hook: DataflowHook, source: LogSource, min_interval: float, on_idle: Callable[[], None]) -> None:
        self.source = source
        self.searches = 0  # searches done (each: one or more page calls), for diagnostics and benchmarks
        self.calls = 0  # page calls made
        self._hook = hook
        self._min_interval = min_interval
        self._on_idle = on_idle
        self._subscriptions: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._woken = asyncio.Event()
        self._backoff = Backoff()

    def subscribe(self, subscription: Subscription) -> None:
        self._subscriptions.add(subscription)
        if self._task is None or self._task.done():
            # In an empty context: the loop's own lines belong in the triggerer's log, not in the log of
            # whichever trigger started it (the triggerer routes log lines by context variables).
            self._task = contextvars.Context().run(
                asyncio.get_running_loop().create_task, self._run(), name=f"dataflow-log-search[{self.source}]"
            )

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)
        if not self._subscriptions:
            if self._task is not None:
                self._task.cancel()
            self._on_idle()

    def _interval(self) -> float:
        return max(self._min_interval, min((s.interval for s in self._subscriptions), default=self._min_interval))

    def wake(self) -> None:
        """A subscriber started draining: the next search may be due sooner than the interval."""
        self._woken.set()

    async def _run(self) -> None:
        while self._subscriptions:
            started = time.time()
            try:
                delay = await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("The shared search of log %s failed; it goes on", self.source)
                delay = self._interval()
            await self._pause(started, delay)

    async def _pause(self, started: float, delay: float) -> None:
        """Until ``delay`` after the last search started, or sooner when a draining run's drain time comes first
        (its task's end waits for the search that covers it), but never sooner than the minimal interval."""
        while True:
            due = started + delay
            draining = [
                s.follower.drain_until
                for s in self._subscriptions
                if s.follower.drain_until is not None and not s.finished.is_set()
            ]
            if draining:
                due = min(due, max(started + self._min_interval, min(draining)))
            if (remaining := due - time.time()) <= 0:
                return
            self._woken.clear()
            try:
                await asyncio.wait_for(self._woken.wait(), remaining)
            except asyncio.TimeoutError:
                return

    async def _tick(self) -> float:
        """Search once and serve every subscriber; returns how long until the next search should start."""
        now = time.time()
        subscriptions = list(self._subscriptions)
        start = min(s.follower.window_start(now) for s in subscriptions)
        by_run: defaultdict[str, list[RunLogFollower]] = defaultdict(list)
        for subscription in subscriptions:
            by_run[subscription.follower.key].append(subscription.follower)

        def offer(records: list[LogRecord]) -> None:
            """Hand a page's records to their runs' followers (a run may be followed by two triggers)."""
            page: defaultdict[str | None, list[LogRecord]] = defaultdict(list)
            for record in records:
                page[record.run_key].append(record)
            for key, of_run in page.items():
                for follower in by_run.get(key or "", ()):
                    follower.offer(of_run)

        try:
            result = await adrive(search_steps(self.source, by_run, start, now, offer), self._perform)
        except DataflowServiceError as error:
            for subscription in subscriptions:
                subscription.follower.abandon()
            return await self._failed(subscriptions, error)
        self._backoff.reset()
        self.searches += 1
        self.calls += result.calls
        await self._serve(subscriptions, result)
        return self._interval()

    async def _perform(self, step: Any) -> Any:
        assert isinstance(step, Call)  # search steps are calls only
        return await self._hook.acall(step.operation)

    async def _serve(self, subscriptions: list[Subscription], result: SearchResult) -> None:
        now = time.monotonic()
        for served, subscription in enumerate(subscriptions, 1):
            follower = subscription.follower
            subscription.write(follower.lines(result.covered_until))
            if follower.finished():
                subscription.finished.set()
            if subscription.save_due(now):
                subscription.save(now)
            if served % WAKE_BATCH == 0:
                await asyncio.sleep(0)

    async def _failed(self, subscriptions: list[Subscription], error: DataflowServiceError) -> float:
        """Say so once per subscriber and per run of failures; back off."""
        if self._backoff.attempt == 0:
            log.warning("Cannot search OCI Logging log %s (the waits go on): %s", self.source, error)
        for served, subscription in enumerate(subscriptions, 1):
            if (line := subscription.follower.failed(error)) is not None:
                subscription.write([line])
            if subscription.follower.drain_until is not None:
                subscription.finished.set()  # a run that ended does not wait for a log that cannot be read
            if served % WAKE_BATCH == 0:
                await asyncio.sleep(0)
        if not error.transient:
            self._backoff.attempt += 1
            return PERMANENT_RETRY_SECONDS
        if self._backoff.attempt == 0:
            self._backoff = Backoff.for_polling(self._interval())
        return self._backoff.next_delay(error.retry_after)

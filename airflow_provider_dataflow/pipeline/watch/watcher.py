"""The shared run watcher: one loop per compartment and process wakes only the triggers whose runs changed.

Once per interval (the shortest any waiter asked for, floored at ``min_interval``) the watcher takes
a snapshot of the compartment's active runs. A waiter is woken when its run's state differs from the
one it last saw. Watched runs missing from a complete snapshot have left the active states: when
several have, one listing of the terminal states (newest first, back to the oldest of them) tells
where they ended; a lone one is read with GET. A run whose wait ends on a summary is marked
``from_summary``, and its trigger reads it whole once before it fires (``finish.complete_steps``). So N
runs cost about ``4 + N/1000`` list calls per interval, plus a few when runs end, instead of N GETs
per interval.

Not Airflow 3.3's shared streams, which broadcast every snapshot to every subscriber, see one trigger's
kwargs, fail every subscriber when they raise, and exist only in 3.3's triggerer: docs/scale.md says why.

Correctness rests on every trigger keeping its own wait (``pipeline.wait``): the watcher only answers
"has my run changed?". Deadlines, cancel, ``on_kill`` and ``cleanup`` stay the trigger's, and a trigger
moved to another triggerer simply registers with that process's watcher.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_dataflow.exceptions import DataflowServiceError
from airflow_provider_dataflow.pipeline.outcome import FROM_SUMMARY
from airflow_provider_dataflow.pipeline.steps import Poll, log_transient
from airflow_provider_dataflow.pipeline.watch.listing import ListedRun, find_ended_runs, snapshot_active_runs
from airflow_provider_dataflow.runs.backoff import Backoff
from airflow_provider_dataflow.runs.states import wait_is_over

if TYPE_CHECKING:
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook

log = logging.getLogger(__name__)

LIST_RETRY_SECONDS = 600.0  # after a permanent list error, try listing again this much later
STALE_GRACE_SECONDS = 30.0  # no snapshot for 3 intervals and this long: each run is read on its own
ENDED_LIST_MIN_RUNS = 4  # fewer ended runs than this are cheaper to read one by one
WAKE_BATCH = 256  # waiters resumed per event-loop turn, so a burst of changes never stalls the loop


@dataclass(frozen=True)
class WatchConfig:
    """When sharing pays, and how fast it may poll (``[oci_dataflow]`` options, see ``config``)."""

    min_runs: int  # below this many runs, per-run GETs are cheaper than a snapshot (>= 4 calls)
    min_interval: float
    read_concurrency: int = 4  # GETs in flight at once when many runs end in one interval (= SDK threads)


_LOOK_AGAIN: dict[str, Any] = {}  # a waiter's timer fired: check the deadline and the loop's health


@dataclass(eq=False, slots=True)
class _Waiter:
    known_state: str | None
    target_states: tuple[str, ...]
    future: asyncio.Future[dict[str, Any] | None] = field(init=False, repr=False)

    def resolve(self, run: dict[str, Any] | None) -> None:
        if not self.future.done():
            self.future.set_result(run)

    def fail(self, err: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(err)


class CompartmentWatcher:
    """Shared snapshots of one compartment's active runs, for the triggers of one event loop."""

    def __init__(
        self, hook: DataflowHook, compartment_id: str, config: WatchConfig, on_idle: Callable[[], None]
    ) -> None:
        self.compartment_id = compartment_id
        self._hook = hook
        self._config = config
        self._on_idle = on_idle
        self._alive: Counter[str] = Counter()
        self._waiters: dict[str, set[_Waiter]] = {}
        self._intervals: Counter[float] = Counter()  # poll intervals of the waiters: O(1) to keep, few to scan
        self._created: dict[str, Any] = {}  # run id -> time created, from the snapshots
        self._task: asyncio.Task[None] | None = None
        self._last_snapshot = time.monotonic()
        self._list_denied_until = 0.0
        self._backoff = Backoff()

    # -- what triggers call -----------------------------------------------------------------------

    def attach(self, run_id: str) -> None:
        """A trigger waits for ``run_id`` from now on (the same run twice costs nothing extra)."""
        self._alive[run_id] += 1

    def detach(self, run_id: str) -> None:
        """The trigger is done (fired, cancelled, timed out); the last one out stops the loop."""
        self._alive[run_id] -= 1
        if self._alive[run_id] <= 0:
            del self._alive[run_id]
            self._created.pop(run_id, None)
        if not self._alive:
            if self._task is not None:
                self._task.cancel()
            self._on_idle()

    def sharing(self) -> bool:
        """Whether a poll should wait for the next snapshot (and the loop is started if it is not).

        Not when per-run GETs are cheaper (few runs), listing is forbidden, or no snapshot succeeded
        for ``_stale_after()``: lists failing for minutes (503s, 429s on the list endpoint) must not
        hold every wait of the process; each run is then read on its own until a snapshot succeeds.
        """
        if not self._worth_listing():
            return False
        self._ensure_running()
        return self._snapshots_fresh()

    async def wait_for_change(self, run_id: str, poll: Poll) -> dict[str, Any] | None:
        """The run once it is out of ``poll.known_state``; None means "read it yourself now".

        None comes back at the deadline, when sharing stops (too few runs, listing forbidden), or
        when the loop has died: no trigger waits on a watcher that no longer looks.
        """
        loop = asyncio.get_running_loop()
        waiter = _Waiter(poll.known_state, poll.target_states)
        self._waiters.setdefault(run_id, set()).add(waiter)
        self._intervals[poll.poll_interval] += 1
        try:
            while True:
                timeout = self._stale_after()
                if poll.deadline is not None:
                    timeout = min(timeout, poll.deadline - time.time())
                waiter.future = loop.create_future()
                timer = loop.call_later(max(0.0, timeout), waiter.resolve, _LOOK_AGAIN)  # cheaper than wait_for
                try:
                    run = await waiter.future
                finally:
                    timer.cancel()
                if run is not _LOOK_AGAIN:
                    return run
                if (poll.deadline is not None and time.time() >= poll.deadline) or not self._snapshots_fresh():
                    return None
        finally:
            waiters = self._waiters.get(run_id)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[run_id]
            self._intervals[poll.poll_interval] -= 1
            if self._intervals[poll.poll_interval] <= 0:
                del self._intervals[poll.poll_interval]

    # -- the loop ---------------------------------------------------------------------------------

    def _worth_listing(self) -> bool:
        return len(self._alive) >= self._config.min_runs and time.monotonic() >= self._list_denied_until

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._last_snapshot = time.monotonic()  # a new loop gets its first intervals to list
            # In an empty context: the triggerer routes logs by context variables, and the loop's logs
            # belong in the triggerer's own log, not in the log of whichever trigger started it.
            self._task = contextvars.Context().run(
                asyncio.get_running_loop().create_task,
                self._run(),
                name=f"dataflow-run-watcher[{self.compartment_id}]",
            )

    def _interval(self) -> float:
        return max(self._config.min_interval, min(self._intervals, default=self._config.min_interval))

    def _stale_after(self) -> float:
        return 3 * self._interval() + STALE_GRACE_SECONDS

    def _snapshots_fresh(self) -> bool:
        """The loop runs and its last successful snapshot is recent (failed ticks do not count)."""
        alive = self._task is not None and not self._task.done()
        return alive and time.monotonic() - self._last_snapshot < self._stale_after()

    async def _run(self) -> None:
        try:
            while self._alive and self._worth_listing():
                started = time.monotonic()
                if await self._tick():
                    self._last_snapshot = time.monotonic()
                await asyncio.sleep(max(0.0, self._interval() - (time.monotonic() - started)))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("The shared run watcher of compartment %s failed; it restarts", self.compartment_id)
        finally:
            self._release_all()

    def _release_all(self) -> None:
        """Hand every waiter back to its own reads (the loop is ending)."""
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.resolve(None)

    async def _tick(self) -> bool:
        """Take a snapshot and wake the waiters whose runs changed; False when listing failed."""
        try:
            snapshot = await snapshot_active_runs(self._hook, self.compartment_id)
            changes, missing = self._compare(snapshot)
            ended = {}
            bounded = {run_id: self._created[run_id] for run_id in missing if run_id in self._created}
            if len(bounded) >= ENDED_LIST_MIN_RUNS:
                ended = await find_ended_runs(self._hook, self.compartment_id, bounded)
        except DataflowServiceError as err:
            if err.transient:
                if self._backoff.attempt == 0:  # the waits' own rule: from 1 s up to twice the interval
                    self._backoff = Backoff.for_polling(self._interval())
                delay = self._backoff.next_delay(err.retry_after)
                log_transient(log, err, delay, self._backoff.attempt)
                await asyncio.sleep(delay)
                return False
            log.warning(
                "Cannot list runs in compartment %s, so each run is read on its own for the next %.0f s: %s",
                self.compartment_id,
                LIST_RETRY_SECONDS,
                err,
            )
            self._list_denied_until = time.monotonic() + LIST_RETRY_SECONDS
            return False
        self._backoff.reset()
        changes.extend((run_id, ended[run_id]) for run_id in missing if run_id in ended)
        await self._wake(changes)
        to_read = [run_id for run_id in missing if run_id not in ended]  # not listed yet, or another compartment
        await _for_each_bounded(to_read, self._read, self._config.read_concurrency)
        return True

    def _compare(self, snapshot: dict[str, ListedRun]) -> tuple[list[tuple[str, ListedRun]], list[str]]:
        """Watched runs the snapshot shows, and the watched runs it does not."""
        changes, missing = [], []
        for run_id in self._waiters:
            listed = snapshot.get(run_id)
            if listed is None:
                missing.append(run_id)
            else:
                self._created[run_id] = listed.time_created
                changes.append((run_id, listed))
        return changes, missing

    async def _wake(self, changes: list[tuple[str, ListedRun]]) -> None:
        """Resume the waiters whose run is no longer in the state they saw, a batch per loop turn."""
        woken = 0
        for run_id, listed in changes:
            for waiter in [w for w in self._waiters.get(run_id, ()) if w.known_state != listed.state]:
                waiter.resolve(_listed_run(run_id, listed, wait_is_over(listed.state, waiter.target_states)))
                woken += 1
                if woken % WAKE_BATCH == 0:
                    await asyncio.sleep(0)

    async def _read(self, run_id: str) -> None:
        try:
            run = await self._hook.aget_run(run_id)
        except DataflowServiceError as err:
            if not err.transient:  # e.g. 404: the run's own wait reports it, as without a watcher
                for waiter in list(self._waiters.get(run_id, ())):
                    waiter.fail(err)
            return
        for waiter in list(self._waiters.get(run_id, ())):
            if run.get("state") != waiter.known_state:
                waiter.resolve(run)


def _listed_run(run_id: str, listed: ListedRun, ends_the_wait: bool) -> dict[str, Any]:
    """What a waiter needs from a list: the state; when its wait ends, a mark that the task must read the rest."""
    run = {
        "id": run_id,
        "state": listed.state,
        "lifecycle_details": listed.lifecycle_details,
        # a pooled run's timeout counts from its leaving the queue; a string, as a run's attributes hold it
        "time_updated": listed.time_updated.isoformat() if listed.time_updated else None,
    }
    return {**run, FROM_SUMMARY: True} if ends_the_wait else run


async def _for_each_bounded(items: Iterable[str], fn: Callable[[str], Awaitable[None]], limit: int) -> None:
    """Await ``fn`` for every item with at most ``limit`` in flight (``limit`` tasks, not one per item)."""
    pending = list(items)
    iterator = iter(pending)

    async def worker() -> None:
        for item in iterator:
            await fn(item)

    await asyncio.gather(*(worker() for _ in range(min(limit, len(pending)))))

"""DataflowRunTrigger: wait in the triggerer for a Data Flow run, without holding a worker slot."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Collection
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.pipeline import kill
from airflow_provider_dataflow.pipeline.finish import complete_steps, finish_steps
from airflow_provider_dataflow.pipeline.outcome import Ending, WaitOutcome
from airflow_provider_dataflow.pipeline.steps import adrive
from airflow_provider_dataflow.pipeline.wait import PoolQueue, wait_steps
from airflow_provider_dataflow.pipeline.watch.performer import EventLoopPerformer
from airflow_provider_dataflow.runs.console import LINK_XCOM_KEY, console_url
from airflow_provider_dataflow.runs.states import default_target_states

log = logging.getLogger(__name__)


class DataflowRunTrigger(BaseTrigger):
    """Wait until a run reaches a target or terminal state, or the deadline passes.

    The wait is ``pipeline.wait.wait_steps``, the same steps as the worker's synchronous wait. Polls go
    through the process's shared run watcher for the run's compartment, so a triggerer waiting for
    thousands of runs makes a few list calls per interval instead of one GET per run. Transient errors
    (429, 5xx, connection errors) are retried with jittered backoff honouring Retry-After; permanent
    ones (400, 401 after a reload of the connection, 404) end the wait with the exception
    ``execute_complete`` raises.

    :param run_id: OCID of the run.
    :param oci_conn_id: ``oci_dataflow`` connection.
    :param region: Overrides the connection's region.
    :param poll_interval: Seconds between polls.
    :param target_states: States that end the wait besides the terminal ones.
    :param deadline: Unix time after which the run is cancelled and the wait fails (Airflow does
        not enforce ``execution_timeout`` while a task is deferred).
    :param timeout: The operator's timeout in seconds (for a pooled run still queued: counted from when it
        leaves the pool's queue).
    :param cancel_on_kill: Cancel the run when a user marks the task failed/success or clears it.
    :param compartment_id: The run's compartment, for the shared watcher. Optional: triggers
        serialised without it learn it from their first read.
    :param pool_id: The Data Flow pool the run was submitted to, if any.
    :param pool_queue_deadline: Unix time after which a run still waiting in its pool's queue is cancelled.
    :param pool_queue_timeout: The operator's ``pool_queue_timeout``, for the failure message.
    :param end_from_trigger: On success, end the task from here (result and console link as XCom), with
        no worker at all; on any other ending the task resumes on a worker to raise its exception.
    :param log_tail_lines: Lines of driver log in the task log (``end_from_trigger`` success only logs the cost).
    :param log_stream: The run's OCI Logging lines to show in the task log while waiting
        (``pipeline.logs.sources.LogStream`` as JSON, from the operator's ``stream_logs``); None: none.

    Keyword arguments it does not know (a trigger row written by another release of the provider, during a
    rolling upgrade) are ignored with a warning, so the wait goes on.
    """

    def __init__(
        self,
        run_id: str,
        oci_conn_id: str = DataflowHook.default_conn_name,
        region: str | None = None,
        poll_interval: float = 30.0,
        target_states: Collection[str] | None = None,
        deadline: float | None = None,
        timeout: float | None = None,
        cancel_on_kill: bool = True,
        compartment_id: str | None = None,
        pool_id: str | None = None,
        pool_queue_deadline: float | None = None,
        pool_queue_timeout: float | None = None,
        end_from_trigger: bool = False,
        log_stream: dict[str, Any] | None = None,
        **unknown: Any,
    ) -> None:
        super().__init__()
        warn_unknown(type(self), unknown)
        self.run_id = run_id
        self.oci_conn_id = oci_conn_id
        self.region = region
        self.poll_interval = poll_interval
        self.target_states = sorted(target_states) if target_states is not None else default_target_states()
        self.deadline = deadline
        self.timeout = timeout
        self.cancel_on_kill = cancel_on_kill
        self.compartment_id = compartment_id
        self.pool_id = pool_id
        self.pool_queue_deadline = pool_queue_deadline
        self.pool_queue_timeout = pool_queue_timeout
        self.end_from_trigger = end_from_trigger
        self.log_stream = log_stream

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "run_id": self.run_id,
                "oci_conn_id": self.oci_conn_id,
                "region": self.region,
                "poll_interval": self.poll_interval,
                "target_states": self.target_states,
                "deadline": self.deadline,
                "timeout": self.timeout,
                "cancel_on_kill": self.cancel_on_kill,
                "compartment_id": self.compartment_id,
                "pool_id": self.pool_id,
                "pool_queue_deadline": self.pool_queue_deadline,
                "pool_queue_timeout": self.pool_queue_timeout,
                "end_from_trigger": self.end_from_trigger,
                "log_stream": self.log_stream,
            },
        )

    def hook(self) -> DataflowHook:
        return DataflowHook(oci_conn_id=self.oci_conn_id, region=self.region)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self.hook()
        outcome = await self._waiting(hook)
        yield await self._event(hook, outcome)

    def _waiting(self, hook: DataflowHook) -> Awaitable[WaitOutcome]:
        """The wait, cancelled on a kill; with ``log_stream``, showing the run's lines meanwhile. An awaitable,
        not a coroutine of its own: without streaming, a waiting trigger holds no frame more than before."""
        if self.log_stream is None:
            return kill.cancel_when_killed(self, self._wait(hook))
        return self._wait_showing_lines(hook)

    async def _wait_showing_lines(self, hook: DataflowHook) -> WaitOutcome:
        """The run's lines in this task's log while waiting, and those still being ingested when it ended
        (``pipeline.logs.deferred``: never holding the wait itself)."""
        from airflow_provider_dataflow.pipeline.logs.deferred import DeferredRunLogs
        from airflow_provider_dataflow.pipeline.logs.sources import LogStream

        stream = LogStream.from_json(self.log_stream)
        logs = DeferredRunLogs.of(hook, stream, self.poll_interval, self.log, self.task_instance)
        logs.begin()
        try:
            outcome = await kill.cancel_when_killed(self, self._wait(hook))
            await logs.drain_if_ended(outcome.run)
        finally:
            logs.close()
        return outcome

    async def _wait(self, hook: DataflowHook) -> WaitOutcome:
        pool_queue = (
            PoolQueue(self.pool_id, self.pool_queue_timeout, self.pool_queue_deadline) if self.pool_id else None
        )
        steps = wait_steps(
            self.run_id,
            poll_interval=self.poll_interval,
            target_states=self.target_states,
            deadline=self.deadline,
            timeout=self.timeout,
            log=self.log,
            pool_queue=pool_queue,
        )
        performer = EventLoopPerformer(hook, self.compartment_id)
        try:
            return await adrive(steps, performer.perform)
        finally:
            performer.close()

    async def _event(self, hook: DataflowHook, outcome: WaitOutcome) -> TriggerEvent:
        """The event: the whole run read here (not on the worker), or the task's end with ``end_from_trigger``."""
        if outcome.ending is not Ending.DONE or outcome.run is None:
            return TriggerEvent(outcome.to_event())
        performer = EventLoopPerformer(hook)
        run = await adrive(complete_steps(outcome.run, self.log), performer.perform)
        if not self.end_from_trigger or run.get("state") not in self.target_states:
            return TriggerEvent(WaitOutcome.done(run).to_event())
        from airflow.triggers.base import TaskSuccessEvent

        finished = await adrive(
            finish_steps(
                WaitOutcome.done(run),
                success_states=self.target_states,
                log_tail_lines=0,
                log=self.log,
                metric_tags=self._metric_tags(),
                mark_for=self.task_instance,
            ),
            performer.perform,
        )
        settings = await hook.asettings()
        url = console_url(run["id"], settings.region, settings.console_url_template)
        return TaskSuccessEvent(xcoms={"return_value": finished.task_result(), LINK_XCOM_KEY: url})

    def _metric_tags(self) -> dict[str, str]:
        ti = self.task_instance
        return {"dag_id": ti.dag_id, "task_id": ti.task_id} if ti is not None else {}

    async def run_to_cancel(self) -> str | None:
        """The run a kill should cancel (``pipeline.kill``)."""
        return self.run_id or None

    async def on_kill(self) -> None:
        """A user killed the task (Airflow 3.3+; never on triggerer restarts): cancel the run unless the
        task is still deferred (its trigger moved to another triggerer). See ``pipeline.kill``."""
        await kill.on_kill(self)


def warn_unknown(cls: type, unknown: dict[str, Any]) -> None:
    """One warning for keyword arguments a trigger does not know: a row written by another release."""
    if unknown:
        log.warning(
            "%s ignores keyword arguments it does not know (written by another release of the provider?): %s",
            cls.__name__,
            ", ".join(sorted(unknown)),
        )

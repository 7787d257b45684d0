"""DataflowRunTrigger: wait in the triggerer for a Data Flow run, without holding a worker slot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.pipeline import kill
from airflow_provider_dataflow.pipeline.outcome import WaitOutcome
from airflow_provider_dataflow.pipeline.steps import adrive
from airflow_provider_dataflow.pipeline.wait import wait_steps
from airflow_provider_dataflow.pipeline.watch.performer import EventLoopPerformer
from airflow_provider_dataflow.runs.states import default_target_states


class DataflowRunTrigger(BaseTrigger):
    """Wait until a run reaches a target or terminal state, or the deadline passes.

    The wait is ``pipeline.wait.wait_steps``, the same steps as the worker's synchronous wait. Polls go
    through the process's shared run watcher for the run's compartment, so a triggerer waiting for
    thousands of runs makes a few list calls per interval instead of one GET per run. Transient errors
    (429, 5xx, connection errors) are retried with jittered backoff honouring Retry-After; permanent
    ones (400, 401, 404) end the wait with the failure's kind, which ``execute_complete`` raises again.

    :param run_id: OCID of the run.
    :param oci_conn_id: ``oci_dataflow`` connection.
    :param region: Overrides the connection's region.
    :param poll_interval: Seconds between polls.
    :param target_states: States that end the wait besides the terminal ones.
    :param deadline: Unix time after which the run is cancelled and the wait fails (Airflow does
        not enforce ``execution_timeout`` while a task is deferred).
    :param timeout: The operator's timeout in seconds, for the failure message.
    :param cancel_on_kill: Cancel the run when a user marks the task failed/success or clears it.
    :param compartment_id: The run's compartment, for the shared watcher. Optional: triggers
        serialised without it learn it from their first read.
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
    ) -> None:
        super().__init__()
        self.run_id = run_id
        self.oci_conn_id = oci_conn_id
        self.region = region
        self.poll_interval = poll_interval
        self.target_states = sorted(target_states) if target_states is not None else default_target_states()
        self.deadline = deadline
        self.timeout = timeout
        self.cancel_on_kill = cancel_on_kill
        self.compartment_id = compartment_id

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
            },
        )

    def hook(self) -> DataflowHook:
        return DataflowHook(oci_conn_id=self.oci_conn_id, region=self.region)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        outcome = await kill.cancel_when_killed(self, self._wait(self.hook()))
        yield TriggerEvent(outcome.to_event())

    async def _wait(self, hook: DataflowHook) -> WaitOutcome:
        steps = wait_steps(
            self.run_id,
            poll_interval=self.poll_interval,
            target_states=self.target_states,
            deadline=self.deadline,
            timeout=self.timeout,
            log=self.log,
        )
        performer = EventLoopPerformer(hook, self.compartment_id)
        try:
            return await adrive(steps, performer.perform)
        finally:
            performer.close()

    async def run_to_cancel(self) -> str | None:
        """The run a kill should cancel (``pipeline.kill``)."""
        return self.run_id or None

    async def on_kill(self) -> None:
        """A user killed the task (Airflow 3.3+; never on triggerer restarts): cancel the run unless the
        task is still deferred (its trigger moved to another triggerer). See ``pipeline.kill``."""
        await kill.on_kill(self)

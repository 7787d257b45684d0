"""DataflowRunTrigger: wait in the triggerer for a Data Flow run, without holding a worker slot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_dataflow import compat
from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.run_wait import adrive, default_target_states, kill_steps, wait_steps
from airflow_provider_dataflow.run_watch.observer import RunObserver
from airflow_provider_dataflow.triggers.kill_fallback import DEFERRED, on_kill_when_user_killed, task_state
from airflow_provider_dataflow.triggers.loop_stalls import watch_loop
from airflow_provider_dataflow.triggers.run_to_completion import run_to_completion


class DataflowRunTrigger(BaseTrigger):
    """Wait until a run reaches a target or terminal state, or the deadline passes.

    The wait itself is ``run_wait.wait_steps`` (the same rules as the worker's synchronous wait).
    Polls go through the process's shared run watcher for the run's compartment, so a triggerer
    waiting for thousands of runs makes a few list calls per interval instead of one GET per run.
    Transient errors (429, 5xx, connection errors) are retried with jittered backoff honouring
    Retry-After; permanent ones (400, 401, 404) end the wait with the service's message.

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

    def _hook(self) -> DataflowHook:
        return DataflowHook(oci_conn_id=self.oci_conn_id, region=self.region)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        self._watch_for_stalls()
        yield TriggerEvent(await on_kill_when_user_killed(self, self._wait(self._hook())))

    def _watch_for_stalls(self) -> None:
        """On 3.3, ``on_kill`` must tell a user's kill from a move after this loop stalled (``loop_stalls``)."""
        if compat.TRIGGER_ON_KILL:
            watch_loop()

    async def _wait(self, hook: DataflowHook) -> dict[str, Any]:
        steps = wait_steps(
            self.run_id,
            poll_interval=self.poll_interval,
            target_states=self.target_states,
            deadline=self.deadline,
            timeout=self.timeout,
            log=self.log,
        )
        observer = RunObserver(hook, self.run_id, self.compartment_id)
        try:
            return await adrive(steps, observer.perform)
        finally:
            observer.close()

    async def on_kill(self) -> None:
        """Cancel the run when a user kills the task; never on triggerer restarts (see ``cleanup``).

        After this triggerer's loop stalled, Airflow 3.3.2 also calls it for triggers it moved to
        another triggerer: then the task's state decides, and a task still deferred keeps its run.
        The cancel goes on when Airflow cancels ``on_kill`` itself a second later (``run_to_completion``).
        """
        await run_to_completion(self._kill())

    async def _kill(self) -> None:
        if not self.run_id:
            return
        if not self.cancel_on_kill:
            self.log.info("cancel_on_kill is off; leaving Data Flow run %s running", self.run_id)
            return
        if compat.TRIGGER_ON_KILL and watch_loop().stalled_recently():
            state = await task_state(self.task_instance)
            if state in (DEFERRED, None):
                self.log.warning(
                    "This triggerer stalled lately and the task is %s: its trigger moved to another triggerer; "
                    "leaving Data Flow run %s running",
                    state or "in an unknown state",
                    self.run_id,
                )
                return
        self.log.info("Task was killed by a user")
        await adrive(kill_steps(self.run_id, self.log), RunObserver(self._hook(), self.run_id, None).perform)

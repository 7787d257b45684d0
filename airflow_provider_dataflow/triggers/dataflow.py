"""DataflowRunTrigger: wait in the triggerer for a Data Flow run, without holding a worker slot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Collection
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_dataflow.backoff import Backoff
from airflow_provider_dataflow.exceptions import DataflowServiceError
from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.run_wait import (
    CANCEL_CONFIRM_SECONDS,
    default_target_states,
    done_payload,
    error_payload,
    log_transient,
    sleep_budget,
    timeout_payload,
    wait_is_over,
)


class DataflowRunTrigger(BaseTrigger):
    """Poll a run until it reaches a target or terminal state, or the deadline passes.

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
            },
        )

    def _hook(self) -> DataflowHook:
        return DataflowHook(oci_conn_id=self.oci_conn_id, region=self.region)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self._hook()
        backoff = Backoff.for_polling(self.poll_interval)
        last_state: str | None = None
        while True:
            if self.deadline is not None and time.time() >= self.deadline:
                yield TriggerEvent(await self._cancel_after_timeout(hook))
                return
            try:
                run = await hook.aget_run(self.run_id)
            except DataflowServiceError as err:
                if not err.transient:
                    yield TriggerEvent(error_payload(self.run_id, str(err)))
                    return
                delay = backoff.next_delay(err.retry_after)
                log_transient(self.log, err, delay, backoff.attempt)
                await asyncio.sleep(sleep_budget(delay, self.deadline))
                continue
            backoff.reset()
            state = run.get("state")
            if state != last_state:
                self.log.info("Data Flow run %s is %s", self.run_id, state)
                last_state = state
            if wait_is_over(state, self.target_states):
                yield TriggerEvent(done_payload(run))
                return
            await asyncio.sleep(sleep_budget(self.poll_interval, self.deadline))

    async def on_kill(self) -> None:
        """Cancel the run when a user kills the task; never on triggerer restarts (see ``cleanup``)."""
        if not self.cancel_on_kill:
            self.log.info("cancel_on_kill is off; leaving Data Flow run %s running", self.run_id)
            return
        hook = self._hook()
        self.log.info("Task was killed by a user; cancelling Data Flow run %s", self.run_id)
        await hook.acancel_run(self.run_id)
        run = await self._confirm_cancelled(hook)
        self.log.info("Data Flow run %s is %s after cancel", self.run_id, run.get("state"))

    async def _cancel_after_timeout(self, hook: DataflowHook) -> dict[str, Any]:
        self.log.warning("Timeout of %s s reached; cancelling Data Flow run %s", self.timeout, self.run_id)
        try:
            cancelled = await hook.acancel_run(self.run_id)
            run = await self._confirm_cancelled(hook)
        except DataflowServiceError as err:
            return error_payload(self.run_id, f"Timeout reached, and cancelling the run failed: {err}")
        return timeout_payload(run, self.timeout, cancelled)

    async def _confirm_cancelled(self, hook: DataflowHook) -> dict[str, Any]:
        give_up = time.monotonic() + CANCEL_CONFIRM_SECONDS
        run = await hook.aget_run(self.run_id)
        while not wait_is_over(run.get("state"), ()) and time.monotonic() < give_up:
            await asyncio.sleep(1.0)
            run = await hook.aget_run(self.run_id)
        return run

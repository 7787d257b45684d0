"""DataflowPoolTrigger: bring a Data Flow pool to ACTIVE or STOPPED in the triggerer, without a worker slot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.pipeline.pool import PoolAction, PoolWait, pool_steps
from airflow_provider_dataflow.pipeline.steps import adrive
from airflow_provider_dataflow.pipeline.watch.performer import EventLoopPerformer


class DataflowPoolTrigger(BaseTrigger):
    """Run a pool operator's rule (``pipeline.pool``: start if needed, or stop once nothing runs, then wait)
    in the triggerer, every call through ``DataflowHook.acall`` (the request budget, a thread pool per
    kind of call). The event is a ``PoolOutcome``; the operator's ``execute_complete`` resolves it.

    :param pool_id: OCID of the pool.
    :param action: ``"start"`` or ``"stop"``.
    :param retry_token: The task attempt's ``opc-retry-token`` for the start or stop call.
    :param deadline: Unix time at which the wait fails; the operator computes it once, so a triggerer
        restart (which rebuilds this trigger from its kwargs) does not reset it. None: no deadline.
    :param timeout: The operator's timeout in seconds, for the failure message.
    :param wait_for_runs: (stop) wait for the pool's unfinished runs instead of failing.
    :param kwargs: Arguments this release does not know (a trigger row written by another release
        during a rolling upgrade) are logged once and ignored.
    """

    def __init__(
        self,
        pool_id: str,
        action: str,
        retry_token: str,
        oci_conn_id: str = DataflowHook.default_conn_name,
        region: str | None = None,
        poll_interval: float = 30.0,
        deadline: float | None = None,
        timeout: float | None = None,
        wait_for_runs: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.pool_id = pool_id
        self.action = PoolAction(action)
        self.retry_token = retry_token
        self.oci_conn_id = oci_conn_id
        self.region = region
        self.poll_interval = poll_interval
        self.deadline = deadline
        self.timeout = timeout
        self.wait_for_runs = wait_for_runs
        if kwargs:
            unknown = ", ".join(sorted(kwargs))
            self.log.warning(f"DataflowPoolTrigger ignores arguments this release does not know: {unknown}")

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "pool_id": self.pool_id,
                "action": self.action.value,
                "retry_token": self.retry_token,
                "oci_conn_id": self.oci_conn_id,
                "region": self.region,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "timeout": self.timeout,
                "wait_for_runs": self.wait_for_runs,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        steps = pool_steps(
            self.action,
            self.pool_id,
            retry_token=self.retry_token,
            wait=PoolWait(self.poll_interval, self.deadline, self.timeout),
            wait_for_runs=self.wait_for_runs,
            log=self.log,
        )
        performer = EventLoopPerformer(DataflowHook(oci_conn_id=self.oci_conn_id, region=self.region))
        try:
            outcome = await adrive(steps, performer.perform)
        finally:
            performer.close()
        yield TriggerEvent(outcome.to_event())

"""Start and stop a Data Flow pool, e.g. as the setup and teardown tasks around a backfill (docs/pools.md).

Both drive the rules in ``pipeline.pool`` (start if needed; stop once nothing runs; wait for the state,
within an absolute deadline): here on a worker, or, with ``deferrable=True``, in the triggerer as soon
as the rule has to wait. Like the run operator, this module imports neither the hook nor the pipeline
at DAG parse time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import BaseOperator

from airflow_provider_dataflow.compat import conf
from airflow_provider_dataflow.exceptions import DataflowInvalidInputError
from airflow_provider_dataflow.operators.dataflow import DEFAULT_CONN_ID, _positive_float
from airflow_provider_dataflow.runs.request import validated_ocid

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_dataflow.hooks.dataflow import DataflowHook
    from airflow_provider_dataflow.pipeline.pool import PoolAction

__all__ = ["DataflowStartPoolOperator", "DataflowStopPoolOperator"]


class _DataflowPoolOperator(BaseOperator):
    """What starting and stopping share: the pool, the connection, how to wait, and the deadline."""

    template_fields: Sequence[str] = ("pool_id", "region")
    ui_color = "#f80000"
    action: str

    def __init__(
        self,
        *,
        pool_id: str,
        oci_conn_id: str = DEFAULT_CONN_ID,
        region: str | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 30.0,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pool_id = pool_id
        self.oci_conn_id = oci_conn_id
        self.region = region
        self.deferrable = deferrable
        self.poll_interval = _positive_float("poll_interval", poll_interval)
        self.timeout = None if timeout is None else _positive_float("timeout", timeout)

    @cached_property
    def hook(self) -> DataflowHook:
        from airflow_provider_dataflow.hooks.dataflow import DataflowHook

        return DataflowHook(oci_conn_id=self.oci_conn_id, region=self.region)

    @property
    def wait_for_runs(self) -> bool:
        return False

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_dataflow.pipeline.pool import (
            PoolAction,
            PoolWait,
            WaitAhead,
            pool_retry_token,
            pool_steps,
            until_first_wait,
        )
        from airflow_provider_dataflow.pipeline.steps import blocking_performer, drive

        pool_id = validated_ocid("pool_id", self.pool_id)  # rendered now; checked before any call
        action = PoolAction(self.action)
        token = pool_retry_token(context["ti"], action)
        deadline = time.time() + self.timeout if self.timeout else None  # absolute: a restart keeps it
        wait = PoolWait(self.poll_interval, deadline, self.timeout)
        steps = pool_steps(
            action, pool_id, retry_token=token, wait=wait, wait_for_runs=self.wait_for_runs, log=self.log
        )
        perform = blocking_performer(self.hook)
        if not self.deferrable:
            return drive(steps, perform).resolve()
        try:
            return drive(steps, until_first_wait(perform)).resolve()
        except WaitAhead:
            self._defer(pool_id, action, token, deadline)

    def _defer(self, pool_id: str, action: PoolAction, token: str, deadline: float | None) -> NoReturn:
        from airflow_provider_dataflow.triggers.pool import DataflowPoolTrigger

        self.log.info("Waiting for Data Flow pool %s in the triggerer", pool_id)
        self.defer(
            trigger=DataflowPoolTrigger(
                pool_id=pool_id,
                action=action.value,
                retry_token=token,
                oci_conn_id=self.oci_conn_id,
                region=self.region,
                poll_interval=self.poll_interval,
                deadline=deadline,
                timeout=self.timeout,
                wait_for_runs=self.wait_for_runs,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the trigger fired: the pool's attributes, or the same exception the worker raises."""
        from airflow_provider_dataflow.pipeline.pool import PoolOutcome

        return PoolOutcome.from_event(event).resolve()


class DataflowStartPoolOperator(_DataflowPoolOperator):
    """Start a Data Flow pool and wait until it is ACTIVE; returns the pool's attributes (``id``, ``state``,
    ``pool_metrics``, ... under Terraform's ``oci_dataflow_pool`` names).

    Idempotent: an ACTIVE pool is left as it is, a pool already starting is only waited for, and a
    STOPPING pool is waited for and then started. A DELETED pool, or one that stops or fails after
    this task started it, fails the task naming its state.

    :param pool_id: OCID of the pool (templated).
    :param oci_conn_id: ``oci_dataflow`` connection.
    :param region: Overrides the connection's region.
    :param deferrable: Wait in the triggerer instead of a worker slot.
    :param poll_interval: Seconds between reads of the pool.
    :param timeout: Seconds a try waits for the pool to be ACTIVE, counted from the start of its
        ``execute`` (a triggerer restart does not reset it); then it fails naming the pool's state.
        None: no limit.
    """

    action = "start"


class DataflowStopPoolOperator(_DataflowPoolOperator):
    """Stop a Data Flow pool and wait until it is STOPPED; returns the pool's attributes.

    The service's stop cancels the pool's unfinished runs, so this operator never stops a pool while
    runs in it are still ACCEPTED or IN_PROGRESS: it waits for them (``wait_for_runs=True``, the
    default) or fails naming them. A pool at rest (STOPPED, never started, failed) is left as it is.

    :param pool_id: OCID of the pool (templated).
    :param wait_for_runs: Wait for the pool's unfinished runs to end before stopping it; False fails
        the task instead, naming the runs.
    :param timeout: Seconds the task waits (for the runs, then for STOPPED) before failing; None: no limit.

    The other parameters are those of :class:`DataflowStartPoolOperator`.
    """

    action = "stop"

    def __init__(self, *, pool_id: str, wait_for_runs: bool = True, **kwargs: Any) -> None:
        super().__init__(pool_id=pool_id, **kwargs)
        if not isinstance(wait_for_runs, bool):
            raise DataflowInvalidInputError("wait_for_runs", f"must be True or False, got {wait_for_runs!r}")
        self._wait_for_runs = wait_for_runs

    @property
    def wait_for_runs(self) -> bool:
        return self._wait_for_runs

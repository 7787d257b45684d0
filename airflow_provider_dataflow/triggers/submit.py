"""DataflowSubmitRunTrigger: create the run in the triggerer, then wait for it (``start_from_trigger=True``).

A backfill of thousands of runs then needs no worker slot even to submit. The scheduler hands the
operator's ``start_trigger_args`` to the triggerer, which renders the operator's templated fields on
this trigger (its attributes carry the operator's template-field names, ``spark_submit`` included)
before ``run``. Submitting is ``pipeline.submit.plan_steps``, exactly as on a worker: the same validation,
tags, retry token, reattach decision (the triggerer has no task state store: an earlier try's run is found
by its tags, and its success mark tells a clear from a retry), OpenLineage properties, target states and
deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_dataflow.exceptions import DataflowInvalidInputError, DataflowServiceError
from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.pipeline.logs.sources import LogStream
from airflow_provider_dataflow.pipeline.outcome import WaitOutcome
from airflow_provider_dataflow.pipeline.steps import adrive
from airflow_provider_dataflow.pipeline.submit import RunPlan, RunRequest, plan_steps
from airflow_provider_dataflow.pipeline.watch.performer import EventLoopPerformer
from airflow_provider_dataflow.runs.attempts import ReattachPolicy
from airflow_provider_dataflow.runs.fields import FIELD_ATTRIBUTES, SUBMIT_SETTINGS
from airflow_provider_dataflow.triggers.dataflow import DataflowRunTrigger, warn_unknown


def submit_kwargs(holder: Any) -> dict[str, Any]:
    """The trigger's kwargs, read from an operator or a trigger: the same names on both."""
    kwargs = {name: getattr(holder, name) for name in (*SUBMIT_SETTINGS, *FIELD_ATTRIBUTES)}
    kwargs["reattach_policy"] = ReattachPolicy(kwargs["reattach_policy"]).value
    return kwargs


class DataflowSubmitRunTrigger(DataflowRunTrigger):
    """Validate, create (or reattach to) the run, then wait as :class:`DataflowRunTrigger` does.

    Keyword arguments are the operator's run fields under its attribute names, plus its submit and wait
    settings. Events are those of :class:`DataflowRunTrigger`, so the operator's ``execute_complete``
    handles both paths alike. Keyword arguments it does not know (a row written by another release) are
    ignored with a warning.
    """

    def __init__(
        self,
        *,
        oci_conn_id: str = DataflowHook.default_conn_name,
        region: str | None = None,
        opc_parent_rpt_url: str | None = None,
        poll_interval: float = 30.0,
        timeout: float | None = None,
        timeout_sets_max_duration: bool = True,
        cancel_on_kill: bool = True,
        reattach_policy: str = ReattachPolicy.REATTACH_ACTIVE.value,
        wait_for_termination: bool = False,
        openlineage_inject_parent_job_info: bool = False,
        openlineage_inject_transport_info: bool = False,
        pool_queue_timeout: float | None = None,
        end_from_trigger: bool = False,
        stream_logs: list[Any] | None = None,
        **run_fields: Any,
    ) -> None:
        super().__init__(
            run_id="",
            oci_conn_id=oci_conn_id,
            region=region,
            poll_interval=poll_interval,
            timeout=timeout,
            cancel_on_kill=cancel_on_kill,
            pool_queue_timeout=pool_queue_timeout,
            end_from_trigger=end_from_trigger,
        )
        warn_unknown(type(self), {key: value for key, value in run_fields.items() if key not in FIELD_ATTRIBUTES})
        self.opc_parent_rpt_url = opc_parent_rpt_url
        self.timeout_sets_max_duration = timeout_sets_max_duration
        self.reattach_policy = reattach_policy
        self.wait_for_termination = wait_for_termination
        self.openlineage_inject_parent_job_info = openlineage_inject_parent_job_info
        self.openlineage_inject_transport_info = openlineage_inject_transport_info
        self.stream_logs = stream_logs
        for name in FIELD_ATTRIBUTES:
            setattr(self, name, run_fields.get(name))
        self._submitting: asyncio.Future[RunPlan] | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{type(self).__module__}.{type(self).__qualname__}", submit_kwargs(self)

    def hook(self) -> DataflowHook:
        return DataflowHook(self.oci_conn_id, region=self.region, opc_parent_rpt_url=self.opc_parent_rpt_url)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self.hook()
        try:
            # In a task of its own: a kill during the create must still learn the run, to cancel it.
            self._submitting = asyncio.ensure_future(self._plan(hook))
            plan = await asyncio.shield(self._submitting)
        except (DataflowInvalidInputError, DataflowServiceError) as err:
            yield TriggerEvent(WaitOutcome.failed(self.run_id or None, err).to_event())
            return
        self.run_id, self.compartment_id = plan.run["id"], plan.run.get("compartment_id")
        self.target_states = list(plan.target_states)
        self.deadline = plan.deadline
        if plan.pool_queue is not None:
            self.pool_id, self.pool_queue_deadline = plan.pool_queue.pool_id, plan.pool_queue.deadline
        if plan.wait_is_over:
            yield await self._event(hook, WaitOutcome.done(plan.run))
            return
        stream = LogStream.of(plan.run, self.stream_logs, self.log)
        self.log_stream = stream.to_json() if stream is not None else None
        outcome = await self._waiting(hook)
        yield await self._event(hook, outcome)

    async def _plan(self, hook: DataflowHook) -> RunPlan:
        ti = self.task_instance
        if ti is None:
            raise DataflowInvalidInputError("start_from_trigger", "the trigger was started without its task instance")
        settings = await hook.asettings()
        request = RunRequest.of(self, ti, default_compartment_id=settings.compartment_id, lineage_context={"ti": ti})
        return await adrive(plan_steps(request, self.log), EventLoopPerformer(hook).perform)

    async def run_to_cancel(self) -> str | None:
        """The run to cancel; a kill during the create waits for it to learn the run."""
        if not self.run_id and self._submitting is not None:
            try:
                self.run_id = (await self._submitting).run["id"]
            except (DataflowInvalidInputError, DataflowServiceError):
                return None  # nothing was created
        return self.run_id or None

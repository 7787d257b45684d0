"""DataflowSubmitRunTrigger: create the run in the triggerer, then wait for it (``start_from_trigger=True``).

A backfill of thousands of runs then needs no worker slot even to submit. The scheduler hands the
operator's ``start_trigger_args`` to the triggerer, which renders the operator's templated fields on
this trigger (its attributes carry the operator's template-field names, ``spark_submit`` included)
before ``run``. Submitting is ``pipeline.submit``, as on a worker: the same validation, tags, retry
token, reattach search, OpenLineage properties and deadline. The triggerer has no task state store,
so a retry finds an earlier try's run by its ``airflow_*`` tags.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_dataflow.exceptions import DataflowInvalidInputError, DataflowServiceError
from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.pipeline import kill
from airflow_provider_dataflow.pipeline.outcome import WaitOutcome
from airflow_provider_dataflow.pipeline.steps import adrive
from airflow_provider_dataflow.pipeline.submit import Lineage, Submission, deadline_for, prepare_body, submit_steps
from airflow_provider_dataflow.pipeline.watch.performer import EventLoopPerformer
from airflow_provider_dataflow.runs.attempts import ReattachPolicy, task_tags
from airflow_provider_dataflow.runs.fields import FIELD_ATTRIBUTES, run_fields_of
from airflow_provider_dataflow.runs.states import success_states, wait_is_over
from airflow_provider_dataflow.triggers.dataflow import DataflowRunTrigger

# The operator's settings this trigger takes, besides its run fields (FIELD_ATTRIBUTES).
SETTINGS = (
    "oci_conn_id",
    "region",
    "opc_parent_rpt_url",
    "poll_interval",
    "timeout",
    "timeout_sets_max_duration",
    "cancel_on_kill",
    "reattach_policy",
    "wait_for_termination",
    "openlineage_inject_parent_job_info",
    "openlineage_inject_transport_info",
)


def submit_kwargs(holder: Any) -> dict[str, Any]:
    """The trigger's kwargs, read from an operator or a trigger: the same names on both."""
    kwargs = {name: getattr(holder, name) for name in (*SETTINGS, *FIELD_ATTRIBUTES)}
    kwargs["reattach_policy"] = ReattachPolicy(kwargs["reattach_policy"]).value
    return kwargs


class DataflowSubmitRunTrigger(DataflowRunTrigger):
    """Validate, create (or reattach to) the run, then wait as :class:`DataflowRunTrigger` does.

    Keyword arguments are the operator's run fields under its attribute names, plus the wait
    settings. Events are those of :class:`DataflowRunTrigger`, so the operator's
    ``execute_complete`` handles both paths alike.
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
        **run_fields: Any,
    ) -> None:
        super().__init__(
            run_id="",
            oci_conn_id=oci_conn_id,
            region=region,
            poll_interval=poll_interval,
            timeout=timeout,
            cancel_on_kill=cancel_on_kill,
        )
        if unknown := sorted(set(run_fields) - set(FIELD_ATTRIBUTES)):
            raise TypeError(f"DataflowSubmitRunTrigger got unexpected run fields {unknown}")
        self.opc_parent_rpt_url = opc_parent_rpt_url
        self.timeout_sets_max_duration = timeout_sets_max_duration
        self.reattach_policy = reattach_policy
        self.wait_for_termination = wait_for_termination
        self.openlineage_inject_parent_job_info = openlineage_inject_parent_job_info
        self.openlineage_inject_transport_info = openlineage_inject_transport_info
        for name in FIELD_ATTRIBUTES:
            setattr(self, name, run_fields.get(name))
        self._submitting: asyncio.Future[dict[str, Any]] | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{type(self).__module__}.{type(self).__qualname__}", submit_kwargs(self)

    def hook(self) -> DataflowHook:
        return DataflowHook(self.oci_conn_id, region=self.region, opc_parent_rpt_url=self.opc_parent_rpt_url)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self.hook()
        try:
            # In a task of its own: a kill during the create must still learn the run, to cancel it.
            self._submitting = asyncio.ensure_future(self._submit(hook))
            run = await asyncio.shield(self._submitting)
        except (DataflowInvalidInputError, DataflowServiceError) as err:
            yield TriggerEvent(WaitOutcome.failed(self.run_id or None, err).to_event())
            return
        self.run_id, self.compartment_id = run["id"], run.get("compartment_id")
        self.target_states = success_states(run.get("type"), self.wait_for_termination)
        if wait_is_over(run.get("state"), self.target_states):
            yield TriggerEvent(WaitOutcome.done(run).to_event())
            return
        self.deadline = deadline_for(run, self.timeout)
        outcome = await kill.cancel_when_killed(self, self._wait(hook))
        yield TriggerEvent(outcome.to_event())

    async def _submit(self, hook: DataflowHook) -> dict[str, Any]:
        ti = self.task_instance
        if ti is None:
            raise DataflowInvalidInputError("start_from_trigger", "the trigger was started without its task instance")
        settings = await hook.asettings()
        body = prepare_body(
            run_fields_of(self),
            default_compartment_id=settings.compartment_id,
            tags=task_tags(ti),
            timeout=self.timeout,
            timeout_sets_max_duration=self.timeout_sets_max_duration,
            log=self.log,
        )
        submission = Submission(
            ti=ti,
            reattach_policy=ReattachPolicy(self.reattach_policy),
            lineage=Lineage(
                parent_job=self.openlineage_inject_parent_job_info,
                transport=self.openlineage_inject_transport_info,
                context={"ti": ti},
            ),
            opc_parent_rpt_url=self.opc_parent_rpt_url,
        )
        return await adrive(submit_steps(body, submission, self.log), EventLoopPerformer(hook).perform)

    async def run_to_cancel(self) -> str | None:
        """The run to cancel; a kill during the create waits for it to learn the run."""
        if not self.run_id and self._submitting is not None:
            try:
                self.run_id = (await self._submitting)["id"]
            except (DataflowInvalidInputError, DataflowServiceError):
                return None  # nothing was created
        return self.run_id or None

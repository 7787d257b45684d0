"""DataflowSubmitRunTrigger: create the run in the triggerer, then wait for it (``start_from_trigger=True``).

A backfill of thousands of runs then needs no worker slot even to submit. The scheduler hands the
operator's ``start_trigger_args`` to the triggerer, which renders the operator's templated fields on
this trigger (its attributes carry the operator's template-field names, ``spark_submit`` included)
before ``run``. So the service receives rendered values, validated here before any API call.

One run per try: the create carries the same ``opc-retry-token`` as the worker path (derived from
the task instance's identity and try number), so a triggerer that restarts mid-create, or a
trigger moved to another triggerer, gets the same run back. A retry (try > 1) first looks for the
earlier try's run by its ``airflow_*`` tags, as the worker path does when it has no task state
store (the triggerer has none).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_dataflow.exceptions import DataflowInvalidInputError, DataflowServiceError
from airflow_provider_dataflow.hooks.dataflow import DataflowHook
from airflow_provider_dataflow.operators.run_recovery import ReattachPolicy, find_earlier_run
from airflow_provider_dataflow.operators.run_request import FIELD_ATTRIBUTES, run_fields_of
from airflow_provider_dataflow.operators.run_submission import create_request
from airflow_provider_dataflow.operators.task_identity import retry_token, task_tags
from airflow_provider_dataflow.run_state import success_states
from airflow_provider_dataflow.run_wait import done_payload, error_payload, wait_is_over
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
        for name in FIELD_ATTRIBUTES:
            setattr(self, name, run_fields.get(name))
        self._creating: asyncio.Future[dict[str, Any]] | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{type(self).__module__}.{type(self).__qualname__}", submit_kwargs(self)

    def _hook(self) -> DataflowHook:
        return DataflowHook(self.oci_conn_id, region=self.region, opc_parent_rpt_url=self.opc_parent_rpt_url)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        self._watch_for_stalls()
        hook = self._hook()
        try:
            run = await self._submit(hook)
        except (DataflowInvalidInputError, DataflowServiceError) as err:
            yield TriggerEvent(error_payload(self.run_id, str(err)))
            return
        self.run_id, self.compartment_id = run["id"], run.get("compartment_id")
        self.target_states = success_states(run.get("type"), self.wait_for_termination)
        if wait_is_over(run.get("state"), self.target_states):
            yield TriggerEvent(done_payload(run))
            return
        if self.timeout:
            self.deadline = _created_at(run) + self.timeout
        yield TriggerEvent(await self._wait(hook))

    async def _submit(self, hook: DataflowHook) -> dict[str, Any]:
        ti = self.task_instance
        if ti is None:
            raise DataflowInvalidInputError("start_from_trigger", "the trigger was started without its task instance")
        context: Any = {"ti": ti, "task_state_store": None, "dag_run": None}
        settings = await hook.asettings()
        details = create_request(
            run_fields_of(self),
            default_compartment_id=settings.compartment_id,
            tags=task_tags(context),
            timeout=self.timeout,
            timeout_sets_max_duration=self.timeout_sets_max_duration,
            log=self.log,
        )
        policy = ReattachPolicy(self.reattach_policy)
        earlier = await hook.arun_blocking(
            lambda: find_earlier_run(context, hook, policy, details["compartment_id"], self.log)
        )
        if earlier is not None:
            return earlier
        # Shielded: a kill during the create must still learn the run, to cancel it (on_kill).
        self._creating = asyncio.ensure_future(hook.acreate_run(details, retry_token=retry_token(context)))
        run = await asyncio.shield(self._creating)
        self.log.info("Created Data Flow run %s (%s) from the triggerer", run["id"], run.get("state"))
        return run

    async def _kill(self) -> None:
        if not self.run_id and self._creating is not None:
            try:
                self.run_id = (await self._creating)["id"]
            except DataflowServiceError:
                return  # the create failed: nothing runs
        await super()._kill()


def _created_at(run: dict[str, Any]) -> float:
    """When the run was created (so a restarted trigger keeps the original deadline); now if unknown."""
    created = run.get("time_created")
    if isinstance(created, datetime):
        return created.timestamp()
    try:
        return datetime.fromisoformat(str(created)).timestamp()
    except ValueError:
        return time.time()

"""DataflowInvokeRunOperator: create a Data Flow run, the way Terraform's ``oci_dataflow_invoke_run`` does.

``execute`` reads as the pipeline it drives: prepare and submit (``pipeline.submit``), then defer to the
triggerer or wait here (``pipeline.wait``), then the outcome (``pipeline.outcome``). Every DAG file that
imports this module pays for its imports on each parse, so the pipeline, the hook and the triggers are
imported where a task runs, not here (``benchmarks/parse_time.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_dataflow import compat
from airflow_provider_dataflow.compat import AirflowTaskTimeout, conf
from airflow_provider_dataflow.exceptions import DataflowInvalidInputError, DataflowRunError
from airflow_provider_dataflow.links.dataflow import DataflowRunLink, console_url
from airflow_provider_dataflow.runs.attempts import STATE_STORE_KEY, ReattachPolicy
from airflow_provider_dataflow.runs.fields import FIELD_ATTRIBUTES, run_fields_of
from airflow_provider_dataflow.runs.logs import LogName, stream_log_names
from airflow_provider_dataflow.runs.states import success_states

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context
    from airflow.triggers.base import StartTriggerArgs

    from airflow_provider_dataflow.hooks.dataflow import DataflowHook
    from airflow_provider_dataflow.pipeline.logs.sources import LogStream
    from airflow_provider_dataflow.pipeline.outcome import WaitOutcome

__all__ = ["DataflowInvokeRunOperator", "ReattachPolicy"]

DEFAULT_CONN_ID = "oci_dataflow_default"  # DataflowHook.default_conn_name, without importing the hook
SUBMIT_TRIGGER = "airflow_provider_dataflow.triggers.submit.DataflowSubmitRunTrigger"


class DataflowInvokeRunOperator(BaseOperator):
    """Create an OCI Data Flow run and (by default) wait for it to end.

    Every argument of Terraform's ``oci_dataflow_invoke_run`` is accepted under the same name and
    is Jinja-templated (``execute`` is templated as the ``spark_submit`` attribute). Arguments are
    validated before any API call. The return value (XCom) is the run's attributes under
    Terraform's attribute names (``id``, ``state``, ``lifecycle_details``, ...).

    :param compartment_id: Compartment OCID; defaults to the connection's ``compartment_id`` extra.
    :param application_id: Application to run. Give it, ``execute``, or both (then the service
        uses what ``execute`` derives).
    :param execute: A spark-submit command line, e.g. ``--conf k=v oci://bucket@ns/app.py arg``.
    :param parameters: ``{"name": "value"}`` or ``[{"name": ..., "value": ...}]``; fills
        ``${name}`` placeholders in ``arguments``.
    :param defined_tags: ``{"Namespace.Key": "v"}`` or ``{"Namespace": {"Key": "v"}}``.
    :param asynchronous: Return as soon as the run is accepted instead of waiting for its end.
    :param oci_conn_id: ``oci_dataflow`` connection.
    :param region: Overrides the connection's region.
    :param deferrable: Wait in the triggerer instead of a worker slot.
    :param poll_interval: Seconds between status checks.
    :param timeout: Seconds the wait may take; then the run is cancelled and the task fails.
        Enforced in deferrable mode too (Airflow does not enforce ``execution_timeout`` there). For a run
        submitted to a Data Flow pool (``pool_id``), counted from when it leaves the pool's queue.
    :param pool_queue_timeout: Seconds a run may wait in its pool's queue (ACCEPTED, waiting for the pool's
        capacity) before it is cancelled and the task fails; None leaves that wait to the service's
        ``spark.dataflow.acquireQuotaTimeout`` (20 minutes by default). The wait is reported in the task log.
    :param timeout_sets_max_duration: Also send ``max_duration_in_minutes`` derived from
        ``timeout`` (when not set), so the service stops the run even if Airflow is down.
    :param cancel_on_kill: Cancel the run when the task is killed or marked failed/success.
    :param reattach_policy: What a retry or clear does with an earlier attempt's run; see
        :class:`~airflow_provider_dataflow.runs.attempts.ReattachPolicy` (also importable from here).
    :param wait_for_termination: STREAMING and SESSION runs do not end by themselves, so by
        default the task succeeds once they are IN_PROGRESS; True waits until they end.
    :param log_tail_lines: Lines of the driver's stderr/stdout shown in the task log on failure.
    :param stream_logs: Show the run's OCI Logging lines in the task log while it runs (both ways of
        waiting): True for its application log (``application_log_config``, own or its application's), or a
        list of more logs to read, e.g. the application's Spark diagnostic log, as
        ``{"log_group_id": ..., "log_id": ..., "compartment_id": ...}`` or ``"<compartment>/<group>/<log>"``.
        None: ``[oci_dataflow] stream_logs`` (off unless set). See docs/log-streaming.md.
    :param start_from_trigger: Submit from the triggerer instead of a worker: the task takes no
        worker slot until the run has ended (see docs/scale.md for what this mode cannot do).
        Airflow 3.3+; earlier triggerers cannot render templated fields, so there the worker submits.
    :param end_from_trigger: With ``deferrable`` or ``start_from_trigger``: on success the triggerer ends
        the task itself (return value and console link as XCom), so a run needs no worker at all with
        ``start_from_trigger``; any other ending resumes on a worker to raise the task's exception. Airflow
        refuses it when a listener (OpenLineage) is installed: the task then resumes on a worker, as without
        it, and the DAG still imports.
    :param openlineage_inject_parent_job_info: Add ``spark.openlineage.parent*``/``rootParent*``
        properties naming this task, so the Spark job's lineage events point back at it.
    :param openlineage_inject_transport_info: Add the deployment's OpenLineage HTTP transport as
        ``spark.openlineage.transport.*`` properties, so Spark sends its events where Airflow does.
    """

    template_fields: Sequence[str] = (
        *FIELD_ATTRIBUTES,
        "opc_parent_rpt_url",
        "region",
    )
    template_fields_renderers = {
        "arguments": "json",
        "configuration": "json",
        "parameters": "json",
        "defined_tags": "json",
        "freeform_tags": "json",
        "driver_shape_config": "json",
        "executor_shape_config": "json",
        "application_log_config": "json",
    }
    operator_extra_links = (DataflowRunLink(),)
    ui_color = "#f80000"

    def __init__(
        self,
        *,
        compartment_id: str | None = None,
        application_id: str | None = None,
        application_log_config: dict[str, str] | None = None,
        archive_uri: str | None = None,
        arguments: list[str] | None = None,
        configuration: dict[str, str] | None = None,
        defined_tags: dict[str, Any] | None = None,
        display_name: str | None = None,
        driver_shape: str | None = None,
        driver_shape_config: dict[str, Any] | None = None,
        execute: str | None = None,
        executor_shape: str | None = None,
        executor_shape_config: dict[str, Any] | None = None,
        freeform_tags: dict[str, str] | None = None,
        idle_timeout_in_minutes: int | str | None = None,
        logs_bucket_uri: str | None = None,
        max_duration_in_minutes: int | str | None = None,
        metastore_id: str | None = None,
        num_executors: int | str | None = None,
        opc_parent_rpt_url: str | None = None,
        parameters: dict[str, str] | list[dict[str, str]] | None = None,
        pool_id: str | None = None,
        spark_version: str | None = None,
        type: str | None = None,
        warehouse_bucket_uri: str | None = None,
        asynchronous: bool = False,
        oci_conn_id: str = DEFAULT_CONN_ID,
        region: str | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 30.0,
        timeout: float | None = None,
        timeout_sets_max_duration: bool = True,
        cancel_on_kill: bool = True,
        reattach_policy: ReattachPolicy | str = ReattachPolicy.REATTACH_ACTIVE,
        wait_for_termination: bool = False,
        log_tail_lines: int = 50,
        stream_logs: bool | Sequence[LogName] | None = None,
        start_from_trigger: bool = False,
        end_from_trigger: bool = False,
        pool_queue_timeout: float | None = None,
        openlineage_inject_parent_job_info: bool = conf.getboolean(
            "openlineage", "spark_inject_parent_job_info", fallback=False
        ),
        openlineage_inject_transport_info: bool = conf.getboolean(
            "openlineage", "spark_inject_transport_info", fallback=False
        ),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.compartment_id = compartment_id
        self.application_id = application_id
        self.application_log_config = application_log_config
        self.archive_uri = archive_uri
        self.arguments = arguments
        self.configuration = configuration
        self.defined_tags = defined_tags
        self.display_name = display_name
        self.driver_shape = driver_shape
        self.driver_shape_config = driver_shape_config
        self.spark_submit = execute
        self.executor_shape = executor_shape
        self.executor_shape_config = executor_shape_config
        self.freeform_tags = freeform_tags
        self.idle_timeout_in_minutes = idle_timeout_in_minutes
        self.logs_bucket_uri = logs_bucket_uri
        self.max_duration_in_minutes = max_duration_in_minutes
        self.metastore_id = metastore_id
        self.num_executors = num_executors
        self.opc_parent_rpt_url = opc_parent_rpt_url
        self.parameters = parameters
        self.pool_id = pool_id
        self.spark_version = spark_version
        self.type = type
        self.warehouse_bucket_uri = warehouse_bucket_uri
        self.asynchronous = asynchronous
        self.oci_conn_id = oci_conn_id
        self.region = region
        self.deferrable = deferrable
        self.poll_interval = _positive_float("poll_interval", poll_interval)
        self.timeout = None if timeout is None else _positive_float("timeout", timeout)
        self.pool_queue_timeout = (
            None if pool_queue_timeout is None else _positive_float("pool_queue_timeout", pool_queue_timeout)
        )
        self.timeout_sets_max_duration = timeout_sets_max_duration
        self.cancel_on_kill = cancel_on_kill
        self.reattach_policy = _reattach_policy(reattach_policy)
        self.wait_for_termination = wait_for_termination
        if isinstance(log_tail_lines, bool) or not isinstance(log_tail_lines, int) or log_tail_lines < 0:
            raise DataflowInvalidInputError("log_tail_lines", f"must be a whole number >= 0, got {log_tail_lines!r}")
        self.log_tail_lines = log_tail_lines
        self.stream_logs = stream_log_names("stream_logs", stream_logs)
        self.openlineage_inject_parent_job_info = openlineage_inject_parent_job_info
        self.openlineage_inject_transport_info = openlineage_inject_transport_info
        self.run_id: str | None = None
        self.last_run: dict[str, Any] | None = None
        self.start_from_trigger = start_from_trigger and compat.TRIGGER_RENDERS_TEMPLATES
        self.end_from_trigger = _end_from_trigger(end_from_trigger, deferrable or start_from_trigger, self.log)
        if self.start_from_trigger:
            self.start_trigger_args = self._start_trigger_args()

    def _start_trigger_args(self) -> StartTriggerArgs:
        """What the scheduler hands the triggerer; templated fields are rendered there, on the trigger."""
        from airflow.triggers.base import StartTriggerArgs

        from airflow_provider_dataflow.triggers.submit import submit_kwargs

        if self.asynchronous:
            raise DataflowInvalidInputError(
                "start_from_trigger", "waits in the triggerer, so it cannot be combined with asynchronous=True"
            )
        return StartTriggerArgs(
            trigger_cls=SUBMIT_TRIGGER, trigger_kwargs=submit_kwargs(self), next_method="execute_complete"
        )

    @cached_property
    def hook(self) -> DataflowHook:
        from airflow_provider_dataflow.hooks.dataflow import DataflowHook

        return DataflowHook(
            oci_conn_id=self.oci_conn_id, region=self.region, opc_parent_rpt_url=self.opc_parent_rpt_url
        )

    def run_fields(self) -> dict[str, Any]:
        """The (rendered) run arguments under Terraform's names."""
        return run_fields_of(self)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_dataflow.pipeline.outcome import WaitOutcome
        from airflow_provider_dataflow.pipeline.steps import blocking_performer, drive
        from airflow_provider_dataflow.pipeline.submit import RunRequest, plan_steps
        from airflow_provider_dataflow.pipeline.wait import wait_steps

        if self.start_from_trigger:
            self.log.warning(
                "start_from_trigger is set, but this try runs on a worker (a mapped task, whose arguments the "
                "scheduler cannot hand to a trigger, or dag.test()); submitting from the worker"
            )
        DataflowRunLink.persist(context, "")  # the link exists (empty) until the run does
        store = context.get("task_state_store")
        record = store.get(STATE_STORE_KEY) if store is not None else None
        request = RunRequest.of(
            self,
            context["ti"],
            default_compartment_id=self.hook.settings.compartment_id,
            lineage_context=context,
            earlier_run_id=str(record["run_id"]) if isinstance(record, dict) and record.get("run_id") else None,
        )
        perform = blocking_performer(self.hook)
        plan = drive(plan_steps(request, self.log), perform)
        run = self.last_run = plan.run
        self._record_run(context, run["id"])
        if self.asynchronous:
            return self._accepted(context, run)
        if plan.wait_is_over:
            return self._finish(context, WaitOutcome.done(run))
        if self.deferrable:
            from airflow_provider_dataflow.triggers.dataflow import DataflowRunTrigger

            queue = plan.pool_queue
            self.defer(
                trigger=DataflowRunTrigger(
                    run_id=run["id"],
                    oci_conn_id=self.oci_conn_id,
                    region=self.region,
                    poll_interval=self.poll_interval,
                    target_states=plan.target_states,
                    deadline=plan.deadline,
                    timeout=self.timeout,
                    cancel_on_kill=self.cancel_on_kill,
                    compartment_id=run.get("compartment_id"),
                    pool_id=queue.pool_id if queue else None,
                    pool_queue_deadline=queue.deadline if queue else None,
                    pool_queue_timeout=self.pool_queue_timeout,
                    end_from_trigger=self.end_from_trigger,
                    log_stream=stream.to_json() if (stream := self._log_stream(run)) else None,
                ),
                method_name="execute_complete",
            )
        steps = wait_steps(
            run["id"],
            poll_interval=self.poll_interval,
            target_states=plan.target_states,
            deadline=plan.deadline,
            timeout=self.timeout,
            log=self.log,
            pool_queue=plan.pool_queue,
        )
        logs = None
        if (stream := self._log_stream(run)) is not None:
            from airflow_provider_dataflow.pipeline.logs.blocking import BlockingRunLogs, polling_with_logs

            logs = BlockingRunLogs.of(self.hook, stream, self.log)
            perform = polling_with_logs(perform, logs)
        try:
            outcome = drive(steps, perform)
        except AirflowTaskTimeout:
            # execution_timeout fired inside the synchronous wait: do not leave Spark running.
            self._cancel_run()
            raise
        if logs is not None:
            logs.drain_if_ended(outcome.run, self.poll_interval)
        return self._finish(context, outcome)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the trigger fired; the same outcome rules as the synchronous path."""
        from airflow_provider_dataflow.pipeline.outcome import WaitOutcome

        outcome = WaitOutcome.from_event(event)
        self.run_id = outcome.run_id
        if self.start_from_trigger and self.run_id:
            self._record_run(context, self.run_id)  # the triggerer created it; execute never ran
        return self._finish(context, outcome)

    def _log_stream(self, run: dict[str, Any]) -> LogStream | None:
        """The run's lines to show (``stream_logs``); None when off, or when there are none (said in the log)."""
        from airflow_provider_dataflow.pipeline.logs.sources import LogStream

        return LogStream.of(run, self.stream_logs, self.log)

    def success_states(self, run_type: str | None) -> list[str]:
        """States that end the wait successfully for this run type."""
        return success_states(run_type, self.wait_for_termination)

    def _record_run(self, context: Context, run_id: str) -> None:
        """Keep the run id for later tries (the task state store, 3.3+) and show its console page."""
        self.run_id = run_id
        store = context.get("task_state_store")
        if store is not None:
            store.set(STATE_STORE_KEY, {"run_id": run_id})
        url = console_url(run_id, self.hook.settings.region, self.hook.settings.console_url_template)
        DataflowRunLink.persist(context, url)
        self.log.info("Console: %s", url)

    def _finish(self, context: Context, outcome: WaitOutcome) -> dict[str, Any]:
        """The task's result or exception (``pipeline.finish``), the run marked as this try's on success."""
        from airflow_provider_dataflow.pipeline.finish import finish_steps
        from airflow_provider_dataflow.pipeline.steps import blocking_performer, drive

        if outcome.run:
            self.last_run = outcome.run
        steps = finish_steps(
            outcome,
            success_states=self.success_states((outcome.run or {}).get("type")),
            log_tail_lines=self.log_tail_lines,
            log=self.log,
            metric_tags={"dag_id": self.dag_id, "task_id": self.task_id},
            mark_for=self._mark_for(context),
        )
        try:
            finished = drive(steps, blocking_performer(self.hook))
        except DataflowRunError as err:
            self.last_run = err.run or self.last_run
            raise
        self.last_run = finished.run
        return finished.task_result()

    def _accepted(self, context: Context, run: dict[str, Any]) -> dict[str, Any]:
        """``asynchronous``: the task succeeds with the accepted run (marked, so a clear submits anew)."""
        from airflow_provider_dataflow.lineage.injection import redact_transport_secrets
        from airflow_provider_dataflow.pipeline.finish import mark_succeeded_steps
        from airflow_provider_dataflow.pipeline.steps import blocking_performer, drive

        if (ti := self._mark_for(context)) is not None:
            run = drive(mark_succeeded_steps(run, ti, self.log), blocking_performer(self.hook))
        return redact_transport_secrets(run)

    def _mark_for(self, context: Context) -> Any:
        """The task instance a successful run is marked for; none when no later try looks at the mark."""
        return context.get("ti") if self.reattach_policy is not ReattachPolicy.ALWAYS_SUBMIT else None

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """Run facet ``oci_dataflow_run`` (id, console URL, state, type, duration, OCPU, bytes) and the job's source."""
        from airflow_provider_dataflow.lineage.facets import operator_lineage

        return operator_lineage(self.last_run, self._console_url())

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> OperatorLineage:
        return self.get_openlineage_facets_on_complete(task_instance)

    def _console_url(self) -> str | None:
        if not self.last_run:
            return None
        return console_url(self.last_run["id"], self.hook.settings.region, self.hook.settings.console_url_template)

    def on_kill(self) -> None:
        """Cancel the run when the task is killed during the synchronous wait."""
        self._cancel_run()

    def _cancel_run(self) -> None:
        from airflow_provider_dataflow.pipeline.kill import cancel_now

        if not self.run_id:
            return
        if not self.cancel_on_kill:
            self.log.info("cancel_on_kill is off; leaving Data Flow run %s running", self.run_id)
            return
        cancel_now(self.hook, self.run_id, self.log)


def _positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise DataflowInvalidInputError(name, f"must be a number of seconds > 0, got {value!r}")
    return float(value)


def _end_from_trigger(wanted: bool, defers: bool, log: Any) -> bool:
    """Whether the trigger may end the task: Airflow refuses a DAG whose task asks for it while a listener
    (OpenLineage) is installed, so then the task resumes on a worker instead and the DAG still imports."""
    if not wanted:
        return False
    if not defers:
        raise DataflowInvalidInputError(
            "end_from_trigger", "needs deferrable=True or start_from_trigger=True: only a trigger can end the task"
        )
    from airflow.listeners.listener import get_listener_manager

    if get_listener_manager().has_listeners:
        log.warning(
            "end_from_trigger is ignored: Airflow does not allow it while listeners (e.g. OpenLineage) are "
            "installed; the task resumes on a worker when its run ends"
        )
        return False
    return True


def _reattach_policy(value: ReattachPolicy | str) -> ReattachPolicy:
    try:
        return ReattachPolicy(value)
    except ValueError:
        allowed = [p.value for p in ReattachPolicy]
        raise DataflowInvalidInputError("reattach_policy", f"{value!r} is not one of {allowed}") from None

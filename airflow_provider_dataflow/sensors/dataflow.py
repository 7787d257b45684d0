"""DataflowRunSensor: wait for a run started elsewhere (by OCID), the counterpart of Terraform's import."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_dataflow.compat import conf
from airflow_provider_dataflow.exceptions import DataflowInvalidInputError, DataflowServiceError
from airflow_provider_dataflow.links.dataflow import DataflowRunLink, console_url
from airflow_provider_dataflow.runs.logs import LogName, stream_log_names
from airflow_provider_dataflow.runs.states import FAILURE_STATES, RunState, wait_is_over

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_dataflow.hooks.dataflow import DataflowHook
    from airflow_provider_dataflow.pipeline.logs.blocking import BlockingRunLogs
    from airflow_provider_dataflow.pipeline.logs.sources import LogStream
    from airflow_provider_dataflow.pipeline.outcome import WaitOutcome

DEFAULT_FAILURE_STATES = tuple(sorted(state.value for state in FAILURE_STATES))


class DataflowRunSensor(BaseSensorOperator):
    """Succeed when an existing run reaches one of ``target_states``; fail on ``failure_states``.

    The sensor never cancels the run: it did not start it. On failure the task log shows the
    run's lifecycle details and the tail of its driver logs, as for the operator. Returns the
    run's attributes, like the operator.

    :param dataflow_run_id: OCID of the run (templated).
    :param target_states: States that mean success (default ``["SUCCEEDED"]``).
    :param failure_states: States that fail the task at once (default FAILED, CANCELED, STOPPED).
        A terminal state in neither list also fails: the run can no longer reach a target.
    :param stream_logs: Show the run's OCI Logging lines in the task log while waiting, as the operator's
        ``stream_logs`` does (True, False, a list of logs; None: ``[oci_dataflow] stream_logs``).
    """

    template_fields: Sequence[str] = ("dataflow_run_id", "region")
    operator_extra_links = (DataflowRunLink(),)
    ui_color = "#f80000"

    def __init__(
        self,
        *,
        dataflow_run_id: str,
        oci_conn_id: str = "oci_dataflow_default",
        region: str | None = None,
        target_states: Sequence[str] = (RunState.SUCCEEDED.value,),
        failure_states: Sequence[str] = DEFAULT_FAILURE_STATES,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        log_tail_lines: int = 50,
        stream_logs: bool | Sequence[LogName] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dataflow_run_id = dataflow_run_id
        self.oci_conn_id = oci_conn_id
        self.region = region
        self.target_states = _states("target_states", target_states)
        self.failure_states = _states("failure_states", failure_states)
        if overlap := set(self.target_states) & set(self.failure_states):
            raise DataflowInvalidInputError("failure_states", f"{sorted(overlap)} are also target_states")
        self.deferrable = deferrable
        self.log_tail_lines = log_tail_lines
        self.stream_logs = stream_log_names("stream_logs", stream_logs)
        self._compartment_id: str | None = None  # learnt from the first poke, for the shared run watcher
        self._run: dict[str, Any] | None = None  # the last poke's, for the run's log lines
        self._lines: BlockingRunLogs | None = None

    @cached_property
    def hook(self) -> DataflowHook:
        from airflow_provider_dataflow.hooks.dataflow import DataflowHook

        return DataflowHook(oci_conn_id=self.oci_conn_id, region=self.region)

    def execute(self, context: Context) -> Any:
        from airflow_provider_dataflow.config import max_poll_interval

        settings = self.hook.settings
        url = console_url(self.dataflow_run_id, settings.region, settings.console_url_template)
        DataflowRunLink.persist(context, url)
        self.poke_interval = max_poll_interval(self.poke_interval)
        if not self.deferrable:
            return super().execute(context)
        result = self.poke(context)
        if result:
            return result.xcom_value if isinstance(result, PokeReturnValue) else result
        from airflow_provider_dataflow.triggers.dataflow import DataflowRunTrigger

        self.defer(
            trigger=DataflowRunTrigger(
                run_id=self.dataflow_run_id,
                oci_conn_id=self.oci_conn_id,
                region=self.region,
                poll_interval=self.poke_interval,
                target_states=[*self.target_states, *self.failure_states],
                cancel_on_kill=False,
                compartment_id=self._compartment_id,
                log_stream=self._log_stream(),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) if self.timeout else None,
        )

    def poke(self, context: Context) -> PokeReturnValue | bool:
        try:
            run = self.hook.get_run(self.dataflow_run_id)
        except DataflowServiceError as err:
            if err.transient:
                self.log.warning("Transient error, will poke again: %s", err)
                return False
            raise
        self._compartment_id = run.get("compartment_id")
        self._run = run
        state = run.get("state")
        self.log.info("Data Flow run %s is %s", self.dataflow_run_id, state)
        if not self.deferrable:
            self._show_lines(run)
        if not wait_is_over(state, [*self.target_states, *self.failure_states]):
            return False
        if self._lines is not None:
            self._lines.drain_if_ended(run, self.poke_interval)
        from airflow_provider_dataflow.pipeline.outcome import WaitOutcome

        return PokeReturnValue(is_done=True, xcom_value=self._finish(WaitOutcome.done(run)))

    def _show_lines(self, run: dict[str, Any]) -> None:
        """The synchronous wait's new lines since the last poke (``stream_logs``)."""
        if self._lines is None:
            if self.stream_logs is not None and self.mode == "reschedule":
                self.log.warning("stream_logs needs mode='poke' or deferrable=True: a rescheduled poke starts anew")
                self.stream_logs = None
            stream = self._stream(run)
            if stream is None:
                return
            from airflow_provider_dataflow.pipeline.logs.blocking import BlockingRunLogs

            self._lines = BlockingRunLogs.of(self.hook, stream, self.log)
        self._lines.poll()

    def _log_stream(self) -> dict[str, Any] | None:
        """The trigger's ``log_stream``: the run's lines to show while deferred."""
        stream = self._stream(self._run) if self._run is not None else None
        return stream.to_json() if stream is not None else None

    def _stream(self, run: dict[str, Any]) -> LogStream | None:
        from airflow_provider_dataflow.pipeline.logs.sources import LogStream as Stream

        stream = Stream.of(run, self.stream_logs, self.log)
        if stream is None:
            self.stream_logs = None  # off, or none to show (said once)
        return stream

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        from airflow_provider_dataflow.pipeline.outcome import WaitOutcome

        return self._finish(WaitOutcome.from_event(event))

    def _finish(self, outcome: WaitOutcome) -> dict[str, Any]:
        """The same outcome rules as the operator's (``pipeline.finish``); the sensor returns the run itself."""
        from airflow_provider_dataflow.pipeline.finish import finish_steps
        from airflow_provider_dataflow.pipeline.steps import blocking_performer, drive

        steps = finish_steps(
            outcome,
            success_states=self.target_states,
            log_tail_lines=self.log_tail_lines,
            log=self.log,
            metric_tags=None,
        )
        return drive(steps, blocking_performer(self.hook)).run


def _states(field: str, values: Sequence[str]) -> list[str]:
    known = {s.value for s in RunState}
    if isinstance(values, str):
        raise DataflowInvalidInputError(field, f"must be a list of states, not the string {values!r}")
    unknown = [v for v in values if v not in known]
    if unknown:
        raise DataflowInvalidInputError(field, f"unknown state(s) {unknown}; use some of {sorted(known)}")
    return list(values)

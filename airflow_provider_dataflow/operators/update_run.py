"""DataflowUpdateRunOperator: change what the service lets you change on an existing run."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_dataflow.runs.fields import UPDATABLE_FIELDS
from airflow_provider_dataflow.runs.request import build_update_run_details

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_dataflow.hooks.dataflow import DataflowHook


class DataflowUpdateRunOperator(BaseOperator):
    """Update a run's tags, ``max_duration_in_minutes`` and ``idle_timeout_in_minutes``.

    These are the only fields the service allows to change (Terraform's resource updates just
    the first two). Unset arguments are left as they are. Returns the run's attributes.

    :param dataflow_run_id: OCID of the run (templated).
    :param freeform_tags: Replaces the run's freeform tags; include the ``airflow_*`` tags to
        keep reattach-by-tags working for runs this provider started.
    """

    template_fields: Sequence[str] = ("dataflow_run_id", *UPDATABLE_FIELDS)

    def __init__(
        self,
        *,
        dataflow_run_id: str,
        defined_tags: dict[str, Any] | None = None,
        freeform_tags: dict[str, str] | None = None,
        max_duration_in_minutes: int | str | None = None,
        idle_timeout_in_minutes: int | str | None = None,
        oci_conn_id: str = "oci_dataflow_default",
        region: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dataflow_run_id = dataflow_run_id
        self.defined_tags = defined_tags
        self.freeform_tags = freeform_tags
        self.max_duration_in_minutes = max_duration_in_minutes
        self.idle_timeout_in_minutes = idle_timeout_in_minutes
        self.oci_conn_id = oci_conn_id
        self.region = region

    @cached_property
    def hook(self) -> DataflowHook:
        from airflow_provider_dataflow.hooks.dataflow import DataflowHook

        return DataflowHook(oci_conn_id=self.oci_conn_id, region=self.region)

    def execute(self, context: Context) -> dict[str, Any]:
        changes = build_update_run_details({name: getattr(self, name) for name in UPDATABLE_FIELDS})
        run = self.hook.update_run(self.dataflow_run_id, **changes)
        self.log.info("Updated %s of Data Flow run %s", ", ".join(sorted(changes)), self.dataflow_run_id)
        return run

"""OpenLineage facets of a Data Flow task: which run it was, what it cost, and the code it ran.

Imported only by the operator's ``get_openlineage_facets_on_*`` methods, which the OpenLineage
listener calls only when that provider is installed.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.openlineage.extractors import OperatorLineage
from attrs import define
from openlineage.client.facet_v2 import RunFacet, source_code_location_job

from airflow_provider_dataflow.runs.cost import RunCost

FACET_NAME = "oci_dataflow_run"


@define
class DataflowRunFacet(RunFacet):
    """The Data Flow run behind an Airflow task run (field names in camelCase, as OpenLineage's own)."""

    runId: str
    consoleUrl: str | None
    state: str | None
    runType: str | None
    durationMs: int
    totalOcpu: float
    ocpuHours: float
    dataReadInBytes: int
    dataWrittenInBytes: int


def operator_lineage(run: dict[str, Any] | None, console_url: str | None) -> OperatorLineage:
    """Facets for the run a task created or reattached to; empty when the task never got a run."""
    if not run:
        return OperatorLineage()
    cost = RunCost.of(run)
    run_facet = DataflowRunFacet(
        runId=str(run.get("id")),
        consoleUrl=console_url,
        state=run.get("state"),
        runType=run.get("type"),
        durationMs=int(run.get("run_duration_in_milliseconds") or 0),
        totalOcpu=cost.total_ocpu,
        ocpuHours=round(cost.ocpu_hours, 6),
        dataReadInBytes=cost.data_read_in_bytes,
        dataWrittenInBytes=cost.data_written_in_bytes,
    )
    job_facets: dict[str, Any] = {}
    source = run.get("file_uri") or run.get("application_id")
    if source:
        job_facets["sourceCodeLocation"] = source_code_location_job.SourceCodeLocationJobFacet(
            type="oci" if str(source).startswith("oci://") else "oci-dataflow-application", url=str(source)
        )
    return OperatorLineage(run_facets={FACET_NAME: run_facet}, job_facets=job_facets)

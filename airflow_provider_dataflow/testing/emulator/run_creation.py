"""Create a run from a CreateRunDetails body: the one path ``POST /runs`` and bulk creation share."""

from __future__ import annotations

from typing import Any

from airflow_provider_dataflow.testing.emulator.identifiers import new_ocid
from airflow_provider_dataflow.testing.emulator.run_details import resolve_run_fields
from airflow_provider_dataflow.testing.emulator.runs import RunRecord
from airflow_provider_dataflow.testing.emulator.signatures import Principal
from airflow_provider_dataflow.testing.emulator.state import EmulatorState
from airflow_provider_dataflow.testing.emulator.validation import validate_create_run


def create_run(
    state: EmulatorState, body: Any, owner: Principal, request_id: str, retry_token: str | None, now: float
) -> RunRecord:
    """Validate, inherit from the application, pick the behaviour and timing, then store (in a pool's queue, or
    under the tenancy's OCPU limit, when either applies)."""
    details = validate_create_run(body)
    state.compartments.check(details["compartmentId"])
    application = None
    if "applicationId" in details:
        application = state.applications.get_active(details["applicationId"])
    fields = resolve_run_fields(details, application)
    fields.update(
        id=new_ocid("dataflowrun", state.region),
        ownerPrincipalId=owner.principal_id,
        ownerUserName=owner.user_name,
        opcRequestId=request_id,
    )
    behaviour = state.behaviours.match(fields["displayName"], fields["freeformTags"])
    timing = state.settings.timing_for(behaviour)
    return state.capacity.create(fields, now, lambda: state.runs.create(fields, behaviour, timing, retry_token, now))

"""Create a run from a CreateRunDetails body: the one path ``POST /runs`` and bulk creation share."""

from __future__ import annotations

from typing import Any

from airflow_provider_dataflow.testing.emulator.applications import ACTIVE
from airflow_provider_dataflow.testing.emulator.errors import conflict, related_resource_not_found
from airflow_provider_dataflow.testing.emulator.identifiers import new_ocid
from airflow_provider_dataflow.testing.emulator.run_details import resolve_run_fields
from airflow_provider_dataflow.testing.emulator.runs import RunRecord
from airflow_provider_dataflow.testing.emulator.signatures import Principal
from airflow_provider_dataflow.testing.emulator.state import EmulatorState
from airflow_provider_dataflow.testing.emulator.validation import validate_create_run

# The emulator's own sentence after the service's: what a test that names an unregistered OCID should do.
REGISTER_HINT = (
    "In the emulator, create the application first (POST /applications), or register it under this OCID "
    "with dataflow_emulator.register_application(...) (EmulatorControl.register_application)."
)


def create_run(
    state: EmulatorState, body: Any, owner: Principal, request_id: str, retry_token: str | None, now: float
) -> RunRecord:
    """Validate, inherit from the application, pick the behaviour and timing, then store (in a pool's queue, or
    under the tenancy's OCPU limit, when either applies).

    A run from ``execute`` alone is associated with an application created for it (CreateRunDetails).
    """
    details = validate_create_run(body)
    state.compartments.check(details["compartmentId"])
    state.tag_namespaces.check("definedTags", details.get("definedTags"))
    application = _application(state, details["applicationId"]) if "applicationId" in details else None
    fields = resolve_run_fields(details, application)
    fields.update(
        id=new_ocid("dataflowrun", state.region),
        ownerPrincipalId=owner.principal_id,
        ownerUserName=owner.user_name,
        opcRequestId=request_id,
    )
    behaviour = state.behaviours.match(fields["displayName"], fields["freeformTags"])
    timing = state.settings.timing_for(behaviour)

    def store() -> RunRecord:
        """After the pool's and the tenancy's checks, so a refused run leaves no application behind."""
        if application is None:
            fields["applicationId"] = state.applications.for_execute(
                fields, owner, now, lambda: new_ocid("dataflowapplication", state.region)
            )
        return state.runs.create(fields, behaviour, timing, retry_token, now)

    return state.capacity.create(fields, now, store)


def _application(state: EmulatorState, application_id: str) -> dict[str, Any]:
    """The application a run names in its body: missing is 400 (a related resource), deleted is 409 Conflict."""
    application = state.applications.lookup(application_id)
    if application is None:
        raise related_resource_not_found(
            f"applicationId {application_id}: the application was not found or you are not authorized to use it. "
            + REGISTER_HINT
        )
    if application["lifecycleState"] != ACTIVE:
        raise conflict(f"applicationId {application_id}: the application is {application['lifecycleState']}.")
    return application

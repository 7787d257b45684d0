"""Errors, retry tokens, defined tags and the cascading delete as the service documents them (issue 22, items 4-7,
12 and the 409 for states that never clear): each test names its source, and each failed before issue 22."""

from __future__ import annotations

from typing import Any

import oci
import pytest
from oci.data_flow import DataFlowClient as Client
from oci.data_flow import models

from airflow_provider_dataflow.exceptions import DataflowRequestRejectedError
from airflow_provider_dataflow.hooks.service_errors import IAM_POLICY_HINT, classify_failure
from airflow_provider_dataflow.testing.emulator import EmulatorControl

from .conftest import ClientFactory, StateWaiter

MISSING_APPLICATION = "ocid1.dataflowapplication.oc1.iad.aaaaaaaanotregistered"


def _service_error(call: Any) -> oci.exceptions.ServiceError:
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        call()
    return raised.value


def _application_details(compartment_id: str, **fields: Any) -> models.CreateApplicationDetails:
    return models.CreateApplicationDetails(
        compartment_id=compartment_id,
        display_name="app",
        driver_shape="VM.Standard.E4.Flex",
        executor_shape="VM.Standard.E4.Flex",
        language="PYTHON",
        num_executors=1,
        spark_version="3.5.0",
        file_uri="oci://bucket@namespace/jobs/app.py",
        **fields,
    )


def test_api_errors__an_application_named_in_the_body_that_does_not_exist_is_400_related_resource(
    client: Client, compartment_id: str
) -> None:
    """Oracle, "API Errors": 400 RelatedResourceNotAuthorizedOrNotFound for a resource named in the body; 404
    NotAuthorizedOrNotFound is for the URI's. The provider fails the task at once, naming it, with the IAM hint."""
    details = models.CreateRunDetails(compartment_id=compartment_id, application_id=MISSING_APPLICATION)
    error = _service_error(lambda: client.create_run(details))
    assert (error.status, error.code) == (400, "RelatedResourceNotAuthorizedOrNotFound")
    assert MISSING_APPLICATION in error.message and "register_application" in error.message

    failure = classify_failure(error, doing="create a Data Flow run")
    assert isinstance(failure, DataflowRequestRejectedError) and not failure.transient
    assert MISSING_APPLICATION in str(failure) and IAM_POLICY_HINT in str(failure)


def test_api_errors__a_missing_required_field_is_400_missing_parameter(client: Client, compartment_id: str) -> None:
    """Oracle, "API Errors": 400 MissingParameter, "A required parameter is missing"."""
    for call, field in [
        (lambda: client.create_run({"execute": "oci://bucket@namespace/jobs/etl.py"}), "compartmentId"),
        (lambda: client.create_run({"compartmentId": compartment_id}), "applicationId or execute"),
        (lambda: client.create_application({"compartmentId": compartment_id}), "displayName"),
    ]:
        error = _service_error(call)
        assert (error.status, error.code) == (400, "MissingParameter")
        assert error.message.startswith(field)


def test_api_errors__a_path_with_no_operation_is_404_not_found(client: Client) -> None:
    """Oracle, "API Errors": 404 NotFound, "There is no operation supported at the URI path and HTTP method"."""
    for method, path in [("GET", "/pipelines"), ("PATCH", "/runs/ocid1.dataflowrun.oc1.iad.x")]:
        error = _service_error(lambda m=method, p=path: client.base_client.call_api(resource_path=p, method=m))
        assert (error.status, error.code) == (404, "NotFound")


def test_cascading_delete_application__deletes_it_and_cancels_its_live_runs(
    client: Client, control: EmulatorControl, create_run: Any, compartment_id: str, wait_for_state: StateWaiter
) -> None:
    """The SDK's ``cascading_delete_application``: "Deletes an application ... and terminates related runs"."""
    control.add_behaviour(r"^live$", run_seconds=600)
    application = client.create_application(_application_details(compartment_id)).data
    finished = create_run(execute=None, application_id=application.id, display_name="done")
    wait_for_state(finished.id)
    live = create_run(execute=None, application_id=application.id, display_name="live")
    elsewhere = create_run(display_name="live")

    assert client.cascading_delete_application(application.id).status == 202

    assert client.get_application(application.id).data.lifecycle_state == "DELETED"
    assert wait_for_state(live.id).lifecycle_state == "CANCELED"
    assert client.get_run(finished.id).data.lifecycle_state == "SUCCEEDED"
    assert client.get_run(elsewhere.id).data.lifecycle_state in ("ACCEPTED", "IN_PROGRESS")
    error = _service_error(lambda: client.cascading_delete_application(application.id))
    assert (error.status, error.code) == (409, "Conflict")


def test_create_application_docstring__a_replayed_retry_token_returns_the_first_application(
    client: Client, make_client: ClientFactory, control: EmulatorControl, compartment_id: str
) -> None:
    """``create_application`` takes ``opc_retry_token`` ("Retry tokens expire after 24 hours"), and the SDK adds
    one itself when it retries a create: a reply lost on the way back yields one application."""
    details = _application_details(compartment_id)
    first = client.create_application(details, opc_retry_token="deploy-1").data
    assert client.create_application(details, opc_retry_token="deploy-1").data.id == first.id
    assert client.create_application(details, opc_retry_token="deploy-2").data.id != first.id

    control.add_fault(method="POST", path_regex=r"/applications$", action="drop_after")
    retrying = make_client(retry_strategy=oci.retry.DEFAULT_RETRY_STRATEGY)
    retried = retrying.create_application(details).data
    posts = [entry for entry in control.journal() if entry["method"] == "POST"][-2:]
    assert posts[0]["opc_retry_token"] == posts[1]["opc_retry_token"] is not None
    assert len(client.list_applications(compartment_id).data) == 3
    assert retried.id in {summary.id for summary in client.list_applications(compartment_id).data}


def test_identity_tag_model__defined_tags_must_be_set_up_before_they_are_applied(
    client: Client, control: EmulatorControl, create_run: Any, compartment_id: str
) -> None:
    """The SDK's identity ``Tag``: "Defined tags must be set up in your tenancy before you can apply them to
    resources"; names are case-insensitive (CreateTagNamespace, CreateTag). Undeclared, every tag is accepted."""
    assert create_run(defined_tags={"Anything": {"Goes": "1"}}).defined_tags == {"Anything": {"Goes": "1"}}
    control.set_tag_namespaces({"Operations": ["CostCenter"]})

    assert create_run(defined_tags={"operations": {"costcenter": "42"}}).defined_tags
    for tags, named in [({"Finance": {"Owner": "x"}}, "'Finance'"), ({"Operations": {"CostCentre": "4"}}, "Centre")]:
        error = _service_error(lambda t=tags: create_run(defined_tags=t))
        assert (error.status, error.code) == (400, "RelatedResourceNotAuthorizedOrNotFound")
        assert named in error.message and "set_tag_namespaces" in error.message
    run = create_run()
    update = models.UpdateRunDetails(defined_tags={"Finance": {"Owner": "x"}})
    assert _service_error(lambda: client.update_run(run.id, update)).status == 400
    application = _application_details(compartment_id, defined_tags={"Finance": {"Owner": "x"}})
    assert _service_error(lambda: client.create_application(application)).status == 400


def test_api_errors__a_state_that_never_clears_is_409_conflict_which_default_retries_do_not_repeat(
    make_client: ClientFactory, client: Client, control: EmulatorControl, create_run: Any, wait_for_state: StateWaiter
) -> None:
    """Oracle, "API Errors": 409 Conflict, "This state is not transient" (IncorrectState is retried "with
    backoff", and the SDK's default strategy retries it for up to 600 s): cleanup code with default retries
    gets its answer at once."""
    run = create_run()
    wait_for_state(run.id)
    with_default_retries = make_client(retry_strategy=oci.retry.DEFAULT_RETRY_STRATEGY)
    control.clear_journal()

    error = _service_error(lambda: with_default_retries.delete_run(run.id))
    assert (error.status, error.code) == (409, "Conflict")
    assert [entry["method"] for entry in control.journal()] == ["DELETE"]

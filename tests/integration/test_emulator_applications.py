"""Application resources through the real SDK: list (filters, paging, sort), update, delete, register."""

from __future__ import annotations

from typing import Any

import oci
import pytest
from oci.data_flow import DataFlowClient as Client
from oci.data_flow import models

from airflow_provider_dataflow.testing.credentials import TestCredentials
from airflow_provider_dataflow.testing.emulator import EmulatorControl, EmulatorControlError

from .conftest import COMPARTMENT_ID

OTHER_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaothercompartment"
MAIN_FILE = "oci://bucket@namespace/jobs/etl.py"


def _details(display_name: str, compartment_id: str = COMPARTMENT_ID, **fields: Any) -> Any:
    """CreateApplicationDetails with every required field, and ``fields`` on top."""
    details = {
        "compartment_id": compartment_id,
        "display_name": display_name,
        "driver_shape": "VM.Standard.E4.Flex",
        "executor_shape": "VM.Standard.E4.Flex",
        "language": "PYTHON",
        "num_executors": 1,
        "spark_version": "3.5.0",
        "file_uri": MAIN_FILE,
        **fields,
    }
    return models.CreateApplicationDetails(**details)


def _create(client: Client, display_name: str, compartment_id: str = COMPARTMENT_ID, **fields: Any) -> Any:
    return client.create_application(_details(display_name, compartment_id, **fields)).data


def _service_error(call: Any) -> oci.exceptions.ServiceError:
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        call()
    return raised.value


def test_list_shows_the_compartments_applications_as_summaries(client: Client, credentials: TestCredentials) -> None:
    first = _create(client, "first")
    second = _create(client, "second", spark_version="3.2.1")
    _create(client, "elsewhere", compartment_id=OTHER_COMPARTMENT)

    listed = client.list_applications(COMPARTMENT_ID).data

    assert [summary.id for summary in listed] == [second.id, first.id]  # newest first by default
    assert isinstance(listed[0], models.ApplicationSummary)
    assert (listed[0].display_name, listed[0].spark_version, listed[0].lifecycle_state) == ("second", "3.2.1", "ACTIVE")
    assert (listed[0].owner_principal_id, listed[0].language, listed[0].type) == (credentials.user, "PYTHON", "BATCH")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"display_name": "nightly-etl"}, ["nightly-etl"]),
        ({"display_name_starts_with": "nightly"}, ["nightly-etl", "nightly-report"]),
        ({"spark_version": "3.2.1"}, ["nightly-report"]),
        ({"owner_principal_id": "ocid1.user.oc1..somebodyelse"}, []),
    ],
)
def test_list_filters(client: Client, filters: dict[str, str], expected: list[str]) -> None:
    _create(client, "nightly-etl")
    _create(client, "nightly-report", spark_version="3.2.1")
    _create(client, "hourly")
    listed = client.list_applications(COMPARTMENT_ID, sort_by="displayName", **filters).data
    assert [summary.display_name for summary in listed] == expected


def test_list_by_owner_finds_the_signers_applications(client: Client, credentials: TestCredentials) -> None:
    created = _create(client, "mine")
    assert [a.id for a in client.list_applications(COMPARTMENT_ID, owner_principal_id=credentials.user).data] == [
        created.id
    ]


def test_list_sorts_and_pages(client: Client) -> None:
    for name, language, main_file in [("b", "JAVA", "Main.jar"), ("c", "PYTHON", "c.py"), ("a", "SCALA", "a.scala")]:
        _create(client, name, language=language, file_uri=f"oci://bucket@namespace/{main_file}")

    by_name = client.list_applications(COMPARTMENT_ID, sort_by="displayName").data
    assert [summary.display_name for summary in by_name] == ["a", "b", "c"]
    by_language = client.list_applications(COMPARTMENT_ID, sort_by="language", sort_order="DESC").data
    assert [summary.language for summary in by_language] == ["SCALA", "PYTHON", "JAVA"]

    first_page = client.list_applications(COMPARTMENT_ID, sort_by="displayName", limit=2)
    assert [summary.display_name for summary in first_page.data] == ["a", "b"]
    assert first_page.next_page
    second_page = client.list_applications(COMPARTMENT_ID, sort_by="displayName", limit=2, page=first_page.next_page)
    assert [summary.display_name for summary in second_page.data] == ["c"]
    assert second_page.next_page is None


def test_list_takes_compartment_plus_at_most_one_filter(client: Client) -> None:
    error = _service_error(lambda: client.list_applications(COMPARTMENT_ID, display_name="a", spark_version="3.5.0"))
    assert (error.status, error.code) == (400, "InvalidParameter")
    assert "Only one of" in error.message


def test_update_changes_only_the_given_fields_and_the_etag(client: Client) -> None:
    created = client.create_application(
        _details(
            "etl",
            arguments=["--day", "${day}"],
            parameters=[models.ApplicationParameter(name="day", value="2026-01-01")],
        )
    )
    response = client.update_application(
        models.UpdateApplicationDetails(num_executors=4, freeform_tags={"team": "data"}),
        created.data.id,
        if_match=created.headers["etag"],
    )

    updated = response.data
    assert (updated.num_executors, updated.freeform_tags, updated.display_name) == (4, {"team": "data"}, "etl")
    assert updated.arguments == ["--day", "${day}"]
    assert updated.time_updated >= created.data.time_updated
    assert response.headers["etag"] != created.headers["etag"]
    assert client.get_application(created.data.id).data.num_executors == 4


def test_runs_created_after_an_update_inherit_the_new_values(client: Client) -> None:
    application = _create(client, "etl", arguments=["--mode", "full"])
    client.update_application(models.UpdateApplicationDetails(arguments=["--mode", "delta"]), application.id)
    run = client.create_run(models.CreateRunDetails(compartment_id=COMPARTMENT_ID, application_id=application.id)).data
    assert run.arguments == ["--mode", "delta"]


def test_an_update_with_execute_derives_file_class_and_language(client: Client) -> None:
    application = _create(client, "etl")
    execute = "--class com.example.Etl --packages org.example:lib:1.0 oci://bucket@namespace/jobs/etl.jar"
    updated = client.update_application(models.UpdateApplicationDetails(execute=execute), application.id).data
    assert (updated.language, updated.file_uri, updated.class_name) == (
        "JAVA",
        "oci://bucket@namespace/jobs/etl.jar",
        "com.example.Etl",
    )


def test_every_field_of_the_update_model_is_accepted(client: Client) -> None:
    """Guards the schema against the SDK: an UpdateApplicationDetails with every attribute set must pass."""
    application = _create(client, "etl")
    shape = models.ShapeConfig(ocpus=2.0, memory_in_gbs=32.0)
    details = models.UpdateApplicationDetails(
        class_name="com.example.Main",
        file_uri="oci://bucket@namespace/jobs/Main.jar",
        spark_version="3.5.0",
        language="JAVA",
        application_log_config=models.ApplicationLogConfig(log_group_id="ocid1.loggroup.x", log_id="ocid1.log.x"),
        archive_uri="oci://bucket@namespace/archive.zip",
        arguments=["--day", "${day}"],
        configuration={"spark.sql.shuffle.partitions": "8"},
        defined_tags={"Operations": {"CostCenter": "42"}},
        description="nightly",
        display_name="renamed",
        driver_shape="VM.Standard.E4.Flex",
        driver_shape_config=shape,
        execute="--class com.example.Main oci://bucket@namespace/jobs/Main.jar",
        executor_shape="VM.Standard.E4.Flex",
        executor_shape_config=shape,
        freeform_tags={"team": "data"},
        logs_bucket_uri="oci://logs@namespace/",
        metastore_id="ocid1.datacatalogmetastore.x",
        num_executors=2,
        parameters=[models.ApplicationParameter(name="day", value="2026-01-01")],
        pool_id="ocid1.dataflowpool.x",
        private_endpoint_id="ocid1.dataflowprivateendpoint.x",
        warehouse_bucket_uri="oci://warehouse@namespace/",
        max_duration_in_minutes=60,
        idle_timeout_in_minutes=30,
    )
    assert [name for name in details.attribute_map if getattr(details, name) is None] == []
    updated = client.update_application(details, application.id).data
    assert (updated.display_name, updated.language, updated.num_executors) == ("renamed", "JAVA", 2)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"compartmentId": OTHER_COMPARTMENT}, "compartmentId is not a recognized field"),
        ({"type": "STREAMING"}, "type is not a recognized field"),
        ({"numExecutors": 0}, "numExecutors must be at least 1"),
        ({"language": "R"}, "language must be one of"),
        ({"arguments": ["${missing}"]}, "arguments contains the placeholder ${missing}"),
    ],
)
def test_an_invalid_update_is_rejected_and_changes_nothing(client: Client, body: dict[str, Any], message: str) -> None:
    application = _create(client, "etl")
    error = _service_error(lambda: client.update_application(body, application.id))
    assert (error.status, error.code) == (400, "InvalidParameter")
    assert message in error.message
    assert client.get_application(application.id).data.num_executors == 1


def test_update_and_delete_with_a_stale_etag_are_refused(client: Client) -> None:
    created = client.create_application(_details("etl"))
    stale = created.headers["etag"]
    client.update_application(models.UpdateApplicationDetails(description="v2"), created.data.id)
    for call in (
        lambda: client.update_application(
            models.UpdateApplicationDetails(description="v3"), created.data.id, if_match=stale
        ),
        lambda: client.delete_application(created.data.id, if_match=stale),
    ):
        error = _service_error(call)
        assert (error.status, error.code) == (412, "NoEtagMatch")
    assert client.get_application(created.data.id).data.lifecycle_state == "ACTIVE"


def test_a_deleted_application_is_readable_as_deleted_but_gone_from_lists_and_runs(client: Client) -> None:
    application = _create(client, "etl")
    kept = _create(client, "kept")
    run = client.create_run(models.CreateRunDetails(compartment_id=COMPARTMENT_ID, application_id=application.id)).data

    assert client.delete_application(application.id).status == 204

    assert client.get_application(application.id).data.lifecycle_state == "DELETED"
    assert [summary.id for summary in client.list_applications(COMPARTMENT_ID).data] == [kept.id]
    assert client.get_run(run.id).data.application_id == application.id  # its runs stay
    for call in (
        lambda: client.create_run(
            models.CreateRunDetails(compartment_id=COMPARTMENT_ID, application_id=application.id)
        ),
        lambda: client.update_application(models.UpdateApplicationDetails(description="x"), application.id),
        lambda: client.delete_application(application.id),
    ):
        error = _service_error(call)
        assert (error.status, error.code) == (409, "Conflict")  # not IncorrectState: waiting will not change it


@pytest.mark.parametrize(
    "call",
    [
        lambda client: client.update_application(models.UpdateApplicationDetails(description="x"), "ocid1.x.oc1..gone"),
        lambda client: client.delete_application("ocid1.dataflowapplication.oc1..gone"),
    ],
    ids=["update", "delete"],
)
def test_changing_an_unknown_application_is_not_found(client: Client, call: Any) -> None:
    error = _service_error(lambda: call(client))
    assert (error.status, error.code) == (404, "NotAuthorizedOrNotFound")


def test_register_application_stores_it_under_the_ocid_a_dag_names(client: Client, control: EmulatorControl) -> None:
    """What a DAG test needs: the application its operator names exists, with defaults for the rest."""
    application_id = "ocid1.dataflowapplication.oc1.iad.aaaa"
    control.register_application(
        application_id,
        arguments=["--output", "${output}"],
        parameters=[{"name": "output", "value": "oci://lake@namespace/out/"}],
    )

    application = client.get_application(application_id).data
    assert (application.language, application.num_executors, application.lifecycle_state) == ("PYTHON", 1, "ACTIVE")
    assert application.compartment_id == "ocid1.compartment.oc1..emulator"
    run = client.create_run(
        models.CreateRunDetails(compartment_id=COMPARTMENT_ID, application_id=application_id, display_name="nightly")
    ).data
    assert run.arguments == ["--output", "oci://lake@namespace/out/"]
    assert run.file_uri == application.file_uri


def test_register_application_derives_language_from_the_main_file(client: Client, control: EmulatorControl) -> None:
    registered = control.register_application(
        "ocid1.dataflowapplication.oc1..jar", COMPARTMENT_ID, execute="--class a.Main oci://b@n/app.jar --x 1"
    )
    assert (registered["language"], registered["className"], registered["displayName"]) == ("JAVA", "a.Main", "app")
    assert client.list_applications(COMPARTMENT_ID).data[0].id == "ocid1.dataflowapplication.oc1..jar"


@pytest.mark.parametrize(
    ("application_id", "fields", "message"),
    [
        ("not-an-ocid", {}, "id is not a valid OCID"),
        ("ocid1.dataflowapplication.oc1..a", {"num_executors": 0}, "numExecutors must be at least 1"),
        ("ocid1.dataflowapplication.oc1..a", {"arguments": ["${nope}"]}, "placeholder ${nope}"),
    ],
)
def test_register_application_validates_like_the_api(
    control: EmulatorControl, application_id: str, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(EmulatorControlError, match="400") as raised:
        control.register_application(application_id, **fields)
    assert message in str(raised.value)

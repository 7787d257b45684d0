"""Run resources through the real SDK: create, get, list (filters, paging, sort), update, cancel, logs."""

from __future__ import annotations

import gzip
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import oci
import pytest
from oci.data_flow import DataFlowClient as Client

from airflow_provider_dataflow.testing.credentials import TestCredentials
from airflow_provider_dataflow.testing.emulator import EmulatorControl

from .conftest import StateWaiter


def test_create_fills_the_run_as_the_service_does(
    client: Client, credentials: TestCredentials, compartment_id: str
) -> None:
    details = oci.data_flow.models.CreateRunDetails(
        compartment_id=compartment_id,
        execute=(
            "--class com.example.Etl --conf spark.sql.shuffle.partitions=8 --jars oci://b@n/a.jar,oci://b@n/b.jar "
            "oci://bucket@namespace/jobs/etl.jar --day ${day} --mode full"
        ),
        parameters=[oci.data_flow.models.ApplicationParameter(name="day", value="2026-01-01")],
        driver_shape="VM.Standard.E4.Flex",
        driver_shape_config=oci.data_flow.models.ShapeConfig(ocpus=2.0, memory_in_gbs=32.0),
        executor_shape="VM.Standard.E4.Flex",
        executor_shape_config=oci.data_flow.models.ShapeConfig(ocpus=4.0, memory_in_gbs=64.0),
        num_executors=3,
    )
    response = client.create_run(details, opc_request_id="request-from-test")
    run = response.data
    assert response.status == 200
    assert response.request_id.startswith("request-from-test/") and response.request_id == run.opc_request_id
    assert response.headers["etag"]
    assert run.id.startswith("ocid1.dataflowrun.oc1.iad.")
    assert run.lifecycle_state == "ACCEPTED"
    assert (run.language, run.class_name, run.file_uri) == (
        "JAVA",
        "com.example.Etl",
        "oci://bucket@namespace/jobs/etl.jar",
    )
    assert run.configuration == {"spark.sql.shuffle.partitions": "8", "spark.jars": "oci://b@n/a.jar,oci://b@n/b.jar"}
    assert run.arguments == ["--day", "2026-01-01", "--mode", "full"]
    assert run.display_name == "etl.jar"
    assert run.total_o_cpu == 2 + 3 * 4
    assert (run.owner_principal_id, run.owner_user_name) == (credentials.user, "emulator-user")
    assert run.time_created.tzinfo is not None
    assert abs((datetime.now(timezone.utc) - run.time_created).total_seconds()) < 5
    assert (run.run_duration_in_milliseconds, run.data_read_in_bytes) == (0, 0)


@pytest.mark.parametrize(
    ("main_file", "language"),
    [("job.py", "PYTHON"), ("job.jar", "JAVA"), ("JOB.PY", "PYTHON")],
)
def test_language_comes_from_the_main_file_extension(create_run: Any, main_file: str, language: str) -> None:
    assert create_run(execute=f"oci://bucket@namespace/{main_file} arg").language == language


def test_get_returns_the_current_lifecycle(client: Client, create_run: Any, wait_for_state: StateWaiter) -> None:
    run = create_run()
    finished = wait_for_state(run.id)
    assert finished.lifecycle_state == "SUCCEEDED"
    assert client.get_run(run.id).data.time_updated > run.time_created
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        client.get_run("ocid1.dataflowrun.oc1.us-ashburn-1.doesnotexist")
    assert (raised.value.status, raised.value.code) == (404, "NotAuthorizedOrNotFound")


def test_update_changes_only_updatable_fields_and_the_etag(client: Client, create_run: Any) -> None:
    run = create_run(freeform_tags={"team": "data"}, type="STREAMING")
    before = client.get_run(run.id)
    updated = client.update_run(
        oci.data_flow.models.UpdateRunDetails(freeform_tags={"team": "platform"}, max_duration_in_minutes=90),
        run.id,
        if_match=before.headers["etag"],
    )
    assert updated.data.freeform_tags == {"team": "platform"}
    assert updated.data.max_duration_in_minutes == 90
    assert updated.headers["etag"] != before.headers["etag"]
    assert client.get_run(run.id).data.freeform_tags == {"team": "platform"}


def test_update_and_cancel_with_a_stale_etag_fail_with_412(client: Client, create_run: Any) -> None:
    run = create_run(type="STREAMING")
    stale = client.get_run(run.id).headers["etag"]
    client.update_run(oci.data_flow.models.UpdateRunDetails(freeform_tags={"a": "b"}), run.id)
    for call in (
        lambda: client.update_run(oci.data_flow.models.UpdateRunDetails(freeform_tags={}), run.id, if_match=stale),
        lambda: client.delete_run(run.id, if_match=stale),
    ):
        with pytest.raises(oci.exceptions.ServiceError) as raised:
            call()
        assert (raised.value.status, raised.value.code) == (412, "NoEtagMatch")
    assert client.get_run(run.id).data.lifecycle_state in ("ACCEPTED", "IN_PROGRESS")


def test_cancel_returns_204_and_a_second_cancel_of_a_finished_run_is_409_conflict(
    client: Client, create_run: Any, wait_for_state: StateWaiter
) -> None:
    run = create_run()
    assert client.delete_run(run.id).status == 204
    assert wait_for_state(run.id).lifecycle_state == "CANCELED"
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        client.delete_run(run.id)
    assert (raised.value.status, raised.value.code) == (409, "Conflict")


def test_logs_are_listed_and_served_as_gzip(client: Client, create_run: Any, wait_for_state: StateWaiter) -> None:
    run = create_run(display_name="logged")
    wait_for_state(run.id)
    logs = client.list_run_logs(run.id).data
    assert {(log.name, log.source, log.type) for log in logs} == {
        ("spark_application_stdout.log.gz", "APPLICATION", "STDOUT"),
        ("spark_application_stderr.log.gz", "APPLICATION", "STDERR"),
    }
    for log in logs:
        response = client.get_run_log(run.id, log.name)
        assert response.headers["content-type"] == "application/octet-stream"
        content = response.data.content
        assert len(content) == log.size_in_bytes
        assert log.run_id == run.id
        text = gzip.decompress(content).decode()
        assert "logged" in text
    paged = client.list_run_logs(run.id, limit=1)
    assert len(paged.data) == 1 and paged.has_next_page
    assert len(client.list_run_logs(run.id, limit=1, page=paged.next_page).data) == 1
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        client.get_run_log(run.id, "spark_driver_nothing.log.gz")
    assert raised.value.status == 404


def test_logs_do_not_exist_before_the_run_starts(client: Client, control: EmulatorControl, create_run: Any) -> None:
    control.settings(accepted_seconds=30)
    run = create_run()
    assert client.list_run_logs(run.id).data == []


def test_list_pages_and_sorts(client: Client, create_run: Any, compartment_id: str) -> None:
    for name in ("c-run", "a-run", "e-run", "b-run", "d-run"):
        create_run(display_name=name)
    first = client.list_runs(compartment_id, limit=2, sort_by="displayName", sort_order="ASC")
    assert [run.display_name for run in first.data] == ["a-run", "b-run"]
    assert first.has_next_page
    second = client.list_runs(compartment_id, limit=2, sort_by="displayName", sort_order="ASC", page=first.next_page)
    assert [run.display_name for run in second.data] == ["c-run", "d-run"]
    everything = oci.pagination.list_call_get_all_results(client.list_runs, compartment_id, limit=2).data
    assert [run.display_name for run in everything] == ["d-run", "b-run", "e-run", "a-run", "c-run"]  # newest first
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        client.list_runs(compartment_id, page="not-a-token")
    assert raised.value.status == 400


def test_list_filters_one_at_a_time(
    client: Client, create_run: Any, compartment_id: str, credentials: TestCredentials, wait_for_state: StateWaiter
) -> None:
    early = create_run(display_name="nightly-early")
    wait_for_state(early.id)
    cutoff = datetime.now(timezone.utc)
    time.sleep(0.01)
    late = create_run(display_name="nightly-late", type="STREAMING")
    other = create_run(display_name="adhoc")
    create_run(display_name="elsewhere", compartment_id="ocid1.compartment.oc1..other")

    def ids(**filters: Any) -> set[str]:
        return {run.id for run in client.list_runs(compartment_id, **filters).data}

    assert ids() == {early.id, late.id, other.id}
    assert ids(display_name="adhoc") == {other.id}
    assert ids(display_name_starts_with="nightly-") == {early.id, late.id}
    assert ids(lifecycle_state="SUCCEEDED") == {early.id}
    assert ids(time_created_greater_than=cutoff) == {late.id, other.id}
    assert ids(time_created_greater_than=cutoff + timedelta(hours=1)) == set()
    assert ids(owner_principal_id=credentials.user) == {early.id, late.id, other.id}
    assert ids(application_id="ocid1.dataflowapplication.oc1.iad.none") == set()
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        client.list_runs(compartment_id, display_name="adhoc", lifecycle_state="ACCEPTED")
    assert (raised.value.status, raised.value.code) == (400, "InvalidParameter")
    assert "displayName, lifecycleState" in raised.value.message


def test_list_requires_compartment_id(client: Client) -> None:
    # The SDK insists on a compartment too, so send an empty one the way a hand-written client might.
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        client.base_client.call_api(resource_path="/runs", method="GET", response_type="list[RunSummary]")
    assert (raised.value.status, raised.value.code) == (400, "MissingParameter")
    assert "compartmentId" in raised.value.message


def test_a_replayed_retry_token_returns_the_original_run(
    client: Client, control: EmulatorControl, compartment_id: str
) -> None:
    details = oci.data_flow.models.CreateRunDetails(compartment_id=compartment_id, execute="oci://b@n/job.py")
    first = client.create_run(details, opc_retry_token="task-attempt-1").data
    replay = client.create_run(details, opc_retry_token="task-attempt-1")
    assert replay.status == 200
    assert replay.data.id == first.id
    other = client.create_run(details, opc_retry_token="task-attempt-2").data
    assert other.id != first.id
    assert [run["id"] for run in control.runs()] == [first.id, other.id]

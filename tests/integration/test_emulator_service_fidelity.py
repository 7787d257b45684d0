"""What a run looks like as the service documents it (issue 22, items 1-3 and 8-11): each test names its source.

Each of these failed on the emulator before issue 22: a DAG test passed here where Data Flow answers otherwise.
"""

from __future__ import annotations

import gzip
from typing import Any

import oci
import pytest
from oci.data_flow import DataFlowClient as Client
from oci.data_flow import models

from airflow_provider_dataflow.testing.credentials import TestCredentials
from airflow_provider_dataflow.testing.emulator import DataflowEmulator, EmulatorControl

from .conftest import StateWaiter

MAIN_FILE = "oci://bucket@namespace/jobs/etl.py"


def _application(client: Client, compartment_id: str, **fields: Any) -> Any:
    details = {
        "compartment_id": compartment_id,
        "display_name": "nightly",
        "driver_shape": "VM.Standard.E4.Flex",
        "executor_shape": "VM.Standard.E4.Flex",
        "language": "PYTHON",
        "num_executors": 2,
        "spark_version": "3.2.1",
        "file_uri": MAIN_FILE,
        **fields,
    }
    return client.create_application(models.CreateApplicationDetails(**details)).data


def test_viewing_run_logs__application_logs_exist_only_once_the_run_completes(
    client: Client, control: EmulatorControl, create_run: Any, wait_for_state: StateWaiter
) -> None:
    """Oracle, "Viewing Run Logs": stdout and stderr "are available immediately after the Run completes"."""
    control.add_behaviour(r"^long$", run_seconds=600)
    run = create_run(display_name="long")
    wait_for_state(run.id, ("IN_PROGRESS",))

    assert client.list_run_logs(run.id).data == []
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        client.get_run_log(run.id, "spark_application_stdout.log.gz")
    assert raised.value.status == 404

    ended = control.finish_run(run.id, "FAILED", "Executor lost")
    logs = client.list_run_logs(run.id).data
    assert {log.name for log in logs} == {"spark_application_stdout.log.gz", "spark_application_stderr.log.gz"}
    assert {log.time_created.isoformat() for log in logs} == {client.get_run(run.id).data.time_updated.isoformat()}
    stderr = gzip.decompress(client.get_run_log(run.id, "spark_application_stderr.log.gz").data.content).decode()
    assert "Traceback (most recent call last):" in stderr and ended["lifecycleState"] == "FAILED"


def test_a_run_cancelled_before_it_started_has_no_logs(
    client: Client, control: EmulatorControl, create_run: Any, wait_for_state: StateWaiter
) -> None:
    control.settings(accepted_seconds=30)
    run = create_run()
    client.delete_run(run.id)
    assert wait_for_state(run.id).lifecycle_state == "CANCELED"
    assert client.list_run_logs(run.id).data == []


def test_create_run_details__an_execute_only_run_gets_an_application_of_its_own(
    client: Client, create_run: Any, compartment_id: str, credentials: TestCredentials
) -> None:
    """CreateRunDetails: "a new application will be created and associated with the new run"; Run.application_id
    is required. Oracle's spark-submit page: the application is created if none exists for the main file."""
    first = create_run(execute=f"{MAIN_FILE} --day 2026-01-01")
    assert first.application_id is not None

    application = client.get_application(first.application_id).data
    assert (application.lifecycle_state, application.file_uri, application.language) == ("ACTIVE", MAIN_FILE, "PYTHON")
    assert (application.compartment_id, application.owner_principal_id) == (compartment_id, credentials.user)
    assert application.spark_version == first.spark_version

    again = create_run(execute=f"{MAIN_FILE} --day 2026-01-02")
    other = create_run(execute="oci://bucket@namespace/jobs/other.py")
    assert again.application_id == first.application_id != other.application_id
    listed = client.list_runs(compartment_id, application_id=first.application_id).data
    assert {run.id for run in listed} == {first.id, again.id}


def test_create_run_details__without_execute_the_spark_version_is_the_applications(
    client: Client, create_run: Any, compartment_id: str
) -> None:
    """CreateRunDetails: "If the execute parameter is not used, the spark version will be taken from the associated
    application"; with execute it may be set."""
    application = _application(client, compartment_id)
    assert create_run(execute=None, application_id=application.id, spark_version="3.5.0").spark_version == "3.2.1"
    with_execute = create_run(application_id=application.id, spark_version="3.5.0")
    assert with_execute.spark_version == "3.5.0"
    assert create_run(application_id=application.id).spark_version == "3.2.1"


def test_run_model__a_session_run_stops_after_2880_idle_minutes_by_default(
    client: Client, control: EmulatorControl, create_run: Any, wait_for_state: StateWaiter
) -> None:
    """Run.idle_timeout_in_minutes: "only applicable for Runs of type SESSION. Default value is 2880 minutes"."""
    control.settings(minute_seconds=0.0005)  # 2880 emulated minutes in 1.44 s
    session = create_run(type="SESSION")
    streaming = create_run(type="STREAMING")
    assert (session.idle_timeout_in_minutes, streaming.idle_timeout_in_minutes) == (2880, None)

    stopped = wait_for_state(session.id, ("STOPPED",), timeout=10)
    assert "idleTimeoutInMinutes (2880)" in stopped.lifecycle_details
    assert client.get_run(streaming.id).data.lifecycle_state == "IN_PROGRESS"


@pytest.mark.parametrize(
    ("region", "prefix"),
    [
        ("us-ashburn-1", "ocid1.dataflowrun.oc1.iad."),
        ("us-phoenix-1", "ocid1.dataflowrun.oc1.phx."),
        ("eu-frankfurt-1", "ocid1.dataflowrun.oc1.eu-frankfurt-1."),
        ("us-langley-1", "ocid1.dataflowrun.oc2.us-langley-1."),
    ],
)
def test_resource_identifiers__ocids_carry_the_region_key_only_for_regions_before_frankfurt(
    credentials: TestCredentials, compartment_id: str, region: str, prefix: str
) -> None:
    """Oracle, "Resource Identifiers": "With the introduction of the Frankfurt region, the format switched from a
    three-character code to a longer string"; the realm is the region's (the SDK's region table)."""
    with DataflowEmulator(region=region) as emulator:
        emulator.register_credentials(credentials)
        client = oci.data_flow.DataFlowClient(credentials.sdk_config(region), service_endpoint=emulator.url)
        run = client.create_run(models.CreateRunDetails(compartment_id=compartment_id, execute=MAIN_FILE)).data
    assert run.id.startswith(prefix)
    assert run.application_id.startswith(prefix.replace("dataflowrun", "dataflowapplication"))


def test_opc_request_id_docstring__the_returned_request_id_includes_the_clients(
    client: Client, compartment_id: str, control: EmulatorControl
) -> None:
    """The SDK's ``opc_request_id``: "If provided, the returned request ID will include this value"."""
    details = models.CreateRunDetails(compartment_id=compartment_id, execute=MAIN_FILE)
    response = client.create_run(details, opc_request_id="REQUEST-FROM-TEST")
    assert response.request_id.startswith("REQUEST-FROM-TEST/") and response.request_id != "REQUEST-FROM-TEST"
    assert response.data.opc_request_id == response.request_id
    assert control.journal()[-1]["opc_request_id"] == "REQUEST-FROM-TEST"


def test_list_paging_docstring__pages_after_the_first_carry_opc_prev_page(client: Client, create_run: Any) -> None:
    """The SDK's ``page``: "The value of the opc-next-page or opc-prev-page response header"."""
    compartment_id = create_run().compartment_id
    for _ in range(4):
        create_run()
    first = client.list_runs(compartment_id, limit=2)
    assert "opc-prev-page" not in first.headers
    second = client.list_runs(compartment_id, limit=2, page=first.next_page)
    back = client.list_runs(compartment_id, limit=2, page=second.headers["opc-prev-page"])
    assert [run.id for run in back.data] == [run.id for run in first.data]
    last = client.list_runs(compartment_id, limit=2, page=second.next_page)
    assert len(last.data) == 1 and not last.has_next_page and "opc-prev-page" in last.headers


@pytest.mark.parametrize("main_file", ["query.sql", "Job.scala"])
def test_spark_submit_page__execute_takes_a_jar_or_a_py_main_file(create_run: Any, main_file: str) -> None:
    """Oracle's spark-submit page: "main-application.jar or main-application.py"."""
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        create_run(execute=f"oci://bucket@namespace/{main_file}")
    assert (raised.value.status, raised.value.code) == (400, "InvalidParameter")
    assert "must be a .jar or a .py file" in raised.value.message

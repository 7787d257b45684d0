"""OCIDs are checked where the service takes them, and an emulator can be limited to some compartments."""

from __future__ import annotations

import re
from typing import Any

import oci
import pytest
from oci.data_flow import DataFlowClient as Client
from oci.data_flow import models

from airflow_provider_dataflow.testing.credentials import TestCredentials
from airflow_provider_dataflow.testing.emulator import EmulatorControl, emulator_process
from airflow_provider_dataflow.testing.emulator.validation import OCID

from .conftest import COMPARTMENT_ID

OTHER_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaothercompartment"
EXECUTE = "oci://bucket@namespace/jobs/etl.py"


def _error(call: Any) -> oci.exceptions.ServiceError:
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        call()
    return raised.value


def _application_details(compartment_id: str) -> models.CreateApplicationDetails:
    return models.CreateApplicationDetails(
        compartment_id=compartment_id,
        display_name="etl",
        driver_shape="VM.Standard.E4.Flex",
        executor_shape="VM.Standard.E4.Flex",
        language="PYTHON",
        num_executors=1,
        spark_version="3.5.0",
        file_uri=EXECUTE,
    )


def test_the_ocid_pattern_is_the_sdks() -> None:
    assert OCID.pattern == oci.config.PATTERNS["tenancy"].pattern.strip("^$")


@pytest.mark.parametrize(
    "value",
    [
        "ocid1.compartment.oc1..aaaaaaaaba3pv6wkcr4jqae5f44n2b2m2yt2j6rx32uzr4h25vqstifsfdsq",
        "ocid1.tenancy.oc1..aaaaaaaaba3pv6wkcr4jqae5f44n2b2m2yt2j6rx32uzr4h25vqstifsfdsq",
        "ocid1.dataflowapplication.oc1.iad.aaaa",
        "ocid1.compartment.oc1..emulator",
    ],
)
def test_real_and_test_ocids_are_accepted(value: str) -> None:
    assert OCID.fullmatch(value)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (
            lambda c: c.create_run(models.CreateRunDetails(compartment_id="not-an-ocid", execute=EXECUTE)),
            "compartmentId",
        ),
        (lambda c: c.create_application(_application_details("my-compartment")), "compartmentId"),
        (lambda c: c.list_runs("not-an-ocid"), "compartmentId"),
        (lambda c: c.list_applications("compartment.oc1"), "compartmentId"),
        (
            lambda c: c.create_run(models.CreateRunDetails(compartment_id=COMPARTMENT_ID, application_id="my-app")),
            "applicationId",
        ),
        (lambda c: c.list_runs(COMPARTMENT_ID, application_id="my-app"), "applicationId"),
    ],
    ids=[
        "create-run",
        "create-application",
        "list-runs",
        "list-applications",
        "run-application",
        "runs-by-application",
    ],
)
def test_a_malformed_ocid_is_a_400_naming_the_field(client: Client, call: Any, field: str) -> None:
    error = _error(lambda: call(client))
    assert (error.status, error.code) == (400, "InvalidParameter")
    assert re.match(rf"{field} is not a valid OCID", error.message)


@pytest.fixture
def scoped(control: EmulatorControl) -> EmulatorControl:
    control.set_compartments([COMPARTMENT_ID])
    return control


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.create_run(models.CreateRunDetails(compartment_id=OTHER_COMPARTMENT, execute=EXECUTE)),
        lambda c: c.create_application(_application_details(OTHER_COMPARTMENT)),
        lambda c: c.list_runs(OTHER_COMPARTMENT),
        lambda c: c.list_applications(OTHER_COMPARTMENT),
    ],
    ids=["create-run", "create-application", "list-runs", "list-applications"],
)
def test_a_compartment_outside_the_set_is_not_found(client: Client, scoped: EmulatorControl, call: Any) -> None:
    error = _error(lambda: call(client))
    assert (error.status, error.code) == (404, "NotAuthorizedOrNotFound")
    assert scoped.runs() == []


def test_the_compartments_in_the_set_work_as_before(client: Client, scoped: EmulatorControl) -> None:
    run = client.create_run(models.CreateRunDetails(compartment_id=COMPARTMENT_ID, execute=EXECUTE)).data
    assert [summary.id for summary in client.list_runs(COMPARTMENT_ID).data] == [run.id]


def test_the_set_survives_reset_and_none_allows_every_compartment(client: Client, scoped: EmulatorControl) -> None:
    scoped.reset()
    assert _error(lambda: client.list_runs(OTHER_COMPARTMENT)).status == 404
    scoped.set_compartments(None)
    assert client.list_runs(OTHER_COMPARTMENT).data == []


def test_the_command_line_sets_the_compartments(credentials: TestCredentials) -> None:
    with emulator_process(credentials, "--compartment", COMPARTMENT_ID) as url:
        client = oci.data_flow.DataFlowClient(
            credentials.sdk_config(),
            service_endpoint=url,
            retry_strategy=oci.retry.NoneRetryStrategy(),
            circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
        )
        assert client.list_runs(COMPARTMENT_ID).data == []
        assert _error(lambda: client.list_runs(OTHER_COMPARTMENT)).status == 404

"""Create and update bodies are checked as the service checks them: a 400 naming the field (MissingParameter for
an absent required field, InvalidParameter otherwise).

Dict bodies go through the real SDK (signed as usual) so that shapes the SDK's models refuse to build
(unknown keys, wrong JSON types) still reach the emulator, as they would from another client.
"""

from __future__ import annotations

from typing import Any

import oci
import pytest
from oci.data_flow import DataFlowClient as Client

from airflow_provider_dataflow.testing.emulator import EmulatorControl

EXECUTE = "oci://bucket@namespace/jobs/etl.py"
APP_FILE = "oci://bucket@namespace/jobs/Main.jar"

INVALID_RUNS: list[tuple[dict[str, Any], str]] = [
    ({"numExecutor": 2}, "numExecutor is not a recognized field"),
    ({"numExecutors": "2"}, "numExecutors must be an integer"),
    ({"numExecutors": 1.5}, "numExecutors must be an integer"),
    ({"numExecutors": True}, "numExecutors must be an integer"),
    ({"numExecutors": 0}, "numExecutors must be at least 1"),
    ({"configuration": {"spark.executor.cores": 4}}, "configuration.spark.executor.cores must be a string"),
    ({"configuration": ["spark.x=1"]}, "configuration must be an object"),
    ({"arguments": "--day 2026-01-01"}, "arguments must be an array of strings"),
    ({"arguments": ["--retries", 3]}, "arguments[1] must be a string"),
    ({"freeformTags": {"team": 7}}, "freeformTags.team must be a string"),
    ({"definedTags": {"Ops": "x"}}, "definedTags.Ops must be an object"),
    ({"displayName": 12}, "displayName must be a string"),
    ({"type": "SQL"}, "type must be one of BATCH, STREAMING, SESSION"),
    ({"maxDurationInMinutes": 0}, "maxDurationInMinutes must be at least 1"),
    ({"idleTimeoutInMinutes": 0}, "idleTimeoutInMinutes must be at least 1"),
    ({"driverShapeConfig": {"ocpus": 0}}, "driverShapeConfig.ocpus must be greater than 0"),
    ({"executorShapeConfig": {"memoryInGBs": -16}}, "executorShapeConfig.memoryInGBs must be greater than 0"),
    ({"executorShapeConfig": {"cpus": 2}}, "executorShapeConfig.cpus is not a recognized field"),
    ({"parameters": [{"name": "bad-name", "value": "x"}]}, "parameters[0].name must be one or more word characters"),
    ({"parameters": [{"name": "day\n", "value": "x"}]}, "parameters[0].name must be one or more word characters"),
    ({"parameters": [{"name": "día", "value": "x"}]}, "parameters[0].name must be one or more word characters"),
    ({"parameters": [{"name": "day"}]}, "parameters[0].value is required"),
    ({"applicationLogConfig": {"logId": "l"}}, "applicationLogConfig.logGroupId is required"),
    ({"execute": f"{EXECUTE} --day ${{day}}"}, "execute contains the placeholder ${day}"),
    ({"execute": "--driver-memory 2g " + EXECUTE}, "execute: unsupported spark-submit option --driver-memory"),
    ({"execute": "--class com.example.Main"}, "execute has no main application file"),
    ({"execute": "--conf spark.x " + EXECUTE}, "execute: --conf 'spark.x' must be key=value"),
    ({"execute": "oci://bucket@namespace/jobs/etl.txt"}, "execute: the main application file"),
    ({"compartmentId": None}, "compartmentId is required"),
    ({"execute": None}, "applicationId or execute is required"),
]


def _expect_400(call: Any, code: str = "InvalidParameter") -> str:
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        call()
    assert (raised.value.status, raised.value.code) == (400, code)
    return str(raised.value.message)


def _code_for(message: str) -> str:
    return "MissingParameter" if "is required" in message else "InvalidParameter"


@pytest.mark.parametrize(("overrides", "message"), INVALID_RUNS)
def test_invalid_create_run_is_rejected_naming_the_field(
    client: Client,
    compartment_id: str,
    control: EmulatorControl,
    overrides: dict[str, Any],
    message: str,
) -> None:
    body = {"compartmentId": compartment_id, "execute": EXECUTE, **overrides}
    body = {key: value for key, value in body.items() if value is not None}
    assert message in _expect_400(lambda: client.create_run(body), _code_for(message))
    assert control.runs() == []


def test_every_field_of_the_sdk_model_is_accepted(
    client: Client, control: EmulatorControl, compartment_id: str
) -> None:
    """Guards the schema against the SDK: a CreateRunDetails with every attribute set must pass."""
    models = oci.data_flow.models
    application = _application(client, compartment_id)
    control.register_pool("ocid1.dataflowpool.oc1..x", compartment_id)  # a run's pool must exist
    shape = models.ShapeConfig(ocpus=2.0, memory_in_gbs=32.0)
    details = models.CreateRunDetails(
        application_id=application.id,
        application_log_config=models.ApplicationLogConfig(log_group_id="ocid1.loggroup.x", log_id="ocid1.log.x"),
        archive_uri="oci://bucket@namespace/archive.zip",
        arguments=["--day", "${day}"],
        compartment_id=compartment_id,
        configuration={"spark.sql.shuffle.partitions": "8"},
        defined_tags={"Operations": {"CostCenter": "42"}},
        display_name="everything",
        driver_shape="VM.Standard.E4.Flex",
        driver_shape_config=shape,
        execute=f"{EXECUTE} --day ${{day}}",
        executor_shape="VM.Standard.E4.Flex",
        executor_shape_config=shape,
        freeform_tags={"team": "data"},
        logs_bucket_uri="oci://logs@namespace/",
        metastore_id="ocid1.datacatalogmetastore.x",
        num_executors=2,
        parameters=[models.ApplicationParameter(name="day", value="2026-01-01")],
        pool_id="ocid1.dataflowpool.oc1..x",
        spark_version="3.5.0",
        type="BATCH",
        warehouse_bucket_uri="oci://warehouse@namespace/",
        max_duration_in_minutes=60,
        idle_timeout_in_minutes=30,
    )
    assert [name for name in details.attribute_map if getattr(details, name) is None] == []
    run = client.create_run(details).data
    assert run.arguments == ["--day", "2026-01-01"]
    assert run.total_o_cpu == 6
    assert (run.application_id, run.language, run.display_name) == (application.id, "PYTHON", "everything")


def _application(client: Client, compartment_id: str, **fields: Any) -> Any:
    models = oci.data_flow.models
    details = {
        "compartment_id": compartment_id,
        "display_name": "nightly-app",
        "driver_shape": "VM.Standard2.2",
        "executor_shape": "VM.Standard2.4",
        "language": "JAVA",
        "num_executors": 3,
        "spark_version": "3.2.1",
        "file_uri": APP_FILE,
        "class_name": "com.example.Main",
        "arguments": ["--input", "${input}"],
        "parameters": [models.ApplicationParameter(name="input", value="app-default")],
        "configuration": {"spark.app.setting": "app"},
        **fields,
    }
    return client.create_application(models.CreateApplicationDetails(**details)).data


def test_application_id_and_execute_together_use_what_execute_derives(client: Client, compartment_id: str) -> None:
    application = _application(client, compartment_id)
    run = client.create_run(
        oci.data_flow.models.CreateRunDetails(
            compartment_id=compartment_id,
            application_id=application.id,
            execute=f"--conf spark.run.setting=run {EXECUTE} --day 2026-01-01",
        )
    ).data
    assert (run.language, run.file_uri, run.class_name) == ("PYTHON", EXECUTE, None)
    assert run.arguments == ["--day", "2026-01-01"]
    assert run.configuration == {"spark.run.setting": "run"}
    # What execute does not derive still comes from the application.
    assert (run.driver_shape, run.executor_shape, run.num_executors, run.spark_version) == (
        "VM.Standard2.2",
        "VM.Standard2.4",
        3,
        "3.2.1",
    )
    assert run.total_o_cpu == 2 + 3 * 4
    assert run.display_name == "nightly-app"


def test_a_run_of_an_application_inherits_it_and_resolves_placeholders(client: Client, compartment_id: str) -> None:
    application = _application(client, compartment_id)
    fetched = client.get_application(application.id).data
    assert (fetched.language, fetched.file_uri, fetched.arguments) == ("JAVA", APP_FILE, ["--input", "${input}"])
    models = oci.data_flow.models
    run = client.create_run(
        models.CreateRunDetails(
            compartment_id=compartment_id,
            application_id=application.id,
            parameters=[models.ApplicationParameter(name="input", value="oci://in@ns/2026-01-01/")],
            configuration={"spark.run.setting": "run"},
        )
    ).data
    assert (run.language, run.file_uri, run.class_name) == ("JAVA", APP_FILE, "com.example.Main")
    assert run.arguments == ["--input", "oci://in@ns/2026-01-01/"]
    assert run.configuration == {"spark.app.setting": "app", "spark.run.setting": "run"}


def test_run_arguments_with_an_unknown_placeholder_are_rejected(client: Client, compartment_id: str) -> None:
    application = _application(client, compartment_id)
    body = {"compartmentId": compartment_id, "applicationId": application.id, "arguments": ["${output}"]}
    assert "arguments contains the placeholder ${output}" in _expect_400(lambda: client.create_run(body))


def test_an_application_missing_a_required_field_is_rejected(client: Client, compartment_id: str) -> None:
    body = {"compartmentId": compartment_id, "displayName": "a", "language": "PYTHON", "fileUri": EXECUTE}
    assert "driverShape is required" in _expect_400(lambda: client.create_application(body), "MissingParameter")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"displayName": "renamed"}, "displayName is not a recognized field"),
        ({"maxDurationInMinutes": 0}, "maxDurationInMinutes must be at least 1"),
        ({"idleTimeoutInMinutes": "10"}, "idleTimeoutInMinutes must be an integer"),
        ({"freeformTags": {"a": 1}}, "freeformTags.a must be a string"),
    ],
)
def test_invalid_update_run_is_rejected_naming_the_field(
    client: Client, create_run: Any, body: dict[str, Any], message: str
) -> None:
    run = create_run()
    assert message in _expect_400(lambda: client.update_run(body, run.id))

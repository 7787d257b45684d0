"""The operator's arguments -> CreateRunDetails body, and every kind of bad input it rejects."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_dataflow.exceptions import DataflowInvalidInputError
from airflow_provider_dataflow.runs.fields import RUN_FIELDS
from airflow_provider_dataflow.runs.request import build_create_run_details, build_update_run_details
from tests.bad_inputs import BAD_INPUTS

COMPARTMENT = "ocid1.compartment.oc1..aaaa"
APPLICATION = "ocid1.dataflowapplication.oc1.iad.aaaa"

EVERY_ARGUMENT: dict[str, Any] = {
    "application_id": APPLICATION,
    "application_log_config": {"log_group_id": "ocid1.loggroup.oc1..a", "log_id": "ocid1.log.oc1..b"},
    "archive_uri": "oci://deps@ns/archive.zip",
    "arguments": ["--input", "${input_file}", "--name", "John Doe"],
    "compartment_id": COMPARTMENT,
    "configuration": {"spark.shuffle.io.maxRetries": "4"},
    "defined_tags": {"Operations.CostCenter": "42"},
    "display_name": "nightly",
    "driver_shape": "VM.Standard.E4.Flex",
    "driver_shape_config": {"ocpus": 2, "memory_in_gbs": 32},
    "execute": "--class org.Main oci://code@ns/main.jar 10",
    "executor_shape": "VM.Standard.E4.Flex",
    "executor_shape_config": {"ocpus": "1.5", "memory_in_gbs": "16"},
    "freeform_tags": {"Department": "Finance"},
    "idle_timeout_in_minutes": 30,
    "logs_bucket_uri": "oci://logs@ns/",
    "max_duration_in_minutes": "120",
    "metastore_id": "ocid1.datacatalogmetastore.oc1..m",
    "num_executors": "4",
    "parameters": [{"name": "input_file", "value": "mydata.xml"}],
    "pool_id": "ocid1.dataflowpool.oc1..p",
    "spark_version": "3.5.0",
    "type": "batch",
    "warehouse_bucket_uri": "oci://warehouse@ns/",
}


def test_every_terraform_argument_maps_to_the_api_body() -> None:
    assert set(EVERY_ARGUMENT) == set(RUN_FIELDS)
    body = build_create_run_details(EVERY_ARGUMENT)
    assert body == {
        **EVERY_ARGUMENT,
        "defined_tags": {"Operations": {"CostCenter": "42"}},
        "executor_shape_config": {"ocpus": 1.5, "memory_in_gbs": 16},
        "max_duration_in_minutes": 120,
        "num_executors": 4,
        "type": "BATCH",
    }


def test_unset_arguments_are_left_out_for_service_defaults() -> None:
    body = build_create_run_details({"compartment_id": COMPARTMENT, "application_id": APPLICATION, "pool_id": None})
    assert body == {"compartment_id": COMPARTMENT, "application_id": APPLICATION}


def test_parameters_accept_a_dict() -> None:
    body = build_create_run_details(
        {"compartment_id": COMPARTMENT, "execute": "oci://b@n/a.py", "parameters": {"day": "2024-01-01"}}
    )
    assert body["parameters"] == [{"name": "day", "value": "2024-01-01"}]


def test_defined_tags_accept_the_nested_api_form_and_mix_with_flat() -> None:
    body = build_create_run_details(
        {
            "compartment_id": COMPARTMENT,
            "application_id": APPLICATION,
            "defined_tags": {"Operations": {"CostCenter": "42"}, "Operations.Owner": "data"},
        }
    )
    assert body["defined_tags"] == {"Operations": {"CostCenter": "42", "Owner": "data"}}


def test_application_id_together_with_execute_is_valid() -> None:
    body = build_create_run_details({"compartment_id": COMPARTMENT, "application_id": APPLICATION, "execute": "x.py"})
    assert body["application_id"] == APPLICATION and body["execute"] == "x.py"


@pytest.mark.parametrize(("fields", "field"), BAD_INPUTS)
def test_bad_input_is_rejected_naming_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(DataflowInvalidInputError) as raised:
        build_create_run_details(fields)
    assert raised.value.field == field
    assert f"`{field}`" in str(raised.value)


def test_there_are_at_least_twenty_kinds_of_bad_input() -> None:
    assert len(BAD_INPUTS) >= 20


def test_update_accepts_the_four_updatable_fields_only() -> None:
    body = build_update_run_details(
        {"freeform_tags": {"a": "b"}, "max_duration_in_minutes": "90", "idle_timeout_in_minutes": None}
    )
    assert body == {"freeform_tags": {"a": "b"}, "max_duration_in_minutes": 90}
    with pytest.raises(DataflowInvalidInputError, match="`num_executors`"):
        build_update_run_details({"num_executors": 3})
    with pytest.raises(DataflowInvalidInputError, match="nothing to update"):
        build_update_run_details({"freeform_tags": None})

"""Bad operator input, each kind rejected before any API call with an error naming the field.

Shared by the unit test (error messages) and the integration test (zero calls reach the emulator).
"""

from __future__ import annotations

from typing import Any

import pytest

COMPARTMENT = "ocid1.compartment.oc1..aaaa"
APPLICATION = "ocid1.dataflowapplication.oc1.iad.aaaa"


def _base(**overrides: Any) -> dict[str, Any]:
    return {"compartment_id": COMPARTMENT, "application_id": APPLICATION, **overrides}


BAD_INPUTS = [
    pytest.param({"application_id": APPLICATION}, "compartment_id", id="missing-compartment"),
    pytest.param(_base(compartment_id="my-compartment"), "compartment_id", id="compartment-not-an-ocid"),
    pytest.param({"compartment_id": COMPARTMENT}, "application_id", id="neither-application-nor-execute"),
    pytest.param(_base(application_id=42), "application_id", id="application-id-not-a-string"),
    pytest.param(_base(execute="  "), "execute", id="empty-execute"),
    pytest.param(_base(arguments="--input x"), "arguments", id="arguments-not-a-list"),
    pytest.param(_base(arguments=["--n", 10]), "arguments", id="argument-not-a-string"),
    pytest.param(_base(arguments=["${missing}"]), "arguments", id="placeholder-without-parameter"),
    pytest.param(_base(parameters={"bad-name": "x"}), "parameters", id="parameter-name-not-word-chars"),
    pytest.param(_base(parameters={"n": 10}), "parameters", id="parameter-value-not-a-string"),
    pytest.param(_base(parameters=[{"name": "a"}]), "parameters", id="parameter-item-missing-value"),
    pytest.param(
        _base(parameters=[{"name": "a", "value": "1"}, {"name": "a", "value": "2"}]), "parameters", id="duplicate"
    ),
    pytest.param(_base(parameters="a=1"), "parameters", id="parameters-wrong-type"),
    pytest.param(_base(configuration={"spark.executor.cores": 4}), "configuration", id="non-string-config-value"),
    pytest.param(_base(configuration=["spark.x=1"]), "configuration", id="configuration-not-a-dict"),
    pytest.param(_base(num_executors=0), "num_executors", id="zero-executors"),
    pytest.param(_base(num_executors=-2), "num_executors", id="negative-executors"),
    pytest.param(_base(num_executors=2.5), "num_executors", id="fractional-executors"),
    pytest.param(_base(num_executors=True), "num_executors", id="boolean-executors"),
    pytest.param(_base(max_duration_in_minutes="soon"), "max_duration_in_minutes", id="max-duration-not-a-number"),
    pytest.param(_base(idle_timeout_in_minutes=0), "idle_timeout_in_minutes", id="zero-idle-timeout"),
    pytest.param(_base(driver_shape_config={"ocpus": -1}), "driver_shape_config.ocpus", id="negative-ocpus"),
    pytest.param(_base(executor_shape_config={"cpus": 2}), "executor_shape_config", id="unknown-shape-config-key"),
    pytest.param(_base(executor_shape_config="2 ocpus"), "executor_shape_config", id="shape-config-not-a-dict"),
    pytest.param(
        _base(driver_shape_config={"memory_in_gbs": "lots"}), "driver_shape_config.memory_in_gbs", id="memory-nan"
    ),
    pytest.param(_base(type="SQL"), "type", id="unknown-run-type"),
    pytest.param(_base(defined_tags={"CostCenter": "42"}), "defined_tags", id="defined-tag-without-namespace"),
    pytest.param(_base(defined_tags=["Ops.CostCenter"]), "defined_tags", id="defined-tags-not-a-dict"),
    pytest.param(_base(freeform_tags={"team": 7}), "freeform_tags", id="non-string-freeform-tag"),
    pytest.param(_base(logs_bucket_uri="s3://logs/"), "logs_bucket_uri", id="logs-bucket-not-oci-uri"),
    pytest.param(_base(archive_uri="oci://a@n/a.zip,/tmp/b.zip"), "archive_uri", id="archive-uri-list-bad-item"),
    pytest.param(
        _base(application_log_config={"log_id": "ocid1.log.oc1..b"}),
        "application_log_config.log_group_id",
        id="log-config-missing-group",
    ),
    pytest.param(_base(display_name=["a"]), "display_name", id="display-name-not-a-string"),
    pytest.param(_base(pool_id="pool-1"), "pool_id", id="pool-not-an-ocid"),
]

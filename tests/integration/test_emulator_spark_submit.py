"""``execute`` accepts every spark-submit option Oracle's "Spark-Submit Functionality in Data Flow" lists.

Each option other than ``--class`` lands in the run's configuration as the Spark property spark-submit
sets from it; anything else is still a 400.
"""

from __future__ import annotations

from typing import Any

import oci
import pytest

from airflow_provider_dataflow.testing.emulator.spark_submit import SUPPORTED_OPTIONS

MAIN = "oci://bucket@namespace/jobs/stream.py"


@pytest.mark.parametrize(
    ("options", "configuration"),
    [
        (
            "--packages org.apache.spark:spark-sql-kafka-0-10_2.12:3.0.2",
            {"spark.jars.packages": "org.apache.spark:spark-sql-kafka-0-10_2.12:3.0.2"},
        ),
        (
            '--driver-java-options "-Dlog4j.configuration=log4j.properties -Duser.timezone=UTC"',
            {"spark.driver.extraJavaOptions": "-Dlog4j.configuration=log4j.properties -Duser.timezone=UTC"},
        ),
        ("--jars oci://b@n/a.jar,oci://b@n/b.jar", {"spark.jars": "oci://b@n/a.jar,oci://b@n/b.jar"}),
        ("--files oci://b@n/lookup.csv", {"spark.files": "oci://b@n/lookup.csv"}),
        ("--py-files oci://b@n/deps.zip", {"spark.submit.pyFiles": "oci://b@n/deps.zip"}),
        ("--conf spark.sql.shuffle.partitions=8", {"spark.sql.shuffle.partitions": "8"}),
        ("--packages=a:b:1.0 --conf spark.x=1", {"spark.jars.packages": "a:b:1.0", "spark.x": "1"}),
    ],
)
def test_documented_options_become_spark_properties(
    create_run: Any, options: str, configuration: dict[str, str]
) -> None:
    run = create_run(execute=f"{options} {MAIN} --topic orders")
    assert run.configuration == configuration
    assert (run.file_uri, run.language, run.arguments) == (MAIN, "PYTHON", ["--topic", "orders"])


def test_class_names_the_main_class_of_a_jar(create_run: Any) -> None:
    run = create_run(execute="--class com.example.Stream --packages a:b:1.0 oci://bucket@namespace/jobs/stream.jar")
    assert (run.class_name, run.language, run.configuration) == (
        "com.example.Stream",
        "JAVA",
        {"spark.jars.packages": "a:b:1.0"},
    )


def test_the_supported_options_are_the_documented_ones() -> None:
    assert set(SUPPORTED_OPTIONS) == {
        "--conf",
        "--files",
        "--py-files",
        "--jars",
        "--class",
        "--driver-java-options",
        "--packages",
    }


@pytest.mark.parametrize("option", ["--driver-memory 2g", "--num-executors 4", "--master yarn", "--archives x.zip"])
def test_options_data_flow_does_not_list_are_rejected(create_run: Any, option: str) -> None:
    with pytest.raises(oci.exceptions.ServiceError) as raised:
        create_run(execute=f"{option} {MAIN}")
    assert (raised.value.status, raised.value.code) == (400, "InvalidParameter")
    assert f"unsupported spark-submit option {option.split()[0]}" in raised.value.message

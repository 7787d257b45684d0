"""What the distribution carries besides code: licence, type marker, entry points, one version."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import airflow_provider_dataflow

DISTRIBUTION = "airflow-provider-oci-dataflow"


def test_the_license_is_apache_2_and_ships_in_the_metadata() -> None:
    distribution = importlib.metadata.distribution(DISTRIBUTION)
    assert distribution.metadata["License-Expression"] == "Apache-2.0"
    assert distribution.metadata.get_all("License-File") == ["LICENSE"]
    license_text = distribution.read_text("licenses/LICENSE") or ""
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text


def test_the_package_is_marked_typed() -> None:
    assert (Path(airflow_provider_dataflow.__file__).parent / "py.typed").is_file()


def test_the_version_is_the_one_the_provider_reports() -> None:
    from airflow_provider_dataflow.provider_info import get_provider_info

    assert importlib.metadata.version(DISTRIBUTION) == airflow_provider_dataflow.__version__
    assert get_provider_info()["versions"] == [airflow_provider_dataflow.__version__]


def test_airflow_and_pytest_find_their_entry_points() -> None:
    entry_points = importlib.metadata.distribution(DISTRIBUTION).entry_points
    assert {(entry.group, entry.value) for entry in entry_points} == {
        ("apache_airflow_provider", "airflow_provider_dataflow.provider_info:get_provider_info"),
        ("pytest11", "airflow_provider_dataflow.testing.pytest_plugin"),
    }

"""The projects a user runs: the "Test your DAGs" example and the package tests, each in its own session.

Both run from a copy in a temporary directory, as .ci/wheel_check runs them against the built wheel, so
that only the installed package is importable. Here the installed package is this checkout.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "testing-your-dags"
PAGE = REPO / "docs" / "testing-your-dags.md"
# A fenced block whose first line names a file of the example project: "# tests/test_nightly_spark.py".
FILE_BLOCK = re.compile(r"```(?:python|ini)\n# ([\w./-]+)\n(.*?)```", re.S)


def test_the_page_shows_the_example_projects_files_as_they_are() -> None:
    blocks = FILE_BLOCK.findall(PAGE.read_text())
    assert {name for name, _ in blocks} == {"pytest.ini", "dags/nightly_spark.py", "tests/test_nightly_spark.py"}
    for name, code in blocks:
        assert code in (EXAMPLE / name).read_text(), f"the page's {name} differs from the example project's"


def test_the_first_example_test_is_at_most_ten_lines() -> None:
    source = (EXAMPLE / "tests" / "test_nightly_spark.py").read_text()
    first_test = source.split("\n\n\n")[1]
    assert first_test.startswith("def test_") and len(first_test.splitlines()) <= 10


@pytest.mark.parametrize(
    ("project", "expected"),
    [
        # A user's own DAG tests, on every supported Airflow (.ci/airflow_matrix runs the compat ones).
        pytest.param(EXAMPLE, 4, id="example", marks=pytest.mark.compat),
        pytest.param(REPO / "package_tests", 13, id="package"),
    ],
)
def test_the_project_passes_in_a_session_of_its_own(tmp_path: Path, project: Path, expected: int) -> None:
    copy = tmp_path / project.name
    shutil.copytree(project, copy)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--durations=0"]
    result = subprocess.run(command, cwd=copy, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-6000:]
    assert f"{expected} passed" in result.stdout

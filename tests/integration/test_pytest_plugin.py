"""The pytest plugin as users meet it: loaded in every session, isolating Airflow only when asked.

Each case runs pytest in a child process (pytester), as a user's own test session would run.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.compat  # users test their DAGs on every supported Airflow: .ci/airflow_matrix runs these

OPT_IN = "[pytest]\ndataflow_isolated_airflow = true\n"


def test_importing_the_plugin_imports_neither_airflow_nor_oci_nor_changes_the_environment() -> None:
    script = textwrap.dedent(
        """
        import os, sys
        before = dict(os.environ)
        import airflow_provider_dataflow.testing.pytest_plugin
        assert "airflow" not in sys.modules and "oci" not in sys.modules, "heavy import"
        assert dict(os.environ) == before, "environment changed"
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_pytest_loads_the_plugin_from_its_entry_point(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--dataflow-isolated-airflow*", "*dataflow_isolated_airflow (bool)*"])


def test_without_the_option_the_sessions_airflow_settings_are_left_alone(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", "/srv/my-airflow")
    pytester.makepyfile(
        """
        import os

        def test_home():
            assert os.environ["AIRFLOW_HOME"] == "/srv/my-airflow"
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


@pytest.mark.parametrize("how", ["ini", "flag"])
def test_the_option_gives_conftest_imports_a_throwaway_home_without_the_callers_airflow_variables(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", "/srv/my-airflow")
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql://prod/airflow")
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", "postgresql://prod/warehouse")
    if how == "ini":
        pytester.makeini(OPT_IN)
    # A conftest that imports Airflow at the top, as one importing the project's DAGs does.
    pytester.makeconftest(
        """
        from airflow.configuration import AIRFLOW_HOME, conf

        HOME, DATABASE = AIRFLOW_HOME, conf.get("database", "sql_alchemy_conn")
        """
    )
    pytester.makepyfile(
        """
        import os

        from conftest import DATABASE, HOME

        def test_home():
            assert HOME != "/srv/my-airflow" and "dataflow-airflow-" in HOME
            assert DATABASE == f"sqlite:///{HOME}/airflow.db"
            assert "AIRFLOW_CONN_WAREHOUSE" not in os.environ
            assert os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
        """
    )
    result = pytester.runpytest_subprocess(*(["--dataflow-isolated-airflow"] if how == "flag" else []))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["dataflow: isolated AIRFLOW_HOME */dataflow-airflow-*"])


def test_the_option_refuses_a_session_where_airflow_is_already_imported(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    script = (
        "import sys, airflow, pytest; sys.exit(pytest.main(['--dataflow-isolated-airflow', '-p', 'no:cacheprovider']))"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=pytester.path, capture_output=True, text=True)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "Airflow was imported before the isolated AIRFLOW_HOME could be set up" in result.stderr


def test_dag_test_without_the_option_says_how_to_turn_it_on(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_dag(dataflow_dag_test):\n    pass\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*set `dataflow_isolated_airflow = true` in your pytest configuration*"])


DAG_FILE = """
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator

for dag_id in {dag_ids}:
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1)):
        DataflowInvokeRunOperator(
            task_id="spark",
            display_name=dag_id,
            execute="oci://code@namespace/job.py",
            deferrable={deferrable},
            poll_interval=3600,  # the plugin's cap makes this 0.2 s; without it the timeout would fail the task
            timeout=60,
        )
"""


def test_dag_test_runs_dags_from_files_modules_and_tests(pytester: pytest.Pytester) -> None:
    pytester.makeini(OPT_IN + "pythonpath = .\n")
    pytester.mkpydir("project_dags")
    pytester.path.joinpath("project_dags", "hourly.py").write_text(DAG_FILE.format(dag_ids=["hourly"], deferrable=True))
    pytester.path.joinpath("project_dags", "pair.py").write_text(
        DAG_FILE.format(dag_ids=["left", "right"], deferrable=False)
    )
    pytester.path.joinpath("project_dags", "broken.py").write_text("raise ValueError('no such table')\n")
    pytester.makepyfile(
        """
        from datetime import datetime, timezone

        import pytest
        from airflow.sdk import DAG

        from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator
        from airflow_provider_dataflow.testing.dag_runner import DagLoadError, task_result

        DAY = datetime(2026, 3, 4, tzinfo=timezone.utc)

        def test_a_file_path_and_the_same_logical_date_twice(dataflow_emulator, dataflow_dag_test):
            assert dataflow_dag_test("project_dags/hourly.py", logical_date=DAY).state == "success"
            dag_run = dataflow_dag_test("project_dags/hourly.py", logical_date=DAY)
            assert dag_run.state == "success"
            first, second = dataflow_emulator.runs()
            assert task_result(dag_run, "spark")["id"] == second["id"] != first["id"]

        def test_a_module_name(dataflow_emulator, dataflow_dag_test):
            assert dataflow_dag_test("project_dags.hourly").state == "success"
            assert [run["displayName"] for run in dataflow_emulator.runs()] == ["hourly"]

        def test_a_dag_defined_in_the_test(dataflow_emulator, dataflow_dag_test):
            with DAG(dag_id="inline", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
                DataflowInvokeRunOperator(task_id="spark", display_name="inline", execute="oci://c@n/job.py")
            assert dataflow_dag_test(dag).state == "success"

        def test_a_file_with_two_dags_needs_a_dag_id(dataflow_emulator, dataflow_dag_test):
            with pytest.raises(DagLoadError, match="has 2 DAGs"):
                dataflow_dag_test("project_dags/pair.py")
            assert dataflow_dag_test("project_dags/pair.py", dag_id="right").state == "success"
            assert [run["displayName"] for run in dataflow_emulator.runs()] == ["right"]

        def test_import_errors_are_reported(dataflow_dag_test):
            with pytest.raises(DagLoadError, match="no such table"):
                dataflow_dag_test("project_dags/broken.py")

        def test_each_test_starts_with_an_empty_emulator(dataflow_emulator, dataflow_connection):
            assert dataflow_emulator.runs() == []
            assert dataflow_connection.conn_id == "oci_dataflow_default"
        """
    )
    pytester.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=6)

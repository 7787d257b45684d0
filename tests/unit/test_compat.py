"""Only ``airflow_provider_dataflow/compat.py`` deals with what differs between Airflow releases."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dataflow import compat
from airflow_provider_dataflow.operators import dataflow as operator_module

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider_dataflow"
COMPAT = PACKAGE / "compat.py"

#: Modules whose contents moved or appeared between 3.0 and 3.3.
VERSIONED_MODULES = {
    "airflow.configuration",
    "airflow.exceptions",
    "airflow.hooks.base",
    "airflow.sdk.configuration",
    "airflow.sdk.definitions.retry_policy",
    "airflow.sdk.exceptions",
    "airflow.sdk.execution_time.secrets_masker",
    "airflow.sdk.log",
    "airflow.sdk.observability.stats",
    "airflow.stats",
}
#: Names that ``airflow.sdk`` or ``BaseHook`` lack on some supported release.
VERSIONED_NAMES = {"BaseHook", "aget_connection", "amask_secret", "mask_secret", "AirflowTaskTimeout"}
VERSION_TESTS = re.compile(r"airflow\.__version__|AIRFLOW_V_\d|packaging\.version|version\([\"']apache-airflow")


def violations(source: str) -> list[str]:
    """What in ``source`` depends on the Airflow release without going through compat."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "airflow":
            if node.module in VERSIONED_MODULES:
                found.append(f"imports from {node.module}")
            found += [f"imports {a.name} from {node.module}" for a in node.names if a.name in VERSIONED_NAMES]
        elif isinstance(node, ast.Import):
            found += [f"imports {a.name}" for a in node.names if a.name in VERSIONED_MODULES]
        elif isinstance(node, ast.Attribute) and node.attr == "aget_connection":
            found.append("calls aget_connection")
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) == "hasattr"
            and any(isinstance(arg, ast.Name) and arg.id == "BaseTrigger" for arg in node.args)
        ):
            found.append("probes BaseTrigger")
    found += [f"tests a version: {match}" for match in VERSION_TESTS.findall(source)]
    return found


@pytest.mark.parametrize(
    "path",
    [p for p in sorted(PACKAGE.rglob("*.py")) if p != COMPAT],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_no_module_but_compat_depends_on_the_airflow_release(path: Path) -> None:
    assert violations(path.read_text()) == []


@pytest.mark.parametrize(
    "source",
    [
        "from airflow.sdk import BaseHook",
        "from airflow.sdk.configuration import conf",
        "from airflow.sdk.log import amask_secret",
        "import airflow.exceptions",
        "conn = await BaseHook.aget_connection('x')",
        "if hasattr(BaseTrigger, 'on_kill'): pass",
        "import airflow\nif airflow.__version__ >= '3.3': pass",
        "if version('apache-airflow') < '3.3': pass",
    ],
)
def test_the_check_catches_each_kind_of_release_dependency(source: str) -> None:
    assert violations(source)


def test_compat_itself_is_what_the_check_would_catch() -> None:
    assert violations(COMPAT.read_text())


@pytest.mark.compat
@pytest.mark.parametrize("renders", [True, False], ids=["3.3", "before-3.3"])
def test_start_from_trigger_only_where_the_triggerer_renders_templates(
    monkeypatch: pytest.MonkeyPatch, renders: bool
) -> None:
    monkeypatch.setattr(compat, "TRIGGER_RENDERS_TEMPLATES", renders)
    operator = operator_module.DataflowInvokeRunOperator(
        task_id="spark", execute="oci://b@n/job.py {{ ds }}", start_from_trigger=True
    )
    assert operator.start_from_trigger is renders
    assert (getattr(operator, "start_trigger_args", None) is not None) is renders


@pytest.mark.compat
def test_feature_flags_match_the_releases_that_have_the_features() -> None:
    """Detection by feature must agree with the release notes: both features arrived in 3.3."""
    from importlib.metadata import version

    major, minor = (int(part) for part in version("apache-airflow").split(".")[:2])
    assert compat.TRIGGER_ON_KILL is ((major, minor) >= (3, 3))
    assert compat.TRIGGER_RENDERS_TEMPLATES is ((major, minor) >= (3, 3))


@pytest.mark.compat
async def test_a_trigger_writes_and_reads_its_task_instances_xcom_through_the_triggerers_supervisor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The log cursor's path on every release: the messages a triggerer's supervisor answers (3.0 to 3.3)."""
    from types import SimpleNamespace

    from airflow.sdk.execution_time import task_runner
    from airflow.sdk.execution_time.comms import GetXCom, SetXCom, XComResult

    stored: dict[str, Any] = {}

    class Supervisor:
        async def asend(self, message: Any) -> Any:
            if isinstance(message, SetXCom):
                ids = (message.dag_id, message.task_id, message.run_id, message.map_index)
                stored[message.key] = (*ids, message.value)
                return None
            assert isinstance(message, GetXCom)
            return XComResult(key=message.key, value=stored[message.key][-1] if message.key in stored else None)

    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", Supervisor(), raising=False)
    ti = SimpleNamespace(dag_id="dag", task_id="spark", run_id="manual__1", map_index=-1)
    assert await compat.aget_trigger_xcom(ti, "cursor") is None
    await compat.aset_trigger_xcom(ti, "cursor", {"covered_until": 12.5, "recent_ids": ["a"]})
    assert stored["cursor"][:4] == ("dag", "spark", "manual__1", -1)
    assert await compat.aget_trigger_xcom(ti, "cursor") == {"covered_until": 12.5, "recent_ids": ["a"]}

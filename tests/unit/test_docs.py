"""The docs build without warnings, name every argument the code has, and import only what exists."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_dataflow.operators.dataflow import DataflowInvokeRunOperator
from airflow_provider_dataflow.operators.pool import DataflowStartPoolOperator, DataflowStopPoolOperator
from airflow_provider_dataflow.operators.update_run import DataflowUpdateRunOperator
from airflow_provider_dataflow.sensors.dataflow import DataflowRunSensor

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"


def test_the_site_builds_strictly_with_every_link_resolving(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("operator", "page"),
    [
        (DataflowInvokeRunOperator, "operator.md"),
        (DataflowRunSensor, "sensor-and-link.md"),
        (DataflowUpdateRunOperator, "update-runs.md"),
        (DataflowStartPoolOperator, "pools.md"),
        (DataflowStopPoolOperator, "pools.md"),
    ],
)
def test_every_argument_is_documented(operator: type, page: str) -> None:
    text = (DOCS / page).read_text()
    parameters = inspect.signature(operator.__init__).parameters.values()
    names = [p.name for p in parameters if p.name != "self" and p.kind is not p.VAR_KEYWORD]
    missing = [name for name in names if f"`{name}`" not in text]
    assert not missing, f"{page} does not mention {missing}"


def _python_blocks() -> list[tuple[str, str]]:
    blocks = []
    for page in [*sorted(DOCS.rglob("*.md")), REPO / "README.md"]:
        for block in re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S):
            blocks.append((page.name, block))
    return blocks


@pytest.mark.parametrize(("page", "block"), _python_blocks())
def test_code_samples_import_only_what_exists(page: str, block: str) -> None:
    try:
        tree = ast.parse(block)
    except SyntaxError:
        pytest.skip(f"a fragment in {page}, not a whole program")
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("airflow_provider_dataflow"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{page}: {node.module} has no {alias.name}"

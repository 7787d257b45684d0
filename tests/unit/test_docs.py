"""The docs build without warnings, name every argument the code has, import only what exists, and install
the provider one way: a checkout or a built wheel, with a constraints file of this repository."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import shlex
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


# -- Install commands: one path, on every supported Airflow -------------------------------------------------

DISTRIBUTION = "airflow-provider-oci-dataflow"
WHEEL_PREFIX = DISTRIBUTION.replace("-", "_") + "-"
#: What the plugin's tests need besides the provider; every constraints file pins them.
TEST_RUNNER = {"pytest", "pytest-asyncio"}
#: pip options that take a value (the value is not a requirement).
VALUED_OPTIONS = {"-c", "--constraint", "-e", "--editable", "-r", "--requirement", "-i", "--index-url"}
VALUED_OPTIONS |= {"--extra-index-url", "-f", "--find-links", "-t", "--target", "--report", "--wheel-dir", "-w"}


def _pip_installs() -> list[tuple[str, str]]:
    """``(page, command)`` for every ``pip install`` in README.md and docs/, in code blocks and inline code."""
    found = []
    for page in [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]:
        text = page.read_text()
        blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.S | re.M)
        spans = re.findall(r"`([^`\n]*pip install[^`\n]*)`", re.sub(r"^```.*?^```", "", text, flags=re.S | re.M))
        lines = [line for block in blocks for line in block.replace("\\\n", " ").splitlines()] + spans
        name = str(page.relative_to(REPO))
        found += [(name, line[line.index("pip install") :]) for line in lines if "pip install" in line]
    return found


def install_problems(command: str) -> list[str]:
    """What is wrong with one ``pip install`` command, as a user copying it would find out."""
    tokens = shlex.split(command, comments=True)
    for separator in ("&&", ";", "|"):
        tokens = tokens[: tokens.index(separator)] if separator in tokens else tokens
    constraints, requirements = [], []
    arguments = iter(tokens[2:])
    for token in arguments:
        option, _, attached = token.partition("=")
        if option in ("-c", "--constraint"):
            constraints.append(attached or next(arguments, ""))
        elif option in VALUED_OPTIONS:
            value = attached or next(arguments, "")
            if option in ("-e", "--editable"):
                requirements.append(value)
        elif token.startswith("-c") and len(token) > 2:
            constraints.append(token[2:])
        elif not token.startswith("-"):
            requirements.append(token)
    problems = []
    provider = [req for req in requirements if _is_path(req) or "dataflow" in req]
    for req in provider:
        if not _is_path(req):
            problems.append(f"{req!r}: {DISTRIBUTION} is not on PyPI yet; install a checkout or a built wheel")
            if re.split(r"[\[=<>~! ]", req)[0] != DISTRIBUTION:
                problems.append(f"{req!r}: the distribution is {DISTRIBUTION}")
        elif req.endswith(".whl") and not Path(req).name.startswith(WHEEL_PREFIX):
            problems.append(f"{req!r}: the wheel is {WHEEL_PREFIX}*.whl")
    if (provider or TEST_RUNNER & set(requirements)) and not any(map(_names_a_constraints_file, constraints)):
        problems.append(f"no -c naming a constraints file of this repository (got {constraints or 'none'})")
    return problems


def _is_path(requirement: str) -> bool:
    return requirement.startswith((".", "/")) or "/" in requirement or requirement.endswith(".whl")


def _names_a_constraints_file(path: str) -> bool:
    """``constraints.txt``, ``constraints/airflow-3.2.txt``, or a copy under that name (``/tmp/constraints/...``)."""
    parts = Path(path).parts
    tails = [Path(*parts[i:]) for i in range(len(parts))]
    return any((REPO / tail).is_file() and tail.parts[0] in ("constraints", "constraints.txt") for tail in tails)


@pytest.mark.parametrize(("page", "command"), _pip_installs())
def test_every_install_names_a_constraints_file_and_the_real_distribution(page: str, command: str) -> None:
    assert install_problems(command) == [], f"{page}: {command}"


def test_the_install_commands_are_found_where_users_read_them() -> None:
    installs = _pip_installs()
    assert ("README.md", 'pip install -c constraints.txt -e ".[test]"') in installs
    pages = {page for page, command in installs if "-c constraints/airflow-3.3.txt" in command}
    assert {"docs/getting-started.md", "docs/testing-your-dags.md"} <= pages
    assert {"docs/compatibility.md", "README.md"} <= {page for page, c in installs if "airflow-3.2.txt" in c}


@pytest.mark.parametrize(
    "command",
    [
        "pip install dist/airflow_provider_oci_dataflow-*.whl",
        "pip install -c constraints/airflow-3.2.txt airflow-provider-oci-dataflow",
        'pip install "airflow-provider-oci-dataflow[openlineage]"',
        "pip install -c constraints/airflow-3.9.txt -e .",
        "pip install --constraint https://raw.githubusercontent.com/apache/airflow/c/constraints-3.11.txt /tmp/x.whl",
        "pip install -c constraints.txt airflow-providers-oci-dataflow",
        "pip install -c constraints.txt dist/airflow_provider_dataflow-0.2.0-py3-none-any.whl",
        "pip install pytest",
    ],
)
def test_the_install_check_catches_each_kind_of_mistake(command: str) -> None:
    assert install_problems(command)

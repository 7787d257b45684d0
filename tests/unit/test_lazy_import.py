"""DAG files import the operator on every parse; importing it must not import the (slow) oci SDK."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_provider_does_not_import_oci() -> None:
    code = (
        "import sys\n"
        "import airflow_provider_dataflow.operators.dataflow\n"
        "import airflow_provider_dataflow.sensors.dataflow\n"
        "import airflow_provider_dataflow.triggers.dataflow\n"
        "import airflow_provider_dataflow.links.dataflow\n"
        "import airflow_provider_dataflow.hooks.dataflow\n"
        "print(sorted(m for m in sys.modules if m == 'oci' or m.startswith('oci.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_importing_the_provider_does_not_import_openlineage() -> None:
    """With the extra installed, OpenLineage loads only when a task injects or reports lineage.

    (Airflow's configuration itself reads every installed provider's ``get_provider_info``.)
    """
    code = (
        "import sys\n"
        "import airflow_provider_dataflow.operators.dataflow\n"
        "import airflow_provider_dataflow.retry_policy\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'openlineage'\n"
        "    or (m.startswith('airflow.providers.openlineage.') and not m.endswith('.get_provider_info'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_a_dag_file_importing_the_operator_loads_none_of_the_triggerers_machinery() -> None:
    """Every parse of every DAG file pays for what the operator module imports (benchmarks/parse_time.py)."""
    code = (
        "import sys\n"
        "import airflow.sdk\n"
        "before = set(sys.modules)\n"
        "import airflow_provider_dataflow.operators.dataflow\n"
        "print('\\n'.join(sorted(set(sys.modules) - before)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = result.stdout.split()
    machinery = ("triggers", "pipeline", "hooks", "lineage")
    ours = [m.split(".") for m in loaded if m.startswith("airflow_provider_dataflow.")]
    assert [".".join(parts) for parts in ours if parts[1] in machinery] == []
    assert "airflow.triggers.base" not in loaded

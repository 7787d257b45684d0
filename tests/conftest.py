"""Isolate every test session from the user's Airflow: own AIRFLOW_HOME, no examples, local NO_PROXY.

This runs before any test module imports Airflow, which reads its settings at import time.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_home = Path(tempfile.mkdtemp(prefix="dataflow-provider-tests-"))
os.environ["AIRFLOW_HOME"] = str(_home)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "example_dags")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_home / 'airflow.db'}"
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

"""A throw-away AIRFLOW_HOME for one test session, set up before anything imports Airflow.

Airflow reads AIRFLOW_HOME and its configuration when it is first imported, so this must run before a
test module (or a conftest.py) imports a DAG. It never imports Airflow itself.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path


class AirflowImportedTooEarly(RuntimeError):
    """Airflow was imported before the home was set: it would keep the settings it read."""


class IsolatedAirflowHome:
    """Replaces every ``AIRFLOW*`` variable with a home in a new temporary directory; ``restore`` undoes it.

    The caller's Airflow variables (a real ``AIRFLOW_HOME``, a database URL, connections, a secrets
    backend) are dropped so that tests can never reach a real deployment.
    """

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="dataflow-airflow-"))
        self.dags_folder = self.home / "dags"
        self._saved: dict[str, str] | None = None

    def environment(self) -> dict[str, str]:
        """The Airflow settings of the throw-away home."""
        return {
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
        }

    def activate(self) -> None:
        if "airflow" in sys.modules:
            raise AirflowImportedTooEarly(
                "Airflow was imported before the isolated AIRFLOW_HOME could be set up (by a plugin loaded "
                "earlier?): it would keep using the settings it has already read."
            )
        self.dags_folder.mkdir()
        self._saved = _pop_airflow_variables()
        os.environ.update(self.environment())

    def restore(self) -> None:
        """Put the caller's Airflow variables back and delete the home."""
        if self._saved is not None:
            _pop_airflow_variables()
            os.environ.update(self._saved)
            self._saved = None
        shutil.rmtree(self.home, ignore_errors=True)


def _pop_airflow_variables() -> dict[str, str]:
    return {name: os.environ.pop(name) for name in [name for name in os.environ if name.startswith("AIRFLOW")]}

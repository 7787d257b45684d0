"""Run a DAG once with ``dag.test()``, given its file, its module or the DAG object itself.

``dag.test()`` creates its run from the DAG's serialized copy in the metadata database, which Airflow
writes only for DAGs inside a configured bundle (the DAGs folder): a DAG defined in a test, or in a file
anywhere else, fails with "the dag is not serialized". Writing the DAG to the database first, as the DAG
processor would, is what this module adds (how, differs by release: ``compat.dag_bag``,
``compat.sync_dag_bag_to_db``). It needs a migrated metadata database (see ``migrate_metadata_db``) and
imports Airflow only when called.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_dataflow.compat import dag_bag, sync_dag_bag_to_db

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun
    from airflow.sdk import DAG

# The bundle Airflow always configures; ``dag.test()`` re-reads it before every run.
BUNDLE_NAME = "dags-folder"


class DagLoadError(LookupError):
    """The file or module has import errors, no DAG, or several DAGs and no ``dag_id`` to pick one."""


def run_dag_test(
    target: DAG | str | os.PathLike[str],
    *,
    dag_id: str | None = None,
    rootdir: Path | None = None,
    **test_kwargs: Any,
) -> DagRun:
    """``dag.test(**test_kwargs)`` of the target after writing it to the metadata database.

    ``target`` is a DAG, a path to a DAG file (``.py``; relative paths start at ``rootdir``, default the
    working directory) or a dotted module name. ``dag_id`` picks one DAG of a file that has several.
    """
    dag = load_dag(target, dag_id=dag_id, rootdir=rootdir)
    sync_to_db(dag)
    return dag.test(**test_kwargs)


def load_dag(target: DAG | str | os.PathLike[str], dag_id: str | None = None, rootdir: Path | None = None) -> DAG:
    """The DAG itself, or the one DAG (or ``dag_id``) of a file or module, parsed as the DAG processor would."""
    if not isinstance(target, (str, os.PathLike)):
        return target
    path = _dag_file(target, rootdir or Path.cwd())
    bag = dag_bag(path, bundle_path=path.parent, bundle_name=BUNDLE_NAME, safe_mode=False)
    if bag.import_errors:
        raise DagLoadError(f"{path} does not import:\n" + "\n".join(bag.import_errors.values()))
    if dag_id is not None:
        if dag_id not in bag.dags:
            raise DagLoadError(f"{path} has no DAG {dag_id!r}; it has {sorted(bag.dags)}")
        return bag.dags[dag_id]
    if len(bag.dags) != 1:
        raise DagLoadError(f"{path} has {len(bag.dags)} DAGs {sorted(bag.dags)}; pass dag_id= to pick one")
    return next(iter(bag.dags.values()))


def sync_to_db(dag: DAG) -> None:
    """Serialize the DAG into the metadata database under the DAGs-folder bundle, as the DAG processor does."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    DagBundlesManager().sync_bundles_to_db()
    # A bag holding only this DAG: nothing was parsed, so no other DAG of the bundle is marked stale.
    bag = dag_bag(Path(dag.fileloc), bundle_path=Path(dag.fileloc).parent, bundle_name=BUNDLE_NAME, collect_dags=False)
    bag.bag_dag(dag)
    sync_dag_bag_to_db(bag, BUNDLE_NAME)


def task_result(dag_run: DagRun, task_id: str, map_index: int = -1) -> Any:
    """What the task returned (its ``return_value`` XCom) in this run, or None."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(
                key="return_value",
                run_id=dag_run.run_id,
                dag_ids=dag_run.dag_id,
                task_ids=task_id,
                map_indexes=map_index,
            )
        ).first()
        return XComModel.deserialize_value(row) if row is not None else None


def migrate_metadata_db() -> None:
    """``airflow db migrate`` in a child process, against the database this process's settings name."""
    command = [sys.executable, "-m", "airflow", "db", "migrate"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed ({result.returncode}):\n{result.stderr[-4000:]}")


def _dag_file(target: str | os.PathLike[str], rootdir: Path) -> Path:
    text = os.fspath(target)
    if isinstance(target, str) and not text.endswith(".py") and "/" not in text and os.sep not in text:
        spec = importlib.util.find_spec(text)
        if spec is None or spec.origin is None:
            raise DagLoadError(f"no module {text!r} on sys.path")
        return Path(spec.origin)
    path = rootdir / text
    if not path.is_file():
        raise DagLoadError(f"no DAG file {path}")
    return path.resolve()

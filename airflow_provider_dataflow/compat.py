"""Every difference between the Airflow 3 releases this provider supports (3.0 to 3.3), in one place.

The rest of the package imports these names from here and never checks versions itself. Each
difference is detected by what the installed Airflow offers, not by its version number, so a
backport on a patch release is picked up as it is. Mypy checks against the newest Airflow (3.3).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from airflow.sdk import BaseHook, Connection
    from airflow.sdk.configuration import conf
    from airflow.sdk.definitions.retry_policy import RetryDecision, RetryPolicy
    from airflow.sdk.exceptions import AirflowException, AirflowTaskTimeout
    from airflow.sdk.log import amask_secret as _sdk_amask_secret
    from airflow.sdk.log import mask_secret as _sdk_mask_secret
    from airflow.sdk.observability.stats import Stats
else:
    try:  # 3.1+
        from airflow.sdk import BaseHook
    except ImportError:
        from airflow.hooks.base import BaseHook
    try:  # 3.1+
        from airflow.sdk.exceptions import AirflowException
    except ImportError:
        from airflow.exceptions import AirflowException
    try:  # 3.2+
        from airflow.sdk.exceptions import AirflowTaskTimeout
    except ImportError:
        from airflow.exceptions import AirflowTaskTimeout
    try:  # 3.2+
        from airflow.sdk.configuration import conf
    except ImportError:
        from airflow.configuration import conf
    try:  # 3.2+
        from airflow.sdk.observability.stats import Stats
    except ImportError:
        from airflow.stats import Stats
    try:  # 3.1+: also registers the secret with this process's masker
        from airflow.sdk.log import mask_secret as _sdk_mask_secret
    except ImportError:
        _sdk_mask_secret = None
    try:  # 3.3+
        from airflow.sdk.log import amask_secret as _sdk_amask_secret
    except ImportError:
        _sdk_amask_secret = None


__all__ = [
    "TRIGGER_ON_KILL",
    "TRIGGER_RENDERS_TEMPLATES",
    "AirflowException",
    "AirflowTaskTimeout",
    "BaseHook",
    "RetryDecision",
    "RetryPolicy",
    "Stats",
    "aget_trigger_xcom",
    "amask_secret",
    "aread_connection",
    "aset_trigger_xcom",
    "conf",
    "dag_bag",
    "mask_secret",
    "sync_dag_bag_to_db",
]

#: The triggerer awaits ``BaseTrigger.on_kill`` when a user marks a deferred task failed or
#: success, or clears it (3.3+). Before, nothing is called: see ``pipeline/kill.py``.
TRIGGER_ON_KILL: bool
#: The triggerer renders the operator's templated fields on a ``start_from_trigger`` trigger (3.3+).
#: Before, the trigger would receive raw Jinja (apache/airflow#53063), so the worker submits instead.
TRIGGER_RENDERS_TEMPLATES: bool


def __getattr__(name: str) -> Any:
    """Names whose modules a DAG file that imports the operator should not pay for, resolved on first use."""
    if name in ("TRIGGER_ON_KILL", "TRIGGER_RENDERS_TEMPLATES"):
        from airflow.triggers.base import BaseTrigger

        feature = "on_kill" if name == "TRIGGER_ON_KILL" else "render_template_fields"
        globals()[name] = hasattr(BaseTrigger, feature)
        return globals()[name]
    if name in ("RetryDecision", "RetryPolicy"):
        globals().update(_retry_policy_classes())
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _retry_policy_classes() -> dict[str, Any]:
    try:  # 3.3+
        from airflow.sdk.definitions.retry_policy import RetryDecision, RetryPolicy
    except ImportError:

        class RetryPolicy:  # type: ignore[no-redef]
            """Before 3.3 Airflow never asks a retry policy: a subclass imports, and retries follow ``retries``."""

        return {"RetryDecision": None, "RetryPolicy": RetryPolicy}
    return {"RetryDecision": RetryDecision, "RetryPolicy": RetryPolicy}


def mask_secret(secret: str, name: str | None = None) -> None:
    """Hide ``secret`` in this process's logs and in the supervisor's (``name``: as Airflow's masker takes it)."""
    if _sdk_mask_secret is not None:
        _sdk_mask_secret(secret, name)
        return
    # 3.0 only tells the supervisor; register it here too, as 3.1+ does, so that logs redacted in this
    # process (the trigger runner's) hide it as well.
    from airflow.sdk.execution_time.secrets_masker import _secrets_masker
    from airflow.sdk.execution_time.secrets_masker import mask_secret as tell_supervisor

    _secrets_masker().add_mask(secret, name)
    tell_supervisor(secret, name)


async def amask_secret(secret: str) -> None:
    """``mask_secret`` from the event loop without blocking it or deadlocking on the supervisor."""
    if _sdk_amask_secret is not None:
        await _sdk_amask_secret(secret)
        return
    # Older triggerers answer the blocking send only from a thread started by sync_to_async.
    from asgiref.sync import sync_to_async

    await sync_to_async(mask_secret)(secret)


async def aread_connection(conn_id: str) -> tuple[Connection, dict[str, Any]]:
    """A connection and its extra, looked up from the event loop without a blocking call to the supervisor.

    Airflow's common-compat helpers pick the way each release allows: before 3.3.2 ``aget_connection``
    and ``extra_dejson`` mask secrets with a blocking send (``DeadlockImminentError`` on the loop), so
    there the lookup runs in a thread; 3.0 has no async lookup at all.
    """
    from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson

    conn = await get_async_connection(conn_id)
    return conn, await get_async_extra_dejson(conn)


async def aget_trigger_xcom(task_instance: Any, key: str) -> Any:
    """A trigger reads an XCom of its task instance through the triggerer's supervisor, without blocking.

    3.3 has ``XCom.aget_one``; 3.0 to 3.2 triggerers answer the same ``GetXCom`` message, sent here directly.
    """
    from airflow.sdk.bases.xcom import BaseXCom

    ids = _xcom_ids(task_instance)
    if hasattr(BaseXCom, "aget_one"):  # 3.3+
        from airflow.sdk.execution_time.xcom import XCom

        return await XCom.aget_one(key=key, **ids)
    from airflow.sdk.execution_time import task_runner
    from airflow.sdk.execution_time.comms import GetXCom, XComResult

    answer = await task_runner.SUPERVISOR_COMMS.asend(GetXCom(key=key, **ids))
    if isinstance(answer, XComResult) and answer.value is not None:
        return BaseXCom.deserialize_value(answer)
    return None


async def aset_trigger_xcom(task_instance: Any, key: str, value: Any) -> None:
    """A trigger writes an XCom of its task instance (``XCom.aset`` on 3.3, the ``SetXCom`` message before)."""
    from airflow.sdk.bases.xcom import BaseXCom

    ids = _xcom_ids(task_instance)
    if hasattr(BaseXCom, "aset"):  # 3.3+
        from airflow.sdk.execution_time.xcom import XCom

        await XCom.aset(key, value, **ids)
        return
    from airflow.sdk.execution_time import task_runner
    from airflow.sdk.execution_time.comms import SetXCom

    serialized = BaseXCom.serialize_value(value, key=key, **ids)
    await task_runner.SUPERVISOR_COMMS.asend(SetXCom(key=key, value=serialized, **ids))


def _xcom_ids(task_instance: Any) -> dict[str, Any]:
    return {
        "dag_id": task_instance.dag_id,
        "task_id": task_instance.task_id,
        "run_id": task_instance.run_id,
        "map_index": task_instance.map_index if task_instance.map_index is not None else -1,
    }


def dag_bag(path: Path, bundle_path: Path, bundle_name: str, **kwargs: Any) -> Any:
    """A ``DagBag`` of ``path`` as the DAG processor parses a file of bundle ``bundle_name`` (the test kit's)."""
    try:  # 3.2+
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # no bundle name yet, and Airflow's examples unless told not to
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

        return DagBag(dag_folder=path, bundle_path=bundle_path, include_examples=False, **kwargs)  # type: ignore[call-arg]
    return DagBag(dag_folder=path, bundle_path=bundle_path, bundle_name=bundle_name, **kwargs)


def sync_dag_bag_to_db(bag: Any, bundle_name: str) -> None:
    """Write a bag's DAGs to the metadata database under ``bundle_name``, as the DAG processor does."""
    try:  # 3.2+
        from airflow.dag_processing.dagbag import sync_bag_to_db as sync
    except ImportError:
        try:  # 3.1
            from airflow.models.dagbag import sync_bag_to_db as sync  # type: ignore[no-redef]
        except ImportError:  # 3.0: a method of the bag, which needs each DAG's path in the bundle (parsing sets it)
            for dag in bag.dags.values():
                dag.relative_fileloc = dag.relative_fileloc or os.path.relpath(dag.fileloc, bag.bundle_path)
            bag.sync_to_db(bundle_name, None)
            return
    sync(bag, bundle_name, None)

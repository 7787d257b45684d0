"""One watcher per (connection settings, compartment) and event loop, configured from ``[oci_dataflow]``.

Watchers are per event loop because their futures and tasks belong to one loop (a triggerer has one;
tests and ``dag.test()`` may create several in turn). A watcher leaves the registry when its last
trigger detaches, so nothing outlives the waits.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING

from airflow_provider_dataflow.config import get_float, get_int
from airflow_provider_dataflow.pipeline.watch.watcher import CompartmentWatcher, WatchConfig

if TYPE_CHECKING:
    from airflow_provider_dataflow.hooks.auth import ConnectionSettings
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook

WatcherKey = tuple["ConnectionSettings", str]

_watchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[WatcherKey, CompartmentWatcher]] = (
    weakref.WeakKeyDictionary()
)


async def watcher_for(hook: DataflowHook, compartment_id: str) -> CompartmentWatcher:
    """The running loop's watcher for the hook's connection and this compartment."""
    settings = await hook.asettings()
    watchers = _watchers.setdefault(asyncio.get_running_loop(), {})
    key = (settings, compartment_id)
    watcher = watchers.get(key)
    if watcher is None:

        def forget() -> None:
            watchers.pop(key, None)

        watcher = watchers[key] = CompartmentWatcher(hook, compartment_id, configured_watch(), on_idle=forget)
    return watcher


def active_watchers() -> list[CompartmentWatcher]:
    """The running loop's watchers (for tests and diagnostics)."""
    return list(_watchers.get(asyncio.get_running_loop(), {}).values())


def configured_watch() -> WatchConfig:
    """``[oci_dataflow] shared_watch_min_runs`` and ``shared_watch_min_interval``."""
    return WatchConfig(min_runs=get_int("shared_watch_min_runs"), min_interval=get_float("shared_watch_min_interval"))

"""One shared log searcher per (connection settings, log) and event loop, as ``watch.registry`` keeps watchers.

Per event loop because a searcher's task and events belong to one loop (a triggerer has one; tests and
``dag.test()`` may create several in turn). A searcher leaves the registry when its last subscriber
leaves, so nothing outlives the waits.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING

from airflow_provider_dataflow.config import get_float
from airflow_provider_dataflow.pipeline.logs.searcher import LogSearcher
from airflow_provider_dataflow.pipeline.logs.sources import LogSource

if TYPE_CHECKING:
    from airflow_provider_dataflow.hooks.auth import ConnectionSettings
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook

SearcherKey = tuple["ConnectionSettings", LogSource]

_searchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[SearcherKey, LogSearcher]] = (
    weakref.WeakKeyDictionary()
)


async def searcher_for(hook: DataflowHook, source: LogSource) -> LogSearcher:
    """The running loop's searcher of ``source`` for the hook's connection."""
    settings = await hook.asettings()
    searchers = _searchers.setdefault(asyncio.get_running_loop(), {})
    key = (settings, source)
    searcher = searchers.get(key)
    if searcher is None:

        def forget() -> None:
            searchers.pop(key, None)

        searcher = searchers[key] = LogSearcher(hook, source, get_float("log_search_min_interval"), on_idle=forget)
    return searcher


def active_searchers() -> list[LogSearcher]:
    """The running loop's searchers (for tests, benchmarks and diagnostics)."""
    return list(_searchers.get(asyncio.get_running_loop(), {}).values())

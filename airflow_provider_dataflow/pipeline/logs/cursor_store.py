"""A deferred task's log cursor, kept in an XCom of its task instance so that another trigger continues it.

A trigger restarted (triggerer restart, redistribution to another triggerer) loads the cursor of each
of its logs and continues where the last one saved: nothing older is searched again, and the ids of
the lines shown within the overlap are not shown twice. Saves are rate-bounded by the searcher
(``[oci_dataflow] log_cursor_save_seconds``), so lines shown after the last save may show again. A new
task attempt starts with no XComs, hence from the run's start: that is a new task log.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_dataflow.compat import aget_trigger_xcom, aset_trigger_xcom
from airflow_provider_dataflow.pipeline.logs.follower import Cursor
from airflow_provider_dataflow.pipeline.logs.sources import LogSource

CURSOR_XCOM_KEY = "dataflow_log_cursor"


class XComCursorStore:
    """The cursor of one log, in the task instance's XCom ``dataflow_log_cursor.<log OCID>``."""

    def __init__(self, task_instance: Any, source: LogSource) -> None:
        self._ti = task_instance
        self.key = f"{CURSOR_XCOM_KEY}.{source.log_id}"

    async def load(self) -> Cursor | None:
        return Cursor.from_json(await aget_trigger_xcom(self._ti, self.key))

    async def save(self, cursor: Cursor) -> None:
        await aset_trigger_xcom(self._ti, self.key, cursor.to_json())

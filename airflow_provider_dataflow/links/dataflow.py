"""DataflowRunLink: the run's page in the OCI console, shown while the task is still deferred."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

from airflow_provider_dataflow.runs.console import LINK_XCOM_KEY, console_url

__all__ = ["DataflowRunLink", "console_url"]

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.types import TaskInstanceKey


class DataflowRunLink(BaseOperatorLink):
    """Extra link to the run's console page, read from XCom so it works without a connection lookup."""

    name = "OCI Data Flow run"
    xcom_key = LINK_XCOM_KEY

    @classmethod
    def persist(cls, context: Context, url: str) -> None:
        """Publish the URL as soon as the run exists, before the task defers."""
        context["ti"].xcom_push(key=cls.xcom_key, value=url)

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        url: Any = XCom.get_value(ti_key=ti_key, key=self.xcom_key)
        return str(url) if url else ""

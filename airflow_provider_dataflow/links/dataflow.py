"""DataflowRunLink: the run's page in the OCI console, shown while the task is still deferred."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.types import TaskInstanceKey

OC1_CONSOLE = "https://cloud.oracle.com/data-flow/runs/details/{run_id}?region={region}"
REALM_CONSOLE = "https://console.{region}.{domain}/data-flow/runs/details/{run_id}"


def console_url(run_id: str, region: str | None, template: str | None = None) -> str:
    """The console page of a run, for the region's realm (or the connection's own template).

    ``template`` may use ``{run_id}`` and ``{region}``; set it (connection extra
    ``console_url_template``) for private realms whose console this provider cannot derive.
    """
    region = region or ""
    if template:
        return template.format(run_id=run_id, region=region)
    import oci

    realm = oci.regions.REGION_REALMS.get(region, "oc1")
    if realm == "oc1":
        return OC1_CONSOLE.format(run_id=run_id, region=region)
    domain = oci.regions.REALMS.get(realm, "oraclecloud.com")
    return REALM_CONSOLE.format(run_id=run_id, region=region, domain=domain)


class DataflowRunLink(BaseOperatorLink):
    """Extra link to the run's console page, read from XCom so it works without a connection lookup."""

    name = "OCI Data Flow run"
    xcom_key = "dataflow_run_url"

    @classmethod
    def persist(cls, context: Context, url: str) -> None:
        """Publish the URL as soon as the run exists, before the task defers."""
        context["ti"].xcom_push(key=cls.xcom_key, value=url)

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        url: Any = XCom.get_value(ti_key=ti_key, key=self.xcom_key)
        return str(url) if url else ""

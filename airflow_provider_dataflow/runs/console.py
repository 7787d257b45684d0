"""A run's page in the OCI console, and the XCom key it is kept under (the console link reads it)."""

from __future__ import annotations

OC1_CONSOLE = "https://cloud.oracle.com/data-flow/runs/details/{run_id}?region={region}"
REALM_CONSOLE = "https://console.{region}.{domain}/data-flow/runs/details/{run_id}"
#: Where the run's console URL is published as soon as the run exists (a worker or the triggerer writes it).
LINK_XCOM_KEY = "dataflow_run_url"


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

from __future__ import annotations

from airflow_provider_dataflow.links.dataflow import console_url

RUN = "ocid1.dataflowrun.oc1.iad.abc"


def test_commercial_realm_uses_cloud_oracle_com() -> None:
    assert console_url(RUN, "us-ashburn-1") == (
        f"https://cloud.oracle.com/data-flow/runs/details/{RUN}?region=us-ashburn-1"
    )


def test_other_realms_use_their_console_domain() -> None:
    assert console_url(RUN, "us-langley-1") == (
        f"https://console.us-langley-1.oraclegovcloud.com/data-flow/runs/details/{RUN}"
    )


def test_connection_template_wins_for_private_realms() -> None:
    template = "https://console.example.internal/df/{run_id}?r={region}"
    assert console_url(RUN, "xx-private-1", template) == f"https://console.example.internal/df/{RUN}?r=xx-private-1"

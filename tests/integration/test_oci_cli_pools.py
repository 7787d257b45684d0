"""The official OCI CLI's ``oci data-flow pool`` and ``work-request`` commands against the emulator.

The CLI (``tests/oci_cli.py``) lives in a venv of its own; without it this test skips, unless
``DATAFLOW_REQUIRE_OCI_CLI=1`` (CI) makes its absence a failure. Each command is a process of its own
(a few seconds: the CLI imports every service), so one scenario runs them all in order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_dataflow.testing.credentials import TestCredentials
from airflow_provider_dataflow.testing.emulator import DataflowEmulator, EmulatorControl
from tests.oci_cli import INSTALL_HINT, OciCli, OciCliError, cli_required, find_oci_cli

SHAPE = "VM.Standard.E4.Flex"
WAIT = ("--wait-for-state", "SUCCEEDED", "--wait-interval-seconds", "1")


@pytest.fixture
def cli(emulator: DataflowEmulator, credentials: TestCredentials, tmp_path: Path) -> Iterator[OciCli]:
    executable = find_oci_cli()
    if executable is None:
        if cli_required():
            pytest.fail(f"DATAFLOW_REQUIRE_OCI_CLI=1 but no OCI CLI was found; install it: {INSTALL_HINT}")
        pytest.skip(f"the official OCI CLI is not installed; {INSTALL_HINT}")
    yield OciCli.configure(executable, emulator.url, credentials, tmp_path)


def test_the_cli_creates_lists_starts_stops_and_deletes_a_pool(
    cli: OciCli, control: EmulatorControl, compartment_id: str
) -> None:
    control.pool_settings(start_seconds=1.5, stop_seconds=0.5)
    pool = ("data-flow", "pool")
    configurations = json.dumps([{"shape": SHAPE, "max": 4, "min": 0}])

    created = cli.run(*pool, "create", "--compartment-id", compartment_id, "--display-name", "backfill",
                      "--configurations", configurations, "--idle-timeout-in-minutes", "30", *WAIT)  # fmt: skip
    work = created["data"]
    assert (work["status"], work["resources"][0]["action-type"]) == ("SUCCEEDED", "CREATED")
    pool_id = work["resources"][0]["resource-id"]

    fetched = cli.run(*pool, "get", "--pool-id", pool_id)
    assert fetched["etag"]
    assert fetched["data"]["display-name"] == "backfill"
    assert fetched["data"]["configurations"][0] == {"max": 4, "min": 0, "shape": SHAPE, "shape-config": None}
    assert fetched["data"]["lifecycle-state"] == "ACCEPTED"

    listed = cli.run(*pool, "list", "--compartment-id", compartment_id, "--all")["data"]["items"]
    assert [(p["id"], p["display-name"]) for p in listed] == [(pool_id, "backfill")]
    starting_with = cli.run(*pool, "list", "--compartment-id", compartment_id, "--display-name-starts-with", "back")
    assert [p["id"] for p in starting_with["data"]["items"]] == [pool_id]

    started = cli.run(*pool, "start", "--pool-id", pool_id, *WAIT)["data"]
    assert started["status"] == "SUCCEEDED"
    assert cli.run("data-flow", "work-request", "get", "--work-request-id", started["id"])["data"]["status"] == (
        "SUCCEEDED"
    )
    active = cli.run(*pool, "list", "--compartment-id", compartment_id, "--lifecycle-state", "ACTIVE")
    assert [p["id"] for p in active["data"]["items"]] == [pool_id]

    updated = cli.run(*pool, "update", "--pool-id", pool_id, "--display-name", "backfill-2", "--force", *WAIT)
    assert updated["data"]["status"] == "SUCCEEDED"

    stopped = cli.run(*pool, "stop", "--pool-id", pool_id, *WAIT)["data"]
    assert stopped["status"] == "SUCCEEDED"
    assert cli.run(*pool, "get", "--pool-id", pool_id)["data"]["lifecycle-state"] == "STOPPED"

    work_requests = cli.run("data-flow", "work-request", "list", "--compartment-id", compartment_id)["data"]["items"]
    assert len(work_requests) == 4  # create, start, update, stop; newest first
    assert work_requests[0]["id"] == stopped["id"]

    cli.run(*pool, "delete", "--pool-id", pool_id, "--force", "--wait-for-state", "DELETED",
            "--wait-interval-seconds", "1")  # fmt: skip
    deleted = cli.run(*pool, "get", "--pool-id", pool_id)["data"]
    assert (deleted["lifecycle-state"], deleted["display-name"]) == ("DELETED", "backfill-2")


def test_the_cli_shows_the_services_refusals(cli: OciCli, control: EmulatorControl, compartment_id: str) -> None:
    pool_id = control.register_pool("ocid1.dataflowpool.oc1..cli", compartment_id, lifecycle_state="ACTIVE")["id"]
    with pytest.raises(OciCliError) as raised:
        cli.run("data-flow", "pool", "delete", "--pool-id", pool_id, "--force")  # an ACTIVE pool: stop it first
    assert (raised.value.service_error or {}).get("status") == 409
    with pytest.raises(OciCliError) as raised:
        cli.run("data-flow", "pool", "get", "--pool-id", "ocid1.dataflowpool.oc1..missing")
    assert (raised.value.service_error or {}).get("code") == "NotAuthorizedOrNotFound"

"""The official OCI CLI's ``oci data-flow`` commands against the emulator, each output checked as the service's.

Every command is a process of its own (a few seconds: the CLI imports every service), so a scenario runs
all its commands, keeps going after a failed check, and then reports every failure with the count of
commands that passed. The CLI lives in a venv of its own (``tests/oci_cli.py``); without it these tests
skip, unless ``DATAFLOW_REQUIRE_OCI_CLI=1`` (CI) makes its absence a failure.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dataflow.testing.credentials import TestCredentials
from airflow_provider_dataflow.testing.emulator import DataflowEmulator, EmulatorControl
from tests.oci_cli import INSTALL_HINT, OciCli, OciCliError, cli_required, find_oci_cli

Check = Callable[[Any], None]
EXECUTE = "oci://bucket@namespace/jobs/etl.py --day 2026-01-01"
MISSING_APPLICATION = "ocid1.dataflowapplication.oc1.iad.aaaaaaaanotthere"
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELED", "STOPPED")


@pytest.fixture
def cli(emulator: DataflowEmulator, credentials: TestCredentials, tmp_path: Path) -> Iterator[OciCli]:
    executable = find_oci_cli()
    if executable is None:
        if cli_required():
            pytest.fail(f"DATAFLOW_REQUIRE_OCI_CLI=1 but no OCI CLI was found; install it: {INSTALL_HINT}")
        pytest.skip(f"the official OCI CLI is not installed; {INSTALL_HINT}")
    yield OciCli.configure(executable, emulator.url, credentials, tmp_path)


@dataclass
class Commands:
    """Runs CLI commands, checks each output, and collects failures instead of stopping at the first."""

    cli: OciCli
    failures: list[str] = field(default_factory=list)
    passed: int = 0

    def run(self, what: str, *args: str, check: Check | None = None, text: bool = False) -> Any:
        """The command's JSON output (its text with ``text``), None when the command failed.

        A failed command or check is recorded; the output of a command whose check failed is still
        returned, so the commands after it run on what it created.
        """
        try:
            output = self.cli.run_text(*args) if text else self.cli.run(*args)
        except (OciCliError, ValueError) as failure:
            self.failures.append(f"{what}: oci {' '.join(args)}\n    {failure}")
            return None
        try:
            if check is not None:
                check(output)
        except (AssertionError, KeyError, TypeError, IndexError, ValueError) as failure:
            self.failures.append(f"{what}: oci {' '.join(args)}\n    {failure}")
            return output
        self.passed += 1
        return output

    def refused(self, what: str, *args: str, status: int, code: str) -> None:
        """The command must fail with the service error ``status``/``code``."""
        try:
            self.cli.run(*args)
        except OciCliError as error:
            answer = error.service_error or {}
            if (answer.get("status"), answer.get("code")) == (status, code):
                self.passed += 1
                return
            self.failures.append(f"{what}: expected {status} {code}, got {answer or error.stderr}")
            return
        self.failures.append(f"{what}: oci {' '.join(args)} succeeded, expected {status} {code}")

    def verify(self) -> None:
        total = self.passed + len(self.failures)
        assert not self.failures, f"{self.passed} of {total} CLI commands passed; failed:\n" + "\n".join(self.failures)


def _data(output: Any) -> Any:
    return output["data"]


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def _ids(output: Any) -> list[str]:
    return [item["id"] for item in _data(output)]


def _regional_ocid(kind: str) -> Check:
    """Ashburn's OCIDs carry its region key ``iad`` (Oracle, "Resource Identifiers")."""
    return lambda output: _expect(
        _data(output)["id"].startswith(f"ocid1.{kind}.oc1.iad."), f"not an Ashburn {kind} OCID: {_data(output)['id']}"
    )


def test_run_commands(cli: OciCli, control: EmulatorControl, compartment_id: str, tmp_path: Path) -> None:
    control.add_behaviour(r"^cli-long", run_seconds=600)
    commands = Commands(cli)
    base = ("data-flow", "run")

    def submitted(output: Any) -> None:
        run = _data(output)
        _expect(run["language"] == "PYTHON" and run["arguments"] == ["--day", "2026-01-01"], f"derived {run}")
        _expect(run["file-uri"] == "oci://bucket@namespace/jobs/etl.py", run["file-uri"])
        _expect(run["application-id"] is not None, "an execute-only run is associated with a new application")
        _regional_ocid("dataflowrun")(output)

    batch = commands.run(
        "submit from execute",
        *base, "submit", "--compartment-id", compartment_id, "--execute", EXECUTE,
        "--display-name", "cli-batch", "--freeform-tags", '{"suite": "cli"}',
        check=submitted,
    )  # fmt: skip
    batch_id = _data(batch)["id"] if batch else "missing"
    commands.run(
        "get",
        *base, "get", "--run-id", batch_id,
        check=lambda out: _expect(_data(out)["display-name"] == "cli-batch", str(_data(out))),
    )  # fmt: skip
    commands.run(
        "a SESSION run's idle timeout defaults to 2880 minutes",
        *base, "submit", "--compartment-id", compartment_id, "--execute", EXECUTE,
        "--display-name", "cli-session", "--type", "SESSION",
        check=lambda out: _expect(_data(out)["idle-timeout-in-minutes"] == 2880, str(_data(out))),
    )  # fmt: skip
    stream = commands.run(
        "submit a STREAMING run",
        *base, "submit", "--compartment-id", compartment_id, "--execute", EXECUTE,
        "--display-name", "cli-stream", "--type", "STREAMING",
    )  # fmt: skip
    stream_id = _data(stream)["id"] if stream else "missing"
    commands.run(
        "update tags and the duration limit",
        *base, "update", "--run-id", stream_id, "--freeform-tags", '{"team": "cli"}',
        "--max-duration-in-minutes", "90", "--force",
        check=lambda out: _expect(
            (_data(out)["freeform-tags"], _data(out)["max-duration-in-minutes"]) == ({"team": "cli"}, 90), str(out)
        ),
    )  # fmt: skip
    commands.run("cancel", *base, "delete", "--run-id", stream_id, "--force")
    commands.run(
        "a cancelled run",
        *base, "get", "--run-id", stream_id,
        check=lambda out: _expect(_data(out)["lifecycle-state"] in ("CANCELING", "CANCELED"), str(_data(out))),
    )  # fmt: skip
    waited = commands.run(
        "submit and wait for SUCCEEDED",
        *base, "submit", "--compartment-id", compartment_id, "--execute", EXECUTE, "--display-name", "cli-waited",
        "--wait-for-state", "SUCCEEDED", "--wait-interval-seconds", "1", "--max-wait-seconds", "60",
        check=lambda out: _expect(_data(out)["lifecycle-state"] == "SUCCEEDED", str(_data(out))),
    )  # fmt: skip
    waited_id = _data(waited)["id"] if waited else "missing"
    long_run = commands.run(
        "submit a long run",
        *base, "submit", "--compartment-id", compartment_id, "--execute", EXECUTE, "--display-name", "cli-long",
        "--wait-for-state", "IN_PROGRESS", "--wait-interval-seconds", "1", "--max-wait-seconds", "60",
    )  # fmt: skip
    long_id = _data(long_run)["id"] if long_run else "missing"

    commands.run(
        "list the compartment's runs",
        *base, "list", "--compartment-id", compartment_id,
        check=lambda out: _expect({batch_id, stream_id, waited_id, long_id} <= set(_ids(out)), str(_ids(out))),
    )  # fmt: skip
    commands.run(
        "list by display name prefix",
        *base, "list", "--compartment-id", compartment_id, "--display-name-starts-with", "cli-st",
        check=lambda out: _expect(_ids(out) == [stream_id], str(_ids(out))),
    )  # fmt: skip
    commands.run(
        "list by state",
        *base, "list", "--compartment-id", compartment_id, "--lifecycle-state", "IN_PROGRESS",
        check=lambda out: _expect(long_id in _ids(out) and waited_id not in _ids(out), str(_ids(out))),
    )  # fmt: skip
    batch_application = _data(batch)["application-id"] if batch else None
    commands.run(
        "list the runs of an execute-only run's application",
        *base, "list", "--compartment-id", compartment_id, "--application-id", str(batch_application),
        check=lambda out: _expect(batch_id in _ids(out), str(_ids(out))),
    )  # fmt: skip
    first_page = commands.run(
        "list one page",
        *base, "list", "--compartment-id", compartment_id, "--limit", "2",
        check=lambda out: _expect(len(_data(out)) == 2 and bool(out.get("opc-next-page")), str(out)),
    )  # fmt: skip
    commands.run(
        "list the next page",
        *base, "list", "--compartment-id", compartment_id, "--limit", "2",
        "--page", str((first_page or {}).get("opc-next-page")),
        check=lambda out: _expect(not set(_ids(out)) & set(_ids(first_page)), str(out)),
    )  # fmt: skip
    commands.run(
        "list every page",
        *base, "list", "--compartment-id", compartment_id, "--all", "--page-size", "2",
        check=lambda out: _expect(len(_ids(out)) == 5, str(_ids(out))),
    )  # fmt: skip

    commands.run(
        "no application logs while the run is IN_PROGRESS",
        *base, "list-logs", "--run-id", long_id,
        check=lambda out: _expect(not (out or {}).get("data"), str(out)),
    )  # fmt: skip
    commands.run(
        "a finished run's application logs",
        *base, "list-logs", "--run-id", waited_id,
        check=lambda out: _expect(
            {(log["name"], log["source"]) for log in _data(out)}
            == {("spark_application_stdout.log.gz", "APPLICATION"), ("spark_application_stderr.log.gz", "APPLICATION")},
            str(out),
        ),
    )  # fmt: skip
    log_file = tmp_path / "stdout.log.gz"
    commands.run(
        "download the stdout log",
        *base, "get-log", "--run-id", waited_id, "--name", "spark_application_stdout.log.gz", "--file", str(log_file),
        check=lambda _out: _expect("cli-waited" in gzip.decompress(log_file.read_bytes()).decode(), "log text"),
        text=True,
    )  # fmt: skip

    commands.refused(
        "get a run that does not exist",
        *base, "get", "--run-id", "ocid1.dataflowrun.oc1.iad.aaaaaaaanotthere",
        status=404, code="NotAuthorizedOrNotFound",
    )  # fmt: skip
    commands.refused(
        "create a run from an application that does not exist",
        *base, "create", "--compartment-id", compartment_id, "--application-id", MISSING_APPLICATION,
        "--display-name", "cli-orphan",
        status=400, code="RelatedResourceNotAuthorizedOrNotFound",
    )  # fmt: skip
    commands.refused(
        "a main file of no known language",
        *base, "submit", "--compartment-id", compartment_id, "--execute", "oci://bucket@namespace/jobs/etl.txt",
        status=400, code="InvalidParameter",
    )  # fmt: skip
    commands.verify()


def test_application_commands(cli: OciCli, control: EmulatorControl, compartment_id: str) -> None:
    control.add_behaviour(r"^cli-live", run_seconds=600)
    commands = Commands(cli)
    base = ("data-flow", "application")
    shapes = (
        "--driver-shape", "VM.Standard.E4.Flex", "--executor-shape", "VM.Standard.E4.Flex",
        "--driver-shape-config", '{"ocpus": 1, "memoryInGBs": 16}',
        "--executor-shape-config", '{"ocpus": 1, "memoryInGBs": 16}',
        "--spark-version", "3.5.0", "--language", "PYTHON",
    )  # fmt: skip

    def created(output: Any) -> None:
        application = _data(output)
        _expect(application["lifecycle-state"] == "ACTIVE", str(application))
        _expect(application["arguments"] == ["--day", "${day}"], str(application["arguments"]))
        _expect(application["parameters"] == [{"name": "day", "value": "2026-01-01"}], str(application))
        _regional_ocid("dataflowapplication")(output)

    first = commands.run(
        "create",
        *base, "create", "--compartment-id", compartment_id, "--display-name", "cli-app", *shapes,
        "--num-executors", "2", "--file-uri", "oci://bucket@namespace/apps/app.py",
        "--arguments", "--day ${day}", "--parameters", "day=2026-01-01",
        check=created,
    )  # fmt: skip
    first_id = _data(first)["id"] if first else "missing"
    second = commands.run(
        "create another",
        *base, "create", "--compartment-id", compartment_id, "--display-name", "cli-app-2", *shapes,
        "--num-executors", "1", "--file-uri", "oci://bucket@namespace/apps/other.py",
        "--configuration", "spark.sql.shuffle.partitions=8",
        check=lambda out: _expect(_data(out)["configuration"] == {"spark.sql.shuffle.partitions": "8"}, str(out)),
    )  # fmt: skip
    second_id = _data(second)["id"] if second else "missing"
    commands.run(
        "get",
        *base, "get", "--application-id", first_id,
        check=lambda out: _expect(_data(out)["num-executors"] == 2, str(_data(out))),
    )  # fmt: skip
    commands.run(
        "list",
        *base, "list", "--compartment-id", compartment_id,
        check=lambda out: _expect(set(_ids(out)) == {first_id, second_id}, str(_ids(out))),
    )  # fmt: skip
    commands.run(
        "list by display name",
        *base, "list", "--compartment-id", compartment_id, "--display-name", "cli-app-2",
        check=lambda out: _expect(_ids(out) == [second_id], str(_ids(out))),
    )  # fmt: skip
    commands.run(
        "list sorted by display name",
        *base, "list", "--compartment-id", compartment_id, "--sort-by", "displayName", "--sort-order", "ASC",
        check=lambda out: _expect(_ids(out) == [first_id, second_id], str(_ids(out))),
    )  # fmt: skip
    commands.run(
        "list one page",
        *base, "list", "--compartment-id", compartment_id, "--limit", "1",
        check=lambda out: _expect(len(_data(out)) == 1 and bool(out.get("opc-next-page")), str(out)),
    )  # fmt: skip
    commands.run(
        "list every page",
        *base, "list", "--compartment-id", compartment_id, "--all", "--page-size", "1",
        check=lambda out: _expect(set(_ids(out)) == {first_id, second_id}, str(_ids(out))),
    )  # fmt: skip
    commands.run(
        "update",
        *base, "update", "--application-id", first_id, "--num-executors", "3", "--force",
        check=lambda out: _expect(_data(out)["num-executors"] == 3, str(_data(out))),
    )  # fmt: skip

    def inherited(output: Any) -> None:
        run = _data(output)
        _expect((run["num-executors"], run["arguments"]) == (3, ["--day", "2026-01-01"]), str(run))
        _expect(run["spark-version"] == "3.5.0", f"the application's Spark version wins, got {run['spark-version']}")

    commands.run(
        "a run inherits the application (its Spark version too)",
        "data-flow", "run", "create", "--compartment-id", compartment_id, "--application-id", first_id,
        "--display-name", "cli-app-run", "--spark-version", "3.2.1",
        check=inherited,
    )  # fmt: skip
    live = commands.run(
        "a run that keeps running",
        "data-flow", "run", "create", "--compartment-id", compartment_id, "--application-id", first_id,
        "--display-name", "cli-live",
    )  # fmt: skip
    live_id = _data(live)["id"] if live else "missing"
    commands.run("delete", *base, "delete", "--application-id", second_id, "--force")
    commands.run(
        "a deleted application",
        *base, "get", "--application-id", second_id,
        check=lambda out: _expect(_data(out)["lifecycle-state"] == "DELETED", str(_data(out))),
    )  # fmt: skip
    commands.run("cascading delete", *base, "cascading-delete", "--application-id", first_id)
    commands.run(
        "the cascading delete deleted the application",
        *base, "get", "--application-id", first_id,
        check=lambda out: _expect(_data(out)["lifecycle-state"] == "DELETED", str(_data(out))),
    )  # fmt: skip
    commands.run(
        "the cascading delete cancelled its running run",
        "data-flow", "run", "get", "--run-id", live_id,
        check=lambda out: _expect(_data(out)["lifecycle-state"] in ("CANCELING", "CANCELED"), str(_data(out))),
    )  # fmt: skip
    commands.refused(
        "get an application that does not exist",
        *base, "get", "--application-id", MISSING_APPLICATION,
        status=404, code="NotAuthorizedOrNotFound",
    )  # fmt: skip
    commands.verify()

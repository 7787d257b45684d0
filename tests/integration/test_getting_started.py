"""The commands of docs/getting-started.md's "Connect to your tenancy", run as written against the emulator.

Only the credentials change: the page's placeholders become a generated key the emulator trusts, and
the connection gets the emulator as its ``service_endpoint``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_dataflow.testing.credentials import TestCredentials, generate_test_credentials
from airflow_provider_dataflow.testing.emulator import DataflowEmulator, EmulatorControl

PAGE = Path(__file__).resolve().parents[2] / "docs" / "getting-started.md"
KEY_FILE_ARGUMENT = "$(cat ~/.oci/oci_api_key.pem)"


def _page_commands() -> list[list[str]]:
    """The shell block that adds the connection, one word list per command (a quote may span lines)."""
    blocks = re.findall(r"```bash\n(.*?)```", PAGE.read_text(), flags=re.S)
    block = next(block for block in blocks if "airflow connections add" in block)
    commands, pending = [], ""
    for line in block.replace("\\\n", " ").splitlines():
        pending += line + "\n"
        try:
            words = shlex.split(pending, comments=True)
        except ValueError:  # no closing quotation yet
            continue
        if words:
            commands.append(words)
        pending = ""
    return commands


@pytest.fixture
def environment(tmp_path: Path) -> Iterator[tuple[dict[str, str], TestCredentials, str]]:
    creds = generate_test_credentials()
    with DataflowEmulator() as emulator:
        emulator.register_credentials(creds)
        env = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")}
        env.update(AIRFLOW_HOME=str(tmp_path), AIRFLOW__CORE__LOAD_EXAMPLES="False", NO_PROXY="127.0.0.1,localhost")
        _airflow(env, ["db", "migrate"])
        yield env, creds, emulator.url


def test_the_connection_commands_add_and_test_the_connection(
    environment: tuple[dict[str, str], TestCredentials, str],
) -> None:
    env, creds, url = environment
    commands = _page_commands()
    assert [command[:3] for command in commands] == [
        ["airflow", "connections", "add"],
        ["export", "AIRFLOW__CORE__TEST_CONNECTION=Enabled"],
        ["airflow", "connections", "test"],
    ]
    add, export, test = commands

    without_the_setting = _airflow(env, test[1:], check=False)
    assert without_the_setting.returncode == 1
    assert "Testing connections is disabled" in without_the_setting.stdout + without_the_setting.stderr

    _airflow(env, [_with_test_credentials(word, creds, url) for word in add[1:]])
    name, _, value = export[1].partition("=")
    assert "Connection success!" in _airflow({**env, name: value}, test[1:]).stdout
    (listed,) = EmulatorControl(url).journal()
    assert (listed["method"], listed["path"], listed["status"]) == ("GET", "/20200129/runs", 200)
    assert listed["query"]["compartmentId"] == "ocid1.compartment.oc1..aaaa"  # the page's compartment


def _with_test_credentials(word: str, creds: TestCredentials, url: str) -> str:
    if word == KEY_FILE_ARGUMENT:
        return creds.private_key_pem
    if word.startswith("{"):
        extra = json.loads(word)
        extra.update(tenancy=creds.tenancy, user=creds.user, fingerprint=creds.fingerprint, service_endpoint=url)
        return json.dumps(extra)
    return word


def _airflow(env: dict[str, str], arguments: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *arguments], env=env, capture_output=True, text=True, check=False
    )
    if check:
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result

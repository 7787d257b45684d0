"""The official OCI CLI (``oci``) pointed at a local Data Flow emulator, for tests that run its commands.

oci-cli pins click, pyOpenSSL and certifi versions that conflict with Airflow's, so it lives in a venv
of its own: ``DATAFLOW_OCI_CLI`` names the executable, otherwise ``.ci/oci-cli/bin/oci`` (which
``.ci/run`` creates). Each command runs in a fresh process with a config file and key written here,
so nothing of the user's ``~/.oci`` is read.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_provider_dataflow.testing.credentials import TestCredentials

REPO = Path(__file__).resolve().parents[1]
CLI_ENV_VAR = "DATAFLOW_OCI_CLI"
REQUIRE_ENV_VAR = "DATAFLOW_REQUIRE_OCI_CLI"
DEFAULT_CLI = REPO / ".ci" / "oci-cli" / "bin" / "oci"
INSTALL_HINT = (
    "python3 -m venv .ci/oci-cli && .ci/oci-cli/bin/pip install oci-cli==3.95.1 "
    f"(or set {CLI_ENV_VAR} to an oci executable)"
)


def find_oci_cli() -> Path | None:
    """The ``oci`` executable to use, or None when neither ``DATAFLOW_OCI_CLI`` nor the CI venv has one."""
    configured = os.environ.get(CLI_ENV_VAR)
    candidate = Path(configured) if configured else DEFAULT_CLI
    return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None


def cli_required() -> bool:
    """CI sets ``DATAFLOW_REQUIRE_OCI_CLI=1``: a missing CLI then fails the tests instead of skipping them."""
    return os.environ.get(REQUIRE_ENV_VAR) == "1"


class OciCliError(AssertionError):
    """A command exited non-zero; ``service_error`` is the ServiceError JSON the CLI printed, if any."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: str) -> None:
        super().__init__(f"oci {' '.join(args)} exited {returncode}:\n{stderr}")
        self.returncode = returncode
        self.stderr = stderr
        self.service_error = _service_error(stderr)


@dataclass(frozen=True)
class OciCli:
    """Runs ``oci <args>`` against ``endpoint`` as ``credentials``; ``run`` returns the parsed JSON output."""

    executable: Path
    endpoint: str
    config_file: Path
    timeout: float = 120.0

    @classmethod
    def configure(
        cls,
        executable: Path,
        endpoint: str,
        credentials: TestCredentials,
        directory: Path,
        region: str = "us-ashburn-1",
    ) -> OciCli:
        """Write a CLI config file and its private key (mode 0600, as the CLI expects) under ``directory``."""
        key_file = directory / "oci_api_key.pem"
        key_file.write_text(credentials.private_key_pem)
        key_file.chmod(0o600)
        config_file = directory / "config"
        config_file.write_text(
            "[DEFAULT]\n"
            f"user={credentials.user}\n"
            f"fingerprint={credentials.fingerprint}\n"
            f"tenancy={credentials.tenancy}\n"
            f"region={region}\n"
            f"key_file={key_file}\n"
        )
        config_file.chmod(0o600)
        return cls(executable, endpoint, config_file)

    def run(self, *args: str) -> Any:
        """The command's JSON output (None when it prints nothing, as deletes do); raises OciCliError."""
        output = self.run_text(*args)
        return json.loads(output) if output.strip() else None

    def run_text(self, *args: str) -> str:
        """The command's stdout as text (e.g. ``run get-log --file -``); raises OciCliError.

        ``--no-retry``: a test sees each answer of the emulator as it is, not the CLI's retries of it.
        """
        command = [str(self.executable), "--config-file", str(self.config_file), "--endpoint", self.endpoint]
        completed = subprocess.run(
            [*command, "--no-retry", *args],
            capture_output=True,
            text=True,
            timeout=self.timeout,
            env=self._environment(),
            check=False,
        )
        if completed.returncode != 0:
            raise OciCliError(args, completed.returncode, completed.stderr)
        return completed.stdout

    def _environment(self) -> dict[str, str]:
        environment = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("OCI_") and name not in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
        }
        environment.update(
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
            OCI_CLI_SUPPRESS_FILE_PERMISSIONS_WARNING="True",
            SUPPRESS_LABEL_WARNING="True",
            HOME=str(self.config_file.parent),  # the CLI reads ~/.oci/oci_cli_rc; keep the user's out
        )
        return environment


def _service_error(stderr: str) -> dict[str, Any] | None:
    """The JSON object the CLI prints after ``ServiceError:``."""
    _, marker, rest = stderr.partition("ServiceError:")
    if not marker:
        return None
    try:
        parsed = json.loads(rest[rest.index("{") : rest.rindex("}") + 1])
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None

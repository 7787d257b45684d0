"""The metadata database: a SQLite file, or a throw-away PostgreSQL cluster on a free port.

PostgreSQL comes from the distribution (Debian's ``postgresql`` package keeps ``initdb`` and ``postgres`` in
``/usr/lib/postgresql/<version>/bin``). The cluster lives in a temporary directory and runs in the
foreground as a child of the harness, so stopping the stack stops it; no system service is involved.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from airflow_provider_dataflow.testing.airflow_stack import processes
from airflow_provider_dataflow.testing.airflow_stack.errors import AirflowStackError

POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin"
# postgres refuses to run as root; as root the harness runs it as this user instead.
UNPRIVILEGED_USER = "nobody"


def sqlite_config(home: Path) -> dict[str, str]:
    # Five processes share one SQLite file: wait up to 30 s for its lock (default 5 s), or a
    # burst of writes (a backfill creating its runs) fails with "database is locked".
    return {"database.sql_alchemy_conn": f"sqlite:///{home / 'airflow.db'}?timeout=30"}


def postgres_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin directory, or None when the package is missing."""
    found = sorted(glob.glob(f"{POSTGRES_BIN_GLOB}/initdb"), key=lambda path: int(path.split("/")[-3]))
    return Path(found[-1]).parent if found else None


class PostgresCluster:
    """``initdb`` + ``postgres`` in a temporary directory on 127.0.0.1, trust auth, durability off (a test DB)."""

    def __init__(self, max_connections: int = 300) -> None:
        self.port = 0
        self._max_connections = max_connections
        self._root: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def sqlalchemy_url(self) -> str:
        return f"postgresql+psycopg2://airflow@127.0.0.1:{self.port}/postgres"

    @property
    def log_path(self) -> Path:
        if self._root is None:
            raise AirflowStackError("PostgreSQL is not running")
        return self._root / "postgres.log"

    def start(self, timeout: float = 60.0) -> None:
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            raise AirflowStackError(
                f"PostgreSQL is not installed (no {POSTGRES_BIN_GLOB}/initdb): apt-get install postgresql"
            )
        # Not under pytest's tmp_path: its parents are private to root, and postgres runs as another user.
        self._root = Path(tempfile.mkdtemp(prefix="airflow-stack-pg-"))
        data = self._root / "data"
        user = _run_as()
        if user is not None:
            shutil.chown(self._root, user)
        self.port = processes.free_port()
        subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "airflow", "--auth=trust", "-E", "UTF8", "--no-sync"],
            user=user,
            capture_output=True,
            check=True,
            timeout=timeout,
        )
        settings = {
            "listen_addresses": "127.0.0.1",
            "max_connections": str(self._max_connections),
            # A test database: speed over durability.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "64MB",
        }
        argv = [str(bin_dir / "postgres"), "-D", str(data), "-p", str(self.port), "-k", str(self._root)]
        argv += [arg for name, value in settings.items() for arg in ("-c", f"{name}={value}")]
        self._process = processes.spawn(
            argv,
            env=os.environ,
            cwd=self._root,
            log_path=self.log_path,
            user=user,
        )
        self._wait_until_ready(bin_dir, time.monotonic() + timeout)

    def stop(self) -> None:
        if self._process is not None:
            processes.end([self._process], signal.SIGINT, 10.0)  # postgres's "fast" shutdown
            self._process = None
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def _wait_until_ready(self, bin_dir: Path, deadline: float) -> None:
        while True:
            ready = subprocess.run(
                [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "airflow"],
                capture_output=True,
                check=False,
            )
            if ready.returncode == 0:
                return
            if self._process is not None and self._process.poll() is not None:
                raise AirflowStackError(f"postgres exited with {self._process.returncode}: {self.log_path.read_text()}")
            if time.monotonic() > deadline:
                raise AirflowStackError(f"postgres not ready on port {self.port}: {self.log_path.read_text()}")
            time.sleep(0.2)


def _run_as() -> str | None:
    return UNPRIVILEGED_USER if os.geteuid() == 0 else None

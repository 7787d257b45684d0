"""The executor: LocalExecutor in the scheduler, or CeleryExecutor with a throw-away Redis as its broker.

Redis comes from the distribution (Debian's ``redis-server``); like the PostgreSQL cluster it runs in the
foreground in a temporary directory on a free port, without persistence.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from airflow_provider_dataflow.testing.airflow_stack import processes
from airflow_provider_dataflow.testing.airflow_stack.errors import AirflowStackError

LOCAL_EXECUTOR = {"core.executor": "LocalExecutor"}
# The line a Celery worker prints once it consumes tasks ("celery@host ready.").
CELERY_READY_LINE = " ready."


def celery_config(broker_url: str, result_backend: str, concurrency: int) -> dict[str, str]:
    return {
        "core.executor": "CeleryExecutor",
        "celery.broker_url": broker_url,
        "celery.result_backend": result_backend,
        "celery.worker_concurrency": str(concurrency),
        # One process polls task states from the result backend, not one per core.
        "celery.sync_parallelism": "1",
    }


def celery_worker_args(name: str, concurrency: int) -> list[str]:
    """``airflow celery worker`` as one of several on this machine: its own hostname, no log server
    (the api-server reads task logs from the shared log folder), no start-up chatter between workers."""
    return [
        "celery", "worker", "--celery-hostname", f"{name}@%h", "--concurrency", str(concurrency),
        "--skip-serve-logs", "--without-mingle", "--without-gossip",
    ]  # fmt: skip


class RedisServer:
    """``redis-server`` on 127.0.0.1 and a free port, no snapshots, no append-only file."""

    def __init__(self) -> None:
        self.port = 0
        self._root: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30.0) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise AirflowStackError("redis-server is not installed: apt-get install redis-server")
        self._root = Path(tempfile.mkdtemp(prefix="airflow-stack-redis-"))
        self.port = processes.free_port()
        argv = [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self._root)]
        argv += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        log_path = self._root / "redis.log"
        self._process = processes.spawn(argv, env=os.environ, cwd=self._root, log_path=log_path)
        deadline = time.monotonic() + timeout
        while not self._answers_ping():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise AirflowStackError(f"redis-server did not start on port {self.port}: {log_path.read_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self._process is not None:
            processes.end([self._process], signal.SIGTERM, 5.0)
            self._process = None
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

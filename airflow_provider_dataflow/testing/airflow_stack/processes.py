"""Processes of a stack: free ports, one process group per component, and killing a whole session.

Each component runs in a session of its own, so a fault test can SIGKILL it with every child (task
runners and trigger runners included) the way a crashed pod or machine loses them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the kernel's choice), for a server started just after."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def spawn(
    argv: Sequence[str], env: Mapping[str, str], cwd: Path, log_path: Path, user: str | None = None
) -> subprocess.Popen[bytes]:
    """Start ``argv`` (as ``user`` if given) in a new session with stdout and stderr appended to ``log_path``."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            user=user,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so end() reaches workers and children too
        )


def end(processes: list[subprocess.Popen[bytes]], sig: int, timeout: float) -> None:
    """Signal each component (its whole session for SIGKILL), wait up to ``timeout``, then SIGKILL what is left."""
    for process in processes:
        if sig == signal.SIGKILL:
            _kill_session(process.pid)
        elif process.poll() is None:
            process.send_signal(sig)
    deadline = time.monotonic() + timeout
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
    for process in processes:
        _kill_session(process.pid)  # also children whose parent already left
        process.wait()


def signal_session(sid: int, sig: int) -> None:
    """Send ``sig`` to every live process of session ``sid`` (SIGSTOP/SIGCONT freeze and thaw all of it)."""
    for pid in _live_session_members(sid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _kill_session(sid: int, timeout: float = 5.0) -> None:
    """SIGKILL the session a component leads and wait until none of it runs: its process group, and the task
    runners the task supervisor moves into process groups of their own (found through /proc: Linux only)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(sid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while (members := _live_session_members(sid)) and time.monotonic() < deadline:
        for pid in members:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def _live_session_members(sid: int) -> list[int]:
    """Processes of session ``sid`` that are not zombies, from /proc/<pid>/stat (empty without /proc)."""
    members = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                state, _ppid, _pgrp, session = stat.rsplit(")", 1)[1].split()[:4]
                if int(session) == sid and state not in "ZX":
                    members.append(int(entry))
    return members

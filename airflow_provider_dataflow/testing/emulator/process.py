"""The emulator in a process of its own, for measurements its threads must not distort.

An in-process ``DataflowEmulator`` shares the caller's GIL and CPU figures; ``python -m
airflow_provider_dataflow.testing.emulator`` does not. Benchmarks and the event-loop test use this.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_dataflow.testing.credentials import TestCredentials


@contextmanager
def emulator_process(credentials: TestCredentials, *options: str) -> Iterator[str]:
    """Start it trusting ``credentials`` (plus command-line ``options``), yield its URL, stop it on exit."""
    with tempfile.TemporaryDirectory() as tmp:
        public_key = Path(tmp) / "public.pem"
        public_key.write_text(credentials.public_key_pem)
        command = [sys.executable, "-m", "airflow_provider_dataflow.testing.emulator", "--port", "0"]
        command += ["--public-key", f"{credentials.key_id}={public_key}", *options]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            assert process.stdout is not None
            match = re.search(r"http://\S+", process.stdout.readline())
            if not match:
                raise RuntimeError(f"the emulator did not start ({' '.join(command)})")
            yield match.group(0)
        finally:
            process.terminate()
            process.wait(timeout=10)

"""The Airflow configuration every component of a stack shares, passed as ``AIRFLOW__SECTION__KEY`` variables.

Only settings that do not depend on the topology live here; the database and executor modules add theirs.
"""

from __future__ import annotations

import base64
import os
import secrets
import shlex
from collections.abc import Mapping
from pathlib import Path

from airflow_provider_dataflow.testing.airflow_stack.processes import free_port


def common_config(home: Path, dags_folder: Path, url: str, port: int) -> dict[str, str]:
    """Settings a stack needs on one machine whatever its database and executor (see FACTS.md)."""
    return {
        "core.load_examples": "False",
        "core.dags_folder": str(dags_folder),
        # Triggered and backfilled runs of a paused DAG sit queued forever.
        "core.dags_are_paused_at_creation": "False",
        # Each LocalExecutor slot is a pre-forked worker process (~150 MB); 32 would also swamp two cores.
        "core.parallelism": "4",
        "core.execution_api_server_url": f"{url}/execution/",
        "core.simple_auth_manager_all_admins": "True",
        "core.fernet_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "api.host": "127.0.0.1",
        "api.port": str(port),
        "api.base_url": url,
        "api.secret_key": secrets.token_urlsafe(32),
        # One secret for every process: workers and the triggerer verify the api-server's task tokens.
        "api_auth.jwt_secret": secrets.token_urlsafe(64),
        # Airflow 3.0 signs tokens with an empty-list issuer when none is set, which the PyJWT oci needs
        # (>= 2.15) refuses: "Issuer (iss) must be a string" (fixed in apache/airflow#61278).
        "api_auth.jwt_issuer": "airflow-stack",
        "logging.base_log_folder": str(home / "logs"),
        "logging.worker_log_server_port": str(free_port()),
        "logging.trigger_log_server_port": str(free_port()),
        "logging.colored_console_log": "False",
        # A task supervisor notices its task's exit only at its next heartbeat tick (5 s by default). When
        # a trigger fires within those seconds, Airflow 3.3 requeues the task before the executor reports
        # the deferring exit, takes that report for a lost task and fails it. 1 s closes that window.
        "workers.min_heartbeat_interval": "1",
        # Only the runs a caller creates (triggered, backfilled) happen; a scheduled DAG would otherwise
        # start runs of its own that nobody waits for. Set it to "True" to test a schedule.
        "scheduler.use_job_schedule": "False",
        # One parser is enough for a handful of files and leaves a core for the tasks.
        "dag_processor.parsing_processes": "1",
        # Notice DAG files added while the stack runs within seconds rather than five minutes.
        "dag_processor.refresh_interval": "10",
    }


def environment(config: Mapping[str, str], home: Path, extra_env: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment without its ``AIRFLOW*`` variables, plus ``config`` and ``extra_env``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")}
    env.update({env_name(option): value for option, value in config.items()})
    env["AIRFLOW_HOME"] = str(home)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra_env)
    return env


def write_env_file(env: Mapping[str, str], path: Path) -> None:
    """The Airflow part of ``env`` as a shell script, so a person can ``source`` it and use the CLI."""
    path.write_text(
        "".join(f"export {name}={shlex.quote(value)}\n" for name, value in sorted(env.items()) if _is_airflow(name))
    )
    path.chmod(0o600)


def env_name(option: str) -> str:
    section, _, key = option.partition(".")
    if not key:
        raise ValueError(f"extra_config keys look like 'section.key', got {option!r}")
    return f"AIRFLOW__{section.upper()}__{key.upper()}"


def _is_airflow(name: str) -> bool:
    return name.startswith("AIRFLOW") or name in {"NO_PROXY", "no_proxy", "PYTHONUNBUFFERED"}

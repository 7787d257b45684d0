"""A real Airflow on one machine: api-server, scheduler, dag-processor and triggerer on SQLite and the
LocalExecutor, each in its own process group, driven through the public REST API.

``dag.test()`` runs triggers inline; only a real stack shows what a deferrable task does across processes:
the worker defers, the triggerer waits, the scheduler resumes the task. The stack does not import Airflow
itself: it runs in the test or demo process next to whatever Airflow configuration that has. Subclasses
change the topology (see ``production.ProductionStack``) through ``components``, ``topology_config`` and
the ``start_services``/``stop_services`` pair.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

from airflow_provider_dataflow.testing.airflow_stack import configuration, processes
from airflow_provider_dataflow.testing.airflow_stack.api import AirflowApi
from airflow_provider_dataflow.testing.airflow_stack.database import sqlite_config
from airflow_provider_dataflow.testing.airflow_stack.errors import AirflowApiError, AirflowStackError
from airflow_provider_dataflow.testing.airflow_stack.executor import CELERY_READY_LINE, LOCAL_EXECUTOR

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")

# Components that record a job with heartbeats; the health endpoint and /jobs report on these.
_JOB_TYPES = {"scheduler": "SchedulerJob", "dag-processor": "DagProcessorJob", "triggerer": "TriggererJob"}
_HEALTH_KEYS = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}
# Components without a job say in their log when they are ready.
_READY_LINES = {"worker": CELERY_READY_LINE}
_LOG_TAIL_LINES = 60


def component_kind(name: str) -> str:
    """``triggerer-2`` -> ``triggerer``: replicas of a component are numbered."""
    return re.sub(r"-\d+$", "", name)


class AirflowStack:
    """api-server, scheduler, dag-processor and triggerer on SQLite and the LocalExecutor, in ``home``.

    ``env`` is added to every component's environment (connections as ``AIRFLOW_CONN_*``, ...);
    ``extra_config`` maps ``"section.key"`` to a value and overrides the defaults. Every other
    ``AIRFLOW*`` variable of the calling process is dropped, so the stack does not pick up the caller's
    Airflow. Use it as a context manager, or call ``stop()``: it kills every process group it started.
    """

    def __init__(
        self,
        home: Path,
        dags_folder: Path,
        env: Mapping[str, str] | None = None,
        extra_config: Mapping[str, str] | None = None,
        python: str = sys.executable,
    ) -> None:
        self.home = Path(home).resolve()
        self.dags_folder = Path(dags_folder).resolve()
        self._extra_env = dict(env or {})
        self._extra_config = dict(extra_config or {})
        self._python = python
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._log_offsets: dict[str, int] = {}
        self._api: AirflowApi | None = None
        self.port = 0
        self.environment: dict[str, str] = {}

    # The topology; subclasses override these.

    def components(self) -> dict[str, list[str]]:
        """Component name -> the ``airflow`` CLI arguments that run it, in start order."""
        return {name: [name] for name in COMPONENTS}

    def topology_config(self) -> dict[str, str]:
        """The executor's and database's settings."""
        return {**LOCAL_EXECUTOR, **sqlite_config(self.home)}

    def start_services(self) -> None:
        """Start what the components need besides Airflow (a database server, a broker)."""

    def stop_services(self) -> None:
        """Stop what ``start_services`` started."""

    # Where to look

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> AirflowApi:
        if self._api is None:
            raise AirflowStackError("the stack is not running; call start() first")
        return self._api

    def log_path(self, component: str) -> Path:
        return self.home / "logs" / f"{component}.log"

    def component_log(self, component: str, tail: int | None = None) -> str:
        """What a component printed (its stdout and stderr); the last ``tail`` lines if given."""
        path = self.log_path(component)
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-tail:]) if tail else text

    def log_tails(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The end of every component's log, for a failure report."""
        return "\n".join(
            f"----- {name} (last {lines} lines) -----\n{self.component_log(name, lines)}" for name in self.components()
        )

    def running(self) -> list[str]:
        """Components started and not killed."""
        return list(self._processes)

    def pid(self, component: str) -> int:
        """The component's main process, which leads the session its children (task runners too) belong to."""
        process = self._processes.get(component)
        if process is None:
            raise AirflowStackError(f"{component} is not running")
        return process.pid

    # Life cycle

    def start(self, timeout: float = 120.0) -> AirflowStack:
        """Start services, configure, migrate the database, start all components, wait until all are healthy."""
        if self._processes:
            raise AirflowStackError("the stack is already running")
        deadline = time.monotonic() + timeout
        try:
            self.start_services()
            self._configure()
            self.cli("db", "migrate", timeout=timeout)  # every component refuses an unmigrated database
            for component in self.components():
                self._spawn(component)
            self._api = AirflowApi(self.url)
            self._wait_until_healthy(deadline)
        except AirflowStackError as error:
            tails = self.log_tails()
            self.stop()
            raise AirflowStackError(f"{error}\n{tails}") from error
        except BaseException:
            self.stop()
            raise
        return self

    def start_component(self, component: str, timeout: float = 60.0) -> None:
        """Start one component again (after ``kill``) and wait until it is up."""
        job_type = _JOB_TYPES.get(component_kind(component))
        previous_job = self.api.latest_job_id(job_type) if job_type else 0
        self._spawn(component)
        deadline = time.monotonic() + timeout
        if job_type is None:
            self._wait_until_healthy(deadline)
            return
        # The health endpoint still counts a killed component's job as alive for
        # [<component>] *_health_check_threshold (30 s), so wait for a new job instead.
        while self.api.latest_job_id(job_type) <= previous_job:
            self._check_alive(component)
            if time.monotonic() > deadline:
                raise AirflowStackError(f"{component} did not register a new job within {timeout:.0f} s")
            time.sleep(0.5)

    def kill(self, component: str, sig: int = signal.SIGKILL, timeout: float = 10.0) -> None:
        """Stop a component with ``sig`` and wait until it and its children are gone.

        SIGKILL goes to the whole process group: a crash, workers and trigger runners included. Any other
        signal goes to the component's main process only, as a service manager's stop does, so it can shut
        its children down itself; whatever is left after ``timeout`` seconds is SIGKILLed.
        """
        process = self._processes.pop(component, None)
        if process is not None:
            processes.end([process], sig, timeout)

    def freeze(self, component: str) -> None:
        """SIGSTOP the component and all its children: alive but silent, like a node that stalls (CPU
        starvation, a long GC pause, a frozen VM). ``thaw`` lets it carry on where it stopped."""
        processes.signal_session(self.pid(component), signal.SIGSTOP)

    def thaw(self, component: str) -> None:
        processes.signal_session(self.pid(component), signal.SIGCONT)

    def restart(self, component: str, timeout: float = 60.0) -> None:
        """Stop a component gracefully (SIGTERM) and start it again."""
        self.kill(component, signal.SIGTERM)
        self.start_component(component, timeout)

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM every component, SIGKILL every process group after ``grace`` seconds, stop the services.
        Safe to call twice.

        The api-server can take several seconds to exit on SIGTERM, so the grace period is short: a
        throw-away stack has nothing worth a slow shutdown.
        """
        if self._api is not None:
            self._api.close()  # an open keep-alive connection delays the api-server's shutdown
            self._api = None
        running, self._processes = list(self._processes.values()), {}
        processes.end(running, signal.SIGTERM, grace)
        self.stop_services()

    def __enter__(self) -> AirflowStack:
        return self if self._processes else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # The CLI

    def cli(self, *args: str, check: bool = True, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run ``airflow <args>`` against this stack (e.g. ``"backfill", "create", ...``).

        Tried again (twice at most) when SQLite answered "database is locked": on a loaded machine the
        scheduler's writes can make a CLI's transaction fail at once instead of waiting for the lock.
        """
        if not self.environment:
            self._configure()
        for attempt in range(3):
            result = subprocess.run(
                [self._python, "-m", "airflow", *args],
                env=self.environment,
                cwd=self.home,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            if result.returncode == 0 or "database is locked" not in result.stdout + result.stderr or attempt == 2:
                break
            time.sleep(2.0)
        if check and result.returncode != 0:
            raise AirflowStackError(
                f"airflow {' '.join(args)} exited {result.returncode}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
            )
        return result

    # Internals

    def _configure(self) -> None:
        """Pick free ports and build the environment every component shares; also write it to home/stack.env."""
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        self.port = processes.free_port()
        config = configuration.common_config(self.home, self.dags_folder, self.url, self.port)
        config.update(self.topology_config())
        config.update(self._extra_config)
        self.environment = configuration.environment(config, self.home, self._extra_env)
        configuration.write_env_file(self.environment, self.home / "stack.env")

    def _spawn(self, component: str) -> None:
        components = self.components()
        if component not in components:
            raise ValueError(f"unknown component {component!r}; one of {tuple(components)}")
        if component in self._processes:
            raise AirflowStackError(f"{component} is already running")
        log_path = self.log_path(component)
        self._log_offsets[component] = log_path.stat().st_size if log_path.exists() else 0
        argv = [self._python, "-m", "airflow", *components[component]]
        self._processes[component] = processes.spawn(argv, self.environment, self.home, log_path)

    def _check_alive(self, component: str) -> None:
        process = self._processes.get(component)
        if process is not None and process.poll() is not None:
            raise AirflowStackError(f"{component} exited with {process.returncode}; see {self.log_path(component)}")

    def _not_ready(self, health: dict[str, object]) -> list[str]:
        """Running components the health endpoint (or, without a job, their log) does not show as ready."""
        waiting = []
        for name in self._processes:
            kind = component_kind(name)
            if kind in _HEALTH_KEYS:
                status = health.get(_HEALTH_KEYS[kind])
                if not isinstance(status, dict) or status.get("status") != "healthy":
                    waiting.append(name)
            elif kind in _READY_LINES:
                with self.log_path(name).open("rb") as log:
                    log.seek(self._log_offsets.get(name, 0))
                    if _READY_LINES[kind].encode() not in log.read():
                        waiting.append(name)
        return waiting

    def _wait_until_healthy(self, deadline: float) -> None:
        """Wait for the health endpoint to report every component, then log in and warm the execution API."""
        api = self.api
        unhealthy: list[str] = list(self._processes)
        warm = False
        while True:
            for component in self._processes:
                self._check_alive(component)
            try:
                health = api.health()
                if not warm:
                    api.warm_execution_api()
                    warm = True
                unhealthy = self._not_ready(health)
                if not unhealthy:
                    break
            except (httpx.TransportError, AirflowApiError):
                unhealthy = ["api-server"]
            if time.monotonic() > deadline:
                raise AirflowStackError(f"not healthy in time: {', '.join(unhealthy)}")
            time.sleep(0.5)
        api.login()

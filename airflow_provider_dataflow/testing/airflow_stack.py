"""A real Airflow (api-server, scheduler, dag-processor, triggerer) on one machine, for system tests and demos.

``dag.test()`` runs triggers inline; only a real stack shows what a deferrable task does across processes:
the worker defers, the triggerer waits, the scheduler resumes the task. This module starts such a stack on
SQLite with the LocalExecutor in a throw-away ``AIRFLOW_HOME``, each component in its own process group
(so it can be killed for fault tests), and drives it through the public REST API. It does not import
Airflow itself: it runs in the test or demo process next to whatever Airflow configuration that has.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
TERMINAL_RUN_STATES = frozenset({"success", "failed"})

# Components that record a job with heartbeats; the health endpoint and /jobs report on these.
_JOB_TYPES = {"scheduler": "SchedulerJob", "dag-processor": "DagProcessorJob", "triggerer": "TriggererJob"}
_HEALTH_KEYS = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}
_LOG_TAIL_LINES = 60


class AirflowStackError(RuntimeError):
    """The stack failed to start, a component died, or a wait timed out; the message says which and why."""


class AirflowApiError(AirflowStackError):
    """The REST API answered with an error status."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} -> {status}: {body[:2000]}")
        self.status = status
        self.body = body


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the kernel's choice), for a server started just after."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class AirflowApi:
    """A small client for Airflow's public REST API (``/api/v2``), authenticated with a JWT.

    ``GET /auth/token`` hands out an admin token because the stack sets
    ``[core] simple_auth_manager_all_admins``; the token is signed with the stack's shared secret, so it
    stays valid across api-server restarts.
    """

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        # trust_env=False: a proxy from the environment must not swallow calls to 127.0.0.1.
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, trust_env=False)
        self._states_seen: dict[tuple[str, str], dict[str, list[str]]] = {}

    def login(self) -> None:
        response = self._http.get("/auth/token")
        _raise_for_status(response)
        self._http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def close(self) -> None:
        self._http.close()

    # Generic calls; paths are relative to /api/v2 unless they start with another root ("/auth", "/execution").

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, _api_path(path), **kwargs)
        _raise_for_status(response)
        return response.json() if response.content else None

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: Any = None) -> Any:
        return self.request("POST", path, json=json)

    def patch(self, path: str, json: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("PATCH", path, json=json, params=params)

    def health(self) -> dict[str, Any]:
        """``/api/v2/monitor/health``: metadatabase, scheduler, triggerer and dag-processor status."""
        result: dict[str, Any] = self.get("/monitor/health")
        return result

    def warm_execution_api(self) -> None:
        """Call ``/execution/health`` once: the execution API builds its routes on its first call (~5-7 s).

        The api-server logs a harmless "JWT reissue middleware failed ... Audience doesn't match" warning
        for this call: with ``simple_auth_manager_all_admins`` Airflow adds a UI token to every request.
        """
        self.request("GET", "/execution/health")

    # DAGs and runs

    def import_errors(self) -> list[dict[str, Any]]:
        return _paginate(self, "/importErrors", "import_errors")

    def wait_for_dag(self, dag_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """Wait until the dag-processor has parsed ``dag_id``; its file's import errors explain a timeout."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                dag: dict[str, Any] = self.get(f"/dags/{_q(dag_id)}")
                return dag
            except AirflowApiError as error:
                if error.status != 404:
                    raise
            if time.monotonic() > deadline:
                errors = "\n".join(f"{e.get('filename')}:\n{e.get('stack_trace')}" for e in self.import_errors())
                raise AirflowStackError(
                    f"DAG {dag_id!r} not parsed within {timeout:.0f} s; import errors: {errors or 'none'}"
                )
            time.sleep(0.5)

    def trigger_dag(
        self,
        dag_id: str,
        conf: Mapping[str, Any] | None = None,
        logical_date: datetime | str | None = None,
        run_id: str | None = None,
    ) -> str:
        """Create a manual run and return its run id. Airflow 3 manual runs have no logical date unless given."""
        if isinstance(logical_date, datetime):
            logical_date = logical_date.isoformat()
        body: dict[str, Any] = {"logical_date": logical_date, "conf": dict(conf or {})}
        if run_id is not None:
            body["dag_run_id"] = run_id
        created = self.post(f"/dags/{_q(dag_id)}/dagRuns", json=body)
        return str(created["dag_run_id"])

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}")
        return result

    def wait_for_dag_run(self, dag_id: str, run_id: str, timeout: float = 120.0, poll: float = 0.5) -> str:
        """Poll until the run is ``success`` or ``failed`` and return that state.

        Every task-instance state seen on the way is recorded (see ``states_seen``). States shorter than
        ``poll`` can be missed; ``deferred`` lasts as long as the trigger waits, so it is seen.
        """
        deadline = time.monotonic() + timeout
        while True:
            self._record_states(dag_id, run_id)
            state = str(self.dag_run(dag_id, run_id)["state"])
            if state in TERMINAL_RUN_STATES:
                self._record_states(dag_id, run_id)  # the last task may have finished after the previous look
                return state
            if time.monotonic() > deadline:
                raise AirflowStackError(
                    f"run {run_id} of {dag_id} still {state} after {timeout:.0f} s; "
                    f"task states seen: {self.states_seen(dag_id, run_id)}"
                )
            time.sleep(poll)

    def wait_for_task_state(
        self, dag_id: str, run_id: str, task_id: str, state: str, timeout: float = 60.0, map_index: int = -1
    ) -> dict[str, Any]:
        """Poll until a task instance is in ``state``, e.g. ``deferred`` to act while its trigger waits."""
        deadline = time.monotonic() + timeout
        while True:
            self._record_states(dag_id, run_id)
            ti = self.task_instance(dag_id, run_id, task_id, map_index)
            if ti["state"] == state:
                return ti
            if time.monotonic() > deadline:
                raise AirflowStackError(
                    f"{task_id} of run {run_id} is {ti['state']}, not {state}, after {timeout:.0f} s"
                )
            time.sleep(0.5)

    def states_seen(self, dag_id: str, run_id: str) -> dict[str, list[str]]:
        """Task-instance states observed by ``wait_for_dag_run``, in order, per task.

        Keys are task ids, or ``task_id[map_index]`` for mapped tasks.
        """
        return {task: list(states) for task, states in self._states_seen.get((dag_id, run_id), {}).items()}

    def _record_states(self, dag_id: str, run_id: str) -> None:
        seen = self._states_seen.setdefault((dag_id, run_id), {})
        for ti in self.task_instances(dag_id, run_id):
            if ti["state"] is None:
                continue
            key = ti["task_id"] if ti["map_index"] < 0 else f"{ti['task_id']}[{ti['map_index']}]"
            history = seen.setdefault(key, [])
            if not history or history[-1] != ti["state"]:
                history.append(ti["state"])

    # Task instances

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return _paginate(self, f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances", "task_instances")

    def task_instance(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict[str, Any]:
        result: dict[str, Any] = self.get(_ti_path(dag_id, run_id, task_id, map_index))
        return result

    def rendered_fields(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict[str, Any]:
        """The task's template fields as rendered for this run (what the operator actually used)."""
        return dict(self.task_instance(dag_id, run_id, task_id, map_index)["rendered_fields"])

    def set_task_state(
        self, dag_id: str, run_id: str, task_id: str, state: str, map_index: int = -1
    ) -> list[dict[str, Any]]:
        """Mark a task instance ``success``, ``failed`` or ``skipped``, as a user does in the UI."""
        updated = self.patch(_ti_path(dag_id, run_id, task_id, map_index), json={"new_state": state})
        return list(updated["task_instances"])

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        path = f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}/xcomEntries/{_q(key)}"
        return self.get(path, params={"map_index": map_index})["value"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
        """The whole log of one try (worker and triggerer parts) as text, one line per event."""
        path = f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}/logs/{try_number}"
        body = self.get(path, params={"full_content": True, "map_index": map_index})
        return "\n".join(_log_line(entry) for entry in body["content"])

    def extra_links(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict[str, str | None]:
        path = f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}/links"
        return dict(self.get(path, params={"map_index": map_index})["extra_links"])

    def latest_job_id(self, job_type: str) -> int:
        """The id of the newest job of this type (``SchedulerJob``, ``TriggererJob``, ...), 0 if none."""
        jobs = self.get("/jobs", params={"job_type": job_type, "order_by": "-id", "limit": 1})["jobs"]
        return int(jobs[0]["id"]) if jobs else 0


class AirflowStack:
    """api-server, scheduler, dag-processor and triggerer on SQLite and the LocalExecutor, in ``home``.

    ``env`` is added to every component's environment (connections as ``AIRFLOW_CONN_*``, ...);
    ``extra_config`` maps ``"section.key"`` to a value and overrides the defaults below. Every other
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
        self._api: AirflowApi | None = None
        self.port = 0
        self.environment: dict[str, str] = {}

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
            f"----- {name} (last {lines} lines) -----\n{self.component_log(name, lines)}" for name in COMPONENTS
        )

    # Life cycle

    def start(self, timeout: float = 120.0) -> AirflowStack:
        """Configure, migrate the database, start all components and wait until every one is healthy."""
        if self._processes:
            raise AirflowStackError("the stack is already running")
        deadline = time.monotonic() + timeout
        try:
            self._configure()
            self.cli("db", "migrate", timeout=timeout)  # every component refuses an unmigrated database
            for component in COMPONENTS:
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
        job_type = _JOB_TYPES.get(component)
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
            _end([process], sig, timeout)

    def restart(self, component: str, timeout: float = 60.0) -> None:
        """Stop a component gracefully (SIGTERM) and start it again."""
        self.kill(component, signal.SIGTERM)
        self.start_component(component, timeout)

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM every component, SIGKILL every process group after ``grace`` seconds. Safe to call twice.

        The api-server can take several seconds to exit on SIGTERM, so the grace period is short: a
        throw-away stack has nothing worth a slow shutdown.
        """
        if self._api is not None:
            self._api.close()  # an open keep-alive connection delays the api-server's shutdown
            self._api = None
        processes, self._processes = list(self._processes.values()), {}
        _end(processes, signal.SIGTERM, grace)

    def __enter__(self) -> AirflowStack:
        return self if self._processes else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # The CLI

    def cli(self, *args: str, check: bool = True, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run ``airflow <args>`` against this stack (e.g. ``"backfill", "create", ...``)."""
        if not self.environment:
            self._configure()
        result = subprocess.run(
            [self._python, "-m", "airflow", *args],
            env=self.environment,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AirflowStackError(
                f"airflow {shlex.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
            )
        return result

    # Internals

    def _configure(self) -> None:
        """Pick free ports and build the environment every component shares; also write it to home/stack.env."""
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        config = {
            "core.executor": "LocalExecutor",
            "core.load_examples": "False",
            "core.dags_folder": str(self.dags_folder),
            # Triggered and backfilled runs of a paused DAG sit queued forever.
            "core.dags_are_paused_at_creation": "False",
            # Each slot is a pre-forked worker process (~150 MB); 32 would also swamp two cores.
            "core.parallelism": "4",
            "core.execution_api_server_url": f"{self.url}/execution/",
            "core.simple_auth_manager_all_admins": "True",
            "core.fernet_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            # Five processes share one SQLite file: wait up to 30 s for its lock (default 5 s), or a
            # burst of writes (a backfill creating its runs) fails with "database is locked".
            "database.sql_alchemy_conn": f"sqlite:///{self.home / 'airflow.db'}?timeout=30",
            "api.host": "127.0.0.1",
            "api.port": str(self.port),
            "api.base_url": self.url,
            "api.secret_key": secrets.token_urlsafe(32),
            # One secret for every process: workers and the triggerer verify the api-server's task tokens.
            "api_auth.jwt_secret": secrets.token_urlsafe(64),
            "logging.base_log_folder": str(self.home / "logs"),
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
        config.update(self._extra_config)
        env = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")}
        env.update({_env_name(option): value for option, value in config.items()})
        env["AIRFLOW_HOME"] = str(self.home)
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self._extra_env)
        self.environment = env
        env_file = self.home / "stack.env"
        env_file.write_text(
            "".join(f"export {name}={shlex.quote(value)}\n" for name, value in sorted(env.items()) if _is_airflow(name))
        )
        env_file.chmod(0o600)

    def _spawn(self, component: str) -> None:
        if component not in COMPONENTS:
            raise ValueError(f"unknown component {component!r}; one of {COMPONENTS}")
        if component in self._processes:
            raise AirflowStackError(f"{component} is already running")
        with self.log_path(component).open("ab") as log:
            self._processes[component] = subprocess.Popen(
                [self._python, "-m", "airflow", component],
                env=self.environment,
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so kill() reaches workers and children too
            )

    def _check_alive(self, component: str) -> None:
        process = self._processes.get(component)
        if process is not None and process.poll() is not None:
            raise AirflowStackError(f"{component} exited with {process.returncode}; see {self.log_path(component)}")

    def _wait_until_healthy(self, deadline: float) -> None:
        """Wait for the health endpoint to report every component, then log in and warm the execution API."""
        api = self.api
        unhealthy: list[str] = list(COMPONENTS)
        warm = False
        while True:
            for component in self._processes:
                self._check_alive(component)
            try:
                health = api.health()
                if not warm:
                    api.warm_execution_api()
                    warm = True
                unhealthy = [
                    name
                    for name, key in _HEALTH_KEYS.items()
                    if name in self._processes and (health.get(key) or {}).get("status") != "healthy"
                ]
                if not unhealthy:
                    break
            except (httpx.TransportError, AirflowApiError):
                unhealthy = ["api-server"]
            if time.monotonic() > deadline:
                raise AirflowStackError(f"not healthy in time: {', '.join(unhealthy)}")
            time.sleep(0.5)
        api.login()


def _env_name(option: str) -> str:
    section, _, key = option.partition(".")
    if not key:
        raise ValueError(f"extra_config keys look like 'section.key', got {option!r}")
    return f"AIRFLOW__{section.upper()}__{key.upper()}"


def _is_airflow(name: str) -> bool:
    return name.startswith("AIRFLOW") or name in {"NO_PROXY", "no_proxy", "PYTHONUNBUFFERED"}


def _end(processes: list[subprocess.Popen[bytes]], sig: int, timeout: float) -> None:
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


def _api_path(path: str) -> str:
    if path.startswith(("/auth/", "/execution/", "/api/", "/ui/")):
        return path
    return "/api/v2" + (path if path.startswith("/") else f"/{path}")


def _q(segment: str) -> str:
    return quote(segment, safe="")


def _ti_path(dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
    path = f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}"
    return path if map_index < 0 else f"{path}/{map_index}"


def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise AirflowApiError(response.request.method, response.request.url.path, response.status_code, response.text)


def _paginate(api: AirflowApi, path: str, key: str, page: int = 100) -> list[dict[str, Any]]:
    """Every item of a list endpoint (the API returns at most 100 per call)."""
    items: list[dict[str, Any]] = []
    while True:
        body = api.get(path, params={"limit": page, "offset": len(items)})
        items.extend(body[key])
        if not body[key] or len(items) >= body.get("total_entries", 0):
            return items


# Keys every event of a task log carries; the UI leaves them out, and so does the text here.
_TASK_LOG_CONTEXT = frozenset(
    {"timestamp", "event", "level", "logger", "error_detail", "filename", "lineno"}
    | {"dag_id", "task_id", "run_id", "map_index", "try_number", "ti_id"}
)


def _log_line(entry: str | dict[str, Any]) -> str:
    """One structured log event as ``timestamp [level] logger: event key=value``, plus its traceback."""
    if isinstance(entry, str):
        return entry
    parts = (
        entry.get("timestamp") or "",
        f"[{entry['level']}]" if entry.get("level") else "",
        f"{entry['logger']}:" if entry.get("logger") else "",
        str(entry.get("event", "")),
        " ".join(f"{k}={v}" for k, v in entry.items() if k not in _TASK_LOG_CONTEXT),
    )
    line = " ".join(str(part) for part in parts if part)
    return "\n".join([line, *_traceback_lines(entry.get("error_detail") or [])])


def _traceback_lines(error_detail: list[dict[str, Any]]) -> list[str]:
    """The ``error_detail`` of a failed task's log event as Python prints a traceback."""
    lines = []
    for error in error_detail:
        lines.append("Traceback (most recent call last):")
        for frame in error.get("frames", []):
            lines.append(f'  File "{frame["filename"]}", line {frame["lineno"]}, in {frame["name"]}')
        lines.append(f"{error.get('exc_type')}: {error.get('exc_value')}")
    return lines

"""A client for Airflow's public REST API, the way tests observe and act on a running stack."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from airflow_provider_dataflow.testing.airflow_stack.errors import AirflowApiError, AirflowStackError

TERMINAL_RUN_STATES = frozenset({"success", "failed"})


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

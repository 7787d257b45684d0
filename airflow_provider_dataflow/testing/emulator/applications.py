"""Applications: create, read, list, update and delete, and what runs inherit from them.

A deleted application stays readable with lifecycleState DELETED (what Terraform's provider waits for
after DeleteApplication) but leaves lists, and runs can no longer be created from it. A run created from
``execute`` alone gets an application of its own ("a new application will be created and associated with
the new run", CreateRunDetails), reused for later runs of the same main file (Oracle's spark-submit page).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from airflow_provider_dataflow.testing.emulator.errors import conflict, etag_mismatch, not_found
from airflow_provider_dataflow.testing.emulator.retry_tokens import RetryTokens
from airflow_provider_dataflow.testing.emulator.run_details import (
    DEFAULT_SHAPE,
    DEFAULT_SHAPE_CONFIG,
    DEFAULT_SPARK_VERSION,
)
from airflow_provider_dataflow.testing.emulator.signatures import Principal
from airflow_provider_dataflow.testing.emulator.spark_submit import LANGUAGE_BY_EXTENSION, parse_execute
from airflow_provider_dataflow.testing.emulator.timestamps import rfc3339
from airflow_provider_dataflow.testing.emulator.validation import resolve_placeholders

ACTIVE = "ACTIVE"
DELETED = "DELETED"
SUMMARY_FIELDS = (
    "compartmentId", "definedTags", "displayName", "freeformTags", "id", "language", "lifecycleState",
    "ownerPrincipalId", "ownerUserName", "poolId", "sparkVersion", "timeCreated", "timeUpdated", "type",
)  # fmt: skip


class ApplicationStore:
    def __init__(self) -> None:
        self._applications: dict[str, dict[str, Any]] = {}
        self._revisions: dict[str, int] = {}
        self._retry_tokens = RetryTokens()
        self._for_execute: dict[tuple[str, str], str] = {}  # (compartment, main file) -> application id
        self._lock = threading.Lock()

    def create(
        self,
        application_id: str,
        details: dict[str, Any],
        owner: Principal,
        now: float,
        retry_token: str | None = None,
    ) -> dict[str, Any]:
        """Stores the Application JSON (replacing one with the same id); arguments keep their placeholders.

        A ``retry_token`` seen in the last 24 h returns the application it created instead.
        """
        application = _new_application(application_id, details, owner, now)
        with self._lock:
            replayed = self._retry_tokens.created_by(retry_token, now)
            if replayed in self._applications:
                return self._applications[replayed]
            self._store(application)
            self._retry_tokens.remember(retry_token, application_id, now)
        return application

    def for_execute(self, run: dict[str, Any], owner: Principal, now: float, new_id: Callable[[], str]) -> str:
        """The application of a run created from ``execute`` alone: the ACTIVE one created for an earlier such
        run of the same main file in the compartment, else a new one built from this run's settings."""
        key = (str(run["compartmentId"]), str(run["fileUri"]))
        with self._lock:
            existing = self._for_execute.get(key)
            if existing is not None and self._applications[existing]["lifecycleState"] == ACTIVE:
                return existing
            application = _new_application(new_id(), _details_of_execute_run(run), owner, now)
            self._store(application)
            self._for_execute[key] = application["id"]
            return str(application["id"])

    def get(self, application_id: str) -> dict[str, Any]:
        application = self.lookup(application_id)
        if application is None:
            raise not_found(f"application {application_id}")
        return application

    def lookup(self, application_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._applications.get(application_id)

    def in_compartment(self, compartment_id: str) -> list[dict[str, Any]]:
        """What ListApplications shows: the compartment's applications that are not deleted."""
        with self._lock:
            return [
                application
                for application in self._applications.values()
                if application["compartmentId"] == compartment_id and application["lifecycleState"] != DELETED
            ]

    def update(self, application_id: str, changes: dict[str, Any], if_match: str | None, now: float) -> dict[str, Any]:
        """Changed fields replace the stored ones; ``execute`` (new or kept) wins over file, class and language."""
        with self._lock:
            current = self._live(application_id, if_match)
            application = {**current, **changes, "timeUpdated": rfc3339(now)}
            _derive(application)
            self._applications[application_id] = application
            self._revisions[application_id] += 1
            return application

    def delete(self, application_id: str, if_match: str | None, now: float) -> None:
        with self._lock:
            current = self._live(application_id, if_match)
            self._applications[application_id] = {**current, "lifecycleState": DELETED, "timeUpdated": rfc3339(now)}
            self._revisions[application_id] += 1

    def etag(self, application_id: str) -> str:
        """Changes with every update and the delete."""
        with self._lock:
            return _etag(application_id, self._revisions.get(application_id, 0))

    def clear(self) -> None:
        with self._lock:
            self._applications.clear()
            self._revisions.clear()
            self._retry_tokens.clear()
            self._for_execute.clear()

    def _store(self, application: dict[str, Any]) -> None:
        """Caller holds the lock."""
        self._applications[application["id"]] = application
        self._revisions[application["id"]] = 0

    def _live(self, application_id: str, if_match: str | None) -> dict[str, Any]:
        """The application to change (caller holds the lock): it exists, is not deleted, and if-match fits."""
        application = self._applications.get(application_id)
        if application is None:
            raise not_found(f"application {application_id}")
        if application["lifecycleState"] == DELETED:
            raise conflict(f"Application {application_id} is DELETED and cannot be changed or deleted again.")
        if if_match and if_match != _etag(application_id, self._revisions[application_id]):
            raise etag_mismatch(application_id)
        return application


def application_defaults(details: dict[str, Any]) -> dict[str, Any]:
    """CreateApplicationDetails with every required field a test did not care about filled in.

    For ``register_application``: a test names the OCID its DAG uses and only what it asserts on.
    """
    file_uri = details.get("fileUri")
    if file_uri is None and details.get("execute") is None:
        file_uri = "oci://bucket@namespace/applications/application.py"
    main_file = parse_execute(details["execute"]).file_uri if details.get("execute") else file_uri
    language = LANGUAGE_BY_EXTENSION.get(PurePosixPath(str(main_file)).suffix.lower(), "PYTHON")
    filled = {
        "displayName": PurePosixPath(str(main_file)).stem,
        "driverShape": DEFAULT_SHAPE,
        "driverShapeConfig": dict(DEFAULT_SHAPE_CONFIG),
        "executorShape": DEFAULT_SHAPE,
        "executorShapeConfig": dict(DEFAULT_SHAPE_CONFIG),
        "language": language,
        "numExecutors": 1,
        "sparkVersion": DEFAULT_SPARK_VERSION,
        **details,
    }
    if file_uri is not None:
        filled.setdefault("fileUri", file_uri)
    return filled


def to_summary(application: dict[str, Any]) -> dict[str, Any]:
    return {name: application.get(name) for name in SUMMARY_FIELDS}


def _new_application(application_id: str, details: dict[str, Any], owner: Principal, now: float) -> dict[str, Any]:
    application = {
        "arguments": [],
        "configuration": {},
        "definedTags": {},
        "freeformTags": {},
        "parameters": [],
        "type": "BATCH",
        **details,
        "id": application_id,
        "lifecycleState": ACTIVE,
        "ownerPrincipalId": owner.principal_id,
        "ownerUserName": owner.user_name,
        "timeCreated": rfc3339(now),
        "timeUpdated": rfc3339(now),
    }
    _derive(application)
    return application


# What the application of an execute-only run takes from the run (the rest of CreateApplicationDetails is unset).
_EXECUTE_RUN_SETTINGS = (
    "compartmentId", "driverShape", "driverShapeConfig", "executorShape", "executorShapeConfig", "execute",
    "numExecutors", "parameters", "sparkVersion", "type",
)  # fmt: skip


def _details_of_execute_run(run: dict[str, Any]) -> dict[str, Any]:
    details = {key: run[key] for key in _EXECUTE_RUN_SETTINGS if run.get(key) is not None}
    details["displayName"] = PurePosixPath(str(run["fileUri"])).name
    return details


def _etag(application_id: str, revision: int) -> str:
    return hashlib.sha256(f"{application_id}:{revision}".encode()).hexdigest()[:32]


def _derive(application: dict[str, Any]) -> None:
    """Check placeholders against the parameters; with ``execute``, what it derives replaces file, class, language."""
    parameters = {p["name"]: p["value"] for p in application.get("parameters", [])}
    resolve_placeholders("arguments", application.get("arguments", []), parameters)
    if application.get("execute"):
        submit = parse_execute(application["execute"])
        resolve_placeholders("execute", submit.arguments, parameters)
        application.update(fileUri=submit.file_uri, language=submit.language, className=submit.class_name)

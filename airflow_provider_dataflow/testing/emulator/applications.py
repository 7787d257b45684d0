"""Applications: create, read, list, update and delete, and what runs inherit from them.

A deleted application stays readable with lifecycleState DELETED (what Terraform's provider waits for
after DeleteApplication) but leaves lists, and runs can no longer be created from it.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import PurePosixPath
from typing import Any

from airflow_provider_dataflow.testing.emulator.errors import etag_mismatch, incorrect_state, not_found
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
        self._lock = threading.Lock()

    def create(self, application_id: str, details: dict[str, Any], owner: Principal, now: float) -> dict[str, Any]:
        """Stores the Application JSON (replacing one with the same id); arguments keep their placeholders."""
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
        with self._lock:
            self._applications[application_id] = application
            self._revisions[application_id] = 0
        return application

    def get(self, application_id: str) -> dict[str, Any]:
        with self._lock:
            application = self._applications.get(application_id)
        if application is None:
            raise not_found(f"application {application_id}")
        return application

    def get_active(self, application_id: str) -> dict[str, Any]:
        """The application a new run may use: a deleted one is 409 IncorrectState."""
        application = self.get(application_id)
        if application["lifecycleState"] != ACTIVE:
            raise incorrect_state(f"application {application_id} is {application['lifecycleState']}")
        return application

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

    def _live(self, application_id: str, if_match: str | None) -> dict[str, Any]:
        """The application to change (caller holds the lock): it exists, is not deleted, and if-match fits."""
        application = self._applications.get(application_id)
        if application is None:
            raise not_found(f"application {application_id}")
        if application["lifecycleState"] == DELETED:
            raise incorrect_state(f"application {application_id} is DELETED")
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

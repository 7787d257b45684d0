"""Applications: enough of the resource for runs to inherit shapes, files, arguments and parameters."""

from __future__ import annotations

import threading
from typing import Any

from airflow_provider_dataflow.testing.emulator.errors import not_found
from airflow_provider_dataflow.testing.emulator.signatures import Principal
from airflow_provider_dataflow.testing.emulator.spark_submit import parse_execute
from airflow_provider_dataflow.testing.emulator.timestamps import rfc3339
from airflow_provider_dataflow.testing.emulator.validation import resolve_placeholders


class ApplicationStore:
    def __init__(self) -> None:
        self._applications: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def create(self, application_id: str, details: dict[str, Any], owner: Principal, now: float) -> dict[str, Any]:
        """Stores the Application JSON; arguments keep their placeholders (runs resolve them)."""
        parameters = {p["name"]: p["value"] for p in details.get("parameters", [])}
        resolve_placeholders("arguments", details.get("arguments", []), parameters)
        application = {
            "arguments": [],
            "configuration": {},
            "definedTags": {},
            "freeformTags": {},
            "parameters": [],
            "type": "BATCH",
            **details,
            "id": application_id,
            "lifecycleState": "ACTIVE",
            "ownerPrincipalId": owner.principal_id,
            "ownerUserName": owner.user_name,
            "timeCreated": rfc3339(now),
            "timeUpdated": rfc3339(now),
        }
        if details.get("execute"):
            submit = parse_execute(details["execute"])
            resolve_placeholders("execute", submit.arguments, parameters)
            application.update(fileUri=submit.file_uri, language=submit.language, className=submit.class_name)
        with self._lock:
            self._applications[application_id] = application
        return application

    def get(self, application_id: str) -> dict[str, Any]:
        with self._lock:
            application = self._applications.get(application_id)
        if application is None:
            raise not_found(f"application {application_id}")
        return application

    def clear(self) -> None:
        with self._lock:
            self._applications.clear()

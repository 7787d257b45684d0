"""Work requests: what ``GET /workRequests/{id}`` answers about an asynchronous pool operation.

Create, update, start, stop and delete of a pool answer with an ``opc-work-request-id`` header, which
the SDK's composite operations (``start_pool_and_wait_for_state`` ...) and Terraform poll until the
work request's ``status`` is final. A work request is planned when it is created (ACCEPTED, then
IN_PROGRESS, then SUCCEEDED when its pool gets where the operation takes it) and read lazily, like runs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_dataflow.testing.emulator.errors import not_found
from airflow_provider_dataflow.testing.emulator.identifiers import new_ocid
from airflow_provider_dataflow.testing.emulator.timestamps import rfc3339

FINAL_STATUSES = ("SUCCEEDED", "FAILED", "CANCELLED")  # WorkRequest.status: INPROGRESS, CANCELLED (sic)
RESOURCE_TYPE = "DATAFLOW_POOL"
# What the resource's actionType says once the operation succeeded (INPROGRESS until then).
ACTIONS = {
    "CREATE_POOL": "CREATED",
    "UPDATE_POOL": "UPDATED",
    "START_POOL": "UPDATED",
    "STOP_POOL": "UPDATED",
    "DELETE_POOL": "DELETED",
}


@dataclass
class WorkRequest:
    id: str
    operation: str
    compartment_id: str
    resource_id: str
    accepted_at: float
    finishes_at: float
    status_at_end: str = "SUCCEEDED"
    errors: list[dict[str, Any]] = field(default_factory=list)

    def status(self, now: float) -> str:
        if now >= self.finishes_at:
            return self.status_at_end
        return "INPROGRESS" if now > self.accepted_at else "ACCEPTED"

    def to_json(self, now: float) -> dict[str, Any]:
        status = self.status(now)
        finished = status in FINAL_STATUSES
        span = self.finishes_at - self.accepted_at
        progress = 100.0 if finished else (0.0 if span <= 0 else 100.0 * (now - self.accepted_at) / span)
        return {
            "compartmentId": self.compartment_id,
            "id": self.id,
            "operation": self.operation,
            "percentComplete": round(progress, 1),
            "resources": [
                {
                    "actionType": ACTIONS[self.operation] if status == "SUCCEEDED" else "INPROGRESS",
                    "resourceId": self.resource_id,
                    "resourceType": RESOURCE_TYPE,
                    "resourceUri": f"/20200129/pools/{self.resource_id}",
                    "workRequestid": self.id,
                }
            ],
            "status": status,
            "timeAccepted": rfc3339(self.accepted_at),
            "timeStarted": rfc3339(self.accepted_at) if status != "ACCEPTED" else None,
            "timeFinished": rfc3339(self.finishes_at) if finished else None,
        }

    def log_entries(self, now: float) -> list[dict[str, Any]]:
        entries = [{"message": f"{self.operation} accepted", "timestamp": rfc3339(self.accepted_at)}]
        if self.status(now) in FINAL_STATUSES:
            entries.append(
                {"message": f"{self.operation} {self.status_at_end}", "timestamp": rfc3339(self.finishes_at)}
            )
        return entries

    def error_entries(self, now: float) -> list[dict[str, Any]]:
        return list(self.errors) if self.status(now) == "FAILED" else []


class WorkRequestStore:
    """Thread-safe; a work request is changed only by :meth:`fail` (its pool left the path it planned)."""

    def __init__(self, region: str) -> None:
        self._region = region
        self._requests: dict[str, WorkRequest] = {}
        self._lock = threading.Lock()

    def create(
        self, operation: str, compartment_id: str, resource_id: str, accepted_at: float, finishes_at: float
    ) -> WorkRequest:
        request = WorkRequest(
            new_ocid("dataflowworkrequest", self._region),
            operation,
            compartment_id,
            resource_id,
            accepted_at,
            max(accepted_at, finishes_at),
        )
        with self._lock:
            self._requests[request.id] = request
        return request

    def get(self, work_request_id: str) -> WorkRequest:
        with self._lock:
            request = self._requests.get(work_request_id)
        if request is None:
            raise not_found(f"work request {work_request_id}")
        return request

    def in_compartment(self, compartment_id: str) -> list[WorkRequest]:
        """Newest first, as ``GET /workRequests`` lists them."""
        with self._lock:
            requests = [r for r in self._requests.values() if r.compartment_id == compartment_id]
        return sorted(requests, key=lambda r: (r.accepted_at, r.id), reverse=True)

    def fail(self, work_request_id: str, now: float, code: str, message: str) -> None:
        """End an unfinished work request now as FAILED (e.g. a start overtaken by a stop)."""
        with self._lock:
            request = self._requests.get(work_request_id)
            if request is None or request.status(now) in FINAL_STATUSES:
                return
            request.finishes_at = now
            request.status_at_end = "FAILED"
            request.errors = [{"code": code, "message": message, "timestamp": rfc3339(now)}]

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

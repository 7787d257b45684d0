"""Errors of the real-stack harness."""

from __future__ import annotations


class AirflowStackError(RuntimeError):
    """The stack failed to start, a component died, or a wait timed out; the message says which and why."""


class AirflowApiError(AirflowStackError):
    """The REST API answered with an error status."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} -> {status}: {body[:2000]}")
        self.status = status
        self.body = body

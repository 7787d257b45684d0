"""Fault injection for /20200129 calls: answer with an error, drop the connection before or after
the request is processed (after: the run exists but the client never hears about it), or cut the
answer's body in half (the client reads a truncated stream, as when a connection breaks mid-download)."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_dataflow.testing.emulator.errors import DEFAULT_CODES, ApiError

ACTIONS = ("respond", "drop_before", "drop_after", "truncate_body")


@dataclass
class FaultRule:
    path_regex: str = ".*"
    method: str | None = None
    status: int = 500
    code: str | None = None
    message: str | None = None
    retry_after_seconds: float | None = None
    times: int | None = 1
    action: str = "respond"
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    applied: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.applied >= self.times:
            return False
        if self.method not in (None, "*") and self.method.upper() != method:
            return False
        return re.search(self.path_regex, path) is not None

    def error(self) -> ApiError:
        code = self.code or DEFAULT_CODES.get(self.status, "InternalServerError")
        headers = {}
        if self.retry_after_seconds is not None:
            headers["Retry-After"] = f"{self.retry_after_seconds:g}"
        return ApiError(self.status, code, self.message or f"Injected fault: {code}", headers)

    @classmethod
    def from_json(cls, payload: Mapping[str, Any]) -> FaultRule:
        """Build from the control API's camelCase JSON; raises ValueError on a bad field."""
        names = {
            "pathRegex": "path_regex", "method": "method", "status": "status", "code": "code",
            "message": "message", "retryAfterSeconds": "retry_after_seconds", "times": "times", "action": "action",
        }  # fmt: skip
        unknown = set(payload) - set(names)
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        # An explicit null for times means "every matching request"; other nulls mean "the default".
        rule = cls(**{names[key]: value for key, value in payload.items() if value is not None or key == "times"})
        if rule.method is not None and not isinstance(rule.method, str):
            raise ValueError(f"method must be a string, got {rule.method!r}")
        if rule.action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}, got {rule.action!r}")
        if not isinstance(rule.status, int) or not 400 <= rule.status <= 599:
            raise ValueError(f"status must be an HTTP error status (400-599), got {rule.status!r}")
        if rule.times is not None and (not isinstance(rule.times, int) or rule.times < 1):
            raise ValueError(f"times must be a positive integer or null (always), got {rule.times!r}")
        try:
            re.compile(rule.path_regex)
        except (re.error, TypeError) as exc:
            raise ValueError(f"pathRegex is not a valid regex: {exc}") from None
        return rule

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "pathRegex": self.path_regex,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "retryAfterSeconds": self.retry_after_seconds,
            "times": self.times,
            "action": self.action,
            "applied": self.applied,
        }


class FaultInjector:
    """Rules in registration order; the first that still has uses left and matches is applied."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            kept = [rule for rule in self._rules if rule.id != rule_id]
            removed = len(kept) != len(self._rules)
            self._rules = kept
            return removed

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    def all(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def take(self, method: str, path: str) -> FaultRule | None:
        """Find the rule for this request and count the use, atomically, so ``times`` is exact."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.applied += 1
                    return rule
        return None

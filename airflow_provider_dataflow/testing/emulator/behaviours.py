"""Per-run behaviour chosen at creation: how a run ends, how long it takes, what it logs.

Tests register behaviours matched by a regex on displayName (and optionally freeform tags);
the first match wins, otherwise the run succeeds with a few realistic log lines.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_dataflow.testing.emulator.lifecycle import NO_CAPACITY, OUTCOMES
from airflow_provider_dataflow.testing.emulator.log_records import LOG_BEHAVIOUR_FIELDS, LogBehaviour

DEFAULT_FAILURE_DETAILS = "Run failed: the Spark application exited with status 1. See the stderr log for details."
NO_CAPACITY_DETAILS = "Run failed to start: out of host capacity for the requested shape. Try again later."
BEHAVIOUR_OUTCOMES = (*OUTCOMES, NO_CAPACITY)


@dataclass(frozen=True)
class Behaviour:
    display_name_regex: str = ".*"
    freeform_tags: Mapping[str, str] = field(default_factory=dict)
    outcome: str = "SUCCEEDED"
    accepted_seconds: float | None = None
    run_seconds: float | None = None
    cancel_seconds: float | None = None
    lifecycle_details: str | None = None
    stdout: tuple[str, ...] | None = None
    stderr: tuple[str, ...] | None = None
    data_read_in_bytes: int = 134_217_728
    data_written_in_bytes: int = 33_554_432
    pool_start_seconds: float | None = None  # a pool's cold start, for pools whose name and tags match
    logs: LogBehaviour = field(default_factory=LogBehaviour)  # the OCI Logging lines it writes (log_records)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def matches(self, display_name: str, freeform_tags: Mapping[str, str]) -> bool:
        """``re.search`` on displayName; every listed tag must be present with that value."""
        if not re.search(self.display_name_regex, display_name):
            return False
        return all(freeform_tags.get(key) == value for key, value in self.freeform_tags.items())

    @property
    def failure_details(self) -> str:
        default = NO_CAPACITY_DETAILS if self.outcome == NO_CAPACITY else DEFAULT_FAILURE_DETAILS
        return self.lifecycle_details or default

    @classmethod
    def from_json(cls, payload: Mapping[str, Any]) -> Behaviour:
        """Build from the control API's camelCase JSON; raises ValueError on a bad field."""
        known = {
            "displayNameRegex", "freeformTags", "outcome", "acceptedSeconds", "runSeconds", "cancelSeconds",
            "lifecycleDetails", "stdout", "stderr", "dataReadInBytes", "dataWrittenInBytes", "poolStartSeconds",
            *LOG_BEHAVIOUR_FIELDS,
        }  # fmt: skip
        unknown = set(payload) - known
        if unknown:
            raise ValueError(f"unknown behaviour fields: {', '.join(sorted(unknown))}")
        regex = payload.get("displayNameRegex", ".*")
        try:
            re.compile(regex)
        except (re.error, TypeError) as exc:
            raise ValueError(f"displayNameRegex is not a valid regex: {exc}") from None
        outcome = payload.get("outcome", "SUCCEEDED")
        if outcome not in BEHAVIOUR_OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(BEHAVIOUR_OUTCOMES)}, got {outcome!r}")
        tags = payload.get("freeformTags") or {}
        if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
            raise ValueError("freeformTags must be an object of strings")
        return cls(
            display_name_regex=regex,
            freeform_tags=dict(tags),
            outcome=outcome,
            accepted_seconds=_seconds(payload, "acceptedSeconds"),
            run_seconds=_seconds(payload, "runSeconds"),
            cancel_seconds=_seconds(payload, "cancelSeconds"),
            lifecycle_details=payload.get("lifecycleDetails"),
            stdout=_lines(payload, "stdout"),
            stderr=_lines(payload, "stderr"),
            data_read_in_bytes=_byte_count(payload, "dataReadInBytes", cls.data_read_in_bytes),
            data_written_in_bytes=_byte_count(payload, "dataWrittenInBytes", cls.data_written_in_bytes),
            pool_start_seconds=_seconds(payload, "poolStartSeconds"),
            logs=LogBehaviour.from_json(payload),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "displayNameRegex": self.display_name_regex,
            "freeformTags": dict(self.freeform_tags),
            "outcome": self.outcome,
            "acceptedSeconds": self.accepted_seconds,
            "runSeconds": self.run_seconds,
            "cancelSeconds": self.cancel_seconds,
            "lifecycleDetails": self.lifecycle_details,
            "stdout": list(self.stdout) if self.stdout is not None else None,
            "stderr": list(self.stderr) if self.stderr is not None else None,
            "dataReadInBytes": self.data_read_in_bytes,
            "dataWrittenInBytes": self.data_written_in_bytes,
            "poolStartSeconds": self.pool_start_seconds,
            **self.logs.to_json(),
        }


DEFAULT_BEHAVIOUR = Behaviour()  # frozen, so every unmatched run can share it


def _seconds(payload: Mapping[str, Any], name: str) -> float | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name} must be a non-negative number")
    return float(value)


def _byte_count(payload: Mapping[str, Any], name: str, default: int) -> int:
    value = payload.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer")
    return value


def _lines(payload: Mapping[str, Any], name: str) -> tuple[str, ...] | None:
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(line, str) for line in value):
        raise ValueError(f"{name} must be a list of strings")
    return tuple(value)


class BehaviourBook:
    """Registered behaviours in registration order; thread-safe."""

    def __init__(self) -> None:
        self._behaviours: list[Behaviour] = []
        self._lock = threading.Lock()

    def add(self, behaviour: Behaviour) -> None:
        with self._lock:
            self._behaviours.append(behaviour)

    def remove(self, behaviour_id: str) -> bool:
        with self._lock:
            kept = [b for b in self._behaviours if b.id != behaviour_id]
            removed = len(kept) != len(self._behaviours)
            self._behaviours = kept
            return removed

    def clear(self) -> None:
        with self._lock:
            self._behaviours = []

    def all(self) -> list[Behaviour]:
        with self._lock:
            return list(self._behaviours)

    def match(self, display_name: str, freeform_tags: Mapping[str, str]) -> Behaviour:
        with self._lock:
            for behaviour in self._behaviours:
                if behaviour.matches(display_name, freeform_tags):
                    return behaviour
        return DEFAULT_BEHAVIOUR

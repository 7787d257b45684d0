"""How long pools take to start and stop, for the whole emulator or per pool through a behaviour."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_dataflow.testing.emulator.behaviours import Behaviour
from airflow_provider_dataflow.testing.emulator.pools import PoolRecord, PoolTiming

_FIELDS = {"startSeconds": "start_seconds", "stopSeconds": "stop_seconds"}


class PoolSettings:
    """Read at each start or stop, so a change applies to the next one."""

    def __init__(self, start_seconds: float, stop_seconds: float) -> None:
        self._lock = threading.Lock()
        self._timing = _checked(PoolTiming(start_seconds, stop_seconds))

    @property
    def timing(self) -> PoolTiming:
        with self._lock:
            return self._timing

    def update(self, payload: Mapping[str, Any]) -> None:
        """The control API's camelCase fields; ValueError on an unknown or bad one."""
        if unknown := set(payload) - set(_FIELDS):
            raise ValueError(f"unknown pool settings: {', '.join(sorted(unknown))}")
        changes = {}
        for key, value in payload.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{key} must be a number")
            changes[_FIELDS[key]] = float(value)
        with self._lock:
            self._timing = _checked(PoolTiming(**{**vars(self._timing), **changes}))

    def to_json(self) -> dict[str, float]:
        timing = self.timing
        return {key: getattr(timing, attribute) for key, attribute in _FIELDS.items()}

    def timing_for(self, pool: PoolRecord, behaviours: Iterable[Behaviour]) -> PoolTiming:
        """The first behaviour matching the pool's name and tags that sets ``pool_start_seconds`` wins."""
        timing = self.timing
        name, tags = str(pool.fields.get("displayName")), pool.fields.get("freeformTags") or {}
        for behaviour in behaviours:
            if behaviour.pool_start_seconds is not None and behaviour.matches(name, tags):
                return PoolTiming(behaviour.pool_start_seconds, timing.stop_seconds)
        return timing


def _checked(timing: PoolTiming) -> PoolTiming:
    if timing.start_seconds < 0 or timing.stop_seconds < 0:
        raise ValueError("pool start and stop seconds must not be negative")
    return timing

"""Emulator-wide timing, changeable at run time through the control API."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from typing import Any

from airflow_provider_dataflow.testing.emulator.behaviours import Behaviour
from airflow_provider_dataflow.testing.emulator.lifecycle import Timing

_FIELDS = {
    "acceptedSeconds": "accepted_seconds",
    "runSeconds": "run_seconds",
    "cancelSeconds": "cancel_seconds",
    "minuteSeconds": "minute_seconds",
}


class EmulatorSettings:
    """Each run copies the timing at creation, so changing settings never rewrites a run's past."""

    def __init__(
        self, accepted_seconds: float, run_seconds: float, cancel_seconds: float, minute_seconds: float
    ) -> None:
        self._lock = threading.Lock()
        self._timing = Timing(accepted_seconds, run_seconds, cancel_seconds, minute_seconds)
        self._check(self._timing)

    @staticmethod
    def _check(timing: Timing) -> None:
        for name, value in dataclasses.asdict(timing).items():
            if value < 0:
                raise ValueError(f"{name} must not be negative")
        if timing.minute_seconds <= 0:
            raise ValueError("minute_seconds must be greater than 0")

    @property
    def timing(self) -> Timing:
        with self._lock:
            return self._timing

    def update(self, payload: Mapping[str, Any]) -> None:
        """Apply the control API's camelCase fields; raises ValueError on an unknown or bad field."""
        unknown = set(payload) - set(_FIELDS)
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        changes = {}
        for key, value in payload.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{key} must be a number")
            changes[_FIELDS[key]] = float(value)
        with self._lock:
            timing = dataclasses.replace(self._timing, **changes)
            self._check(timing)
            self._timing = timing

    def to_json(self) -> dict[str, float]:
        timing = self.timing
        return {key: getattr(timing, attribute) for key, attribute in _FIELDS.items()}

    def timing_for(self, behaviour: Behaviour) -> Timing:
        """The emulator's timing with the behaviour's own seconds where it sets them."""
        base = self.timing
        return Timing(
            accepted_seconds=_first(behaviour.accepted_seconds, base.accepted_seconds),
            run_seconds=_first(behaviour.run_seconds, base.run_seconds),
            cancel_seconds=_first(behaviour.cancel_seconds, base.cancel_seconds),
            minute_seconds=base.minute_seconds,
        )


def _first(override: float | None, default: float) -> float:
    return default if override is None else override

"""Emulator-wide timing and clock, changeable at run time through the control API."""

from __future__ import annotations

import dataclasses
import math
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
#: How far the service's clock is ahead of this machine's (negative: behind), for clock skew tests: the
#: signature's date check and the answers' ``Date`` header follow it; runs keep the machine's clock.
CLOCK_OFFSET = "clockOffsetSeconds"


class EmulatorSettings:
    """Each run copies the timing at creation, so changing settings never rewrites a run's past."""

    def __init__(
        self, accepted_seconds: float, run_seconds: float, cancel_seconds: float, minute_seconds: float
    ) -> None:
        self._lock = threading.Lock()
        self._timing = Timing(accepted_seconds, run_seconds, cancel_seconds, minute_seconds)
        self._check(self._timing)
        self._clock_offset = 0.0

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

    @property
    def clock_offset_seconds(self) -> float:
        """Add to this machine's time for the service's (``CLOCK_OFFSET``)."""
        return self._clock_offset

    def update(self, payload: Mapping[str, Any]) -> None:
        """Apply the control API's camelCase fields; raises ValueError on an unknown or bad field."""
        unknown = set(payload) - set(_FIELDS) - {CLOCK_OFFSET}
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        changes = {}
        for key, value in payload.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{key} must be a number")
            if key == CLOCK_OFFSET and not math.isfinite(value):
                raise ValueError(f"{key} must be a finite number of seconds")
            if key != CLOCK_OFFSET:
                changes[_FIELDS[key]] = float(value)
        with self._lock:
            timing = dataclasses.replace(self._timing, **changes)
            self._check(timing)
            self._timing = timing
            self._clock_offset = float(payload.get(CLOCK_OFFSET, self._clock_offset))

    def to_json(self) -> dict[str, float]:
        timing = self.timing
        settings = {key: getattr(timing, attribute) for key, attribute in _FIELDS.items()}
        return {**settings, CLOCK_OFFSET: self._clock_offset}

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

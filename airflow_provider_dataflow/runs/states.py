"""Lifecycle states of a Data Flow run, and what each means for a waiting task."""

from __future__ import annotations

from collections.abc import Collection
from enum import Enum


class RunState(str, Enum):
    """The service's ``lifecycleState`` values (API version 20200129)."""

    ACCEPTED = "ACCEPTED"
    IN_PROGRESS = "IN_PROGRESS"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"
    FAILED = "FAILED"
    SUCCEEDED = "SUCCEEDED"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"

    @classmethod
    def parse(cls, value: str | None) -> RunState | None:
        """Return the state, or None for a value this provider does not know (the SDK says UNKNOWN_ENUM_VALUE)."""
        try:
            return cls(value)
        except ValueError:
            return None

    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES

    def is_active(self) -> bool:
        """A run in this state still uses (or will use) compute and can be reattached to or cancelled."""
        return self in ACTIVE_STATES


TERMINAL_STATES = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELED, RunState.STOPPED})
ACTIVE_STATES = frozenset({RunState.ACCEPTED, RunState.IN_PROGRESS})
FAILURE_STATES = frozenset({RunState.FAILED, RunState.CANCELED, RunState.STOPPED})


class RunType(str, Enum):
    """Run types; STREAMING and SESSION runs do not end by themselves."""

    BATCH = "BATCH"
    STREAMING = "STREAMING"
    SESSION = "SESSION"


def success_states(run_type: str | None, wait_for_termination: bool) -> list[str]:
    """States that end a task's wait successfully: STREAMING and SESSION runs never end by themselves,
    so by default they succeed once IN_PROGRESS."""
    if run_type in (RunType.STREAMING.value, RunType.SESSION.value):
        if wait_for_termination:
            return [RunState.SUCCEEDED.value, RunState.STOPPED.value]
        return [RunState.IN_PROGRESS.value]
    return [RunState.SUCCEEDED.value]


def wait_is_over(state: str | None, target_states: Collection[str]) -> bool:
    """The wait ends at a target state or at any terminal state (a run never leaves those)."""
    parsed = RunState.parse(state)
    return state in target_states or (parsed is not None and parsed.is_terminal())


def default_target_states() -> list[str]:
    return sorted(s.value for s in TERMINAL_STATES)

"""A run's life as a schedule of timed state changes, evaluated lazily when the run is read.

Nothing ticks in the background: a run is a short list of ``(time, state)`` events planned at creation
and re-planned when a client cancels or updates it, so thousands of runs cost nothing between reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TERMINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELED", "STOPPED")
OUTCOMES = ("SUCCEEDED", "FAILED")
# A behaviour outcome, not a state: ACCEPTED, then FAILED without ever starting (no capacity).
NO_CAPACITY = "NO_CAPACITY"


@dataclass(frozen=True)
class Timing:
    """Real seconds per phase; ``minute_seconds`` is how long one emulated minute lasts."""

    accepted_seconds: float
    run_seconds: float
    cancel_seconds: float
    minute_seconds: float


@dataclass(frozen=True)
class Event:
    at: float
    state: str
    details: str | None = None


@dataclass(frozen=True)
class Plan:
    """What decides how a run ends by itself."""

    run_type: str
    outcome: str
    failure_details: str
    max_duration_minutes: int | None
    idle_timeout_minutes: int | None


@dataclass(frozen=True)
class Snapshot:
    state: str
    details: str | None
    entered_at: float
    started_at: float | None
    ended_at: float | None


def natural_schedule(created_at: float, timing: Timing, plan: Plan) -> list[Event]:
    """ACCEPTED, IN_PROGRESS, then an outcome (BATCH) or STOPPING/STOPPED at a duration limit.

    A NO_CAPACITY run goes from ACCEPTED straight to FAILED, as when the service cannot place it.
    """
    started = created_at + timing.accepted_seconds
    if plan.outcome == NO_CAPACITY:
        return [Event(created_at, "ACCEPTED"), Event(started, "FAILED", plan.failure_details)]
    events = [Event(created_at, "ACCEPTED"), Event(started, "IN_PROGRESS")]
    return events + _ending(started, timing, plan, not_before=started)


def _ending(started: float, timing: Timing, plan: Plan, not_before: float) -> list[Event]:
    natural_end = started + timing.run_seconds if plan.run_type == "BATCH" else math.inf
    limit, reason = math.inf, ""
    if plan.max_duration_minutes is not None:
        limit = started + plan.max_duration_minutes * timing.minute_seconds
        reason = f"The run exceeded maxDurationInMinutes ({plan.max_duration_minutes}) and was stopped."
    if plan.run_type == "SESSION" and plan.idle_timeout_minutes is not None:
        idle_limit = started + plan.idle_timeout_minutes * timing.minute_seconds
        if idle_limit < limit:
            limit = idle_limit
            reason = f"The session was idle for idleTimeoutInMinutes ({plan.idle_timeout_minutes}) and was stopped."
    limit = max(limit, not_before)
    if limit < natural_end:
        return [Event(limit, "STOPPING", reason), Event(limit + timing.cancel_seconds, "STOPPED", reason)]
    if math.isinf(natural_end):
        return []
    details = plan.failure_details if plan.outcome == "FAILED" else None
    return [Event(natural_end, plan.outcome, details)]


def snapshot(schedule: list[Event], now: float) -> Snapshot:
    past = _history(schedule, now) or schedule[:1]
    current = past[-1]
    started_index = next((i for i, event in enumerate(past) if event.state == "IN_PROGRESS"), None)
    if started_index is None:
        return Snapshot(current.state, current.details, current.at, None, None)
    ended = past[started_index + 1].at if started_index + 1 < len(past) else None
    return Snapshot(current.state, current.details, current.at, past[started_index].at, ended)


def state_at(schedule: list[Event], now: float) -> str:
    """``snapshot(schedule, now).state`` alone, for list filters and sorts over thousands of runs."""
    for event in reversed(schedule):
        if event.at <= now:
            return event.state
    return schedule[0].state


def _history(schedule: list[Event], now: float) -> list[Event]:
    return [event for event in schedule if event.at <= now]


def cancel(schedule: list[Event], now: float, timing: Timing) -> list[Event]:
    return [*_history(schedule, now), Event(now, "CANCELING"), Event(now + timing.cancel_seconds, "CANCELED")]


def force(schedule: list[Event], now: float, state: str, details: str | None) -> list[Event]:
    return [*_history(schedule, now), Event(now, state, details)]


def replan(schedule: list[Event], now: float, timing: Timing, plan: Plan) -> list[Event]:
    """After an update of the duration limits: keep the past, plan the end again from the new limits."""
    history = _history(schedule, now)
    current = history[-1]
    if current.state in TERMINAL_STATES or current.state in ("CANCELING", "STOPPING") or plan.outcome == NO_CAPACITY:
        return schedule
    started = next((e.at for e in schedule if e.state == "IN_PROGRESS"), now)
    future = [e for e in schedule if e.at > now and e.state == "IN_PROGRESS"]
    return [*history, *future, *_ending(started, timing, plan, not_before=now)]

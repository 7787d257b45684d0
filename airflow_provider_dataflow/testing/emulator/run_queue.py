"""When queued runs get capacity: a pure plan, recomputed whenever what it depends on changes.

Runs hold resources (a pool's instances per shape, or the tenancy's OCPUs) from the moment they get
capacity until they end. Waiting runs leave the queue in the order they arrived: a run starts once
every earlier run has started or given up, at the first moment the resources it needs are free,
unless its ``spark.dataflow.acquireQuotaTimeout`` runs out first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from airflow_provider_dataflow.testing.emulator.errors import invalid_parameter

QUOTA_TIMEOUT_KEY = "spark.dataflow.acquireQuotaTimeout"
#: "By default, Runs are queued for 20 minutes to wait for resources in the pool" (pools.htm).
DEFAULT_POOL_QUEUE_MINUTES = 20.0
# "Use h to represent timeout hours and m or min to represent timeout minutes" (dfs_provide_jvm_options.htm).
_TIMEOUT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(h|m|min)\s*", re.IGNORECASE)

Need = Mapping[str, float]


@dataclass(frozen=True)
class Holding:
    """Resources a run holds until ``end`` (Unix time; ``math.inf`` for a run that never ends by itself)."""

    end: float
    need: Need


@dataclass(frozen=True)
class Waiting:
    key: str
    need: Need
    deadline: float  # when it gives up: created + acquireQuotaTimeout


def quota_timeout_minutes(configuration: Mapping[str, str] | None) -> float | None:
    """The run's ``spark.dataflow.acquireQuotaTimeout`` in minutes; None when it does not set it."""
    raw = (configuration or {}).get(QUOTA_TIMEOUT_KEY)
    if raw is None:
        return None
    match = _TIMEOUT.fullmatch(raw)
    if match is None:
        raise invalid_parameter(
            f"configuration.{QUOTA_TIMEOUT_KEY} must be a duration such as 30m, 45min or 1h, got {raw!r}"
        )
    amount, unit = float(match.group(1)), match.group(2).lower()
    return amount * 60 if unit == "h" else amount


def describe_minutes(minutes: float) -> str:
    return f"{minutes:g}m"


def admissions(
    now: float,
    capacity: Need,
    opens_at: float | None,
    holdings: Iterable[Holding],
    waiting: Iterable[Waiting],
    end_for: Callable[[str, float], float],
) -> dict[str, float | None]:
    """When each waiting run gets capacity (None: never before its deadline).

    ``opens_at``: when the capacity exists (a pool ACTIVE from then on); None: not before someone starts
    it. ``end_for(key, at)``: when the run would end if it got capacity at ``at``.
    """
    held = list(holdings)
    cursor = now
    planned: dict[str, float | None] = {}
    for run in waiting:
        at = None if opens_at is None else _first_fit(max(cursor, opens_at), run, held, capacity)
        planned[run.key] = at
        if at is None:
            cursor = max(cursor, run.deadline)
            continue
        held.append(Holding(end_for(run.key, at), run.need))
        cursor = at
    return planned


def in_use(holdings: Iterable[Holding], at: float) -> dict[str, float]:
    usage: dict[str, float] = {}
    for holding in holdings:
        if holding.end > at:
            for resource, amount in holding.need.items():
                usage[resource] = usage.get(resource, 0.0) + amount
    return usage


def fits(need: Need, usage: Mapping[str, float], capacity: Need) -> bool:
    return all(usage.get(resource, 0.0) + amount <= capacity.get(resource, 0.0) for resource, amount in need.items())


def _first_fit(start: float, run: Waiting, held: list[Holding], capacity: Need) -> float | None:
    """The first moment from ``start`` (a holding's end frees resources) at which ``run`` fits."""
    moments = sorted({start, *(holding.end for holding in held if start < holding.end < math.inf)})
    for at in moments:
        if at > run.deadline:
            return None
        if fits(run.need, in_use(held, at), capacity):
            return at
    return None

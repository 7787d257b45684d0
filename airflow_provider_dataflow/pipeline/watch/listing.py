"""What a watcher learns from list calls: a compartment's active runs, and where watched runs ended.

Listing by state costs the same whatever the compartment's history (a week-old streaming run is as
visible as one created a second ago). Active states are listed in lifecycle order, so a run moving
from ACCEPTED to IN_PROGRESS between two calls is seen in at least one of them. A watched run missing
from a complete snapshot has left the active states; when many have, the terminal states are listed
newest first, only back to the oldest of them, instead of reading each with a GET.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_dataflow.hooks.operations import list_runs_page
from airflow_provider_dataflow.runs.states import TERMINAL_STATES, RunState

if TYPE_CHECKING:
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook


@dataclass(frozen=True, slots=True)
class ListedRun:
    """What a watcher keeps of a run summary: the SDK object itself is dropped with its page."""

    state: str
    lifecycle_details: str | None
    time_created: datetime
    time_updated: datetime | None

    @classmethod
    def of(cls, summary: Any) -> ListedRun:
        return cls(summary.lifecycle_state, summary.lifecycle_details, summary.time_created, summary.time_updated)


ACTIVE_LISTED = (RunState.ACCEPTED, RunState.IN_PROGRESS, RunState.CANCELING, RunState.STOPPING)
ENDED_LISTED = tuple(sorted(TERMINAL_STATES, key=lambda state: state.value))


async def snapshot_active_runs(hook: DataflowHook, compartment_id: str) -> dict[str, ListedRun]:
    """Every run in ``ACTIVE_LISTED``, by id; raises on any failed page."""
    snapshot: dict[str, ListedRun] = {}
    for state in ACTIVE_LISTED:
        page: str | None = None
        while True:
            summaries, page = await hook.acall(list_runs_page(compartment_id, page, lifecycle_state=state.value))
            snapshot.update((summary.id, ListedRun.of(summary)) for summary in summaries)
            if not page:
                break
    return snapshot


async def find_ended_runs(hook: DataflowHook, compartment_id: str, created: Mapping[str, datetime]) -> dict[str, Any]:
    """Summaries of the runs in ``created`` (run id -> time created) found in a terminal state.

    Each terminal state is listed newest first and paged only until the page reaches runs created
    before the oldest one looked for, or all are found.
    """
    wanted = set(created)
    oldest = min(created.values())
    found: dict[str, ListedRun] = {}
    for state in ENDED_LISTED:
        page: str | None = None
        while wanted - found.keys():
            summaries, page = await hook.acall(list_runs_page(compartment_id, page, lifecycle_state=state.value))
            found.update((s.id, ListedRun.of(s)) for s in summaries if s.id in wanted)
            if not page or any(summary.time_created < oldest for summary in summaries):
                break
    return found

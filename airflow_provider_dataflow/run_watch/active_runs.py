"""One snapshot of a compartment's active runs: a list call per active state, following every page.

Listing by state costs the same whatever the compartment's history (a week-old streaming run is as
visible as one created a second ago). States are listed in lifecycle order, so a run moving from
ACCEPTED to IN_PROGRESS between two calls is seen in at least one of them. A watched run missing
from a complete snapshot has left the active states; one GET then tells where it ended.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_dataflow.run_state import RunState

if TYPE_CHECKING:
    from airflow_provider_dataflow.hooks.dataflow import DataflowHook

LISTED_STATES = (RunState.ACCEPTED, RunState.IN_PROGRESS, RunState.CANCELING, RunState.STOPPING)


async def snapshot_active_runs(hook: DataflowHook, compartment_id: str) -> dict[str, Any]:
    """``{run_id: RunSummary}`` for every run in ``LISTED_STATES``; raises on any failed page."""
    snapshot: dict[str, Any] = {}
    for state in LISTED_STATES:
        page: str | None = None
        while True:
            summaries, page = await hook.alist_runs_page(compartment_id, state.value, page)
            snapshot.update(summaries)
            if not page:
                break
    return snapshot

"""Kill work that a second cancel must not cut off halfway: a user's kill must cancel the run.

Airflow cancels a killed trigger's task again while its ``on_kill`` runs: 3.2.2 milliseconds after
the first cancel, 3.3.2 on the triggerer's next loop (about a second later, when it sends the
trigger's id to cancel once more). A cancel request still waiting for a request-budget slot, or
backing off after a 503, would then be dropped and the run left running.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")

#: Work in flight; the event loop holds only weak references to tasks.
_in_flight: set[asyncio.Future[Any]] = set()


async def run_to_completion(work: Awaitable[T]) -> T:
    """Await ``work`` in a task of its own, which goes on when the caller is cancelled."""
    task = asyncio.ensure_future(work)
    _in_flight.add(task)
    task.add_done_callback(_in_flight.discard)
    return await asyncio.shield(task)

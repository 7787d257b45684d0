"""The triggerer's thread pools per kind of call: a slow kind fills only its own places."""

from __future__ import annotations

import asyncio

from airflow_provider_dataflow.hooks.client_pool import ClientPool
from airflow_provider_dataflow.hooks.operations import CallKind


async def test_each_kind_of_call_has_as_many_places_as_threads_and_waits_only_for_its_own() -> None:
    pool: ClientPool[str] = ClientPool(
        lambda key: None, lambda key, credentials: object(), {CallKind.SUBMIT: 2, CallKind.POLL: 1}
    )
    inside = {CallKind.SUBMIT: 0, CallKind.POLL: 0}
    most = dict(inside)
    release = asyncio.Event()

    async def hold(kind: CallKind) -> None:
        async with pool.slot(kind):
            inside[kind] += 1
            most[kind] = max(most[kind], inside[kind])
            await release.wait()
            inside[kind] -= 1

    creates = [asyncio.ensure_future(hold(CallKind.SUBMIT)) for _ in range(5)]
    await asyncio.sleep(0.01)
    await asyncio.wait_for(hold_briefly(pool, CallKind.POLL), 1)  # not queued behind the five creates
    release.set()
    await asyncio.gather(*creates)
    assert most == {CallKind.SUBMIT: 2, CallKind.POLL: 0}


async def hold_briefly(pool: ClientPool[str], kind: CallKind) -> None:
    async with pool.slot(kind):
        await asyncio.sleep(0)

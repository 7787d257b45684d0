"""The triggerer's thread pools per kind of call: a slow kind fills only its own places, a place is held until
its thread is done, every call gets its kind's timeouts, and forgotten credentials are built again."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

from airflow_provider_dataflow.hooks.client_pool import TIMEOUTS, ClientPool
from airflow_provider_dataflow.hooks.operations import CallKind, Service


def _pool(threads: dict[CallKind, int], built: list[Any] | None = None) -> ClientPool[str]:
    def make_client(key: str, credentials: Any, service: Service) -> Any:
        client = SimpleNamespace(key=key, credentials=credentials, service=service, base_client=SimpleNamespace())
        if built is not None:
            built.append(client)
        return client

    return ClientPool(lambda key: object(), make_client, threads)


async def _admitted() -> None:
    return None


async def test_a_kind_whose_threads_are_all_busy_never_delays_another_kind() -> None:
    pool = _pool({CallKind.SUBMIT: 2, CallKind.POLL: 1})
    release = threading.Event()
    creates = [
        asyncio.ensure_future(pool.call("k", CallKind.SUBMIT, lambda _: release.wait(5), admitted=_admitted))
        for _ in range(5)
    ]
    await asyncio.sleep(0.05)
    assert pool.busy(CallKind.SUBMIT) == 2, "five creates, two places: three wait for a place"
    polled = await asyncio.wait_for(pool.call("k", CallKind.POLL, lambda client: client.key, admitted=_admitted), 1)
    assert polled == "k", "the poll went through while every create place was taken"
    release.set()
    assert await asyncio.gather(*creates) == [True] * 5
    assert pool.busy(CallKind.SUBMIT) == 0


async def test_a_cancelled_caller_keeps_its_place_until_its_thread_is_done() -> None:
    pool = _pool({CallKind.POLL: 1})
    release = threading.Event()
    hung = asyncio.ensure_future(pool.call("k", CallKind.POLL, lambda _: release.wait(5), admitted=_admitted))
    await asyncio.sleep(0.05)
    hung.cancel()
    await asyncio.sleep(0.05)
    assert pool.busy(CallKind.POLL) == 1, "the thread still runs the call: its place is not free"
    second = asyncio.ensure_future(pool.call("k", CallKind.POLL, lambda _: "second", admitted=_admitted))
    await asyncio.sleep(0.05)
    assert not second.done(), "no second call starts on a pool whose one thread is still busy"
    release.set()
    assert await asyncio.wait_for(second, 1) == "second"
    assert pool.busy(CallKind.POLL) == 0


async def test_a_caller_cancelled_while_waiting_for_the_budget_gives_its_place_back() -> None:
    pool = _pool({CallKind.POLL: 1})
    never = asyncio.Event()
    waiting = asyncio.ensure_future(pool.call("k", CallKind.POLL, lambda _: None, admitted=never.wait))
    await asyncio.sleep(0.01)
    assert pool.busy(CallKind.POLL) == 1
    waiting.cancel()
    await asyncio.sleep(0)
    assert pool.busy(CallKind.POLL) == 0


async def test_each_call_gets_its_kinds_timeouts_on_its_threads_own_client() -> None:
    pool = _pool({CallKind.POLL: 1, CallKind.SUBMIT: 1})
    seen = {
        kind: await pool.call("k", kind, lambda client: client.base_client.timeout, admitted=_admitted)
        for kind in (CallKind.POLL, CallKind.SUBMIT)
    }
    assert seen == {CallKind.POLL: TIMEOUTS[CallKind.POLL], CallKind.SUBMIT: TIMEOUTS[CallKind.SUBMIT]}
    assert TIMEOUTS[CallKind.POLL] != TIMEOUTS[CallKind.SUBMIT]


def test_forgotten_credentials_are_built_again_with_a_new_client_per_service() -> None:
    built: list[Any] = []
    pool = _pool({CallKind.POLL: 1}, built)
    first = pool.client("k")
    assert pool.client("k") is first
    log_search = pool.client("k", Service.LOG_SEARCH)
    assert log_search.service is Service.LOG_SEARCH and log_search.credentials is first.credentials
    pool.forget("k")
    again = pool.client("k")
    assert again is not first and again.credentials is not first.credentials, "a forgotten key's signer is rebuilt"
    assert len(built) == 3

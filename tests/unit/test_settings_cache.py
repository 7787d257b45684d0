from __future__ import annotations

import asyncio

import pytest

from airflow_provider_dataflow.hooks.settings_cache import AsyncTtlCache


async def test_concurrent_callers_share_one_load() -> None:
    cache: AsyncTtlCache[str, int] = AsyncTtlCache(ttl=60)
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.01)
        return 42

    assert await asyncio.gather(*(cache.get("conn", load) for _ in range(100))) == [42] * 100
    assert loads == 1


async def test_entries_expire_and_failures_are_not_cached() -> None:
    cache: AsyncTtlCache[str, int] = AsyncTtlCache(ttl=0)
    values = iter([1, 2])

    async def load() -> int:
        return next(values)

    assert await cache.get("conn", load) == 1
    assert await cache.get("conn", load) == 2  # ttl 0: expired at once

    async def broken() -> int:
        raise RuntimeError("connection not found")

    fresh: AsyncTtlCache[str, int] = AsyncTtlCache(ttl=60)
    with pytest.raises(RuntimeError, match="connection not found"):
        await fresh.get("conn", broken)

    async def fixed() -> int:
        return 3

    assert await fresh.get("conn", fixed) == 3

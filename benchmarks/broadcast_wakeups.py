"""What a broadcast to every waiting trigger costs the event loop (why the run watcher wakes only changed runs).

Airflow's shared streams put every raw event in every subscriber's queue; a snapshot per interval
would resume all N triggers in one event-loop turn, even with a filter that does nothing but look its
run up. This measures the longest loop turn while such broadcasts are delivered, with plain asyncio
queues and no I/O, so it is a lower bound for real triggers.

    .venv/bin/python benchmarks/broadcast_wakeups.py --runs 5000 20000
"""

from __future__ import annotations

import argparse
import asyncio
import time


async def longest_turn_ms(subscribers: int, broadcasts: int = 5) -> float:
    queues: list[asyncio.Queue[dict[str, int] | None]] = [asyncio.Queue() for _ in range(subscribers)]

    async def subscriber(queue: asyncio.Queue[dict[str, int] | None]) -> None:
        while (snapshot := await queue.get()) is not None:
            snapshot.get("run")  # the filter: is my run in the snapshot?

    tasks = [asyncio.create_task(subscriber(queue)) for queue in queues]
    await asyncio.sleep(0.1)
    turns: list[float] = []
    for _ in range(broadcasts):

        async def watchdog() -> None:
            for _ in range(50):
                before = time.perf_counter()
                await asyncio.sleep(0)
                turns.append(time.perf_counter() - before)

        watching = asyncio.create_task(watchdog())
        await asyncio.sleep(0)
        for queue in queues:
            queue.put_nowait({"run": 1})
        await watching
    for queue in queues:
        queue.put_nowait(None)
    await asyncio.gather(*tasks)
    return max(turns) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, nargs="+", default=[5000, 20000])
    args = parser.parse_args()
    print("| subscribers | longest event-loop turn per broadcast (ms) |\n|---:|---:|")
    for subscribers in args.runs:
        print(f"| {subscribers} | {asyncio.run(longest_turn_ms(subscribers)):.0f} |")


if __name__ == "__main__":
    main()

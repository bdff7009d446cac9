"""Soak: flat memory over 10**6 spawn/finish cycles; the longest keeper tick and watchdog pause.

    python benchmarks/soak.py            # 10**6 cycles, 10**5 tasks in one iteration
    python benchmarks/soak.py --quick    # a smoke run: 10**4 cycles, 10**4 tasks

Not a test: it prints what it measured, and asserts nothing.

* Memory: tasks are spawned in batches of 1,000 (half finish in their first step, half
  suspend once, one in fifty fails unread and is reported to a counting handler) and the
  loop runs until they are done. Every tenth of the run, the memory Python has allocated
  (tracemalloc) is printed; flat means no growth beyond noise after the first tenth.
* Keeper tick: 10**5 tasks are spawned in one loop iteration, each waiting on one future;
  the keeper's ticks (each a single loop callback) are timed while they move the tasks
  through their stages and, once the futures are set, while they report what finished.
* Watchdog: seven looks of taskwise.observe.Watchdog at 10**5 live tasks; the longest slice
  of work between two loop iterations is the longest pause a look causes (the median of
  the seven is the figure: a slice the system preempted counts whole).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
import tracemalloc
from typing import Any

import taskwise
import taskwise.observe as observe
from taskwise._core import _keeper


async def instant() -> None:
    pass


async def suspend_once() -> None:
    await asyncio.sleep(0)


async def fail() -> None:
    raise ValueError("soak")


async def soak(cycles: int) -> list[tuple[int, int, int]]:
    loop = asyncio.get_running_loop()
    reported = 0

    def handler(_loop: asyncio.AbstractEventLoop, _context: dict[str, Any]) -> None:
        nonlocal reported
        reported += 1

    loop.set_exception_handler(handler)
    spawn = taskwise.spawn
    batch = 1000
    samples: list[tuple[int, int, int]] = []
    step = max(cycles // 10, batch)
    done = 0
    while done < cycles:
        for i in range(batch):
            if i % 50 == 0:
                spawn(fail())
            elif i % 2:
                spawn(suspend_once())
            else:
                spawn(instant())
        for _ in range(6):
            await asyncio.sleep(0)
        done += batch
        if done % step == 0:
            gc.collect()
            samples.append((done, tracemalloc.get_traced_memory()[0], reported))
    return samples


async def longest_tick(n: int) -> tuple[float, float, int]:
    loop = asyncio.get_running_loop()
    durations: list[float] = []
    original = _keeper.Keeper.tick

    def timed(self: _keeper.Keeper) -> None:
        t0 = time.perf_counter()
        try:
            original(self)
        finally:
            durations.append(time.perf_counter() - t0)

    futures = [loop.create_future() for _ in range(n)]

    async def wait(fut: asyncio.Future[None]) -> None:
        await fut

    _keeper.Keeper.tick = timed  # type: ignore[method-assign]
    keeper = _keeper.keeper_of(loop)
    keeper._tick = keeper.tick  # the bound method the keeper schedules
    try:
        for fut in futures:
            taskwise.spawn(wait(fut))
        for _ in range(5):
            await asyncio.sleep(0)
        staging = max(durations)
        durations.clear()
        for fut in futures:
            fut.set_result(None)
        for _ in range(5):
            await asyncio.sleep(0)
        finishing = max(durations, default=0.0)
    finally:
        _keeper.Keeper.tick = original  # type: ignore[method-assign]
        keeper._tick = keeper.tick
    return staging, finishing, len(taskwise.spawned_tasks())


async def watchdog_pause(n: int, looks: int = 7) -> tuple[list[float], float, int]:
    """The longest slice of each of *looks* Watchdog looks at *n* live tasks, and one look's time.

    Each look's longest slice is wall time: on a shared machine a slice the system
    preempted counts whole, so the median over several looks is the figure to read.
    """
    loop = asyncio.get_running_loop()
    gate: asyncio.Future[None] = loop.create_future()

    async def wait() -> None:
        await gate

    for _ in range(n):
        taskwise.spawn(wait())
    for _ in range(5):
        await asyncio.sleep(0)
    # The 4 * 10**5 objects just made bring a full garbage collection due; it would land
    # in some slice of the looks (10-20 ms here), but it is the program's, not the
    # watchdog's, which allocates nothing per task: let it happen now.
    gc.collect()
    dog = observe.Watchdog(threshold=3600)
    pauses = []
    whole = 0.0
    for _ in range(looks):
        dog.longest_pause = 0.0
        t0 = time.perf_counter()
        await dog.look()
        whole = time.perf_counter() - t0
        pauses.append(dog.longest_pause)
    gate.set_result(None)
    await taskwise.shutdown_spawned()
    return pauses, whole, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    args = parser.parse_args()
    cycles, many = (10_000, 10_000) if args.quick else (1_000_000, 100_000)
    label = " (smoke run: the figures mean nothing)" if args.quick else ""
    print(f"Python {sys.version.split()[0]}{label}")

    tracemalloc.start()
    t0 = time.perf_counter()
    samples = asyncio.run(soak(cycles))
    elapsed = time.perf_counter() - t0
    tracemalloc.stop()
    print(f"{cycles:,} spawn/finish cycles in {elapsed:.1f} s; Python memory by progress:")
    first = samples[0][1]
    for done, memory, reported in samples:
        print(
            f"  {done:>9,} cycles  {memory / 1024:8.1f} KiB  ({(memory - first) / 1024:+7.1f} KiB)"
            f"  {reported:,} failures reported"
        )
    staging, finishing, left = asyncio.run(longest_tick(many))
    print(
        f"{many:,} tasks spawned in one iteration: longest keeper tick {staging * 1000:.1f} ms "
        f"while staging them, {finishing * 1000:.1f} ms when they all finished "
        f"({left} left running)"
    )
    pauses, whole, n = asyncio.run(watchdog_pause(many))
    print(
        f"Watchdog looks at {n:,} live tasks: longest loop pause {statistics.median(pauses) * 1000:.2f} ms "
        f"(median of {len(pauses)} looks; each: {', '.join(f'{p * 1000:.2f}' for p in pauses)} ms; "
        f"a whole look took {whole * 1000:.0f} ms, spread over many iterations)"
    )


if __name__ == "__main__":
    main()

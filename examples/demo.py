"""A tour of taskwise: spawn(), a named TaskGroup, what observe shows, shutdown and the shim.

Run it with `bash scripts/demo` (installs taskwise first) or `python examples/demo.py`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import sys
from typing import Any

import taskwise
import taskwise.observe
from taskwise import TaskGroup, normalize_awaitable, shutdown_spawned, spawn

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup


def section(title: str) -> None:
    print(f"\n== {title}")


async def fetch(url: str, delay: float = 0.01) -> str:
    await asyncio.sleep(delay)
    if "broken" in url:
        raise ConnectionError(f"{url} refused the connection")
    return f"<html of {url}>"


async def wait_for_signal(signals: list[asyncio.Future[str]]) -> str:
    # Awaits a future that nobody else holds: a bare create_task() can lose this task.
    fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    signals.append(fut)
    return await fut


async def demo_spawn() -> None:
    section("spawn(): the task is kept alive, named, and its failure is not lost")
    signals: list[asyncio.Future[str]] = []
    task = spawn(wait_for_signal(signals))
    print(f"started {task.get_name()!r}; dropping our reference and collecting garbage")
    del task
    await asyncio.sleep(0)
    gc.collect()
    signals[0].set_result("still here")
    await asyncio.sleep(0)
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    print(f"it finished anyway with {signals[0].result()!r}; tasks still running: {others}")

    reported: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    spawn(fetch("https://broken.example"), name="fire-and-forget")
    await asyncio.sleep(0.05)
    loop.set_exception_handler(None)
    for context in reported:
        print(f"reported once, promptly: {context['message']}")
        print(f"  -> {context['exception']!r}")


class Causes(dict[str, str]):
    """A listener of taskwise.observe: why each task was cancelled."""

    def task_cancelled(self, task: asyncio.Task[Any], cause: str) -> None:
        self[task.get_name()] = cause


causes = Causes()


async def demo_group() -> None:
    section("TaskGroup('crawl'): names flow into the tasks; the first failure cancels the rest")
    taskwise.observe.add_listener(causes)
    pages: list[asyncio.Task[str]] = []
    try:
        async with TaskGroup("crawl") as tg:
            pages.append(tg.spawn(fetch("https://a.example"), name="page-1"))
            pages.append(tg.spawn(fetch("https://b.example")))
            pages.append(tg.spawn(fetch("https://broken.example", delay=0.02)))
            pages.append(tg.spawn(fetch("https://slow.example", delay=10)))
            print(f"running: {sorted(t.get_name() for t in tg.tasks)}")
    except BaseExceptionGroup as group:
        print(f"the group raised: {group!r}")
    for page in pages:
        state = "cancelled" if page.cancelled() else repr(page.exception() or page.result())
        print(f"  {page.get_name():<20} {state}")
    print(f"  why 'crawl/fetch-4' was cancelled: {causes.get('crawl/fetch-4')}")

    section("tg.cancel(): end a group early, without an error (asyncio adds this in 3.15)")

    async def watchdog(tg: TaskGroup) -> None:
        await asyncio.sleep(0.02)
        print("  watchdog: enough, cancelling the group")
        tg.cancel()

    async with TaskGroup("search") as tg:
        tg.spawn(watchdog(tg))
        async with TaskGroup("mirrors") as inner:
            slow = inner.spawn(fetch("https://slow.example", delay=10))
        print("not reached: the body is cancelled too")
    print(f"the block exited quietly; {slow.get_name()!r} cancelled: {slow.cancelled()}")


async def demo_observe() -> None:
    section("taskwise.observe: the task tree, and counters by group path")
    gate = asyncio.Event()

    async def page(n: int) -> None:
        await gate.wait()

    spawn(page(0), name="prefetch")
    async with TaskGroup("crawl") as tg:
        for n in range(1, 3):
            tg.spawn(page(n), name=f"page-{n}")
        await asyncio.sleep(0)
        print(taskwise.observe.task_tree())
        gate.set()
    stats = taskwise.observe.snapshot()["crawl"]
    print(f"'crawl' so far: {stats.ok} ok, {stats.failed} failed, {stats.cancelled} cancelled")


async def demo_shutdown() -> None:
    section("shutdown_spawned(): let spawned work finish, cancel what overstays")
    spawn(fetch("https://a.example"), name="send-receipt")
    spawn(fetch("https://slow.example", delay=10), name="refresh-cache")
    result = await shutdown_spawned(timeout=0.1)
    print(f"  {result}")


async def demo_normalize() -> None:
    section("normalize_awaitable(): ensure_future's contract, the same on every Python")
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[int] = loop.create_future()
    fut.set_result(1)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        inputs: dict[str, Any] = {
            "a coroutine": fetch("https://a.example"),
            "an asyncio Future": fut,
            "a concurrent Future": pool.submit(sum, [1, 2]),
        }
        for label, obj in inputs.items():
            result = normalize_awaitable(obj)
            same = "the same object" if result is obj else f"a new {type(result).__name__}"
            print(f"  {label:<20} -> {same:<16} = {await result!r}")
    try:
        normalize_awaitable(fetch)  # type: ignore[arg-type]
    except TypeError as exc:
        print(f"  a mistake is explained: {exc}")


async def main() -> None:
    print(f"taskwise exports {taskwise.__all__} on Python {sys.version.split()[0]}")
    await demo_spawn()
    await demo_group()
    await demo_observe()
    await demo_shutdown()
    await demo_normalize()


if __name__ == "__main__":
    asyncio.run(main())

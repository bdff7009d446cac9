"""Type tests for taskwise.TaskGroup (never executed; see README.md in this folder)."""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Set
from typing import Any

from typing_extensions import assert_type

from taskwise import TaskGroup


async def fetch(url: str) -> bytes:
    return url.encode()


async def count() -> int:
    return 1


async def usage() -> None:
    assert_type(TaskGroup(), TaskGroup)
    assert_type(TaskGroup("crawl"), TaskGroup)
    assert_type(TaskGroup(name=None), TaskGroup)
    async with TaskGroup("crawl") as tg:
        assert_type(tg, TaskGroup)
        assert_type(tg.spawn(fetch("a")), asyncio.Task[bytes])
        assert_type(tg.spawn(count(), name="page-1"), asyncio.Task[int])
        assert_type(tg.spawn(asyncio.sleep(0, "x"), name=None), asyncio.Task[str])
        assert_type(tg.name, str | None)
        assert_type(tg.tasks, Set[asyncio.Task[Any]])
        for task in tg.tasks:
            assert_type(task, asyncio.Task[Any])
        assert_type(len(tg.tasks), int)
        assert_type(tg.cancel(), None)


async def context_from_311(ctx: contextvars.Context) -> None:
    async with TaskGroup() as tg:
        if sys.version_info >= (3, 11):
            assert_type(tg.spawn(fetch("a"), context=ctx), asyncio.Task[bytes])
        else:
            # 3.10 raises TypeError for a Context at runtime: only None type-checks.
            tg.spawn(fetch("a"), context=ctx)  # type: ignore[arg-type]
        assert_type(tg.spawn(fetch("a"), context=None), asyncio.Task[bytes])


async def what_is_refused(fut: asyncio.Future[int]) -> None:
    TaskGroup(1)  # type: ignore[arg-type]
    TaskGroup("a", "b")  # type: ignore[call-arg]
    async with TaskGroup() as tg:
        tg.spawn(fetch)  # type: ignore[arg-type]  # the coroutine function, not called
        tg.spawn(fut)  # type: ignore[arg-type]
        tg.spawn(None)  # type: ignore[arg-type]
        tg.spawn(fetch("a"), "page")  # type: ignore[call-arg]  # name is keyword-only
        tg.spawn(fetch("a"), eager=True)  # type: ignore[call-arg]  # only spawn() has eager
        tg.name = "other"  # type: ignore[misc]  # read-only property
        tg.tasks.add(fut)  # type: ignore[attr-defined]  # a read-only view
        tg.anything = 1  # type: ignore[attr-defined]  # __slots__, no new attributes
    with TaskGroup():  # type: ignore[attr-defined]  # `async with`, not `with`
        pass


class Mine(TaskGroup):  # type: ignore[misc]  # TaskGroup is @final
    pass


async def body_may_end_early() -> int:
    # After tg.cancel() the group swallows the CancelledError it sent the body, so the code
    # after the block runs: __aexit__ returns bool, and this return is reachable.
    async with TaskGroup() as tg:
        return await tg.spawn(count())
    return 0


async def missing_return() -> int:  # type: ignore[return]  # falls off the end after cancel()
    async with TaskGroup() as tg:
        return await tg.spawn(count())

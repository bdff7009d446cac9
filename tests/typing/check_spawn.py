"""Type tests for taskwise.spawn (never executed; see README.md in this folder)."""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from typing_extensions import assert_type

import taskwise
from taskwise import spawn


async def fetch(url: str) -> bytes:
    return url.encode()


async def nothing() -> None:
    return None


async def ticks() -> AsyncIterator[int]:
    yield 1


async def task_of_what_the_coroutine_returns(coro: Coroutine[Any, Any, int]) -> None:
    assert_type(spawn(fetch("a")), asyncio.Task[bytes])
    assert_type(spawn(nothing()), asyncio.Task[None])
    # ty keeps the literal, Task[Literal["done"]], where the others widen it (docs/typing.md).
    assert_type(spawn(asyncio.sleep(0, "done")), asyncio.Task[str])  # ty: ignore[type-assertion-failure]
    # A coroutine annotated with explicit Any keeps its result type.
    assert_type(spawn(coro), asyncio.Task[int])
    assert_type(taskwise.spawn(fetch("a")), asyncio.Task[bytes])
    assert_type(await spawn(fetch("a")), bytes)


async def keywords() -> None:
    assert_type(spawn(fetch("a"), name="fetch-a"), asyncio.Task[bytes])
    assert_type(spawn(fetch("a"), name=None), asyncio.Task[bytes])
    # eager= is accepted on every Python (it only has an effect on 3.12+).
    assert_type(spawn(fetch("a"), eager=True), asyncio.Task[bytes])
    assert_type(spawn(fetch("a"), name="a", context=None, eager=False), asyncio.Task[bytes])


async def context_from_311(ctx: contextvars.Context) -> None:
    if sys.version_info >= (3, 11):
        assert_type(spawn(fetch("a"), context=ctx), asyncio.Task[bytes])
    else:
        # 3.10 raises TypeError for a Context at runtime: only None type-checks. (pyrefly's
        # `unused-ignore`: in the 3.13 run it calls the ignore in this dead branch unused.)
        spawn(fetch("a"), context=ctx)  # type: ignore[arg-type]  # ty: ignore[invalid-argument-type]  # pyrefly: ignore[bad-argument-type, unused-ignore]


async def what_is_refused(fut: asyncio.Future[int], task: asyncio.Task[int]) -> None:
    spawn(fetch)  # type: ignore[arg-type]  # ty: ignore[invalid-argument-type]  # pyrefly: ignore[bad-argument-type]  # the coroutine function, not called
    spawn(fut)  # type: ignore[arg-type]  # ty: ignore[invalid-argument-type]  # pyrefly: ignore[bad-argument-type]  # already scheduled: await it
    spawn(task)  # type: ignore[arg-type]  # ty: ignore[invalid-argument-type]  # pyrefly: ignore[bad-argument-type]
    spawn(42)  # type: ignore[arg-type]  # ty: ignore[invalid-argument-type]  # pyrefly: ignore[bad-argument-type]  # a plain value (a `def` instead of `async def`)
    spawn(None)  # type: ignore[arg-type]  # ty: ignore[invalid-argument-type]  # pyrefly: ignore[bad-argument-type]
    spawn(ticks())  # type: ignore[arg-type]  # ty: ignore[invalid-argument-type]  # pyrefly: ignore[bad-argument-type]  # an async generator is iterated, not run
    spawn(fetch("a"), "fetch-a")  # type: ignore[call-arg]  # ty: ignore[too-many-positional-arguments]  # pyrefly: ignore[bad-argument-count]  # name is keyword-only
    spawn(fetch("a"), name=1)  # type: ignore[arg-type]  # ty: ignore[invalid-argument-type]  # pyrefly: ignore[bad-argument-type]
    spawn(fetch("a"), eager="yes")  # type: ignore[arg-type]  # ty: ignore[invalid-argument-type]  # pyrefly: ignore[bad-argument-type]
    spawn(fetch("a"), loop=None)  # type: ignore[call-arg]  # ty: ignore[unknown-argument]  # pyrefly: ignore[unexpected-keyword]
    spawn()  # type: ignore[call-arg]  # ty: ignore[missing-argument]  # pyrefly: ignore[missing-argument]


async def result_types_are_kept() -> None:
    task = spawn(fetch("a"))
    data: bytes = await task
    text: str = await task  # type: ignore[assignment]  # ty: ignore[invalid-assignment]  # pyrefly: ignore[bad-assignment]
    assert_type(task.result(), bytes)
    assert_type((data, text), tuple[bytes, str])

"""Type tests for taskwise.normalize_awaitable (never executed; see README.md in this folder).

Each overload of stubs/taskwise/_normalize.pyi, and the unions between them; docs/typing.md
has the table of what mypy and pyright answer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterator, Awaitable, Coroutine, Generator
from typing import Any

from typing_extensions import assert_type

from taskwise import normalize_awaitable


async def fetch(url: str) -> bytes:
    return url.encode()


async def ticks() -> AsyncIterator[int]:
    yield 1


class Ticket:
    """Awaitable without being a coroutine or a future."""

    def __await__(self) -> Generator[Any, None, int]:
        yield
        return 7


class Upload(asyncio.Future[int]):
    pass


class Job(asyncio.Task[str]):
    pass


def wants_future(fut: asyncio.Future[int]) -> None: ...


def wants_task(task: asyncio.Task[int]) -> None: ...


async def each_overload(
    task: asyncio.Task[str],
    fut: asyncio.Future[int],
    cfut: concurrent.futures.Future[bytes],
    coro: Coroutine[Any, Any, int],
    aw: Awaitable[int],
    upload: Upload,
    job: Job,
    loop: asyncio.AbstractEventLoop,
) -> None:
    # Task[T] -> the same Task[T]; Future[T] -> the same Future[T]; subclasses keep their type.
    assert_type(normalize_awaitable(task), asyncio.Task[str])
    assert_type(normalize_awaitable(fut), asyncio.Future[int])
    assert_type(normalize_awaitable(upload), Upload)
    assert_type(normalize_awaitable(job), Job)
    # concurrent.futures.Future[T] -> asyncio.Future[T] (wrap_future).
    assert_type(normalize_awaitable(cfut), asyncio.Future[bytes])
    # A coroutine -> a new Task[T], also when annotated with explicit Any.
    assert_type(normalize_awaitable(fetch("a")), asyncio.Task[bytes])
    assert_type(normalize_awaitable(asyncio.sleep(0)), asyncio.Task[None])
    assert_type(normalize_awaitable(coro), asyncio.Task[int])
    # Any other awaitable -> a new Task[T] that awaits it.
    assert_type(normalize_awaitable(Ticket()), asyncio.Task[int])
    assert_type(normalize_awaitable(aw), asyncio.Task[int])
    # loop= changes nothing about the types.
    assert_type(normalize_awaitable(fut, loop=loop), asyncio.Future[int])
    assert_type(normalize_awaitable(cfut, loop=loop), asyncio.Future[bytes])
    assert_type(normalize_awaitable(fetch("a"), loop=None), asyncio.Task[bytes])
    assert_type(await normalize_awaitable(cfut), bytes)
    assert_type(await normalize_awaitable(Ticket()), int)


async def unions(
    coro_or_fut: Coroutine[Any, Any, int] | asyncio.Future[int],
    coro_or_task: Coroutine[Any, Any, int] | asyncio.Task[int],
    coro_or_upload: Coroutine[Any, Any, int] | Upload,
    coro_or_cfut: Coroutine[Any, Any, int] | concurrent.futures.Future[int],
    fut_or_cfut: asyncio.Future[int] | concurrent.futures.Future[int],
    task_or_fut: asyncio.Task[int] | asyncio.Future[str],
) -> None:
    # The Future comes back unchanged, so the answer is a Future, not a Task. Both checkers
    # accept `Task[int] | Future[int]` here; mypy shows it as `Future[int]`, pyright spells
    # it out (docs/typing.md). The two are the same type: every Task is a Future.
    assert_type(normalize_awaitable(coro_or_fut), asyncio.Task[int] | asyncio.Future[int])
    wants_future(normalize_awaitable(coro_or_fut))
    # pyright, ty and pyrefly refuse to treat it as a Task. mypy lets the expected type pick the
    # overload and falls back to `Awaitable[T] -> Task[T]` (a Future is an Awaitable), so it
    # accepts this.
    wants_task(normalize_awaitable(coro_or_fut))  # type: ignore[arg-type, unused-ignore]  # ty: ignore[invalid-argument-type]  # pyrefly: ignore[bad-argument-type]
    # typeshed's ensure_future answers Task[int] for the same argument, wrongly: at runtime the
    # Future comes back as it is. (If this line starts failing, typeshed has fixed it.)
    assert_type(asyncio.ensure_future(coro_or_fut), asyncio.Task[int])
    # Both sides are Tasks: a Task.
    assert_type(normalize_awaitable(coro_or_task), asyncio.Task[int])
    # A Future subclass keeps its own type in the union.
    assert_type(normalize_awaitable(coro_or_upload), asyncio.Task[int] | Upload)
    assert_type(normalize_awaitable(coro_or_cfut), asyncio.Task[int] | asyncio.Future[int])
    assert_type(normalize_awaitable(fut_or_cfut), asyncio.Future[int])
    assert_type(normalize_awaitable(task_or_fut), asyncio.Task[int] | asyncio.Future[str])


async def what_is_refused(fut: asyncio.Future[int]) -> None:
    normalize_awaitable(fetch)  # type: ignore[call-overload]  # ty: ignore[no-matching-overload]  # pyrefly: ignore[no-matching-overload]  # the coroutine function itself
    normalize_awaitable(42)  # type: ignore[call-overload]  # ty: ignore[no-matching-overload]  # pyrefly: ignore[no-matching-overload]
    normalize_awaitable(None)  # type: ignore[call-overload]  # ty: ignore[no-matching-overload]  # pyrefly: ignore[no-matching-overload]
    normalize_awaitable(ticks())  # type: ignore[call-overload]  # ty: ignore[no-matching-overload]  # pyrefly: ignore[no-matching-overload]  # iterated, not awaited
    normalize_awaitable(fut, loop="main")  # type: ignore[call-overload]  # ty: ignore[no-matching-overload]  # pyrefly: ignore[no-matching-overload]
    normalize_awaitable(fut, asyncio.get_running_loop())  # type: ignore[call-overload]  # ty: ignore[no-matching-overload]  # pyrefly: ignore[no-matching-overload]
    normalize_awaitable()  # type: ignore[call-overload]  # ty: ignore[no-matching-overload]  # pyrefly: ignore[no-matching-overload]

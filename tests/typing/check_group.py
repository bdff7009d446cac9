"""Type tests for taskwise.TaskGroup (never executed; see README.md in this folder)."""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Set
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Protocol

from typing_extensions import Self, assert_type

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
        # ty keeps the literal, Task[Literal["x"]], where the others widen it (docs/typing.md).
        assert_type(tg.spawn(asyncio.sleep(0, "x"), name=None), asyncio.Task[str])  # ty: ignore[type-assertion-failure]
        assert_type(tg.name, str | None)
        assert_type(tg.tasks, Set[asyncio.Task[object]])
        for task in tg.tasks:
            assert_type(task, asyncio.Task[object])
            if task.done() and not task.cancelled():
                assert_type(task.result(), object)  # object, not Any: narrow it to use it
        assert_type(len(tg.tasks), int)
        assert_type(tg.cancel(), None)


async def context_from_311(ctx: contextvars.Context) -> None:
    async with TaskGroup() as tg:
        if sys.version_info >= (3, 11):
            assert_type(tg.spawn(fetch("a"), context=ctx), asyncio.Task[bytes])
        else:
            # 3.10 raises TypeError for a Context at runtime: only None type-checks. (pyrefly's
            # `unused-ignore`: in the 3.13 run it calls the ignore in this dead branch unused.)
            tg.spawn(fetch("a"), context=ctx)  # type: ignore[arg-type]  # ty: ignore[invalid-argument-type]  # pyrefly: ignore[bad-argument-type, unused-ignore]
        assert_type(tg.spawn(fetch("a"), context=None), asyncio.Task[bytes])


async def what_is_refused(fut: asyncio.Future[int]) -> None:
    TaskGroup(1)  # type: ignore[arg-type]  # ty: ignore[invalid-argument-type]  # pyrefly: ignore[bad-argument-type]
    TaskGroup("a", "b")  # type: ignore[call-arg]  # ty: ignore[too-many-positional-arguments]  # pyrefly: ignore[bad-argument-count]
    async with TaskGroup() as tg:
        tg.spawn(fetch)  # type: ignore[arg-type]  # ty: ignore[invalid-argument-type]  # pyrefly: ignore[bad-argument-type]  # the coroutine function, not called
        tg.spawn(fut)  # type: ignore[arg-type]  # ty: ignore[invalid-argument-type]  # pyrefly: ignore[bad-argument-type]
        tg.spawn(None)  # type: ignore[arg-type]  # ty: ignore[invalid-argument-type]  # pyrefly: ignore[bad-argument-type]
        tg.spawn(fetch("a"), "page")  # type: ignore[call-arg]  # ty: ignore[too-many-positional-arguments]  # pyrefly: ignore[bad-argument-count]  # name is keyword-only
        tg.spawn(fetch("a"), eager=True)  # type: ignore[call-arg]  # ty: ignore[unknown-argument]  # pyrefly: ignore[unexpected-keyword]  # only spawn() has eager
        tg.name = "other"  # type: ignore[misc]  # ty: ignore[invalid-assignment]  # pyrefly: ignore[read-only]  # read-only property
        tg.tasks.add(fut)  # type: ignore[attr-defined]  # ty: ignore[missing-attribute]  # pyrefly: ignore[missing-attribute]  # a read-only view
        tg.anything = 1  # type: ignore[attr-defined]  # ty: ignore[missing-attribute]  # pyrefly: ignore[missing-attribute]  # __slots__, no new attributes
    with TaskGroup():  # type: ignore[attr-defined]  # ty: ignore[invalid-context-manager]  # pyrefly: ignore[bad-context-manager]  # `async with`, not `with`
        pass


class Mine(TaskGroup):  # type: ignore[misc]  # ty: ignore[subclass-of-final-class]  # pyrefly: ignore[invalid-inheritance]  # TaskGroup is @final
    pass


# -- What the block lets checkers conclude: the same as asyncio.TaskGroup ---------------------
#
# __aexit__ returns None in the stubs, as in typeshed's asyncio.TaskGroup, so checkers assume
# the block swallows no exception. Each function below is followed by its asyncio.TaskGroup
# twin (3.11+), which must type-check the same way. The runtime case that no checker sees (a
# name bound after the point where tg.cancel() interrupts the body) is in docs/taskgroup.md.


async def lookup(key: str) -> int | None:
    return len(key) or None


async def first() -> int:  # no "missing return": the block cannot fall through silently
    async with TaskGroup() as tg:
        return await tg.spawn(count())


async def after() -> int:  # `a` is bound after the block, not "possibly unbound"
    async with TaskGroup() as tg:
        a = tg.spawn(count())
    return a.result()


async def narrowed(key: str) -> int:  # the narrowing inside the block holds after it
    async with TaskGroup() as tg:
        found = await tg.spawn(lookup(key))
        if found is None:
            raise KeyError(key)
    assert_type(found, int)
    return found + 1


def make() -> AbstractAsyncContextManager[TaskGroup, None]:  # a non-suppressing manager
    return TaskGroup()


class TypeshedTaskGroup(Protocol):
    """The context-manager half of typeshed's asyncio.TaskGroup, copied with its names."""

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self, et: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


def as_typeshed_group() -> TypeshedTaskGroup:
    return TaskGroup()


if sys.version_info >= (3, 11):  # asyncio.TaskGroup exists from 3.11

    async def first_asyncio() -> int:
        async with asyncio.TaskGroup() as tg:
            return await tg.create_task(count())

    async def after_asyncio() -> int:
        async with asyncio.TaskGroup() as tg:
            a = tg.create_task(count())
        return a.result()

    async def narrowed_asyncio(key: str) -> int:
        async with asyncio.TaskGroup() as tg:
            found = await tg.create_task(lookup(key))
            if found is None:
                raise KeyError(key)
        assert_type(found, int)
        return found + 1

    def make_asyncio() -> AbstractAsyncContextManager[asyncio.TaskGroup, None]:
        return asyncio.TaskGroup()

    def as_typeshed_group_asyncio() -> TypeshedTaskGroup:
        return asyncio.TaskGroup()

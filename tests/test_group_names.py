"""TaskGroup names, the live ``tasks`` view, repr, the loop's task factory, and bad input."""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import Coroutine, Generator, Iterator, Set
from typing import Any

import pytest

from taskwise import TaskGroup

pytestmark = pytest.mark.anyio

LONG = 10.0


async def own_name() -> str:
    # Read after the first suspension: under the eager task factory on 3.12-3.13,
    # asyncio's loop.create_task() names the task only after its eager first
    # step (it calls the factory without the name, then set_name()).
    await asyncio.sleep(0)
    task = asyncio.current_task()
    assert task is not None
    return task.get_name()


async def fetch() -> str:
    return await own_name()


# --- Names ---------------------------------------------------------------------------


async def test_explicit_child_name_is_under_the_group() -> None:
    async with TaskGroup("crawl") as tg:
        t = tg.spawn(own_name(), name="page-1")
        assert t.get_name() == "crawl/page-1"
    assert t.result() == "crawl/page-1"
    assert tg.name == "crawl"


async def test_default_name_is_qualname_and_number() -> None:
    """n counts every spawn in the group, named ones included."""
    async with TaskGroup("crawl") as tg:
        first = tg.spawn(fetch())
        tg.spawn(fetch(), name="special")
        third = tg.spawn(fetch())
    assert first.result() == "crawl/fetch-1"
    assert third.result() == "crawl/fetch-3"


async def test_default_name_of_a_nested_function() -> None:
    async def inner() -> None:
        pass

    async with TaskGroup("g") as tg:
        t = tg.spawn(inner())
    assert t.get_name() == "g/test_default_name_of_a_nested_function.<locals>.inner-1"


async def test_anonymous_group_adds_no_segment() -> None:
    async with TaskGroup() as tg:
        named = tg.spawn(own_name(), name="page-1")
        unnamed = tg.spawn(fetch())
    assert tg.name is None
    assert named.result() == "page-1"
    assert unnamed.result() == "fetch-2"


async def test_nested_in_the_body() -> None:
    async with TaskGroup("outer") as outer:
        async with TaskGroup("inner") as inner:
            t = inner.spawn(own_name(), name="child")
        after = outer.spawn(own_name(), name="later")
        async with TaskGroup("second") as second:
            s = second.spawn(own_name(), name="child")
    assert t.result() == "outer/inner/child"
    assert after.result() == "outer/later"  # the path is back to the outer group's
    assert s.result() == "outer/second/child"


async def test_nested_in_a_child_task() -> None:
    async def crawler() -> str:
        async with TaskGroup("inner") as inner:
            t = inner.spawn(own_name(), name="child")
        return await t

    async with TaskGroup("outer") as outer:
        c = outer.spawn(crawler(), name="crawler")
    assert c.get_name() == "outer/crawler"
    assert c.result() == "outer/inner/child"


async def test_anonymous_group_in_the_middle() -> None:
    async with TaskGroup("outer"), TaskGroup(), TaskGroup("inner") as inner:
        t = inner.spawn(own_name(), name="x")
    assert t.result() == "outer/inner/x"


async def test_plain_task_started_in_a_group_body_inherits_the_path() -> None:
    """asyncio.create_task copies the context, and with it the group path."""

    async def helper() -> str:
        async with TaskGroup("helper") as h:
            t = h.spawn(own_name(), name="x")
        return await t

    async with TaskGroup("outer"):
        result = await asyncio.create_task(helper())
    assert result == "outer/helper/x"


async def test_path_does_not_leak_after_the_group() -> None:
    async with TaskGroup("a"):
        pass
    async with TaskGroup("b") as b:
        t = b.spawn(own_name(), name="x")
    assert t.result() == "b/x"


async def test_path_is_restored_after_a_failing_group() -> None:
    async def fail() -> None:
        raise ValueError

    with pytest.raises(BaseException):  # noqa: B017 - the group's ExceptionGroup
        async with TaskGroup("failing") as tg:
            tg.spawn(fail())
    async with TaskGroup("next") as nxt:
        t = nxt.spawn(own_name(), name="x")
    assert t.result() == "next/x"


def test_group_name_must_be_text() -> None:
    with pytest.raises(
        TypeError,
        match=r"^TaskGroup\(\) takes a name that is a str \(or None for the default\), "
        r"but got 42 \(an int\)\. Pass it as text: name='42'",
    ):
        TaskGroup(42)  # type: ignore[arg-type]


async def test_a_child_name_must_be_text_as_for_spawn() -> None:
    """One rule for spawn(name=), TaskGroup(name) and TaskGroup.spawn(name=): a str."""
    async with TaskGroup("g") as g:
        coro = own_name()
        with pytest.raises(
            TypeError,
            match=r"^TaskGroup\.spawn\(\) takes a name that is a str .* got 7 \(an int\)\. "
            r"Pass it as text: name='7'.*The coroutine was closed\.$",
        ):
            g.spawn(coro, name=7)  # type: ignore[arg-type]
        assert coro.cr_frame is None  # closed


class HandMadeCoroutine(Coroutine[Any, Any, int]):
    """A Coroutine that is not a native coroutine object (like Cython's)."""

    def __init__(self) -> None:
        self._gen = self._run()

    def _run(self) -> Generator[Any, Any, int]:
        yield None
        return 5

    def send(self, value: Any) -> Any:
        return self._gen.send(value)

    def throw(self, *args: Any) -> Any:
        return self._gen.throw(*args)

    def close(self) -> None:
        self._gen.close()

    def __await__(self) -> Generator[Any, Any, int]:
        return self._gen


async def test_coroutine_without_qualname_is_named_after_its_type() -> None:
    async with TaskGroup("g") as g:
        t = g.spawn(HandMadeCoroutine())
    assert t.get_name() == "g/HandMadeCoroutine-1"
    assert t.result() == 5


# --- The tasks view --------------------------------------------------------------------


async def test_tasks_is_a_live_read_only_view() -> None:
    release = asyncio.Event()
    async with TaskGroup("view") as tg:
        view = tg.tasks
        assert isinstance(view, Set)
        assert len(view) == 0
        a = tg.spawn(release.wait(), name="a")
        b = tg.spawn(asyncio.sleep(0), name="b")
        assert len(view) == 2  # the same view object sees new tasks
        assert a in view and b in view
        assert view == {a, b}
        assert repr(view) == "<running tasks: 'view/a', 'view/b'>"
        await asyncio.sleep(0.01)
        assert set(view) == {a}  # finished tasks leave
        assert not any(hasattr(view, m) for m in ("add", "discard", "remove", "clear", "pop"))
        for task in view:  # a snapshot: safe while tasks finish
            release.set()
            await asyncio.sleep(0)
            assert task is a
    assert len(view) == 0
    assert view == frozenset()


async def test_tasks_view_set_operations() -> None:
    async with TaskGroup() as tg:
        a = tg.spawn(asyncio.sleep(0.01))
        b = tg.spawn(asyncio.sleep(0.01))
        view = tg.tasks
        assert view & {a} == {a}
        assert view | set() == {a, b}
        assert view - {a} == {b}
        assert view.isdisjoint(set())


# --- repr ------------------------------------------------------------------------------


async def test_repr_follows_the_group_through_its_life() -> None:
    tg = TaskGroup("life")
    assert repr(tg) == "<TaskGroup 'life' new tasks=0>"
    async with tg:
        tg.spawn(asyncio.sleep(LONG))
        assert repr(tg) == "<TaskGroup 'life' entered tasks=1>"
        tg.cancel()
        assert repr(tg) == "<TaskGroup 'life' cancelling tasks=1>"
    assert repr(tg) == "<TaskGroup 'life' cancelling tasks=0>"
    async with TaskGroup() as anon:
        seen: list[str] = []

        async def look() -> None:
            await asyncio.sleep(0.005)
            seen.append(repr(anon))

        anon.spawn(look())
    assert seen == ["<TaskGroup None exiting tasks=1>"]
    assert repr(anon) == "<TaskGroup None exiting tasks=0>"


async def test_errors_name_the_group() -> None:
    tg = TaskGroup("named")
    coro = asyncio.sleep(0)
    with pytest.raises(RuntimeError, match=r"<TaskGroup 'named' new tasks=0> has not been entered"):
        tg.spawn(coro)


# --- The loop's task factory -------------------------------------------------------------


async def test_every_child_goes_through_the_task_factory(loop_kind: str) -> None:
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()
    made: list[asyncio.Future[Any]] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Future[Any]:
        if previous is not None:
            task = previous(loop, coro, **kwargs)
        else:
            task = asyncio.Task(coro, loop=loop, **kwargs)
        made.append(task)
        return task

    async def child_with_a_group() -> None:
        async with TaskGroup("inner") as inner:
            inner.spawn(asyncio.sleep(0), name="grandchild")

    loop.set_task_factory(factory)
    try:
        async with TaskGroup("outer") as tg:
            direct = [tg.spawn(asyncio.sleep(0), name=f"c{i}") for i in range(3)]
            nested = tg.spawn(child_with_a_group(), name="nested")
    finally:
        loop.set_task_factory(previous)
    names = sorted(t.get_name() for t in made)  # type: ignore[attr-defined]
    assert names == ["outer/c0", "outer/c1", "outer/c2", "outer/inner/grandchild", "outer/nested"]
    assert all(t in made for t in [*direct, nested])


@pytest.mark.skipif(sys.version_info < (3, 11), reason="context= needs 3.11")
async def test_task_factory_gets_the_context(loop_kind: str) -> None:
    import contextvars

    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()
    contexts: list[Any] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Future[Any]:
        contexts.append(kwargs.get("context"))
        if previous is not None:
            return previous(loop, coro, **kwargs)
        return asyncio.Task(coro, loop=loop, **kwargs)

    ctx = contextvars.copy_context()
    loop.set_task_factory(factory)
    try:
        async with TaskGroup() as tg:
            tg.spawn(asyncio.sleep(0), context=ctx)
    finally:
        loop.set_task_factory(previous)
    assert contexts == [ctx]


# --- Bad input -------------------------------------------------------------------------


async def coro_fn() -> None:
    pass


def gen_fn() -> Iterator[int]:
    yield 1


async def agen_fn() -> Any:
    yield 1


class AwaitableThing:
    def __await__(self) -> Generator[Any, None, None]:
        yield from asyncio.sleep(0).__await__()


@pytest.fixture
def checked_group() -> Iterator[list[TaskGroup]]:
    groups: list[TaskGroup] = []
    yield groups
    for tg in groups:  # refused input leaves the group untouched
        assert not tg.tasks


async def refuse(obj: Any) -> str:
    async with TaskGroup("g") as tg:
        with pytest.raises(TypeError) as info:
            tg.spawn(obj)
        assert not tg.tasks
        assert "cancelling" not in repr(tg)  # refused input does not cancel the group
        ok = tg.spawn(asyncio.sleep(0, "still works"))
    assert ok.result() == "still works"
    return str(info.value)


async def test_uncalled_coroutine_function() -> None:
    message = await refuse(coro_fn)
    assert "TaskGroup.spawn() takes a coroutine object" in message
    assert "the coroutine function coro_fn itself" in message
    assert "Call it: TaskGroup.spawn(coro_fn(...))" in message


async def test_none() -> None:
    message = await refuse(None)
    assert "but got None" in message
    assert "`async def`" in message


async def test_future() -> None:
    fut = asyncio.get_running_loop().create_future()
    message = await refuse(fut)
    assert "already scheduled and needs no new task" in message
    assert "Await it directly" in message
    fut.cancel()


async def test_task() -> None:
    task = asyncio.ensure_future(asyncio.sleep(0))
    message = await refuse(task)
    assert "already scheduled" in message
    await task


async def test_generator() -> None:
    gen = gen_fn()
    message = await refuse(gen)
    assert "a generator object from gen_fn()" in message
    assert "Generators are not coroutines" in message


async def test_generator_based_coroutine() -> None:
    @types.coroutine
    def old_style() -> Generator[Any, None, None]:
        yield

    message = await refuse(old_style())
    assert "Generators are not coroutines" in message


async def test_async_generator() -> None:
    agen = agen_fn()
    message = await refuse(agen)
    assert "iterated, not run as a task" in message


async def test_other_awaitable() -> None:
    message = await refuse(AwaitableThing())
    assert "an awaitable that is not a coroutine" in message
    assert "normalize_awaitable" in message


async def test_plain_value() -> None:
    message = await refuse(42)
    assert "42 (an int)" in message
    assert "declared with `def`" in message


async def test_refused_coroutine_is_closed_when_the_group_is_shutting_down() -> None:
    async def fail() -> None:
        raise ValueError

    coro = coro_fn()
    with pytest.raises(BaseException):  # noqa: B017 - the group's ExceptionGroup
        async with TaskGroup() as tg:
            tg.spawn(fail())
            try:
                await asyncio.sleep(LONG)
            finally:
                with pytest.raises(RuntimeError, match="shutting down"):
                    tg.spawn(coro)
    assert coro.cr_frame is None


async def test_coroutine_closed_when_the_task_factory_fails() -> None:
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()

    def broken(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
        raise OSError("factory broke")

    coro = coro_fn()
    async with TaskGroup() as tg:
        loop.set_task_factory(broken)
        try:
            with pytest.raises(OSError, match="factory broke"):
                tg.spawn(coro)
        finally:
            loop.set_task_factory(previous)
        assert not tg.tasks
    assert coro.cr_frame is None

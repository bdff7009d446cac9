"""normalize_awaitable(): ensure_future's contract, the same on every Python."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import types
import warnings
from collections.abc import Generator
from typing import Any

import pytest

from taskwise import normalize_awaitable

pytestmark = pytest.mark.anyio


async def value(x: int) -> int:
    return x


class Awaitish:
    """An awaitable that is neither a coroutine nor a future."""

    def __await__(self) -> Generator[Any, None, int]:
        return value(5).__await__()


class DuckFuture:
    """What asyncio.isfuture() accepts: a class with _asyncio_future_blocking."""

    _asyncio_future_blocking = False

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def __await__(self) -> Generator[Any, None, int]:
        return value(6).__await__()


@types.coroutine
def generator_based() -> Generator[None, None, int]:
    yield
    return 4


def closed(coro: Any) -> bool:
    return inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED


async def test_a_task_comes_back_unchanged() -> None:
    task = asyncio.get_running_loop().create_task(value(1))
    assert normalize_awaitable(task) is task
    assert normalize_awaitable(task, loop=asyncio.get_running_loop()) is task
    assert await task == 1


async def test_a_future_comes_back_unchanged() -> None:
    fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    assert normalize_awaitable(fut) is fut
    duck = DuckFuture(asyncio.get_running_loop())
    assert normalize_awaitable(duck) is duck  # type: ignore[arg-type]


async def test_a_future_of_another_loop_with_loop_is_refused() -> None:
    other = asyncio.new_event_loop()
    try:
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        with pytest.raises(ValueError, match=r"another event loop.*leave out loop="):
            normalize_awaitable(fut, loop=other)
        duck = DuckFuture(asyncio.get_running_loop())
        with pytest.raises(ValueError, match="another event loop"):
            normalize_awaitable(duck, loop=other)  # type: ignore[arg-type]
    finally:
        other.close()


async def test_a_coroutine_becomes_a_named_task() -> None:
    task = normalize_awaitable(value(2))
    assert isinstance(task, asyncio.Task)
    assert task.get_name() == "value"
    assert await task == 2


async def test_a_concurrent_future_is_wrapped() -> None:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        cf = pool.submit(sum, [1, 2, 3])
        fut = normalize_awaitable(cf)
        assert isinstance(fut, asyncio.Future)
        assert not isinstance(fut, asyncio.Task)
        assert await fut == 6


async def test_other_awaitables_become_tasks() -> None:
    task = normalize_awaitable(Awaitish())
    assert isinstance(task, asyncio.Task)
    assert task.get_name() == "normalize_awaitable(Awaitish)"
    assert await task == 5
    # A generator-based coroutine is a Task on every Python (create_task refuses it from 3.12).
    old_style = normalize_awaitable(generator_based())
    assert isinstance(old_style, asyncio.Task)
    assert await old_style == 4


async def test_the_loops_task_factory_is_used() -> None:
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()
    made: list[object] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kw: Any) -> asyncio.Task[Any]:
        made.append(coro)
        return previous(loop, coro, **kw) if previous else asyncio.Task(coro, loop=loop, **kw)

    loop.set_task_factory(factory)  # type: ignore[arg-type]
    try:
        assert await normalize_awaitable(value(3)) == 3
    finally:
        loop.set_task_factory(previous)
    assert len(made) == 1


def test_loop_argument_schedules_on_a_loop_that_is_not_running() -> None:
    loop = asyncio.new_event_loop()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no DeprecationWarning on any version
            task = normalize_awaitable(value(8), loop=loop)
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                wrapped = normalize_awaitable(pool.submit(int, "9"), loop=loop)
                assert loop.run_until_complete(wrapped) == 9
        assert task.get_loop() is loop
        assert loop.run_until_complete(task) == 8
    finally:
        loop.close()


def test_without_a_running_loop_it_raises_and_closes_the_coroutine() -> None:
    coro = value(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(
            RuntimeError, match=r"none is running.*normalize_awaitable\(obj, loop=loop\).*closed"
        ):
            normalize_awaitable(coro)
    assert closed(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        cf = pool.submit(int, "1")
        with pytest.raises(RuntimeError, match="none is running"):
            normalize_awaitable(cf)


def test_a_closed_loop_closes_the_coroutine() -> None:
    loop = asyncio.new_event_loop()
    loop.close()
    coro = value(1)
    with pytest.raises(RuntimeError, match="closed"):
        normalize_awaitable(coro, loop=loop)
    assert closed(coro)


async def agen() -> Any:
    yield 1


def gen() -> Any:
    yield 1


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        pytest.param(
            lambda: value,
            r"coroutine function value itself\. Call it: normalize_awaitable\(value\(\.\.\.\)\)",
            id="coroutine-function",
        ),
        pytest.param(
            agen, r"async generator object from agen\(\).*async for", id="async-generator"
        ),
        pytest.param(gen, r"generator object from gen\(\).*`async def`", id="generator"),
        pytest.param(lambda: 42, r"got 42 \(an int\).*asyncio\.to_thread", id="value"),
        pytest.param(lambda: None, r"got None", id="None"),
    ],
)
async def test_not_awaitable_is_refused_with_the_fix(make: Any, pattern: str) -> None:
    obj = make()
    with pytest.raises(TypeError, match=pattern):
        normalize_awaitable(obj)
    if inspect.isgenerator(obj):
        obj.close()


async def test_matches_ensure_future_on_the_common_kinds() -> None:
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[int] = loop.create_future()
    assert asyncio.ensure_future(fut) is normalize_awaitable(fut) is fut
    a, b = asyncio.ensure_future(value(1)), normalize_awaitable(value(1))
    assert type(a) is type(b)
    assert await a == await b

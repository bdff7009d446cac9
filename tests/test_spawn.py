"""spawn(): kept alive, named, failures reported once, factories honoured, bad input refused."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import inspect
import sys
import threading
import types
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import taskwise
from taskwise import spawn

pytestmark = pytest.mark.anyio

Context = dict[str, Any]


async def iterations(n: int) -> None:
    """Let the loop run *n* iterations."""
    for _ in range(n):
        await asyncio.sleep(0)


@contextmanager
def reports() -> Iterator[list[Context]]:
    """Collect what reaches the running loop's exception handler."""
    loop = asyncio.get_running_loop()
    seen: list[Context] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    try:
        yield seen
    finally:
        loop.set_exception_handler(previous)


async def boom() -> None:
    raise ValueError("boom")


async def fail_later(steps: int) -> None:
    await iterations(steps)
    raise KeyError("late")


async def value(x: int) -> int:
    return x


def closed(coro: Any) -> bool:
    return inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED


# --- keeping tasks alive -------------------------------------------------------------


async def wait_on_private_future(futures: list[weakref.ref[asyncio.Future[str]]]) -> str:
    """Await a future that only this coroutine references (the classic lost task)."""
    fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    futures.append(weakref.ref(fut))
    return await fut


async def test_bare_create_task_loses_a_task_waiting_on_a_private_future() -> None:
    # The failure spawn() exists to prevent: the loop holds tasks weakly.
    futures: list[weakref.ref[asyncio.Future[str]]] = []
    with reports() as seen:
        task_ref = weakref.ref(
            asyncio.get_running_loop().create_task(wait_on_private_future(futures))
        )
        await iterations(2)
        gc.collect()
        assert task_ref() is None
        assert futures[0]() is None
    assert [c["message"] for c in seen] == ["Task was destroyed but it is pending!"]


async def test_spawn_keeps_a_task_waiting_on_a_private_future_alive() -> None:
    futures: list[weakref.ref[asyncio.Future[str]]] = []
    with reports() as seen:
        task_ref = weakref.ref(spawn(wait_on_private_future(futures)))
        await iterations(10)
        gc.collect()
        fut = futures[0]()
        assert fut is not None
        fut.set_result("finished")
        del fut
        task = task_ref()
        assert task is not None
        assert await task == "finished"
    assert seen == []


async def test_reference_is_dropped_once_the_task_is_done() -> None:
    task_ref = weakref.ref(spawn(value(1)))
    long_ref = weakref.ref(spawn(iterations(3)))
    await iterations(12)
    gc.collect()
    assert task_ref() is None
    assert long_ref() is None


# --- failures ------------------------------------------------------------------------


async def test_a_failure_nobody_can_read_is_reported_promptly_and_once() -> None:
    with reports() as seen:
        spawn(boom(), name="doomed")  # the handle is dropped at once
        waited = 0
        while not seen and waited < 20:
            await asyncio.sleep(0)
            waited += 1
        assert 0 < waited <= 3, "reported within a few loop iterations"
        await iterations(20)
        gc.collect()  # "Task exception was never retrieved" would come now
        await iterations(2)
    assert len(seen) == 1
    (context,) = seen
    assert isinstance(context["exception"], ValueError)
    assert context["task"].get_name() == "doomed"
    assert "'doomed'" in context["message"]
    assert "nobody can read its exception" in context["message"]
    assert "taskwise.spawn()" in context["message"]


async def test_failure_after_suspending_is_reported_once() -> None:
    with reports() as seen:
        spawn(fail_later(5))
        await iterations(30)
    assert len(seen) == 1
    assert isinstance(seen[0]["exception"], KeyError)


async def test_awaiting_the_task_gets_the_exception_and_nothing_is_reported() -> None:
    with reports() as seen:
        first = spawn(boom())
        later = spawn(fail_later(3))
        with pytest.raises(ValueError, match="boom"):
            await first
        with pytest.raises(KeyError):
            await later
        await iterations(20)
    assert seen == []


async def test_reading_the_exception_after_wait_is_not_reported() -> None:
    with reports() as seen:
        tasks = {spawn(boom()), spawn(fail_later(2))}
        sleeper = spawn(asyncio.sleep(10))
        failures: list[type[BaseException]] = []
        while tasks:
            done, _ = await asyncio.wait(tasks | {sleeper}, return_when=asyncio.FIRST_EXCEPTION)
            failures += [type(t.exception()) for t in done]
            tasks -= done
        sleeper.cancel()
        await iterations(20)
    assert sorted(f.__name__ for f in failures) == ["KeyError", "ValueError"]
    assert seen == []


async def test_a_failure_read_long_after_it_happened_is_not_reported() -> None:
    # The caller holds the handle: the failure is theirs, however late they read it.
    with reports() as seen:
        quick, slow = spawn(boom()), spawn(iterations(15))
        await asyncio.wait([quick, slow])
        await iterations(20)
        assert seen == []
        assert isinstance(quick.exception(), ValueError)
        del quick
        gc.collect()
        await iterations(5)
    assert seen == []


async def test_gather_retrieves_the_exception() -> None:
    with reports() as seen:
        results = await asyncio.gather(spawn(boom()), spawn(value(2)), return_exceptions=True)
        await iterations(20)
    assert isinstance(results[0], ValueError)
    assert results[1] == 2
    assert seen == []


async def test_a_late_awaiter_gets_the_exception_and_nothing_is_reported() -> None:
    with reports() as seen:
        task = spawn(boom())
        await iterations(20)
        with pytest.raises(ValueError):
            await task
        del task
        gc.collect()
        await iterations(2)
    assert seen == []


async def test_cancellation_is_not_a_failure() -> None:
    with reports() as seen:
        task = spawn(asyncio.sleep(10))
        await iterations(3)
        task.cancel()
        eager_cancelled = spawn(asyncio.sleep(10))
        eager_cancelled.cancel()
        await iterations(20)
    assert task.cancelled()
    assert eager_cancelled.cancelled()
    assert seen == []


async def test_success_is_not_reported() -> None:
    with reports() as seen:
        tasks = [spawn(value(i)) for i in range(50)] + [spawn(iterations(2)) for _ in range(5)]
        await iterations(20)
    assert [t.result() for t in tasks[:50]] == list(range(50))
    assert seen == []


async def test_a_handler_that_spawns_while_reporting_gets_its_task_run() -> None:
    loop = asyncio.get_running_loop()
    ran: list[str] = []

    async def note() -> None:
        ran.append("follow-up")

    def handler(_loop: asyncio.AbstractEventLoop, context: Context) -> None:
        spawn(note())

    previous = loop.get_exception_handler()
    loop.set_exception_handler(handler)
    try:
        spawn(boom())
        await iterations(20)
    finally:
        loop.set_exception_handler(previous)
    assert ran == ["follow-up"]


# --- names ---------------------------------------------------------------------------


class Crawler:
    async def fetch(self) -> str:
        return "page"


async def test_default_name_is_the_coroutines_qualified_name() -> None:
    async def inner() -> None:
        pass

    assert spawn(value(1)).get_name() == "value"
    assert spawn(Crawler().fetch()).get_name() == "Crawler.fetch"
    local = spawn(inner())
    assert local.get_name().endswith("<locals>.inner")
    assert not local.get_name().startswith("Task-")
    await iterations(2)


async def test_name_wins() -> None:
    task = spawn(value(1), name="custom")
    assert task.get_name() == "custom"
    assert await task == 1


# --- context and from-sync-code ------------------------------------------------------

var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")


async def set_and_read() -> str:
    seen = var.get()
    var.set("changed")
    return seen


@pytest.mark.skipif(sys.version_info < (3, 11), reason="context= needs 3.11")
async def test_context_runs_the_task_in_that_context() -> None:
    ctx = contextvars.copy_context()
    ctx.run(var.set, "given")
    assert await spawn(set_and_read(), context=ctx) == "given"
    assert ctx[var] == "changed"
    assert var.get() == "unset"


@pytest.mark.skipif(sys.version_info >= (3, 11), reason="3.10 only")
async def test_context_on_310_is_refused_with_the_workaround() -> None:
    coro = set_and_read()
    with pytest.raises(TypeError, match=r"3\.11.*ctx\.run\(spawn, coro\)"):
        spawn(coro, context=contextvars.copy_context())
    assert closed(coro)


async def test_spawn_from_sync_code_running_in_the_loop() -> None:
    loop = asyncio.get_running_loop()
    made: asyncio.Future[asyncio.Task[int]] = loop.create_future()
    loop.call_soon(lambda: made.set_result(spawn(value(7), name="from-callback")))
    task = await made
    assert task.get_name() == "from-callback"
    assert await task == 7


# --- task factories and eager start --------------------------------------------------


@contextmanager
def counting_factory(loop: asyncio.AbstractEventLoop) -> Iterator[list[str]]:
    """Install a task factory that records the names of the tasks it makes."""
    made: list[str] = []
    previous = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any]
        if previous is not None:
            task = previous(loop, coro, **kwargs)
        else:
            task = asyncio.Task(coro, loop=loop, **kwargs)
        made.append("?")  # the name is set after the factory returns on 3.10-3.13
        return task

    loop.set_task_factory(factory)  # type: ignore[arg-type]
    try:
        yield made
    finally:
        loop.set_task_factory(previous)


async def test_spawn_goes_through_the_loops_task_factory() -> None:
    loop = asyncio.get_running_loop()
    with counting_factory(loop) as made:
        tasks = [spawn(value(i)) for i in range(3)]
        assert len(made) == 3
        assert [await t for t in tasks] == [0, 1, 2]


async def first_step_marker(marks: list[str]) -> str:
    marks.append("first step")
    return "done"


def eager_expected(loop_kind: str) -> bool:
    # eager=True starts eagerly from 3.12 (Task(eager_start=)); an eager factory always does.
    return sys.version_info >= (3, 12) or loop_kind == "eager"


async def test_eager_runs_the_first_step_inside_spawn(loop_kind: str) -> None:
    marks: list[str] = []
    task = spawn(first_step_marker(marks), eager=True)
    if eager_expected(loop_kind):
        assert marks == ["first step"]
        assert task.done()
    else:
        assert marks == []
        assert not task.done()
    assert await task == "done"
    assert task.get_name() == "first_step_marker"


async def test_not_eager_by_default(loop_kind: str) -> None:
    marks: list[str] = []
    task = spawn(first_step_marker(marks))
    assert marks == (["first step"] if loop_kind == "eager" else [])
    assert await task == "done"


async def test_eager_failure_is_reported_once() -> None:
    with reports() as seen:
        spawn(boom(), eager=True)
        await iterations(20)
    assert len(seen) == 1


async def test_eager_with_a_task_factory(loop_kind: str) -> None:
    # 3.14+ passes eager_start= through the factory; on 3.12/3.13 the factory decides
    # (it is not bypassed), so a lazy factory starts the task lazily.
    loop = asyncio.get_running_loop()
    marks: list[str] = []
    with counting_factory(loop) as made:
        task = spawn(first_step_marker(marks), eager=True)
        assert made == ["?"]
        assert await task == "done"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="context= needs 3.11")
async def test_eager_with_context(loop_kind: str) -> None:
    ctx = contextvars.copy_context()
    ctx.run(var.set, "eager ctx")
    task = spawn(set_and_read(), context=ctx, eager=True)
    assert task.done() == eager_expected(loop_kind)
    assert await task == "eager ctx"


async def test_a_failing_task_factory_closes_the_coroutine() -> None:
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()

    def broken(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        raise RuntimeError("factory broke")

    loop.set_task_factory(broken)  # type: ignore[arg-type]
    try:
        for eager in (False, True):
            coro = value(1)
            with pytest.raises(RuntimeError, match="factory broke"):
                spawn(coro, eager=eager)
            assert closed(coro)
    finally:
        loop.set_task_factory(previous)


# --- bad input -----------------------------------------------------------------------


def plain(x: int) -> int:
    return x


def gen() -> Iterator[int]:
    yield 1


async def agen() -> Any:
    yield 1


class Awaitish:
    def __await__(self) -> Any:
        return value(1).__await__()


@types.coroutine
def generator_based() -> Any:
    yield


async def test_uncalled_coroutine_function_shows_the_call() -> None:
    with pytest.raises(
        TypeError, match=r"coroutine function value itself\. Call it: spawn\(value\(\.\.\.\)\)"
    ):
        spawn(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        pytest.param(
            lambda: plain(3), r"got 3 \(an int\).*`async def`.*asyncio\.to_thread", id="value"
        ),
        pytest.param(lambda: None, r"got None.*`async def`", id="None"),
        pytest.param(
            lambda: plain, r"callable plain itself.*spawn\(func\(\.\.\.\)\)", id="sync-function"
        ),
        pytest.param(gen, r"generator object from gen\(\).*`async def`", id="generator"),
        pytest.param(
            agen, r"async generator object from agen\(\).*async for", id="async-generator"
        ),
        pytest.param(
            Awaitish, r"awaitable that is not a coroutine.*normalize_awaitable", id="awaitable"
        ),
        pytest.param(
            generator_based, r"generator object.*`async def`", id="generator-based-coroutine"
        ),
    ],
)
async def test_bad_input_is_refused_with_the_fix(make: Callable[[], Any], pattern: str) -> None:
    obj = make()
    with pytest.raises(TypeError, match=pattern):
        spawn(obj)
    if inspect.isgenerator(obj):
        obj.close()


async def test_a_future_or_task_is_refused() -> None:
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[int] = loop.create_future()
    task = loop.create_task(value(1))
    with pytest.raises(
        TypeError, match=r"already scheduled.*Await it directly.*normalize_awaitable"
    ):
        spawn(fut)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"the Task '"):
        spawn(task)  # type: ignore[arg-type]
    assert await task == 1


def test_no_running_loop_closes_the_coroutine_and_says_what_to_do() -> None:
    coro = value(1)
    with pytest.raises(
        RuntimeError,
        match=r"spawn\(value\(\.\.\.\)\) needs a running event loop.*asyncio\.run\(main\(\)\)"
        r".*run_coroutine_threadsafe",
    ):
        spawn(coro)
    assert closed(coro)


def test_no_running_loop_with_bad_input_says_the_loop_is_missing() -> None:
    with pytest.raises(RuntimeError, match=r"spawn\(coro\) needs a running event loop"):
        spawn(None)  # type: ignore[arg-type]


# --- loops and threads ---------------------------------------------------------------


def test_a_finished_loop_is_not_kept_alive() -> None:
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def main() -> None:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        await spawn(value(1))
        spawn(iterations(2))
        await iterations(12)

    asyncio.run(main())
    gc.collect()
    assert loops[0]() is None


def test_loops_in_several_threads() -> None:
    results: list[list[int]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    async def work(base: int) -> list[int]:
        barrier.wait()  # interleave the threads' spawns
        tasks = [spawn(value(base + i)) for i in range(200)]
        tasks += [spawn(fail_later(1)) for _ in range(2)]
        outcome = await asyncio.gather(*tasks, return_exceptions=True)
        return [x for x in outcome if isinstance(x, int)]

    def run(base: int) -> None:
        try:
            results.append(asyncio.run(work(base)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(b,)) for b in (0, 1000, 2000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(map(sorted, results)) == [list(range(b, b + 200)) for b in (0, 1000, 2000)]


def test_spawn_is_exported() -> None:
    assert taskwise.spawn is spawn
    assert isinstance(spawn.__doc__, str)


async def name_seen_in_first_step() -> str:
    task = asyncio.current_task()
    assert task is not None
    return task.get_name()


async def test_the_name_is_set_before_the_first_step() -> None:
    # Under the stock eager factory asyncio names a task only after its eager first
    # step; spawn builds the task with its name, so the first step already sees it,
    # in debug mode too.
    assert await spawn(name_seen_in_first_step(), eager=True) == "name_seen_in_first_step"
    assert await spawn(name_seen_in_first_step(), name="named") == "named"
    assert await spawn(name_seen_in_first_step()) == "name_seen_in_first_step"

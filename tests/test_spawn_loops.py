"""spawn() with several loops and threads, at loop close, with faulty handlers, under tracers.

Each test here reproduces a way spawn() broke outside the one-loop case (issue 8, section 1)
and fails without the fix: one keeper per loop, stored on the loop; a Context per keeper;
a tick that survives a handler raising; a fast path taken only for asyncio's own code.
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import textwrap
import threading
import time
import weakref
from typing import Any

import pytest

from taskwise import spawn

try:
    import uvloop
except ImportError:  # pragma: no cover - no Windows build
    uvloop = None

needs_uvloop = pytest.mark.skipif(uvloop is None, reason="uvloop is not installed")


def new_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        assert uvloop is not None
        return uvloop.new_event_loop()
    loop = asyncio.new_event_loop()
    if kind == "eager":
        loop.set_task_factory(asyncio.eager_task_factory)
    return loop


KINDS = [
    "asyncio",
    pytest.param("uvloop", marks=needs_uvloop),
    pytest.param(
        "eager",
        marks=pytest.mark.skipif(sys.version_info < (3, 12), reason="eager factory: 3.12+"),
    ),
]


def collecting(loop: asyncio.AbstractEventLoop) -> list[dict[str, Any]]:
    """What reaches the loop's exception handler, minus the objects that hold the loop."""
    seen: list[dict[str, Any]] = []

    def handler(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        task = context.get("task") or context.get("future")
        seen.append({"message": context["message"], "task": task and task.get_name()})

    loop.set_exception_handler(handler)
    return seen


async def boom(i: object = None) -> None:
    raise ValueError(i)


async def waiter() -> str:
    """Wait on a future only this task references: lost if nothing holds the task."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[str] = loop.create_future()
    ref = weakref.ref(fut)

    def resolve() -> None:
        fut = ref()
        if fut is not None:
            fut.set_result("ok")

    loop.call_later(0.02, resolve)
    return await fut


def run_script(code: str) -> str:
    """Run *code* in a fresh interpreter with warnings as errors; return its stdout."""
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


# --- 1a: another loop spawning does not cost this loop its tasks ----------------------


@pytest.mark.parametrize("kind", KINDS)
def test_two_loops_used_in_turn_keep_their_tasks(kind: str) -> None:
    a, b = new_loop(kind), new_loop(kind)
    seen_a, seen_b = collecting(a), collecting(b)
    finished: list[str] = []

    async def start() -> None:
        spawn(waiter()).add_done_callback(lambda t: finished.append(t.result()))
        for _ in range(6):
            await asyncio.sleep(0)

    async def other() -> None:
        await spawn(asyncio.sleep(0))

    try:
        a.run_until_complete(start())
        b.run_until_complete(other())
        gc.collect()
        a.run_until_complete(asyncio.sleep(0.1))
    finally:
        a.close()
        b.close()
    assert finished == ["ok"]
    assert seen_a == seen_b == []


def test_asyncio_run_in_a_thread_does_not_cost_the_outer_loop_its_tasks() -> None:
    async def helper() -> None:
        await spawn(asyncio.sleep(0))

    async def main() -> str:
        task_ref = weakref.ref(spawn(waiter()))
        await asyncio.to_thread(asyncio.run, helper())
        gc.collect()
        task = task_ref()
        assert task is not None, "the spawned task was garbage-collected"
        return await task

    seen: list[dict[str, Any]] = []

    async def checked() -> str:
        asyncio.get_running_loop().set_exception_handler(lambda _l, c: seen.append(c))
        return await main()

    assert asyncio.run(checked()) == "ok"
    assert seen == []


@pytest.mark.parametrize("kind", KINDS)
def test_threads_with_a_loop_each_keep_their_tasks(kind: str) -> None:
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def run() -> None:
        loop = new_loop(kind)
        seen = collecting(loop)

        async def main() -> None:
            refs = [weakref.ref(spawn(waiter())) for _ in range(20)]
            barrier.wait(timeout=10)  # every thread has spawned: keepers coexist
            await asyncio.sleep(0)
            gc.collect()
            tasks = [r() for r in refs]
            assert all(t is not None for t in tasks), "a spawned task was lost"
            results.extend(await asyncio.gather(*tasks))  # type: ignore[arg-type]

        try:
            loop.run_until_complete(main())
            assert seen == []
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            loop.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results == ["ok"] * 60


# --- 1b: loops in several threads never collide on a shared Context --------------------


@pytest.mark.parametrize("kind", KINDS)
def test_threads_lose_no_report_while_another_loops_handler_blocks(kind: str) -> None:
    b_seen: list[str] = []

    def a_handler(_loop: asyncio.AbstractEventLoop, _context: dict[str, Any]) -> None:
        time.sleep(0.3)  # blocking log I/O in A's handler, inside A's keeper tick

    async def a_main() -> None:
        asyncio.get_running_loop().set_exception_handler(a_handler)
        spawn(boom())
        await asyncio.sleep(0.5)

    async def b_main() -> None:
        asyncio.get_running_loop().set_exception_handler(
            lambda _l, c: b_seen.append(c["task"].get_name())
        )
        await asyncio.sleep(0.1)
        spawn(boom(), name="b1")
        await asyncio.sleep(0.4)
        for i in range(3):
            spawn(boom(), name=f"later{i}")
        await asyncio.sleep(0.1)

    def run(main: Any) -> None:
        loop = new_loop(kind)
        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    tb = threading.Thread(target=run, args=(b_main,))
    tb.start()
    run(a_main)
    tb.join()
    assert sorted(b_seen) == ["b1", "later0", "later1", "later2"]


@pytest.mark.parametrize("kind", KINDS)
def test_many_threads_of_failures_are_each_reported_once(kind: str) -> None:
    n = 200
    counts: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        loop = new_loop(kind)
        seen = collecting(loop)

        async def main() -> None:
            for i in range(n):
                spawn(boom(i))
                if i % 20 == 0:
                    await asyncio.sleep(0)
            for _ in range(20):
                await asyncio.sleep(0)

        try:
            loop.run_until_complete(main())
            gc.collect()
            counts.append(len(seen))
            assert all("taskwise.spawn()" in c["message"] for c in seen)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            loop.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert counts == [n] * 4


# --- 1c: a loop that closes right after a failure -------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_failure_just_before_the_loop_closes_is_reported_and_the_loop_freed(kind: str) -> None:
    async def main() -> None:
        spawn(boom())

    loop = new_loop(kind)
    seen = collecting(loop)
    loop.run_until_complete(main())
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    ref = weakref.ref(loop)
    del loop
    gc.collect()
    assert ref() is None, "the closed loop is still alive"
    assert [c["message"][:10] for c in seen] == ["Task 'boom"]
    assert "taskwise.spawn()" in seen[0]["message"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_loop_closed_at_once_is_freed_with_its_pending_tasks(kind: str) -> None:
    async def main() -> None:
        spawn(boom(), name="failed")
        spawn(asyncio.sleep(10), name="pending")

    loop = new_loop(kind)
    seen = collecting(loop)
    loop.run_until_complete(main())
    loop.close()
    ref = weakref.ref(loop)
    del loop
    gc.collect()
    assert ref() is None, "the closed loop is still alive"
    # As with bare create_task: the loop says the pending task was destroyed; the
    # failure is reported once, by asyncio when its task is collected (or by us).
    by_task = {c["task"]: c["message"] for c in seen}
    assert len(seen) == 2
    assert by_task["pending"] == "Task was destroyed but it is pending!"
    assert by_task["failed"] == "Task exception was never retrieved" or (
        "taskwise.spawn()" in by_task["failed"]
    )


# --- 1d: an exception handler that raises KeyboardInterrupt once ------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_handler_raising_keyboardinterrupt_does_not_stop_the_keeper(kind: str) -> None:
    calls: list[str] = []

    def handler(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        calls.append(context["message"])
        if len(calls) == 1:
            raise KeyboardInterrupt

    async def main(n: int) -> None:
        for i in range(n):
            spawn(boom(i))
        await asyncio.sleep(0.05)

    loop = new_loop(kind)
    loop.set_exception_handler(handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(main(2))
        loop.run_until_complete(main(300))
    finally:
        loop.close()
    assert len(calls) == 302
    assert all("taskwise.spawn()" in message for message in calls)


# --- 1e: tracers that instrument BaseEventLoop.create_task ------------------------------

TRACER = """
    import asyncio, asyncio.base_events as base_events, types
    seen = []
    original = asyncio.BaseEventLoop.create_task
    kept = types.FunctionType(
        original.__code__, base_events.__dict__, "create_task", original.__defaults__,
        original.__closure__,
    )
    kept.__kwdefaults__ = original.__kwdefaults__

    def hook(self, coro, **kwargs):
        seen.append(kwargs.get("name"))
        return kept(self, coro, **kwargs)

    base_events._tw_test_hook = hook

    def traced(self, coro, **kwargs):
        return _tw_test_hook(self, coro, **kwargs)

    def install_by_replacing():
        asyncio.BaseEventLoop.create_task = traced_function

    def install_in_place():  # as dd-trace-py does: the function keeps its identity
        original.__code__ = traced.__code__

    traced_function = types.FunctionType(traced.__code__, base_events.__dict__, "create_task")
"""

SPAWN_AND_GROUP = """
    from taskwise import TaskGroup, spawn

    async def main():
        await spawn(asyncio.sleep(0), name="spawned")
        async with TaskGroup("g") as tg:
            tg.spawn(asyncio.sleep(0), name="child")

    asyncio.run(main())
    print(sorted(n for n in seen if n in ("spawned", "g/child")))
"""


@pytest.mark.parametrize("install", ["install_by_replacing", "install_in_place"])
@pytest.mark.parametrize("when", ["before import", "after import"])
def test_a_tracer_of_create_task_sees_every_task(install: str, when: str) -> None:
    if when == "before import":
        code = TRACER + f"\n    {install}()\n" + SPAWN_AND_GROUP
    else:
        code = TRACER + "\n    import taskwise\n" + f"\n    {install}()\n" + SPAWN_AND_GROUP
    assert run_script(code).strip() == "['g/child', 'spawned']"


@pytest.mark.parametrize("install", ["install_by_replacing", "install_in_place"])
def test_a_tracer_installed_while_the_loop_runs_sees_spawns_from_the_next_iteration(
    install: str,
) -> None:
    # spawn() checks create_task() on the first spawn of each loop iteration (the keeper's
    # tick forgets the verdict): what a tracer installed mid-iteration misses is at most
    # the rest of that iteration, as documented in docs/spawn.md.
    code = (
        TRACER
        + """
    from taskwise import spawn

    async def main():
        await spawn(asyncio.sleep(0), name="before")  # the fast path is known to be safe
        spawn(asyncio.sleep(0), name="same iteration")
        """
        + f"{install}()"
        + """
        await asyncio.sleep(0)
        await spawn(asyncio.sleep(0), name="next iteration")
        for _ in range(3):
            await asyncio.sleep(0)
        spawn(asyncio.sleep(0), name="idle keeper")
        await asyncio.sleep(0)

    asyncio.run(main())
    print(sorted(n for n in seen if n in ("before", "next iteration", "idle keeper")))
"""
    )
    assert run_script(code).strip() == "['idle keeper', 'next iteration']"


@pytest.mark.parametrize("kind", KINDS)
def test_a_factory_or_debug_mode_set_between_two_spawns_applies_to_the_second(
    kind: str,
) -> None:
    made: list[str] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        made.append(coro.__qualname__)
        return asyncio.Task(coro, loop=loop, **kwargs)

    async def first() -> None:
        pass

    async def second() -> None:
        pass

    async def main() -> asyncio.Task[None]:
        loop = asyncio.get_running_loop()
        previous = loop.get_task_factory()
        spawn(first())
        spawn(first())  # the fast path, if this loop has one
        loop.set_task_factory(factory)  # type: ignore[arg-type]
        spawn(second())
        loop.set_task_factory(previous)
        loop.set_debug(True)
        try:
            debugged = spawn(first())  # the line the creation traceback must end at
        finally:
            loop.set_debug(False)
        await asyncio.sleep(0)
        return debugged

    loop = new_loop(kind)
    try:
        debugged = loop.run_until_complete(main())
    finally:
        loop.close()
    assert made == [
        "test_a_factory_or_debug_mode_set_between_two_spawns_applies_to_the_second.<locals>.second"
    ]
    source = debugged._source_traceback  # type: ignore[attr-defined]
    assert source, "debug mode was set: the task has a creation traceback"
    assert source[-1].filename == __file__
    assert (
        source[-1].line
        == "debugged = spawn(first())  # the line the creation traceback must end at"
    )


def test_the_fast_path_is_taken_for_asyncios_own_create_task() -> None:
    """Without a tracer the check recognises asyncio's code (else spawn would be slower)."""
    from taskwise._core import _spawn

    assert _spawn._stock_code() is asyncio.BaseEventLoop.create_task.__code__


# --- 1f: KeyboardInterrupt and SystemExit inside spawned tasks --------------------------


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager first steps: 3.12+")
@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
def test_an_interrupt_in_an_eager_first_step_propagates_and_asyncio_reports_it_once(
    error: type[BaseException],
) -> None:
    # Decided and documented (docs/spawn.md): the interrupt propagates out of spawn()
    # unchanged. The task is destroyed inside its own constructor, before spawn() could
    # see it, and asyncio says "Task exception was never retrieved" for it right there,
    # once. Nothing reports it again later.
    async def interrupted() -> None:
        raise error

    async def main() -> None:
        with pytest.raises(error):
            spawn(interrupted(), eager=True)
        for _ in range(10):
            await asyncio.sleep(0)
        gc.collect()

    loop = asyncio.new_event_loop()
    seen = collecting(loop)
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    gc.collect()
    assert [c["message"] for c in seen] == ["Task exception was never retrieved"]


@pytest.mark.parametrize("kind", KINDS)
def test_an_interrupt_in_a_spawned_task_leaves_the_loop_and_is_not_reported(kind: str) -> None:
    async def interrupted() -> None:
        await asyncio.sleep(0)
        raise KeyboardInterrupt

    async def main() -> None:
        spawn(interrupted())
        await asyncio.sleep(1)

    loop = new_loop(kind)
    seen = collecting(loop)
    try:
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(main())
        loop.run_until_complete(asyncio.sleep(0.01))
    finally:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
    gc.collect()
    assert seen == []


@needs_uvloop
def test_the_direct_path_under_uvloop_builds_what_uvloops_create_task_builds() -> None:
    """spawn() builds asyncio.Task(coro, loop=loop, name=name) itself on the uvloop versions
    whose create_task() is known to do that (then name the task): read it in their source."""
    from pathlib import Path

    from taskwise._core import _spawn

    assert uvloop is not None
    loop = uvloop.new_event_loop()
    try:
        known = _spawn._uvloop_create_task(loop) is uvloop.Loop.create_task
    finally:
        loop.close()
    source = (Path(uvloop.__file__).parent / "loop.pyx").read_text(encoding="utf-8")
    body = source[source.index("    def create_task(self, coro") :]
    body = body[: body.index("\n    def ", 10)]
    shape = [
        "self._check_closed()",
        "if self._task_factory is None:",
        "task = aio_Task(coro, loop=self",
        "if name is not None:",
        "set_name(name)",
        "return task",
    ]
    assert known == all(line in body for line in shape), body
    stdlib = (Path(uvloop.__file__).parent / "includes" / "stdlib.pxi").read_text(encoding="utf-8")
    assert "cdef aio_Task = asyncio.Task\n" in stdlib

"""TaskGroup.cancel(): asyncio's 3.15 semantics, on 3.10-3.13.

cancel() ends the group early: its children and its body are cancelled, and the
``async with`` exits without an error, unless a child failed (the errors are
raised) or the task is also cancelled from outside (CancelledError propagates).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any, NoReturn

import pytest

from taskwise import TaskGroup

if sys.version_info < (3, 11):
    from exceptiongroup import ExceptionGroup

pytestmark = pytest.mark.anyio

LONG = 10.0


def this_task() -> asyncio.Task[Any]:
    task = asyncio.current_task()
    assert task is not None
    return task


async def assert_no_cancel_left() -> None:
    """The group took back its own cancellation: nothing strikes at the next await."""
    if sys.version_info >= (3, 11):
        assert this_task().cancelling() == 0
    await asyncio.sleep(0)  # raises if a cancellation is still pending


async def test_cancel_from_the_body() -> None:
    reached: list[str] = []
    async with TaskGroup() as tg:
        children = [tg.spawn(asyncio.sleep(LONG)) for _ in range(3)]
        await asyncio.sleep(0)
        tg.cancel()
        try:
            await asyncio.sleep(LONG)
        except asyncio.CancelledError:
            reached.append("body cancelled")
            raise
    reached.append("after the block")
    assert reached == ["body cancelled", "after the block"]
    assert all(t.cancelled() for t in children)
    await assert_no_cancel_left()


async def test_cancel_from_the_body_without_awaiting_again() -> None:
    """The group's cancellation has not reached the body yet when it exits."""
    async with TaskGroup() as tg:
        tg.cancel()
    await assert_no_cancel_left()


async def test_cancel_from_the_body_with_children_and_no_await() -> None:
    async with TaskGroup() as tg:
        child = tg.spawn(asyncio.sleep(LONG))
        tg.cancel()
    assert child.cancelled()
    await assert_no_cancel_left()


async def test_cancel_from_a_child() -> None:
    body_cancelled = False

    async def stopper(tg: TaskGroup) -> None:
        await asyncio.sleep(0.01)
        tg.cancel()

    async with TaskGroup() as tg:
        stop = tg.spawn(stopper(tg))
        sibling = tg.spawn(asyncio.sleep(LONG))
        try:
            await asyncio.sleep(LONG)
        except asyncio.CancelledError:
            body_cancelled = True
            raise
    assert body_cancelled
    assert sibling.cancelled()
    assert stop.done()
    await assert_no_cancel_left()


async def test_cancel_while_the_group_waits_for_its_children() -> None:
    async def stopper(tg: TaskGroup) -> None:
        await asyncio.sleep(0.01)
        tg.cancel()
        await asyncio.sleep(LONG)

    async with TaskGroup() as tg:
        stop = tg.spawn(stopper(tg))
        sibling = tg.spawn(asyncio.sleep(LONG))
    assert stop.cancelled()
    assert sibling.cancelled()
    await assert_no_cancel_left()


async def test_cancel_from_an_unrelated_task() -> None:
    async def stopper(tg: TaskGroup) -> None:
        await asyncio.sleep(0.01)
        tg.cancel()

    async with TaskGroup() as tg:
        outsider = asyncio.create_task(stopper(tg))
        child = tg.spawn(asyncio.sleep(LONG))
        await asyncio.sleep(LONG)
    await outsider
    assert child.cancelled()
    await assert_no_cancel_left()


async def test_cancel_before_entering_cancels_on_entry() -> None:
    tg = TaskGroup("early")
    tg.cancel()
    body_cancelled = False
    async with tg:
        coro = asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="shutting down"):
            tg.spawn(coro)
        assert coro.cr_frame is None  # closed: no "never awaited" warning
        try:
            await asyncio.sleep(LONG)
        except asyncio.CancelledError:
            body_cancelled = True
            raise
    assert body_cancelled
    await assert_no_cancel_left()


async def test_cancel_after_exit_does_nothing() -> None:
    async with TaskGroup() as tg:
        child = tg.spawn(asyncio.sleep(0, "done"))
    tg.cancel()
    tg.cancel()
    assert child.result() == "done"
    await assert_no_cancel_left()
    assert "exiting" in repr(tg) or "entered" in repr(tg)


async def test_cancel_is_idempotent() -> None:
    async with TaskGroup() as tg:
        child = tg.spawn(asyncio.sleep(LONG))
        tg.cancel()
        tg.cancel()
        await asyncio.sleep(0)
        tg.cancel()  # pragma: no cover - the body was cancelled at the await
    assert child.cancelled()
    await assert_no_cancel_left()


async def test_body_that_swallows_the_cancellation_exits_normally() -> None:
    async with TaskGroup() as tg:
        tg.spawn(asyncio.sleep(LONG))
        tg.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(LONG)
        # carry on, then leave the block normally
        await asyncio.sleep(0)
    await assert_no_cancel_left()


async def test_errors_raised_while_cancelling_are_raised() -> None:
    async def fail_on_cancel() -> None:
        try:
            await asyncio.sleep(LONG)
        finally:
            raise ValueError("cleanup failed")

    with pytest.raises(ExceptionGroup) as info:
        async with TaskGroup() as tg:
            tg.spawn(fail_on_cancel())
            await asyncio.sleep(0)
            tg.cancel()
    assert [type(e) for e in info.value.exceptions] == [ValueError]
    await assert_no_cancel_left()


async def test_cancel_after_a_failure_changes_nothing() -> None:
    async def fail() -> NoReturn:
        raise KeyError("boom")

    with pytest.raises(ExceptionGroup) as info:
        async with TaskGroup() as tg:
            tg.spawn(fail())
            try:
                await asyncio.sleep(LONG)
            finally:
                tg.cancel()
    assert [type(e) for e in info.value.exceptions] == [KeyError]
    await assert_no_cancel_left()


async def test_cancelling_the_inner_group_leaves_the_outer_one_running() -> None:
    async with TaskGroup("outer") as outer:
        outer_child = outer.spawn(asyncio.sleep(0.02, "outer done"))
        async with TaskGroup("inner") as inner:
            inner_child = inner.spawn(asyncio.sleep(LONG))
            inner.cancel()
            await asyncio.sleep(LONG)
        assert inner_child.cancelled()
        await asyncio.sleep(0)  # the outer body is not cancelled
    assert outer_child.result() == "outer done"
    await assert_no_cancel_left()


async def test_cancelling_the_outer_group_from_the_inner_body() -> None:
    """The inner group sees a cancellation that is not its own and lets it through."""
    inner_raised: list[type[BaseException]] = []
    async with TaskGroup("outer") as outer:
        outer_child = outer.spawn(asyncio.sleep(LONG))
        try:
            async with TaskGroup("inner") as inner:
                inner_child = inner.spawn(asyncio.sleep(LONG))
                outer.cancel()
                await asyncio.sleep(LONG)
        except BaseException as exc:
            inner_raised.append(type(exc))
            raise
    assert inner_raised == [asyncio.CancelledError]
    assert inner_child.cancelled()
    assert outer_child.cancelled()
    await assert_no_cancel_left()


async def test_cancel_and_an_outside_cancel_propagates() -> None:
    """gh-155433: the remaining cancellation is not the group's: it is not dropped."""
    started = asyncio.Event()

    async def slow_cleanup() -> None:
        try:
            started.set()
            await asyncio.sleep(LONG)
        except asyncio.CancelledError:
            await asyncio.sleep(0.02)
            raise

    async def runner() -> None:
        async with TaskGroup() as tg:
            tg.spawn(slow_cleanup())
            await started.wait()
            tg.cancel()
        pytest.fail("the outside cancellation was lost")  # pragma: no cover

    r = asyncio.create_task(runner())
    await started.wait()
    await asyncio.sleep(0.005)  # the group waits for the child's cleanup
    r.cancel()
    with pytest.raises(asyncio.CancelledError):
        await r


@pytest.mark.parametrize("group_first", [False, True], ids=["outside-first", "group-first"])
async def test_outside_cancel_and_group_cancel_in_the_same_step_propagate(
    group_first: bool,
) -> None:
    """An outside cancel and cancel() before the task runs again, in either order: the
    outside cancellation wins."""
    ready = asyncio.Event()
    box: list[TaskGroup] = []

    async def runner() -> None:
        async with TaskGroup() as tg:
            box.append(tg)
            tg.spawn(asyncio.sleep(LONG))
            ready.set()
            await asyncio.sleep(LONG)

    r = asyncio.create_task(runner())
    await ready.wait()
    cancels = [r.cancel, box[0].cancel]
    for cancel in reversed(cancels) if group_first else cancels:
        cancel()
    with pytest.raises(asyncio.CancelledError):
        await r


async def test_cancel_then_outside_cancel_without_children_propagates() -> None:
    """The same where the group's cancellation has already reached the body."""
    ready = asyncio.Event()
    box: list[TaskGroup] = []

    async def runner() -> None:
        async with TaskGroup() as tg:
            box.append(tg)
            ready.set()
            try:
                await asyncio.sleep(LONG)
            finally:
                await asyncio.sleep(0.01)  # the outside cancel arrives meanwhile

    r = asyncio.create_task(runner())
    await ready.wait()
    box[0].cancel()
    await asyncio.sleep(0.002)
    r.cancel()
    with pytest.raises(asyncio.CancelledError):
        await r


async def test_cancel_in_a_task_with_an_earlier_swallowed_cancel() -> None:
    """A group after an outside cancel that was caught and ignored still exits normally."""

    async def runner() -> str:
        try:
            await asyncio.sleep(LONG)
        except asyncio.CancelledError:
            if sys.version_info >= (3, 11):
                this_task().uncancel()  # how 3.11+ code says "handled"
        async with TaskGroup() as tg:
            tg.spawn(asyncio.sleep(LONG))
            tg.cancel()
            await asyncio.sleep(LONG)
        return "finished"

    r = asyncio.create_task(runner())
    await asyncio.sleep(0.005)
    r.cancel()
    assert await r == "finished"

"""Issue 9, section 1: where taskwise.TaskGroup differed from CPython main's TaskGroup.

A differential fuzz (taskwise against asyncio's TaskGroup and CPython main's
algorithm) found five differences; each has a named test here, and each of
these tests failed before the fix (1e only on 3.10, the only Python it was
about; 1d only under the eager task factory). "main" is CPython main's
TaskGroup, the newest algorithm, which taskwise promises on every Python.

One deliberate difference from main is pinned here too: where main itself
drops the body's error (1a with a child still to wait for), taskwise raises it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any, NoReturn

import pytest

from taskwise import TaskGroup
from test_group_semantics import cancel_is_pending, cancelling, this_task  # shared helpers

if sys.version_info < (3, 11):
    from exceptiongroup import ExceptionGroup

pytestmark = pytest.mark.anyio

HAS_CANCELLING = sys.version_info >= (3, 11)
LONG = 10.0  # a sleep that never ends in a passing test


class MyExc(Exception):
    pass


async def run_in_task(scenario: Any, cancel_when: asyncio.Event | None = None) -> list[str]:
    """Run *scenario(log)* in a task of its own, so that cancellations stay there.

    The scenario appends what happens to *log*; the task's end is logged too:
    "cancelled" if it ends cancelled. With *cancel_when*, the task is cancelled
    from outside as soon as the scenario sets that event.
    """
    log: list[str] = []
    task = asyncio.create_task(scenario(log))
    if cancel_when is not None:
        await cancel_when.wait()
        task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise  # pragma: no cover - the test's own task was cancelled
        log.append("cancelled")
    return log


# --- 1a: the body's exception is lost --------------------------------------------------


async def test_1a_body_error_with_cancel_and_an_outside_cancel_is_raised() -> None:
    """1a: cancel(), an outside cancel, then the body fails: the error is raised, and the
    outside cancellation strikes at the next await (before: a bare CancelledError, the
    ValueError gone, and the next await succeeded)."""

    async def scenario(log: list[str]) -> None:
        try:
            async with TaskGroup() as tg:
                tg.cancel()
                this_task().cancel()  # a cancellation from outside the group
                raise ValueError("body")
        except ExceptionGroup as eg:
            log.append(f"raised {[repr(e) for e in eg.exceptions]}")
        if HAS_CANCELLING:
            log.append(f"cancelling {cancelling(this_task())}")
        await asyncio.sleep(0)
        log.append("next await succeeded")  # pragma: no cover - a failure

    expected = ["raised [\"ValueError('body')\"]", "cancelling 1", "cancelled"]
    if not HAS_CANCELLING:
        expected.remove("cancelling 1")
    assert await run_in_task(scenario) == expected


async def test_1a_with_a_child_still_to_wait_for_the_error_is_raised_too() -> None:
    """1a with a child to wait for: the group's wait takes the outside cancellation, and
    CPython main then raises CancelledError and drops the body's ValueError (it checks
    for errors before adding the body's). taskwise loses nothing: it raises the
    ValueError and keeps the outside cancellation pending for the next await."""

    async def scenario(log: list[str]) -> None:
        try:
            async with TaskGroup() as tg:
                child = tg.spawn(asyncio.sleep(LONG))
                tg.cancel()
                this_task().cancel()
                raise ValueError("body")
        except ExceptionGroup as eg:
            log.append(f"raised {[repr(e) for e in eg.exceptions]}")
        log.append(f"child cancelled: {child.cancelled()}")
        await asyncio.sleep(0)
        log.append("next await succeeded")  # pragma: no cover - a failure

    assert await run_in_task(scenario) == [
        "raised [\"ValueError('body')\"]",
        "child cancelled: True",
        "cancelled",
    ]


# --- 1b: cancel() plus a pending outside cancellation, empty body -----------------------


@pytest.mark.parametrize("group_first", [True, False], ids=["cancel-first", "outside-first"])
async def test_1b_cancel_and_a_pending_outside_cancel_exit_normally(group_first: bool) -> None:
    """1b: the block exits normally, and the outside cancellation, which has not reached
    the task yet, strikes at the next await (before: CancelledError from the block)."""

    async def scenario(log: list[str]) -> None:
        async with TaskGroup() as tg:
            cancels = [tg.cancel, this_task().cancel]
            for cancel in cancels if group_first else reversed(cancels):
                cancel()
        log.append("left the block")
        if HAS_CANCELLING:
            log.append(f"cancelling {cancelling(this_task())}")
        await asyncio.sleep(0)
        log.append("next await succeeded")  # pragma: no cover - a failure

    expected = ["left the block", "cancelling 1", "cancelled"]
    if not HAS_CANCELLING:
        expected.remove("cancelling 1")
    assert await run_in_task(scenario) == expected


# --- 1c: one extra loop iteration at group exit -----------------------------------------


async def crash_at_once() -> NoReturn:
    raise MyExc("child")


async def test_1c_group_exit_takes_no_extra_loop_iteration() -> None:
    """1c: a child fails and the body swallows the group's CancelledError. The group
    leaves the block in the same step, as asyncio does: a callback scheduled at the end
    of the body runs after the code that follows the block (before: before it)."""
    loop = asyncio.get_running_loop()

    async def scenario(log: list[str]) -> None:
        try:
            async with TaskGroup() as tg:
                tg.spawn(crash_at_once())
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.sleep(LONG)
                loop.call_soon(log.append, "next loop iteration")
        except ExceptionGroup:
            log.append("left the block")
        await asyncio.sleep(0)

    assert await run_in_task(scenario) == ["left the block", "next loop iteration"]
    assert not await cancel_is_pending()


async def test_1c_a_sibling_failing_in_that_iteration_is_cancelled_first(loop_kind: str) -> None:
    """1c, as an outcome: an outer group's child is about to fail in the next loop
    iteration when the inner group exits. The inner group's error reaches the outer
    group at once, which cancels that child first, as asyncio's groups do (before: the
    extra iteration let the child fail, and its error joined the outer group's)."""
    outer_child: list[asyncio.Task[None]] = []

    async def fails_next_iteration() -> None:
        if loop_kind == "eager":
            await asyncio.sleep(0)  # its first step runs inside spawn(): fail in the next one
        raise KeyError("outer child")

    async def scenario(log: list[str]) -> None:
        try:
            async with TaskGroup("outer") as outer, TaskGroup("inner") as inner:
                inner.spawn(crash_at_once())
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.sleep(LONG)
                outer_child.append(outer.spawn(fails_next_iteration()))
        except ExceptionGroup as eg:
            log.append(repr(eg.exceptions))

    assert await run_in_task(scenario) == [
        "(ExceptionGroup('unhandled errors in a TaskGroup', [MyExc('child')]),)"
    ]
    assert outer_child[0].cancelled()


# --- 1d: children that finish in their eager first step ---------------------------------


async def noop() -> None:
    pass


async def test_1d_a_child_done_at_once_is_still_waited_for(loop_kind: str) -> None:
    """1d (gh-128550/gh-128588): a child that finishes in its eager first step joins the
    group all the same, so the group waits for it, and a cancellation of the task
    before the body ends is raised from the block, under every loop (before, under the
    eager factory: the block exited and the next await was cancelled)."""
    children: list[asyncio.Task[None]] = []

    async def scenario(log: list[str]) -> None:
        async with TaskGroup() as tg:
            children.append(tg.spawn(noop()))
            log.append(f"done at once: {children[0].done()}")
            this_task().cancel()
        log.append("left the block")  # pragma: no cover - a failure

    assert await run_in_task(scenario) == [f"done at once: {loop_kind == 'eager'}", "cancelled"]
    assert children[0].done() and not children[0].cancelled()


async def test_1d_a_child_done_at_once_is_in_the_group_until_its_callback(loop_kind: str) -> None:
    """1d: as in main, the group holds such a child until its done-callback runs."""
    async with TaskGroup() as tg:
        child = tg.spawn(noop())
        assert child.done() == (loop_kind == "eager")
        assert child in tg.tasks
    assert not tg.tasks


# --- 1e: 3.10 lost an outside cancellation ----------------------------------------------


async def test_1e_body_turns_the_outside_cancellation_into_an_error() -> None:
    """1e: the outside cancellation is still in effect after the group raised the error:
    the next await is cancelled, as on 3.11+ (before, on 3.10: it succeeded)."""
    ready = asyncio.Event()

    async def scenario(log: list[str]) -> None:
        try:
            async with TaskGroup():
                ready.set()
                try:
                    await asyncio.sleep(LONG)
                except asyncio.CancelledError:
                    raise MyExc("instead") from None
        except ExceptionGroup as eg:
            log.append(f"raised {[repr(e) for e in eg.exceptions]}")
        await asyncio.sleep(0)
        log.append("next await succeeded")  # pragma: no cover - a failure

    assert await run_in_task(scenario, cancel_when=ready) == [
        "raised [\"MyExc('instead')\"]",
        "cancelled",
    ]


async def test_1e_group_cancel_during_the_cleanup_of_an_outside_cancel() -> None:
    """1e: an outside cancellation reaches the body; during the body's cleanup a child
    calls tg.cancel(). The outside cancellation propagates from the block, as on 3.11+
    (before, on 3.10: the block exited normally)."""
    ready = asyncio.Event()
    cleaning = asyncio.Event()

    async def stopper(tg: TaskGroup) -> None:
        await cleaning.wait()
        tg.cancel()

    async def scenario(log: list[str]) -> None:
        async with TaskGroup() as tg:
            tg.spawn(stopper(tg))
            ready.set()
            try:
                await asyncio.sleep(LONG)
            finally:
                log.append("cleanup")
                cleaning.set()
                await asyncio.sleep(LONG)  # cancelled by the child's tg.cancel()
        log.append("left the block")  # pragma: no cover - a failure

    assert await run_in_task(scenario, cancel_when=ready) == ["cleanup", "cancelled"]


async def test_1e_outside_cancel_merged_into_the_groups_then_turned_into_an_error() -> None:
    """1e, found by the differential test: a child fails and the group cancels the body;
    before the body runs, the task is cancelled from outside too (on 3.10 the two merge
    into the group's CancelledError); the body turns it into an error. The outside
    cancellation still strikes at the next await."""
    loop = asyncio.get_running_loop()
    runner: list[asyncio.Task[None]] = []

    async def fail() -> NoReturn:
        await asyncio.sleep(0)
        # The outside cancel comes two iterations on: after the group has cancelled
        # the body for this failure, before the body has run.
        loop.call_soon(loop.call_soon, runner[0].cancel)
        raise MyExc("child")

    async def scenario(log: list[str]) -> None:
        runner.append(this_task())
        try:
            async with TaskGroup() as tg:
                tg.spawn(fail())
                try:
                    await asyncio.sleep(LONG)
                except asyncio.CancelledError:
                    raise MyExc("body") from None
        except ExceptionGroup as eg:
            log.append(f"raised {sorted(repr(e) for e in eg.exceptions)}")
        await asyncio.sleep(0)
        log.append("next await succeeded")  # pragma: no cover - a failure

    assert await run_in_task(scenario) == [
        "raised [\"MyExc('body')\", \"MyExc('child')\"]",
        "cancelled",
    ]


async def test_1e_group_cancel_in_the_cleanup_turned_into_an_error() -> None:
    """1e, found by the differential test: an outside cancellation reaches the body; a
    child fails during the body's cleanup, and the group cancels the cleanup; the body
    turns that into an error. Both errors are raised, and the outside cancellation
    strikes at the next await (before, on 3.10: the next await succeeded)."""
    ready = asyncio.Event()
    cleaning = asyncio.Event()

    async def fail_during_cleanup() -> NoReturn:
        await cleaning.wait()
        raise MyExc("child")

    async def scenario(log: list[str]) -> None:
        try:
            async with TaskGroup() as tg:
                tg.spawn(fail_during_cleanup())
                ready.set()
                try:
                    try:
                        await asyncio.sleep(LONG)
                    finally:
                        cleaning.set()
                        await asyncio.sleep(LONG)  # cancelled by the group, for the child
                except asyncio.CancelledError:
                    raise MyExc("body") from None
        except ExceptionGroup as eg:
            log.append(f"raised {sorted(repr(e) for e in eg.exceptions)}")
        await asyncio.sleep(0)
        log.append("next await succeeded")  # pragma: no cover - a failure

    assert await run_in_task(scenario, cancel_when=ready) == [
        "raised [\"MyExc('body')\", \"MyExc('child')\"]",
        "cancelled",
    ]


async def test_1e_an_outside_cancel_seen_by_an_inner_group_reaches_the_outer_one() -> None:
    """1e, found by the differential test: cancel() of the outer group reaches the inner
    group's wait; while it cancels its child, the task is cancelled from outside. The
    inner group raises a CancelledError that carries both: the outer group must see
    the outside one in it and raise it too (before, on 3.10, its block exited)."""
    runner: list[asyncio.Task[None]] = []

    async def child() -> None:
        try:
            await asyncio.sleep(LONG)
        except asyncio.CancelledError:
            runner[0].cancel()  # from outside, while the inner group waits for this child
            raise

    async def scenario(log: list[str]) -> None:
        runner.append(this_task())
        async with TaskGroup("outer") as outer:
            outer.cancel()
            async with TaskGroup("inner") as inner:
                inner.spawn(child())
        log.append("left the block")  # pragma: no cover - a failure

    assert await run_in_task(scenario) == ["cancelled"]


@pytest.mark.skipif(not hasattr(asyncio, "timeout"), reason="asyncio.timeout() is 3.11+")
async def test_a_timeout_around_a_cancelled_group_leaves_no_cancellation_behind() -> None:
    """Found by the differential test: on 3.11/3.12 the group takes back its cancel()
    in a step of its own, and a timeout around it can expire during that step. That
    is a TimeoutError then (3.13+: the group needs no step, and the timeout does not
    expire); either way no cancellation is left to strike at the next await."""

    async def scenario(log: list[str]) -> None:
        try:
            async with asyncio.timeout(0):  # type: ignore[attr-defined,unused-ignore]
                async with TaskGroup() as tg:
                    tg.cancel()
        except TimeoutError:
            log.append("timed out")
        await asyncio.sleep(0)
        log.append("next await succeeded")

    assert (await run_in_task(scenario))[-1] == "next await succeeded"


# --- 3.10 guards: what is NOT an outside cancellation ----------------------------------


async def test_a_timeout_turned_into_an_error_is_no_outside_cancellation() -> None:
    """wait_for() turns the cancellation of its inner task into TimeoutError: the
    group raises that, and nothing cancels the task afterwards."""
    with pytest.raises(ExceptionGroup) as info:
        async with TaskGroup():
            await asyncio.wait_for(asyncio.sleep(LONG), 0.001)
    assert [type(e) for e in info.value.exceptions] == [asyncio.TimeoutError]
    assert not await cancel_is_pending()


async def test_a_cancelled_child_turned_into_an_error_is_no_outside_cancellation() -> None:
    """The body awaits a task that was cancelled and turns that into an error."""
    with pytest.raises(ExceptionGroup) as info:
        async with TaskGroup() as tg:
            child = tg.spawn(asyncio.sleep(LONG))
            await asyncio.sleep(0)
            child.cancel()
            try:
                await child
            except asyncio.CancelledError:
                raise MyExc("child was cancelled") from None
    assert [type(e) for e in info.value.exceptions] == [MyExc]
    assert not await cancel_is_pending()


async def test_an_outside_cancellation_left_pending_stays_outside_for_the_next_group() -> None:
    """3.10: the first group leaves the outside cancellation pending (1b) under the
    outside message, so that the next group does not take it for its own and drop it."""

    async def scenario(log: list[str]) -> None:
        async with TaskGroup() as first:
            this_task().cancel()
            first.cancel()
        log.append("left the first block")
        async with TaskGroup() as second:
            second.cancel()
        log.append("left the second block")
        await asyncio.sleep(0)
        log.append("next await succeeded")  # pragma: no cover - a failure

    assert await run_in_task(scenario) == [
        "left the first block",
        "left the second block",
        "cancelled",
    ]

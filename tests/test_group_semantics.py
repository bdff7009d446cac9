"""taskwise.TaskGroup behaves like asyncio.TaskGroup (3.13+, with fixes up to 3.15) on 3.10-3.13.

The scenarios follow CPython's Lib/test/test_asyncio/test_taskgroups.py, one
test here per scenario there (its name is in each docstring), written anew for
our API (``spawn``) and our test runner. Every async test runs on the default
loop, uvloop and the eager task factory (3.12+).

Where a Python's own asyncio.TaskGroup behaves differently, these tests pin
OUR documented semantics, and say so:

* 3.11's asyncio.TaskGroup lets an outside cancellation win over errors raised
  by children while they were being cancelled (it raises CancelledError).
  From 3.12 on, and here on every Python, the errors win: an ExceptionGroup is
  raised and the outside cancellation stays pending (``cancelling()`` stays
  raised) so that it strikes at the next await.
* 3.10 has no ``Task.cancelling()``: where CPython checks the counter, the
  3.10 leg checks what the counter is for, that the cancellation is or is
  not still pending at the task's next await.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import types
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any, NoReturn

import pytest

from taskwise import TaskGroup

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup, ExceptionGroup

pytestmark = pytest.mark.anyio

HAS_CANCELLING = sys.version_info >= (3, 11)
LONG = 10.0  # a sleep that never ends in a passing test


class MyExc(Exception):
    pass


class MyBaseExc(BaseException):
    pass


def error_types(eg: BaseExceptionGroup[Any]) -> set[type[BaseException]]:
    return {type(exc) for exc in eg.exceptions}


def this_task() -> asyncio.Task[Any]:
    task = asyncio.current_task()
    assert task is not None
    return task


def cancelling(task: asyncio.Task[Any]) -> int:
    """The task's cancellation count (3.11+)."""
    return task.cancelling()  # type: ignore[attr-defined,no-any-return,unused-ignore]


async def cancel_is_pending() -> bool:
    """Whether a cancellation strikes at this task's next await (consumed if so)."""
    try:
        await asyncio.sleep(0)
    except asyncio.CancelledError:
        return True
    return False


async def crash(
    delay: float, exc: BaseException | type[BaseException] = ZeroDivisionError
) -> NoReturn:
    await asyncio.sleep(delay)
    raise exc


async def value_after(delay: float, value: int) -> int:
    await asyncio.sleep(delay)
    return value


async def fail_when_cancelled() -> None:
    try:
        await asyncio.sleep(LONG)
    finally:
        raise ZeroDivisionError


async def started(task: asyncio.Task[Any], steps: int = 5) -> None:
    """Let *task* run until it waits (a few loop iterations)."""
    for _ in range(steps):
        await asyncio.sleep(0)
    assert not task.done()


# --- Children finishing, failing and being cancelled ---------------------------------


async def test_results_of_children() -> None:
    """taskgroup_01: the block waits for every child; their results are there after it."""
    async with TaskGroup() as tg:
        t1 = tg.spawn(value_after(0.01, 42))
        t2 = tg.spawn(value_after(0.02, 11))
    assert (t1.result(), t2.result()) == (42, 11)


async def test_spawn_after_the_body_waited() -> None:
    """taskgroup_02: a child spawned after the first one finished is waited for too."""
    async with TaskGroup() as tg:
        t1 = tg.spawn(value_after(0.01, 42))
        await asyncio.sleep(0.015)
        assert t1.done()
        t2 = tg.spawn(value_after(0.01, 11))
    assert (t1.result(), t2.result()) == (42, 11)


async def test_a_child_cancelled_by_hand_is_no_failure() -> None:
    """taskgroup_03: cancelling one child does not cancel the group."""
    async with TaskGroup() as tg:
        t1 = tg.spawn(value_after(LONG, 42))
        await asyncio.sleep(0)
        t1.cancel()
        t2 = tg.spawn(value_after(0.01, 11))
    assert t1.cancelled()
    assert t2.result() == 11


async def test_child_failure_cancels_sibling_and_skips_the_rest() -> None:
    """taskgroup_04: a failing child cancels its sibling; code after the block does not run."""
    sibling_cancelled = False
    after_block = False
    sibling: asyncio.Task[None] | None = None

    async def sleeper() -> None:
        nonlocal sibling_cancelled
        try:
            await asyncio.sleep(LONG)
        except asyncio.CancelledError:
            sibling_cancelled = True
            raise

    async def runner() -> None:
        nonlocal sibling, after_block
        async with TaskGroup() as tg:
            tg.spawn(crash(0.01))
            sibling = tg.spawn(sleeper())
        after_block = True  # pragma: no cover - the group raises

    with pytest.raises(ExceptionGroup) as info:
        await asyncio.create_task(runner())
    assert error_types(info.value) == {ZeroDivisionError}
    assert not after_block
    assert sibling_cancelled
    assert sibling is not None and sibling.cancelled()


async def test_child_failures_cancel_siblings_and_the_body() -> None:
    """cancel_children_on_child_error: several failures, one group, the body interrupted."""
    body_cancelled = False

    async def runner() -> None:
        nonlocal body_cancelled
        async with TaskGroup() as tg:
            for _ in range(3):
                tg.spawn(crash(0.01))
            tg.spawn(asyncio.sleep(LONG))
            try:
                await asyncio.sleep(LONG)
            except asyncio.CancelledError:
                body_cancelled = True
                raise

    with pytest.raises(ExceptionGroup) as info:
        await asyncio.create_task(runner())
    assert error_types(info.value) == {ZeroDivisionError}
    assert 1 <= len(info.value.exceptions) <= 3
    assert body_cancelled


async def test_body_error_after_an_await_cancels_children() -> None:
    """taskgroup_09: the body fails after an await; children are cancelled."""
    children: list[asyncio.Task[int]] = []
    with pytest.raises(ExceptionGroup) as info:
        async with TaskGroup() as tg:
            children += [tg.spawn(value_after(LONG, 1)), tg.spawn(value_after(LONG, 2))]
            await asyncio.sleep(0.01)
            1 / 0  # noqa: B018
    assert error_types(info.value) == {ZeroDivisionError}
    assert all(t.cancelled() for t in children)


async def test_body_error_at_once_cancels_children() -> None:
    """taskgroup_10: the body fails before the children ever ran."""
    children: list[asyncio.Task[int]] = []
    with pytest.raises(ExceptionGroup) as info:
        async with TaskGroup() as tg:
            children += [tg.spawn(value_after(LONG, 1)), tg.spawn(value_after(LONG, 2))]
            1 / 0  # noqa: B018
    assert error_types(info.value) == {ZeroDivisionError}
    assert all(t.cancelled() for t in children)


async def test_body_error_and_child_errors_are_raised_together() -> None:
    """taskgroup_19: the body, cancelled by a failing child, fails too: both are raised."""

    async def body_step() -> None:
        try:
            await asyncio.sleep(LONG)
        finally:
            raise MyExc

    with pytest.raises(ExceptionGroup) as info:
        async with TaskGroup() as tg:
            tg.spawn(crash(0.01))
            await body_step()
    assert error_types(info.value) == {MyExc, ZeroDivisionError}


async def test_body_turns_its_cancellation_into_an_error() -> None:
    """taskgroup_18: the body answers an outside cancellation with an error: that is raised."""
    body_cancelled = False

    async def runner() -> None:
        nonlocal body_cancelled
        async with TaskGroup():
            try:
                await asyncio.sleep(LONG)
            except asyncio.CancelledError:
                body_cancelled = True
                raise MyExc from None

    r = asyncio.create_task(runner())
    await started(r)
    r.cancel()
    with pytest.raises(ExceptionGroup) as info:
        await r
    assert error_types(info.value) == {MyExc}
    assert body_cancelled


async def test_child_spawns_into_its_group() -> None:
    """taskgroup_24: a child adds tasks to the group while the group is exiting."""
    grandchildren: list[asyncio.Task[int]] = []

    async def root(tg: TaskGroup) -> None:
        await asyncio.sleep(0.01)
        grandchildren.append(tg.spawn(value_after(0.01, 1)))
        grandchildren.append(tg.spawn(value_after(0.02, 2)))

    async with TaskGroup() as tg:
        tg.spawn(root(tg))
    assert [t.result() for t in grandchildren] == [1, 2]


async def test_hydra_of_children_ends_with_one_failure() -> None:
    """taskgroup_25: children spawning children until a sibling fails."""
    heads = 0
    enough = asyncio.Event()

    async def hydra(tg: TaskGroup) -> None:
        nonlocal heads
        heads += 1
        if heads >= 10:
            enough.set()
        await asyncio.sleep(0.001)
        tg.spawn(hydra(tg))
        tg.spawn(hydra(tg))

    async def hercules() -> None:
        await enough.wait()
        1 / 0  # noqa: B018

    with pytest.raises(ExceptionGroup) as info:
        async with TaskGroup() as tg:
            tg.spawn(hydra(tg))
            tg.spawn(hercules())
    assert error_types(info.value) == {ZeroDivisionError}
    assert heads >= 10


async def test_tasks_leave_the_group_as_they_finish() -> None:
    """taskgroup_23: the set of running tasks shrinks as children finish."""
    async with TaskGroup() as tg:
        for count in range(6):
            tg.spawn(asyncio.sleep(0.01))
            await asyncio.sleep(0.004)
            if count == 5:
                assert len(tg.tasks) < 5
        await asyncio.sleep(0.02)
        assert len(tg.tasks) == 0


async def test_no_spawn_after_a_failure() -> None:
    """no_create_task_after_failure: a child cancelled by the failure cannot spawn."""
    refused: list[str] = []

    async def late_spawner(tg: TaskGroup) -> None:
        try:
            await asyncio.sleep(LONG)
        except asyncio.CancelledError:
            with pytest.raises(RuntimeError, match="shutting down") as info:
                tg.spawn(crash(0))  # closed, so no "never awaited" warning
            refused.append(str(info.value))

    with pytest.raises(ExceptionGroup) as eg:
        async with TaskGroup() as tg:
            tg.spawn(crash(0.001))
            tg.spawn(late_spawner(tg))
    assert error_types(eg.value) == {ZeroDivisionError}
    assert len(refused) == 1


async def test_failing_context_manager_inside_the_body() -> None:
    """context_manager_exit_raises (gh-95289): the body's own error and the child's, no leaked cancel."""

    class CustomError(Exception):
        pass

    async def fail() -> NoReturn:
        raise CustomError

    @contextlib.asynccontextmanager
    async def database() -> AsyncIterator[None]:
        try:
            yield
        finally:
            raise CustomError

    async def main() -> None:
        with pytest.raises(ExceptionGroup) as info:
            async with TaskGroup() as tg, database():
                tg.spawn(fail())
                await asyncio.sleep(LONG)
        assert error_types(info.value) == {CustomError}
        assert len(info.value.exceptions) == 2
        if HAS_CANCELLING:
            assert cancelling(this_task()) == 0
        assert not await cancel_is_pending()

    await asyncio.create_task(main())


async def test_task_created_during_creation_is_cancelled() -> None:
    """cancels_task_if_created_during_creation (gh-128550): a grandchild fails at once."""
    ran = False
    with pytest.raises(ExceptionGroup) as info:
        async with TaskGroup() as tg:

            async def third() -> NoReturn:
                raise MyExc("third task failed")

            async def second() -> None:
                nonlocal ran
                tg.spawn(third())
                with pytest.raises(asyncio.CancelledError):
                    await asyncio.sleep(0)  # an eager child is cancelled here
                    await asyncio.sleep(0)  # a lazy one here
                ran = True

            tg.spawn(second())
    assert ran
    assert error_types(info.value) == {MyExc}


async def test_cancellation_does_not_leak_out_of_the_group() -> None:
    """cancellation_does_not_leak_out_of_tg: the group takes back the cancel it sent its body."""

    async def fail() -> NoReturn:
        raise MyExc

    with pytest.raises(ExceptionGroup):
        async with TaskGroup() as tg:
            tg.spawn(fail())
    if HAS_CANCELLING:
        assert cancelling(this_task()) == 0
    assert not await cancel_is_pending()


async def test_cancelling_level_preserved() -> None:
    """cancelling_level_preserved: after a failure the task's cancel count is back to zero."""
    with pytest.raises(ExceptionGroup):
        async with TaskGroup() as tg:
            tg.spawn(crash(0, RuntimeError))
    if HAS_CANCELLING:
        assert cancelling(this_task()) == 0
    assert not await cancel_is_pending()


# --- Cancellation from outside -----------------------------------------------------


async def test_outside_cancel_while_exiting_cancels_every_child(anyio_backend: Any) -> None:
    """cancellation: the task is cancelled while the group waits; every child is cancelled."""
    cancelled = 0

    async def child() -> None:
        nonlocal cancelled
        try:
            await asyncio.sleep(LONG)
        except asyncio.CancelledError:
            cancelled += 1
            raise

    async def runner() -> None:
        async with TaskGroup() as tg:
            for _ in range(5):
                tg.spawn(child())

    r = asyncio.create_task(runner())
    await started(r)
    r.cancel("by the test")
    with pytest.raises(asyncio.CancelledError) as info:
        await r
    if sys.version_info >= (3, 11):  # 3.10 drops the message on the way to the awaiter
        assert info.value.args == ("by the test",)
    assert cancelled == 5


async def test_outside_cancel_reaches_the_body_and_the_children() -> None:
    """taskgroup_07: the body and the five children all see the cancellation."""
    cancelled = 0

    async def child() -> None:
        nonlocal cancelled
        try:
            await asyncio.sleep(LONG)
        except asyncio.CancelledError:
            cancelled += 1
            raise

    async def runner() -> None:
        nonlocal cancelled
        async with TaskGroup() as tg:
            for _ in range(5):
                tg.spawn(child())
            try:
                await asyncio.sleep(LONG)
            except asyncio.CancelledError:
                cancelled += 10
                raise

    r = asyncio.create_task(runner())
    await started(r)
    r.cancel()
    with pytest.raises(asyncio.CancelledError):
        await r
    assert cancelled == 15


async def test_outside_cancel_wins_over_later_failures() -> None:
    """cancellation_in_body: children that would fail later are cancelled first."""

    async def runner() -> None:
        async with TaskGroup() as tg:
            for _ in range(5):
                tg.spawn(crash(LONG))
            await asyncio.sleep(LONG)

    r = asyncio.create_task(runner())
    await started(r)
    r.cancel("by the test")
    with pytest.raises(asyncio.CancelledError) as info:
        await r
    if sys.version_info >= (3, 11):
        assert info.value.args == ("by the test",)


async def test_children_failing_on_cancel_beat_the_outside_cancel() -> None:
    """taskgroup_08: errors raised by cancelled children win (3.12+ semantics; 3.11 raised CancelledError)."""

    async def runner() -> None:
        async with TaskGroup() as tg:
            for _ in range(5):
                tg.spawn(fail_when_cancelled())
            await asyncio.sleep(LONG)

    r = asyncio.create_task(runner())
    await started(r)
    r.cancel()
    with pytest.raises(ExceptionGroup) as info:
        await r
    assert error_types(info.value) == {ZeroDivisionError}
    assert len(info.value.exceptions) == 5


async def test_nested_groups_cancelled_from_outside() -> None:
    """taskgroup_11 (and the 3.11 variant): errors nest, ExceptionGroup(ExceptionGroup(...))."""

    async def runner() -> None:
        async with TaskGroup(), TaskGroup() as inner:
            for _ in range(5):
                inner.spawn(fail_when_cancelled())
            await asyncio.sleep(LONG)

    r = asyncio.create_task(runner())
    await started(r)
    r.cancel()
    with pytest.raises(ExceptionGroup) as info:
        await r
    assert error_types(info.value) == {ExceptionGroup}
    assert error_types(info.value.exceptions[0]) == {ZeroDivisionError}  # type: ignore[arg-type]


async def test_nested_groups_with_an_outer_child_cancelled_from_outside() -> None:
    """taskgroup_12: the outer group also has a child; same nesting of errors."""

    async def runner() -> None:
        async with TaskGroup() as outer:
            outer.spawn(asyncio.sleep(LONG))
            async with TaskGroup() as inner:
                for _ in range(5):
                    inner.spawn(fail_when_cancelled())
                await asyncio.sleep(LONG)

    r = asyncio.create_task(runner())
    await started(r)
    r.cancel()
    with pytest.raises(ExceptionGroup) as info:
        await r
    assert error_types(info.value) == {ExceptionGroup}
    assert error_types(info.value.exceptions[0]) == {ZeroDivisionError}  # type: ignore[arg-type]


async def test_nested_groups_without_errors_cancelled_from_outside() -> None:
    """taskgroup_11/12 as in 3.11: children that fail later are cancelled first: CancelledError."""

    async def runner() -> None:
        async with TaskGroup() as outer:
            outer.spawn(asyncio.sleep(LONG))
            async with TaskGroup() as inner:
                for _ in range(5):
                    inner.spawn(crash(LONG))
                await asyncio.sleep(LONG)

    r = asyncio.create_task(runner())
    await started(r)
    r.cancel()
    with pytest.raises(asyncio.CancelledError):
        await r


async def test_outer_child_failure_cancels_the_inner_group() -> None:
    """taskgroup_13: the outer group's child fails; the inner group is cancelled quietly."""

    async def runner() -> None:
        async with TaskGroup() as outer:
            outer.spawn(crash(0.01, ValueError))
            async with TaskGroup() as inner:
                inner.spawn(crash(LONG, ValueError))

    with pytest.raises(ExceptionGroup) as info:
        await asyncio.create_task(runner())
    assert error_types(info.value) == {ValueError}


async def test_inner_child_failure_nests_its_group() -> None:
    """taskgroup_14: the inner group's failure reaches the outer group as an ExceptionGroup."""

    async def runner() -> None:
        async with TaskGroup() as outer:
            outer.spawn(crash(LONG, ValueError))
            async with TaskGroup() as inner:
                inner.spawn(crash(0.01, ValueError))

    with pytest.raises(ExceptionGroup) as info:
        await asyncio.create_task(runner())
    assert error_types(info.value) == {ExceptionGroup}
    assert error_types(info.value.exceptions[0]) == {ValueError}  # type: ignore[arg-type]


async def slow_to_cancel_body() -> None:
    async with TaskGroup() as tg:
        tg.spawn(crash(0.03))
        try:
            await asyncio.sleep(LONG)
        except asyncio.CancelledError:
            await asyncio.sleep(0.06)  # the child fails meanwhile
            raise


async def test_child_fails_while_the_body_handles_an_outside_cancel() -> None:
    """taskgroup_15: the failure wins (3.12+ semantics; 3.11 raised CancelledError)."""
    r = asyncio.create_task(slow_to_cancel_body())
    await started(r)
    r.cancel()
    with pytest.raises(ExceptionGroup) as info:
        await r
    assert error_types(info.value) == {ZeroDivisionError}


async def test_child_fails_while_a_nested_task_handles_an_outside_cancel() -> None:
    """taskgroup_16: the same through a task that awaits the group's task."""

    async def runner() -> None:
        await asyncio.create_task(slow_to_cancel_body())

    r = asyncio.create_task(runner())
    await started(r)
    r.cancel()
    with pytest.raises(ExceptionGroup) as info:
        await r
    assert error_types(info.value) == {ZeroDivisionError}


async def test_outside_cancel_of_a_group_without_children() -> None:
    """taskgroup_17: the body sees the cancellation, which propagates."""
    seen = False

    async def runner() -> None:
        nonlocal seen
        async with TaskGroup():
            try:
                await asyncio.sleep(LONG)
            except asyncio.CancelledError:
                seen = True
                raise

    r = asyncio.create_task(runner())
    await started(r)
    r.cancel()
    with pytest.raises(asyncio.CancelledError):
        await r
    assert seen


async def test_outside_cancel_while_children_run() -> None:
    """taskgroup_22: the body is done, the children sleep, the task is cancelled."""
    children: list[asyncio.Task[int]] = []

    async def runner() -> None:
        async with TaskGroup() as tg:
            children.append(tg.spawn(value_after(LONG, 1)))
            children.append(tg.spawn(value_after(LONG, 2)))

    r = asyncio.create_task(runner())
    await started(r)
    r.cancel()
    with pytest.raises(asyncio.CancelledError):
        await r
    assert all(t.cancelled() for t in children)


async def test_repeated_outside_cancels_while_children_clean_up() -> None:
    """The exit loop: the task is cancelled again while children are slow to finish."""
    cleaned = 0

    async def slow_cleanup() -> None:
        nonlocal cleaned
        try:
            await asyncio.sleep(LONG)
        except asyncio.CancelledError:
            await asyncio.sleep(0.01)
            cleaned += 1
            raise

    async def runner() -> None:
        async with TaskGroup() as tg:
            tg.spawn(slow_cleanup())
            tg.spawn(slow_cleanup())

    r = asyncio.create_task(runner())
    await started(r)
    for _ in range(3):
        r.cancel()
        await asyncio.sleep(0)
    with pytest.raises(asyncio.CancelledError):
        await r
    assert cleaned == 2


async def test_nested_groups_both_cancelled() -> None:
    """nested_groups_both_cancelled: the inner group's error is handled; the outer's still pending."""
    task = this_task()
    inner_failed = False
    outer_pending_after_inner = False

    with pytest.raises(ExceptionGroup) as outer_info:
        async with TaskGroup() as outer:
            try:
                async with TaskGroup() as inner:
                    inner.spawn(crash(0, RuntimeError))
                    outer.spawn(crash(0, ValueError))
            except ExceptionGroup as eg:
                inner_failed = error_types(eg) == {RuntimeError}
            if HAS_CANCELLING:
                outer_pending_after_inner = cancelling(task) == 1
            else:
                outer_pending_after_inner = await cancel_is_pending()
    assert inner_failed
    assert outer_pending_after_inner
    assert error_types(outer_info.value) == {ValueError}
    if HAS_CANCELLING:
        assert cancelling(task) == 0
    assert not await cancel_is_pending()


async def test_error_and_outside_cancel() -> None:
    """error_and_cancel: an outside cancel during a failing group stays pending after it."""
    event = asyncio.Event()
    checks: list[bool] = []

    async def raise_error() -> NoReturn:
        event.set()
        await asyncio.sleep(0)
        raise RuntimeError

    async def inner() -> None:
        try:
            async with TaskGroup() as tg:
                tg.spawn(raise_error())
                await asyncio.sleep(LONG)
                pytest.fail("the body should have been cancelled")
        except ExceptionGroup as eg:
            checks.append(error_types(eg) == {RuntimeError})
            if HAS_CANCELLING:
                checks.append(cancelling(this_task()) == 1)
        await asyncio.sleep(LONG)
        pytest.fail("the outside cancellation should strike after the group")

    t = asyncio.create_task(inner())
    await event.wait()
    if HAS_CANCELLING:
        assert cancelling(t) == 0
    t.cancel()
    with pytest.raises(asyncio.CancelledError):
        await t
    assert t.cancelled()
    assert checks and all(checks)


async def test_outside_cancel_seen_before_the_groups_own() -> None:
    """A task cancelled from outside, then by its group in the same step, stays cancelled."""
    child_ready = asyncio.Event()

    async def failing_child() -> NoReturn:
        child_ready.set()
        await asyncio.sleep(0)
        raise MyExc

    async def runner() -> None:
        async with TaskGroup() as tg:
            tg.spawn(failing_child())
            await asyncio.sleep(LONG)

    r = asyncio.create_task(runner())
    await child_ready.wait()
    r.cancel()  # outside first; the child fails in the same loop iteration
    with pytest.raises(ExceptionGroup) as info:
        await r
    assert error_types(info.value) == {MyExc}


async def test_outside_cancel_after_the_groups_own_is_not_lost() -> None:
    """The group cancels its body for a failure, then the task is cancelled from outside too.

    The group must not mistake the outside cancellation for its own: after the
    ExceptionGroup the task is still cancelled (3.11+: cancelling() stays 1).
    """
    task_box: list[asyncio.Task[Any]] = []
    outcome: list[str] = []

    async def failing_child() -> NoReturn:
        await asyncio.sleep(0)
        task_box[0].cancel()  # the outside cancel, right after ours below
        raise MyExc

    async def runner() -> None:
        try:
            async with TaskGroup() as tg:
                tg.spawn(failing_child())
                await asyncio.sleep(LONG)
        except ExceptionGroup:
            outcome.append("errors")
        await asyncio.sleep(LONG)
        outcome.append("not cancelled")  # pragma: no cover - a failure

    r = asyncio.create_task(runner())
    task_box.append(r)
    with pytest.raises(asyncio.CancelledError):
        await r
    assert outcome == ["errors"]


# --- Base exceptions -----------------------------------------------------------------


async def raise_in_finally(exc: BaseException | type[BaseException]) -> None:
    try:
        await asyncio.sleep(LONG)
    finally:
        raise exc


async def test_keyboard_interrupt_from_the_body_propagates_bare() -> None:
    """taskgroup_20: KeyboardInterrupt in the body is raised as is; the child error is reported."""
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    old = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, ctx: reported.append(ctx))
    try:
        with pytest.raises(KeyboardInterrupt):
            async with TaskGroup() as tg:
                tg.spawn(crash(0.01))
                await raise_in_finally(KeyboardInterrupt)
    finally:
        loop.set_exception_handler(old)
    assert [type(ctx["exception"]) for ctx in reported] == [ZeroDivisionError]
    assert "KeyboardInterrupt" in reported[0]["message"]
    assert reported[0]["task_group"] is tg


async def test_system_exit_from_the_body_propagates_bare() -> None:
    """taskgroup_20 for SystemExit, without any other error."""
    child: list[asyncio.Task[None]] = []
    with pytest.raises(SystemExit):
        async with TaskGroup() as tg:
            child.append(tg.spawn(asyncio.sleep(LONG)))
            raise SystemExit(3)
    assert child[0].cancelled()


async def test_other_base_exception_from_the_body_is_grouped() -> None:
    """taskgroup_20a: a BaseException that is not KeyboardInterrupt/SystemExit is grouped."""
    with pytest.raises(BaseExceptionGroup) as info:
        async with TaskGroup() as tg:
            tg.spawn(crash(0.01))
            await raise_in_finally(MyBaseExc)
    assert error_types(info.value) == {MyBaseExc, ZeroDivisionError}


async def test_other_base_exception_from_a_child_is_grouped() -> None:
    """taskgroup_21a: a child's BaseException and the body's TypeError, grouped."""
    with pytest.raises(BaseExceptionGroup) as info:
        async with TaskGroup() as tg:
            tg.spawn(crash(0.01, MyBaseExc))
            await raise_in_finally(TypeError)
    assert error_types(info.value) == {MyBaseExc, TypeError}


@pytest.mark.parametrize("base", [KeyboardInterrupt, SystemExit])
def test_base_error_from_a_child_propagates_bare(base: type[BaseException]) -> None:
    """taskgroup_21 (disabled in CPython: the loop itself stops): bare, out of the loop.

    asyncio re-raises KeyboardInterrupt/SystemExit from a task's step out of
    run_until_complete(); the group must not wrap or swallow it, and once the
    loop runs again the group finishes with it, bare.
    """
    outcome: list[BaseException] = []

    async def runner() -> None:
        try:
            async with TaskGroup() as tg:
                tg.spawn(crash(0, base))
                await raise_in_finally(TypeError)
        except BaseException as exc:
            outcome.append(exc)
            raise

    loop = asyncio.new_event_loop()
    try:
        main = loop.create_task(runner())
        with pytest.raises(base):
            loop.run_until_complete(main)
        assert not main.done()  # the loop stopped; the group has not finished yet
        with pytest.raises(base):
            loop.run_until_complete(main)
        assert main.done()
        assert type(main.exception()) is base  # retrieved: nothing is logged at exit
    finally:
        loop.close()
    assert [type(e) for e in outcome] == [base]


# --- Async generators ----------------------------------------------------------------


async def test_async_generator_closed_inside_the_group() -> None:
    """GeneratorExit alone propagates bare, so that aclose() works."""
    child: list[asyncio.Task[None]] = []

    async def agen() -> AsyncIterator[int]:
        async with TaskGroup() as tg:
            child.append(tg.spawn(asyncio.sleep(LONG)))
            yield 1
            yield 2  # pragma: no cover - closed before

    gen = agen()
    assert await gen.__anext__() == 1
    await gen.aclose()
    assert child[0].cancelled()


async def test_async_generator_closed_with_a_child_failure() -> None:
    """GeneratorExit with other errors is grouped with them: nothing is swallowed."""
    ready = asyncio.Event()

    async def agen() -> AsyncIterator[int]:
        async with TaskGroup() as tg:
            tg.spawn(raise_in_finally(MyExc))
            await asyncio.sleep(0)
            ready.set()
            yield 1

    gen = agen()
    assert await gen.__anext__() == 1
    await ready.wait()
    with pytest.raises(BaseExceptionGroup) as info:
        await gen.aclose()
    assert error_types(info.value) == {GeneratorExit, MyExc}


# --- Contexts ------------------------------------------------------------------------


@pytest.mark.skipif(sys.version_info < (3, 11), reason="context= needs 3.11")
async def test_children_run_in_the_given_context() -> None:
    """taskgroup_task_context: context= runs the child in that context."""
    import contextvars

    var: contextvars.ContextVar[int | None] = contextvars.ContextVar("var", default=None)

    async def setter(value: int) -> None:
        await asyncio.sleep(0)
        var.set(value)

    async with TaskGroup() as tg:
        ctx = contextvars.copy_context()
        assert ctx.get(var) is None
        await tg.spawn(setter(1), context=ctx)
        assert ctx.get(var) == 1
        await tg.spawn(setter(2), context=ctx)
        assert ctx.get(var) == 2


@pytest.mark.skipif(sys.version_info >= (3, 11), reason="3.10 only")
async def test_context_needs_3_11_and_says_what_to_do() -> None:
    import contextvars

    coro = asyncio.sleep(0)
    async with TaskGroup() as tg:
        with pytest.raises(TypeError, match=r"3\.11 or later.*ctx\.run\(tg\.spawn, coro\)"):
            tg.spawn(coro, context=contextvars.copy_context())
        assert not tg.tasks
    assert coro.cr_frame is None  # closed


# --- Misuse --------------------------------------------------------------------------


async def test_enter_twice_while_entered() -> None:
    """taskgroup_already_entered."""
    tg = TaskGroup()
    async with tg:
        with pytest.raises(RuntimeError, match="has already been entered"):
            async with tg:
                pass  # pragma: no cover


async def test_enter_again_after_exit() -> None:
    """taskgroup_double_enter."""
    tg = TaskGroup()
    async with tg:
        pass
    with pytest.raises(RuntimeError, match="has already been entered"):
        async with tg:
            pass  # pragma: no cover


async def test_spawn_after_the_group_finished_closes_the_coroutine() -> None:
    """taskgroup_finished: RuntimeError, and no "never awaited" warning (warnings are errors)."""
    async with TaskGroup() as tg:
        pass
    coro = asyncio.sleep(0)
    with pytest.raises(RuntimeError, match=r"has finished.*create a new TaskGroup"):
        tg.spawn(coro)
    assert coro.cr_frame is None


async def test_spawn_before_entering_closes_the_coroutine() -> None:
    """taskgroup_not_entered."""
    tg = TaskGroup()
    coro = asyncio.sleep(0)
    with pytest.raises(RuntimeError, match=r"has not been entered.*async with TaskGroup"):
        tg.spawn(coro)
    assert coro.cr_frame is None


async def test_enter_outside_a_task() -> None:
    """taskgroup_without_parent_task: entering in a bare coroutine driven by a callback."""
    loop = asyncio.get_running_loop()
    tg = TaskGroup()
    done: asyncio.Future[BaseException] = loop.create_future()

    def drive() -> None:
        enter = tg.__aenter__()
        try:
            enter.send(None)
        except BaseException as exc:
            done.set_result(exc)
        else:  # pragma: no cover - a failure
            enter.close()

    loop.call_soon(drive)
    error = await done
    assert isinstance(error, RuntimeError)
    assert "inside an asyncio task" in str(error)
    coro = asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="has not been entered"):
        tg.spawn(coro)


def test_coroutine_closed_when_the_group_is_finished_on_a_plain_loop() -> None:
    """coro_closed_when_tg_closed: the same outside any test runner."""

    async def main() -> str:
        async with TaskGroup() as tg:
            pass
        with pytest.raises(RuntimeError, match="has finished") as info:
            tg.spawn(asyncio.sleep(0))
        return str(info.value)

    loop = asyncio.new_event_loop()
    try:
        assert "The coroutine was closed" in loop.run_until_complete(main())
    finally:
        loop.close()


# --- Eager tasks ---------------------------------------------------------------------


async def test_eager_child_that_finishes_at_once(loop_kind: str) -> None:
    """An eagerly finished child still joins and leaves the group through its callback."""

    async def quick() -> int:
        return 7

    async with TaskGroup() as tg:
        t = tg.spawn(quick())
        assert t.done() == (loop_kind == "eager")
    assert t.result() == 7


async def test_eager_child_failing_at_once_cancels_the_body(loop_kind: str) -> None:
    """gh-128588: an eager child that fails during spawn() cancels the body at its next await."""
    reached = []

    async def fail() -> NoReturn:
        raise MyExc

    with pytest.raises(ExceptionGroup) as info:
        async with TaskGroup() as tg:
            tg.spawn(fail())
            reached.append("after spawn")
            await asyncio.sleep(LONG)
            reached.append("after sleep")  # pragma: no cover
    assert reached == ["after spawn"]
    assert error_types(info.value) == {MyExc}
    if HAS_CANCELLING:
        assert cancelling(this_task()) == 0


async def test_eager_child_that_cancels_the_group_before_joining_it(loop_kind: str) -> None:
    """gh-155418: a child that calls cancel() in its first step is still cancelled itself."""
    child_cancelled = False

    async def canceller(tg: TaskGroup) -> None:
        nonlocal child_cancelled
        tg.cancel()
        try:
            await asyncio.sleep(LONG)
        except asyncio.CancelledError:
            child_cancelled = True
            raise

    async with TaskGroup() as tg:
        t = tg.spawn(canceller(tg))
        await asyncio.sleep(LONG)
    assert child_cancelled
    assert t.cancelled()


# --- References: no cycles through the raised exceptions ----------------------------


def other_referrers(obj: object) -> list[Any]:
    """Whatever refers to *obj*, except the calling test's own frame (or coroutine)."""
    caller = sys._getframe(1)
    found = []
    referrers = gc.get_referrers(obj)
    for ref in referrers:
        if ref is caller:
            continue
        if isinstance(ref, types.CoroutineType) and ref.cr_frame is caller:
            continue
        if isinstance(ref, tuple) and all(
            holder is caller or holder is referrers for holder in gc.get_referrers(ref)
        ):
            continue  # 3.10: the caller's frame keeps the exception it handles in a tuple
        found.append(ref)
    return found


class Done(Exception):
    pass


@contextlib.contextmanager
def gc_disabled() -> Iterator[None]:
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


async def test_no_reference_to_the_raised_group() -> None:
    """exception_refcycles_direct."""
    with gc_disabled():
        exc = None
        try:
            async with TaskGroup():
                raise Done
        except ExceptionGroup as e:
            exc = e
        assert exc is not None
        assert other_referrers(exc) == []


async def test_no_reference_to_the_errors() -> None:
    """exception_refcycles_errors: the group forgets its errors and __aexit__'s arguments."""
    with gc_disabled():
        exc = None
        try:
            async with TaskGroup():
                raise Done
        except ExceptionGroup as eg:
            exc = eg.exceptions[0]
        assert isinstance(exc, Done)
        assert other_referrers(exc) == []


async def test_no_reference_through_the_parent_task(loop_kind: str) -> None:
    """exception_refcycles_parent_task(_wr): the inner group forgets its task; the task is freed."""

    async def coro_fn() -> None:
        async with TaskGroup():
            raise Done

    with gc_disabled():
        exc = None
        try:
            async with TaskGroup() as outer:
                task_ref = weakref.ref(outer.spawn(coro_fn()))
        except ExceptionGroup as eg:
            inner = eg.exceptions[0]
            assert isinstance(inner, ExceptionGroup)
            exc = inner.exceptions[0]
            del inner
        assert isinstance(exc, Done)
        task = task_ref()
        if task is not None:
            # Eager only: the child failed inside loop.create_task(), whose frame
            # the traceback keeps, holding the task; CPython fixed its own frame
            # in 3.12.9/3.13.2 (gh-128552). spawn()'s frame must not hold it.
            assert loop_kind == "eager"
            holders = [r for r in gc.get_referrers(task) if isinstance(r, types.FrameType)]
            assert holders
            assert all("taskwise" not in r.f_code.co_filename for r in holders)
            del task, holders
        else:
            assert other_referrers(exc) == []


async def test_no_reference_to_a_propagated_cancellation() -> None:
    """exception_refcycles_propagate_cancellation_error (with a task cancelled from outside)."""

    async def runner() -> None:
        async with TaskGroup() as tg:
            tg.spawn(asyncio.sleep(LONG))

    with gc_disabled():
        r = asyncio.create_task(runner())
        await started(r)
        r.cancel()
        exc = None
        try:
            await r
        except asyncio.CancelledError as e:
            exc = e
        del r
        assert exc is not None
        assert [ref for ref in other_referrers(exc) if not isinstance(ref, asyncio.Task)] == []


async def test_no_reference_to_a_base_error() -> None:
    """exception_refcycles_base_error."""

    class MyKeyboardInterrupt(KeyboardInterrupt):
        pass

    with gc_disabled():
        exc = None
        try:
            async with TaskGroup():
                raise MyKeyboardInterrupt
        except MyKeyboardInterrupt as e:
            exc = e
        assert exc is not None
        assert other_referrers(exc) == []


# --- Two cancellations of one task in one step (3.10 has no counter for them) ---------


async def test_two_groups_cancel_their_task_in_the_same_step() -> None:
    """The outer group cancels the task, then the inner one, before it runs: both take theirs back."""

    go = asyncio.Event()

    async def fail_on_go(exc: type[Exception]) -> NoReturn:
        await go.wait()
        raise exc

    async def runner() -> None:
        async with TaskGroup() as outer:
            outer.spawn(fail_on_go(ValueError))
            async with TaskGroup() as inner:
                inner.spawn(fail_on_go(KeyError))
                go.set()  # both children fail in one loop iteration, the outer's first
                await asyncio.sleep(LONG)

    with pytest.raises(ExceptionGroup) as info:
        await asyncio.create_task(runner())
    assert error_types(info.value) == {ValueError, ExceptionGroup}
    nested = [e for e in info.value.exceptions if isinstance(e, ExceptionGroup)]
    assert error_types(nested[0]) == {KeyError}
    if HAS_CANCELLING:
        assert cancelling(this_task()) == 0
    assert not await cancel_is_pending()


async def test_outside_cancel_of_a_busy_task_then_the_groups_own() -> None:
    """Cancelled from outside while it is ready to run (no future awaited), then by cancel()."""
    box: list[TaskGroup] = []
    spinning = asyncio.Event()

    async def runner() -> None:
        async with TaskGroup() as tg:
            box.append(tg)
            while True:
                spinning.set()
                await asyncio.sleep(0)

    r = asyncio.create_task(runner())
    await spinning.wait()
    r.cancel()
    box[0].cancel()
    with pytest.raises(asyncio.CancelledError):
        await r


async def test_child_failing_after_its_groups_task_ended_is_reported() -> None:
    """The group's task finished without leaving the block: the failure goes to the loop's handler."""
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    old = loop.get_exception_handler()

    async def agen() -> AsyncIterator[int]:
        async with TaskGroup("held") as tg:
            tg.spawn(crash(0.01, MyExc), name="late")
            yield 1

    async def consumer() -> AsyncIterator[int]:
        gen = agen()
        await gen.__anext__()
        return gen  # this task ends with the group still open

    loop.set_exception_handler(lambda _, ctx: reported.append(ctx))
    try:
        gen = await asyncio.create_task(consumer())  # type: ignore[arg-type]
        await asyncio.sleep(0.03)
        assert [type(ctx["exception"]) for ctx in reported] == [MyExc]
        assert "failed after its group's task" in reported[0]["message"]
        assert reported[0]["task"].get_name() == "held/late"
        with pytest.raises(BaseExceptionGroup):
            await gen.aclose()  # the failure is also raised when the block is finally left
    finally:
        loop.set_exception_handler(old)

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
import sys
from typing import Any

import pytest

from taskwise import TaskGroup

if sys.version_info < (3, 11):
    pass

pytestmark = pytest.mark.anyio

HAS_CANCELLING = sys.version_info >= (3, 11)
LONG = 10.0  # a sleep that never ends in a passing test


class MyExc(Exception):
    pass


def this_task() -> asyncio.Task[Any]:
    task = asyncio.current_task()
    assert task is not None
    return task


def cancelling(task: asyncio.Task[Any]) -> int:
    return task.cancelling()  # type: ignore[attr-defined,no-any-return,unused-ignore]


async def cancel_is_pending() -> bool:
    """Whether a cancellation strikes at this task's next await (consumed if so)."""
    try:
        await asyncio.sleep(0)
    except asyncio.CancelledError:
        return True
    return False


async def run_in_task(scenario: Any) -> list[str]:
    """Run *scenario(log)* in a task of its own, so that cancellations stay there.

    The scenario appends what happens to *log*; the task's end is logged too:
    "cancelled" if it ends cancelled.
    """
    log: list[str] = []
    task = asyncio.create_task(scenario(log))
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise  # pragma: no cover - the test's own task was cancelled
        log.append("cancelled")
    return log


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

"""Graceful shutdown of spawned tasks: a live view of them, and a drain with a timeout."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator, Set
from dataclasses import dataclass
from typing import Any, final

from . import _hooks
from ._checks import not_on_asyncio
from ._keeper import Keeper, keeper_or_none

__all__ = ["ShutdownResult", "shutdown_spawned", "spawned_tasks"]


def _running_loop(call: str) -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(not_on_asyncio(call)) from None


class _SpawnedView(Set[asyncio.Task[Any]]):
    """The tasks spawn() keeps on one loop that have not finished: live, read-only."""

    __slots__ = ("_loop",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def _tasks(self) -> Iterator[asyncio.Task[Any]]:
        keeper = keeper_or_none(self._loop)  # none yet, if nothing was spawned so far
        return iter(()) if keeper is None else keeper.tasks()

    def __contains__(self, task: object) -> bool:
        return any(t is task for t in self._tasks())

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        return iter(tuple(self._tasks()))  # a snapshot: tasks finish while you iterate

    def __len__(self) -> int:
        return sum(1 for _ in self._tasks())

    def __repr__(self) -> str:
        names = ", ".join(sorted(repr(t.get_name()) for t in self._tasks()))
        return f"<spawned tasks: {names}>"

    @classmethod
    def _from_iterable(cls, tasks: Any) -> frozenset[Any]:
        return frozenset(tasks)  # what &, |, - and ^ build: a plain frozenset


def spawned_tasks() -> Set[asyncio.Task[object]]:
    """The tasks :func:`spawn` keeps alive on the running loop: a live, read-only view.

    It holds the tasks that have not finished yet, whoever else references them
    (tasks of :class:`TaskGroup` are not in it: their group waits for them).
    Iterating gives a snapshot, so tasks may finish meanwhile; ``len()`` and
    ``in`` look at the moment they are asked. For dashboards, health checks and
    tests.

    Raises:
        RuntimeError: no asyncio event loop is running in this thread.

    Example::

        async def main() -> None:
            task = spawn(asyncio.sleep(1), name="nap")
            assert task in spawned_tasks()
            task.cancel()
    """
    return _SpawnedView(_running_loop("spawned_tasks()"))


@final
@dataclass(frozen=True)
class ShutdownResult:
    """What :func:`shutdown_spawned` did: which tasks it had to cancel, if any.

    ``str(result)`` is a sentence for the log.
    """

    #: The names of the spawned tasks still running when the timeout expired,
    #: which were then cancelled (and waited for). Empty if all finished in time.
    cancelled: tuple[str, ...]
    #: The timeout that was given.
    timeout: float | None

    def __str__(self) -> str:
        if not self.cancelled:
            return "every spawned task finished"
        names = ", ".join(repr(name) for name in self.cancelled)
        count = len(self.cancelled)
        return (
            f"cancelled {count} spawned task{'s' if count != 1 else ''} still running "
            f"after {self.timeout:g} s: {names}"
        )


async def shutdown_spawned(timeout: float | None = None) -> ShutdownResult:
    """Let the tasks :func:`spawn` started finish; after *timeout* seconds, cancel the rest.

    Waits for every task spawned on the running loop, including those spawned
    while it waits, to finish. When *timeout* (seconds; ``None``: no limit)
    expires first, it cancels the tasks still running, with a message that says
    so, and waits for them to finish too. Failures among them are reported as
    spawn() reports any failure: once, through the loop's exception handler,
    unless somebody reads them. The task calling it is not waited for, so a
    spawned task may call it too.

    Call it where a program stops taking new work: at the end of ``main()``
    before ``asyncio.run()`` returns, in aiohttp's ``on_shutdown``, or after the
    ``yield`` of a Starlette/FastAPI lifespan.

    Args:
        timeout: how long to let the tasks run on, in seconds, or ``None``.

    Returns:
        A :class:`ShutdownResult` naming the tasks it had to cancel.

    Raises:
        ValueError: *timeout* is negative or not a number.
        RuntimeError: no asyncio event loop is running in this thread.

    Example::

        async def main() -> None:
            spawn(asyncio.sleep(0.01), name="flush")
            spawn(asyncio.sleep(60), name="poll")
            result = await shutdown_spawned(timeout=0.1)
            assert result.cancelled == ("poll",)
    """
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or math.isnan(timeout)
        or timeout < 0
    ):
        raise ValueError(
            f"shutdown_spawned(timeout=) takes a number of seconds, 0 or more, or None to "
            f"wait without a limit; got {timeout!r}. For example: shutdown_spawned(timeout=10)."
        )
    loop = _running_loop("shutdown_spawned()")
    keeper = keeper_or_none(loop)
    if keeper is None:
        return ShutdownResult((), timeout)
    me = asyncio.current_task(loop)
    deadline = None if timeout is None else loop.time() + timeout
    if await _until_idle(keeper, me, deadline):
        return ShutdownResult((), timeout)
    names = _cancel_the_rest(keeper, me, f"still running after the {timeout:g} s timeout")
    await _until_idle(keeper, me, None)
    return ShutdownResult(names, timeout)


def _cancel_the_rest(keeper: Keeper, me: asyncio.Task[Any] | None, why: str) -> tuple[str, ...]:
    """Cancel the kept tasks but *me*, saying *why*; return their names.

    A function of its own, so that no variable of the waiting coroutine holds
    a task afterwards: failures in their cleanup stay reportable at once.
    """
    late = [task for task in keeper.tasks() if task is not me]
    reason = f"taskwise.shutdown_spawned(): {why}"
    observer = _hooks.observer
    for task in late:
        task.cancel(reason)
        if observer is not None:
            observer.cancelled(task, reason)
    return tuple(task.get_name() for task in late)


async def _until_idle(keeper: Keeper, me: asyncio.Task[Any] | None, deadline: float | None) -> bool:
    """Wait until the keeper has nothing left but *me*; False if *deadline* passed first."""
    loop = keeper.loop
    while keeper.busy(me):
        waiter = loop.create_future()
        # Woken when a tick leaves the keeper idle, or a running task finishes.
        keeper.waiters.append(waiter)
        try:
            if deadline is None:
                await waiter
            else:
                await asyncio.wait_for(waiter, max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            return False
    return True

"""spawn(): a task that is kept alive, named, and whose failure is never lost.

How tasks are kept
------------------
The event loop holds tasks only weakly, so a task that nobody references can
be garbage-collected while it waits. Each loop gets a ``_Keeper`` that holds
every spawned task strongly until it is done.

The keeper works in batches, once per loop iteration, not once per task: most
tasks finish during their first step, and a per-task done-callback would make
the loop run one more handle for each of them. A spawned task goes into
``fresh``; the keeper's tick (one handle per iteration, while there is work)
moves it on:

* tick 1: ``fresh`` -> ``young``. Its first step is queued in this iteration.
* tick 2: a young task has had its first step. If it is done, it is dropped,
  or, if it failed, handed to the failure check; if not, it moves to ``older``.
* tick 3: an older task has had its second step (most tasks that suspend once,
  on a lock, a queue or ``sleep(0)``, are done by now) and is dropped or
  checked likewise. Only a task still running gets a done-callback and a place
  in ``running``.
* The failure check waits three ticks, so that a caller who awaits the task,
  or reads its exception after ``asyncio.wait()``, does so first. A failure
  still unretrieved then is reported once through the loop's exception handler,
  and marked retrieved, so "Task exception was never retrieved" never follows.
"""

from __future__ import annotations

import asyncio
from asyncio import events
from asyncio import tasks as _tasks
from collections.abc import Callable, Coroutine
from contextvars import Context
from types import CoroutineType
from typing import Any, TypeVar

from ._checks import close_quietly, coroutine_or_error, no_running_loop
from ._compat import (
    CREATE_TASK_TAKES_CONTEXT,
    CREATE_TASK_TAKES_EAGER_START,
    EMPTY_CONTEXT,
    TASK_TAKES_EAGER_START,
)

__all__ = ["spawn"]

T = TypeVar("T")

_get_running_loop = events._get_running_loop

#: asyncio's own ``loop.create_task()``. On a loop that has it, no task factory
#: and debug mode off, it only calls ``tasks.Task(coro, loop=loop, name=name)``.
BASE_CREATE_TASK = asyncio.BaseEventLoop.create_task

#: ``asyncio.eager_task_factory`` (3.12+), made by ``create_eager_task_factory(Task)``:
#: it calls ``Task(coro, loop=loop, name=name, eager_start=True)``.
EAGER_TASK_FACTORY: object = getattr(asyncio, "eager_task_factory", object())
EagerTask: Callable[..., asyncio.Task[Any]] = asyncio.Task


class _Keeper:
    """Strong references and failure reports for the tasks spawned on one loop."""

    __slots__ = (
        "_on_done",
        "_tick",
        "fresh",
        "loop",
        "older",
        "running",
        "settle",
        "ticking",
        "young",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.fresh: list[asyncio.Task[Any]] = []
        self.young: list[asyncio.Task[Any]] = []
        self.older: list[asyncio.Task[Any]] = []
        # Failed tasks waiting for their failure check; settle[0] is the newest.
        self.settle: tuple[list[asyncio.Task[Any]], ...] = ([], [], [])
        # A dict used as a set: its compact table costs 27-60 bytes per entry,
        # a set's 27-128 (a set grows to 4x its size, a dict to 3x).
        self.running: dict[asyncio.Task[Any], None] = {}
        self.ticking = False
        # Bound once: a bound method made per task would cost memory per task.
        self._on_done = self.on_done
        self._tick = self.tick

    def start(self) -> None:
        self.ticking = True
        self.loop.call_soon(self._tick, context=EMPTY_CONTEXT)

    def tick(self) -> None:
        newest, middle, due = self.settle
        self.settle = ([], newest, middle)
        for task in due:
            if getattr(task, "_log_traceback", False):
                self.report(task)

        older = self.older
        young = self.young
        self.young = self.fresh
        self.fresh = []
        settle = self.settle[0]
        # Tasks that have had two steps and still run get a done-callback.
        for task in older:
            if task.done():
                if getattr(task, "_log_traceback", False):
                    settle.append(task)
            else:
                self.running[task] = None
                task.add_done_callback(self._on_done, context=EMPTY_CONTEXT)
        # Tasks that have had one step and still run get one more look next tick:
        # a task that suspends once (a lock, a queue, sleep(0)) is done by then,
        # and a look is far cheaper than the loop handle a done-callback costs.
        self.older = []
        for task in young:
            if task.done():
                if getattr(task, "_log_traceback", False):
                    settle.append(task)
            else:
                self.older.append(task)

        # (An exception handler called above may have spawned more: check fresh too.)
        if self.older or self.young or self.fresh or newest or middle or settle:
            self.loop.call_soon(self._tick, context=EMPTY_CONTEXT)
        else:
            self.ticking = False
            self.release()

    def on_done(self, task: asyncio.Task[Any]) -> None:
        self.running.pop(task, None)
        if getattr(task, "_log_traceback", False):
            self.settle[0].append(task)
            if not self.ticking:
                self.start()
        elif not self.ticking:
            self.release()

    def release(self) -> None:
        """With nothing left to keep, stop holding the loop (a finished loop can go)."""
        global _last
        if _last is self and not self.running:
            _last = None

    def report(self, task: asyncio.Task[Any]) -> None:
        exc = task.exception()  # marks it retrieved: reported here, and only here
        self.loop.call_exception_handler(
            {
                "message": (
                    f"Task {task.get_name()!r} (started by taskwise.spawn()) failed, "
                    f"and nothing awaited it or read its exception"
                ),
                "exception": exc,
                "task": task,
            }
        )


# The keeper of the loop that spawned last. Loops run one per thread; a thread
# that finds another loop's keeper here makes one of its own (two keepers for
# one loop are harmless: each keeps and checks its own tasks).
_last: _Keeper | None = None


def _keeper_for(loop: asyncio.AbstractEventLoop) -> _Keeper:
    global _last
    keeper = _last = _Keeper(loop)
    return keeper


def spawn(
    coro: Coroutine[Any, Any, T],
    *,
    name: str | None = None,
    context: Context | None = None,
    eager: bool = False,
) -> asyncio.Task[T]:
    """Start *coro* as a task on the running loop, and keep it alive until it is done.

    The task is the one ``loop.create_task()`` would make, so the loop's task
    factory (uvloop, an eager factory, instrumentation) applies. (Where
    ``create_task()`` is asyncio's own and its result is known -- no factory,
    or ``asyncio.eager_task_factory`` -- spawn builds that same task itself,
    one Python call cheaper.) Unlike a bare ``create_task()``, the task cannot
    be garbage-collected while it runs, and a failure that nobody awaits or
    reads is reported promptly -- a few loop iterations after the task ends --
    and exactly once, through the loop's exception handler with the task in
    the context. Cancellation is not a failure.

    Args:
        coro: a coroutine object, such as ``fetch(url)``.
        name: the task's name; by default the coroutine's qualified name
            (``"Crawler.fetch"``), never ``"Task-17"``.
        context: the :class:`contextvars.Context` the task runs in (3.11+; on
            3.10 passing it raises TypeError: use ``ctx.run(spawn, coro)`` to
            start the task in a copy of ``ctx``).
        eager: run the coroutine's first step now, inside this call, on 3.12+
            (see ``docs/spawn.md`` for uvloop, custom task factories and 3.10/3.11,
            where the task starts on the next loop iteration as usual).

    Returns:
        The :class:`asyncio.Task` itself.

    Raises:
        TypeError: *coro* is not a coroutine object (it is closed if it is one).
        RuntimeError: no event loop is running in this thread.

    Example::

        async def main() -> None:
            task = spawn(asyncio.sleep(0.01, "done"), name="nap")
            assert task.get_name() == "nap"
            assert await task == "done"
    """
    loop = _get_running_loop()
    if loop is None:
        no_running_loop(coro, "spawn")
    if type(coro) is CoroutineType:
        if name is None:
            name = coro.__qualname__
    else:
        coro = coroutine_or_error(coro, "spawn")
        if name is None:
            name = default_name(coro)
    keeper = _last
    if keeper is None or keeper.loop is not loop:
        keeper = _keeper_for(loop)
    if eager or context is not None:
        task = _create_task(loop, coro, name, context, eager)
    else:
        task = new_task(loop, coro, name)
    if task.done() and not task._log_traceback:
        return task  # finished in an eager first step: nothing to keep or report
    keeper.fresh.append(task)
    if not keeper.ticking:
        keeper.start()
    return task


def new_task(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T], name: str
) -> asyncio.Task[T]:
    """The task ``loop.create_task(coro, name=name)`` makes; *coro* is closed if that fails.

    Where ``create_task()`` is asyncio's own, debug mode is off and the task
    factory is none or the stock eager one, what it would do is known, and the
    task is built here directly: a Python call cheaper, and (under the eager
    factory) named before its first step rather than after it. Any other loop,
    factory or override is called as usual.
    """
    try:
        if type(loop).create_task is not BASE_CREATE_TASK or loop._debug:  # type: ignore[attr-defined]
            return loop.create_task(coro, name=name)
        factory = loop._task_factory  # type: ignore[attr-defined]
        if factory is None:
            return _tasks.Task(coro, loop=loop, name=name)
        if factory is EAGER_TASK_FACTORY:
            return EagerTask(coro, loop=loop, name=name, eager_start=True)
        return loop.create_task(coro, name=name)
    except BaseException:
        close_quietly(coro)
        raise


def default_name(coro: Coroutine[Any, Any, Any]) -> str:
    """The coroutine's qualified name, the task's name unless one is given."""
    try:
        return coro.__qualname__  # type: ignore[attr-defined,no-any-return]
    except AttributeError:
        return type(coro).__qualname__


def _create_task(
    loop: asyncio.AbstractEventLoop,
    coro: Coroutine[Any, Any, T],
    name: str,
    context: Context | None,
    eager: bool,
) -> asyncio.Task[T]:
    """The slow path of spawn(): a context, or an eager start."""
    kwargs: dict[str, Any] = {"name": name}
    if context is not None:
        if not CREATE_TASK_TAKES_CONTEXT:
            close_quietly(coro)
            raise TypeError(
                "spawn(coro, context=ctx) needs Python 3.11 or later, where tasks can run "
                "in a given context. On Python 3.10, start the task in a copy of the "
                "context instead: ctx.run(spawn, coro). The coroutine was closed."
            )
        kwargs["context"] = context
    try:
        if eager and TASK_TAKES_EAGER_START:
            if CREATE_TASK_TAKES_EAGER_START and isinstance(loop, asyncio.BaseEventLoop):
                # 3.14+: the loop passes eager_start= to its task factory.
                return loop.create_task(coro, eager_start=True, **kwargs)  # type: ignore[call-arg,unused-ignore]
            if loop.get_task_factory() in (None, EAGER_TASK_FACTORY):
                # What create_task() does without a factory, plus eager_start; and what
                # the stock eager factory does, but named before the first step.
                return asyncio.Task(coro, loop=loop, eager_start=True, **kwargs)  # type: ignore[call-arg,unused-ignore]
            # 3.12/3.13 with a task factory (or uvloop): the factory decides.
        return loop.create_task(coro, **kwargs)
    except BaseException:
        close_quietly(coro)
        raise

"""spawn(): a task that is kept alive, named, and whose failure is never lost.

The keeping and the failure reports are the loop's keeper's (``_keeper.py``);
this module creates the task. It goes through ``loop.create_task()`` unless
what that would do is known for certain: asyncio's own, untouched
``create_task()`` (checked against the code asyncio compiled, so that a tracer
that replaced the method, or swapped its code in place, is never bypassed), no
debug mode, and no task factory or the stock eager one. Then the task is built
here directly, one Python call cheaper.
"""

from __future__ import annotations

import asyncio
import marshal
import sys
from asyncio import base_events, events
from asyncio import tasks as _tasks
from collections.abc import Callable, Coroutine
from contextvars import Context
from types import CodeType, CoroutineType
from typing import Any, Final, TypeVar

from . import _hooks
from ._checks import check_name, close_quietly, coroutine_or_error, no_running_loop
from ._compat import (
    CREATE_TASK_TAKES_CONTEXT,
    CREATE_TASK_TAKES_EAGER_START,
    TASK_TAKES_EAGER_START,
)
from ._hooks import EVERY_CALL, GROUP_PATH, PATHS
from ._keeper import Keeper, keeper_of, trim_source_traceback

__all__ = ["spawn"]  # (new_task, default_name and coroutine_name serve the rest)

T = TypeVar("T")

_get_running_loop = events._get_running_loop
Task = _tasks.Task

#: ``BaseEventLoop.create_task`` as found at import. Whether it is asyncio's own,
#: untouched code is checked once, on first use (``_stock_code``).
BASE_CREATE_TASK = asyncio.BaseEventLoop.create_task

#: ``asyncio.eager_task_factory`` (3.12+), made by ``create_eager_task_factory(Task)``:
#: it calls ``Task(coro, loop=loop, name=name, eager_start=True)``.
EAGER_TASK_FACTORY: object = getattr(asyncio, "eager_task_factory", object())
EagerTask: Callable[..., asyncio.Task[Any]] = asyncio.Task

#: The code of ``BaseEventLoop.create_task`` when it is the code asyncio compiled;
#: ``None`` when it is not (or cannot be told); unset until first needed.
_STOCK_CODE: CodeType | None = None
_checked = False


def _compiled_create_task() -> CodeType | None:
    """``BaseEventLoop.create_task``'s code as compiled in asyncio's cached bytecode."""
    cached = getattr(base_events, "__cached__", None)
    if not cached:
        return None
    try:
        with open(cached, "rb") as f:
            module = marshal.loads(f.read()[16:])  # after the .pyc header
    except (OSError, ValueError, EOFError, TypeError):
        return None
    code: CodeType | None = module if isinstance(module, CodeType) else None
    for name in ("BaseEventLoop", "create_task"):
        if code is None:
            return None
        code = next(
            (c for c in code.co_consts if isinstance(c, CodeType) and c.co_name == name), None
        )
    return code


#: ``uvloop.Loop.create_task`` of an installed uvloop whose create_task() is known
#: (read in its source, and checked by tests/test_spawn_loops.py) to build
#: ``asyncio.Task(coro, loop=self)`` and then set the name: 0.21 to 0.23.
_UVLOOP_CREATE_TASK: object = None
_UVLOOP_KNOWN = ((0, 21), (0, 23))


def _uvloop_create_task(loop: asyncio.AbstractEventLoop) -> object:
    """uvloop's ``Loop.create_task``, if *loop* is uvloop's and its version is known."""
    global _UVLOOP_CREATE_TASK
    uvloop = sys.modules.get("uvloop")
    if uvloop is None or not isinstance(loop, getattr(uvloop, "Loop", ())):
        return None  # (a loop of another kind: checked again next time, cheaply)
    try:
        version = tuple(int(part) for part in uvloop.__version__.split(".")[:2])
    except (AttributeError, ValueError):
        version = ()
    low, high = _UVLOOP_KNOWN
    known = low <= version <= high
    _UVLOOP_CREATE_TASK = uvloop.Loop.create_task if known else _NOT_KNOWN
    return _UVLOOP_CREATE_TASK


_NOT_KNOWN = object()


def _stock_code() -> CodeType | None:
    """The running ``create_task`` code, if it is provably asyncio's own (checked once)."""
    global _STOCK_CODE, _checked
    if not _checked:
        code = getattr(BASE_CREATE_TASK, "__code__", None)
        compiled = _compiled_create_task()
        # Code objects compare equal when their bytecode, constants, names and
        # line table are: a wrapper, or code injected in place, is not.
        _STOCK_CODE = code if code is not None and code == compiled else None
        _checked = True
    return _STOCK_CODE


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
    ``create_task()`` is asyncio's own, untouched code and its result is known
    -- no factory, or ``asyncio.eager_task_factory`` -- spawn builds that same
    task itself, one Python call cheaper.) Unlike a bare ``create_task()``, the
    task cannot be garbage-collected while it runs. If it fails and nothing but
    taskwise references it any more, so that nobody can read the exception, the
    failure is reported at once, exactly once, through the loop's exception
    handler, in the task's context; while you hold the task, its failure is
    yours to read. Cancellation is not a failure. See
    :func:`shutdown_spawned` to let spawned tasks finish at shutdown.

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
        TypeError: *coro* is not a coroutine object, or *name* is not a str (the
            coroutine is closed).
        RuntimeError: no asyncio event loop is running in this thread (the
            coroutine is closed).

    Example::

        async def main() -> None:
            task = spawn(asyncio.sleep(0.01, "done"), name="nap")
            assert task.get_name() == "nap"
            assert await task == "done"
    """
    # (None when no loop runs: its missing attribute tells, at no cost to the rest.)
    loop: asyncio.AbstractEventLoop = _get_running_loop()  # type: ignore[assignment]
    try:
        keeper: Keeper = loop._taskwise_keeper  # type: ignore[attr-defined]
    except AttributeError:
        if loop is None:
            no_running_loop(coro, "spawn")
        keeper = keeper_of(loop)
    given = name
    if type(coro) is CoroutineType:
        if name is None:
            name = coro.__qualname__
        elif type(name) is not str:
            check_name(name, "spawn", coro)
    else:
        coro = coroutine_or_error(coro, "spawn")
        if name is None:
            name = default_name(coro)
        else:
            check_name(name, "spawn", coro)
    # The fast path, written out because every call it saves shows: no options, and
    # a loop whose create_task() is known to build a plain Task. ``keeper.direct``
    # says so (see _verdict()); the factory and debug mode are read on every call,
    # since set_task_factory() and set_debug() may come at any time. Whatever the
    # fast path cannot build goes to _spawn().
    direct = keeper.direct
    hooks = _hooks.spawn_hooks
    if direct is None or hooks is EVERY_CALL or eager or context is not None:
        return _spawn(loop, keeper, coro, name, context, eager)
    if direct is not BASE_CREATE_TASK:  # uvloop's
        if loop.get_task_factory() is not None:
            return _spawn(loop, keeper, coro, name, context, eager)
        task = Task(coro, loop=loop, name=name)
        if task._source_traceback:  # type: ignore[attr-defined]  # debug mode: end it at the caller
            trim_source_traceback(task)
    elif loop._debug:  # type: ignore[attr-defined]
        return _spawn(loop, keeper, coro, name, context, eager)
    else:
        factory = loop._task_factory  # type: ignore[attr-defined]
        if factory is None:
            task = Task(coro, loop=loop, name=name)
        elif factory is EAGER_TASK_FACTORY:
            task = EagerTask(coro, loop=loop, name=name, eager_start=True)
            if task.done():  # finished in its first step
                try:
                    return _finished_at_once(
                        keeper, task, coro, hooks, None if given is not None else name
                    )
                finally:
                    del task  # see _finished_at_once()
        else:
            return _spawn(loop, keeper, coro, name, context, eager)
    if hooks:  # the counters, while named groups run: the group this task counts under
        path = GROUP_PATH.get()
        if path:
            keeper.paths[task] = path
    keeper.fresh.append(task)
    if not keeper.ticking:
        keeper.start()
    return task


def _verdict(loop: asyncio.AbstractEventLoop) -> object:
    """The loop's ``create_task`` if spawn() may build its plain tasks itself, else None.

    That is asyncio's own, untouched ``BaseEventLoop.create_task`` (the method not
    replaced, its code the code asyncio compiled: a tracer that swaps it in place,
    as dd-trace-py does, is never bypassed), or the ``create_task`` of a uvloop
    version known to build ``asyncio.Task(coro, loop=self)``. spawn() keeps the
    verdict on the loop's keeper, and each keeper tick forgets it, so it is checked
    again on the first spawn() of every loop iteration: a tracer installed while
    the loop runs sees every task spawned from the next iteration on.
    """
    create_task = type(loop).create_task
    if create_task is BASE_CREATE_TASK:
        return create_task if create_task.__code__ is _stock_code() else None
    if create_task is (_UVLOOP_CREATE_TASK or _uvloop_create_task(loop)):
        return create_task
    return None


def _spawn(
    loop: asyncio.AbstractEventLoop,
    keeper: Keeper,
    coro: Coroutine[Any, Any, T],
    name: str,
    context: Context | None,
    eager: bool,
) -> asyncio.Task[T]:
    """spawn() past its fast path: options, a task factory, debug mode, or observers."""
    observer = _hooks.observer
    if observer is not None and observer.task_tracer is not None:
        task = _traced(observer.task_tracer, loop, coro, name, context, eager)
    elif eager or context is not None:
        task = _create_task(loop, coro, name, context, eager)
    else:
        task = new_task(loop, coro, name)
    path = ""
    if observer is not None:
        path = GROUP_PATH.get() if _hooks.named_open else ""
        if path or observer.every:
            observer.spawned(keeper, task, path)
    # Kept until the keeper's next tick, due now: the next spawn() calls of this
    # loop iteration may take the fast path.
    keeper.direct = _verdict(loop)
    if not keeper.ticking:
        keeper.start()
    if task.done():  # finished in an eager first step
        try:
            return _finished_at_once(keeper, task, coro, PATHS if path else 0)
        finally:
            del task  # see _finished_at_once()
    watcher = _hooks.spawn_watcher
    if watcher is not None:  # the pytest plugin, in strict mode
        watcher(task, GROUP_PATH.get())
    keeper.fresh.append(task)
    return task


def _finished_at_once(
    keeper: Keeper,
    task: asyncio.Task[T],
    coro: Coroutine[Any, Any, T],
    hooks: int,
    name: str | None = None,
) -> asyncio.Task[T]:
    """A spawned task that finished in its eager first step: counted, and looked at if it failed.

    While observed, it is counted with the next tick's batch, by its coroutine's
    name (the task no longer has its coroutine; *name* is that name when spawn()
    has read it already, as the task's default name). The usual one, which went
    well and needs no group path (*hooks*, ``PATHS``, says one is to be noted),
    leaves its name in ``keeper.at_once_ok``, and the task itself only while
    listeners or the tracer want it (``keeper.at_once_heard``); any other waits,
    with its name, in ``keeper.at_once``.

    If it failed, the traceback holds the frames that created it (a frame links to
    its caller's): those frames must let go of the task before they return, or the
    two keep each other alive. Its callers ``del`` it in a ``finally``.
    """
    failed = task._log_traceback
    observer = _hooks.observer
    if observer is not None:
        if name is None:
            name = default_name(coro)
        if failed or hooks or task.cancelled():
            if hooks:
                path = GROUP_PATH.get()
                if path:
                    keeper.paths[task] = path
            keeper.at_once.append(task)
            keeper.at_once_names.append(name)
        else:
            keeper.at_once_ok.append(name)
            if observer.wants_tasks:
                keeper.at_once_heard.append(task)
    elif not failed:
        return task  # nothing to count, nothing to look at
    if failed:  # a suspect for the keeper to look at
        keeper.suspects[0].append(task)
        watcher = _hooks.spawn_watcher
        if watcher is not None:  # the pytest plugin: its report says where it was spawned
            watcher(task, GROUP_PATH.get())
    if not keeper.ticking:
        keeper.start()
    return task


def _traced(
    tracer: Any,
    loop: asyncio.AbstractEventLoop,
    coro: Coroutine[Any, Any, T],
    name: str,
    context: Context | None,
    eager: bool,
) -> asyncio.Task[T]:
    """spawn() while the observability layer traces tasks: the task runs in a context of its own.

    The tracer returns the context the task is to run in (a copy of *context*, or
    of the current one, with the task's span current in it: its coroutine is
    never wrapped) and a handle it wants back once the task exists.
    """
    if context is not None and not CREATE_TASK_TAKES_CONTEXT:
        return _create_task(loop, coro, name, context, eager)  # 3.10: the TypeError that says why
    handle, context = tracer.task_starting(coro, name, context)
    task = None
    try:
        if CREATE_TASK_TAKES_CONTEXT:
            task = _create_task(loop, coro, name, context, eager)
        else:  # 3.10: a task copies the current context: create it inside the one made for it
            task = context.run(_create_task, loop, coro, name, None, eager)
        return task
    finally:
        tracer.task_created(task, handle)  # None: creating it failed
        # A task that failed eagerly holds its creators' frames: this one must not hold it.
        del task


def new_task(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T], name: str
) -> asyncio.Task[T]:
    """The task ``loop.create_task(coro, name=name)`` makes; *coro* is closed if that fails.

    Where ``create_task()`` is asyncio's own untouched code and the task factory
    is none or the stock eager one, what it would do is known, and the task is
    built here directly: a Python call cheaper, and (under the eager factory)
    named before its first step rather than after it. Any other loop, factory,
    override or instrumentation is called as usual. In debug mode the task's
    creation traceback ends at the caller's line, as ``create_task()`` makes it.
    """
    try:
        if type(loop).create_task is BASE_CREATE_TASK and BASE_CREATE_TASK.__code__ is (
            _STOCK_CODE if _checked else _stock_code()
        ):
            factory = loop._task_factory  # type: ignore[attr-defined]
            if factory is None:
                if loop._debug:  # type: ignore[attr-defined]
                    return _trimmed(_tasks.Task(coro, loop=loop, name=name))
                return _tasks.Task(coro, loop=loop, name=name)
            if factory is EAGER_TASK_FACTORY:
                if loop._debug:  # type: ignore[attr-defined]
                    return _trimmed(EagerTask(coro, loop=loop, name=name, eager_start=True))
                return EagerTask(coro, loop=loop, name=name, eager_start=True)
        elif (
            type(loop).create_task is (_UVLOOP_CREATE_TASK or _uvloop_create_task(loop))
            and loop.get_task_factory() is None
            and not loop.get_debug()
        ):
            # uvloop's create_task() builds asyncio.Task(coro, loop=self) and names it
            # afterwards, with a second call; built here, it is named at once.
            return _tasks.Task(coro, loop=loop, name=name)
        return _named(loop.create_task(coro, name=name), name)
    except BaseException:
        close_quietly(coro)
        raise


def _named(task: asyncio.Task[T], name: str) -> asyncio.Task[T]:
    """*task* from ``loop.create_task()``, carrying *name* whatever the task factory did.

    From 3.13.3 (and on 3.14) the loop hands ``name=`` to the task factory and
    returns its task as is, so a factory that renames its tasks (Sentry's
    ``"<coro> (Sentry-wrapped)"``) would erase the name taskwise chose.
    """
    if task.get_name() != name:
        task.set_name(name)
    try:
        return _trimmed(task)
    finally:
        del task  # see _trimmed()


def _trimmed(task: asyncio.Task[T]) -> asyncio.Task[T]:
    """*task*, its debug-mode creation traceback ending at the user's spawn() call."""
    if getattr(task, "_source_traceback", None):
        trim_source_traceback(task)
    try:
        return task
    finally:
        # A task that failed eagerly holds the frames that created it through its
        # traceback: no frame of ours may hold the task (a cycle keeps both alive).
        del task


def default_name(coro: Coroutine[Any, Any, Any]) -> str:
    """The coroutine's qualified name, the task's name unless one is given."""
    try:
        return coro.__qualname__  # type: ignore[attr-defined,no-any-return]
    except AttributeError:
        return type(coro).__qualname__


#: The coroutine name of a task whose coroutine cannot be told (a task object that
#: is not asyncio's, or a coroutine-like object without a ``__qualname__``).
UNKNOWN: Final = "<unknown>"


def coroutine_name(task: asyncio.Task[Any]) -> str:
    """The ``__qualname__`` of the coroutine *task* runs.

    Read from the task's ``_coro`` member, not with ``task.get_coro()``: on 3.12.1
    and 3.13.0 that crashes the interpreter for a task that finished in an eager
    first step (its coroutine is cleared then, and the member reads None).
    """
    coro = getattr(task, "_coro", None)
    name = getattr(coro, "__qualname__", None)
    if type(name) is str:
        return name
    if coro is not None:
        name = getattr(type(coro), "__qualname__", None)
        if type(name) is str:
            return name
    return UNKNOWN


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
                return _named(loop.create_task(coro, eager_start=True, **kwargs), name)  # type: ignore[call-arg,unused-ignore]
            if loop.get_task_factory() in (None, EAGER_TASK_FACTORY):
                # What create_task() does without a factory, plus eager_start; and what
                # the stock eager factory does, but named before the first step.
                return _trimmed(asyncio.Task(coro, loop=loop, eager_start=True, **kwargs))  # type: ignore[call-arg,unused-ignore]
            # 3.12/3.13 with a task factory (or uvloop): the factory decides.
        return _named(loop.create_task(coro, **kwargs), name)
    except BaseException:
        close_quietly(coro)
        raise

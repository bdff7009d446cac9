"""normalize_awaitable(): ensure_future's contract, the same on Python 3.10-3.14."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
from asyncio import events
from collections.abc import Awaitable, Coroutine
from types import CoroutineType
from typing import Any, TypeVar

from ._checks import close_quietly, describe, not_awaitable
from ._spawn import default_name

__all__ = ["normalize_awaitable"]

T = TypeVar("T")

_get_running_loop = events._get_running_loop
_isfuture = asyncio.isfuture


def normalize_awaitable(
    obj: Awaitable[T] | concurrent.futures.Future[T],
    *,
    loop: asyncio.AbstractEventLoop | None = None,
) -> asyncio.Future[T]:
    """Turn any awaitable into an asyncio future, as ``asyncio.ensure_future()`` does.

    * a Task, Future, or anything asyncio treats as a future comes back
      unchanged, the very same object;
    * a :class:`concurrent.futures.Future` comes back wrapped in an asyncio
      Future (``asyncio.wrap_future``);
    * a coroutine comes back as a new Task, named after the coroutine;
    * any other awaitable comes back as a Task that awaits it.

    Unlike ``ensure_future``, it behaves the same on every Python: no
    DeprecationWarning, no new event loop made behind your back. New tasks are
    scheduled on *loop*, or on the running loop; with neither it raises
    RuntimeError. *loop* may be a loop that is not running yet (the task then
    starts when it runs); it must be this thread's loop (from another thread
    use ``asyncio.run_coroutine_threadsafe``).

    Unlike :func:`taskwise.spawn`, the new task is not kept alive: await it.

    Raises:
        TypeError: *obj* is not awaitable (an uncalled ``async def`` function,
            an async generator, ...). A coroutine that is refused is closed.
        ValueError: *obj* is a future of another loop than *loop*.
        RuntimeError: a new task is needed and no loop is running, nor given.

    Example::

        async def main() -> None:
            task = normalize_awaitable(asyncio.sleep(0, "ok"))
            assert normalize_awaitable(task) is task
            assert await task == "ok"
    """
    if type(obj) is CoroutineType:
        return _new_task(obj, loop)
    if _isfuture(obj):
        if loop is not None and loop is not _loop_of(obj):
            raise ValueError(
                f"normalize_awaitable() got {describe(obj)}, which belongs to another event "
                f"loop than loop={loop!r}. Pass the future's own loop, or leave out loop=."
            )
        return obj
    if isinstance(obj, concurrent.futures.Future):
        return asyncio.wrap_future(obj, loop=_loop_or_error(loop, obj))
    if isinstance(obj, Coroutine):
        return _new_task(obj, loop)
    if inspect.isawaitable(obj):
        return _new_task(_await(obj), loop, name=f"normalize_awaitable({type(obj).__qualname__})")
    raise TypeError(not_awaitable(obj))


def _loop_of(fut: Any) -> asyncio.AbstractEventLoop:
    get_loop = getattr(fut, "get_loop", None)
    return get_loop() if get_loop is not None else fut._loop  # type: ignore[no-any-return]


def _loop_or_error(
    loop: asyncio.AbstractEventLoop | None, obj: object
) -> asyncio.AbstractEventLoop:
    if loop is None:
        loop = _get_running_loop()
        if loop is None:
            close_quietly(obj)
            raise RuntimeError(
                f"normalize_awaitable() got {describe(obj)} and needs an event loop for it, "
                f"but none is running in this thread. Call it from async code running in "
                f"the loop, or name the loop: normalize_awaitable(obj, loop=loop)."
                + (" The coroutine was closed." if isinstance(obj, Coroutine) else "")
            )
    return loop


def _new_task(
    coro: Coroutine[Any, Any, T], loop: asyncio.AbstractEventLoop | None, name: str | None = None
) -> asyncio.Task[T]:
    loop = _loop_or_error(loop, coro)
    try:
        return loop.create_task(coro, name=name or default_name(coro))
    except BaseException:
        close_quietly(coro)
        raise


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable

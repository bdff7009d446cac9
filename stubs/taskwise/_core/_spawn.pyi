import sys
from asyncio import Task
from collections.abc import Coroutine
from contextvars import Context
from typing import Any, Final, TypeVar

__all__ = ["spawn"]

_T = TypeVar("_T")

# `eager` is accepted on every Python (it only has an effect on 3.12+), so it needs no branch.
if sys.version_info >= (3, 11):
    def spawn(
        coro: Coroutine[Any, Any, _T],
        *,
        name: str | None = None,
        context: Context | None = None,
        eager: bool = False,
    ) -> Task[_T]:
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

else:
    # 3.10: tasks cannot run in a given context; a Context raises TypeError at runtime, so
    # only the default (None) type-checks.
    def spawn(
        coro: Coroutine[Any, Any, _T],
        *,
        name: str | None = None,
        context: None = None,
        eager: bool = False,
    ) -> Task[_T]:
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

# Not public (not in __all__), but other modules of taskwise import it, and mypy reads
# this stub for them.
def default_name(coro: Coroutine[Any, Any, Any]) -> str:
    """The coroutine's qualified name, the task's name unless one is given."""

#: The coroutine name of a task whose coroutine cannot be told.
UNKNOWN: Final = "<unknown>"

def coroutine_name(task: Task[Any]) -> str:
    """The ``__qualname__`` of the coroutine *task* runs.

    Read from the task's ``_coro`` member, not with ``task.get_coro()``: on 3.12.1
    and 3.13.0 that crashes the interpreter for a task that finished in an eager
    first step (its coroutine is cleared then, and the member reads None).
    """

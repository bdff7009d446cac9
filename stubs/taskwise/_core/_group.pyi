import sys
from asyncio import Task
from collections.abc import Coroutine, Set
from contextvars import Context
from types import TracebackType
from typing import Any, TypeVar, final

__all__ = ["TaskGroup"]

_T = TypeVar("_T")

@final
class TaskGroup:
    """A named task group with the semantics of :class:`asyncio.TaskGroup` on 3.10-3.14.

    ``async with TaskGroup("crawl") as tg:`` waits for every task spawned in
    it. The first failure cancels the other tasks and the body, and all
    failures are raised together as an ``ExceptionGroup``; KeyboardInterrupt
    and SystemExit propagate bare; cancellation from outside propagates once
    every child is done. :meth:`cancel` ends the group early without an error.

    Names compose: a child of ``TaskGroup("crawl")`` spawned with
    ``name="page-1"`` is named ``"crawl/page-1"``, an unnamed one
    ``"crawl/fetch-3"`` (its coroutine's name and its number in the group),
    and a group entered inside another group's body or task adds its name to
    the path: ``"outer/inner/child"``.

    Example::

        async def main() -> None:
            async with TaskGroup("crawl") as tg:
                page = tg.spawn(asyncio.sleep(0, "<html>"), name="page-1")
            assert page.get_name() == "crawl/page-1"
            assert page.result() == "<html>"
    """

    def __init__(self, name: str | None = None) -> None: ...
    @property
    def name(self) -> str | None:
        """The group's own name, as given to the constructor."""

    # object, not Any: reading a result from the view gives `object`, which must be narrowed,
    # rather than an `Any` that silently switches checking off.
    @property
    def tasks(self) -> Set[Task[object]]:
        """A live view of the group's tasks that are still running."""

    async def __aenter__(self) -> TaskGroup: ...
    # None, as typeshed types asyncio.TaskGroup's, although after cancel() the group swallows
    # the CancelledError it sent the body (the runtime returns True; so does asyncio's on 3.15).
    # A `bool` here makes every checker assume the block may swallow any exception: a `return`
    # inside it needs another after it, names bound in it are "possibly unbound" after it, and
    # a TaskGroup is not an AbstractAsyncContextManager[TaskGroup, None]. What checkers cannot
    # see instead (a name bound after the point where cancel() interrupted the body is unbound
    # after the block) is in docs/taskgroup.md. Parameter names are typeshed's, so a Protocol
    # copied from asyncio.TaskGroup accepts this class.
    async def __aexit__(
        self,
        et: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    if sys.version_info >= (3, 11):
        def spawn(
            self,
            coro: Coroutine[Any, Any, _T],
            *,
            name: str | None = None,
            context: Context | None = None,
        ) -> Task[_T]:
            """Start *coro* as a task in this group, named under the group's name.

            Args:
                coro: a coroutine object, such as ``fetch(url)``.
                name: the child's own name; the task is named ``"<group path>/<name>"``.
                    By default ``"<group path>/<coroutine name>-<n>"``.
                context: the :class:`contextvars.Context` the task runs in (3.11+).

            Returns:
                The :class:`asyncio.Task`, the one ``loop.create_task()`` would make.

            Raises:
                TypeError: *coro* is not a coroutine object.
                RuntimeError: the group is not entered yet, has finished, or is
                    shutting down after a failure or :meth:`cancel`. *coro* is
                    closed in every case.

            Example::

                async with TaskGroup("crawl") as tg:
                    task = tg.spawn(asyncio.sleep(0, 42))
                assert task.get_name() == "crawl/sleep-1"
            """

    else:
        # 3.10: a Context raises TypeError at runtime, so only the default (None) type-checks.
        def spawn(
            self,
            coro: Coroutine[Any, Any, _T],
            *,
            name: str | None = None,
            context: None = None,
        ) -> Task[_T]:
            """Start *coro* as a task in this group, named under the group's name.

            Args:
                coro: a coroutine object, such as ``fetch(url)``.
                name: the child's own name; the task is named ``"<group path>/<name>"``.
                    By default ``"<group path>/<coroutine name>-<n>"``.
                context: the :class:`contextvars.Context` the task runs in (3.11+).

            Returns:
                The :class:`asyncio.Task`, the one ``loop.create_task()`` would make.

            Raises:
                TypeError: *coro* is not a coroutine object.
                RuntimeError: the group is not entered yet, has finished, or is
                    shutting down after a failure or :meth:`cancel`. *coro* is
                    closed in every case.

            Example::

                async with TaskGroup("crawl") as tg:
                    task = tg.spawn(asyncio.sleep(0, 42))
                assert task.get_name() == "crawl/sleep-1"
            """

    def cancel(self) -> None:
        """End the group early: cancel its tasks and its body, and exit without an error.

        The ``async with`` block then exits normally (unless a task failed, or
        the body is also cancelled from outside). Callable from the body, from a
        child, or from anywhere in the loop's thread; before the block is
        entered it cancels the group on entry; after the group has finished it
        does nothing. asyncio gains this in Python 3.15; here it works on 3.10+.
        """

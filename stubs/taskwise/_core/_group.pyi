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
    def __init__(self, name: str | None = None) -> None: ...
    @property
    def name(self) -> str | None: ...

    # object, not Any: reading a result from the view gives `object`, which must be narrowed,
    # rather than an `Any` that silently switches checking off.
    @property
    def tasks(self) -> Set[Task[object]]: ...
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
        ) -> Task[_T]: ...

    else:
        # 3.10: a Context raises TypeError at runtime, so only the default (None) type-checks.
        def spawn(
            self,
            coro: Coroutine[Any, Any, _T],
            *,
            name: str | None = None,
            context: None = None,
        ) -> Task[_T]: ...

    def cancel(self) -> None: ...

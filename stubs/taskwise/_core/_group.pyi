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
    @property
    def tasks(self) -> Set[Task[Any]]: ...
    async def __aenter__(self) -> TaskGroup: ...
    # bool, not None: after cancel() the group swallows the CancelledError it sent the body,
    # so code after the `async with` block runs even if the body was interrupted.
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...
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

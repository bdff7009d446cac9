import sys
from asyncio import Task
from collections.abc import Coroutine
from contextvars import Context
from typing import Any, TypeVar

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
    ) -> Task[_T]: ...

else:
    # 3.10: tasks cannot run in a given context; a Context raises TypeError at runtime, so
    # only the default (None) type-checks.
    def spawn(
        coro: Coroutine[Any, Any, _T],
        *,
        name: str | None = None,
        context: None = None,
        eager: bool = False,
    ) -> Task[_T]: ...

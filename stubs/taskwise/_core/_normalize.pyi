import concurrent.futures
from asyncio import AbstractEventLoop, Future, Task
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar, overload

__all__ = ["normalize_awaitable"]

_T = TypeVar("_T")
_FutureT = TypeVar("_FutureT", bound=Future[Any])

# The order matters: both checkers take the first overload that matches the whole argument.
# docs/typing.md explains each one and what mypy and pyright answer for it.

# A Task or Future (of any subclass) comes back unchanged, with its own type. The overlap is
# typeshed's `ensure_future` one: a Future typed only as Awaitable[T] gets the last overload.
@overload
def normalize_awaitable(  # type: ignore[overload-overlap]
    obj: _FutureT, *, loop: AbstractEventLoop | None = None
) -> _FutureT: ...

# concurrent.futures.Future is wrapped in an asyncio Future (asyncio.wrap_future).
@overload
def normalize_awaitable(
    obj: concurrent.futures.Future[_T], *, loop: AbstractEventLoop | None = None
) -> Future[_T]: ...

# A coroutine becomes a new Task.
@overload
def normalize_awaitable(
    obj: Coroutine[Any, Any, _T], *, loop: AbstractEventLoop | None = None
) -> Task[_T]: ...

# `Coroutine[Any, Any, T] | Future[T]`: the future comes back as itself, so the answer is
# `Task[T] | Future[T]` (mypy shows it as `Future[T]`), where typeshed's ensure_future says
# `Task[T]`. The return is built from type variables, not a plain `Future[T]`: for a coroutine
# annotated with explicit `Any`, mypy weighs every overload that matches, and a different return
# here would turn `normalize_awaitable(coro)` into `Any`.
@overload
def normalize_awaitable(  # type: ignore[overload-overlap]
    obj: Coroutine[Any, Any, _T] | _FutureT, *, loop: AbstractEventLoop | None = None
) -> Task[_T] | _FutureT: ...

# Any other awaitable (an object with __await__) is awaited by a new Task.
@overload
def normalize_awaitable(
    obj: Awaitable[_T], *, loop: AbstractEventLoop | None = None
) -> Task[_T]: ...

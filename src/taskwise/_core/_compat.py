"""Version differences, detected by capability, each in one place.

Every branch says which Python version brings the capability, but the test is
always for the capability itself, never for a version string.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import inspect
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

if sys.version_info >= (3, 11):  # pragma: no cover - one branch per version
    from builtins import BaseExceptionGroup
else:  # pragma: no cover - exception groups are a backport on 3.10
    if TYPE_CHECKING:
        import exceptiongroup

    def BaseExceptionGroup(  # stands in for the class, where groups are made
        message: str, exceptions: Sequence[BaseException]
    ) -> exceptiongroup.BaseExceptionGroup[BaseException]:
        """Make an exception group with the backport, imported on first use.

        The backport and the typing_extensions it imports take ~7 ms to import,
        more than asyncio's share of taskwise; only a failing group needs them.
        """
        from exceptiongroup import BaseExceptionGroup as backport

        return backport(message, exceptions)


__all__ = [
    "CREATE_TASK_TAKES_CONTEXT",
    "CREATE_TASK_TAKES_EAGER_START",
    "TASKS_CAN_UNCANCEL",
    "TASK_TAKES_EAGER_START",
    "TRACKS_AWAITED_BY",
    "BaseExceptionGroup",
    "add_awaited_by",
    "discard_awaited_by",
    "task_context",
]

#: ``Task.cancelling()`` / ``Task.uncancel()`` (3.11+). Without them (3.10) task
#: groups count the cancellations they send and mark them with a message.
TASKS_CAN_UNCANCEL: Final = hasattr(asyncio.Task, "uncancel")

#: ``loop.create_task(..., context=)`` (3.11+).
CREATE_TASK_TAKES_CONTEXT: Final = (
    "context" in inspect.signature(asyncio.AbstractEventLoop.create_task).parameters
)

#: ``asyncio.Task(..., eager_start=True)`` (3.12+, which also brings the eager
#: task factories).
TASK_TAKES_EAGER_START: Final = hasattr(asyncio, "create_eager_task_factory")


def _create_task_forwards_keywords() -> bool:
    # 3.14+: BaseEventLoop.create_task(coro, **kwargs) passes eager_start=
    # through to the task (or to the loop's task factory).
    params = inspect.signature(asyncio.BaseEventLoop.create_task).parameters
    return "eager_start" in params or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
    )


#: ``BaseEventLoop.create_task(..., eager_start=)`` (3.14+). Loops that do not
#: derive from ``BaseEventLoop`` (uvloop) are never assumed to take it.
CREATE_TASK_TAKES_EAGER_START: Final = TASK_TAKES_EAGER_START and _create_task_forwards_keywords()

_noop: Callable[..., None] = lambda *_: None  # noqa: E731

#: 3.14+ call-graph introspection (``asyncio.capture_call_graph``). Without it
#: the two functions below do nothing, and hot paths skip calling them.
TRACKS_AWAITED_BY: Final = hasattr(asyncio.futures, "future_add_to_awaited_by")

#: 3.14+ call-graph introspection: record which task awaits a group's children.
add_awaited_by: Callable[[Any, Any], None] = getattr(
    asyncio.futures, "future_add_to_awaited_by", _noop
)
discard_awaited_by: Callable[[Any, Any], None] = getattr(
    asyncio.futures, "future_discard_from_awaited_by", _noop
)


def task_context(task: asyncio.Task[Any]) -> contextvars.Context | None:
    """The context *task* runs in (for a report that logging filters can read)."""
    get_context = getattr(task, "get_context", None)
    if get_context is not None:  # 3.12+
        return get_context()  # type: ignore[no-any-return]
    context = getattr(task, "_context", None)  # asyncio's pure-Python Task
    if isinstance(context, contextvars.Context):
        return context
    # 3.10/3.11's C Task does not expose it, but hands it to the garbage collector:
    # once the task is done, its context is the only Context it references. Only
    # failure reports ask, so the cost of the look is paid rarely.
    for referent in gc.get_referents(task):
        if isinstance(referent, contextvars.Context):
            return referent
    return None

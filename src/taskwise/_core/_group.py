"""TaskGroup: the semantics of asyncio.TaskGroup on every Python, with names and cancel().

The algorithm is asyncio's (3.13, with the fixes up to 3.15 and its
``cancel()``), implemented once here so that 3.10 and 3.11-3.14 behave the
same and children are created through the loop's task factory. What differs by
version is how the group takes back the cancellation it sent its parent task:
``Task.uncancel()`` from 3.11, a message on the CancelledError on 3.10 (see
``_Parent``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator, Set
from contextvars import Context, Token
from types import CoroutineType, TracebackType
from typing import Any, TypeVar, final
from weakref import WeakKeyDictionary

from . import _hooks
from ._checks import check_name, close_quietly, coroutine_or_error, not_on_asyncio
from ._compat import (
    CREATE_TASK_TAKES_CONTEXT,
    TASKS_CAN_UNCANCEL,
    TRACKS_AWAITED_BY,
    BaseExceptionGroup,
    add_awaited_by,
    discard_awaited_by,
)
from ._hooks import GROUP_PATH
from ._keeper import Keeper, keeper_of
from ._spawn import coroutine_name, default_name, new_task

__all__ = ["TaskGroup"]

T = TypeVar("T")

# How the message of the CancelledError a group sends its body starts; the cause
# follows in parentheses. (3.10 tells the groups' own cancellations apart by it.)
_CANCEL_MESSAGE = "taskwise.TaskGroup: cancelling the group's body"

# The cause when the task running the body is cancelled by somebody else.
_OUTSIDE = "the task running its body was cancelled"

# 3.10 only: how many cancellations groups have sent each task and not taken back.
_group_cancels: WeakKeyDictionary[asyncio.Task[Any], int] = WeakKeyDictionary()


def _grouped(errors: list[BaseException]) -> BaseException:
    group = BaseExceptionGroup("unhandled errors in a TaskGroup", errors)
    group.__suppress_context__ = True  # as `raise ... from None`
    return group


def _is_base_error(exc: BaseException) -> bool:
    return isinstance(exc, (SystemExit, KeyboardInterrupt))


def _is_ours(cancelled: BaseException) -> bool:
    """3.10: whether a CancelledError carries the message a group's cancellation has."""
    return bool(cancelled.args) and _is_our_message(cancelled.args[0])


def _is_our_message(message: object) -> bool:
    """Whether *message* is one a group cancels its body with: it starts the same way
    whatever cause follows (3.10 tells the groups' cancellations apart by it)."""
    return isinstance(message, str) and message.startswith(_CANCEL_MESSAGE)


def _message(cancelled: BaseException) -> Any:
    return cancelled.args[0] if cancelled.args else None


def _handled_cancellations(exc: BaseException) -> Iterator[BaseException]:
    """3.10: the CancelledErrors *exc* was raised while handling, nearest first.

    Each one was thrown into the task, but for one that chains a CancelledError
    with a message other than a group's: that one came out of an awaited task
    (the TimeoutError of wait_for() chains the inner task's, for one), and says
    nothing about this task; the walk stops there.
    """
    context = exc.__context__
    for _ in range(100):  # a chain made by hand can loop: give up rather than spin
        if context is None:
            return
        if isinstance(context, asyncio.CancelledError):
            cause = context.__context__
            if isinstance(cause, asyncio.CancelledError) and not (
                _is_ours(context) or _is_ours(cause)
            ):
                return
            yield context
        context = context.__context__


class _Parent:
    """The task that runs a group's body, and the cancellations the group sends it.

    asyncio's groups count cancellations with ``Task.cancelling()`` and take
    their own back with ``Task.uncancel()`` (3.11+). On 3.10 tasks have no
    counter: the groups count the cancellations they send each task in
    ``_group_cancels`` and mark them with a message. Any other cancellation a
    group learns of is an outside one, and stays in effect until the group
    exits, as a raised ``cancelling()`` does on 3.11+: one still pending, one
    that reaches the group or merged into a group's, and one that the body
    turned into another exception (see ``saw()``).
    """

    __slots__ = ("outside", "outside_message", "requested", "task")

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task = task
        self.requested = False  # the group has cancelled this task
        self.outside = False  # 3.10: an outside cancellation is in effect
        self.outside_message: Any = None  # 3.10: and its message

    def cancel(self, cause: str) -> None:
        self.requested = True
        task: Any = self.task
        message = f"{_CANCEL_MESSAGE} ({cause})"
        if TASKS_CAN_UNCANCEL:
            task.cancel(message)
            return
        # 3.10: two requests merge into one CancelledError, so whoever comes second
        # decides its message. An outside cancellation already pending interrupts
        # the body for us too: keep its message, which tells every group that it
        # is not theirs. Otherwise ours is set on the task too, and _learn_from()
        # checks that nobody has replaced it.
        _group_cancels[task] = _group_cancels.get(task, 0) + 1
        if self._outside_pending():
            return
        task.cancel(message)
        task._cancel_message = message

    def _note_outside(self, message: Any) -> None:
        self.outside = True
        self.outside_message = message

    def _outside_pending(self) -> bool:
        """3.10: whether a cancellation that no group sent is pending (noted if so)."""
        task: Any = self.task
        if task._must_cancel:
            message = task._cancel_message
        else:
            waiter = task._fut_waiter
            if waiter is None or not waiter.cancelled():
                return False
            message = getattr(waiter, "_cancel_message", None)
        if _is_our_message(message):
            return False
        self._note_outside(message)
        return True

    def saw(self, exc: BaseException) -> None:
        """Note an exception that reached the group: the body's, or one from its wait."""
        if TASKS_CAN_UNCANCEL:
            return  # the task's counter knows every cancellation already
        if isinstance(exc, asyncio.CancelledError):
            self._learn_from(exc)
        # The body turned a cancellation into an error, or a second cancellation
        # replaced it during the body's cleanup: if it was an outside one, 3.11+
        # still counts it in cancelling(), so it counts here too.
        for handled in _handled_cancellations(exc):
            self._learn_from(handled)

    def _learn_from(self, cancelled: BaseException) -> None:
        """3.10: note the outside cancellation that *cancelled* is, or merged into."""
        task: Any = self.task
        if not _is_ours(cancelled):
            self._note_outside(_message(cancelled))
        elif not _is_our_message(task._cancel_message):
            # Somebody cancelled the task after a group did (each group sets its
            # message on the task), and it merged into the group's CancelledError.
            self._note_outside(task._cancel_message)

    def withdraw(self) -> int:
        """Take back the group's cancellation; return how many others remain."""
        task: Any = self.task
        if TASKS_CAN_UNCANCEL:
            return int(task.uncancel())
        others = _group_cancels.pop(task, 1) - 1  # 3.10
        if others:
            _group_cancels[task] = others
        self._outside_pending()
        return others + self.outside

    def cancelling(self) -> bool:
        """Whether another cancellation (from outside, or another group's) is in effect."""
        task: Any = self.task
        if TASKS_CAN_UNCANCEL:
            return int(task.cancelling()) > 0
        return self._outside_pending() or self.outside or task in _group_cancels  # 3.10

    def still_pending(self) -> bool:
        """After withdraw() returned 0: whether the group's cancellation is pending still.

        It is while it has not reached the task: cancel() was called in the
        body's own step, and the body has not awaited since. ``uncancel()``
        clears it from 3.13 on; on 3.10-3.12 only a step of the task can.
        """
        return bool(getattr(self.task, "_must_cancel", False))

    def outgoing(self, cancelled: BaseException) -> BaseException:
        """The CancelledError the block raises, marked as an outside one where it is.

        3.10: the group that raises it may be the only one to know that an outside
        cancellation merged into a group's: the message tells the groups around.
        """
        if not TASKS_CAN_UNCANCEL and self.outside and _is_ours(cancelled):
            message = self.outside_message
            cancelled.args = () if message is None else (message,)
        return cancelled

    def rearm(self) -> None:
        """Keep another cancellation pending while the group raises its errors."""
        task: Any = self.task
        if TASKS_CAN_UNCANCEL:
            task.uncancel()
            task.cancel()
        else:  # 3.10: an outside one must still look like one to the other groups
            task.cancel(self.outside_message if self.outside else _CANCEL_MESSAGE)


class _TaskView(Set[asyncio.Task[Any]]):
    """A live, read-only view of a group's running tasks."""

    __slots__ = ("_tasks",)

    def __init__(self, tasks: dict[asyncio.Task[Any], float | None]) -> None:
        self._tasks = tasks

    def __contains__(self, task: object) -> bool:
        return task in self._tasks

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        return iter(tuple(self._tasks))  # a snapshot: tasks may finish while you iterate

    def __len__(self) -> int:
        return len(self._tasks)

    def __repr__(self) -> str:
        names = ", ".join(sorted(repr(t.get_name()) for t in self._tasks))
        return f"<running tasks: {names}>"

    @classmethod
    def _from_iterable(cls, tasks: Iterable[T]) -> frozenset[T]:
        # What the Set operators (&, |, -, ^) build their results with: a plain
        # frozenset, not another view.
        return frozenset(tasks)


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

    __slots__ = (
        "_aborting",
        "_all_done",
        "_apart",
        "_base_error",
        "_callback_context",
        "_cancel_on_enter",
        "_coroutine",
        "_count",
        "_entered",
        "_entered_at",
        "_errors",
        "_exit_callback",
        "_exiting",
        "_finished",
        "_finished_starts",
        "_joining",
        "_keeper",
        "_loop",
        "_name",
        "_named_open",
        "_names",
        "_on_done",
        "_parent",
        "_path",
        "_plain",
        "_plain_heard",
        "_prefix",
        "_queued",
        "_reason",
        "_tasks",
        "_token",
    )

    def __init__(self, name: str | None = None) -> None:
        check_name(name, "TaskGroup")
        self._name = name
        self._prefix = ""
        self._count = 0
        self._entered = False
        self._exiting = False
        self._aborting = False
        self._cancel_on_enter = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._parent: _Parent | None = None
        # The running children, each with when it started (time.monotonic(), to a loop
        # iteration: see Keeper.stamp_now()) while observed: a dict costs what a set
        # would, and the start comes free with it.
        self._tasks: dict[asyncio.Task[Any], float | None] = {}
        self._errors: list[BaseException] = []
        self._base_error: BaseException | None = None
        self._all_done: asyncio.Future[None] | None = None
        self._token: Token[str] | None = None
        self._on_done = self._task_done  # bound once, not once per task
        self._callback_context: Context | None = None
        # For the observability layer: the group's path, the loop's keeper (which
        # lists the groups entered on it), when the block was entered, and -- while
        # observed -- when each running child started.
        self._path = ""
        self._keeper: Keeper | None = None
        self._entered_at = 0.0
        self._named_open = False  # whether _hooks counts this block among the named open
        # Called when the block is left, in its context, whatever observes by then: the
        # OpenTelemetry integration restores the context it changed on entering.
        self._exit_callback: Callable[[], object] | None = None
        # While observed: what the keeper's next tick counts of the children that
        # finished since the last one (_queued: the keeper knows there is some). The
        # usual child went well and ran the coroutine of the group's first observed
        # child (_coroutine): it leaves just its start, in _finished_starts, and the
        # batch is counted over that list at C speed. Any other is counted _apart, with
        # its coroutine name: a child that failed or was cancelled, and one that runs
        # another coroutine (its name is in _names while it runs). _finished: children
        # for the listeners and the OpenTelemetry tracer. _plain: the next child that
        # goes well needs none of this but an append (see _task_done()); _plain_heard:
        # two, its start and itself, for listeners (and no tracer).
        self._finished_starts: list[float] = []
        self._apart: list[tuple[asyncio.Task[Any], str, float]] = []
        self._finished: list[asyncio.Task[Any]] = []
        self._queued = self._plain = self._plain_heard = False
        self._coroutine: str | None = None
        self._names: dict[asyncio.Task[Any], str] = {}
        # Why the group is cancelling its tasks, once it is: their CancelledError's message.
        self._reason: str | None = None
        # The coroutine of the child being created: in an eager first step, the child
        # runs before it joins the group.
        self._joining: object = None

    @property
    def name(self) -> str | None:
        """The group's own name, as given to the constructor."""
        return self._name

    @property
    def tasks(self) -> Set[asyncio.Task[object]]:
        """A live view of the group's tasks that are still running."""
        return _TaskView(self._tasks)

    def __repr__(self) -> str:
        state = "new"
        if self._aborting:
            state = "cancelling"
        elif self._exiting:
            state = "exiting"
        elif self._entered:
            state = "entered"
        return f"<TaskGroup {self._name!r} {state} tasks={len(self._tasks)}>"

    async def __aenter__(self) -> TaskGroup:
        if self._entered:
            raise RuntimeError(
                f"{self!r} has already been entered. A TaskGroup runs one `async with` "
                f"block: create a new TaskGroup(...) for each block."
            )
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(not_on_asyncio(f"`async with {self!r}`")) from None
        task = asyncio.current_task(loop)
        if task is None:  # a coroutine driven by hand, or from a callback
            raise RuntimeError(
                f"{self!r} must be entered inside an asyncio task, not in a bare coroutine "
                f"driven by hand: run the code with asyncio.run() or spawn()."
            )
        self._loop = loop
        self._parent = _Parent(task)
        self._entered = True
        # The children's done-callbacks read no context variables, so they share one
        # empty context, the group's own: a Context can be entered by one thread at
        # a time, so one shared by every group would collide between loops in
        # several threads ("cannot enter context", and the callback never runs).
        self._callback_context = Context()
        outer = GROUP_PATH.get()
        path = outer
        if self._name is not None:
            path = f"{outer}/{self._name}" if outer else self._name
            self._token = GROUP_PATH.set(path)
            _hooks.named_entered()
            self._named_open = True
        self._prefix = f"{path}/" if path else ""
        self._path = path
        self._entered_at = time.monotonic()  # the clock of the children's starts
        keeper = self._keeper = keeper_of(loop)
        keeper.groups[self] = None
        observer = _hooks.observer
        if observer is not None:
            observer.group_entered(self)
        if self._cancel_on_enter:
            self.cancel()
        return self

    async def __aexit__(
        self,
        et: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        token, self._token = self._token, None
        if token is not None:
            # ValueError: left in another context than it was entered in (an
            # async generator holding the group, closed by another task). Our
            # path was never set in this context: nothing to restore.
            with contextlib.suppress(ValueError):
                GROUP_PATH.reset(token)
        error: BaseException | None = None
        try:
            error = await self._finish(et, exc)
            if error is None:
                return True  # suppress our own cancellation of the body
            raise error
        finally:
            if self._named_open:
                self._named_open = False
                _hooks.named_left()
            if self._keeper is not None:
                self._keeper.groups.pop(self, None)
                self._keeper.count_children()  # counted by the time the block is left
            observer = _hooks.observer
            if observer is not None:
                observer.group_exited(self, error)
            if self._exit_callback is not None:
                callback, self._exit_callback = self._exit_callback, None
                callback()
            # The raised exception's traceback keeps this frame, and exceptions
            # hold frames: drop every reference to one, to create no cycles.
            self._parent = None
            self._errors = []
            self._base_error = None
            exc = error = None

    async def _finish(
        self, et: type[BaseException] | None, exc: BaseException | None
    ) -> BaseException | None:
        """Wait for the children; return what the block should raise, if anything.

        It returns rather than raises, so that no traceback holds its frame
        (and with it the body's exception and the parent task).
        """
        try:
            self._exiting = True
            parent = self._parent
            loop = self._loop
            assert parent is not None and loop is not None

            if exc is not None:
                parent.saw(exc)
                if _is_base_error(exc) and self._base_error is None:
                    self._base_error = exc
            propagate: BaseException | None = None
            if et is not None and issubclass(et, asyncio.CancelledError):
                propagate = exc
            if et is not None and not self._aborting:
                # The body failed, or its task is being cancelled: stop the children.
                if issubclass(et, asyncio.CancelledError):
                    self._abort(_OUTSIDE)
                else:
                    self._abort(f"its body raised {et.__name__}")

            # Wait for every child. The wait can be cancelled again and again (the
            # parent task cancelled repeatedly, or by us), hence the loop.
            pending: BaseException | None = None
            while self._tasks:
                self._all_done = loop.create_future()
                try:
                    await self._all_done
                except asyncio.CancelledError as cancelled:
                    pending = cancelled
                    parent.saw(cancelled)
                    if not self._aborting:
                        # The task running the group is cancelled while children run.
                        propagate = cancelled
                        self._abort(_OUTSIDE)
                self._all_done = None

            if self._base_error is not None:
                # KeyboardInterrupt/SystemExit wins; report the errors it displaces.
                self._report_displaced(loop, self._base_error)
                return self._base_error

            if parent.requested:
                if parent.withdraw() == 0:
                    propagate = None  # the only cancellation was ours
                    if parent.still_pending():
                        propagate = await self._take_back(parent)
                elif propagate is None:
                    propagate = pending  # somebody else's: keep it

            # The body's error counts before a cancellation is let through: CPython
            # main checks only the children's errors there, and drops the body's
            # when an outside cancellation reached the group's wait.
            if et is not None and not issubclass(et, asyncio.CancelledError):
                assert exc is not None
                self._errors.append(exc)

            if propagate is not None and not self._errors:
                # Cancellation from outside, with nothing else to report.
                return parent.outgoing(propagate)

            if self._errors:
                if parent.cancelling():
                    parent.rearm()  # errors first; the outside cancellation stays pending
                if et is not None and issubclass(et, GeneratorExit) and len(self._errors) == 1:
                    # An async generator closed inside the group: let aclose() see GeneratorExit.
                    assert exc is not None
                    return exc
                return _grouped(self._errors)
            return None
        finally:
            # A CancelledError caught here has this frame in its traceback.
            exc = propagate = pending = None

    @staticmethod
    async def _take_back(parent: _Parent) -> BaseException | None:
        """3.10-3.12: let the group's pending cancellation strike here, and drop it.

        asyncio's uncancel() clears a cancellation that has not reached the task
        yet from 3.13 on; before, only a step of the task can take it, and this
        is the one loop iteration that costs. A cancellation that somebody else
        sends during that iteration merges into ours: it is returned, to be
        raised from the block as an await in the body would have raised it.
        """
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError as cancelled:
            parent.saw(cancelled)
            if parent.cancelling():
                return cancelled
        return None

    def _report_displaced(self, loop: asyncio.AbstractEventLoop, base: BaseException) -> None:
        for error in self._errors:
            if error is not base:
                loop.call_exception_handler(
                    {
                        "message": (
                            f"{self!r}: a task's exception was not propagated because "
                            f"the group is closing with {type(base).__name__}"
                        ),
                        "exception": error,
                        "task_group": self,
                    }
                )

    def spawn(
        self,
        coro: Coroutine[Any, Any, T],
        *,
        name: str | None = None,
        context: Context | None = None,
    ) -> asyncio.Task[T]:
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
        if type(coro) is not CoroutineType:
            coro = coroutine_or_error(coro, "TaskGroup.spawn")
        if not self._entered or (self._exiting and not self._tasks) or self._aborting:
            close_quietly(coro)
            raise RuntimeError(self._closed_message())
        self._count += 1
        own: str | None = None
        if name is None:
            own = coro.__qualname__ if type(coro) is CoroutineType else default_name(coro)
            name = f"{self._prefix}{own}-{self._count}"
        else:
            if type(name) is not str:
                check_name(name, "TaskGroup.spawn", coro)
            if self._prefix:
                name = self._prefix + name
        loop = self._loop
        parent = self._parent
        assert loop is not None and parent is not None
        observer = _hooks.observer
        tracer: Any = None
        start: float | None = None
        if observer is not None:
            # The children spawned in one loop iteration share a start time, kept on
            # the keeper while no task tracer wants to hear of each new child.
            start = self._keeper.stamp  # type: ignore[union-attr]
            if start is None:
                tracer = observer.task_tracer
                start = self._keeper.stamp_now(keep=tracer is None)  # type: ignore[union-attr]
            if own is None:
                own = default_name(coro)
        traced: object = None
        self._joining = coro
        try:
            if context is not None and not CREATE_TASK_TAKES_CONTEXT:  # 3.10
                raise TypeError(
                    "TaskGroup.spawn(coro, context=ctx) needs Python 3.11 or later. On 3.10, "
                    "start the task in a copy of the context: ctx.run(tg.spawn, coro)."
                )
            if tracer is not None:
                # A context of the task's own, with its span current (see spawn()).
                traced, context = tracer.task_starting(coro, name, context)
            if context is None:
                task = new_task(loop, coro, name)
            elif CREATE_TASK_TAKES_CONTEXT:
                task = loop.create_task(coro, name=name, context=context)  # type: ignore[call-arg,unused-ignore]
            else:  # 3.10, traced: a task copies the current context, so create it in this one
                task = context.run(new_task, loop, coro, name)
        except BaseException:
            close_quietly(coro)
            if traced is not None:
                tracer.task_created(None, traced)
            raise
        finally:
            self._joining = None
        if traced is not None:
            tracer.task_created(task, traced)
        if TRACKS_AWAITED_BY:
            add_awaited_by(task, parent.task)
        # Even a task that finished in an eager first step joins the group and
        # leaves it through its done-callback, as in CPython (gh-128550,
        # gh-128588): a failure then interrupts the body at its next await, not
        # inside spawn(), and a cancellation of the body meanwhile is raised from
        # the block, where the group waits for that callback.
        self._tasks[task] = start
        if start is not None and own is not self._coroutine:
            self._note_coroutine(task, own)  # type: ignore[arg-type]
        watcher = _hooks.spawn_watcher
        if watcher is not None:  # the pytest plugin, in strict mode
            watcher(task, self._path)
        task.add_done_callback(self._on_done, context=self._callback_context)
        if self._shutting_down() and not task.done():
            task.cancel(self._reason)  # an eager child cancelled the group before it joined
        try:
            return task
        finally:
            # An eager child that failed holds this frame through its traceback
            # (frames keep their callers): do not let the frame hold the task.
            del task

    def _note_coroutine(self, task: asyncio.Task[Any], name: str) -> None:
        """While observed: the coroutine name of the first child, or of one that runs another."""
        if self._coroutine is None:
            self._coroutine = name
        elif name != self._coroutine:
            self._names[task] = name
            self._plain = self._plain_heard = False

    def _closed_message(self) -> str:
        if not self._entered:
            return (
                f"{self!r} has not been entered: spawn tasks inside the block, "
                f"`async with TaskGroup(...) as tg: tg.spawn(coro)`. The coroutine was closed."
            )
        if self._aborting:
            return (
                f"{self!r} is shutting down (a task failed, the body raised, or cancel() "
                f"was called) and takes no new tasks. The coroutine was closed."
            )
        return (
            f"{self!r} has finished and takes no new tasks: create a new TaskGroup. "
            f"The coroutine was closed."
        )

    def cancel(self) -> None:
        """End the group early: cancel its tasks and its body, and exit without an error.

        The ``async with`` block then exits normally (unless a task failed, or
        the body is also cancelled from outside). Callable from the body, from a
        child, or from anywhere in the loop's thread; before the block is
        entered it cancels the group on entry; after the group has finished it
        does nothing. asyncio gains this in Python 3.15; here it works on 3.10+.
        """
        if not self._entered:
            self._cancel_on_enter = True
            return
        if self._exiting and not self._tasks:
            return
        if not self._aborting:
            parent = self._parent
            assert parent is not None and not parent.requested  # both go with _aborting
            why = f"cancel() was called {self._caller(parent)}"
            self._abort(why)
            parent.cancel(f"{self._label()}: {why}")

    def _caller(self, parent: _Parent) -> str:
        """Where cancel() is called from, for the cause: the body, a child, elsewhere."""
        try:
            current = asyncio.current_task()
        except RuntimeError:  # not in the loop's thread: a mistake, but say so plainly
            current = None
        if current is None:
            return "outside any task"
        if current is parent.task:
            return "in its body"
        if current in self._tasks or current.get_coro() is self._joining:
            return f"by its task {current.get_name()!r}"
        return f"by task {current.get_name()!r}"

    def _label(self) -> str:
        return f"TaskGroup {self._path!r}" if self._path else "TaskGroup (unnamed)"

    # -- what the observability layer reads (taskwise.observe) -----------------------

    def _path_text(self) -> str:
        return self._path

    def _parent_task(self) -> asyncio.Task[Any] | None:
        return None if self._parent is None else self._parent.task

    def _running(self) -> tuple[asyncio.Task[Any], ...]:
        return tuple(self._tasks)

    def _started_at(self, task: asyncio.Task[Any]) -> float | None:
        return self._tasks.get(task)

    def _entered_at_time(self) -> float:
        return self._entered_at

    def _shutting_down(self) -> bool:
        # A method, not the attribute: an eager child may set it inside create_task().
        return self._aborting

    def _abort(self, why: str) -> None:
        """Cancel the running children, saying *why* (the cancellation's cause)."""
        self._aborting = True
        self._reason = reason = f"{self._label()} is cancelling its tasks: {why}"
        observer = _hooks.observer
        if observer is not None:
            observer.group_cancelled(self, why)
        for task in self._tasks:
            if not task.done():
                task.cancel(reason)
                if observer is not None:
                    observer.cancelled(task, reason)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        start = self._tasks.pop(task, None)
        parent = self._parent
        assert parent is not None
        if TRACKS_AWAITED_BY:
            discard_awaited_by(task, parent.task)
        if self._all_done is not None and not self._tasks and not self._all_done.done():
            self._all_done.set_result(None)
        # While observed, the child is counted with the keeper's next tick, in a batch
        # (see __init__): the usual one costs an append here.
        observer = _hooks.observer
        if task.cancelled():
            if observer is not None:
                self._child_finished(observer, task, start, ok=False)
            return
        exc = task.exception()
        if exc is None:
            if observer is not None:
                if self._plain and start is not None:
                    self._finished_starts.append(start)
                elif self._plain_heard and start is not None:
                    self._finished_starts.append(start)
                    self._finished.append(task)
                else:
                    self._child_finished(observer, task, start, ok=True)
            return
        if observer is not None:
            self._child_finished(observer, task, start, ok=False)
        self._errors.append(exc)
        if _is_base_error(exc) and self._base_error is None:
            self._base_error = exc
        if parent.task.done():
            # The group's task ended without leaving the block (say an async
            # generator holding the group was dropped half-way): nobody can
            # raise this failure, so report it.
            assert self._loop is not None
            self._loop.call_exception_handler(
                {
                    "message": f"{task!r} failed after its group's task {parent.task!r} ended",
                    "exception": exc,
                    "task": task,
                }
            )
            return
        if not self._aborting and not parent.requested:
            # Interrupt the body (and then tell our cancellation apart in __aexit__).
            why = f"its task {task.get_name()!r} failed with {type(exc).__name__}"
            self._abort(why)
            parent.cancel(f"{self._label()}: {why}")

    def _child_finished(
        self, observer: Any, task: asyncio.Task[Any], start: float | None, *, ok: bool
    ) -> None:
        """While observed: queue a finished child for the keeper's next tick to count."""
        if not self._queued:
            self._queued = True
            keeper = self._keeper
            assert keeper is not None
            keeper.done_groups.append(self)
            if not keeper.ticking:
                keeper.start()
        name = self._names.pop(task, None) if self._names else None
        if start is None:  # spawned while observation was off: it ran since the group's entry
            self._apart.append((task, coroutine_name(task), self._entered_at))
        elif name is not None or not ok:
            # (A child not in _names ran the first child's coroutine.)
            self._apart.append((task, name or self._coroutine or coroutine_name(task), start))
        else:
            self._finished_starts.append(start)
        wants = observer.wants_tasks
        if wants:
            self._finished.append(task)  # for the listeners
            if observer.tracer is not None:  # (a group's span counts its children now)
                observer.tracer.child_finished(self, task)
        # The children that finish until the next tick take the short way in
        # _task_done() unless something needs more of them than their start (and, for
        # listeners, themselves). (A listener or tracer added meanwhile hears of the
        # children that finish from that tick on.)
        plain = not self._names
        self._plain = plain and not wants
        self._plain_heard = plain and wants and observer.tracer is None

    def _take_finished(
        self,
    ) -> tuple[str, str | None, list[float], list[tuple[asyncio.Task[Any], str, float]], list[Any]]:
        """What the keeper counts (see __init__): the group's path, the coroutine of its
        usual children, their starts, the children counted apart, and those heard of."""
        batch = (self._path, self._coroutine, self._finished_starts, self._apart, self._finished)
        self._finished_starts, self._apart, self._finished = [], [], []
        self._queued = self._plain = self._plain_heard = False
        return batch

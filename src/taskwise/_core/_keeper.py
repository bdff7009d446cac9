"""The keeper: strong references to spawned tasks, and reports of failures nobody can read.

One keeper per event loop, stored on the loop itself (``loop._taskwise_keeper``).
The loop holds its keeper, the keeper holds the loop and its tasks: when the
loop is closed and dropped, the whole cycle goes, as the tasks of a bare
``create_task()`` would. Nothing module-global refers to a keeper, so loops in
several threads, or several loops used in turn, never share or replace one.

How tasks are kept
------------------
The event loop holds tasks only weakly, so a task that nobody references can
be garbage-collected while it waits. The keeper holds every spawned task until
it is done. It works in batches, once per loop iteration, not once per task:
most tasks finish during their first step, and a per-task done-callback would
make the loop run one more handle for each of them. A spawned task goes into
``fresh``; the keeper's tick (one handle per iteration, while there is work)
moves it on:

* tick 1: ``fresh`` -> ``young``. Its first step is queued in this iteration.
* tick 2: a young task has had its first step. If it is done it is dropped
  (or, if it failed, looked at as below); if not, it moves to ``older``.
* tick 3: an older task has had its second step (most tasks that suspend once,
  on a lock, a queue or ``sleep(0)``, are done by now) and is dropped or looked
  at likewise. Only a task still running gets a done-callback and a place in
  ``running``; the tick after its done-callback looks at it.

Who reads a failure
-------------------
A failed task whose exception nobody has read yet is a *suspect*. What decides
is whether anybody else can still read it:

* nothing but the keeper references the task (its reference count says so):
  nobody ever can. The failure is reported at once, through the loop's
  exception handler, in the task's own context, and marked retrieved;
* somebody holds it (the caller kept the handle, ``asyncio.wait()`` returned
  it, a done-callback has it): the failure is theirs. The keeper looks again
  on the next two ticks, then lets go; if the holder drops the task unread,
  asyncio itself reports it at that moment ("Task exception was never
  retrieved"), once.

Without reference counts (not CPython) a suspect still unread after three
ticks is reported: a reader who is later than that gets the exception too, but
after a report.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from contextvars import Context
from types import FrameType
from typing import Any, Final
from weakref import WeakKeyDictionary

from . import _hooks
from ._compat import task_context
from ._hooks import GROUP_PATH

__all__ = [
    "KEEPER_ATTRIBUTE",
    "SHARDS",
    "Keeper",
    "keeper_of",
    "keeper_or_none",
    "shard",
    "user_frame",
]

#: Where a loop keeps its keeper.
KEEPER_ATTRIBUTE: Final = "_taskwise_keeper"

#: CPython's reference counts tell whether anybody but the keeper holds a task.
_getrefcount = getattr(sys, "getrefcount", None)

#: How many references the keeper's own look at a suspect makes: the local
#: variable in ``_look`` and ``getrefcount``'s argument.
_OURS: Final = 2

#: Ticks a held suspect is looked at again before the keeper lets go (with
#: reference counts), or before it is reported anyway (without them).
_LOOKS: Final = 3

_PACKAGE_DIR = __file__.rsplit("_core", 1)[0]

#: How many dicts ``Keeper.running`` is made of; ``shard()`` says which one a task is in.
#: A prime: tasks made one after another lie a fixed stride apart in memory, and an
#: address modulo a power of two would put them in a few shards only.
SHARDS: Final = 61


def shard(task: object) -> int:
    """The index of the shard of ``Keeper.running`` that holds *task*."""
    return id(task) % SHARDS


#: ``Task.done``, for passes over a batch at C speed (a TypeError for other kinds of task).
_done = asyncio.Task.done


class Keeper:
    """Strong references and failure reports for the tasks spawned on one loop."""

    __slots__ = (
        "__weakref__",
        "_on_done",
        "_tick",
        "at_once",
        "at_once_heard",
        "at_once_names",
        "at_once_ok",
        "context",
        "direct",
        "done_groups",
        "fresh",
        "groups",
        "loop",
        "older",
        "older_start",
        "paths",
        "running",
        "sampled",
        "stamp",
        "stats",
        "suspects",
        "ticking",
        "waiters",
        "young",
        "young_start",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.fresh: list[asyncio.Task[Any]] = []
        self.young: list[asyncio.Task[Any]] = []
        self.older: list[asyncio.Task[Any]] = []
        # Failed tasks to look at, by how often they were looked at already.
        self.suspects: tuple[list[asyncio.Task[Any]], ...] = tuple([] for _ in range(_LOOKS))
        # When the tasks of ``young`` and ``older`` were first seen (one time a
        # batch, not one a task), for ages and durations.
        self.young_start = self.older_start = 0.0
        # Running tasks, with the time their batch was first seen (shared floats:
        # no memory per task). A dict's compact table costs 27-60 bytes an entry.
        # In SHARDS dicts by the task's id (see shard()): one table of 10**5 tasks
        # would pause the loop for a millisecond or more each time it grows, or is
        # copied (the watchdog copies one shard per slice of its work).
        self.running: tuple[dict[asyncio.Task[Any], float], ...] = tuple({} for _ in range(SHARDS))
        # While observed: spawned tasks that finished in an eager first step, with
        # their coroutines' names, to be counted as one batch by the next tick.
        self.at_once: list[asyncio.Task[Any]] = []
        self.at_once_names: list[str] = []
        # ... and the coroutine names of those that went well, when nothing needs more
        # of them (no group path, no listener or tracer): the tasks themselves are let go.
        self.at_once_ok: list[str] = []
        # (with the tasks too, while listeners or the tracer want them)
        self.at_once_heard: list[asyncio.Task[Any]] = []
        # While observed: the TaskGroups with children that finished since the last
        # tick (each queues its own), for the next tick to count; and the start time
        # (time.monotonic()) of the children spawned in this loop iteration: one
        # clock read and one float an iteration, shared by them all (see stamp_now()).
        self.done_groups: list[Any] = []
        self.stamp: float | None = None
        # While observed: the group path of tasks spawned inside a named group
        # (tasks spawned outside any have none here, and count under "").
        self.paths: dict[asyncio.Task[Any], str] = {}
        # The counters of the observability layer, while it is on, and the running
        # tasks whose spawn site it sampled (creation hotspots).
        self.stats: Any = None
        self.sampled: dict[asyncio.Task[Any], tuple[list[int], int]] = {}
        # TaskGroups entered on this loop and not left yet: the task tree's nodes.
        self.groups: dict[Any, None] = {}
        self.ticking = False
        # What spawn() may build tasks with itself on this loop (its fast path):
        # set by a spawn() that checked, forgotten by every tick.
        self.direct: object = None
        # Futures of shutdown_spawned() calls, woken whenever tasks finish.
        self.waiters: list[asyncio.Future[None]] = []
        # The context the keeper's callbacks run in: its own, since a Context can
        # be entered by one thread at a time, and each loop runs in its own thread.
        self.context = Context()
        # Bound once: a bound method made per task would cost memory per task.
        self._on_done = self.on_done
        self._tick = self.tick

    def start(self) -> None:
        self.ticking = True
        self.loop.call_soon(self._tick, context=self.context)

    def tick(self) -> None:
        """Move every task one stage on; look at the suspects (see the module doc)."""
        self.direct = self.stamp = None
        try:
            self._promote()
            self._look()
        finally:
            # Even when an exception handler raised (KeyboardInterrupt), the next
            # tick is due, or the keeper would stop for good with work left.
            if self.fresh or self.young or self.older or any(self.suspects):
                self.loop.call_soon(self._tick, context=self.context)
            else:
                self.ticking = False
                if self.waiters:
                    self.wake()

    def _promote(self) -> None:
        older = self.older
        young = self.young
        # Start times go with their lists: fresh -> young (first seen now) -> older.
        now = self.loop.time()
        older_start = self.older_start
        young_start = self.older_start = self.young_start
        self.young_start = now
        self.young = self.fresh
        self.fresh = []
        self.older = []
        suspects = self.suspects[0]
        observer = _hooks.observer
        if observer is not None and self.stats is None:
            observer.counters_for(self)  # counted from now on: running tasks too
        if self.at_once:
            at_once, names = self.at_once, self.at_once_names
            self.at_once, self.at_once_names = [], []
            if observer is not None:
                observer.finished(self, at_once, now, now, names)
        if self.at_once_ok:
            names, heard = self.at_once_ok, self.at_once_heard
            self.at_once_ok, self.at_once_heard = [], []
            if observer is not None:
                observer.finished_ok(self, names, heard)
        if self.done_groups:
            self.count_children()
        # Tasks that have had two steps and still run get a done-callback.
        running = 0
        for task in older:
            if task.done():
                if task._log_traceback:
                    suspects.append(task)
            else:
                running += 1
                self.running[id(task) % SHARDS][task] = older_start
                task.add_done_callback(self._on_done, context=self.context)
        # The observer gets the finished ones as a batch: the whole list when none runs
        # on (the usual case), so that observing costs no list operation per task here.
        if observer is not None and len(older) > running:
            finished = [task for task in older if task.done()] if running else older
            observer.finished(self, finished, older_start, now)
        # Tasks that have had one step and still run get one more look next tick:
        # a task that suspends once (a lock, a queue, sleep(0)) is done by then,
        # and a look is far cheaper than the loop handle a done-callback costs.
        if not young:
            return
        try:
            every_one_done = all(map(_done, young))  # the usual case, at C speed
        except TypeError:  # a task factory's own kind of task: looked at one by one
            every_one_done = False
        if every_one_done:
            if observer is None:
                suspects += [task for task in young if task._log_traceback]
                return
            # One pass gives the observer the outcomes and the keeper its suspects.
            exceptions = [task._exception for task in young]
            if exceptions.count(None) != len(young):
                suspects += [task for task in young if task._log_traceback]
            observer.finished(self, young, young_start, now, exceptions=exceptions)
            return
        survivors = self.older
        for task in young:
            if task.done():
                if task._log_traceback:
                    suspects.append(task)
            else:
                survivors.append(task)
        if observer is not None and len(young) > len(survivors):
            finished = [task for task in young if task.done()]
            observer.finished(self, finished, young_start, now)

    def count_children(self) -> None:
        """Count the TaskGroup children that finished since the last tick (``done_groups``).

        The tick calls it, and so does a group as it exits: a snapshot taken just
        after the block sees every child of it counted.
        """
        groups = self.done_groups
        if not groups:
            return
        self.done_groups = []
        observer = _hooks.observer
        now = time.monotonic()
        for group in groups:
            batch = group._take_finished()
            if observer is not None:
                observer.children_finished(self, *batch, now)

    def stamp_now(self, *, keep: bool) -> float:
        """The start time of the TaskGroup children spawned in this loop iteration.

        Read from the clock once, and, if *keep*, kept in ``stamp`` for the other
        children of the iteration: the next tick forgets it (a tick is due by then),
        and so does ``Observer.forget_stamps()``.
        """
        stamp = time.monotonic()
        if keep:
            self.stamp = stamp
            if not self.ticking:
                self.start()
            observer = _hooks.observer
            if observer is not None and self.stats is None:
                observer.counters_for(self)  # so that Observer.forget_stamps() finds it
        return stamp

    def _look(self) -> None:
        """Report the suspects nobody else can read; let go of the ones read."""
        suspects = self.suspects
        last = len(suspects) - 1
        self.suspects = tuple([] for _ in suspects)
        try:
            for age, batch in enumerate(suspects):
                while batch:
                    task = batch.pop()
                    if not task._log_traceback:
                        continue  # read (or cancelled) by somebody: theirs
                    if isinstance(task._exception, (KeyboardInterrupt, SystemExit)):
                        task.exception()  # it left the loop (or spawn()) already: not again
                        continue
                    if _getrefcount is not None:
                        if _getrefcount(task) <= _OURS:
                            self.report(task, held=False)
                        elif age < last:
                            self.suspects[age + 1].append(task)
                        # else: held for three ticks; if the holder drops it unread,
                        # asyncio reports it then ("Task exception was never retrieved").
                    elif age < last:
                        self.suspects[age + 1].append(task)
                    else:
                        self.report(task, held=True)
        finally:
            # A handler that raised: what was not looked at yet waits for the next tick.
            for age, batch in enumerate(suspects):
                self.suspects[age].extend(batch)

    def on_done(self, task: asyncio.Task[Any]) -> None:
        start = self.running[id(task) % SHARDS].pop(task, None)
        observer = _hooks.observer
        if observer is not None and start is not None:
            observer.finished(self, [task], start, self.loop.time())
        if task._log_traceback:
            self.suspects[0].append(task)
            if not self.ticking:
                self.start()
        elif self.waiters and not self.ticking:
            self.wake()

    def wake(self) -> None:
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def report(self, task: asyncio.Task[Any], *, held: bool) -> None:
        """Pass the task's failure to the loop's exception handler, once."""
        exc = task.exception()  # marks it retrieved: reported here, and only here
        if held:
            why = "and nothing read its exception within three loop iterations"
        else:
            why = "and nothing references it any more, so nobody can read its exception"
        context: dict[str, Any] = {
            "message": f"Task {task.get_name()!r} failed, {why} ({started_by(task)})",
            "exception": exc,
            "task": task,
        }
        source = getattr(task, "_source_traceback", None)
        if source:
            context["source_traceback"] = source
        task_vars = task_context(task)
        path = "" if task_vars is None else task_vars.get(GROUP_PATH, "")
        if path:
            context["group_path"] = path  # spawned inside TaskGroup(...) blocks
        run_in_task_context(task, self.loop.call_exception_handler, context)

    def tasks(self) -> Iterator[asyncio.Task[Any]]:
        """The tasks being kept that have not finished yet."""
        for batch in (self.older, self.young, self.fresh, *self.running):
            for task in tuple(batch):
                if not task.done():
                    yield task

    def busy(self, ignore: asyncio.Task[Any] | None) -> bool:
        """Whether any kept task other than *ignore* runs, or a failure is to be looked at."""
        if any(self.suspects):
            return True
        return any(task is not ignore for task in self.tasks())


def started_by(task: asyncio.Task[Any]) -> str:
    """'started by taskwise.spawn() at app.py:12', as far as it is cheaply known."""
    source = getattr(task, "_source_traceback", None)  # debug mode: the spawn() call
    if source:
        frame = source[-1]
        return f"started by taskwise.spawn() at {frame.filename}:{frame.lineno}"
    # (Not task.get_coro(): on 3.12.1 and 3.13.0 it crashes the interpreter for
    # a task that finished in its eager first step.)
    return "started by taskwise.spawn()"


def run_in_task_context(task: asyncio.Task[Any], func: Any, arg: Any) -> None:
    """``func(arg)`` in a copy of *task*'s context, so that logging filters see its variables.

    A copy, not the context itself: from 3.12 ``call_exception_handler()`` enters
    the task's own context for a custom handler, and a context cannot be entered
    twice; the copy holds the same values.
    """
    context = task_context(task)
    if context is None:
        func(arg)
    else:
        context.copy().run(func, arg)


def trim_source_traceback(task: asyncio.Task[Any]) -> None:
    """Debug mode: let the task's creation traceback end at the user's spawn() call."""
    source = getattr(task, "_source_traceback", None)
    while source and source[-1].filename.startswith(_PACKAGE_DIR):
        del source[-1]


def user_frame() -> FrameType:
    """The innermost frame of the call stack outside taskwise: who called spawn()."""
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    return frame


def keeper_or_none(loop: asyncio.AbstractEventLoop) -> Keeper | None:
    """The loop's keeper, if anything was ever spawned on it."""
    keeper: Keeper | None = getattr(loop, KEEPER_ATTRIBUTE, None)
    return keeper if keeper is not None else _elsewhere.get(loop)


def keeper_of(loop: asyncio.AbstractEventLoop) -> Keeper:
    """The loop's keeper, made on first use."""
    keeper = keeper_or_none(loop)
    if keeper is None:
        keeper = Keeper(loop)
        try:
            setattr(loop, KEEPER_ATTRIBUTE, keeper)
        except AttributeError:  # a loop class with __slots__: kept beside it instead
            _elsewhere[loop] = keeper
    return keeper


# Keepers of loops whose class takes no attributes (none of asyncio's or uvloop's).
# Such a loop lives on while tasks spawned on it run; a closed one goes only once
# they are done.
_elsewhere: WeakKeyDictionary[asyncio.AbstractEventLoop, Keeper] = WeakKeyDictionary()

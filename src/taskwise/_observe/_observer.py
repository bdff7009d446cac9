"""The object the core calls while observability is on: counters, listeners, hotspots.

The keeper hands it batches (the tasks one tick found finished, which share a
start time), so the cost per task is a few C-level operations over a list, not
a Python call. Counters live per loop (on the loop's keeper), by group path and
coroutine name: each loop runs in one thread, so they need no lock. Listeners
are process-wide.

The coroutine's name is its ``__qualname__``, read from the task's ``_coro``
member when the batch is counted. Not ``task.get_coro()``: on 3.12.1 and 3.13.0
that crashes the interpreter for a task that finished in an eager first step
(its coroutine is cleared then, and the member reads None). Those tasks never
reach the keeper's batches: spawn() and TaskGroup.spawn() name them at once.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import random
import threading
import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, Final

from .._core._keeper import Keeper, user_frame
from .._core._spawn import UNKNOWN, coroutine_name

__all__ = [
    "BOUNDS",
    "LISTENER_METHODS",
    "UNKNOWN",
    "CoroutineStats",
    "GroupStats",
    "Observer",
    "PathCounters",
    "coroutine_name",
    "coroutine_names",
]

logger = logging.getLogger("taskwise.observe")

#: Methods of ``asyncio.Task`` for passes over a batch at C speed (a TypeError for
#: another kind of task, which is then looked at one by one).
_cancelled = asyncio.Task.cancelled
_get_name = asyncio.Task.get_name

#: Upper bounds, in seconds, of the duration histogram's buckets (the last is +inf).
BOUNDS: Final = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0, 300.0, float("inf"))

#: What a listener may define; each is optional, at least one is needed.
LISTENER_METHODS: Final = (
    "tasks_finished",
    "task_failed",
    "task_cancelled",
    "group_cancelled",
    "task_stuck",
)


def coroutine_names(tasks: Sequence[asyncio.Task[Any]]) -> list[str]:
    """``coroutine_name()`` of each task: one quick pass while every one has a name."""
    try:
        names: list[str] = [task._coro.__qualname__ for task in tasks]  # type: ignore[attr-defined]
    except AttributeError:  # one without: look at each
        return list(map(coroutine_name, tasks))
    return names


class PathCounters:
    """Counters for the tasks of one group path and coroutine name, on one loop."""

    __slots__ = ("buckets", "cancelled", "failed", "ok", "seconds", "slowest")

    def __init__(self) -> None:
        self.ok = self.failed = self.cancelled = 0
        self.seconds = self.slowest = 0.0
        self.buckets = [0] * len(BOUNDS)

    def add(
        self, ok: int, failed: int, cancelled: int, duration: float, *, moved: bool = False
    ) -> None:
        """Count tasks that all took *duration*, by outcome (*moved*: only recount outcomes)."""
        self.ok += ok
        self.failed += failed
        self.cancelled += cancelled
        if moved:
            return
        n = ok + failed + cancelled
        self.seconds += duration * n
        if duration > self.slowest:
            self.slowest = duration
        self.buckets[bisect.bisect_left(BOUNDS, duration)] += n

    def merge(self, other: PathCounters) -> None:
        """Add *other*'s counts to these."""
        self.ok += other.ok
        self.failed += other.failed
        self.cancelled += other.cancelled
        self.seconds += other.seconds
        self.slowest = max(self.slowest, other.slowest)
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]

    def add_started(self, starts: list[float], now: float) -> None:
        """Count tasks that all went well, each started at its *starts* entry, ended *now*.

        At C speed over the list. Children spawned in one loop iteration share one
        start (one float object), so a batch usually has one or two: while it has one,
        counting it is a single pass of ``list.count()``, which compares by identity.
        """
        n = len(starts)
        first = starts[0]
        self.ok += n
        if starts.count(first) == n:
            duration = now - first
            self.seconds += duration * n
            if duration > self.slowest:
                self.slowest = duration
            self.buckets[bisect.bisect_left(BOUNDS, duration)] += n
            return
        longest = now - min(starts)
        self.seconds += max(0.0, n * now - sum(starts))
        if longest > self.slowest:
            self.slowest = longest
        buckets = self.buckets
        bucket = bisect.bisect_left(BOUNDS, longest)
        if bisect.bisect_left(BOUNDS, now - max(starts)) == bucket:
            buckets[bucket] += n
            return
        durations = [now - start for start in starts]
        for bucket, count in Counter(map(bisect.bisect_left, repeat(BOUNDS), durations)).items():
            buckets[bucket] += count


@dataclass(frozen=True)
class GroupStats:
    """Lifecycle counts and durations of the tasks of one group path (``""``: no group).

    ``spawned`` is every task counted so far; ``running`` those not finished;
    ``ok``, ``failed`` and ``cancelled`` those finished, by outcome. Durations
    are measured at the loop iteration a task was first and last seen in, so
    they are exact to an iteration: ``seconds`` is their sum, ``slowest`` the
    longest, and ``buckets`` pairs each upper bound (seconds) with how many
    finished tasks took at most that long and more than the bound before.
    """

    path: str
    spawned: int
    running: int
    ok: int
    failed: int
    cancelled: int
    seconds: float
    slowest: float
    buckets: tuple[tuple[float, int], ...]


@dataclass(frozen=True)
class CoroutineStats:
    """:class:`GroupStats` of the tasks of one group path that run one coroutine function.

    ``coroutine`` is the coroutine's qualified name (``"Crawler.fetch"``), whatever
    the tasks are named: ``"crawl/fetch-17"`` counts under ``("crawl", "fetch")``.
    The other fields mean what they mean in :class:`GroupStats`.
    """

    path: str
    coroutine: str
    spawned: int
    running: int
    ok: int
    failed: int
    cancelled: int
    seconds: float
    slowest: float
    buckets: tuple[tuple[float, int], ...]


class Observer:
    """Counts finished tasks per group path and coroutine; tells listeners; samples spawn sites.

    ``tracer`` is the one consumer with more hooks than a listener has (the
    OpenTelemetry integration's spans): TaskGroup lifetimes, children, and batches.
    ``task_tracer`` is the same object while it wants a context of its own for each
    new task (per-task spans); spawn() and TaskGroup.spawn() call it before they
    create a task. Both None unless something installed them.
    """

    __slots__ = (
        "_listeners",
        "_tracer",
        "countdown",
        "every",
        "lock",
        "retired",
        "sites",
        "tables",
        "task_tracer",
        "wants_tasks",
    )

    def __init__(self, hotspots: float) -> None:
        # Whether anything needs the finished tasks themselves, not just their counts:
        # listeners, or the OpenTelemetry tracer (see the properties).
        self.wants_tasks = False
        self._listeners: list[Any] = []
        self._tracer: Any = None
        # Each loop's counters with a weak reference to its keeper, and the counters
        # of loops gone (see counted()).
        self.tables: list[tuple[weakref.ref[Keeper], dict[tuple[str, str], PathCounters]]] = []
        self.retired: dict[tuple[str, str], PathCounters] = {}
        self.lock = threading.Lock()
        # Hotspots: one spawn in `every`, on average, records its caller's file:line.
        self.every = round(1 / hotspots) if hotspots else 0
        self.countdown = self.next_countdown()
        # site -> [live, total], estimated: each sample counts `every` tasks.
        self.sites: dict[str, list[int]] = {}
        self.task_tracer: Any = None

    @property
    def listeners(self) -> list[Any]:
        """The listeners (a list replaced, never changed, so that a loop may iterate it)."""
        return self._listeners

    @listeners.setter
    def listeners(self, listeners: list[Any]) -> None:
        self._listeners = listeners
        self.wants_tasks = bool(listeners) or self._tracer is not None

    @property
    def tracer(self) -> Any:
        """The OpenTelemetry integration's spans, while installed."""
        return self._tracer

    @tracer.setter
    def tracer(self, tracer: Any) -> None:
        self._tracer = tracer
        self.wants_tasks = bool(self._listeners) or tracer is not None

    # -- called by the core -----------------------------------------------------------

    def spawned(self, keeper: Keeper, task: asyncio.Task[Any], path: str) -> None:
        """A task spawned inside a named group's context, or while sampling spawn sites."""
        if path:
            keeper.paths[task] = path
        if self.every:
            self.countdown -= 1
            if self.countdown <= 0:
                self.countdown = self.next_countdown()
                self.sample(keeper, task, user_frame())

    def finished(
        self,
        keeper: Keeper,
        tasks: list[asyncio.Task[Any]],
        start: float,
        now: float,
        names: list[str] | None = None,
        *,
        exceptions: list[BaseException | None] | None = None,
    ) -> None:
        """Count *tasks*, which all were first seen at *start* and found done at *now*.

        *names* are their coroutines' names, when the caller knows them (a task that
        finished in an eager first step no longer does); *exceptions* their
        ``_exception``, when the caller has read them already.
        """
        n = len(tasks)  # (never 0)
        stats = keeper.stats
        if stats is None:
            stats = self.counters_for(keeper)
        if names is None:
            # spawn() names a task after its coroutine unless told otherwise: while every
            # task of the batch has one name, and the first one's coroutine has that name,
            # the batch is one coroutine's (a task named by hand after another coroutine
            # would be counted under that one: still a coroutine's name, never a task's).
            # Reading names is cheaper than reading coroutines; other batches read those.
            first = tasks[0].get_name()
            try:
                task_names = list(map(_get_name, tasks))  # (at C speed)
            except TypeError:  # a task factory's own kind of task
                task_names = [task.get_name() for task in tasks]
            uniform = task_names.count(first) == n and coroutine_name(tasks[0]) == first
        else:
            first = names[0]
            uniform = names.count(first) == n
        if exceptions is None:
            exceptions = [task._exception for task in tasks]
        # (A cancelled task has None. An exception whose __eq__ claims to equal None
        # would pass for ok.)
        failed = n - exceptions.count(None)
        try:
            cancelled = (
                list(map(_cancelled, tasks)).count(True) if any(map(_cancelled, tasks)) else 0
            )
        except TypeError:  # a task factory's own kind of task
            cancelled = [task.cancelled() for task in tasks].count(True)
        duration = now - start
        paths = keeper.paths
        tracer = self.tracer
        durations = tracer is not None and tracer.durations
        if uniform and not paths:  # the usual batch: one coroutine function, no group
            counters = self._counters(stats, "", first)
            counters.add(n - failed - cancelled, failed, cancelled, duration)
            if durations:
                tracer.record_durations("", first, n, duration)
        else:
            if names is None or uniform:
                names = [first] * n if uniform else coroutine_names(tasks)
            path_list = list(map(paths.pop, tasks, repeat("", n))) if paths else [""] * n
            keys = zip(path_list, names, strict=True)
            counted = Counter(keys)
            for (path, name), count in counted.items():
                self._counters(stats, path, name).add(count, 0, 0, duration)
                if durations:
                    tracer.record_durations(path, name, count, duration)
            if failed or cancelled:  # rare: move those from ok to their outcome
                for path, name, task in zip(path_list, names, tasks, strict=True):
                    if task.cancelled():
                        self._counters(stats, path, name).add(-1, 0, 1, 0.0, moved=True)
                    elif task._exception is not None:
                        self._counters(stats, path, name).add(-1, 1, 0, 0.0, moved=True)
        if keeper.sampled:
            self.unsample(keeper, tasks)
        if tracer is not None and tracer.tasks:
            tracer.tasks_finished(tasks)
        if self.listeners:
            self.tell("tasks_finished", tasks)
            if failed:
                for task in tasks:
                    if not task.cancelled() and task._exception is not None:
                        self.tell("task_failed", task, task._exception)

    def finished_ok(self, keeper: Keeper, names: list[str], heard: list[asyncio.Task[Any]]) -> None:
        """Count tasks that went well in an eager first step, outside any group, by name.

        *heard* are those tasks themselves, while listeners or the tracer want them.
        """
        stats = keeper.stats
        if stats is None:
            stats = self.counters_for(keeper)
        first = names[0]
        counted = {first: len(names)} if names.count(first) == len(names) else Counter(names)
        tracer = self.tracer
        for name, n in counted.items():
            self._counters(stats, "", name).add(n, 0, 0, 0.0)
            if tracer is not None and tracer.durations:
                tracer.record_durations("", name, n, 0.0)
        if heard:
            if tracer is not None and tracer.tasks:
                tracer.tasks_finished(heard)
            if self.listeners:
                self.tell("tasks_finished", heard)

    def children_finished(
        self,
        keeper: Keeper,
        path: str,
        coroutine: str | None,
        starts: list[float],
        apart: list[tuple[asyncio.Task[Any], str, float]],
        heard: list[asyncio.Task[Any]],
        now: float,
    ) -> None:
        """Count the children of the group at *path* that finished since the last tick.

        The usual ones went well and ran *coroutine*: their starts (on
        ``time.monotonic()``, like *now*, this tick's time) are all there is of
        them. The others come *apart*, each with its coroutine name and start.
        *heard* are the children for the listeners.
        """
        stats = keeper.stats
        if stats is None:
            stats = self.counters_for(keeper)
        tracer = self.tracer
        record = tracer is not None and tracer.durations
        if starts:
            assert coroutine is not None
            self._counters(stats, path, coroutine).add_started(starts, now)
            if record:
                for start, count in Counter(starts).items():  # (a start an iteration)
                    tracer.record_durations(path, coroutine, count, now - start)
        failed = []  # (every failure is counted apart)
        for task, name, start in apart:
            duration = now - start
            if task.cancelled():
                outcome = (0, 0, 1)
            elif task._exception is not None:
                outcome = (0, 1, 0)
                failed.append(task)
            else:
                outcome = (1, 0, 0)
            self._counters(stats, path, name).add(*outcome, duration)
            if record:
                tracer.record_durations(path, name, 1, duration)
        # (The tracer heard of each child in its done-callback: its group's span counts it.)
        if self.listeners and heard:
            self.tell("tasks_finished", heard)
            if failed:
                told = set(map(id, heard))
                for task in failed:
                    if id(task) in told:
                        self.tell("task_failed", task, task._exception)

    def cancelled(self, task: asyncio.Task[Any], cause: str) -> None:
        if self.listeners:
            self.tell("task_cancelled", task, cause)

    def group_entered(self, group: Any) -> None:
        keeper = group._keeper
        if keeper.stats is None:
            self.counters_for(keeper)  # its running children are counted from now on
        if self.tracer is not None:
            self.tracer.group_entered(group)

    def group_cancelled(self, group: Any, cause: str) -> None:
        if self.tracer is not None:
            self.tracer.group_cancelled(group, cause)
        if self.listeners:
            self.tell("group_cancelled", group._path_text(), cause)

    def group_exited(self, group: Any, error: BaseException | None) -> None:
        if self.tracer is not None:
            self.tracer.group_exited(group, error)

    # -- counters -----------------------------------------------------------------------

    @staticmethod
    def _counters(stats: dict[tuple[str, str], PathCounters], path: str, name: str) -> PathCounters:
        counters = stats.get((path, name))
        if counters is None:
            counters = stats[path, name] = PathCounters()
        return counters

    def counters_for(self, keeper: Keeper) -> dict[tuple[str, str], PathCounters]:
        stats: dict[tuple[str, str], PathCounters] = {}
        keeper.stats = stats
        with self.lock:
            self.tables.append((weakref.ref(keeper), stats))
        return stats

    def keepers(self) -> list[Keeper]:
        """The keepers of the loops it counts on that are still alive."""
        with self.lock:
            keepers = [ref() for ref, _ in self.tables]
        return [keeper for keeper in keepers if keeper is not None]

    def forget_stamps(self) -> None:
        """A task tracer was installed: make every loop's next TaskGroup child ask for it.

        (A loop keeps the start time of the children of one iteration only while no
        task tracer is installed: see ``Keeper.stamp_now()``.)
        """
        for keeper in self.keepers():
            keeper.stamp = None

    def counted(self) -> list[tuple[Keeper | None, dict[tuple[str, str], PathCounters]]]:
        """Every loop's counters, with its keeper (None: a loop gone, its counts kept).

        A loop that was closed and collected takes its keeper along, but not what
        was counted on it: its counters are folded into ``retired`` here, so that a
        snapshot (or an exporter's collection) after ``asyncio.run()`` still sees them.
        """
        with self.lock:
            tables = []
            for ref, stats in self.tables:
                keeper = ref()
                if keeper is not None:
                    tables.append((ref, stats))
                    continue
                for key, counters in list(stats.items()):
                    retired = self.retired.get(key)
                    if retired is None:
                        retired = self.retired[key] = PathCounters()
                    retired.merge(counters)
            self.tables = tables
            live = [(ref(), stats) for ref, stats in tables]
            return [(None, dict(self.retired)), *live]

    # -- listeners ----------------------------------------------------------------------

    def tell(self, method: str, *args: Any) -> None:
        """Call *method* of every listener that has it; a listener that raises is removed.

        ``CancelledError`` counts as raising too: it is no cancellation of the keeper's
        callback or of a group's done-callback, and must not end one half-way.
        """
        for listener in self.listeners:
            call = getattr(listener, method, None)
            if call is None:
                continue
            try:
                call(*args)
            except (Exception, asyncio.CancelledError):
                # Only the loop that removes it logs it: loops in other threads may
                # have called it at the same time.
                if self.remove_listener(listener):
                    logger.exception(
                        "taskwise listener %r raised in %s(); it was removed, and the loop goes on",
                        listener,
                        method,
                    )

    def add_listener(self, listener: Any) -> None:
        with self.lock:
            if not any(existing is listener for existing in self.listeners):
                self.listeners = [*self.listeners, listener]

    def remove_listener(self, listener: Any) -> bool:
        """Remove *listener*; whether it was there."""
        with self.lock:
            listeners = [x for x in self.listeners if x is not listener]
            removed = len(listeners) < len(self.listeners)
            self.listeners = listeners
        return removed

    # -- hotspots -----------------------------------------------------------------------

    def next_countdown(self) -> int:
        """How many spawns until the next sample: `every` on average, at random.

        Not `every` itself: a program that spawns from a fixed cycle of sites would
        then be sampled at the same site each time, and the others never seen.
        """
        every = self.every
        return random.randint(1, 2 * every - 1) if every > 1 else every

    def sample(self, keeper: Keeper, task: asyncio.Task[Any], frame: Any) -> None:
        site = f"{frame.f_code.co_filename}:{frame.f_lineno}"
        counts = self.sites.get(site)
        if counts is None:
            counts = self.sites[site] = [0, 0]
        # Scaled now, at the rate of now: enable() may change the rate later.
        weight = self.every
        counts[1] += weight
        if not task.done():
            counts[0] += weight
            keeper.sampled[task] = (counts, weight)

    def unsample(self, keeper: Keeper, tasks: Sequence[asyncio.Task[Any]]) -> None:
        sampled = keeper.sampled
        if not sampled:
            return
        for task in tasks:
            # (The counts themselves: they may be the counts of an observer since replaced.)
            entry = sampled.pop(task, None)
            if entry is not None:
                counts, weight = entry
                counts[0] -= weight

"""The object the core calls while observability is on: counters, listeners, hotspots.

The keeper hands it batches (the tasks one tick found finished, which share a
start time), so the cost per task is a few C-level operations over a list, not
a Python call. Counters live per loop (on the loop's keeper): each loop runs in
one thread, so they need no lock. Listeners are process-wide.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Final
from weakref import WeakSet

from .._core._keeper import Keeper

__all__ = [
    "BOUNDS",
    "LISTENER_METHODS",
    "GroupStats",
    "Observer",
    "PathCounters",
]

logger = logging.getLogger("taskwise.observe")

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

# Read in C loops (map) over a batch: a task's state ("PENDING", "CANCELLED",
# "FINISHED") and its exception (None unless it failed).
_state_of = attrgetter("_state")
_exception_of = attrgetter("_exception")


class PathCounters:
    """Counters for the tasks of one group path, on one loop."""

    __slots__ = ("buckets", "cancelled", "failed", "ok", "seconds", "slowest")

    def __init__(self) -> None:
        self.ok = self.failed = self.cancelled = 0
        self.seconds = self.slowest = 0.0
        self.buckets = [0] * len(BOUNDS)

    def add(self, done: int, failed: int, cancelled: int, duration: float) -> None:
        """Count *done* tasks (of which *failed* and *cancelled*), that each took *duration*."""
        self.ok += done - failed - cancelled
        self.failed += failed
        self.cancelled += cancelled
        self.seconds += duration * done
        if duration > self.slowest:
            self.slowest = duration
        self.buckets[bisect.bisect_left(BOUNDS, duration)] += done


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


class Observer:
    """Counts finished tasks per group path; tells listeners; samples spawn sites."""

    def __init__(self, hotspots: float) -> None:
        self.listeners: list[Any] = []
        self.keepers: WeakSet[Keeper] = WeakSet()
        self.lock = threading.Lock()
        self.every = self.countdown = 0
        self.sample_rate(hotspots)
        self.sites: dict[str, list[int]] = {}  # site -> [live sampled, total sampled]

    # -- called by the core -----------------------------------------------------------

    def spawned(self, keeper: Keeper, task: asyncio.Task[Any]) -> None:
        """A spawn() while hotspots are sampled (spawn() records the group path itself)."""
        self.countdown -= 1
        if self.countdown <= 0:
            self.countdown = self.every
            self.sample(keeper, task, sys._getframe(2))

    def finished(
        self, keeper: Keeper, tasks: list[asyncio.Task[Any]], start: float, now: float
    ) -> None:
        """Count the finished tasks among *tasks* (one stage of the keeper: finished and
        running ones mixed), which were all first seen at *start*."""
        n = len(tasks)
        if not n:
            return
        states = list(map(_state_of, tasks))
        pending = states.count("PENDING")
        if pending == n:
            return
        stats = keeper.stats if keeper.observer is self else self.adopt(keeper)
        if keeper.paths:  # some spawned inside a named group: count them under its path
            done = [task for task in tasks if task.done()]
            by_path: dict[str, list[asyncio.Task[Any]]] = {}
            for task in done:
                by_path.setdefault(keeper.paths.pop(task, ""), []).append(task)
            failed = 0
            for path, some in by_path.items():
                failed += self._count(stats, path, some, now - start)
        else:
            done = None
            cancelled = states.count("CANCELLED")
            failed = n - list(map(_exception_of, tasks)).count(None)
            counters = stats.get("")
            if counters is None:
                counters = stats[""] = PathCounters()
            counters.add(n - pending, failed, cancelled, now - start)
        if keeper.sampled:
            self.unsample(keeper, tasks)
        if self.listeners:
            if done is None:
                done = [task for task in tasks if task.done()]
            self.tell("tasks_finished", done)
            if failed:
                for task in done:
                    if not task.cancelled() and task._exception is not None:
                        self.tell("task_failed", task, task._exception)

    def child_finished(
        self, keeper: Keeper, path: str, task: asyncio.Task[Any], duration: float
    ) -> None:
        # One task at a time (a group's done-callback): counted inline, without the
        # list operations that pay off for the keeper's batches.
        stats = keeper.stats if keeper.observer is self else self.adopt(keeper)
        counters = stats.get(path)
        if counters is None:
            counters = stats[path] = PathCounters()
        failed = False
        if task.cancelled():
            counters.cancelled += 1
        elif task._exception is not None:
            counters.failed += 1
            failed = True
        else:
            counters.ok += 1
        counters.seconds += duration
        if duration > counters.slowest:
            counters.slowest = duration
        counters.buckets[bisect.bisect_left(BOUNDS, duration)] += 1
        if self.listeners:
            self.tell("tasks_finished", [task])
            if failed:
                self.tell("task_failed", task, task._exception)

    def cancelled(self, task: asyncio.Task[Any], cause: str) -> None:
        if self.listeners:
            self.tell("task_cancelled", task, cause)

    def group_cancelled(self, path: str, cause: str) -> None:
        if self.listeners:
            self.tell("group_cancelled", path, cause)

    # -- counters -----------------------------------------------------------------------

    @staticmethod
    def _count(
        stats: dict[str, PathCounters],
        path: str,
        done: list[asyncio.Task[Any]],
        duration: float,
    ) -> int:
        """Count *done* (all finished) under *path*; return how many failed."""
        counters = stats.get(path)
        if counters is None:
            counters = stats[path] = PathCounters()
        cancelled = list(map(_state_of, done)).count("CANCELLED")
        failed = len(done) - list(map(_exception_of, done)).count(None)
        counters.add(len(done), failed, cancelled, duration)
        return failed

    def adopt(self, keeper: Keeper) -> dict[str, PathCounters]:
        """Start counting on *keeper*'s loop: fresh counters, seen by snapshot()."""
        stats: dict[str, PathCounters] = {}
        keeper.stats = stats
        keeper.observer = self
        with self.lock:
            self.keepers.add(keeper)
        return stats

    # -- listeners ----------------------------------------------------------------------

    def tell(self, method: str, *args: Any) -> None:
        """Call *method* of every listener that has it; a listener that raises is removed."""
        for listener in self.listeners:
            call = getattr(listener, method, None)
            if call is None:
                continue
            try:
                call(*args)
            except Exception:
                self.remove_listener(listener)
                logger.exception(
                    "taskwise listener %r raised in %s(); it was removed, and the loop goes on",
                    listener,
                    method,
                )

    def add_listener(self, listener: Any) -> None:
        with self.lock:
            if not any(existing is listener for existing in self.listeners):
                self.listeners = [*self.listeners, listener]

    def remove_listener(self, listener: Any) -> None:
        with self.lock:
            self.listeners = [x for x in self.listeners if x is not listener]

    # -- hotspots -----------------------------------------------------------------------

    def sample_rate(self, hotspots: float) -> None:
        """Record the call site of one spawn() in ``1 / hotspots`` (none for 0)."""
        self.every = self.countdown = round(1 / hotspots) if hotspots else 0

    def sample(self, keeper: Keeper, task: asyncio.Task[Any], frame: Any) -> None:
        site = f"{frame.f_code.co_filename}:{frame.f_lineno}"
        counts = self.sites.get(site)
        if counts is None:
            counts = self.sites[site] = [0, 0]
        counts[0] += 1
        counts[1] += 1
        if task.done():
            counts[0] -= 1
        else:
            keeper.sampled[task] = site

    def unsample(self, keeper: Keeper, tasks: Sequence[asyncio.Task[Any]]) -> None:
        sampled = keeper.sampled
        if not sampled:
            return
        for task in tasks:
            if task in sampled and task.done():
                self.sites[sampled.pop(task)][0] -= 1

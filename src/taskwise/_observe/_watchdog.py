"""The stuck-task watchdog, and a tree dump on a signal.

The watchdog looks at the tracked tasks every *interval* seconds, in slices of
at most ~0.5 ms of work each with a loop iteration between them, so it never
pauses the loop for long however many tasks there are. A task is stuck when it
is older than the threshold and waits at the same ``await`` as at the look
before: it is logged once (logger ``taskwise.watchdog``) and listeners hear of
it (``task_stuck``).
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import math
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from .._core import _hooks
from .._core._keeper import SHARDS, keeper_of, keeper_or_none, shard
from ._tree import await_site, build_tree, waiting_on

__all__ = ["Watchdog", "check_patterns", "dump_tree_on"]

logger = logging.getLogger("taskwise.watchdog")

_NOTHING = object()


def _shards() -> list[dict[asyncio.Task[Any], object]]:
    return [{} for _ in range(SHARDS)]  # (by shard(task), as the keeper's running tasks)


#: The most work one slice of a look does before it lets the loop run (seconds).
SLICE = 0.0005


def check_patterns(patterns: Iterable[str], api: str) -> tuple[str, ...]:
    """Refuse group-path patterns that can never match, with the fix."""
    if isinstance(patterns, str):
        raise TypeError(
            f"{api}(ignore=) takes a list of patterns, but got the string {patterns!r}; "
            f"wrap it: ignore=[{patterns!r}]."
        )
    checked = []
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern:
            raise ValueError(
                f"{api}(ignore=) takes group-path patterns such as 'server/*', but got "
                f"{pattern!r}, which matches no path."
            )
        if pattern.startswith("/") or (pattern.endswith("/") and not pattern.endswith("*/")):
            fixed = pattern.strip("/") or "*"
            raise ValueError(
                f"{api}(ignore=) pattern {pattern!r} can never match: group paths are "
                f"written 'outer/inner', with no leading or trailing '/'. Did you mean "
                f"{fixed!r} (or {fixed + '/*'!r} for what runs inside it)?"
            )
        checked.append(pattern)
    return tuple(checked)


def _seconds(value: object, what: str, api: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{api}({what}=) takes a number of seconds, but got {value!r}.")
    if math.isnan(value) or value <= 0:
        raise ValueError(
            f"{api}({what}=) takes a positive number of seconds, but got {value!r}: "
            f"for example {api}({what}=30)."
        )
    return float(value)


class Watchdog:
    """Find tasks that are stuck: old, and waiting at the same ``await`` look after look.

    Use it as ``async with Watchdog(threshold=60):`` around the part of the
    program to watch (typically all of ``main()``): it runs as a task of its own
    while the block runs. Entering it turns observation on, as
    :func:`add_listener` does: the group path of a task spawned inside a named
    group's block, which its reports give and ``ignore=`` matches, is known only
    for tasks spawned while observation is on.
    """

    def __init__(
        self,
        threshold: float,
        *,
        interval: float | None = None,
        ignore: Iterable[str] = (),
    ) -> None:
        #: Seconds a task must be old to count as stuck.
        self.threshold: float = _seconds(threshold, "threshold", "Watchdog")
        #: Seconds between two looks.
        self.interval: float = (
            self.threshold / 2 if interval is None else _seconds(interval, "interval", "Watchdog")
        )
        #: Patterns of group paths or task names that are never flagged.
        self.ignore: tuple[str, ...] = check_patterns(ignore, "Watchdog")
        self.stuck: list[str] = []  # the names of the tasks found stuck, in order
        # What each task awaited at the last look (the object itself: see waiting_on()),
        # in shards: one table of 10**5 entries would pause the loop for a millisecond
        # or two each time it grows (or is freed); 64 small ones never do.
        self._waits: list[dict[asyncio.Task[Any], object]] = _shards()
        self._flagged: set[asyncio.Task[Any]] = set()
        self._task: asyncio.Task[None] | None = None
        #: The longest slice of work a look did between two loop iterations (seconds).
        self.longest_pause: float = 0.0

    async def __aenter__(self) -> Watchdog:
        loop = asyncio.get_running_loop()
        if _hooks.observer is None:
            from ..observe import enable  # (the public layer imports this module)

            enable()
        keeper_of(loop)
        self._task = loop.create_task(self._run(), name="taskwise.Watchdog")
        return self

    async def __aexit__(
        self,
        et: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])  # its end, without its CancelledError

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.look()

    def _sources(self, loop: asyncio.AbstractEventLoop) -> list[tuple[Any, ...]]:
        """What to look at: (tasks, who knows their start times, the path of a group's
        tasks, the clock). The spawned tasks are the keeper's shards of running tasks,
        copied one per slice as the look reaches them: a copy of 10**5 tasks at once
        would pause the loop for a millisecond or more."""
        keeper = keeper_or_none(loop)
        if keeper is None:
            return []
        now = loop.time()
        sources: list[tuple[Any, ...]] = [(shard, keeper, None, now) for shard in keeper.running]
        clock = time.monotonic()  # groups keep their times on this clock, not the loop's
        for group in list(keeper.groups):
            sources.append((group._running(), group, group._path_text(), clock))
        return sources

    async def look(self) -> None:
        """One look at every tracked task, in slices of at most ~0.5 ms of work."""
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        seen = _shards()
        slice_start = time.perf_counter()
        for tasks, owner, group_path, now in self._sources(loop):
            if group_path is None:  # a shard of the keeper's running tasks: copy it now
                starts = tasks
                tasks = list(starts)
            for task in tasks:
                if task is me or task.done():
                    continue
                if group_path is None:  # spawned: the keeper knows its start and path
                    start = starts.get(task)
                    path = owner.paths.get(task, "")
                else:  # a group's task
                    start = owner._started_at(task)
                    if start is None:
                        start = owner._entered_at_time()
                    path = group_path
                if self.ignore and self._ignored(path, task.get_name()):
                    continue
                on = seen[shard(task)][task] = waiting_on(task)
                age = 0.0 if start is None else now - start
                if (
                    age >= self.threshold
                    and task not in self._flagged
                    and self._waits[shard(task)].get(task, _NOTHING) is on
                ):
                    self._flagged.add(task)
                    self._report(task, path, await_site(task), age)
                elapsed = time.perf_counter() - slice_start
                if elapsed >= SLICE:
                    self.longest_pause = max(self.longest_pause, elapsed)
                    await asyncio.sleep(0)
                    slice_start = time.perf_counter()
        old, self._waits = self._waits, seen
        if self._flagged:
            self._flagged = {t for t in self._flagged if t in seen[shard(t)]}
        while old:  # the last look's shards go one at a time, between slices
            old.pop()
            elapsed = time.perf_counter() - slice_start
            if old and elapsed >= SLICE:
                self.longest_pause = max(self.longest_pause, elapsed)
                await asyncio.sleep(0)
                slice_start = time.perf_counter()
        self.longest_pause = max(self.longest_pause, time.perf_counter() - slice_start)

    def _ignored(self, path: str, name: str) -> bool:
        return any(
            fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(name, pattern)
            for pattern in self.ignore
        )

    def _report(self, task: asyncio.Task[Any], path: str, site: str | None, age: float) -> None:
        self.stuck.append(task.get_name())
        logger.warning(
            "task %r (group %r) looks stuck: %.1f s old, still waiting at %s",
            task.get_name(),
            path or "-",
            age,
            site or "an unknown place",
        )
        observer = _hooks.observer
        if observer is not None and observer.listeners:
            observer.tell("task_stuck", task, site, age)


def dump_tree_on(signum: int) -> None:
    """On signal *signum*, log the task tree (with await sites) at WARNING, on this loop.

    For Python 3.10-3.13, where ``python -m asyncio pstree`` does not exist. Call it
    from async code; undo it with ``loop.remove_signal_handler(signum)``.
    """
    loop = asyncio.get_running_loop()

    def dump() -> None:
        logger.warning("%s", build_tree(loop, where=True))

    loop.add_signal_handler(signum, dump)

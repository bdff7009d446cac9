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
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any

from .._core import _hooks
from .._core._keeper import keeper_of, keeper_or_none
from ._tree import build_tree, waiting_at

__all__ = ["Watchdog", "check_patterns", "dump_tree_on"]

logger = logging.getLogger("taskwise.watchdog")

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
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise TypeError(f"{api}({what}=) takes a number of seconds, but got {value!r}.")
    if value <= 0:
        raise ValueError(
            f"{api}({what}=) takes a positive number of seconds, but got {value!r}: "
            f"for example {api}({what}=30)."
        )
    return float(value)


class Watchdog:
    """Find tasks that are stuck: old, and waiting at the same ``await`` look after look.

    Use it as ``async with Watchdog(threshold=60):`` around the part of the
    program to watch (typically all of ``main()``): it runs as a task of its own
    while the block runs.
    """

    def __init__(
        self,
        threshold: float,
        *,
        interval: float | None = None,
        ignore: Iterable[str] = (),
    ) -> None:
        self.threshold = _seconds(threshold, "threshold", "Watchdog")
        self.interval = (
            self.threshold / 2 if interval is None else _seconds(interval, "interval", "Watchdog")
        )
        self.ignore = check_patterns(ignore, "Watchdog")
        self.stuck: list[str] = []  # the names of the tasks found stuck, in order
        self._sites: dict[asyncio.Task[Any], tuple[str | None, object]] = {}
        self._flagged: set[asyncio.Task[Any]] = set()
        self._task: asyncio.Task[None] | None = None
        self.longest_pause = 0.0  # the longest slice a look took (seconds)

    async def __aenter__(self) -> Watchdog:
        loop = asyncio.get_running_loop()
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

    def _candidates(
        self, loop: asyncio.AbstractEventLoop
    ) -> Iterator[tuple[asyncio.Task[Any], str, float]]:
        keeper = keeper_or_none(loop)
        if keeper is None:
            return
        now = loop.time()
        for task, start in list(keeper.running.items()):
            yield task, keeper.paths.get(task, ""), now - start
        clock = time.monotonic()  # groups keep their times on this clock, not the loop's
        for group in list(keeper.groups):
            path = group._path_text()
            for task in group._running():
                start = group._started_at(task)
                entered = group._entered_at_time()
                yield task, path, clock - (start if start is not None else entered)

    async def look(self) -> None:
        """One look at every tracked task, in slices."""
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        seen: dict[asyncio.Task[Any], tuple[str | None, object]] = {}
        slice_start = time.perf_counter()
        for task, path, age in list(self._candidates(loop)):
            if task is me or task.done():
                continue
            if self.ignore and self._ignored(path, task.get_name()):
                continue
            waiting = seen[task] = waiting_at(task)
            if (
                age >= self.threshold
                and task not in self._flagged
                and self._sites.get(task) == waiting
            ):
                self._flagged.add(task)
                self._report(task, path, waiting[0], age)
            elapsed = time.perf_counter() - slice_start
            if elapsed >= SLICE:
                self.longest_pause = max(self.longest_pause, elapsed)
                await asyncio.sleep(0)
                slice_start = time.perf_counter()
        self.longest_pause = max(self.longest_pause, time.perf_counter() - slice_start)
        self._sites = seen
        self._flagged &= seen.keys()

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

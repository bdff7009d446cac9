"""See what your tasks are doing: counters, listeners, a task tree, a watchdog, logging.

Everything here is recorded where taskwise already touches each task -- the
keeper's batches for :func:`taskwise.spawn`, the done-callbacks of
:class:`taskwise.TaskGroup` -- never through a task factory or a wrapper
around your coroutines, so names, ``get_coro()`` and your own factory stay as
they are. Nothing costs anything until :func:`enable` (or
:func:`add_listener`) turns it on.

Example::

    import taskwise.observe

    taskwise.observe.enable()

    async def main() -> None:
        async with taskwise.TaskGroup("crawl") as tg:
            tg.spawn(asyncio.sleep(0))
        stats = taskwise.observe.snapshot()["crawl"]
        assert (stats.spawned, stats.ok) == (1, 1)

    asyncio.run(main())
    taskwise.observe.disable()
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Any, Final

from ._core import _hooks
from ._core._keeper import Keeper as _Keeper
from ._observe._logging import TaskContextFilter
from ._observe._observer import BOUNDS as _BOUNDS
from ._observe._observer import LISTENER_METHODS as _LISTENER_METHODS
from ._observe._observer import CoroutineStats, GroupStats
from ._observe._observer import Observer as _Observer
from ._observe._observer import coroutine_name as _coroutine_name
from ._observe._tree import GroupNode, TaskNode, TaskTree
from ._observe._tree import build_tree as _build_tree
from ._observe._watchdog import Watchdog, dump_tree_on

__all__ = [
    "CoroutineStats",
    "GroupNode",
    "GroupStats",
    "Hotspot",
    "TaskContextFilter",
    "TaskNode",
    "TaskTree",
    "Watchdog",
    "add_listener",
    "disable",
    "dump_tree_on",
    "enable",
    "hotspots",
    "is_enabled",
    "remove_listener",
    "snapshot",
    "snapshot_by_coroutine",
    "task_tree",
]


#: The smallest sampling share enable() takes (one spawn() call in a billion).
_SMALLEST_SHARE: Final = 1e-9


def enable(*, hotspots: float = 0.0) -> None:
    """Turn on lifecycle counters (and, with *hotspots*, spawn-site sampling), process-wide.

    Counters cost a few per cent per task (docs/performance.md); they count tasks
    that finish from now on. *hotspots* is the share of :func:`taskwise.spawn`
    calls whose call site is recorded, from 0 (off) to 1 (every call): 0.01
    samples one call in a hundred, and :func:`hotspots` scales its counts back
    up. Calling it again changes the sampling rate and keeps the counters.

    Raises:
        ValueError: *hotspots* is not between 0 and 1, or is below 1e-9 (and not 0).
    """
    if isinstance(hotspots, bool) or not isinstance(hotspots, (int, float)):
        raise TypeError(f"enable(hotspots=) takes a share from 0 to 1, but got {hotspots!r}.")
    if math.isnan(hotspots) or not 0 <= hotspots <= 1:
        raise ValueError(
            f"enable(hotspots=) takes a share of spawn() calls to sample, from 0 (off) to 1 "
            f"(every call), but got {hotspots!r}: for one call in a hundred, pass 0.01."
        )
    if 0 < hotspots < _SMALLEST_SHARE:
        raise ValueError(
            f"enable(hotspots={hotspots!r}) would sample fewer than one spawn() call in "
            f"{round(1 / _SMALLEST_SHARE):,}, that is none in practice: pass at least "
            f"{_SMALLEST_SHARE}, or 0 to sample none."
        )
    current = _hooks.observer
    observer = _Observer(hotspots)
    if current is not None:
        observer.listeners = current.listeners
        observer.tables = current.tables
        observer.retired = current.retired
        observer.sites = current.sites
        observer.tracer = current.tracer
        observer.task_tracer = current.task_tracer
    _hooks.set_observer(observer)


def disable() -> None:
    """Turn observation off: counters stop counting, listeners stop hearing. Harmless twice.

    The counters are dropped: after another :func:`enable` they count afresh.
    """
    observer = _hooks.observer
    _hooks.set_observer(None)
    if observer is not None:
        for keeper in observer.keepers():
            # (Each a single operation, safe beside the loop's thread still counting.)
            keeper.stats = None
            keeper.paths.clear()
            keeper.sampled.clear()


def is_enabled() -> bool:
    """Whether :func:`enable` (or :func:`add_listener`) has turned observation on."""
    return _hooks.observer is not None


def add_listener(listener: Any) -> None:
    """Tell *listener* what happens to the tasks taskwise tracks (and turn observation on).

    A listener is any object with one or more of these methods; taskwise calls
    the ones it has, on the loop's thread, and never waits on them:

    * ``tasks_finished(tasks)``: a batch of tasks that finished (once per loop
      iteration for spawned tasks, and once per group and iteration for a
      TaskGroup's children);
    * ``task_failed(task, exception)``: a task ended with an exception;
    * ``task_cancelled(task, cause)``: taskwise cancelled a task, and why (a
      group's child failed, ``tg.cancel()``, a shutdown timeout, ...);
    * ``group_cancelled(path, cause)``: a TaskGroup started cancelling its tasks;
    * ``task_stuck(task, where, age)``: a :class:`Watchdog` found a stuck task.

    A listener that raises is removed and the error logged (logger
    ``taskwise.observe``); the loop goes on. Adding one twice adds it once.

    Raises:
        TypeError: *listener* has none of these methods, or is a class (pass an
            instance).
    """
    if isinstance(listener, type):
        raise TypeError(
            f"add_listener() takes a listener object, but got the class {listener.__qualname__} "
            f"itself: its methods would be called without an instance. You probably meant "
            f"add_listener({listener.__qualname__}())."
        )
    if not any(callable(getattr(listener, name, None)) for name in _LISTENER_METHODS):
        known = ", ".join(f"{name}()" for name in _LISTENER_METHODS)
        raise TypeError(
            f"add_listener() takes an object with at least one of the methods {known}, "
            f"but {listener!r} has none of them. Define the ones you need, e.g. "
            f"`class Audit: def task_failed(self, task, exception): ...`."
        )
    if _hooks.observer is None:
        enable()
    _hooks.observer.add_listener(listener)


def remove_listener(listener: Any) -> None:
    """Stop telling *listener*; nothing happens if it was not added."""
    observer = _hooks.observer
    if observer is not None:
        observer.remove_listener(listener)


def snapshot() -> dict[str, GroupStats]:
    """The lifecycle counters by group path (``""``: tasks outside any group), all loops.

    Counts are of tasks that finished while observation was on, plus the ones
    running now. Safe to call from any thread (an exporter's, say).
    :func:`snapshot_by_coroutine` splits each path's counts by coroutine.
    """
    totals: dict[str, list[Any]] = {}
    for (path, _), row in _totals().items():
        _merge(totals.setdefault(path, _empty_row()), row)
    return {path: GroupStats(path, *_fields(row)) for path, row in sorted(totals.items())}


def snapshot_by_coroutine() -> dict[tuple[str, str], CoroutineStats]:
    """The lifecycle counters by group path and coroutine name, all loops.

    The same counts as :func:`snapshot`, split by the qualified name of the
    coroutine each task runs, whatever the task is named: every
    ``tg.spawn(fetch(url))`` of ``TaskGroup("crawl")`` counts under
    ``("crawl", "fetch")``, however many there are. A task whose coroutine
    cannot be told counts under ``"<unknown>"``. Safe to call from any thread.

    One shortcut keeps this cheap: spawned tasks that finish in the same loop
    iteration, all with one name, count under it when the first of them runs a
    coroutine of that name. So ``spawn(parse(), name="fetch")`` beside
    ``spawn(fetch())`` may count under ``"fetch"``: name tasks after what they
    do, or give them names that are not other coroutines' names.

    Example::

        import taskwise.observe

        taskwise.observe.enable()

        async def fetch(url: str) -> str:
            return url

        async def main() -> None:
            async with taskwise.TaskGroup("crawl") as tg:
                for url in ("a", "b"):
                    tg.spawn(fetch(url))
            stats = taskwise.observe.snapshot_by_coroutine()[("crawl", "fetch")]
            assert (stats.spawned, stats.ok) == (2, 2)

        asyncio.run(main())
        taskwise.observe.disable()
    """
    return {
        key: CoroutineStats(key[0], key[1], *_fields(row)) for key, row in sorted(_totals().items())
    }


def _empty_row() -> list[Any]:
    # running, ok, failed, cancelled, seconds, slowest, buckets
    return [0, 0, 0, 0, 0.0, 0.0, [0] * len(_BOUNDS)]


def _merge(row: list[Any], other: list[Any]) -> None:
    for i in range(5):
        row[i] += other[i]
    row[5] = max(row[5], other[5])
    row[6] = [a + b for a, b in zip(row[6], other[6], strict=True)]


def _fields(row: list[Any]) -> tuple[Any, ...]:
    running, ok, failed, cancelled, seconds, slowest, buckets = row
    return (
        running + ok + failed + cancelled,
        running,
        ok,
        failed,
        cancelled,
        seconds,
        slowest,
        tuple(zip(_BOUNDS, buckets, strict=True)),
    )


def _totals() -> dict[tuple[str, str], list[Any]]:
    """Every loop's counters, added up by (group path, coroutine name), running tasks too."""
    observer = _hooks.observer
    if observer is None:
        return {}
    totals: dict[tuple[str, str], list[Any]] = {}
    for keeper, stats in observer.counted():
        for key, counters in list(stats.items()):
            row = [
                0,
                counters.ok,
                counters.failed,
                counters.cancelled,
                counters.seconds,
                counters.slowest,
                counters.buckets,
            ]
            _merge(totals.setdefault(key, _empty_row()), row)
        if keeper is None:  # (a loop gone: nothing runs on it)
            continue
        for key, running in _running(keeper).items():
            totals.setdefault(key, _empty_row())[0] += running
    return totals


def _running(keeper: _Keeper) -> dict[tuple[str, str], int]:
    running: dict[tuple[str, str], int] = {}
    for task in keeper.tasks():
        key = (keeper.paths.get(task, ""), _coroutine_name(task))
        running[key] = running.get(key, 0) + 1
    for group in list(keeper.groups):
        path = group._path_text()
        for task in group._running():
            if not task.done():
                key = (path, _coroutine_name(task))
                running[key] = running.get(key, 0) + 1
    return running


def task_tree(*, where: bool = False) -> TaskTree:
    """The tasks and groups taskwise tracks on the running loop, as a :class:`TaskTree`.

    ``print(task_tree())`` draws it. With *where*, each task also says where it
    waits (``file:line`` of its innermost ``await``), which costs a walk down
    each task's coroutines. It reads only what taskwise tracks, never
    ``asyncio.all_tasks()``.

    Raises:
        RuntimeError: no asyncio event loop is running in this thread.
    """
    return _build_tree(asyncio.get_running_loop(), where=where)


@dataclass(frozen=True)
class Hotspot:
    """Where tasks are spawned from: a call site and its (estimated) task counts.

    The counts are the sampled counts scaled by the sampling rate: estimates,
    exact only with ``enable(hotspots=1)``.
    """

    site: str
    live: int
    total: int


def hotspots() -> list[Hotspot]:
    """Spawn sites by estimated live tasks, most first (needs ``enable(hotspots=...)``).

    A site whose live count keeps growing is where a leak of tasks comes from.
    """
    observer = _hooks.observer
    if observer is None or not observer.every:
        return []
    found = [Hotspot(site, live, total) for site, (live, total) in list(observer.sites.items())]
    return sorted(found, key=lambda h: (-h.live, -h.total, h.site))

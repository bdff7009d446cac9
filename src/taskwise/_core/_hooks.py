"""Where the observability layer plugs into the core, and the group path they share.

Set them with ``set_observer()`` and ``set_spawn_watcher()``; spawn()'s fast
path reads one value made of them, ``spawn_hooks``, not each of them.

``observer`` is None while nothing observes: the keeper then pays one global
read per tick, and nothing per task. ``taskwise.observe.enable()`` sets it to
the object that counts and tells listeners (``taskwise._observe``); the core
never imports that layer.

``spawn_watcher`` is None too, except while taskwise's pytest plugin watches a
test in strict mode (``taskwise.integrations.pytest_plugin``): then spawn() and
``TaskGroup.spawn()`` call it with each task they start that is still running
(and spawn() with each that failed in an eager first step), and the task's
group path, so that the plugin knows which test started which task, and from
where (it reads the caller's frame).
"""

from __future__ import annotations

import threading
from contextvars import ContextVar
from typing import Any, Final

__all__ = [
    "EVERY_CALL",
    "GROUP_PATH",
    "PATHS",
    "named_entered",
    "named_left",
    "named_open",
    "observer",
    "refresh",
    "set_observer",
    "set_spawn_watcher",
    "spawn_hooks",
    "spawn_watcher",
]

#: The path of the innermost named group around the running code: "outer/inner".
GROUP_PATH: ContextVar[str] = ContextVar("taskwise_group_path", default="")

#: How many named TaskGroup blocks are running, in every thread: while none is,
#: no spawn() runs inside one, and spawn() need not read GROUP_PATH for the
#: counters (a ContextVar read costs it more than the rest of observing does).
named_open = 0
_named_lock = threading.Lock()

#: The observability layer, while it is on; None while it is off.
observer: Any = None

#: Called as ``spawn_watcher(task, group_path)`` for each task spawn() and TaskGroup.spawn()
#: start, while set (by the pytest plugin, in strict mode); None otherwise.
spawn_watcher: Any = None

#: What spawn() has to do for each task besides keeping it (kept up to date by
#: refresh()): ``0``, nothing (even with the counters on: they count in the
#: keeper's batches); ``PATHS``, note the group path of a task spawned inside a
#: named group's block, for the counters, while such a block runs; ``EVERY_CALL``,
#: more than its fast path does: the pytest plugin watches, or the observability
#: layer traces tasks or samples spawn sites.
spawn_hooks = 0
PATHS: Final = 1
EVERY_CALL: Final = 2


def refresh() -> None:
    """Recompute ``spawn_hooks``: call it after changing anything it is made of."""
    global spawn_hooks
    if spawn_watcher is not None or (
        observer is not None and (observer.every or observer.task_tracer is not None)
    ):
        spawn_hooks = EVERY_CALL
    elif observer is not None and named_open:
        spawn_hooks = PATHS
    else:
        spawn_hooks = 0


def set_observer(value: Any) -> None:
    """Plug the observability layer in (an observer) or out (None)."""
    global observer
    observer = value
    refresh()


def set_spawn_watcher(value: Any) -> None:
    """Plug the pytest plugin's watcher in (a callable) or out (None)."""
    global spawn_watcher
    spawn_watcher = value
    refresh()


def named_entered() -> None:
    """A named TaskGroup's block starts: spawn() must read GROUP_PATH while it runs."""
    global named_open
    with _named_lock:
        named_open += 1
        if named_open == 1:
            refresh()


def named_left() -> None:
    """A named TaskGroup's block has ended, its children done."""
    global named_open
    with _named_lock:
        named_open -= 1
        if not named_open:
            refresh()

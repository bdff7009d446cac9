"""Where the observability layer plugs into the core, and the group path they share.

``observer`` is None while nothing observes: the keeper then pays one global
read per tick, and nothing per task. ``taskwise.observe.enable()`` sets it to
the object that counts and tells listeners (``taskwise._observe``); the core
never imports that layer.

``spawn_watcher`` is None too, except while taskwise's pytest plugin watches a
test in strict mode (``taskwise.integrations.pytest_plugin``): then spawn() and
``TaskGroup.spawn()`` call it with each task they start that is still running,
and the task's group path, so that the plugin knows which test started which
task, and from where (it reads the caller's frame).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

__all__ = ["GROUP_PATH", "observer", "paths_set", "spawn_watcher"]

#: The path of the innermost named group around the running code: "outer/inner".
GROUP_PATH: ContextVar[str] = ContextVar("taskwise_group_path", default="")

#: Whether a named TaskGroup has ever set GROUP_PATH in this process: until one
#: has, every context's path is "", and spawn() need not read it (a ContextVar
#: read costs it more than the rest of observing does).
paths_set = False

#: The observability layer, while it is on; None while it is off.
observer: Any = None

#: Called as ``spawn_watcher(task, group_path)`` for each task spawn() and TaskGroup.spawn()
#: start, while set (by the pytest plugin, in strict mode); None otherwise.
spawn_watcher: Any = None

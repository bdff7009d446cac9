"""Where the observability layer plugs into the core, and the group path they share.

``observer`` is None while nothing observes: the keeper then pays one global
read per tick, and nothing per task. ``taskwise.observe.enable()`` sets it to
the object that counts and tells listeners (``taskwise._observe``); the core
never imports that layer.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

__all__ = ["GROUP_PATH", "observer", "paths_set"]

#: The path of the innermost named group around the running code: "outer/inner".
GROUP_PATH: ContextVar[str] = ContextVar("taskwise_group_path", default="")

#: Whether a named TaskGroup has ever set GROUP_PATH in this process: until one
#: has, every context's path is "", and spawn() need not read it (a ContextVar
#: read costs it more than the rest of observing does).
paths_set = False

#: The observability layer, while it is on; None while it is off.
observer: Any = None

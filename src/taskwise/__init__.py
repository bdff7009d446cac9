"""taskwise: asyncio tasks that are kept alive, named, typed exactly, and never fail silently.

The public names:

* :func:`spawn` starts a task on the running loop and keeps it alive until it
  is done; a failure nobody retrieves is reported once, promptly.
* :class:`TaskGroup` is :class:`asyncio.TaskGroup` on Python 3.10-3.14, with
  names that flow into its tasks' names and a ``cancel()``.
* :func:`shutdown_spawned` lets spawned tasks finish at shutdown, up to a
  timeout, then cancels the rest; :func:`spawned_tasks` is a live view of them.
* :func:`normalize_awaitable` is ``asyncio.ensure_future``'s contract without
  its differences between Python versions.
"""

from ._core._group import TaskGroup as TaskGroup
from ._core._normalize import normalize_awaitable as normalize_awaitable
from ._core._shutdown import ShutdownResult as ShutdownResult
from ._core._shutdown import shutdown_spawned as shutdown_spawned
from ._core._shutdown import spawned_tasks as spawned_tasks
from ._core._spawn import spawn as spawn

#: The one place the version is written: hatchling reads it for the package metadata
#: ([tool.hatch.version] in pyproject.toml) and ``taskwise --version`` prints it.
__version__ = "0.1.0.dev0"

__all__ = [
    "ShutdownResult",
    "TaskGroup",
    "normalize_awaitable",
    "shutdown_spawned",
    "spawn",
    "spawned_tasks",
]

"""Logging that fits the standard library: task names and group paths on every record."""

from __future__ import annotations

import asyncio
import logging

from .._core._hooks import GROUP_PATH

__all__ = ["TaskContextFilter"]


class TaskContextFilter(logging.Filter):
    """A :class:`logging.Filter` that puts the task's name and group path on each record.

    It sets ``record.taskName`` (which ``logging`` itself fills from Python 3.12;
    here on 3.10 and 3.11 too, and where it is None) and ``record.group_path``
    (``"crawl/pages"`` inside ``TaskGroup("pages")`` in ``TaskGroup("crawl")``,
    ``"-"`` outside any group), so a format string can use ``%(taskName)s`` and
    ``%(group_path)s``. Add it to a handler (it sees every record the handler
    emits) or to a logger. It never drops a record.

    Example::

        handler = logging.StreamHandler()
        handler.addFilter(TaskContextFilter())
        handler.setFormatter(logging.Formatter("%(taskName)s %(group_path)s %(message)s"))
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Add ``taskName`` and ``group_path`` to *record* where missing; keep it."""
        if getattr(record, "taskName", None) is None:
            try:
                task = asyncio.current_task()
            except RuntimeError:  # no running loop in this thread
                task = None
            record.taskName = task.get_name() if task is not None else None
        if getattr(record, "group_path", None) is None:
            # (Kept when set: by this filter in the thread that logged, before a
            # QueueHandler, or by ``extra=``.)
            record.group_path = GROUP_PATH.get() or "-"
        return True

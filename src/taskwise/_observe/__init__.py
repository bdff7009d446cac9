"""The observability layer, on top of the core: counters, listeners, the task tree, the
watchdog and logging. Its public face is :mod:`taskwise.observe`; the core calls it only
through ``taskwise._core._hooks.observer``, and only while it is on.
"""

__all__: list[str] = []

from asyncio import Task
from collections.abc import Set
from dataclasses import dataclass
from typing import final

__all__ = ["ShutdownResult", "shutdown_spawned", "spawned_tasks"]

def spawned_tasks() -> Set[Task[object]]:
    """The tasks :func:`spawn` keeps alive on the running loop: a live, read-only view.

    It holds the tasks that have not finished yet, whoever else references them
    (tasks of :class:`TaskGroup` are not in it: their group waits for them).
    Iterating gives a snapshot, so tasks may finish meanwhile; ``len()`` and
    ``in`` look at the moment they are asked. For dashboards, health checks and
    tests.

    Raises:
        RuntimeError: no asyncio event loop is running in this thread.

    Example::

        async def main() -> None:
            task = spawn(asyncio.sleep(1), name="nap")
            assert task in spawned_tasks()
            task.cancel()
    """

@final
@dataclass(frozen=True)
class ShutdownResult:
    """What :func:`shutdown_spawned` did: which tasks it had to cancel, if any.

    ``str(result)`` is a sentence for the log.
    """

    cancelled: tuple[str, ...]
    timeout: float | None

async def shutdown_spawned(timeout: float | None = None) -> ShutdownResult:
    """Let the tasks :func:`spawn` started finish; after *timeout* seconds, cancel the rest.

    Waits for every task spawned on the running loop, including those spawned
    while it waits, to finish. When *timeout* (seconds; ``None``: no limit)
    expires first, it cancels the tasks still running, with a message that says
    so, and waits for them to finish too. Failures among them are reported as
    spawn() reports any failure: once, through the loop's exception handler,
    unless somebody reads them. The task calling it is not waited for, so a
    spawned task may call it too.

    Call it where a program stops taking new work: at the end of ``main()``
    before ``asyncio.run()`` returns, in aiohttp's ``on_shutdown``, or after the
    ``yield`` of a Starlette/FastAPI lifespan.

    Args:
        timeout: how long to let the tasks run on, in seconds, or ``None``.

    Returns:
        A :class:`ShutdownResult` naming the tasks it had to cancel.

    Raises:
        ValueError: *timeout* is negative or not a number.
        RuntimeError: no asyncio event loop is running in this thread.

    Example::

        async def main() -> None:
            spawn(asyncio.sleep(0.01), name="flush")
            spawn(asyncio.sleep(60), name="poll")
            result = await shutdown_spawned(timeout=0.1)
            assert result.cancelled == ("poll",)
    """

from asyncio import Task
from collections.abc import Set
from typing import final

__all__ = ["ShutdownResult", "shutdown_spawned", "spawned_tasks"]

def spawned_tasks() -> Set[Task[object]]:
    """The tasks spawn() keeps alive on the running loop: a live, read-only view."""

@final
class ShutdownResult:
    """What shutdown_spawned() did: which tasks it had to cancel, if any."""

    @property
    def cancelled(self) -> tuple[str, ...]:
        """The names of the tasks still running at the timeout, which were cancelled."""
    @property
    def timeout(self) -> float | None:
        """The timeout that was given."""
    def __init__(self, cancelled: tuple[str, ...], timeout: float | None) -> None: ...

async def shutdown_spawned(timeout: float | None = None) -> ShutdownResult:
    """Let spawned tasks finish; after *timeout* seconds, cancel the rest."""

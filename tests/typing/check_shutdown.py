"""Type tests for spawned_tasks(), shutdown_spawned() and ShutdownResult (never executed)."""

from __future__ import annotations

import asyncio
from collections.abc import Set

from typing_extensions import assert_type

from taskwise import ShutdownResult, shutdown_spawned, spawned_tasks


async def drain() -> None:
    result = await shutdown_spawned(timeout=10)
    assert_type(result, ShutdownResult)
    assert_type(result.cancelled, tuple[str, ...])
    assert_type(result.timeout, float | None)
    assert_type(await shutdown_spawned(), ShutdownResult)
    await shutdown_spawned(timeout="10")  # type: ignore[arg-type]  # ty: ignore[invalid-argument-type]  # pyrefly: ignore[bad-argument-type]


def view(extra: asyncio.Task[object]) -> None:
    tasks = spawned_tasks()
    assert_type(tasks, Set[asyncio.Task[object]])
    for task in tasks:
        assert_type(task.result(), object)  # no Any leaks from the view
    tasks.add(extra)  # type: ignore[attr-defined]  # ty: ignore[missing-attribute]  # pyrefly: ignore[missing-attribute]


def frozen(result: ShutdownResult) -> None:
    result.cancelled = ()  # type: ignore[misc]  # ty: ignore[invalid-assignment]  # pyrefly: ignore[read-only]

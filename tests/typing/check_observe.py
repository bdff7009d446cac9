"""Type tests for taskwise.observe (never executed; see README.md in this folder)."""

from __future__ import annotations

from typing_extensions import assert_type

import taskwise.observe as observe


async def look() -> None:
    observe.enable(hotspots=0.01)
    stats = observe.snapshot()
    assert_type(stats, dict[str, observe.GroupStats])
    assert_type(stats[""].running, int)
    assert_type(stats[""].buckets, tuple[tuple[float, int], ...])
    tree = observe.task_tree(where=True)
    assert_type(tree, observe.TaskTree)
    for node in tree.walk():
        assert_type(node, observe.TaskNode)
        assert_type(node.where, str | None)
    assert_type(observe.hotspots(), list[observe.Hotspot])
    async with observe.Watchdog(threshold=60, ignore=["server/*"]) as dog:
        assert_type(dog, observe.Watchdog)
        assert_type(dog.stuck, list[str])
    observe.enable(hotspots="1%")  # type: ignore[arg-type]  # ty: ignore[invalid-argument-type]  # pyrefly: ignore[bad-argument-type]
    observe.disable()

"""The task tree: what taskwise tracks on a loop, as data for programs and text for people.

It is built from what taskwise already holds -- the keeper's spawned tasks and
the groups entered on the loop -- never from ``asyncio.all_tasks()``, which
walks every task of the loop (and on free-threaded 3.14 stops every thread).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import CoroutineType, FrameType, GeneratorType
from typing import Any

from .._core._keeper import Keeper, keeper_or_none

__all__ = ["GroupNode", "TaskNode", "TaskTree", "await_site", "build_tree", "waiting_on"]


@dataclass(frozen=True)
class TaskNode:
    """One task: its name, coroutine, state, age and (on request) where it waits.

    ``age`` is None where it is not known: a TaskGroup child started while
    observation was off (``taskwise.observe.enable()``), since only then does a
    group note when each child starts.
    """

    name: str
    coroutine: str
    state: str
    age: float | None
    where: str | None = None
    groups: tuple[GroupNode, ...] = ()

    def lines(self, indent: str = "") -> Iterator[str]:
        """The lines that draw this task (and the groups under it), indented by *indent*."""
        where = f" at {self.where}" if self.where else ""
        age = f", {self.age:.1f}s" if self.age is not None else ""
        yield f"{indent}{self.name} [{self.state}{age}] {self.coroutine}(){where}"
        for group in self.groups:
            yield from group.lines(indent + "  ")


@dataclass(frozen=True)
class GroupNode:
    """A TaskGroup: its path, the task running its body, its age and its running tasks."""

    path: str
    parent: str
    age: float
    tasks: tuple[TaskNode, ...] = ()
    groups: tuple[GroupNode, ...] = ()

    def lines(self, indent: str = "") -> Iterator[str]:
        """The lines that draw this group and what runs in it, indented by *indent*."""
        label = self.path or "(unnamed group)"
        count = len(self.tasks)
        yield (
            f"{indent}group {label} [{count} task{'s' if count != 1 else ''}, "
            f"{self.age:.1f}s, body in {self.parent}]"
        )
        for group in self.groups:
            yield from group.lines(indent + "  ")
        for task in self.tasks:
            yield from task.lines(indent + "  ")


@dataclass(frozen=True)
class TaskTree:
    """The tasks and groups taskwise tracks on one loop, at one moment.

    ``spawned`` holds the tasks :func:`taskwise.spawn` keeps; ``groups`` the
    TaskGroups whose body runs in no tracked task (say in ``main()``). A group
    entered inside a tracked task hangs under that task. ``str(tree)`` draws it.
    """

    spawned: tuple[TaskNode, ...] = ()
    groups: tuple[GroupNode, ...] = field(default=())

    def __str__(self) -> str:
        lines = ["taskwise task tree"]
        for group in self.groups:
            lines.extend(group.lines("  "))
        for task in self.spawned:
            lines.extend(task.lines("  "))
        if len(lines) == 1:
            lines.append("  (nothing running)")
        return "\n".join(lines)

    def walk(self) -> Iterator[TaskNode]:
        """Every task in the tree, depth first."""

        def tasks_of(node: TaskNode | GroupNode) -> Iterator[TaskNode]:
            if isinstance(node, TaskNode):
                yield node
                for group in node.groups:
                    yield from tasks_of(group)
            else:
                for group in node.groups:
                    yield from tasks_of(group)
                for task in node.tasks:
                    yield from tasks_of(task)

        for group in self.groups:
            yield from tasks_of(group)
        for task in self.spawned:
            yield from tasks_of(task)


_ASYNCIO_DIR = asyncio.__file__.rpartition("/")[0] + "/"


def await_site(
    task: asyncio.Task[Any], *, skip: tuple[str, ...] = (_ASYNCIO_DIR,), fallback: bool = True
) -> str | None:
    """``file:line`` where a pending task waits: its innermost ``await`` in code of
    its own (not in the directories *skip*, by default asyncio's, such as
    ``asyncio.sleep``'s), else, with *fallback*, the innermost one."""
    if task.done():
        return None  # (and get_coro() of an eagerly finished task crashes 3.12.1/3.13.0)
    coro: Any = task.get_coro()
    if isinstance(coro, CoroutineType) and _never_started(coro):
        return None  # it waits nowhere yet (its frame would say: at its `async def` line)
    innermost: FrameType | None = None
    own: FrameType | None = None
    while coro is not None:
        if isinstance(coro, CoroutineType):
            frame, coro = coro.cr_frame, coro.cr_await
        elif isinstance(coro, GeneratorType):
            frame, coro = coro.gi_frame, coro.gi_yieldfrom
        else:
            break  # a Future, or an awaitable of another kind: the chain ends here
        if frame is not None:
            innermost = frame
            if not frame.f_code.co_filename.startswith(skip):
                own = frame
    frame = own or (innermost if fallback else None)
    if frame is None:
        return None
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _never_started(coro: CoroutineType[Any, Any, Any]) -> bool:
    suspended = getattr(coro, "cr_suspended", None)  # 3.11+
    if suspended is not None:
        return not suspended and not coro.cr_running and coro.cr_frame is not None
    frame = coro.cr_frame
    return frame is not None and frame.f_lasti < 0


def waiting_on(task: asyncio.Task[Any]) -> object:
    """The innermost object a pending task awaits: the future it is parked on, or the
    last awaitable of its coroutine chain. Two looks that find the very same object
    saw the task wait on the same thing (a polling loop awaits a new one each time).
    It allocates nothing, so a look at 10**5 tasks does not wake the garbage collector."""
    if task.done():
        return None
    waiter = getattr(task, "_fut_waiter", None)
    if waiter is not None:
        return waiter
    coro: Any = task.get_coro()
    while True:
        inner = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        if inner is None:
            return coro
        coro = inner


def coroutine_name(task: asyncio.Task[Any]) -> str:
    if task.done():
        return "-"
    coro = task.get_coro()
    return str(getattr(coro, "__qualname__", None) or type(coro).__qualname__)


def _task_node(
    task: asyncio.Task[Any],
    start: float | None,
    now: float,
    where: bool,
    by_parent: dict[Any, list[GroupNode]],
) -> TaskNode:
    state = "cancelling" if getattr(task, "cancelling", lambda: 0)() else "running"
    return TaskNode(
        name=task.get_name(),
        coroutine=coroutine_name(task),
        state=state,
        age=max(0.0, now - start) if start is not None else None,
        where=await_site(task) if where else None,
        groups=tuple(by_parent.pop(task, ())),
    )


def build_tree(loop: asyncio.AbstractEventLoop, *, where: bool = False) -> TaskTree:
    """Snapshot what taskwise tracks on *loop*."""
    keeper = keeper_or_none(loop)
    if keeper is None:
        return TaskTree()
    now = loop.time()
    starts = _spawn_starts(keeper, now)
    clock = time.monotonic()  # groups keep their times on this clock, not the loop's
    # A group entered in another group's body hangs under that group; one entered in
    # a tracked task, under that task. Both were entered before it, so the groups,
    # in the reverse order of their entry, come innermost first: a group's node
    # exists before the node it hangs under.
    enclosing = _enclosing(list(keeper.groups))
    by_parent: dict[Any, list[GroupNode]] = {}
    nested: dict[Any, list[GroupNode]] = {}
    for group in reversed(keeper.groups):
        parent = group._parent_task()
        children = tuple(
            _task_node(t, group._started_at(t), clock, where, by_parent)
            for t in sorted(group._running(), key=asyncio.Task.get_name)
        )
        node = GroupNode(
            path=group._path_text(),
            parent=parent.get_name() if parent is not None else "-",
            age=max(0.0, clock - group._entered_at_time()),
            tasks=children,
            groups=tuple(nested.pop(group, ())),
        )
        outer = enclosing[group]
        if outer is not None:
            nested.setdefault(outer, []).append(node)
        else:
            by_parent.setdefault(parent, []).append(node)
    spawned = tuple(
        _task_node(t, starts.get(t), now, where, by_parent)
        for t in sorted(keeper.tasks(), key=asyncio.Task.get_name)
    )
    top = tuple(node for nodes in by_parent.values() for node in nodes)
    return TaskTree(spawned=spawned, groups=tuple(sorted(top, key=lambda g: g.path)))


def _enclosing(groups: list[Any]) -> dict[Any, Any]:
    """Each group's innermost enclosing group (or None), from the groups in entry order.

    Two groups open at once in one task are nested (``async with`` blocks are), so
    the group a group's body runs in is the last one its task entered before it.
    (Not told by their paths: an unnamed group has its enclosing group's path.)
    """
    last_by_task: dict[Any, Any] = {}
    enclosing: dict[Any, Any] = {}
    for group in groups:
        parent = group._parent_task()
        enclosing[group] = last_by_task.get(parent)
        last_by_task[parent] = group
    return enclosing


def _spawn_starts(keeper: Keeper, now: float) -> dict[asyncio.Task[Any], float]:
    starts: dict[asyncio.Task[Any], float] = {}
    for shard in keeper.running:
        starts.update(shard)
    for task in keeper.older:
        starts[task] = keeper.older_start
    for task in keeper.young:
        starts[task] = keeper.young_start
    for task in keeper.fresh:
        starts[task] = now
    return starts

"""What the shipped stubs promise is what the code returns.

stubs/taskwise/*.pyi are a second description of the API. `mypy.stubtest` checks their names
and parameters against the runtime, but not their return types: these tests take each overload
and each public call, and check that the object really returned is of the promised kind
(docs/typing.md has the table of what each call narrows to).
"""

from __future__ import annotations

import ast
import asyncio
import concurrent.futures
import contextvars
import importlib
import inspect
import sys
from collections.abc import Coroutine, Generator, Set
from pathlib import Path
from typing import Any

import pytest

import taskwise
from taskwise import TaskGroup, normalize_awaitable, spawn

pytestmark = pytest.mark.anyio

STUBS = Path(__file__).resolve().parent.parent / "stubs" / "taskwise"


async def seven() -> int:
    return 7


class Ticket:
    """Awaitable, but neither a coroutine nor a future: the `Awaitable[T] -> Task[T]` overload."""

    def __await__(self) -> Generator[Any, None, int]:
        return seven().__await__()


class Upload(asyncio.Future[int]):
    """A Future subclass: the stubs promise it comes back with its own type."""


# -- normalize_awaitable: one test per overload ----------------------------------------------


async def test_task_comes_back_as_the_same_task() -> None:  # _FutureT -> _FutureT
    task = asyncio.get_running_loop().create_task(seven())
    assert normalize_awaitable(task) is task
    assert await task == 7


async def test_future_comes_back_as_the_same_future() -> None:  # _FutureT -> _FutureT
    fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    result = normalize_awaitable(fut)
    assert result is fut
    assert not isinstance(result, asyncio.Task)


async def test_future_subclass_keeps_its_type() -> None:  # _FutureT -> _FutureT
    upload = Upload()
    result = normalize_awaitable(upload)
    assert result is upload
    assert type(result) is Upload
    upload.cancel()


async def test_concurrent_future_becomes_an_asyncio_future() -> None:  # cf.Future[T] -> Future[T]
    cfut: concurrent.futures.Future[bytes] = concurrent.futures.Future()
    result = normalize_awaitable(cfut)
    assert isinstance(result, asyncio.Future)
    assert result is not cfut
    cfut.set_result(b"ok")
    assert await result == b"ok"


async def test_coroutine_becomes_a_task() -> None:  # Coroutine[Any, Any, T] -> Task[T]
    result = normalize_awaitable(seven())
    assert isinstance(result, asyncio.Task)
    assert await result == 7


async def test_other_awaitable_becomes_a_task() -> None:  # Awaitable[T] -> Task[T]
    result = normalize_awaitable(Ticket())
    assert isinstance(result, asyncio.Task)
    assert await result == 7


@pytest.mark.parametrize("kind", ["coroutine", "future", "upload", "task"])
async def test_union_of_coroutine_and_future(kind: str) -> None:
    """`Coroutine[Any, Any, T] | F` -> `Task[T] | F`: the future comes back unchanged.

    This is where typeshed's ensure_future says `Task[T]`; ours says `Task[T] | Future[T]`.
    """
    loop = asyncio.get_running_loop()
    arg: Coroutine[Any, Any, int] | asyncio.Future[int]
    if kind == "coroutine":
        arg = seven()
    elif kind == "future":
        arg = loop.create_future()
        arg.set_result(7)
    elif kind == "upload":
        arg = Upload()
        arg.set_result(7)
    else:
        arg = loop.create_task(seven())
    result = normalize_awaitable(arg)
    if kind == "coroutine":
        assert isinstance(result, asyncio.Task)
    else:
        assert result is arg  # a Future (Upload, Task) of its own type, not a new Task
        assert type(result) is type(arg)
    assert await result == 7


async def test_union_of_coroutine_and_concurrent_future() -> None:
    """`Coroutine[Any, Any, T] | cf.Future[T]` -> `Task[T] | Future[T]`: both are Futures."""
    cfut: concurrent.futures.Future[int] = concurrent.futures.Future()
    cfut.set_result(7)
    for arg in (seven(), cfut):
        result = normalize_awaitable(arg)
        assert isinstance(result, asyncio.Future)
        assert await result == 7


async def test_future_like_object_is_not_a_task() -> None:
    """The one gap, documented in docs/typing.md: an object asyncio treats as a future without
    deriving from asyncio.Future can only be typed `Awaitable[T]`, so the stubs say Task[T],
    but it comes back unchanged. This pins the runtime side of that note."""

    class FutureLike:
        _asyncio_future_blocking = False

        def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
            self._loop = loop

        def __await__(self) -> Generator[Any, None, int]:
            return seven().__await__()

    obj = FutureLike(asyncio.get_running_loop())
    assert normalize_awaitable(obj) is obj


@pytest.mark.parametrize("bad", [seven, 42, None], ids=["coroutine-function", "int", "None"])
def test_what_the_stubs_refuse_is_refused(bad: Any) -> None:
    with pytest.raises(TypeError):
        normalize_awaitable(bad)


# -- spawn ------------------------------------------------------------------------------------


async def test_spawn_returns_a_task_of_the_result() -> None:
    task = spawn(seven(), name="seven", eager=True)  # eager= is accepted on every Python
    assert isinstance(task, asyncio.Task)
    assert await task == 7


async def test_spawn_context_by_version() -> None:
    """The stubs allow a Context from 3.11 on, and only None on 3.10."""
    ctx = contextvars.copy_context()
    assert isinstance(spawn(seven(), context=None), asyncio.Task)
    if sys.version_info >= (3, 11):
        task = spawn(seven(), context=ctx)
        assert await task == 7
    else:  # pragma: no cover - 3.10
        with pytest.raises(TypeError):
            spawn(seven(), context=ctx)  # type: ignore[arg-type,unused-ignore]


@pytest.mark.parametrize("bad", [seven, 42, None], ids=["coroutine-function", "int", "None"])
async def test_spawn_refuses_what_the_stubs_refuse(bad: Any) -> None:
    with pytest.raises(TypeError):
        spawn(bad)


# -- TaskGroup --------------------------------------------------------------------------------


async def test_taskgroup_surface() -> None:
    assert TaskGroup().name is None
    group = TaskGroup("crawl")
    async with group as tg:
        assert tg is group  # `async with` gives the group itself (-> TaskGroup)
        assert tg.name == "crawl"
        task = tg.spawn(seven(), name="page-1")
        assert isinstance(task, asyncio.Task)
        assert isinstance(tg.tasks, Set)
        assert all(isinstance(t, asyncio.Task) for t in tg.tasks)
        assert not hasattr(tg.tasks, "add")  # read-only view
    assert task.result() == 7
    assert len(tg.tasks) == 0


async def test_taskgroup_context_by_version() -> None:
    ctx = contextvars.copy_context()
    async with TaskGroup() as tg:
        assert isinstance(tg.spawn(seven(), context=None), asyncio.Task)
        if sys.version_info >= (3, 11):
            assert await tg.spawn(seven(), context=ctx) == 7
        else:  # pragma: no cover - 3.10
            with pytest.raises(TypeError):
                tg.spawn(seven(), context=ctx)  # type: ignore[arg-type,unused-ignore]


async def test_code_after_a_cancelled_block_runs() -> None:
    """What the stubs' `__aexit__ -> None` does not show (docs/taskgroup.md): cancel() ends the
    body early, without an error, so the code after the block runs (the runtime returns True),
    and a name the body would have bound after the interruption is unbound there."""
    reached = []
    async with TaskGroup() as tg:
        early = tg.spawn(asyncio.sleep(1))
        assert tg.cancel() is None
        await asyncio.sleep(1)
        late = "bound"  # pragma: no cover - cancelled before
    reached.append("after")
    assert reached == ["after"]
    assert early.cancelled()  # bound before the interruption: usable
    with pytest.raises(UnboundLocalError):
        print(late)  # the checkers see `late` as bound here


def test_taskgroup_is_final_and_slotted() -> None:
    assert "__slots__" in vars(TaskGroup)
    # typing.final sets __final__ at runtime (3.11+, and typing_extensions' on 3.10).
    assert getattr(TaskGroup, "__final__", True) is True


# -- the stubs themselves ---------------------------------------------------------------------


def test_public_modules_have_stubs() -> None:
    """Each module that defines a public name ships a stub beside it in the wheel."""
    for module, name in [
        ("_core/_spawn", "spawn"),
        ("_core/_group", "TaskGroup"),
        ("_core/_normalize", "normalize_awaitable"),
        ("_core/_shutdown", "shutdown_spawned"),
        ("_core/_shutdown", "spawned_tasks"),
        ("_core/_shutdown", "ShutdownResult"),
    ]:
        assert getattr(
            importlib.import_module("taskwise." + module.replace("/", ".")), name
        ) is getattr(taskwise, name)
        assert (STUBS / f"{module}.pyi").is_file(), module
    assert (STUBS / "__init__.pyi").is_file()


def _stub_docstrings(module: str) -> dict[str, str]:
    """Docstrings in a stub, by qualified name (`TaskGroup`, `TaskGroup.spawn`, ...)."""
    tree = ast.parse((STUBS / f"{module}.pyi").read_text(encoding="utf-8"))
    found: dict[str, str] = {}

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.If):  # `if sys.version_info >= ...:` branches
                visit(node.body + node.orelse, prefix)
            elif isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                name = prefix + node.name
                if doc is not None:
                    # Each version branch carries the same docstring.
                    assert found.setdefault(name, doc) == doc, name
                if isinstance(node, ast.ClassDef):
                    visit(node.body, name + ".")

    visit(tree.body, "")
    return found


@pytest.mark.parametrize(
    ("module", "names"),
    [
        (
            "_core/_group",
            [
                "TaskGroup",
                "TaskGroup.name",
                "TaskGroup.tasks",
                "TaskGroup.spawn",
                "TaskGroup.cancel",
            ],
        ),
        ("_core/_spawn", ["spawn"]),
        ("_core/_shutdown", ["spawned_tasks", "ShutdownResult", "shutdown_spawned"]),
    ],
)
def test_stub_docstrings_are_the_runtime_docstrings(module: str, names: list[str]) -> None:
    """Checkers and editors show the stubs' docstrings (the stubs win over the source), and
    `pyright --verifytypes` counts a public name without one as undocumented: each stub carries
    a copy of the runtime docstring. When this fails, copy the runtime's into the stub."""
    stub = _stub_docstrings(module)
    runtime_module = importlib.import_module("taskwise." + module.replace("/", "."))
    for name in sorted(set(names) | set(stub)):
        obj: Any = runtime_module
        for part in name.split("."):
            obj = getattr(obj, part)
        assert stub.get(name) == inspect.getdoc(obj), f"stubs/taskwise/{module}.pyi: {name}"

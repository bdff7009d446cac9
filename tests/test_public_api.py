"""The public surface is a contract: exactly these names, each documented with an example."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import pkgutil
import subprocess
import sys
import textwrap
from typing import Any

import pytest

import taskwise

PUBLIC = [
    "ShutdownResult",
    "TaskGroup",
    "normalize_awaitable",
    "shutdown_spawned",
    "spawn",
    "spawned_tasks",
]


#: Public modules beside the top-level names, each with an ``__all__`` of its own.
PUBLIC_MODULES = ["taskwise.observe", "taskwise.integrations", "taskwise.integrations.otel"]


def test_all_lists_exactly_the_public_names() -> None:
    assert sorted(taskwise.__all__) == PUBLIC
    # (A public submodule, once imported, is an attribute of the package too.)
    # (pytest rewrites the asserts of packages that ship a pytest plugin, as taskwise does,
    # and adds names that are no identifiers, such as "@py_builtins", to their modules.)
    exported = {
        name
        for name, value in vars(taskwise).items()
        if not name.startswith("_")
        and name.isidentifier()
        and f"taskwise.{name}" not in PUBLIC_MODULES
    }
    assert exported == set(PUBLIC)


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_public_modules_export_exactly_their_all_each_documented(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert inspect.getdoc(module)
    # Every class or function of taskwise's that the module makes public is in __all__.
    ours = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__.startswith("taskwise")
    }
    assert ours == set(module.__all__)
    for name in module.__all__:
        assert inspect.getdoc(getattr(module, name)), f"{module_name}.{name} has no docstring"


def test_version_is_the_installed_distributions() -> None:
    # __version__ is a dunder, so the exported-names check above exempts it; it is the one
    # place the version is written, and hatchling copies it into the package metadata.
    from importlib.metadata import version

    assert isinstance(taskwise.__version__, str)
    assert taskwise.__version__ == version("taskwise")


def test_the_runtime_imports_no_typing_extensions() -> None:
    # Not a runtime dependency (pyproject.toml): only the stubs import it.
    code = "import sys, taskwise; assert 'typing_extensions' not in sys.modules, sys.modules"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_private_modules_declare_all() -> None:
    for info in pkgutil.walk_packages(taskwise.__path__, "taskwise."):
        if info.name == "taskwise.__main__":
            continue
        try:
            module = importlib.import_module(info.name)
        except ModuleNotFoundError as exc:  # pragma: no cover - the test env has the extras
            # Only optional extras may be missing: the codemod's, the integrations'.
            if exc.name != "libcst" and not (exc.name or "").startswith("opentelemetry"):
                raise
            continue
        assert isinstance(getattr(module, "__all__", None), list), module.__name__
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.__all__ names missing {name}"


def public_callables() -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for name in PUBLIC:
        obj = getattr(taskwise, name)
        items.append((name, obj))
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if not attr.startswith("_"):
                    items.append((f"{name}.{attr}", member))
    return items


@pytest.mark.parametrize(
    ("name", "obj"), public_callables(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_every_public_name_has_a_docstring(name: str, obj: Any) -> None:
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    assert len(doc.splitlines()[0]) <= 100


def examples() -> list[tuple[str, str]]:
    """The ``Example::`` blocks of the public docstrings."""
    found = []
    for name, obj in public_callables():
        doc = inspect.getdoc(obj) or ""
        if "Example::" in doc:
            block = doc.split("Example::", 1)[1]
            found.append((name, textwrap.dedent(block).strip()))
    return found


def test_the_main_names_have_examples() -> None:
    assert {name for name, _ in examples()} >= {
        "spawn",
        "TaskGroup",
        "normalize_awaitable",
        "TaskGroup.spawn",
        "shutdown_spawned",
        "spawned_tasks",
    }


@pytest.mark.parametrize(("name", "code"), examples(), ids=lambda x: x if "\n" not in x else "")
def test_docstring_examples_run(name: str, code: str) -> None:
    namespace: dict[str, Any] = {"asyncio": asyncio, **{n: getattr(taskwise, n) for n in PUBLIC}}
    if "async def main" not in code:
        # A fragment of a coroutine body: run it inside one.
        code = "async def main() -> None:\n" + textwrap.indent(code, "    ")
    exec(compile(code, f"<example of {name}>", "exec"), namespace)
    asyncio.run(namespace["main"]())

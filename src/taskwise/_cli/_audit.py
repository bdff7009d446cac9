"""``taskwise audit``: find risky asyncio task creation with the stdlib :mod:`ast`.

This module must not import libcst: the audit works on a bare install.  The
codemod in :mod:`taskwise._cli._migrate` reuses the name facts gathered here
(:class:`ModuleFacts`) so that both tools agree on what a name means.
"""

from __future__ import annotations

import ast
import builtins
import io
import json
import operator
import os
import re
import tokenize
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

__all__ = [
    "RULES",
    "AuditReport",
    "Finding",
    "ModuleFacts",
    "Rule",
    "SourceError",
    "audit_paths",
    "audit_source",
    "decode_source",
    "iter_python_files",
    "read_source",
]


@dataclass(frozen=True)
class Rule:
    """One audit rule: a stable code, what it finds, why it matters and how to fix it."""

    code: str
    name: str
    what: str
    why: str
    fix: str


RULES: tuple[Rule, ...] = (
    Rule(
        "TW101",
        "ensure-future",
        "`ensure_future(...)` used to schedule work.",
        "`ensure_future` returns a Future argument unchanged and wraps anything else in a Task, "
        "so the reader cannot tell whether a task is created; outside a running loop it picks "
        "(or, before 3.14, creates) a loop implicitly, and on 3.14 it raises RuntimeError.",
        "For a coroutine use `asyncio.create_task(coro)` (or `loop.create_task(coro)` when an "
        "explicit loop was passed); for a Future use it directly; for a "
        "`concurrent.futures.Future` use `asyncio.wrap_future`.",
    ),
    Rule(
        "TW102",
        "dangling-task",
        "The Task returned by `create_task`/`ensure_future` is thrown away.",
        "The event loop keeps only a weak reference to a task: one nobody references can be "
        "garbage-collected mid-run ('Task was destroyed but it is pending!'), and its exception "
        "is never retrieved.",
        "Keep a reference and await it, create it in an `asyncio.TaskGroup`, or use "
        "`taskwise.spawn(coro)`, which holds a strong reference until the task finishes.",
    ),
    Rule(
        "TW103",
        "task-constructor",
        "`asyncio.Task(...)` constructed directly.",
        "Calling the Task class bypasses the loop's task factory, so eager task factories, "
        "uvloop and instrumentation stop applying to that task.",
        "Use `asyncio.create_task(coro)` or `loop.create_task(coro)`.",
    ),
    Rule(
        "TW104",
        "asyncio-async",
        "`async` used as a name: `asyncio.async(...)` (removed in Python 3.7), `o.async(...)`, "
        "`def async`.",
        "`async` became a keyword in 3.7, so the module no longer even parses.",
        "Replace `asyncio.async` with `asyncio.create_task(coro)` for a coroutine (or "
        "`ensure_future` first, then follow TW101); rename other names (libraries renamed "
        "theirs, e.g. `async_`).",
    ),
    Rule(
        "TW201",
        "loop-argument",
        "`loop=` passed to an asyncio API that removed it in Python 3.10.",
        "Since 3.10 these functions and classes use the running loop and raise TypeError when "
        "given `loop=`.",
        "Delete the `loop=` argument; create the object inside a coroutine if it must belong "
        "to the running loop.",
    ),
    Rule(
        "TW202",
        "get-event-loop-in-coroutine",
        "`asyncio.get_event_loop()` called inside a coroutine.",
        "Inside a coroutine a loop is always running; `get_running_loop()` says so and never "
        "creates or looks up a loop by policy.",
        "Use `asyncio.get_running_loop()`.",
    ),
    Rule(
        "TW203",
        "get-event-loop-outside-coroutine",
        "`asyncio.get_event_loop()` called outside a coroutine.",
        "With no running loop it warns on 3.12-3.13 and raises RuntimeError on 3.14 when no "
        "loop has been set.",
        "At the top level start the program with `asyncio.run(main())`; in callbacks that run "
        "inside the loop use `asyncio.get_running_loop()`; to own a loop use "
        "`asyncio.new_event_loop()`.",
    ),
    Rule(
        "TW204",
        "event-loop-policy",
        "Event-loop policy API, deprecated in Python 3.14.",
        "Policies are deprecated in 3.14 and scheduled for removal in 3.16.",
        "Pass `loop_factory=` to `asyncio.run()` or `asyncio.Runner` (3.12+), e.g. "
        "`asyncio.run(main(), loop_factory=uvloop.new_event_loop)`.",
    ),
    Rule(
        "TW205",
        "asyncio-iscoroutinefunction",
        "`asyncio.iscoroutinefunction`, deprecated in Python 3.14.",
        "It is deprecated in 3.14 and scheduled for removal in 3.16.",
        "Use `inspect.iscoroutinefunction`, which also recognises functions marked with "
        "`inspect.markcoroutinefunction` (3.12+).",
    ),
    Rule(
        "TW206",
        "removed-asyncio-api",
        "An asyncio API that later Python versions removed.",
        "`asyncio.coroutine` is gone since 3.11, `Task.all_tasks`/`Task.current_task` since 3.9 "
        "and the child watchers since 3.14; code using them fails with AttributeError.",
        "Use `async def`, `asyncio.all_tasks()`, `asyncio.current_task()`; child watchers are no "
        "longer needed.",
    ),
)
RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}

#: asyncio functions and classes whose ``loop=`` parameter was removed in 3.10.
LOOP_ARGUMENT_REMOVED: frozenset[str] = frozenset(
    f"asyncio.{name}"
    for name in (
        "sleep",
        "gather",
        "shield",
        "wait_for",
        "wait",
        "as_completed",
        "open_connection",
        "start_server",
        "open_unix_connection",
        "start_unix_server",
        "create_subprocess_exec",
        "create_subprocess_shell",
        "Queue",
        "LifoQueue",
        "PriorityQueue",
        "Lock",
        "Event",
        "Condition",
        "Semaphore",
        "BoundedSemaphore",
    )
)

#: Functions defined with ``async def`` in asyncio: calling them always returns a coroutine.
#: ``gather``, ``shield`` and ``as_completed`` are *not* among them (they return a Future or
#: an iterator), nor is ``run_coroutine_threadsafe``.  A test checks this list with
#: :func:`inspect.iscoroutinefunction` on every supported Python.
KNOWN_COROUTINE_FUNCTIONS: frozenset[str] = frozenset(
    f"asyncio.{name}"
    for name in (
        "sleep",
        "wait_for",
        "wait",
        "open_connection",
        "start_server",
        "open_unix_connection",
        "start_unix_server",
        "create_subprocess_exec",
        "create_subprocess_shell",
        "to_thread",
    )
)

POLICY_NAMES: frozenset[str] = frozenset(
    {
        "asyncio.get_event_loop_policy",
        "asyncio.set_event_loop_policy",
        "asyncio.AbstractEventLoopPolicy",
        "asyncio.BaseDefaultEventLoopPolicy",
        "asyncio.DefaultEventLoopPolicy",
        "asyncio.WindowsSelectorEventLoopPolicy",
        "asyncio.WindowsProactorEventLoopPolicy",
        "uvloop.EventLoopPolicy",
        "uvloop.install",
    }
)

REMOVED_APIS: dict[str, str] = {
    "asyncio.coroutine": "removed in 3.11; write `async def`",
    "asyncio.Task.all_tasks": "removed in 3.9; use `asyncio.all_tasks()`",
    "asyncio.Task.current_task": "removed in 3.9; use `asyncio.current_task()`",
    "asyncio.get_child_watcher": "removed in 3.14; child watchers are no longer needed",
    "asyncio.set_child_watcher": "removed in 3.14; child watchers are no longer needed",
    "asyncio.AbstractChildWatcher": "removed in 3.14; child watchers are no longer needed",
    "asyncio.SafeChildWatcher": "removed in 3.14; child watchers are no longer needed",
    "asyncio.FastChildWatcher": "removed in 3.14; child watchers are no longer needed",
    "asyncio.ThreadedChildWatcher": "removed in 3.14; child watchers are no longer needed",
    "asyncio.MultiLoopChildWatcher": "removed in 3.14; child watchers are no longer needed",
    "asyncio.PidfdChildWatcher": "removed in 3.14; child watchers are no longer needed",
}

Version = tuple[int, int]

#: The first Python (major, minor) without each removed API.
REMOVED_IN: dict[str, Version] = {
    name: (3, int(message.split(";")[0].removeprefix("removed in 3.")))
    for name, message in REMOVED_APIS.items()
}

#: The first Python on which each rule's problem shows.  Code that a version check
#: (``if sys.version_info < (3, 7):``, ``hasattr(asyncio, ...)``) confines to older Pythons is
#: not reported for these; the other rules apply on every version.
PROBLEM_SINCE: dict[str, Version] = {
    "TW201": (3, 10),
    "TW203": (3, 10),
    "TW204": (3, 14),
    "TW205": (3, 14),
}

#: asyncio names that some Pythons lack: (first version with it, first version without it).
#: ``hasattr(asyncio, "all_tasks")`` and ``sys.version_info`` checks are read with this table.
AVAILABILITY: dict[str, tuple[Version | None, Version | None]] = {
    **{name: (None, removed) for name, removed in REMOVED_IN.items()},
    **{
        f"asyncio.{name}": ((3, 7), None)
        for name in ("all_tasks", "current_task", "create_task", "get_running_loop", "run")
    },
    "asyncio.to_thread": ((3, 9), None),
    "asyncio.TaskGroup": ((3, 11), None),
    "asyncio.timeout": ((3, 11), None),
    "asyncio.Runner": ((3, 11), None),
    "asyncio.eager_task_factory": ((3, 12), None),
}

#: Every Python (major, minor) a version check is evaluated on.
PYTHONS: tuple[Version, ...] = (
    *((2, minor) for minor in range(8)),
    *((3, minor) for minor in range(21)),
    (4, 0),
)
_EVERY_PYTHON = frozenset(PYTHONS)

# asyncio's implementation submodules: ``asyncio.tasks.ensure_future`` is ``asyncio.ensure_future``.
_ASYNCIO_SUBMODULES = frozenset(
    {
        "base_events",
        "coroutines",
        "events",
        "futures",
        "locks",
        "queues",
        "runners",
        "streams",
        "subprocess",
        "tasks",
        "unix_events",
        "windows_events",
    }
)
_TRACKED_MODULES = frozenset({"asyncio", "uvloop", "taskwise", "sys"})
# Stand-in for the keyword ``async`` used as a name (``asyncio.async``), same length so that
# columns stay right; only ever seen in the token stream of a file that otherwise won't parse.
_ASYNC_MARKER = "_4sy_"
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "venv", "env"})
_SUPPRESS = re.compile(r"#\s*taskwise:\s*ignore(?:\[(?P<codes>[A-Za-z0-9_,\s]*)\])?")


def normalize_name(qualified: str) -> str:
    """Map ``asyncio.tasks.ensure_future`` to ``asyncio.ensure_future``; other names unchanged."""
    parts = qualified.split(".")
    if len(parts) > 2 and parts[0] == "asyncio" and parts[1] in _ASYNCIO_SUBMODULES:
        del parts[1]
    return ".".join(parts)


@dataclass(frozen=True, order=True)
class Finding:
    """One problem found in a file; columns are 1-based and counted in characters."""

    path: str
    line: int
    column: int
    code: str
    message: str

    def format(self) -> str:
        """Return the ``path:line:col: CODE message`` line printed by ``taskwise audit``."""
        return f"{self.path}:{self.line}:{self.column}: {self.code} {self.message}"

    def as_dict(self) -> dict[str, object]:
        """Return the finding as a JSON-ready mapping."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "message": self.message,
        }


class SourceError(Exception):
    """A file could not be read, decoded or parsed; ``str(exc)`` says why."""


@dataclass(frozen=True, order=True)
class FileError:
    """A file the audit had to skip, and the reason."""

    path: str
    reason: str


@dataclass
class AuditReport:
    """Everything ``taskwise audit`` found: findings plus files it could not audit."""

    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    files: int = 0

    def to_json(self) -> str:
        """Serialise the report (``--format json``)."""
        return json.dumps(
            {
                "findings": [f.as_dict() for f in sorted(self.findings)],
                "errors": [{"path": e.path, "reason": e.reason} for e in sorted(self.errors)],
                "files": self.files,
            },
            indent=2,
        )


# --------------------------------------------------------------------------- reading files


def decode_source(data: bytes) -> tuple[str, str]:
    """Decode Python source bytes as the interpreter would (PEP 263 cookie, UTF-8 BOM).

    Returns ``(text, encoding)``; *text* keeps its newlines untouched and has no BOM, and
    ``text.encode(encoding)`` gives the bytes back (``utf-8-sig`` re-adds the BOM).
    """
    problem: str | None = None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # unknown cookie, BOM plus another cookie, bad first lines
        problem = f"cannot decode: {exc.msg}"
        encoding = "utf-8"  # decoding again says which byte is wrong, if that is the problem
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"cannot decode: byte {data[exc.start]:#04x} at offset {exc.start} is not valid "
            f"{exc.encoding}; add a PEP 263 coding cookie such as `# -*- coding: latin-1 -*-` "
            "if the file is not UTF-8"
        ) from None
    if problem is not None:
        raise SourceError(problem)
    return text, encoding


def read_source(path: Path) -> tuple[str, str]:
    """Read and decode *path*; raise :class:`SourceError` with a readable reason."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from None
    return decode_source(data)


def iter_python_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Yield the files to look at, sorted: files as given, ``*.py`` found under directories.

    Hidden directories, ``__pycache__``, ``site-packages``, ``node_modules`` and virtual
    environments (any directory holding ``pyvenv.cfg``, or named ``venv``/``env``) are skipped.
    """
    for path in paths:
        if not path.is_dir():
            yield path
            continue
        found: list[Path] = []
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(
                d
                for d in dirs
                if not d.startswith(".")
                and d not in _SKIPPED_DIRS
                and not os.path.exists(os.path.join(root, d, "pyvenv.cfg"))
            )
            found.extend(Path(root, name) for name in files if name.endswith(".py"))
        yield from sorted(found)


# --------------------------------------------------------------------------- parsing


def _mark_async_names(text: str) -> tuple[str, int]:
    """Replace ``async`` used as a *name* (``asyncio.async``) by a same-length marker.

    Python 3.7+ cannot parse ``asyncio.async(...)``; with the marker the rest of the file
    can still be audited and each marker is reported as TW104.  Returns the new text and
    how many names were marked.
    """
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return text, 0
    lines = text.splitlines(keepends=True)
    significant = [t for t in tokens if t.type not in _IGNORED_TOKENS]
    changed = 0
    in_import = False
    starts_statement = True
    for index, tok in enumerate(significant):
        if starts_statement:
            in_import = tok.string in ("from", "import")
        starts_statement = tok.type == tokenize.NEWLINE or tok.string == ";"
        if tok.type != tokenize.NAME or tok.string != "async":
            continue
        before = significant[index - 1].string if index else ""
        after = significant[index + 1].string if index + 1 < len(significant) else ""
        if before == "." or after == "(" or (in_import and before in ("import", ",", "(")):
            row, col = tok.start
            line = lines[row - 1]
            lines[row - 1] = line[:col] + _ASYNC_MARKER + line[col + len("async") :]
            changed += 1
    return "".join(lines), changed


_IGNORED_TOKENS = frozenset(
    {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}
)


def parse_source(text: str, path: str = "<unknown>") -> ast.Module:
    """Parse *text* with :func:`ast.parse`, raising :class:`SourceError` with a readable reason.

    Warnings the compiler emits while parsing (invalid escape sequences, ...) are about the
    audited code, not about us, and are silenced.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ast.parse(text, filename=path)
        except SyntaxError as exc:
            where = f" at line {exc.lineno}" if exc.lineno else ""
            raise SourceError(f"syntax error{where}: {exc.msg}") from None
        except ValueError as exc:  # null bytes on 3.10-3.11
            raise SourceError(f"cannot parse: {exc}") from None


def _suppressions(text: str) -> dict[int, frozenset[str] | None]:
    """Map line numbers to the codes silenced there by ``# taskwise: ignore[...]`` (None: all)."""
    result: dict[int, frozenset[str] | None] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type != tokenize.COMMENT:
                continue
            match = _SUPPRESS.search(tok.string)
            if match is None:
                continue
            codes = match.group("codes")
            result[tok.start[0]] = (
                None
                if codes is None
                else frozenset(c.strip().upper() for c in codes.split(",") if c.strip())
            )
    except (tokenize.TokenError, SyntaxError):  # pragma: no cover - the file parsed already
        pass
    return result


# --------------------------------------------------------------------------- module facts


@dataclass
class ModuleFacts:
    """What one module's names mean, as far as a single-file static look can tell.

    ``imports`` maps a local name to the qualified name it was imported as (only for
    asyncio, uvloop, taskwise and sys, imported anywhere in the module), and also holds
    ``aliases`` (``ef = asyncio.ensure_future``: names bound only by such assignments) and
    ``reexported`` names (``from mylib.compat import asyncio``: the name ``asyncio`` imported
    from another module, taken to be asyncio).  ``toplevel_imports`` holds the real imports
    made at module level (also inside a module-level ``if``/``try``).
    ``coroutine_functions`` holds names bound *only* by undecorated ``async def`` anywhere in
    the module; ``async_methods`` maps a class name (unique in the module) to its undecorated
    (or static/class) ``async def`` methods that no class in the module also defines as a
    plain method and no code in the module assigns as an attribute (``self.run = ...``,
    ``A.run = ...``, ``setattr``).  ``bound_names`` is every name the module binds anywhere
    other than by importing asyncio, uvloop, taskwise or sys.  ``attribute_stores`` holds
    every attribute name the module assigns or deletes (``None`` in it: a ``setattr`` whose
    name is not a literal).  ``exports`` is the module's literal ``__all__`` (None when it has
    none or it is not a plain list of strings).
    """

    imports: dict[str, str] = field(default_factory=dict)
    toplevel_imports: dict[str, str] = field(default_factory=dict)
    coroutine_functions: frozenset[str] = frozenset()
    async_methods: dict[str, frozenset[str]] = field(default_factory=dict)
    bound_names: frozenset[str] = frozenset()
    suppressions: dict[int, frozenset[str] | None] = field(default_factory=dict)
    aliases: frozenset[str] = frozenset()
    reexported: dict[str, str] = field(default_factory=dict)
    attribute_stores: frozenset[str | None] = frozenset()
    exports: frozenset[str] | None = None
    import_positions: dict[str, tuple[int, int]] = field(default_factory=dict)

    def resolve(self, dotted: str | None) -> str | None:
        """Resolve a dotted local spelling (``aio.sleep``) to ``asyncio.sleep``, or None."""
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        target = self.imports.get(head)
        if target is None:
            return None
        return normalize_name(f"{target}.{rest}" if rest else target)

    def module_alias(self, module: str) -> str | None:
        """Return a module-level name bound by ``import module [as x]``, if any."""
        for local, target in sorted(self.toplevel_imports.items()):
            if target == module:
                return local
        return None

    def suppressed(self, line: int, code: str) -> bool:
        """True when ``# taskwise: ignore`` on *line* silences *code*."""
        if line not in self.suppressions:
            return False
        codes = self.suppressions[line]
        return codes is None or any(code.startswith(c) for c in codes)


_ALLOWED_METHOD_DECORATORS = frozenset({"staticmethod", "classmethod"})


def collect_facts(tree: ast.Module, text: str = "") -> ModuleFacts:
    """Gather the :class:`ModuleFacts` of a parsed module."""
    imports: dict[str, str] = {}
    import_positions: dict[str, tuple[int, int]] = {}
    reexported: dict[str, str] = {}
    bound: set[str] = set()
    async_defs: set[str] = set()
    other_bindings: set[str] = set()
    binders: set[str] = set()  # names bound other than by assigning to a plain name
    stores: dict[str, int] = {}
    attribute_stores: set[str | None] = set()
    class_counts: dict[str, int] = {}
    class_async: dict[str, set[str]] = {}
    plain_methods: set[str] = set()
    methods_nodes = {
        id(item)
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        for item in node.body
        if isinstance(item, ast.AsyncFunctionDef)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                local = alias.asname or top
                other_bindings.add(local)
                binders.add(local)
                if top in _TRACKED_MODULES:
                    imports[local] = alias.name if alias.asname else top
                else:
                    bound.add(local)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            for alias in node.names:
                local = alias.asname or alias.name
                other_bindings.add(local)
                binders.add(local)
                if node.level == 0 and module.split(".")[0] in _TRACKED_MODULES:
                    imports[local] = f"{module}.{alias.name}"
                    import_positions.setdefault(local, (node.lineno, node.col_offset + 1))
                    continue
                bound.add(local)
                if alias.name == "asyncio" and module:  # `from mylib.compat import asyncio`
                    imports[local] = "asyncio"
                    reexported[local] = "." * node.level + module
        elif isinstance(node, ast.ClassDef):
            bound.add(node.name)
            other_bindings.add(node.name)
            binders.add(node.name)
            class_counts[node.name] = class_counts.get(node.name, 0) + 1
            methods = class_async.setdefault(node.name, set())
            for item in node.body:
                if isinstance(item, ast.AsyncFunctionDef) and all(
                    isinstance(d, ast.Name) and d.id in _ALLOWED_METHOD_DECORATORS
                    for d in item.decorator_list
                ):
                    methods.add(item.name)
                elif isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    plain_methods.add(item.name)
                elif isinstance(item, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                    for sub in ast.walk(item):
                        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                            plain_methods.add(sub.id)
        elif isinstance(node, ast.AsyncFunctionDef):
            bound.add(node.name)
            binders.add(node.name)
            if id(node) not in methods_nodes:
                (other_bindings if node.decorator_list else async_defs).add(node.name)
        elif isinstance(node, ast.FunctionDef):
            bound.add(node.name)
            other_bindings.add(node.name)
            binders.add(node.name)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
            other_bindings.add(node.id)
            stores[node.id] = stores.get(node.id, 0) + 1
        elif isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
            attribute_stores.add(node.attr)  # self.run = ..., A.run = ..., del x.run
        elif isinstance(node, ast.Call):
            attribute_stores.update(_setattr_names(node))
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
            other_bindings.add(node.arg)
            binders.add(node.arg)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            other_bindings.update(node.names)
            binders.update(node.names)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
            other_bindings.add(node.name)
            binders.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
            other_bindings.add(node.rest)
            binders.add(node.rest)
    aliases = _assignment_aliases(tree, imports, binders, stores)
    builtin_names = set(dir(builtins))
    coroutine_functions = frozenset(async_defs - other_bindings - builtin_names)
    rebound: set[str | None] = {*attribute_stores, *plain_methods}
    async_methods = {
        name: frozenset(() if None in rebound else methods - rebound)
        for name, methods in class_async.items()
        if class_counts[name] == 1
    }
    toplevel_names = _toplevel_import_names(tree.body)
    toplevel = {
        local: target
        for local, target in imports.items()
        if local in toplevel_names and local not in reexported and local not in aliases
    }
    return ModuleFacts(
        imports=imports,
        toplevel_imports=toplevel,
        coroutine_functions=coroutine_functions,
        async_methods=async_methods,
        bound_names=frozenset(bound),
        suppressions=_suppressions(text) if text else {},
        aliases=frozenset(aliases),
        reexported=reexported,
        attribute_stores=frozenset(attribute_stores),
        exports=_literal_all(tree, stores),
        import_positions=import_positions,
    )


def _setattr_names(call: ast.Call) -> list[str | None]:
    """The attribute names ``setattr(obj, "name", value)``/``delattr`` may bind (None: any)."""
    if not (isinstance(call.func, ast.Name) and call.func.id in ("setattr", "delattr")):
        return []
    if len(call.args) >= 2:
        name = call.args[1]
        if isinstance(name, ast.Constant) and isinstance(name.value, str):
            return [name.value]
    return [None]


def _assignment_aliases(
    tree: ast.Module, imports: dict[str, str], binders: set[str], stores: dict[str, int]
) -> set[str]:
    """Find ``ef = asyncio.ensure_future``-style aliases and add them to *imports*.

    A name counts only when every binding of it in the module is a plain assignment of the
    same tracked name (``aio = asyncio`` then ``ef = aio.ensure_future`` works too).
    """
    assignments: list[tuple[str, ast.expr]] = [
        (node.targets[0].id, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
    ]
    counts: dict[str, int] = {}
    for name, _ in assignments:
        counts[name] = counts.get(name, 0) + 1
    aliases: set[str] = set()
    for _ in range(3):  # an alias of an alias of an alias is as far as anyone goes
        targets: dict[str, set[str | None]] = {}
        for name, value in assignments:
            head, _, rest = (dotted_name(value) or "").partition(".")
            resolved = None
            if head in imports:
                resolved = normalize_name(f"{imports[head]}.{rest}" if rest else imports[head])
            targets.setdefault(name, set()).add(resolved)
        new = {
            name: target
            for name, resolved in targets.items()
            if len(resolved) == 1
            and (target := next(iter(resolved))) is not None
            and name not in binders
            and name not in aliases
            and stores.get(name) == counts[name]
        }
        if not new:
            break
        imports.update(new)
        aliases.update(new)
    return aliases


def _literal_all(tree: ast.Module, stores: dict[str, int]) -> frozenset[str] | None:
    """The module's ``__all__`` when it is assigned once, at module level, a list of strings."""
    if stores.get("__all__") != 1:
        return None
    for statement in tree.body:
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and statement.targets[0].id == "__all__"
            and isinstance(statement.value, (ast.List, ast.Tuple))
            and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str)
                for e in statement.value.elts
            )
        ):
            return frozenset(e.value for e in statement.value.elts)  # type: ignore[attr-defined]
    return None


def _toplevel_import_names(body: Sequence[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for statement in body:
        if isinstance(statement, ast.Import):
            names.update(a.asname or a.name.split(".")[0] for a in statement.names)
        elif isinstance(statement, ast.ImportFrom):
            names.update(a.asname or a.name for a in statement.names)
        elif isinstance(statement, ast.If):
            names |= _toplevel_import_names(statement.body) & _toplevel_import_names(
                statement.orelse
            )
        elif isinstance(statement, ast.Try):
            names |= _toplevel_import_names(statement.body)
    return names


def dotted_name(node: ast.expr) -> str | None:
    """Return ``a.b.c`` for a chain of attribute lookups on a name, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted_name(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def looks_like_loop(node: ast.expr, facts: ModuleFacts) -> bool:
    """Heuristic: is *node* (the receiver of ``.create_task``) an event loop?

    True for names and attributes spelled with ``loop`` (``loop``, ``self._loop``,
    ``event_loop``) and for direct calls of ``get_event_loop``/``get_running_loop``/
    ``new_event_loop``.  A TaskGroup (``tg.create_task``) keeps its tasks alive and is not
    a loop.
    """
    if isinstance(node, ast.Call):
        return facts.resolve(dotted_name(node.func)) in _LOOP_GETTERS
    if isinstance(node, ast.Name):
        return "loop" in node.id.lower()
    if isinstance(node, ast.Attribute):
        return "loop" in node.attr.lower()
    return False


_LOOP_GETTERS = frozenset(
    {"asyncio.get_event_loop", "asyncio.get_running_loop", "asyncio.new_event_loop"}
)


# --------------------------------------------------------------------------- version checks


def _version_value(
    node: ast.expr, facts: ModuleFacts
) -> Callable[[tuple[int, int, int, str, int]], object] | None:
    """How to get *node*'s value from a ``sys.version_info`` if it is one of
    ``sys.version_info``, ``sys.version_info[:N]``, ``sys.version_info[N]`` or ``.major``."""
    if facts.resolve(dotted_name(node)) == "sys.version_info":
        return lambda info: info
    if isinstance(node, ast.Attribute) and node.attr in ("major", "minor"):
        index = 0 if node.attr == "major" else 1
        if facts.resolve(dotted_name(node.value)) == "sys.version_info":
            return lambda info: info[index]
    if (
        isinstance(node, ast.Subscript)
        and facts.resolve(dotted_name(node.value)) == "sys.version_info"
    ):
        key = node.slice
        if isinstance(key, ast.Constant) and type(key.value) is int:
            item: int = key.value
            return lambda info: info[item]
        if (
            isinstance(key, ast.Slice)
            and key.lower is None
            and key.step is None
            and isinstance(key.upper, ast.Constant)
            and type(key.upper.value) is int
        ):
            upper: int = key.upper.value
            return lambda info: info[:upper]
    return None


def _constant_version(node: ast.expr) -> object | None:
    """An int or a tuple of up to three ints, else None."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if (
        isinstance(node, ast.Tuple)
        and 1 <= len(node.elts) <= 3
        and all(isinstance(e, ast.Constant) and type(e.value) is int for e in node.elts)
    ):
        return tuple(e.value for e in node.elts)  # type: ignore[attr-defined]
    return None


_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


def version_condition(
    test: ast.expr, facts: ModuleFacts
) -> tuple[frozenset[Version], frozenset[Version]]:
    """The Pythons on which *test* may be true, and those on which it may be false.

    Understands ``sys.version_info`` comparisons, ``hasattr(asyncio, "name")`` for the names
    in :data:`AVAILABILITY`, and ``not``/``and``/``or`` of those; anything else may be
    either on every Python.
    """
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        true, false = version_condition(test.operand, facts)
        return false, true
    if isinstance(test, ast.BoolOp):
        parts = [version_condition(value, facts) for value in test.values]
        trues = [t for t, _ in parts]
        falses = [f for _, f in parts]
        if isinstance(test.op, ast.And):
            return frozenset.intersection(*trues), frozenset.union(*falses)
        return frozenset.union(*trues), frozenset.intersection(*falses)
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _COMPARE:
        compare = _COMPARE[type(test.ops[0])]
        left, right = test.left, test.comparators[0]
        value, constant, swapped = _version_value(left, facts), _constant_version(right), False
        if value is None:
            value, constant, swapped = _version_value(right, facts), _constant_version(left), True
        if value is not None and constant is not None:
            samples: dict[Version, list[bool]] = {}
            for python in PYTHONS:
                results = samples[python] = []
                for patch in (0, 1, 99):
                    info = value((*python, patch, "final", 0))
                    try:
                        results.append(
                            compare(constant, info) if swapped else compare(info, constant)
                        )
                    except TypeError:  # an int compared with a tuple: the check is broken
                        return _EVERY_PYTHON, _EVERY_PYTHON
            return (
                frozenset(p for p, results in samples.items() if any(results)),
                frozenset(p for p, results in samples.items() if not all(results)),
            )
    if (
        isinstance(test, ast.Call)
        and isinstance(test.func, ast.Name)
        and test.func.id == "hasattr"
        and len(test.args) == 2
        and isinstance(test.args[1], ast.Constant)
        and isinstance(test.args[1].value, str)
    ):
        owner = facts.resolve(dotted_name(test.args[0]))
        window = (
            AVAILABILITY.get(normalize_name(f"{owner}.{test.args[1].value}")) if owner else None
        )
        if window is not None:
            since, until = window
            present = frozenset(
                p for p in PYTHONS if (since is None or p >= since) and (until is None or p < until)
            )
            return present, _EVERY_PYTHON - present
    return _EVERY_PYTHON, _EVERY_PYTHON


# --------------------------------------------------------------------------- event loops


def loop_locals(
    function: ast.FunctionDef | ast.AsyncFunctionDef, facts: ModuleFacts
) -> frozenset[str]:
    """Local names of *function* that can only ever hold an event loop.

    A name qualifies when every binding of it anywhere in the function (nested scopes
    included, which only makes this stricter) is ``name = asyncio.get_event_loop()``,
    ``get_running_loop()`` or ``new_event_loop()`` without arguments (asyncio imported, not
    re-exported by another module), and it is no parameter, ``global`` or ``nonlocal``.  Such a name is either unbound or a loop, never None.
    """
    excluded: set[str] = set()
    stores: dict[str, int] = {}
    good: dict[str, int] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores[node.id] = stores.get(node.id, 0) + 1
        elif isinstance(node, ast.arg):
            excluded.add(node.arg)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            excluded.update(node.names)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            excluded.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(
            node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ExceptHandler)
        ) or (isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name):
            if node.name:
                excluded.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            excluded.add(node.rest)
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
            and not node.value.args
            and not node.value.keywords
            and facts.resolve(dotted_name(node.value.func)) in _LOOP_GETTERS
            and (dotted_name(node.value.func) or "").split(".")[0] not in facts.reexported
        ):
            good[node.targets[0].id] = good.get(node.targets[0].id, 0) + 1
    return frozenset(
        name for name, count in good.items() if stores[name] == count and name not in excluded
    )


# --------------------------------------------------------------------------- the checker


class _Checker(ast.NodeVisitor):
    def __init__(self, facts: ModuleFacts, lines: Sequence[str], path: str) -> None:
        self.facts = facts
        self.lines = lines
        self.path = path
        self.findings: list[Finding] = []
        self.in_coroutine = False
        self.pythons: frozenset[Version] = _EVERY_PYTHON
        self.function: ast.FunctionDef | ast.AsyncFunctionDef | None = None
        self._loop_cache: dict[int, frozenset[str]] = {}
        #: (line, column) of each finding -> the Pythons that may run the code there
        self.pythons_at: dict[tuple[int, int], frozenset[Version]] = {}
        #: (line, column) of ``ensure_future(..., loop=X)`` calls whose X is surely a loop
        self.loop_calls: set[tuple[int, int]] = set()
        self.async_names = 0  # `async` used as a name, seen (reported or silenced)

    # -- reporting

    def column(self, node: ast.expr | ast.stmt | ast.keyword | ast.alias) -> int:
        line = self.lines[node.lineno - 1] if node.lineno <= len(self.lines) else ""
        prefix = line.encode("utf-8")[: node.col_offset]
        return len(prefix.decode("utf-8", errors="replace")) + 1

    def report(
        self,
        node: ast.expr | ast.stmt | ast.keyword | ast.alias,
        code: str,
        message: str,
        *,
        since: Version | None = None,
    ) -> None:
        since = since or PROBLEM_SINCE.get(code)
        if since is not None and all(python < since for python in self.pythons):
            return  # a version check keeps this code from running where it fails
        if self.facts.suppressed(node.lineno, code):
            return
        column = self.column(node)
        self.pythons_at[(node.lineno, column)] = self.pythons
        self.findings.append(Finding(self.path, node.lineno, column, code, message))

    def _loop_locals(self) -> frozenset[str]:
        """:func:`loop_locals` of the enclosing function, computed once and only if asked."""
        if self.function is None:
            return frozenset()
        key = id(self.function)
        if key not in self._loop_cache:
            self._loop_cache[key] = loop_locals(self.function, self.facts)
        return self._loop_cache[key]

    def _report_async_name(self, node: ast.expr | ast.stmt | ast.alias, spelled: str) -> None:
        self.async_names += 1
        self.report(
            node,
            "TW104",
            f"`{spelled}` is a syntax error since Python 3.7, where `async` became a keyword, "
            "so this file does not even parse; rename it (libraries renamed theirs, e.g. "
            "`async_`)",
        )

    # -- scopes and version checks

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        if not isinstance(node, ast.Lambda):
            for decorator in node.decorator_list:
                self.visit(decorator)
            if node.returns is not None:
                self.visit(node.returns)
            if node.name == _ASYNC_MARKER:
                self._report_async_name(node, f"def {node.name.replace(_ASYNC_MARKER, 'async')}")
        self.visit(node.args)
        outer, outer_function = self.in_coroutine, self.function
        self.in_coroutine = isinstance(node, ast.AsyncFunctionDef)
        if not isinstance(node, ast.Lambda):
            self.function = node
        body: list[ast.stmt] | list[ast.expr] = (
            [node.body] if isinstance(node, ast.Lambda) else node.body
        )
        for statement in body:
            self.visit(statement)
        self.in_coroutine, self.function = outer, outer_function

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function
    visit_Lambda = _visit_function

    def _visit_branches(
        self, test: ast.expr, body: Sequence[ast.AST], orelse: Sequence[ast.AST]
    ) -> None:
        self.visit(test)
        true, false = version_condition(test, self.facts)
        outer = self.pythons
        for pythons, branch in ((outer & true, body), (outer & false, orelse)):
            self.pythons = pythons
            for node in branch:
                self.visit(node)
        self.pythons = outer

    def visit_If(self, node: ast.If) -> None:
        self._visit_branches(node.test, node.body, node.orelse)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self._visit_branches(node.test, [node.body], [node.orelse])

    # -- rules

    def visit_Expr(self, node: ast.Expr) -> None:
        call = node.value
        if isinstance(call, ast.Call):
            qualified = self.facts.resolve(dotted_name(call.func))
            spelled = ast.unparse(call.func)
            dangling = qualified in ("asyncio.create_task", "asyncio.ensure_future") or (
                isinstance(call.func, ast.Attribute)
                and call.func.attr == "create_task"
                and looks_like_loop(call.func.value, self.facts)
            )
            if dangling:
                self.report(
                    call,
                    "TW102",
                    f"the Task returned by `{spelled}(...)` is thrown away and can be "
                    "garbage-collected before it finishes; keep a reference, use a TaskGroup, "
                    "or `taskwise.spawn(...)`",
                )
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        qualified = self.facts.resolve(dotted_name(node.func))
        spelled = ast.unparse(node.func)
        if qualified == "asyncio.ensure_future":
            head = spelled.partition(".")[0]
            via = (
                f" (`{head}` is `{self.facts.imports[head]}`)" if head in self.facts.aliases else ""
            )
            self.report(
                node,
                "TW101",
                f"`{spelled}(...)`{via} hides whether a Task is created; for a coroutine use "
                "`asyncio.create_task(...)`, for a Future use it as is",
            )
            for keyword in node.keywords:
                if (
                    keyword.arg == "loop"
                    and isinstance(keyword.value, ast.Name)
                    and keyword.value.id in self._loop_locals()
                ):
                    self.loop_calls.add((node.lineno, self.column(node)))
        elif qualified == "asyncio.Task":
            self.report(
                node,
                "TW103",
                f"`{spelled}(...)` bypasses the loop's task factory; use "
                "`asyncio.create_task(...)`",
            )
        elif qualified == "asyncio.get_event_loop":
            if self.in_coroutine:
                self.report(
                    node,
                    "TW202",
                    f"`{spelled}()` inside a coroutine; use `asyncio.get_running_loop()`",
                )
            else:
                self.report(
                    node,
                    "TW203",
                    f"`{spelled}()` outside a coroutine raises RuntimeError on Python 3.14 "
                    "when no loop is set; use `asyncio.run(main())` at the top level or "
                    "`asyncio.get_running_loop()` in code that runs inside the loop",
                )
        if qualified in LOOP_ARGUMENT_REMOVED:
            for keyword in node.keywords:
                if keyword.arg == "loop":
                    self.report(
                        keyword,
                        "TW201",
                        f"`{spelled}()` lost its `loop=` parameter in Python 3.10 and now "
                        "raises TypeError; delete `loop=...`",
                    )
        self.generic_visit(node)

    def _check_reference(self, node: ast.Name | ast.Attribute) -> None:
        if not isinstance(node.ctx, ast.Load):
            return
        qualified = self.facts.resolve(dotted_name(node))
        spelled = ast.unparse(node)
        marker = (node.attr if isinstance(node, ast.Attribute) else node.id) == _ASYNC_MARKER
        if qualified is None:
            if marker:
                self._report_async_name(node, spelled.replace(_ASYNC_MARKER, "async"))
            return
        if qualified.endswith("." + _ASYNC_MARKER):
            self.async_names += 1
            self.report(
                node,
                "TW104",
                f"`{spelled.replace(_ASYNC_MARKER, 'async')}` was removed in Python 3.7 "
                "(`async` is a keyword); use `asyncio.create_task(...)` for a coroutine",
            )
        elif qualified in POLICY_NAMES:
            self.report(
                node,
                "TW204",
                f"`{spelled}` uses the event-loop policy system, deprecated in Python 3.14; "
                "pass `loop_factory=` to `asyncio.run()` or `asyncio.Runner` instead",
            )
        elif qualified == "asyncio.iscoroutinefunction":
            self.report(
                node,
                "TW205",
                f"`{spelled}` is deprecated since Python 3.14; use `inspect.iscoroutinefunction`",
            )
        elif qualified in REMOVED_APIS:
            self.report(
                node,
                "TW206",
                f"`{spelled}` was {REMOVED_APIS[qualified]}",
                since=REMOVED_IN[qualified],
            )

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        tracked = node.level == 0 and module.split(".")[0] in _TRACKED_MODULES
        for alias in node.names:
            qualified = normalize_name(f"{module}.{alias.name}") if tracked else ""
            if alias.name == _ASYNC_MARKER:
                if module == "asyncio":
                    self.async_names += 1
                    self.report(
                        node,
                        "TW104",
                        "`from asyncio import async` was removed in Python 3.7 (`async` is a "
                        "keyword); import `create_task` instead",
                    )
                else:
                    self._report_async_name(node, f"from {module} import async")
            elif qualified in REMOVED_APIS:
                self.report(
                    alias,
                    "TW206",
                    f"`from {module} import {alias.name}` raises ImportError since Python "
                    f"{'.'.join(map(str, REMOVED_IN[qualified]))}: `{qualified}` was "
                    f"{REMOVED_APIS[qualified]}",
                    since=REMOVED_IN[qualified],
                )

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if node.name == _ASYNC_MARKER:
            self._report_async_name(node, "class async")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        self._check_reference(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self._check_reference(node)
        self.generic_visit(node)


@dataclass
class SourceAnalysis:
    """One module as the audit sees it: its facts, findings and where version checks apply.

    ``pythons`` maps a finding's ``(line, column)`` to the Pythons (major, minor) that may
    run the code there, as far as enclosing ``sys.version_info``/``hasattr`` checks tell
    (all of :data:`PYTHONS` when none does); ``loop_calls`` holds the ``(line, column)`` of
    ``ensure_future(..., loop=X)`` calls whose ``X`` is a local that can only hold an event
    loop (:func:`loop_locals`).
    """

    tree: ast.Module
    facts: ModuleFacts
    findings: list[Finding]
    pythons: dict[tuple[int, int], frozenset[Version]]
    loop_calls: set[tuple[int, int]]


def analyse_source(text: str, path: str = "<string>") -> tuple[ast.Module, ModuleFacts]:
    """Parse *text* (tolerating ``asyncio.async``) and gather its :class:`ModuleFacts`."""
    tree, facts, _ = _parse_and_collect(text, path)
    return tree, facts


def _parse_and_collect(text: str, path: str) -> tuple[ast.Module, ModuleFacts, int]:
    try:
        tree = parse_source(text, path)
    except SourceError:
        marked, count = _mark_async_names(text)
        if not count:
            raise
        tree = parse_source(marked, path)
        return tree, collect_facts(tree, text), count
    return tree, collect_facts(tree, text), 0


def inspect_source(text: str, path: str = "<string>") -> SourceAnalysis:
    """Audit one module's source and keep what ``taskwise migrate`` needs to know about it.

    Raises :class:`SourceError` when the text does not parse (``async`` used as a name is
    reported as TW104 instead, unless it is somewhere the audit cannot point at).
    """
    tree, facts, marked = _parse_and_collect(text, path)
    checker = _Checker(facts, text.splitlines(), path)
    checker.visit(tree)
    if checker.async_names < marked:
        parse_source(text, path)  # raises the real syntax error
    return SourceAnalysis(
        tree, facts, sorted(set(checker.findings)), checker.pythons_at, checker.loop_calls
    )


def audit_source(text: str, path: str = "<string>") -> list[Finding]:
    """Audit one module's source text and return its findings, sorted.

    Raises :class:`SourceError` when the text does not parse.

    >>> [f.code for f in audit_source("import asyncio\\nasyncio.ensure_future(f())\\n")]
    ['TW101', 'TW102']
    """
    return inspect_source(text, path).findings


def selected(code: str, select: Sequence[str], ignore: Sequence[str]) -> bool:
    """Apply ``--select``/``--ignore`` (codes or prefixes such as ``TW1``) to *code*."""
    if select and not any(code.startswith(s) for s in select):
        return False
    return not any(code.startswith(i) for i in ignore)


def audit_paths(
    paths: Iterable[Path], select: Sequence[str] = (), ignore: Sequence[str] = ()
) -> AuditReport:
    """Audit files and directories; unreadable or unparsable files are listed, not fatal."""
    report = AuditReport()
    for path in iter_python_files(paths):
        report.files += 1
        try:
            text, _ = read_source(path)
            findings = audit_source(text, str(path))
        except SourceError as exc:
            report.errors.append(FileError(str(path), str(exc)))
            continue
        report.findings.extend(f for f in findings if selected(f.code, select, ignore))
    report.findings.sort()
    return report

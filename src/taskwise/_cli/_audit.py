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
import os
import re
import tokenize
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

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
        "`asyncio.async(...)`, removed in Python 3.7.",
        "`async` became a keyword in 3.7, so the module no longer even parses.",
        "Replace it with `asyncio.create_task(coro)` for a coroutine (or `ensure_future` first, "
        "then follow TW101).",
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
_TRACKED_MODULES = frozenset({"asyncio", "uvloop", "taskwise"})
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


def _mark_async_names(text: str) -> tuple[str, bool]:
    """Replace ``async`` used as a *name* (``asyncio.async``) by a same-length marker.

    Python 3.7+ cannot parse ``asyncio.async(...)``; with the marker the rest of the file
    can still be audited and the marker is reported as TW104.
    """
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return text, False
    lines = text.splitlines(keepends=True)
    significant = [t for t in tokens if t.type not in _IGNORED_TOKENS]
    changed = False
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
            changed = True
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
    asyncio, uvloop and taskwise, imported anywhere in the module); ``toplevel_imports``
    holds those made at module level (also inside a module-level ``if``/``try``).
    ``coroutine_functions`` holds names bound *only* by undecorated ``async def`` anywhere in
    the module; ``async_methods`` maps a class name (unique in the module) to its undecorated
    (or static/class) ``async def`` methods that no class in the module also defines as a
    plain method.  ``bound_names`` is every name the
    module binds anywhere other than by importing asyncio, uvloop or taskwise.
    """

    imports: dict[str, str] = field(default_factory=dict)
    toplevel_imports: dict[str, str] = field(default_factory=dict)
    coroutine_functions: frozenset[str] = frozenset()
    async_methods: dict[str, frozenset[str]] = field(default_factory=dict)
    bound_names: frozenset[str] = frozenset()
    suppressions: dict[int, frozenset[str] | None] = field(default_factory=dict)

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
    bound: set[str] = set()
    async_defs: set[str] = set()
    other_bindings: set[str] = set()
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
                if top in _TRACKED_MODULES:
                    imports[local] = alias.name if alias.asname else top
                else:
                    bound.add(local)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            for alias in node.names:
                local = alias.asname or alias.name
                other_bindings.add(local)
                if node.level == 0 and module.split(".")[0] in _TRACKED_MODULES:
                    imports[local] = f"{module}.{alias.name}"
                else:
                    bound.add(local)
        elif isinstance(node, ast.ClassDef):
            bound.add(node.name)
            other_bindings.add(node.name)
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
            if id(node) not in methods_nodes:
                (other_bindings if node.decorator_list else async_defs).add(node.name)
        elif isinstance(node, ast.FunctionDef):
            bound.add(node.name)
            other_bindings.add(node.name)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
            other_bindings.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
            other_bindings.add(node.arg)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            other_bindings.update(node.names)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
            other_bindings.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
            other_bindings.add(node.rest)
    builtin_names = set(dir(builtins))
    coroutine_functions = frozenset(async_defs - other_bindings - builtin_names)
    async_methods = {
        name: frozenset(methods - plain_methods)
        for name, methods in class_async.items()
        if class_counts[name] == 1
    }
    toplevel = {
        local: target
        for local, target in imports.items()
        if local in _toplevel_import_names(tree.body)
    }
    return ModuleFacts(
        imports=imports,
        toplevel_imports=toplevel,
        coroutine_functions=coroutine_functions,
        async_methods=async_methods,
        bound_names=frozenset(bound),
        suppressions=_suppressions(text) if text else {},
    )


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


# --------------------------------------------------------------------------- the checker


class _Checker(ast.NodeVisitor):
    def __init__(self, facts: ModuleFacts, lines: Sequence[str], path: str) -> None:
        self.facts = facts
        self.lines = lines
        self.path = path
        self.findings: list[Finding] = []
        self.in_coroutine = False

    # -- reporting

    def column(self, node: ast.expr | ast.stmt | ast.keyword) -> int:
        line = self.lines[node.lineno - 1] if node.lineno <= len(self.lines) else ""
        prefix = line.encode("utf-8")[: node.col_offset]
        return len(prefix.decode("utf-8", errors="replace")) + 1

    def report(self, node: ast.expr | ast.stmt | ast.keyword, code: str, message: str) -> None:
        if self.facts.suppressed(node.lineno, code):
            return
        self.findings.append(Finding(self.path, node.lineno, self.column(node), code, message))

    # -- scopes

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        if not isinstance(node, ast.Lambda):
            for decorator in node.decorator_list:
                self.visit(decorator)
            if node.returns is not None:
                self.visit(node.returns)
        self.visit(node.args)
        outer = self.in_coroutine
        self.in_coroutine = isinstance(node, ast.AsyncFunctionDef)
        body: list[ast.stmt] | list[ast.expr] = (
            [node.body] if isinstance(node, ast.Lambda) else node.body
        )
        for statement in body:
            self.visit(statement)
        self.in_coroutine = outer

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function
    visit_Lambda = _visit_function

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
            self.report(
                node,
                "TW101",
                f"`{spelled}(...)` hides whether a Task is created; for a coroutine use "
                "`asyncio.create_task(...)`, for a Future use it as is",
            )
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
        if qualified is None:
            return
        spelled = ast.unparse(node)
        if qualified.endswith("." + _ASYNC_MARKER):
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
            self.report(node, "TW206", f"`{spelled}` was {REMOVED_APIS[qualified]}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module == "asyncio" and any(a.name == _ASYNC_MARKER for a in node.names):
            self.report(
                node,
                "TW104",
                "`from asyncio import async` was removed in Python 3.7 (`async` is a keyword); "
                "import `create_task` instead",
            )

    def visit_Name(self, node: ast.Name) -> None:
        self._check_reference(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self._check_reference(node)
        self.generic_visit(node)


def analyse_source(text: str, path: str = "<string>") -> tuple[ast.Module, ModuleFacts]:
    """Parse *text* (tolerating ``asyncio.async``) and gather its :class:`ModuleFacts`."""
    try:
        tree = parse_source(text, path)
    except SourceError:
        marked, changed = _mark_async_names(text)
        if not changed:
            raise
        tree = parse_source(marked, path)
    return tree, collect_facts(tree, text)


def audit_source(text: str, path: str = "<string>") -> list[Finding]:
    """Audit one module's source text and return its findings, sorted.

    Raises :class:`SourceError` when the text does not parse.

    >>> [f.code for f in audit_source("import asyncio\\nasyncio.ensure_future(f())\\n")]
    ['TW101', 'TW102']
    """
    tree, facts = analyse_source(text, path)
    checker = _Checker(facts, text.splitlines(), path)
    checker.visit(tree)
    return sorted(set(checker.findings))


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

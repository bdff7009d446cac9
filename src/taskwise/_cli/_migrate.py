"""``taskwise migrate``: a libcst codemod that rewrites only what is provably safe.

Rewrites (everything else the audit finds is listed for review, never changed):

* ``ensure_future(<coroutine call>)`` inside a coroutine -> ``asyncio.create_task(...)``
  (Python 3.7+);
* ``ensure_future(<coroutine call>, loop=<loop>)`` anywhere -> ``<loop>.create_task(...)``,
  where ``<loop>`` is a local that can only hold an event loop
  (:func:`taskwise._cli._audit.loop_locals`);
* ``get_event_loop()`` inside a coroutine -> ``get_running_loop()`` (Python 3.7+);
* with ``spawn_dangling``: a dangling ``asyncio.create_task(...)`` statement (or a dangling
  ``ensure_future`` that the first rewrite applies to) -> ``taskwise.spawn(...)``
  (Python 3.10+).

A rewrite that needs a newer Python than the oldest one that may run the code (the project's
``requires-python``, narrowed by enclosing ``sys.version_info``/``hasattr`` checks) is held
back and listed with the reason.

"A coroutine call" means a call of an ``async def`` function of the same module, of
``self.method()``/``cls.method()`` where the enclosing class defines ``async def method``
(and nothing in the scanned files assigns an attribute of that name), or of an asyncio
coroutine function (:data:`taskwise._cli._audit.KNOWN_COROUTINE_FUNCTIONS`).
See docs/migration.md for what this cannot see.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import os
import stat
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import PositionProvider

from taskwise._cli._audit import (
    KNOWN_COROUTINE_FUNCTIONS,
    Finding,
    ModuleFacts,
    SourceAnalysis,
    SourceError,
    Version,
    dotted_name,
    inspect_source,
    iter_python_files,
    normalize_name,
    read_source,
)
from taskwise._cli._project import PythonFloor, find_floor, version_text

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "DEFAULT_FLOOR",
    "MigrationResult",
    "ProjectView",
    "TaskCreationCodemod",
    "migrate_source",
    "run",
    "write_atomic",
]

# (line, 1-based column, code): where the audit reports a finding.
_Key = tuple[int, int, str]
_EMPTY = cst.Module(body=[])
_SPAWN_KEYWORDS = frozenset({"name", "context"})
#: The audit codes whose findings a rewrite may fix: only files with one are parsed by libcst.
REWRITABLE = frozenset({"TW101", "TW102", "TW202"})
#: The Python each new spelling needs.
_NEEDS: dict[str, Version] = {
    "asyncio.create_task": (3, 7),
    "asyncio.get_running_loop": (3, 7),
    "taskwise.spawn": (3, 10),
}


def _code(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


def one_line(node: cst.CSTNode, limit: int = 80) -> str:
    """*node*'s source on one line, comments dropped, cut to *limit* characters."""
    text = _code(node).strip()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            text = ast.unparse(ast.parse(f"({text})", mode="eval"))
    except (SyntaxError, ValueError):  # pragma: no cover - every expression node parses
        text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 4] + " ..."
    return text


def _dotted(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


@dataclass(frozen=True)
class ProjectView:
    """What the project around a module says about it.

    ``floor`` is the oldest Python the project supports; ``reimported`` holds names that
    some scanned module imports from a module other than asyncio (``from compat import
    ensure_future``) or reads as an attribute of one (``compat.ensure_future``): such an
    import is never removed.  ``rebound_attributes`` holds attribute names some scanned
    module assigns (``A.run = compat_run``): methods and functions of those names are not
    trusted to be ``async def``.
    """

    floor: PythonFloor = field(
        default_factory=lambda: PythonFloor((3, 10), "the oldest Python taskwise runs on")
    )
    reimported: frozenset[str] = frozenset()
    rebound_attributes: frozenset[str] = frozenset()


DEFAULT_FLOOR = ProjectView().floor


@dataclass
class _Frame:
    kind: str  # "async", "sync" (def/lambda), "lazy" (generator expression) or "class"
    class_name: str | None = None
    first_param: str | None = None


class TaskCreationCodemod(VisitorBasedCodemodCommand):
    """Rewrite provably safe task-creation patterns; record what it fixed and why it skipped."""

    DESCRIPTION = "Replace ensure_future/get_event_loop in coroutines by their modern spelling."
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(
        self,
        context: CodemodContext,
        analysis: SourceAnalysis,
        *,
        spawn_dangling: bool = False,
        view: ProjectView | None = None,
    ) -> None:
        super().__init__(context)
        self.analysis = analysis
        self.facts: ModuleFacts = analysis.facts
        self.view = view or ProjectView()
        self.spawn_dangling = spawn_dangling
        self.reported = {(f.line, f.column, f.code) for f in analysis.findings}
        self.frames: list[_Frame] = []
        self.dangling: set[int] = set()
        #: audit findings this codemod fixed
        self.fixed: set[_Key] = set()
        #: why a finding was left alone, where the audit's own message is not enough
        self.reasons: dict[_Key, str] = {}
        #: findings left alone only because the oldest Python that may run them is too old
        self.held_back: set[_Key] = set()
        #: imports that the rewrite left unused but that were kept: (line, column) -> note
        self.notes: dict[tuple[int, int], str] = {}
        #: set when a rewrite needs ``import taskwise``
        self.needs_taskwise = False
        #: bare imported names -> how many of their uses were rewritten away
        self.rewritten_uses: dict[str, int] = {}

    # -- scopes ---------------------------------------------------------------------------

    def visit_ClassDef_body(self, node: cst.ClassDef) -> None:
        self.frames.append(_Frame("class", class_name=node.name.value))

    def leave_ClassDef_body(self, node: cst.ClassDef) -> None:
        self.frames.pop()

    def visit_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        owner = (
            self.frames[-1].class_name if self.frames and self.frames[-1].kind == "class" else None
        )
        params = [*node.params.posonly_params, *node.params.params]
        self.frames.append(
            _Frame(
                "async" if node.asynchronous is not None else "sync",
                class_name=owner,
                first_param=params[0].name.value if params else None,
            )
        )

    def leave_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        self.frames.pop()

    def visit_Lambda_body(self, node: cst.Lambda) -> None:
        self.frames.append(_Frame("sync"))

    def leave_Lambda_body(self, node: cst.Lambda) -> None:
        self.frames.pop()

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self.frames.append(_Frame("lazy"))

    def leave_GeneratorExp(
        self, original_node: cst.GeneratorExp, updated_node: cst.GeneratorExp
    ) -> cst.GeneratorExp:
        self.frames.pop()
        return updated_node

    def _function(self) -> _Frame | None:
        for frame in reversed(self.frames):
            if frame.kind != "class":
                return frame
        return None

    def _in_coroutine(self) -> bool:
        frame = self._function()
        return frame is not None and frame.kind == "async"

    # -- helpers --------------------------------------------------------------------------

    def _resolve(self, node: cst.BaseExpression) -> str | None:
        return self.facts.resolve(_dotted(node))

    def _key(self, node: cst.CSTNode, code: str) -> _Key:
        start = self.get_metadata(PositionProvider, node).start
        return (start.line, start.column + 1, code)

    def _is_coroutine_call(self, node: cst.BaseExpression) -> bool:
        """True only when calling *node* provably returns a coroutine object."""
        if not isinstance(node, cst.Call):
            return False
        func = node.func
        if self._resolve(func) in KNOWN_COROUTINE_FUNCTIONS:
            return func_is_direct(func, self.facts)
        rebound = self.view.rebound_attributes
        if isinstance(func, cst.Name):
            return func.value in self.facts.coroutine_functions and func.value not in rebound
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            frame = self._function()
            if frame and frame.class_name and frame.first_param == func.value.value:
                methods = self.facts.async_methods.get(frame.class_name, frozenset())
                return func.attr.value in methods and func.attr.value not in rebound
        return False

    def _too_old(self, original: cst.Call, key: _Key, spelling: str, text: str) -> bool:
        """True (and the reason recorded) when *spelling* needs a newer Python than the
        oldest one that may run *original*, or when no supported Python runs it."""
        needed = _NEEDS[spelling]
        floor = self.view.floor
        pythons = sorted(
            p
            for p in self.analysis.pythons.get((key[0], key[1]), frozenset())
            if p >= floor.version
        )
        if not pythons:
            self.reasons[key] = (
                f"`{text}` not rewritten: a version check keeps it from running on "
                f"{floor.describe()} and newer; delete the branch once nothing older is "
                "supported"
            )
            return True
        if pythons[0] >= needed:
            return False
        self.held_back.add(key)
        if pythons[0] > floor.version:
            oldest = f"Python {version_text(pythons[0])} (as its version check allows)"
        else:
            oldest = floor.describe()
        self.reasons[key] = (
            f"`{text}` not rewritten: `{spelling}` needs Python {version_text(needed)}, and "
            f"this code may run on {oldest}"
        )
        return True

    def _asyncio_function(self, name: str, *, bare: bool) -> cst.BaseExpression | None:
        """Spell ``asyncio.<name>`` in this module's import style, adding an import if needed."""
        for local, target in sorted(self.facts.toplevel_imports.items()):
            if normalize_name(target) == f"asyncio.{name}":
                return cst.Name(local)
        alias = self.facts.module_alias("asyncio")
        if alias is not None:
            return cst.Attribute(cst.Name(alias), cst.Name(name))
        if bare and name not in self.facts.bound_names and name not in self.facts.imports:
            AddImportsVisitor.add_needed_import(self.context, "asyncio", name)
            return cst.Name(name)
        if "asyncio" not in self.facts.bound_names:
            AddImportsVisitor.add_needed_import(self.context, "asyncio")
            return cst.Attribute(cst.Name("asyncio"), cst.Name(name))
        return None  # `asyncio` means something else here

    def _spawn_function(self) -> cst.BaseExpression | None:
        alias = self.facts.module_alias("taskwise")
        if alias is None:
            if "taskwise" in self.facts.bound_names or "taskwise" in self.facts.imports:
                return None
            self.needs_taskwise = True
            alias = "taskwise"
        return cst.Attribute(cst.Name(alias), cst.Name("spawn"))

    def _drop_import(self, func: cst.BaseExpression) -> None:
        """Remove ``from asyncio import <func>`` if the rewrite left it unused and no other
        module can be importing it from here."""
        if not isinstance(func, cst.Name):
            return
        target = self.facts.imports.get(func.value)
        if target is None:  # pragma: no cover - the name resolved, so it was imported
            return
        module, _, obj = target.rpartition(".")
        asname = func.value if func.value != obj else None
        self.rewritten_uses[func.value] = self.rewritten_uses.get(func.value, 0) + 1
        exports = self.facts.exports
        if exports is not None and func.value not in exports:
            if func.value not in self.view.reimported:
                RemoveImportsVisitor.remove_unused_import(self.context, module, obj, asname)
                return
            why = "another scanned module imports it from this one"
        elif exports is None:
            why = "this module has no `__all__`, so other modules may import it from here"
        else:
            why = "this module's `__all__` exports it"
        uses = sum(
            1
            for node in ast.walk(self.analysis.tree)
            if isinstance(node, ast.Name) and node.id == func.value
        )
        if uses > self.rewritten_uses[func.value]:
            return  # still used here: nothing to say
        line, column = self.facts.import_positions.get(func.value, (1, 1))
        self.notes[(line, column)] = (
            f"`{func.value}` (`{target}`) is kept imported although the rewrite left it unused "
            f"here: {why}; delete the import if nothing imports it from this module"
        )

    def _refuse_indirect(self, original: cst.Call, key: _Key) -> bool:
        """Calls through aliases or re-exported modules are listed, never rewritten."""
        head = (_dotted(original.func) or "").partition(".")[0]
        if head in self.facts.aliases:
            self.reasons[key] = (
                f"`{one_line(original)}` not rewritten: it calls through the alias `{head}` "
                f"(`{self.facts.imports[head]}`), which the rewrite would have to follow; call "
                "the asyncio function by its name and rerun"
            )
            return True
        if head in self.facts.reexported:
            self.reasons[key] = (
                f"`{one_line(original)}` not rewritten: `{head}` is imported from "
                f"`{self.facts.reexported[head]}`, which may be a compatibility shim rather "
                "than asyncio; import asyncio directly and rerun"
            )
            return True
        return False

    # -- rewrites -------------------------------------------------------------------------

    def visit_Expr(self, node: cst.Expr) -> None:
        if isinstance(node.value, cst.Call):
            self.dangling.add(id(node.value))

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        qualified = self._resolve(original_node.func)
        if qualified == "asyncio.ensure_future":
            return self._ensure_future(original_node, updated_node)
        if qualified == "asyncio.get_event_loop":
            return self._get_event_loop(original_node, updated_node)
        if qualified == "asyncio.create_task" and id(original_node) in self.dangling:
            return self._dangling_create_task(original_node, updated_node)
        return updated_node

    def _ensure_future(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        key = self._key(original, "TW101")
        if key not in self.reported or self._refuse_indirect(original, key):
            return updated
        written = one_line(original)
        positional = [a for a in updated.args if a.keyword is None]
        keywords = {a.keyword.value: a for a in updated.args if a.keyword is not None}
        if len(positional) != 1 or positional[0].star or set(keywords) - {"loop"}:
            self.reasons[key] = (
                f"`{written}` not rewritten: only `ensure_future(coro)` and "
                "`ensure_future(coro, loop=loop)` are; replace it by hand"
            )
            return updated
        argument = positional[0]
        original_argument = next(a for a in original.args if a.keyword is None).value
        if not self._is_coroutine_call(original_argument):
            self.reasons[key] = (
                f"`{written}` not rewritten: `{one_line(original_argument, 40)}` is not "
                "provably a coroutine (a Future or Task passes through ensure_future but makes "
                "create_task raise TypeError); if it is a coroutine, use "
                "`asyncio.create_task(...)`"
            )
            return updated
        if "loop" in keywords:
            return self._ensure_future_on_loop(original, updated, key, argument, keywords["loop"])
        if not self._in_coroutine():
            self.reasons[key] = (
                f"`{written}` not rewritten: outside a coroutine no loop may be running, "
                "and `asyncio.create_task` then raises RuntimeError; if this always runs inside "
                "the loop, use `asyncio.create_task(...)`"
            )
            return updated
        dangling_key = self._key(original, "TW102")
        if (
            self.spawn_dangling
            and id(original) in self.dangling
            and not self._too_old(original, dangling_key, "taskwise.spawn", written)
        ):
            spawned = self._spawn(original, updated.with_changes(args=[argument]))
            if spawned is not None:
                self.fixed.add(key)
                self._drop_import(original.func)
                return spawned
        if self._too_old(original, key, "asyncio.create_task", written):
            return updated
        func = self._asyncio_function("create_task", bare=isinstance(original.func, cst.Name))
        if func is None:
            self.reasons[key] = (
                f"`{written}` not rewritten: the name `asyncio` is bound to something else "
                "in this module; use `asyncio.create_task(...)`"
            )
            return updated
        self.fixed.add(key)
        self._drop_import(original.func)
        if id(original) in self.dangling:
            self.reasons.setdefault(dangling_key, _DANGLING_HINT)
        return updated.with_changes(func=func, args=[argument])

    def _ensure_future_on_loop(
        self, original: cst.Call, updated: cst.Call, key: _Key, argument: cst.Arg, loop: cst.Arg
    ) -> cst.BaseExpression:
        written = one_line(original)
        spelled = one_line(loop.value, 30)
        if isinstance(loop.value, cst.Name) and loop.value.value == "None":
            self.reasons[key] = (
                f"`{written}` not rewritten: `loop=None` means the current event loop; delete "
                "`loop=None` and rerun"
            )
            return updated
        if (key[0], key[1]) not in self.analysis.loop_calls:
            self.reasons[key] = (
                f"`{written}` not rewritten: `{spelled}` is not provably an event loop; when it "
                f"is None, ensure_future uses the current loop, while `{spelled}.create_task(...)` "
                "would raise AttributeError. If it is always a loop, write "
                f"`{spelled}.create_task(...)`"
            )
            return updated
        kept = _without_last_argument(argument, loop)
        if kept is None:
            self.reasons[key] = (
                f"`{written}` not rewritten: the comments inside `loop=...` have no place to "
                f"go; write `{spelled}.create_task(...)` by hand"
            )
            return updated
        self.fixed.add(key)
        if id(original) in self.dangling:
            self.reasons[self._key(original, "TW102")] = _DANGLING_LOOP_HINT
        return updated.with_changes(
            func=cst.Attribute(loop.value, cst.Name("create_task")), args=[kept]
        )

    def _get_event_loop(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        key = self._key(original, "TW202")
        if key not in self.reported or original.args or self._refuse_indirect(original, key):
            return updated
        func = original.func
        if not self._in_coroutine():  # the audit said coroutine: a generator expression in one
            self.reasons[key] = (
                f"`{one_line(original)}` not rewritten: inside a generator expression it may "
                "run after the coroutine has finished; use `asyncio.get_running_loop()`"
            )
            return updated
        if self._too_old(original, key, "asyncio.get_running_loop", one_line(original)):
            return updated
        new_func: cst.BaseExpression | None
        if isinstance(func, cst.Attribute):
            new_func = func.with_changes(attr=cst.Name("get_running_loop"))
        else:
            new_func = self._asyncio_function("get_running_loop", bare=True)
        if new_func is None:
            self.reasons[key] = (
                "`get_event_loop()` not rewritten: the name `asyncio` is bound to something "
                "else in this module; use `asyncio.get_running_loop()`"
            )
            return updated
        self.fixed.add(key)
        self._drop_import(func)
        return updated.with_changes(func=new_func)

    def _dangling_create_task(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        key = self._key(original, "TW102")
        if key not in self.reported:
            return updated
        if not self.spawn_dangling:
            self.reasons[key] = _DANGLING_HINT
            return updated
        if self._refuse_indirect(original, key):
            return updated
        if self._too_old(original, key, "taskwise.spawn", one_line(original)):
            return updated
        spawned = self._spawn(original, updated)
        if spawned is None:
            return updated
        self._drop_import(original.func)
        return spawned

    def _spawn(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression | None:
        """``create_task(coro, name=..., context=...)`` -> ``taskwise.spawn(...)``, or None."""
        key = self._key(original, "TW102")
        positional = [a for a in updated.args if a.keyword is None]
        keywords = {a.keyword.value for a in updated.args if a.keyword is not None}
        if len(positional) != 1 or positional[0].star or keywords - _SPAWN_KEYWORDS:
            self.reasons[key] = (
                f"`{one_line(original)}` not turned into `taskwise.spawn(...)`: it has "
                "arguments spawn() does not take; keep a reference to the task by hand"
            )
            return None
        func = self._spawn_function()
        if func is None:
            self.reasons[key] = (
                "not turned into `taskwise.spawn(...)`: the name `taskwise` is bound to "
                "something else in this module"
            )
            return None
        self.fixed.add(key)
        return updated.with_changes(func=func)


def func_is_direct(func: cst.BaseExpression, facts: ModuleFacts) -> bool:
    """False for a call through an alias or a re-exported module (``aio.sleep`` where ``aio``
    came from ``from mylib.compat import asyncio``): not provably asyncio's function."""
    head = (_dotted(func) or "").partition(".")[0]
    return head not in facts.aliases and head not in facts.reexported


_DANGLING_HINT = (
    "the Task returned by `create_task(...)` is thrown away and can be garbage-collected before "
    "it finishes; keep a reference, use a TaskGroup, or rerun with `--spawn-dangling` to use "
    "`taskwise.spawn(...)`"
)


_DANGLING_LOOP_HINT = (
    "the Task returned by `loop.create_task(...)` is thrown away and can be garbage-collected "
    "before it finishes; keep a reference, or use `taskwise.spawn(...)` if `loop` is the "
    "running loop"
)


def _comments(node: cst.CSTNode) -> list[cst.Comment]:
    found: list[cst.Comment] = []

    class _Collect(cst.CSTVisitor):
        def visit_Comment(self, comment: cst.Comment) -> None:
            found.append(comment)

    node.visit(_Collect())
    return found


def _tail(arg: cst.Arg) -> cst.BaseParenthesizableWhitespace:
    """The whitespace after *arg*, up to the next argument or the closing parenthesis."""
    return (
        arg.comma.whitespace_after if isinstance(arg.comma, cst.Comma) else arg.whitespace_after_arg
    )


def _without_last_argument(kept: cst.Arg, removed: cst.Arg) -> cst.Arg | None:
    """Return *kept* made to end the argument list once *removed* (the last argument, right
    after it) is deleted, keeping every comment and the closing parenthesis where it was.

    Returns None when *removed* holds comments that have no line of their own to move to.
    """
    comma = kept.comma
    assert isinstance(comma, cst.Comma)  # *removed* follows it
    tail = _tail(removed)
    between = comma.whitespace_after
    comments = _comments(removed)
    if isinstance(tail, cst.ParenthesizedWhitespace) and tail.first_line.comment is not None:
        comments.remove(tail.first_line.comment)  # it stays in the tail
        last = tail.first_line.comment
    else:
        last = None
    for line in tail.empty_lines if isinstance(tail, cst.ParenthesizedWhitespace) else ():
        if line.comment is not None:
            comments.remove(line.comment)  # they stay in the tail too
    if comments or last is not None:
        if not isinstance(between, cst.ParenthesizedWhitespace):
            if comments:
                return None  # `f(a, loop=(l  # why\n))`: nowhere to put it
        else:  # `removed` starts its own line: its comments become lines of their own
            lines = [
                cst.EmptyLine(indent=between.indent, whitespace=between.last_line, comment=c)
                for c in [*comments, *([last] if last is not None else [])]
            ]
            assert isinstance(tail, cst.ParenthesizedWhitespace)
            tail = tail.with_changes(
                first_line=between.first_line,
                empty_lines=[*between.empty_lines, *lines, *tail.empty_lines],
            )
    elif isinstance(between, cst.ParenthesizedWhitespace) and isinstance(
        tail, cst.ParenthesizedWhitespace
    ):
        tail = tail.with_changes(
            first_line=between.first_line, empty_lines=[*between.empty_lines, *tail.empty_lines]
        )
    if isinstance(removed.comma, cst.Comma):  # a trailing comma stays a trailing comma
        return kept.with_changes(comma=comma.with_changes(whitespace_after=tail))
    return kept.with_changes(comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=tail)


# --------------------------------------------------------------------------- import taskwise


def _import_kind(statement: cst.BaseStatement, first_party: Sequence[Path]) -> str | None:
    """``"future"``, ``"stdlib"``, ``"third-party"``, ``"first-party"``, ``"local"`` for an
    import line, None for anything else."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    line = statement.body[0]
    if isinstance(line, cst.ImportFrom):
        if line.relative:
            return "local"
        module = _dotted(line.module) if line.module is not None else None
    elif isinstance(line, cst.Import):
        module = _dotted(line.names[0].name)
    else:
        return None
    top = (module or "").split(".")[0]
    if top == "__future__":
        return "future"
    if top in sys.stdlib_module_names:
        return "stdlib"
    for root in first_party:
        if (root / top).is_dir() or (root / f"{top}.py").is_file():
            return "first-party"
    return "third-party"


def _top_module(statement: cst.BaseStatement) -> str:
    line = statement.body[0]  # type: ignore[attr-defined]
    if isinstance(line, cst.ImportFrom):
        return _dotted(line.module) or "" if line.module is not None else ""
    return _dotted(line.names[0].name) or ""


def add_taskwise_import(module: cst.Module, first_party: Sequence[Path] = ()) -> cst.Module:
    """Add ``import taskwise`` among the module's third-party imports, in name order (after the
    standard library's, before the project's own and relative ones), as isort would."""
    body = list(module.body)
    kinds: list[str] = []
    for statement in body:
        kind = _import_kind(statement, first_party)
        if kind is None:
            if not kinds and _is_docstring(statement):
                kinds.append("docstring")
                continue
            break
        kinds.append(kind)
    new = cst.parse_statement("import taskwise\n")
    third = [i for i, kind in enumerate(kinds) if kind == "third-party"]
    if third:
        after = [i for i in third if _top_module(body[i]).lower() > "taskwise"]
        if after:  # take its place, and its blank lines or comments above
            index = after[0]
            new = new.with_changes(leading_lines=body[index].leading_lines)
            body[index] = body[index].with_changes(leading_lines=[])
        else:
            index = third[-1] + 1
        body.insert(index, new)
        return module.with_changes(body=body)
    earlier = [i for i, kind in enumerate(kinds) if kind in ("docstring", "future", "stdlib")]
    index = earlier[-1] + 1 if earlier else 0
    if index < len(body) and index < len(kinds) and kinds[index] in ("first-party", "local"):
        following = body[index]  # the project's imports: a section of their own after ours
        if earlier:
            new = new.with_changes(leading_lines=following.leading_lines or [cst.EmptyLine()])
        else:
            new = new.with_changes(leading_lines=following.leading_lines)
        body[index] = following.with_changes(leading_lines=[cst.EmptyLine()])
    elif earlier:
        new = new.with_changes(leading_lines=[cst.EmptyLine()])
    body.insert(index, new)
    return module.with_changes(body=body)


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


# --------------------------------------------------------------------------- files


@dataclass
class MigrationResult:
    """The rewritten text of one module and what still needs a human.

    ``held_back`` counts findings left alone only because the oldest Python that may run them
    lacks the new spelling; ``notes`` are imports kept although they may be unused now.
    """

    text: str
    fixed: set[_Key] = field(default_factory=set)
    review: list[Finding] = field(default_factory=list)
    held_back: int = 0
    notes: list[Finding] = field(default_factory=list)
    added_taskwise: bool = False


#: Counts every libcst parse, so that tests can check which files were parsed.
parse_count = 0


def _parse(text: str) -> cst.Module:
    global parse_count
    parse_count += 1
    return cst.parse_module(text)


def migrate_source(
    text: str,
    *,
    path: str = "<string>",
    spawn_dangling: bool = False,
    view: ProjectView | None = None,
    analysis: SourceAnalysis | None = None,
    first_party: Sequence[Path] = (),
) -> MigrationResult:
    """Rewrite one module's source; raise :class:`SourceError` if it cannot be parsed.

    Line numbers in ``review`` refer to *text*, the source before rewriting.  *view* says what
    the project around the module knows (by default: Python 3.10+ and no other modules).  A
    module without a finding a rewrite could fix is returned as it is, without parsing it
    with libcst.

    >>> src = "import asyncio\\nasync def f():\\n    return asyncio.get_event_loop()\\n"
    >>> print(migrate_source(src).text, end="")
    import asyncio
    async def f():
        return asyncio.get_running_loop()
    """
    analysis = analysis or inspect_source(text, path)
    if any(f.code == "TW104" for f in analysis.findings):
        raise SourceError(
            "it uses `async` as a name (`asyncio.async`), a syntax error since Python 3.7, "
            "so it cannot be parsed; replace it by hand (see `taskwise rules TW104`) and rerun"
        )
    if not any(f.code in REWRITABLE for f in analysis.findings):
        return MigrationResult(text, review=list(analysis.findings))
    try:
        module = _parse(text)
    except cst.ParserSyntaxError as exc:
        raise SourceError(f"libcst cannot parse it (line {exc.raw_line}: {exc.message})") from None
    codemod = TaskCreationCodemod(
        CodemodContext(), analysis, spawn_dangling=spawn_dangling, view=view
    )
    module = codemod.transform_module(module)
    if codemod.needs_taskwise:
        module = add_taskwise_import(module, first_party)
    review = [
        Finding(f.path, f.line, f.column, f.code, codemod.reasons.get(k, f.message))
        for f in analysis.findings
        if (k := (f.line, f.column, f.code)) not in codemod.fixed
    ]
    notes = [
        Finding(path, line, column, "note", message)
        for (line, column), message in sorted(codemod.notes.items())
    ]
    return MigrationResult(
        module.code,
        codemod.fixed,
        review,
        held_back=len(codemod.held_back - codemod.fixed),
        notes=notes,
        added_taskwise=codemod.needs_taskwise,
    )


def write_atomic(path: Path, data: bytes) -> None:
    """Replace *path* by *data* atomically (temporary file in the same directory, then
    :func:`os.replace`), keeping the file's permission bits."""
    mode = stat.S_IMODE(path.stat().st_mode)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def diff_path(path: Path, cwd: Path | None = None) -> str:
    """*path* as a diff header names it: relative to the current directory, with ``/``."""
    cwd = cwd or Path.cwd()
    absolute = path if path.is_absolute() else cwd / path
    return Path(os.path.relpath(absolute, cwd)).as_posix()


def unified_diff(before: str, after: str, path: str) -> str:
    """A ``git diff``-style unified diff of one file (*path* relative, as :func:`diff_path`
    gives it), which ``git apply`` and ``patch -p1`` take."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


# --------------------------------------------------------------------------- the project


_PATCHERS = frozenset({"patch", "object", "setattr", "patch_object"})
_PATCHED = {"ensure_future": "TW101", "get_event_loop": "TW202"}


def _patches(tree: ast.Module, path: str) -> list[tuple[Finding, str]]:
    """Test code that patches ``ensure_future``/``get_event_loop``: ``mock.patch(
    "asyncio.ensure_future")``, ``patch.object(asyncio, "ensure_future")``,
    ``monkeypatch.setattr(...)``.  Returns (finding, the rewritten code's TW code)."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = (dotted_name(node.func) or "").rpartition(".")[2]
        if name not in _PATCHERS:
            continue
        for argument in node.args[:2]:
            if not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
                continue
            target = argument.value.rpartition(".")[2]
            if target in _PATCHED:
                message = (
                    f"this test patches `{argument.value}`; once the code under test is "
                    f"migrated it no longer calls `{target}`, so the patch intercepts nothing: "
                    "patch `asyncio.create_task`/`get_running_loop` (or the loop's "
                    "`create_task`) instead"
                )
                finding = Finding(path, node.lineno, node.col_offset + 1, _PATCHED[target], message)
                found.append((finding, _PATCHED[target]))
                break
    return found


@dataclass
class _Scanned:
    path: Path
    text: str
    encoding: str
    analysis: SourceAnalysis


def _project_names(scanned: Sequence[_Scanned]) -> tuple[frozenset[str], frozenset[str]]:
    """(names imported from non-asyncio modules or read as their attributes, attribute
    names assigned), over every scanned module."""
    reimported: set[str] = set()
    rebound: set[str] = set()
    for item in scanned:
        facts = item.analysis.facts
        rebound.update(name for name in facts.attribute_stores if name is not None)
        for node in ast.walk(item.analysis.tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level or module.split(".")[0] != "asyncio":
                    reimported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                owner = facts.resolve(dotted_name(node.value))
                if owner is None or not owner.startswith("asyncio"):
                    reimported.add(node.attr)
    return frozenset(reimported), frozenset(rebound)


def run(
    paths: Iterable[Path],
    *,
    write: bool,
    spawn_dangling: bool,
    out: TextIO,
    err: TextIO,
    min_python: Version | None = None,
) -> int:
    """The ``taskwise migrate`` command: diff (or write) every file, then list what needs review.

    Every file is audited first (stdlib :mod:`ast`, fast); only files with a finding a
    rewrite could fix are parsed by libcst.  Returns 0 when nothing needed changing or
    everything was written, 1 when changes were only shown or some file could not be
    processed.
    """
    changed: list[Path] = []
    failures = 0
    review: list[Finding] = []
    notes: list[Finding] = []
    scanned: list[_Scanned] = []
    files = 0
    for path in iter_python_files(paths):
        files += 1
        try:
            text, encoding = read_source(path)
            scanned.append(_Scanned(path, text, encoding, inspect_source(text, str(path))))
        except SourceError as exc:
            print(f"{path}: cannot migrate, left unchanged: {exc}", file=err)
            failures += 1
    reimported, rebound = _project_names(scanned)
    floors: dict[Path, PythonFloor] = {}
    held: dict[str, int] = {}
    rewritten_codes: set[str] = set()
    taskwise_added = 0
    for item in scanned:
        floor = find_floor(item.path, floors)
        if min_python is not None:
            floor = PythonFloor(min_python, f"--min-python {version_text(min_python)}")
        view = ProjectView(floor, reimported, rebound)
        roots = [item.path.parent]
        if floor.root is not None:
            roots += [floor.root, floor.root / "src"]
        try:
            result = migrate_source(
                item.text,
                path=str(item.path),
                spawn_dangling=spawn_dangling,
                view=view,
                analysis=item.analysis,
                first_party=roots,
            )
        except SourceError as exc:
            print(f"{item.path}: cannot migrate, left unchanged: {exc}", file=err)
            failures += 1
            continue
        review.extend(result.review)
        notes.extend(result.notes)
        if result.held_back:
            held[floor.explain()] = held.get(floor.explain(), 0) + result.held_back
        rewritten_codes.update(code for _, _, code in result.fixed)
        if result.text == item.text:
            continue
        taskwise_added += result.added_taskwise
        if not write:
            out.write(unified_diff(item.text, result.text, diff_path(item.path)))
            changed.append(item.path)
            continue
        try:
            write_atomic(item.path, result.text.encode(item.encoding))
        except OSError as exc:
            print(f"{item.path}: cannot write, left unchanged: {exc}", file=err)
            failures += 1
            continue
        changed.append(item.path)
    for item in scanned:
        for finding, code in _patches(item.analysis.tree, str(item.path)):
            if code in rewritten_codes:
                review.append(finding)
    _report(
        review,
        notes,
        changed,
        failures,
        files=files,
        held=held,
        taskwise_added=taskwise_added,
        write=write,
        err=err,
    )
    if failures or (changed and not write):
        return 1
    return 0


def _report(
    review: Sequence[Finding],
    notes: Sequence[Finding],
    changed: Sequence[Path],
    failures: int,
    *,
    files: int,
    held: dict[str, int],
    taskwise_added: int,
    write: bool,
    err: TextIO,
) -> None:
    if review:
        print("Needs review (left unchanged; line numbers are before rewriting):", file=err)
        for finding in sorted(review):
            print(f"  {finding.format()}", file=err)
    if notes:
        print("Notes:", file=err)
        for finding in sorted(notes):
            print(f"  {finding.format()}", file=err)
    for where, count in sorted(held.items()):
        print(
            f"Held back {_plural(count, 'rewrite')} needing a newer Python than the oldest one "
            f"supported, {where}; each is listed above with the Python it needs. If that "
            "Python is wrong, declare requires-python or pass --min-python",
            file=err,
        )
    if taskwise_added:
        print(
            f"Added `import taskwise` to {_plural(taskwise_added, 'file')}: add taskwise to the "
            "project's dependencies",
            file=err,
        )
    touched = _plural(len(changed), "file")
    if write:
        summary = f"rewrote {touched}"
    elif changed:
        summary = f"{touched} would be rewritten; rerun with --write to apply"
    else:
        summary = "nothing to rewrite"
    summary += f" ({_plural(files, 'file')} scanned), {_plural(len(review), 'place')} to review"
    if review:
        counts: dict[str, int] = {}
        for finding in review:
            counts[finding.code] = counts.get(finding.code, 0) + 1
        summary += " (" + ", ".join(f"{code}: {n}" for code, n in sorted(counts.items())) + ")"
    if failures:
        summary += f", {_plural(failures, 'file')} could not be processed"
    print(summary, file=err)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"

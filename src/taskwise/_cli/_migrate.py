"""``taskwise migrate``: a libcst codemod that rewrites only what is provably safe.

Rewrites (everything else the audit finds is listed for review, never changed):

* ``ensure_future(<coroutine call>)`` inside a coroutine -> ``asyncio.create_task(...)``;
* ``ensure_future(<coroutine call>, loop=<name>)`` anywhere -> ``<name>.create_task(...)``;
* ``get_event_loop()`` inside a coroutine -> ``get_running_loop()``;
* with ``spawn_dangling``: a dangling ``asyncio.create_task(...)`` statement (or a dangling
  ``ensure_future`` that the first rewrite applies to) -> ``taskwise.spawn(...)``.

"A coroutine call" means a call of an ``async def`` function of the same module, of
``self.method()``/``cls.method()`` where the enclosing class defines ``async def method``,
or of an asyncio coroutine function (:data:`taskwise._cli._audit.KNOWN_COROUTINE_FUNCTIONS`).
See docs/migration.md for what this cannot see.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import stat
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import PositionProvider

from taskwise._cli._audit import (
    KNOWN_COROUTINE_FUNCTIONS,
    Finding,
    ModuleFacts,
    SourceError,
    analyse_source,
    audit_source,
    iter_python_files,
    normalize_name,
    read_source,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

__all__ = ["MigrationResult", "TaskCreationCodemod", "migrate_source", "run", "write_atomic"]

# (line, 1-based column, code): where the audit reports a finding.
_Key = tuple[int, int, str]
_EMPTY = cst.Module(body=[])
_SPAWN_KEYWORDS = frozenset({"name", "context"})


def _code(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


def _dotted(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


def _is_plain_reference(node: cst.BaseExpression) -> bool:
    """A name or attribute chain (``loop``, ``self._loop``): safe to evaluate in a new place."""
    if isinstance(node, cst.Name):
        return node.value not in ("None", "True", "False")
    return _dotted(node) is not None


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
        self, context: CodemodContext, facts: ModuleFacts, *, spawn_dangling: bool = False
    ) -> None:
        super().__init__(context)
        self.facts = facts
        self.spawn_dangling = spawn_dangling
        self.frames: list[_Frame] = []
        self.dangling: set[int] = set()
        #: audit findings this codemod fixed
        self.fixed: set[_Key] = set()
        #: why a finding was left alone, where the audit's own message is not enough
        self.reasons: dict[_Key, str] = {}

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
            return True
        if isinstance(func, cst.Name):
            return func.value in self.facts.coroutine_functions
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            frame = self._function()
            if frame and frame.class_name and frame.first_param == func.value.value:
                methods = self.facts.async_methods.get(frame.class_name, frozenset())
                return func.attr.value in methods
        return False

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
            if "taskwise" in self.facts.bound_names:
                return None
            AddImportsVisitor.add_needed_import(self.context, "taskwise")
            alias = "taskwise"
        return cst.Attribute(cst.Name(alias), cst.Name("spawn"))

    def _drop_import(self, func: cst.BaseExpression) -> None:
        """Remove ``from asyncio import <func>`` if the rewrite left it unused."""
        if not isinstance(func, cst.Name):
            return
        target = self.facts.imports.get(func.value)
        if target is None:  # pragma: no cover - the name resolved, so it was imported
            return
        module, _, obj = target.rpartition(".")
        asname = func.value if func.value != obj else None
        RemoveImportsVisitor.remove_unused_import(self.context, module, obj, asname)

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
        if self.facts.suppressed(key[0], "TW101"):
            return updated
        positional = [a for a in updated.args if a.keyword is None]
        keywords = {a.keyword.value: a for a in updated.args if a.keyword is not None}
        spelled = _code(original.func)
        if len(positional) != 1 or positional[0].star or set(keywords) - {"loop"}:
            self.reasons[key] = (
                f"`{spelled}(...)` not rewritten: only `ensure_future(coro)` and "
                "`ensure_future(coro, loop=loop)` are; replace it by hand"
            )
            return updated
        argument = positional[0]
        original_argument = next(a for a in original.args if a.keyword is None).value
        if not self._is_coroutine_call(original_argument):
            self.reasons[key] = (
                f"`{spelled}({_code(original_argument)})` not rewritten: the argument is not "
                "provably a coroutine (a Future or Task passes through ensure_future but makes "
                "create_task raise TypeError); if it is a coroutine, use "
                "`asyncio.create_task(...)`"
            )
            return updated
        if "loop" in keywords:
            loop = keywords["loop"]
            if not _is_plain_reference(loop.value):
                self.reasons[key] = (
                    f"`{spelled}(..., loop={_code(loop.value)})` not rewritten: the loop is not "
                    "a plain name; use `<loop>.create_task(...)`"
                )
                return updated
            self.fixed.add(key)
            if id(original) in self.dangling:
                self.reasons[self._key(original, "TW102")] = _DANGLING_LOOP_HINT
            return updated.with_changes(
                func=cst.Attribute(loop.value, cst.Name("create_task")),
                args=[_sole_argument(argument, loop)],
            )
        if not self._in_coroutine():
            self.reasons[key] = (
                f"`{spelled}(...)` not rewritten: outside a coroutine no loop may be running, "
                "and `asyncio.create_task` then raises RuntimeError; if this always runs inside "
                "the loop, use `asyncio.create_task(...)`"
            )
            return updated
        if self.spawn_dangling and id(original) in self.dangling:
            spawned = self._spawn(original, updated.with_changes(args=[argument]))
            if spawned is not None:
                self.fixed.add(key)
                self._drop_import(original.func)
                return spawned
        func = self._asyncio_function("create_task", bare=isinstance(original.func, cst.Name))
        if func is None:
            self.reasons[key] = (
                f"`{spelled}(...)` not rewritten: the name `asyncio` is bound to something else "
                "in this module; use `asyncio.create_task(...)`"
            )
            return updated
        self.fixed.add(key)
        self._drop_import(original.func)
        if id(original) in self.dangling:
            self.reasons.setdefault(self._key(original, "TW102"), _DANGLING_HINT)
        return updated.with_changes(func=func, args=[argument])

    def _get_event_loop(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        key = self._key(original, "TW202")
        if self.facts.suppressed(key[0], "TW202") or original.args:
            return updated
        if not self._in_coroutine():
            frame = self._function()
            if frame is not None and frame.kind == "lazy":
                self.reasons[key] = (
                    f"`{_code(original.func)}()` not rewritten: inside a generator expression it "
                    "may run after the coroutine has finished; use `asyncio.get_running_loop()`"
                )
            return updated
        func = original.func
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
        if not self.spawn_dangling:
            self.reasons[key] = _DANGLING_HINT
            return updated
        if self.facts.suppressed(key[0], "TW102"):
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
                f"`{_code(original.func)}(...)` not turned into `taskwise.spawn(...)`: it has "
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


def _has_comment(node: cst.CSTNode) -> bool:
    return "#" in _code(node)


def _sole_argument(argument: cst.Arg, removed: cst.Arg) -> cst.Arg:
    """Return *argument* made to stand alone once *removed* (which followed it) is deleted."""
    comma = argument.comma
    if isinstance(comma, cst.Comma) and _has_comment(comma):
        return argument  # keep the comment; a trailing comma is fine
    if isinstance(removed.comma, cst.Comma) and isinstance(comma, cst.Comma):
        return argument.with_changes(
            comma=comma.with_changes(whitespace_after=removed.comma.whitespace_after)
        )
    return argument.with_changes(comma=cst.MaybeSentinel.DEFAULT)


# --------------------------------------------------------------------------- files


@dataclass
class MigrationResult:
    """The rewritten text of one module and what still needs a human."""

    text: str
    fixed: set[_Key] = field(default_factory=set)
    review: list[Finding] = field(default_factory=list)


def migrate_source(
    text: str, *, path: str = "<string>", spawn_dangling: bool = False
) -> MigrationResult:
    """Rewrite one module's source; raise :class:`SourceError` if it cannot be parsed.

    Line numbers in ``review`` refer to *text*, the source before rewriting.

    >>> src = "import asyncio\\nasync def f():\\n    return asyncio.get_event_loop()\\n"
    >>> print(migrate_source(src).text, end="")
    import asyncio
    async def f():
        return asyncio.get_running_loop()
    """
    findings = audit_source(text, path)
    _, facts = analyse_source(text, path)
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        if any(f.code == "TW104" for f in findings):
            raise SourceError(
                "it uses `asyncio.async`, removed in Python 3.7, so libcst cannot parse it; "
                "replace it by hand (see `taskwise rules TW104`) and rerun"
            ) from None
        raise SourceError(f"libcst cannot parse it (line {exc.raw_line}: {exc.message})") from None
    codemod = TaskCreationCodemod(CodemodContext(), facts, spawn_dangling=spawn_dangling)
    new_text = codemod.transform_module(module).code
    review = [
        Finding(f.path, f.line, f.column, f.code, codemod.reasons.get(k, f.message))
        for f in findings
        if (k := (f.line, f.column, f.code)) not in codemod.fixed
    ]
    return MigrationResult(new_text, codemod.fixed, review)


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


def unified_diff(before: str, after: str, path: str) -> str:
    """A ``git diff``-style unified diff of one file."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=path if os.path.isabs(path) else f"a/{path}",
        tofile=path if os.path.isabs(path) else f"b/{path}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def run(
    paths: Iterable[Path],
    *,
    write: bool,
    spawn_dangling: bool,
    out: TextIO,
    err: TextIO,
) -> int:
    """The ``taskwise migrate`` command: diff (or write) every file, then list what needs review.

    Returns 0 when nothing needed changing or everything was written, 1 when changes were only
    shown or some file could not be processed.
    """
    changed: list[Path] = []
    failures = 0
    review: list[Finding] = []
    for path in iter_python_files(paths):
        try:
            text, encoding = read_source(path)
            result = migrate_source(text, path=str(path), spawn_dangling=spawn_dangling)
        except SourceError as exc:
            print(f"{path}: cannot migrate, left unchanged: {exc}", file=err)
            failures += 1
            continue
        review.extend(result.review)
        if result.text == text:
            continue
        if not write:
            out.write(unified_diff(text, result.text, str(path)))
            changed.append(path)
            continue
        try:
            write_atomic(path, result.text.encode(encoding))
        except OSError as exc:
            print(f"{path}: cannot write, left unchanged: {exc}", file=err)
            failures += 1
            continue
        changed.append(path)
    _report(review, changed, failures, write=write, err=err)
    if failures or (changed and not write):
        return 1
    return 0


def _report(
    review: Sequence[Finding], changed: Sequence[Path], failures: int, *, write: bool, err: TextIO
) -> None:
    if review:
        print("Needs review (left unchanged; line numbers are before rewriting):", file=err)
        for finding in sorted(review):
            print(f"  {finding.format()}", file=err)
    files = f"{len(changed)} file{'s' if len(changed) != 1 else ''}"
    if write:
        summary = f"rewrote {files}"
    elif changed:
        summary = f"{files} would be rewritten; rerun with --write to apply"
    else:
        summary = "nothing to rewrite"
    summary += f", {len(review)} place{'s' if len(review) != 1 else ''} to review"
    if failures:
        summary += f", {failures} file{'s' if failures != 1 else ''} could not be processed"
    print(summary, file=err)

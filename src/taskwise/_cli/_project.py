"""Which Pythons a project supports: ``requires-python`` and ``python_requires``.

``taskwise migrate`` must never write code that the project's oldest Python cannot run.  This
module finds the project a file belongs to (the nearest directory, from the file up, holding
``pyproject.toml``, ``setup.cfg`` or ``setup.py``), reads its declared requirement and turns it
into the oldest Python (major, minor) it admits.  Standard library only, the same on every
Python: ``pyproject.toml`` is read with a small line scanner (3.10 has no ``tomllib``),
``setup.cfg`` with :mod:`configparser`, ``setup.py`` with :mod:`ast` (only a literal
``python_requires=`` counts).  Anything unreadable gives "unknown", never a guess.
"""

from __future__ import annotations

import ast
import configparser
import re
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from taskwise._cli._audit import PYTHONS, Version

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["OLDEST_ASYNCIO", "PythonFloor", "find_floor", "minimum_python", "version_text"]

#: Assumed when a project's requirement is missing or unreadable: asyncio's first Python.
OLDEST_ASYNCIO: Version = (3, 4)

_PROJECT_FILES = ("pyproject.toml", "setup.cfg", "setup.py")
_CLAUSE = re.compile(r"^\s*(~=|==|!=|<=|>=|<|>)\s*v?([0-9]+(?:\.[0-9]+)*)(\.\*)?\s*$")
_PATCHES = range(50)


class _Unreadable(Exception):
    """A requirement is declared but cannot be read; ``str(exc)`` says where."""


def version_text(version: Version) -> str:
    """``(3, 7)`` -> ``"3.7"``."""
    return ".".join(map(str, version))


def _pad(release: tuple[int, ...]) -> tuple[int, ...]:
    return (*release, 0, 0, 0)[: max(3, len(release))]


def _admits(op: str, release: tuple[int, ...], star: bool, version: tuple[int, int, int]) -> bool:
    if star:  # ==3.6.* / !=3.6.*: a prefix match
        matches = version[: len(release)] == release[:3] if len(release) <= 3 else False
        return matches if op == "==" else not matches
    have, want = _pad(version), _pad(release)
    if op == "~=":  # ~=3.6.1 means >=3.6.1, ==3.6.*
        return have >= want and version[: len(release) - 1] == release[:-1]
    compare = {
        "==": have == want,
        "!=": have != want,
        ">=": have >= want,
        "<=": have <= want,
        ">": have > want,
        "<": have < want,
    }
    return compare[op]


def minimum_python(spec: str) -> Version | None:
    """The oldest Python (major, minor) that a PEP 440 specifier such as ``">=3.7, !=3.8.*"``
    admits, or None if it cannot be read or admits none.

    Every clause must be ``OP VERSION`` with ``OP`` one of ``~= == != <= >= < >`` (``.*`` only
    after ``==``/``!=``); versions are release numbers.  Pre-releases and ``===`` are not
    understood.  A minor version counts when any of its releases (x.y.0 to x.y.49) is admitted.

    >>> minimum_python("~=3.6"), minimum_python(">=3.7.1,<4"), minimum_python("== 3.*")
    ((3, 6), (3, 7), (3, 0))
    >>> minimum_python("3.7") is None
    True
    """
    clauses: list[tuple[str, tuple[int, ...], bool]] = []
    for part in spec.split(","):
        match = _CLAUSE.match(part)
        if match is None:
            return None
        op, text, star = match.groups()
        release = tuple(int(number) for number in text.split("."))
        if (star and op not in ("==", "!=")) or (op == "~=" and len(release) < 2):
            return None
        clauses.append((op, release, bool(star)))
    for python in PYTHONS:
        for patch in _PATCHES:
            version = (*python, patch)
            if all(_admits(op, release, star, version) for op, release, star in clauses):
                return python
    return None


@dataclass(frozen=True)
class PythonFloor:
    """The oldest Python a project supports, and how taskwise knows.

    ``declared`` is False when the requirement was missing or unreadable and ``version`` is
    :data:`OLDEST_ASYNCIO`, an assumption.
    """

    version: Version
    source: str
    declared: bool = True
    root: Path | None = None
    detail: str = ""

    def describe(self) -> str:
        """``Python 3.6 (requires-python "~=3.6" in pyproject.toml)``: for one review line."""
        return f"Python {version_text(self.version)} ({self.source})"

    def explain(self) -> str:
        """Where the requirement came from, with the directory: for the summary."""
        where = f" of {self.root}" if self.root is not None else ""
        return f"Python {version_text(self.version)} ({self.source}{where}{self.detail})"


def _pyproject_requires(text: str) -> str | None:
    """``[project] requires-python`` of a pyproject.toml, by a line scanner."""
    table: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            header = re.match(r"^\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(#.*)?$", line)
            table = header.group(1) if header else None
            continue
        if table != "project":
            continue
        key = re.match(
            r"""^(?:requires-python|"requires-python"|'requires-python')\s*=(.*)$""", line
        )
        if key is None:
            continue
        value = re.match(r"""^\s*(?:"([^"\\]*)"|'([^']*)')\s*(#.*)?$""", key.group(1))
        if value is None:
            raise _Unreadable(f"requires-python in pyproject.toml is not a one-line string: {line}")
        return value.group(1) if value.group(1) is not None else value.group(2)
    return None


def _setup_cfg_requires(text: str) -> str | None:
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise _Unreadable(f"setup.cfg cannot be read: {exc.__class__.__name__}") from None
    if parser.has_option("options", "python_requires"):
        return parser.get("options", "python_requires").strip()
    return None


def _setup_py_requires(text: str) -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError):
        raise _Unreadable("setup.py does not parse") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "python_requires":
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                return node.value.value
            raise _Unreadable("python_requires in setup.py is not a literal string")
    return None


_READERS = {
    "pyproject.toml": ("requires-python", _pyproject_requires),
    "setup.cfg": ("python_requires", _setup_cfg_requires),
    "setup.py": ("python_requires", _setup_py_requires),
}


def _floor_in(directory: Path) -> PythonFloor | None:
    """The requirement declared in *directory*, or None if it holds no project file."""
    present = [name for name in _PROJECT_FILES if (directory / name).is_file()]
    if not present:
        return None
    problems: list[str] = []
    for name in present:
        key, reader = _READERS[name]
        try:
            spec = reader((directory / name).read_text(encoding="utf-8", errors="replace"))
        except _Unreadable as exc:
            problems.append(str(exc))
            continue
        except OSError as exc:
            problems.append(f"{name} cannot be read: {exc.strerror or exc}")
            continue
        if spec is None:
            continue
        version = minimum_python(spec)
        where = f'{key} "{spec}" in {name}'
        if version is None:
            problems.append(f"{where} is not understood")
            continue
        return PythonFloor(version, where, root=directory)
    why = "; ".join(problems) or f"no requires-python in {', '.join(present)}"
    return PythonFloor(
        OLDEST_ASYNCIO,
        "assumed: the project declares no Python taskwise can read",
        declared=False,
        root=directory,
        detail=f": {why}",
    )


def find_floor(path: Path, cache: dict[Path, PythonFloor] | None = None) -> PythonFloor:
    """The oldest Python the project holding *path* supports (see the module docstring)."""
    start = (path if path.is_dir() else path.parent).resolve()
    cache = {} if cache is None else cache
    seen: list[Path] = []
    found: PythonFloor | None = None
    for directory in (start, *start.parents):
        if directory in cache:
            found = cache[directory]
            break
        seen.append(directory)
        found = _floor_in(directory)
        if found is not None:
            break
    if found is None:
        found = PythonFloor(
            OLDEST_ASYNCIO,
            "assumed: no project file declares the Pythons it supports",
            declared=False,
            detail=f": no pyproject.toml, setup.cfg or setup.py in {start} or above",
        )
    for directory in seen:
        cache[directory] = found
    return found

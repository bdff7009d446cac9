"""A griffe extension for the API reference (mkdocs.yml): our docstrings, read as Markdown.

The docstrings are written for ``help()`` and Sphinx-style readers: ``:class:`X``` roles and
``Example::`` literal blocks. The site renders them as Markdown, so this turns the roles into
code spans and each example into a fenced Python block.

The shipped stubs define some signatures twice, under ``if sys.version_info >= (3, 11):`` and
``else:`` (``context=`` takes only ``None`` on 3.10). griffe keeps the last definition it
reads; the reference shows the newest Python's, and its page says what 3.10 differs in.
"""

from __future__ import annotations

import ast
import re
import textwrap
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|func|meth|exc|attr|mod|data|obj):`~?([^`]+)`")
_EXAMPLE = re.compile(r"^Example::\n\n((?:[ \t]+.*\n|\n)+)", re.MULTILINE)


def _markdown(text: str) -> str:
    text = _ROLE.sub(r"`\1`", text)

    def fence(match: re.Match[str]) -> str:
        code = textwrap.dedent(match.group(1)).strip("\n")
        return f"**Example**\n\n```python\n{code}\n```\n"

    return _EXAMPLE.sub(fence, text if text.endswith("\n") else text + "\n").rstrip("\n")


def _version_branch(node: ast.AST) -> str | None:
    """'body' or 'orelse' if *node* sits directly in an ``if sys.version_info ...`` block."""
    parent = getattr(node, "parent", None)
    if not isinstance(parent, ast.If) or "sys.version_info" not in ast.unparse(parent.test):
        return None
    return "body" if node in parent.body else "orelse"


class TaskwiseDocs(griffe.Extension):
    def __init__(self) -> None:
        super().__init__()
        self._newest: dict[str, griffe.Function] = {}

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _markdown(obj.docstring.value)

    def on_function_instance(
        self, *, node: ast.AST | griffe.ObjectNode, func: griffe.Function, **kwargs: Any
    ) -> None:
        if not isinstance(node, ast.AST):
            return
        branch = _version_branch(node)
        if branch == "body":  # `if sys.version_info >= (3, N):` -- the newer Pythons
            self._newest[func.path] = func
        elif branch == "orelse" and func.path in self._newest and func.parent is not None:
            func.parent.set_member(func.name, self._newest[func.path])

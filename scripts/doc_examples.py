"""Write each Python example of README.md and docs/**/*.md to a file of its own, to type-check.

    python scripts/doc_examples.py OUTDIR

OUTDIR gets one module per ```python block (`readme_1.py`, `docs_taskgroup_2.py`, ...) and
the settings to check them as a user would: `mypy --strict` (mypy.ini) and pyright strict
(pyrightconfig.json). `nox -s typing` runs both on them for Python 3.10 and 3.13, against the
installed wheel:

    cd OUTDIR && mypy --python-version 3.13 . && pyright --pythonversion 3.13

The blocks are the ones tests/test_docs.py finds (and executes, for the pages it lists). A block
that is deliberately not type-checkable (it shows a mistake, say) is preceded, on the line just
before its fence, by `<!-- not type-checked: why -->`; the reason is required.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The fences tests/test_docs.py runs (indented ones too, in lists), found the same way.
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[^\s`]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
OPT_OUT = re.compile(r"<!--\s*not type-checked:(.*?)-->\s*$")

MYPY_INI = """\
[mypy]
strict = True
warn_unreachable = True
"""
PYRIGHTCONFIG = """\
{
  "include": ["."],
  "typeCheckingMode": "strict"
}
"""


def pages(root: Path = ROOT) -> list[Path]:
    """README.md and every page under docs/, in a stable order."""
    return [root / "README.md", *sorted((root / "docs").glob("**/*.md"))]


def examples(page: Path) -> list[tuple[int, str | None, str]]:
    """(number, reason it is not type-checked or None, code) for each ```python block."""
    text = page.read_text(encoding="utf-8")
    found = []
    blocks = [m for m in FENCE.finditer(text) if m.group("lang") in ("python", "py")]
    for number, match in enumerate(blocks, 1):
        before = text[: match.start()].rstrip("\n").rpartition("\n")[2]
        reason = None
        opt_out = OPT_OUT.search(before)
        if opt_out:
            reason = opt_out.group(1).strip()
            if not reason:
                raise ValueError(
                    f"{page}: example {number} opts out of type-checking without saying why: "
                    f"write `<!-- not type-checked: <the reason> -->`."
                )
        found.append((number, reason, textwrap.dedent(match.group("body"))))
    return found


def module_name(page: Path, number: int, root: Path = ROOT) -> str:
    stem = page.relative_to(root).with_suffix("").as_posix().lower()
    return re.sub(r"\W", "_", stem) + f"_{number}"


def write(out: Path, root: Path = ROOT) -> tuple[int, list[str]]:
    """Write the examples to *out*; return how many, and a line for each one left out."""
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    skipped = []
    for page in pages(root):
        for number, reason, code in examples(page):
            where = f"{page.relative_to(root)} (example {number})"
            if reason is not None:
                skipped.append(f"{where}: {reason}")
                continue
            header = f"# {where}\n"
            (out / f"{module_name(page, number, root)}.py").write_text(
                header + code, encoding="utf-8"
            )
            written += 1
    (out / "mypy.ini").write_text(MYPY_INI, encoding="utf-8")
    (out / "pyrightconfig.json").write_text(PYRIGHTCONFIG, encoding="utf-8")
    return written, skipped


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    if out.exists() and any(out.glob("*.py")):
        print(f"{out} already holds examples: give an empty or new directory", file=sys.stderr)
        return 2
    written, skipped = write(out)
    print(f"{written} examples written to {out}")
    for line in skipped:
        print(f"  not type-checked: {line}")
    if not written:
        print("no ```python examples found", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The ``taskwise`` command line: ``audit``, ``migrate`` and ``rules``.

``import taskwise`` never imports this module; the console script and
``python -m taskwise`` do.  ``taskwise audit`` needs only the standard library;
``taskwise migrate`` needs libcst (``pip install 'taskwise[migrate]'``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from taskwise import __version__
from taskwise._cli._audit import RULES, audit_paths

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]

EXIT_OK = 0
EXIT_FOUND = 1
EXIT_USAGE = 2

_MISSING_LIBCST = (
    "taskwise migrate needs libcst, which is not installed.\n"
    "Install the optional extra:  pip install 'taskwise[migrate]'\n"
    "(`taskwise audit` works without it.)"
)


def _codes(value: str) -> list[str]:
    """Parse a ``--select``/``--ignore`` value: comma-separated codes or prefixes."""
    result = [part.strip().upper() for part in value.split(",") if part.strip()]
    for part in result:
        if not any(rule.code.startswith(part) for rule in RULES):
            known = ", ".join(rule.code for rule in RULES)
            raise argparse.ArgumentTypeError(
                f"{part!r} matches no rule; use a code or a prefix of one (known: {known})"
            )
    return result


def _python_version(value: str) -> tuple[int, int]:
    """Parse a ``--min-python`` value such as ``3.8``."""
    major, dot, minor = value.strip().partition(".")
    if not (dot and major.isdigit() and minor.isdigit()):
        raise argparse.ArgumentTypeError(f"{value!r} is not a Python version such as 3.8")
    return int(major), int(minor)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="taskwise",
        description="Find and fix risky asyncio task creation.",
        epilog="Rules and rewrites are described in docs/migration.md.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    audit = commands.add_parser(
        "audit",
        help="report risky task creation (stdlib only)",
        description="Report risky asyncio task creation. Exit status: 0 clean, 1 something "
        "found (or a file could not be read), 2 usage error.",
    )
    audit.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or directories")
    audit.add_argument("--format", choices=("text", "json"), default="text")
    audit.add_argument(
        "--select",
        type=_codes,
        action="extend",
        default=[],
        metavar="CODES",
        help="only these codes or prefixes, comma-separated (e.g. TW1,TW201)",
    )
    audit.add_argument(
        "--ignore",
        type=_codes,
        action="extend",
        default=[],
        metavar="CODES",
        help="skip these codes or prefixes, comma-separated",
    )

    migrate = commands.add_parser(
        "migrate",
        help="rewrite what is provably safe (needs libcst)",
        description="Rewrite risky task creation where the rewrite is provably safe and list "
        "the rest for review. Shows a unified diff unless --write is given. Exit status: 0 "
        "nothing to change (or changes written), 1 changes shown but not written or a file "
        "could not be processed, 2 usage error or libcst missing.",
    )
    migrate.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or directories")
    migrate.add_argument("--write", action="store_true", help="apply the changes to the files")
    migrate.add_argument(
        "--spawn-dangling",
        action="store_true",
        help="also turn dangling `asyncio.create_task(...)` statements into "
        "`taskwise.spawn(...)` (adds `import taskwise`)",
    )

    migrate.add_argument(
        "--min-python",
        type=_python_version,
        metavar="X.Y",
        help="the oldest Python the code must keep running on (default: read from the "
        "project's requires-python; Python 3.4 if it declares none)",
    )

    rules = commands.add_parser("rules", help="explain the audit rules")
    rules.add_argument("codes", nargs="*", type=_codes, metavar="CODE", help="codes or prefixes")
    return parser


def _missing_paths(paths: Sequence[Path], err: TextIO) -> bool:
    missing = [p for p in paths if not p.exists()]
    for path in missing:
        print(f"taskwise: error: {path}: no such file or directory", file=err)
    return bool(missing)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def _run_audit(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    report = audit_paths(args.paths, select=args.select, ignore=args.ignore)
    if args.format == "json":
        print(report.to_json(), file=out)
    else:
        for finding in report.findings:
            print(finding.format(), file=out)
    for error in report.errors:
        print(f"{error.path}: cannot audit: {error.reason}", file=err)
    if args.format == "text":
        problems = len(report.findings)
        summary = _plural(problems, "problem")
        if problems:
            summary += f" in {_plural(len({f.path for f in report.findings}), 'file')}"
        summary += f" ({_plural(report.files, 'file')} scanned"
        if report.errors:
            summary += f", {len(report.errors)} could not be audited"
        summary += ")"
        if problems:
            summary += "; `taskwise rules CODE` explains a rule, `taskwise migrate` fixes some"
        print(summary, file=err)
    return EXIT_FOUND if report.findings or report.errors else EXIT_OK


def _run_rules(args: argparse.Namespace, out: TextIO) -> int:
    prefixes = [code for group in args.codes for code in group]
    for rule in RULES:
        if prefixes and not any(rule.code.startswith(p) for p in prefixes):
            continue
        print(f"{rule.code} ({rule.name}): {rule.what}", file=out)
        print(f"  why: {rule.why}", file=out)
        print(f"  fix: {rule.fix}", file=out)
    return EXIT_OK


def _run_migrate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        from taskwise._cli import _migrate
    except ImportError as exc:
        if not (exc.name or "").startswith("libcst"):
            raise
        print(_MISSING_LIBCST, file=err)
        return EXIT_USAGE
    return _migrate.run(
        args.paths,
        write=args.write,
        spawn_dangling=args.spawn_dangling,
        out=out,
        err=err,
        min_python=args.min_python,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``taskwise`` command line and return its exit status.

    >>> main(["rules", "TW102"])  # doctest: +ELLIPSIS
    TW102 (dangling-task): ...
    0
    """
    out, err = sys.stdout, sys.stderr
    args = _build_parser().parse_args(argv)  # exits with status 2 on usage errors
    if args.command == "rules":
        return _run_rules(args, out)
    if _missing_paths(args.paths, err):
        return EXIT_USAGE
    if args.command == "audit":
        return _run_audit(args, out, err)
    return _run_migrate(args, out, err)

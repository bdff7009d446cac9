"""The whole test suite on every Python from 3.10 to 3.13: run it with `bash scripts/test`.

Sessions:
    tests-3.10 .. tests-3.13  pytest (default loop, uvloop, eager factory) with branch coverage;
                              the 3.13 leg runs with PYTHONASYNCIODEBUG=1
    coverage                  combines the legs' data and enforces 95% branch coverage
    lint                      ruff (lint and format) and mypy --strict on src/
"""

from __future__ import annotations

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = True
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests", "coverage"]

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
PYPROJECT = nox.project.load_toml("pyproject.toml")


def group(name: str) -> list[str]:
    return nox.project.dependency_groups(PYPROJECT, name)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run pytest against the installed package, collecting branch coverage."""
    session.install(".", *group("test"))
    env = {"COVERAGE_FILE": f".coverage.{session.python}"}
    if session.python == PYTHONS[-1]:
        env["PYTHONASYNCIODEBUG"] = "1"  # one leg with asyncio's debug mode
    session.run("coverage", "run", "-m", "pytest", *session.posargs, env=env)


@nox.session(python=PYTHONS[-1])
def coverage(session: nox.Session) -> None:
    """Combine the coverage of every leg; fail below 95% branch coverage."""
    session.install("coverage[toml]>=7.6")
    session.run("coverage", "combine")  # every .coverage.<python>.* the legs wrote
    session.run("coverage", "report")


@nox.session(python=PYTHONS[-1])
def lint(session: nox.Session) -> None:
    """Ruff and mypy --strict on the source."""
    session.install("-e", ".[migrate]", *group("lint"), "mypy>=1.13", "exceptiongroup")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    for target in ("3.10", "3.13"):  # version branches are checked both ways
        session.run("mypy", "--python-version", target)

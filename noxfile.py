"""The whole test suite on every Python from 3.10 to 3.13: run it with `bash scripts/test`.

Sessions:
    tests-3.10 .. tests-3.13  pytest (default loop, uvloop, eager factory) with branch coverage;
                              the 3.13 leg runs with PYTHONASYNCIODEBUG=1
    coverage                  combines the legs' data and enforces 95% branch coverage
    lint                      ruff (lint and format) and mypy --strict on src/ for 3.10 and 3.13
    typing-3.10 .. typing-3.13  stubtest against a freshly built wheel; the 3.13 leg also runs
                              the type tests (mypy, pyright, basedpyright, ty, pyrefly),
                              --verifytypes, and mypy and pyright on the docs' examples
    bench-3.10 .. bench-3.13  a smoke run of the benchmarks (`-- --save` for the full run)
    docs                      builds the documentation site in strict mode (`-- serve` to preview)

On a machine without some of these Pythons, `bash scripts/test` names the missing ones and sets
TASKWISE_PYTHONS to the others: only their sessions exist then, and the single-Python sessions
run on the newest of them. Under CI (CI=true) it requires all four.
"""

from __future__ import annotations

import os

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = True
nox.options.download_python = "never"  # the machine's Pythons, never a downloaded one
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests", "coverage", "typing", "bench", "docs"]

ALL_PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
# scripts/test sets TASKWISE_PYTHONS to those of ALL_PYTHONS installed here, and names the
# others; the single-Python sessions then run on the newest one found. Unset: all four.
FOUND = os.environ.get("TASKWISE_PYTHONS", "").split() or ALL_PYTHONS
PYTHONS = [v for v in ALL_PYTHONS if v in FOUND]
PYPROJECT = nox.project.load_toml("pyproject.toml")


def group(name: str) -> list[str]:
    return nox.project.dependency_groups(PYPROJECT, name)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run pytest against the installed package, collecting branch coverage."""
    from pathlib import Path

    session.install(".", *group("test"))
    for stale in Path().glob(f".coverage.{session.python}*"):  # an earlier, interrupted run's
        stale.unlink()
    env = {"COVERAGE_FILE": f".coverage.{session.python}"}
    if session.python == PYTHONS[-1]:
        env["PYTHONASYNCIODEBUG"] = "1"  # one leg with asyncio's debug mode
    session.run("coverage", "run", "-m", "pytest", *session.posargs, env=env)


@nox.session(python=PYTHONS[-1])
def coverage(session: nox.Session) -> None:
    """Combine the coverage of every leg; fail below 95% branch coverage."""
    session.install("coverage[toml]>=7.6")
    session.run("coverage", "combine")  # every .coverage.<python>.* the legs wrote
    if PYTHONS == ALL_PYTHONS:
        session.run("coverage", "report")
    else:  # each Python covers its own version branches: the threshold needs every leg
        skipped = ", ".join(v for v in ALL_PYTHONS if v not in PYTHONS)
        session.log(f"not enforcing fail_under: the legs for Python {skipped} did not run")
        session.run("coverage", "report", "--fail-under=0")


@nox.session(python=PYTHONS[-1])
def lint(session: nox.Session) -> None:
    """Ruff and mypy --strict on the source."""
    # pytest: the pytest plugin (taskwise.integrations.pytest_plugin) is type-checked too.
    session.install(
        "-e", ".[migrate,otel]", *group("lint"), "mypy>=1.13", "exceptiongroup", "pytest>=8.3"
    )
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    for target in ("3.10", "3.13"):  # version branches are checked both ways
        session.run("mypy", "--python-version", target)


@nox.session(python=PYTHONS)
def typing(session: nox.Session) -> None:
    """The shipped stubs, checked as users see them: through a wheel built here.

    Every leg runs stubtest (the stubs against this Python's runtime). The last leg also
    type-checks the stubs themselves, runs the type tests (tests/typing, copied outside the
    source tree, so only the installed wheel is seen) under mypy, pyright, basedpyright, ty and
    pyrefly for Python 3.10 and 3.13, requires 100% type completeness from pyright
    --verifytypes, and type-checks every Python example of the README and docs/ (mypy --strict,
    pyright strict; scripts/doc_examples.py).
    """
    import shutil
    from pathlib import Path

    root = Path.cwd()
    tmp = Path(session.create_tmp()).resolve()
    dist = tmp / "dist"
    shutil.rmtree(dist, ignore_errors=True)  # never install a wheel left by an earlier run
    session.install("hatchling>=1.26")
    session.run("hatchling", "build", "--target", "wheel", "--directory", str(dist))
    (wheel,) = dist.glob("taskwise-*.whl")
    last = session.python == PYTHONS[-1]
    # The other legs need mypy for stubtest, and pytest: stubtest imports the pytest plugin.
    tools = (
        group("typing")
        if last
        else [r for r in group("typing") if r.startswith(("mypy", "pytest"))]
    )
    # The version number does not change between builds: force the fresh wheel in.
    force = "--reinstall-package=taskwise" if session.venv_backend == "uv" else "--force-reinstall"
    # [migrate,otel]: stubtest imports every module, the codemod's and the integrations' too.
    session.install(force, f"taskwise[migrate,otel] @ {wheel.as_uri()}", *tools)

    env = {"PYRIGHT_PYTHON_IGNORE_WARNINGS": "1", "MYPY_CACHE_DIR": str(tmp / "mypy-cache")}
    allowlist = root / "stubs" / "stubtest-allowlist.txt"
    with session.chdir(tmp):  # away from src/: only the installed wheel is importable
        session.run(
            "python", "-m", "mypy.stubtest", "taskwise", "--allowlist", str(allowlist), env=env
        )
    if not last:
        return

    with session.chdir(root / "stubs"):  # the stubs themselves, strict
        for target in ("3.10", "3.13"):
            session.run("mypy", "--strict", "--python-version", target, "-p", "taskwise", env=env)
            session.run("pyright", "--pythonversion", target, env=env)

    work = tmp / "typing-tests"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(root / "tests" / "typing", work)
    checks = sorted(path.name for path in work.glob("check_*.py"))
    with session.chdir(work):  # a user's project: its own configs, no src/ in sight
        for target in ("3.10", "3.13"):
            session.run("mypy", "--python-version", target, ".", env=env)
            session.run("pyright", "--pythonversion", target, env=env)
            session.run("basedpyright", "--pythonversion", target, env=env)
            # ty calls an ignore in a branch that is dead for the target unused (mypy and
            # pyright do not): only the 3.10 run, where every expected error is live, checks
            # ty's ignores. The files are named: ty passes when it finds none.
            dead = [] if target == "3.10" else ["--ignore", "unused-ignore-comment"]
            session.run("ty", "check", "--python-version", target, *dead, *checks, env=env)
            session.run("pyrefly", "check", "--python-version", target, env=env)
        session.run("pyright", "--verifytypes", "taskwise", "--ignoreexternal", env=env)

    # Every ```python example of README.md and docs/**/*.md, as a module of its own, checked as
    # a user's code is: an example that runs can still fail its reader's type checker.
    examples = tmp / "doc-examples"
    shutil.rmtree(examples, ignore_errors=True)
    session.run("python", str(root / "scripts" / "doc_examples.py"), str(examples))
    with session.chdir(examples):
        for target in ("3.10", "3.13"):
            session.run("mypy", "--python-version", target, ".", env=env)
            session.run("pyright", "--pythonversion", target, env=env)


@nox.session(python=PYTHONS)
def bench(session: nox.Session) -> None:
    """The benchmarks: a smoke run of a few seconds by default (it checks nothing but that
    every case runs); `-- --save` for the full run behind docs/performance.md."""
    session.install(".", *group("bench"))
    session.run("python", "benchmarks/bench.py", *(session.posargs or ["--quick"]))
    quick = [] if "--save" in session.posargs else ["--quick"]
    session.run("python", "benchmarks/soak.py", *quick)


@nox.session(python=PYTHONS[-1])
def docs(session: nox.Session) -> None:
    """Build the site into site/ in strict mode: any warning fails it, a broken link or anchor
    among them. The API reference is read from the installed package, stubs included.
    `-- serve` previews it at http://127.0.0.1:8000 instead."""
    # Always the code of this checkout (uv would keep an installed copy of the same version).
    force = "--reinstall-package=taskwise" if session.venv_backend == "uv" else "--force-reinstall"
    session.install(force, ".", *group("docs"))
    # Material prints a notice about the future of MkDocs on every build; the choice of
    # builder is explained in pyproject.toml and mkdocs.yml.
    env = {"NO_MKDOCS_2_WARNING": "1"}
    if session.posargs[:1] == ["serve"]:
        session.run("properdocs", "serve", "-f", "mkdocs.yml", *session.posargs[1:], env=env)
        return
    session.run("properdocs", "build", "--strict", "--clean", "-f", "mkdocs.yml", env=env)

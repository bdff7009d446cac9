"""Tests of the ``taskwise migrate`` codemod (needs libcst)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

pytest.importorskip("libcst")

from hypothesis import given, settings
from hypothesis import strategies as st

from taskwise._cli._audit import SourceError
from taskwise._cli._migrate import migrate_source, unified_diff, write_atomic

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "audit_fixtures" / "migrate"
CASES = sorted(p for p in FIXTURES.glob("*.py.txt") if not p.name.endswith(".expected.py.txt"))


def _name(path: Path) -> str:
    return path.name.removesuffix(".py.txt")


def _compiles(text: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compile(text, "<migrated>", "exec")


@pytest.mark.parametrize("source", CASES, ids=_name)
def test_rewrite_golden_files(source: Path) -> None:
    name = _name(source)
    result = migrate_source(
        source.read_text(encoding="utf-8"),
        path=name + ".py",
        spawn_dangling=name.startswith("spawn_"),
    )
    expected = source.with_name(name + ".expected.py.txt").read_text(encoding="utf-8")
    review = source.with_name(name + ".review").read_text(encoding="utf-8")
    assert result.text == expected
    assert "".join(f.format() + "\n" for f in result.review) == review
    _compiles(result.text)


@pytest.mark.parametrize("source", CASES, ids=_name)
def test_second_run_changes_nothing(source: Path) -> None:
    name = _name(source)
    spawn = name.startswith("spawn_")
    once = migrate_source(source.read_text(encoding="utf-8"), spawn_dangling=spawn).text
    assert migrate_source(once, spawn_dangling=spawn).text == once


def test_unparsable_by_libcst_is_an_error() -> None:
    with pytest.raises(SourceError, match=r"asyncio\.async"):
        migrate_source("import asyncio\nasyncio.async(f())\n")
    with pytest.raises(SourceError, match="syntax error"):
        migrate_source("def f(:\n")


def test_libcst_parse_failure_after_ast_success(monkeypatch: pytest.MonkeyPatch) -> None:
    import libcst

    def refuse(source: str) -> libcst.Module:
        raise libcst.ParserSyntaxError("boom", lines=["x"], raw_line=1, raw_column=0)

    monkeypatch.setattr(libcst, "parse_module", refuse)
    with pytest.raises(SourceError, match=r"libcst cannot parse it \(line 1: boom\)"):
        migrate_source("import asyncio\nasync def f():\n    asyncio.get_event_loop()\n")


def test_unified_diff_marks_missing_final_newline() -> None:
    diff = unified_diff("a\nb", "a\nc", "x.py")
    assert diff.startswith("--- a/x.py\n+++ b/x.py\n")
    assert "\\ No newline at end of file\n" in diff


def test_write_atomic_keeps_mode_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "m.py"
    target.write_bytes(b"old\n")
    target.chmod(0o640)
    write_atomic(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert target.stat().st_mode & 0o777 == 0o640

    def fail(src: str, dst: str) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk on fire"):
        write_atomic(target, b"newer\n")
    assert target.read_bytes() == b"new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["m.py"]


# --------------------------------------------------------------------------- property test

_IMPORTS = st.sampled_from(
    [
        "import asyncio\n",
        "import asyncio as asyncio\n",
        "from asyncio import ensure_future, get_event_loop, create_task\nimport asyncio\n",
        "from asyncio import ensure_future, get_event_loop, create_task\n",
    ]
)
_STATEMENTS = st.sampled_from(
    [
        "ensure_future(work())",
        "t = ensure_future(work())",
        "ensure_future(work(), loop=loop)",
        "x = ensure_future(fut)",
        "ensure_future(self.method())",
        "loop = get_event_loop()",
        "create_task(work())",
        "create_task(work(), name='n')",
        "y = [ensure_future(work()) for _ in range(2)]",
        "z = (get_event_loop() for _ in range(2))",
        "f = lambda: ensure_future(work())",
        "await asyncio.sleep(0)",
        "pass",
    ]
)
_PREFIXES = st.sampled_from(["", "asyncio."])


@st.composite
def _programs(draw: st.DrawFn) -> str:
    header = draw(_IMPORTS)
    lines = [header, "async def work():\n    return 1\n\n", "class C:\n"]
    for kind in ("async def", "def"):
        lines.append(f"    {kind} method(self, loop, fut):\n")
        for template in draw(st.lists(_STATEMENTS, min_size=1, max_size=6)):
            if kind == "def" and template.startswith("await"):
                template = "pass"
            prefix = draw(_PREFIXES)
            if "from asyncio" not in header:
                prefix = "asyncio."
            statement = (
                template.replace("ensure_future(", prefix + "ensure_future(")
                .replace("get_event_loop(", prefix + "get_event_loop(")
                .replace("create_task(", prefix + "create_task(")
            )
            lines.append(f"        {statement}\n")
    return "".join(lines)


@settings(max_examples=60, deadline=None)
@given(_programs(), st.booleans())
def test_rewritten_programs_still_compile_and_are_stable(program: str, spawn: bool) -> None:
    _compiles(program)
    once = migrate_source(program, spawn_dangling=spawn).text
    _compiles(once)
    assert migrate_source(once, spawn_dangling=spawn).text == once


# --------------------------------------------------------------------------- the legacy project


def _run(script: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, check=False
    )


def _has_spawn() -> bool:
    import taskwise

    return callable(getattr(taskwise, "spawn", None))


@pytest.mark.parametrize("spawn", [False, True], ids=["default", "spawn-dangling"])
def test_migrated_legacy_project_behaves_the_same(tmp_path: Path, spawn: bool) -> None:
    if spawn and not _has_spawn():
        pytest.skip("taskwise.spawn is not available in this checkout")
    from taskwise._cli import main

    project = tmp_path / "legacy"
    shutil.copytree(ROOT / "examples" / "legacy", project)
    before = _run(project / "main.py")
    assert before.returncode == 0, before.stderr
    argv = ["migrate", "--write", str(project)] + (["--spawn-dangling"] if spawn else [])
    assert main(argv) == 1  # py34_compat.py cannot be parsed and is reported
    jobs = (project / "jobs.py").read_text(encoding="utf-8")
    assert "get_running_loop()" in jobs
    assert ("taskwise.spawn(self._handle(job))" in jobs) is spawn
    after = _run(project / "main.py")
    assert after.returncode == 0, after.stderr
    assert after.stdout == before.stdout
    assert main(["migrate", str(project)] + (["--spawn-dangling"] if spawn else [])) == 1

"""Tests of the ``taskwise migrate`` codemod (needs libcst)."""

from __future__ import annotations

import asyncio
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


# --------------------------------------------------------------------------- issue 12

PY36 = sorted(Path.home().glob(".pyenv/versions/3.6*/bin/python3.6"))


def _project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def _migrate(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from taskwise._cli import main

    status = main(["migrate", *argv])
    out, err = capsys.readouterr()
    return status, out, err


CLIENT = """\
import asyncio


class Client:
    def __init__(self, loop=None): self._loop = loop
    async def _run(self): return 42
    def start(self): return asyncio.ensure_future(self._run(), loop=self._loop)
"""


def test_item1_a_loop_that_may_be_none_is_listed_not_rewritten() -> None:
    result = migrate_source(CLIENT, path="client.py")
    assert result.text == CLIENT
    (entry,) = [f for f in result.review if f.code == "TW101"]
    assert entry.message.startswith(
        "`asyncio.ensure_future(self._run(), loop=self._loop)` not rewritten: `self._loop` is "
        "not provably an event loop; when it is None, ensure_future uses the current loop"
    )
    namespace: dict[str, object] = {}
    exec(compile(result.text, "client.py", "exec"), namespace)

    async def main() -> object:
        return await namespace["Client"]().start()  # type: ignore[operator]

    assert asyncio.run(main()) == 42  # what the old rewrite broke with AttributeError


def test_item1_a_local_loop_from_a_loop_getter_is_rewritten() -> None:
    text = (
        "import asyncio\n"
        "async def work():\n    return 1\n"
        "def start():\n    loop = asyncio.new_event_loop()\n"
        "    return loop, asyncio.ensure_future(work(), loop=loop)\n"
    )
    result = migrate_source(text)
    assert "    return loop, loop.create_task(work())\n" in result.text
    assert [f.code for f in result.review] == []


REBOUND = """\
import asyncio


class Worker:
    def __init__(self, done=False):
        if done:
            self.run = self._already_done

    async def run(self):
        return "ran"

    def _already_done(self):
        future = asyncio.get_running_loop().create_future()
        future.set_result("done")
        return future

    async def start(self):
        return await asyncio.ensure_future(self.run())
"""


def test_item2_a_method_rebound_in_init_is_not_trusted() -> None:
    result = migrate_source(REBOUND)
    assert "asyncio.ensure_future(self.run())" in result.text
    namespace: dict[str, object] = {}
    exec(compile(result.text, "worker.py", "exec"), namespace)
    worker = namespace["Worker"](done=True)  # type: ignore[operator]
    assert asyncio.run(worker.start()) == "done"  # create_task(Future) would raise TypeError


def test_item2_a_method_rebound_at_module_level_or_elsewhere_is_not_trusted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = REBOUND.replace("            self.run = self._already_done", "            pass")
    assert "create_task(self.run())" in migrate_source(plain).text  # the control
    here = (
        plain
        + "\n\ndef compat_run(self):\n    return self._already_done()\n\n\nWorker.run = compat_run\n"
    )
    assert "asyncio.ensure_future(self.run())" in migrate_source(here).text
    project = _project(
        tmp_path,
        {
            "pyproject.toml": '[project]\nrequires-python = ">=3.10"\n',
            "worker.py": plain,
            "compat.py": "from worker import Worker\nWorker.run = Worker._already_done\n",
        },
    )
    status, _, _ = _migrate(["--write", str(project)], capsys)
    assert status == 0
    assert "asyncio.ensure_future(self.run())" in (project / "worker.py").read_text()


BLACK_INPUT = """\
import asyncio


class Worker:
    async def _run(self):
        return 42

    def start(self):
        loop = asyncio.new_event_loop()
        return asyncio.ensure_future(
            self._run(),  # main loop of the worker
            loop=loop,  # NB: must be the worker's own loop
        )

    def start_again(self):
        loop = asyncio.new_event_loop()
        task = asyncio.ensure_future(
            self._run(),
            loop=loop,
        )
        return task
"""

BLACK_OUTPUT = """\
import asyncio


class Worker:
    async def _run(self):
        return 42

    def start(self):
        loop = asyncio.new_event_loop()
        return loop.create_task(
            self._run(),  # main loop of the worker
            # NB: must be the worker's own loop
        )

    def start_again(self):
        loop = asyncio.new_event_loop()
        task = loop.create_task(
            self._run(),
        )
        return task
"""


def test_item3_comments_and_layout_inside_the_call_survive() -> None:
    assert migrate_source(BLACK_INPUT).text == BLACK_OUTPUT


def test_item3_black_formatted_input_stays_black_formatted() -> None:
    black = pytest.importorskip("black")
    mode = black.Mode()
    assert black.format_str(BLACK_INPUT, mode=mode) == BLACK_INPUT
    output = migrate_source(BLACK_INPUT).text
    assert black.format_str(output, mode=mode) == output


def test_item4_a_name_other_modules_import_is_not_deleted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(
        tmp_path,
        {
            "pyproject.toml": '[project]\nrequires-python = ">=3.10"\n',
            "compat.py": (
                "from asyncio import ensure_future\n\n\nasync def work():\n    return 1\n\n\n"
                "async def start():\n    return await ensure_future(work())\n"
            ),
            "other.py": "from compat import ensure_future\n\nprint(ensure_future.__name__)\n",
        },
    )
    status, _, err = _migrate(["--write", str(project)], capsys)
    assert status == 0
    compat = (project / "compat.py").read_text(encoding="utf-8")
    assert "return await create_task(work())" in compat
    done = subprocess.run(
        [sys.executable, "-c", "import other"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ensure_future\n"
    assert (
        "compat.py:1:1: note `ensure_future` (`asyncio.ensure_future`) is kept imported although "
        "the rewrite left it unused here: this module has no `__all__`" in err
    )


def test_item4_an_unused_import_goes_only_when_all_leaves_it_out_and_nobody_imports_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = (
        '__all__ = ["start"]\nfrom asyncio import ensure_future\n\n\nasync def work():\n'
        "    return 1\n\n\nasync def start():\n    return await ensure_future(work())\n"
    )
    files = {"pyproject.toml": '[project]\nrequires-python = ">=3.10"\n', "compat.py": module}
    project = _project(tmp_path / "alone", files)
    assert _migrate(["--write", str(project)], capsys)[0] == 0
    assert "ensure_future" not in (project / "compat.py").read_text(encoding="utf-8")
    files["user.py"] = "import compat\nprint(compat.ensure_future)\n"
    project = _project(tmp_path / "imported", files)
    assert _migrate(["--write", str(project)], capsys)[0] == 0
    assert "import ensure_future" in (project / "compat.py").read_text(encoding="utf-8")
    exported = module.replace('["start"]', '["start", "ensure_future"]')
    result = migrate_source(exported)
    assert "from asyncio import ensure_future\n" in result.text
    assert "this module's `__all__` exports it" in result.notes[0].message
    still_used = module + "\n\ndef later():\n    return ensure_future\n"
    assert migrate_source(still_used).notes == []


OLD_PROJECT = {
    "pyproject.toml": '[project]\nname = "old"\nrequires-python = "~=3.6"\n',
    "oldlib.py": """\
import asyncio


async def work(log):
    log.append("worked")
    return 42


async def fetch(log):
    loop = asyncio.get_event_loop()
    task = asyncio.ensure_future(work(log))
    asyncio.ensure_future(work(log))
    asyncio.get_event_loop().create_task(work(log))
    return loop.is_running(), await task


def start(log):
    loop = asyncio.new_event_loop()
    return loop, asyncio.ensure_future(work(log), loop=loop)
""",
    "test_oldlib.py": """\
import asyncio

import oldlib


def test():
    log = []
    loop = asyncio.get_event_loop()
    assert loop.run_until_complete(oldlib.fetch(log)) == (True, 42)
    own, task = oldlib.start(log)
    assert own.run_until_complete(task) == 42
    own.close()
    assert log.count("worked") >= 3, log


if __name__ == "__main__":
    test()
    print("ok")
""",
}


def test_item5_nothing_the_projects_oldest_python_cannot_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path, OLD_PROJECT)
    status, _, err = _migrate(["--write", "--spawn-dangling", str(project)], capsys)
    assert status == 0
    text = (project / "oldlib.py").read_text(encoding="utf-8")
    assert "loop.create_task(work(log))" in text  # needs nothing newer than 3.4
    assert "get_running_loop" not in text
    assert "asyncio.create_task" not in text
    assert "taskwise" not in text
    assert (
        "oldlib.py:10:12: TW202 `asyncio.get_event_loop()` not rewritten: "
        "`asyncio.get_running_loop` needs Python 3.7, and this code may run on Python 3.6 "
        '(requires-python "~=3.6" in pyproject.toml)'
    ) in err
    assert (
        "oldlib.py:12:5: TW102 `asyncio.ensure_future(work(log))` not rewritten: "
        "`taskwise.spawn` needs Python 3.10, and this code may run on Python 3.6"
    ) in err
    assert (
        "Held back 5 rewrites needing a newer Python than the oldest one supported, "
        f'Python 3.6 (requires-python "~=3.6" in pyproject.toml of {project.resolve()})'
    ) in err
    if not PY36:
        pytest.skip("no Python 3.6 in ~/.pyenv/versions to run the migrated project's test")
    done = subprocess.run(
        [str(PY36[0]), "test_oldlib.py"], cwd=project, capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr


def test_item5_version_checks_raise_the_floor_inside_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "import asyncio, sys\n"
        "async def f():\n"
        "    if sys.version_info >= (3, 7):\n        return asyncio.get_event_loop()\n"
        "    if sys.version_info < (3, 7):\n        return asyncio.get_event_loop()\n"
        "    if sys.version_info < (3, 5):\n        return asyncio.get_event_loop()\n"
        "    return asyncio.get_event_loop()\n"
    )
    files = {"setup.py": "from setuptools import setup\nsetup(python_requires='>=3.6')\n"}
    project = _project(tmp_path, {**files, "mod.py": text})
    status, _, err = _migrate(["--write", str(project)], capsys)
    assert status == 0
    lines = (project / "mod.py").read_text(encoding="utf-8").splitlines()
    assert [line.strip() for line in lines if "return" in line] == [
        "return asyncio.get_running_loop()",
        "return asyncio.get_event_loop()",
        "return asyncio.get_event_loop()",
        "return asyncio.get_event_loop()",
    ]
    assert (
        "mod.py:8:16: TW202 `asyncio.get_event_loop()` not rewritten: a version check keeps" in err
    )
    assert "--min-python 3.8" not in err
    (project / "mod.py").write_text(text, encoding="utf-8")
    assert _migrate(["--write", "--min-python", "3.7", str(project)], capsys)[0] == 0
    assert (project / "mod.py").read_text(encoding="utf-8").count("get_running_loop") == 2


def test_item5_an_undeclared_python_is_assumed_old_and_said_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "import asyncio\nasync def f():\n    return asyncio.get_event_loop()\n"
    project = _project(tmp_path, {"mod.py": text})
    status, out, err = _migrate([str(project)], capsys)
    assert (status, out) == (0, "")
    assert (
        "this code may run on Python 3.4 (assumed: no project file declares the Pythons it "
        "supports)"
    ) in err
    assert "declare requires-python or pass --min-python" in err


PATCHING_TEST = """\
import asyncio
from unittest import mock

import jobs

TARGET = "jobs.work"

@mock.patch("asyncio.ensure_future")
def test_start(ensure_future):
    jobs.start()


def test_other(monkeypatch):
    monkeypatch.setattr(asyncio, "sleep", print)
    mock.patch(TARGET)
    monkeypatch.setattr(asyncio, "ensure_future", print)
    with mock.patch.object(asyncio, "get_event_loop"):
        pass
"""


def test_item6_tests_that_patch_ensure_future_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = "import asyncio\nasync def work():\n    pass\nasync def start():\n    return asyncio.ensure_future(work())\n"
    project = _project(
        tmp_path,
        {
            "pyproject.toml": '[project]\nrequires-python = ">=3.10"\n',
            "jobs.py": jobs,
            "tests/test_jobs.py": PATCHING_TEST,
        },
    )
    status, _, err = _migrate([str(project)], capsys)
    assert status == 1
    test_file = project / "tests" / "test_jobs.py"
    assert (
        f"{test_file}:8:2: TW101 this test patches `asyncio.ensure_future`; once the code under "
        "test is migrated it no longer calls `ensure_future`, so the patch intercepts nothing"
    ) in err
    assert f"{test_file}:16:5: TW101 this test patches `ensure_future`" in err
    assert "test_jobs.py:17" not in err  # get_event_loop was not rewritten anywhere
    (project / "jobs.py").write_text("x = 1\n", encoding="utf-8")
    assert "this test patches" not in _migrate([str(project)], capsys)[2]


def test_item10_libcst_parses_only_files_with_something_to_rewrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from taskwise._cli import _migrate as migrate_module

    files = {f"clean{index}.py": "import asyncio\nx = 1\n" * 50 for index in range(5)}
    files["review_only.py"] = "import asyncio\nasyncio.get_event_loop()\n"
    files["target.py"] = "import asyncio\nasync def f():\n    asyncio.get_event_loop()\n"
    files["pyproject.toml"] = '[project]\nrequires-python = ">=3.10"\n'
    project = _project(tmp_path, files)
    before = migrate_module.parse_count
    status, out, err = _migrate([str(project)], capsys)
    assert status == 1
    assert migrate_module.parse_count - before == 1
    assert "+    asyncio.get_running_loop()\n" in out
    assert "review_only.py:2:1: TW203" in err
    assert err.endswith(
        "1 file would be rewritten; rerun with --write to apply (7 files scanned), "
        "1 place to review (TW203: 1)\n"
    )


def test_item10_review_entries_are_one_line_with_the_call_as_written() -> None:
    text = (
        "import asyncio\n"
        "def f(loop):\n"
        "    return asyncio.ensure_future(\n"
        "        make(  # a comment\n            1,\n        ),\n"
        "        loop=loop,\n    )\n"
    )
    review = migrate_source(text).review
    (entry,) = [f for f in review if f.code == "TW101"]
    assert "\n" not in entry.format()
    assert entry.message.startswith(
        "`asyncio.ensure_future(make(1), loop=loop)` not rewritten: `make(1)` is not provably"
    )
    long = "import asyncio\nasync def f():\n    asyncio.ensure_future(g(" + "x, " * 40 + "))\n"
    (entry,) = [f for f in migrate_source(long).review if f.code == "TW101"]
    assert entry.message.startswith("`asyncio.ensure_future(g(x, x, x,")
    assert " ...` not rewritten" in entry.message


def test_item10_the_printed_diff_applies_with_git_apply_and_patch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git = shutil.which("git")
    if git is None:  # pragma: no cover - git is everywhere the tests run
        pytest.skip("git is not installed")
    repo = _project(
        tmp_path / "repo",
        {
            "pyproject.toml": '[project]\nrequires-python = ">=3.10"\n',
            "pkg/mod.py": "import asyncio\nasync def f():\n    return asyncio.get_event_loop()\n",
        },
    )
    subprocess.run([git, "init", "-q", str(repo)], check=True)
    monkeypatch.chdir(repo)
    status, out, _ = _migrate([str(repo / "pkg")], capsys)  # an absolute path on the command line
    assert status == 1
    assert out.startswith("--- a/pkg/mod.py\n+++ b/pkg/mod.py\n")
    (tmp_path / "change.diff").write_text(out, encoding="utf-8")
    done = subprocess.run(
        [git, "apply", "--check", str(tmp_path / "change.diff")],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    patch = shutil.which("patch")
    if patch is not None:
        done = subprocess.run(
            [patch, "-p1", "--dry-run", "-i", str(tmp_path / "change.diff")],
            cwd=repo,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            "import asyncio\n\nimport aiohttp\n\nfrom . import util\n",
            "import asyncio\n\nimport aiohttp\nimport taskwise\n\nfrom . import util\n",
        ),
        (
            "import asyncio\n\nimport aiohttp\nimport yarl\n\nfrom . import util\n",
            "import asyncio\n\nimport aiohttp\nimport taskwise\nimport yarl\n\nfrom . import util\n",
        ),
        (
            "import asyncio\n\nimport zzz\n",
            "import asyncio\n\nimport taskwise\nimport zzz\n",
        ),
        (
            '"""Doc."""\nimport asyncio\nfrom . import util\n',
            '"""Doc."""\nimport asyncio\n\nimport taskwise\n\nfrom . import util\n',
        ),
        (
            "try:\n    import asyncio\nexcept ImportError:\n    raise\n",
            "import taskwise\ntry:\n    import asyncio\nexcept ImportError:\n    raise\n",
        ),
        ("import asyncio\n", "import asyncio\n\nimport taskwise\n"),
        (
            "from __future__ import annotations\nimport asyncio\nfrom aiohttp import web\n",
            "from __future__ import annotations\nimport asyncio\nfrom aiohttp import web\n"
            "import taskwise\n",
        ),
        (
            "from . import util\ntry:\n    import asyncio\nexcept ImportError:\n    raise\n",
            "import taskwise\n\nfrom . import util\ntry:\n    import asyncio\n"
            "except ImportError:\n    raise\n",
        ),
    ],
)
def test_item10_import_taskwise_goes_with_the_third_party_imports(
    header: str, expected: str
) -> None:
    body = "\n\nasync def f():\n    asyncio.create_task(f())\n"
    result = migrate_source(header + body, spawn_dangling=True)
    assert result.text == expected + body.replace("asyncio.create_task", "taskwise.spawn")
    assert result.added_taskwise


def test_item10_first_party_imports_come_after_taskwise(tmp_path: Path) -> None:
    (tmp_path / "mylib").mkdir()
    text = "import asyncio\nimport mylib\n\n\nasync def f():\n    asyncio.create_task(f())\n"
    result = migrate_source(text, spawn_dangling=True, first_party=[tmp_path / "no", tmp_path])
    assert result.text.startswith("import asyncio\n\nimport taskwise\n\nimport mylib\n")


def test_migrate_reports_a_file_python_cannot_parse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path, {"old.py": "o.async(1)\n"})
    status, _, err = _migrate([str(project)], capsys)
    assert status == 1
    assert "old.py: cannot migrate, left unchanged: it uses `async` as a name" in err


def test_calls_through_aliases_and_reexports_are_listed_not_rewritten() -> None:
    text = (
        "import asyncio\n"
        "from mylib.compat import asyncio as compat\n"
        "_wrap = asyncio.ensure_future\n"
        "async def work():\n    return 1\n"
        "async def main():\n"
        "    t = _wrap(work())\n"
        "    compat.get_event_loop()\n"
        "    compat.create_task(work())\n"
        "    u = asyncio.ensure_future(compat.sleep(1))\n"
        "    return t, u\n"
    )
    result = migrate_source(text, spawn_dangling=True)
    assert result.text == text
    messages = {(f.line, f.code): f.message for f in result.review}
    assert messages[(7, "TW101")].startswith(
        "`_wrap(work())` not rewritten: it calls through the alias `_wrap` "
        "(`asyncio.ensure_future`)"
    )
    assert (
        "`compat` is imported from `mylib.compat`, which may be a compatibility shim"
        in (messages[(8, "TW202")])
    )
    assert messages[(9, "TW102")].startswith("`compat.create_task(work())` not rewritten: `compat`")
    assert "`compat.sleep(1)` is not provably a coroutine" in messages[(10, "TW101")]


def test_a_version_check_raises_the_floor_but_not_enough() -> None:
    from taskwise._cli._migrate import ProjectView
    from taskwise._cli._project import PythonFloor

    text = (
        "import asyncio, sys\n"
        "async def work():\n    return 1\n"
        "async def main():\n"
        "    if sys.version_info >= (3, 8):\n"
        "        asyncio.create_task(work())\n"
        "    asyncio.create_task(work())\n"
    )
    view = ProjectView(PythonFloor((3, 6), 'requires-python ">=3.6" in setup.cfg'))
    result = migrate_source(text, spawn_dangling=True, view=view)
    assert result.text == text
    assert result.held_back == 2
    messages = [f.message for f in result.review]
    assert (
        "needs Python 3.10, and this code may run on Python 3.8 (as its version check allows)"
        in (messages[0])
    )
    assert 'this code may run on Python 3.6 (requires-python ">=3.6" in setup.cfg)' in messages[1]


def test_a_dangling_ensure_future_on_a_loop_and_comment_lines_before_the_parenthesis() -> None:
    text = (
        "import asyncio\n"
        "async def work():\n    return 1\n"
        "def main():\n"
        "    loop = asyncio.new_event_loop()\n"
        "    asyncio.ensure_future(\n"
        "        work(),\n"
        "        loop=loop,\n"
        "\n"
        "        # the last word\n"
        "    )\n"
    )
    result = migrate_source(text)
    assert result.text.endswith(
        "    loop.create_task(\n        work(),\n\n        # the last word\n    )\n"
    )
    (entry,) = result.review
    assert entry.code == "TW102"
    assert "`loop.create_task(...)` is thrown away" in entry.message

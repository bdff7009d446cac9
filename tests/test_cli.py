"""Tests of the ``taskwise`` command line, in-process via ``main(argv)`` plus one subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from taskwise._cli import main

ROOT = Path(__file__).parent.parent
LEGACY_SOURCE = "import asyncio\n\nasync def f():\n    return asyncio.get_event_loop()\n"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    return env


PYPROJECT = '[project]\nname = "p"\nrequires-python = ">=3.10"\n'


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (tmp_path / "mod.py").write_text(LEGACY_SOURCE, encoding="utf-8")
    (tmp_path / "clean.py").write_text("x = 1\n", encoding="utf-8")
    return tmp_path


def test_audit_text_output_and_exit_status(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", str(project)]) == 1
    out, err = capsys.readouterr()
    assert (
        out == f"{project / 'mod.py'}:4:12: TW202 `asyncio.get_event_loop()` inside a "
        "coroutine; use `asyncio.get_running_loop()`\n"
    )
    assert err.startswith("1 problem in 1 file (2 files scanned); `taskwise rules CODE` explains")


def test_audit_clean_exits_0(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(project / "clean.py")]) == 0
    assert capsys.readouterr() == ("", "0 problems (1 file scanned)\n")


def test_audit_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "broken.py").write_text("def (:\n", encoding="utf-8")
    assert main(["audit", "--format", "json", str(project)]) == 1
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert [f["code"] for f in data["findings"]] == ["TW202"]
    assert data["errors"][0]["reason"].startswith("syntax error at line 1")
    assert data["files"] == 3
    assert "broken.py: cannot audit: syntax error" in err


def test_audit_select_and_ignore(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--select", "TW1", str(project)]) == 0
    assert main(["audit", "--ignore", "tw202,TW1", str(project)]) == 0
    assert main(["audit", "--select", "TW2", "--select", "TW101", str(project)]) == 1
    capsys.readouterr()


@pytest.mark.parametrize(
    "argv",
    [
        ["audit", "--select", "XX9", "."],
        ["audit"],
        [],
        ["audit", "--format", "xml", "."],
        ["frobnicate"],
        ["migrate", "--min-python", "3", "."],
        ["migrate", "--min-python", "three.eight", "."],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "usage: taskwise" in capsys.readouterr().err


def test_unknown_selector_message_lists_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["audit", "--ignore", "XX9", "."])
    assert "'XX9' matches no rule; use a code or a prefix of one (known: TW101" in (
        capsys.readouterr().err
    )


def test_missing_path_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(tmp_path / "nope")]) == 2
    assert main(["migrate", str(tmp_path / "nope")]) == 2
    assert "nope: no such file or directory" in capsys.readouterr().err


def test_rules_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "TW102"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("TW102 (dangling-task): ")
    assert "  why: " in out and "  fix: " in out
    assert main(["rules"]) == 0
    assert capsys.readouterr().out.count("  fix: ") >= 10


def test_migrate_diff_then_write(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mod = project / "mod.py"
    assert main(["migrate", str(project)]) == 1
    out, err = capsys.readouterr()
    assert "-    return asyncio.get_event_loop()\n+    return asyncio.get_running_loop()\n" in out
    assert (
        "1 file would be rewritten; rerun with --write to apply (2 files scanned), "
        "0 places to review"
    ) in err
    assert mod.read_text(encoding="utf-8") == LEGACY_SOURCE
    assert main(["migrate", "--write", str(project)]) == 0
    assert "get_running_loop" in mod.read_text(encoding="utf-8")
    assert "rewrote 1 file (2 files scanned), 0 places to review" in capsys.readouterr().err
    assert main(["migrate", str(project)]) == 0
    assert capsys.readouterr() == (
        "",
        "nothing to rewrite (2 files scanned), 0 places to review\n",
    )


def test_migrate_reports_review_and_unparsable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.py").write_text("import asyncio\nasyncio.ensure_future(f())\n", encoding="utf-8")
    (tmp_path / "b.py").write_text("def (:\n", encoding="utf-8")
    assert main(["migrate", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "b.py: cannot migrate, left unchanged: syntax error at line 1" in err
    assert "Needs review (left unchanged; line numbers are before rewriting):" in err
    assert "a.py:2:1: TW101 `asyncio.ensure_future(f())` not rewritten: `f()` is not" in err
    assert (
        "nothing to rewrite (2 files scanned), 2 places to review (TW101: 1, TW102: 1), "
        "1 file could not be processed"
    ) in err


def test_migrate_keeps_encoding_bom_and_newlines(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_text("[options]\npython_requires = >=3.7\n", encoding="utf-8")
    latin = tmp_path / "latin.py"
    latin.write_bytes(
        b"# -*- coding: latin-1 -*-\r\nimport asyncio\r\n\r\nasync def f():\r\n"
        b"    s = '\xe9t\xe9'\r\n    return asyncio.get_event_loop()\r\n"
    )
    bom = tmp_path / "bom.py"
    bom.write_bytes(
        b"\xef\xbb\xbffrom asyncio import ensure_future\n\nasync def g():\n    pass\n\n"
        b"async def f():\n    return ensure_future(g())  # caf\xc3\xa9\n"
    )
    assert main(["migrate", "--write", str(tmp_path)]) == 0
    assert latin.read_bytes() == (
        b"# -*- coding: latin-1 -*-\r\nimport asyncio\r\n\r\nasync def f():\r\n"
        b"    s = '\xe9t\xe9'\r\n    return asyncio.get_running_loop()\r\n"
    )
    assert bom.read_bytes() == (
        b"\xef\xbb\xbffrom asyncio import create_task, ensure_future\n\nasync def g():\n    pass\n\n"
        b"async def f():\n    return create_task(g())  # caf\xc3\xa9\n"
    )


def test_migrate_write_failure_is_reported(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(src: str, dst: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    assert main(["migrate", "--write", str(project)]) == 1
    assert "mod.py: cannot write, left unchanged: [Errno 13] Permission denied" in (
        capsys.readouterr().err
    )
    assert (project / "mod.py").read_text(encoding="utf-8") == LEGACY_SOURCE


def _forget_migrate(monkeypatch: pytest.MonkeyPatch) -> None:
    import taskwise._cli

    monkeypatch.delitem(sys.modules, "taskwise._cli._migrate", raising=False)
    monkeypatch.delattr(taskwise._cli, "_migrate", raising=False)


def test_migrate_without_libcst_explains_the_extra(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _forget_migrate(monkeypatch)
    monkeypatch.setitem(sys.modules, "libcst", None)
    assert main(["migrate", str(project)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "pip install 'taskwise[migrate]'" in err
    assert "Traceback" not in err
    assert main(["audit", str(project / "clean.py")]) == 0


def test_other_import_errors_are_not_hidden(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _forget_migrate(monkeypatch)
    monkeypatch.setitem(sys.modules, "difflib", None)
    with pytest.raises(ImportError, match="difflib"):
        main(["migrate", str(project)])


def test_version_option(capsys: pytest.CaptureFixture[str]) -> None:
    import taskwise

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"taskwise {taskwise.__version__}\n"


def test_python_dash_m_taskwise(project: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "taskwise", "audit", str(project)],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert done.returncode == 1
    assert "TW202" in done.stdout


def test_audit_does_not_import_libcst_and_taskwise_does_not_import_the_cli(project: Path) -> None:
    code = (
        "import sys, taskwise\n"
        "assert 'taskwise._cli' not in sys.modules, 'import taskwise imported the CLI'\n"
        "from taskwise._cli import main\n"
        f"assert main(['audit', {str(project)!r}]) == 1\n"
        "assert not [m for m in sys.modules if m.startswith('libcst')], 'audit imported libcst'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=False
    )
    assert done.returncode == 0, done.stderr


def test_audit_text_summary_counts_unreadable_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.py").write_text("def (:\n", encoding="utf-8")
    assert main(["audit", str(tmp_path)]) == 1
    assert capsys.readouterr().err.endswith("0 problems (1 file scanned, 1 could not be audited)\n")


def test_dunder_main_in_process(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import runpy

    import taskwise

    monkeypatch.setattr(sys, "argv", ["taskwise", "audit", str(project / "clean.py")])
    # run_path, not run_module: pytest imports taskwise through its assertion rewriter (the
    # package ships a pytest plugin), whose loader lacks the get_code() that runpy needs.
    main = Path(taskwise.__file__).with_name("__main__.py")
    with pytest.raises(SystemExit) as exc:
        runpy.run_path(str(main), run_name="__main__")
    assert exc.value.code == 0
    capsys.readouterr()


def test_the_console_script_is_installed() -> None:
    # The `taskwise` entry point from pyproject.toml, beside the interpreter running the tests.
    script = Path(sys.executable).with_name("taskwise")
    if not script.exists():  # pragma: no cover - a source checkout without an install
        pytest.skip("taskwise is not installed as a package in this environment")
    done = subprocess.run([str(script), "rules"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "TW101" in done.stdout


# --------------------------------------------------------------------------- issue 12


def test_audit_of_a_file_python_cannot_parse_is_not_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "old.py"
    path.write_text("def f(o):\n    return o.async(1)\n", encoding="utf-8")
    assert main(["audit", str(path)]) == 1
    out, err = capsys.readouterr()
    assert f"{path}:2:12: TW104 `o.async` is a syntax error since Python 3.7" in out
    assert err.startswith("1 problem in 1 file (1 file scanned)")


def test_audit_summary_says_how_many_files_were_scanned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for index in range(3):
        (tmp_path / f"clean{index}.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "a.py").write_text(
        "import asyncio\nasyncio.ensure_future(f())\nasyncio.Task(g())\n", encoding="utf-8"
    )
    assert main(["audit", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith("3 problems in 1 file (4 files scanned); ")


def test_the_pre_commit_hook_runs_the_audit_and_is_documented(tmp_path: Path) -> None:
    try:  # libcst brings PyYAML, or on 3.13 its free-threading fork pyyaml-ft
        import yaml
    except ImportError:  # pragma: no cover - depends on the Python
        yaml = pytest.importorskip("yaml_ft")
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "taskwise-audit"
    assert hook["language"] == "python"
    assert hook["types"] == ["python"]
    assert hook["entry"] == "taskwise audit"
    docs = (ROOT / "docs" / "migration.md").read_text(encoding="utf-8")
    assert "repo: https://github.com/taskwise/taskwise" in docs
    assert "- id: taskwise-audit" in docs
    # pre-commit runs `entry` with the staged files appended; `python -m taskwise` is the
    # same program as the console script the hook's environment installs.
    bad = tmp_path / "bad.py"
    bad.write_text(LEGACY_SOURCE, encoding="utf-8")
    good = tmp_path / "good.py"
    good.write_text("x = 1\n", encoding="utf-8")
    command = [sys.executable, "-m", "taskwise", *hook["entry"].split()[1:]]
    done = subprocess.run(
        [*command, str(good), str(bad)], capture_output=True, text=True, env=_env(), check=False
    )
    assert done.returncode == 1
    assert f"{bad}:4:12: TW202" in done.stdout
    done = subprocess.run(
        [*command, str(good)], capture_output=True, text=True, env=_env(), check=False
    )
    assert (done.returncode, done.stdout) == (0, "")

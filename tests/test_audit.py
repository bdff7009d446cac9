"""Tests of ``taskwise audit``'s rules (stdlib ast only)."""

from __future__ import annotations

import asyncio
import inspect
import warnings
from pathlib import Path

import pytest

from taskwise._cli import _audit
from taskwise._cli._audit import (
    KNOWN_COROUTINE_FUNCTIONS,
    LOOP_ARGUMENT_REMOVED,
    POLICY_NAMES,
    RULES,
    AuditReport,
    Finding,
    SourceError,
    audit_paths,
    audit_source,
    decode_source,
    iter_python_files,
    read_source,
    selected,
)

FIXTURES = Path(__file__).parent / "audit_fixtures" / "rules"
RULE_CASES = sorted(FIXTURES.glob("*.py.txt"))


def _name(path: Path) -> str:
    return path.name.removesuffix(".py.txt")


@pytest.mark.parametrize("source", RULE_CASES, ids=_name)
def test_rule_golden_files(source: Path) -> None:
    text = source.read_text(encoding="utf-8")
    got = "".join(f.format() + "\n" for f in audit_source(text, _name(source) + ".py"))
    expected = source.with_name(_name(source) + ".expected").read_text(encoding="utf-8")
    assert got == expected


def test_every_rule_has_a_golden_fixture() -> None:
    seen = set()
    for expected in FIXTURES.glob("*.expected"):
        for line in expected.read_text(encoding="utf-8").splitlines():
            seen.add(line.split(": ", 1)[1].split()[0])
    assert seen == {rule.code for rule in RULES}


def test_rules_are_documented() -> None:
    codes = [rule.code for rule in RULES]
    assert len(codes) == len(set(codes))
    docs = (Path(__file__).parent.parent / "docs" / "migration.md").read_text(encoding="utf-8")
    for rule in RULES:
        assert rule.what and rule.why and rule.fix and rule.name
        assert f"`{rule.code}`" in docs, f"{rule.code} is missing from docs/migration.md"


@pytest.mark.parametrize("qualified", sorted(KNOWN_COROUTINE_FUNCTIONS))
def test_known_coroutine_functions_are_coroutine_functions(qualified: str) -> None:
    func = getattr(asyncio, qualified.removeprefix("asyncio."))
    assert inspect.iscoroutinefunction(func)


@pytest.mark.parametrize("name", ["gather", "shield", "as_completed", "run_coroutine_threadsafe"])
def test_future_returning_functions_are_not_in_the_coroutine_list(name: str) -> None:
    assert not inspect.iscoroutinefunction(getattr(asyncio, name))
    assert f"asyncio.{name}" not in KNOWN_COROUTINE_FUNCTIONS


@pytest.mark.parametrize("qualified", sorted(LOOP_ARGUMENT_REMOVED))
def test_loop_argument_really_was_removed(qualified: str) -> None:
    obj = getattr(asyncio, qualified.removeprefix("asyncio."))
    if inspect.isclass(obj):
        with pytest.raises(TypeError, match="loop"):
            obj(loop=object())
    else:
        assert "loop" not in inspect.signature(obj).parameters


def test_policy_names_exist() -> None:
    for qualified in POLICY_NAMES:
        module, name = qualified.split(".", 1)
        if module == "asyncio" and "Windows" not in name:
            assert hasattr(asyncio.events, name) or hasattr(asyncio, name), qualified


def test_audit_source_reports_columns_in_characters() -> None:
    text = 'import asyncio\nasync def f():\n    x = "é"; asyncio.create_task(g())\n'
    (finding,) = audit_source(text)
    assert (finding.line, finding.column, finding.code) == (3, 14, "TW102")


def test_audit_source_is_silent_about_the_audited_code_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert audit_source('x = "\\d"\n') == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("def f(:\n", "syntax error at line 1"),
        ("x = 1\x00\n", "null bytes"),
        ("import asyncio\nasync def f():\n  pass\n async = 1\n", "syntax error"),
    ],
)
def test_unparsable_source_raises_source_error(text: str, reason: str) -> None:
    with pytest.raises(SourceError, match=reason):
        audit_source(text)


def test_unterminated_token_stream_with_async_name() -> None:
    with pytest.raises(SourceError):
        audit_source("asyncio.async(\n")


def test_decode_latin1_cookie_and_bom() -> None:
    latin = "# -*- coding: latin-1 -*-\nx = 'café'\n".encode("latin-1")
    assert decode_source(latin) == ("# -*- coding: latin-1 -*-\nx = 'café'\n", "iso-8859-1")
    text, encoding = decode_source(b"\xef\xbb\xbfx = 1\r\n")
    assert (text, encoding) == ("x = 1\r\n", "utf-8-sig")
    assert text.encode(encoding) == b"\xef\xbb\xbfx = 1\r\n"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"x = '\xe9'\n", "byte 0xe9 at offset 5 is not valid utf-8; add a PEP 263"),
        (b"# coding: no-such-codec\nx = 1\n", "cannot decode: unknown encoding"),
    ],
)
def test_undecodable_source(data: bytes, reason: str) -> None:
    with pytest.raises(SourceError, match=reason):
        decode_source(data)


def test_read_source_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot read"):
        read_source(tmp_path / "missing.py")


def test_iter_python_files_skips_hidden_dirs_and_venvs(tmp_path: Path) -> None:
    for rel in [
        "b.py",
        "a/z.py",
        "a/y.txt",
        ".hidden/h.py",
        "venv/v.py",
        "myenv/pyvenv.cfg",
        "myenv/lib/m.py",
        "__pycache__/c.py",
        "pkg/sub/s.py",
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("", encoding="utf-8")
    explicit = tmp_path / "a" / "y.txt"
    found = [p.relative_to(tmp_path).as_posix() for p in iter_python_files([tmp_path, explicit])]
    assert found == ["a/z.py", "b.py", "pkg/sub/s.py", "a/y.txt"]


def test_audit_paths_goes_on_after_bad_files(tmp_path: Path) -> None:
    (tmp_path / "a_bad.py").write_text("def (:\n", encoding="utf-8")
    (tmp_path / "b_latin.py").write_bytes(b"x = '\xe9'\n")
    (tmp_path / "c_good.py").write_text(
        "import asyncio\nasyncio.ensure_future(f())\n", encoding="utf-8"
    )
    report = audit_paths([tmp_path], ignore=["TW102"])
    assert [f.code for f in report.findings] == ["TW101"]
    assert [Path(e.path).name for e in report.errors] == ["a_bad.py", "b_latin.py"]
    assert report.files == 3
    assert '"findings"' in report.to_json()


def test_selected() -> None:
    assert selected("TW101", [], [])
    assert selected("TW101", ["TW1"], [])
    assert not selected("TW201", ["TW1"], [])
    assert not selected("TW101", [], ["TW10"])


def test_finding_format_and_dict() -> None:
    finding = Finding("p.py", 3, 5, "TW101", "msg")
    assert finding.format() == "p.py:3:5: TW101 msg"
    assert finding.as_dict()["column"] == 5
    assert AuditReport().to_json().startswith("{")


def test_normalize_name() -> None:
    assert _audit.normalize_name("asyncio.tasks.ensure_future") == "asyncio.ensure_future"
    assert _audit.normalize_name("asyncio.Task.all_tasks") == "asyncio.Task.all_tasks"


def test_facts_only_trust_undecorated_unshadowed_async_defs() -> None:
    text = (
        "import asyncio\n"
        "async def a(): pass\n"
        "@d\nasync def b(): pass\n"
        "async def c(): pass\nc = 1\n"
        "async def print(): pass\n"
        "class K:\n    async def m(self): pass\n    @staticmethod\n    async def s(): pass\n"
        "    n = 1\n    async def n(self): pass\n"
        "class K2:\n    pass\nclass K2:\n    async def m(self): pass\n"
    )
    _, facts = _audit.analyse_source(text)
    assert facts.coroutine_functions == {"a"}
    assert facts.async_methods["K"] == {"m", "s"}
    assert "K2" not in facts.async_methods
    assert facts.module_alias("asyncio") == "asyncio"
    assert facts.module_alias("uvloop") is None


def test_toplevel_imports_in_if_and_try() -> None:
    text = (
        "try:\n    import uvloop\nexcept ImportError:\n    uvloop = None\n"
        "if X:\n    import asyncio as aio\nelse:\n    import asyncio as aio\n"
        "if Y:\n    import taskwise\n"
        "def f():\n    from asyncio import sleep\n"
    )
    _, facts = _audit.analyse_source(text)
    assert set(facts.toplevel_imports) == {"uvloop", "aio"}
    assert facts.imports["sleep"] == "asyncio.sleep"


def test_unreadable_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.py"
    path.write_text("x = 1\n", encoding="utf-8")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    report = audit_paths([path])
    assert report.errors[0].reason == "cannot read: Permission denied"


def test_facts_see_every_kind_of_binding() -> None:
    text = (
        "from os import path\n"
        "def f(x) -> int:\n    global g\n    return 1\n"
        "try:\n    pass\nexcept E as err:\n    pass\n"
        "match v:\n    case {'k': 1, **rest}:\n        pass\n    case [*others]:\n        pass\n"
        "async def g(): pass\nasync def err(): pass\nasync def rest(): pass\n"
    )
    _, facts = _audit.analyse_source(text)
    assert {"path", "f", "x", "err", "rest", "others"} <= facts.bound_names
    assert facts.coroutine_functions == frozenset()


def test_receivers_that_are_not_loops_and_other_keywords() -> None:
    text = (
        "import asyncio\n"
        "async def f(xs) -> None:\n"
        "    xs[0].create_task(g())\n"
        "    await asyncio.sleep(1, result=2)\n"
    )
    assert audit_source(text) == []


def test_null_bytes_value_error_on_older_pythons(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> object:
        raise ValueError("source code string cannot contain null bytes")

    monkeypatch.setattr(_audit.ast, "parse", refuse)
    with pytest.raises(SourceError, match="cannot parse: source code string cannot contain null"):
        _audit.parse_source("x = 1\n")

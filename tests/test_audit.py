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


# --------------------------------------------------------------------------- issue 12


@pytest.mark.parametrize(
    ("text", "spelled"),
    [
        ("o.async(1)\n", "`o.async`"),
        ("from trollius import async\nasync(f())\n", "`from trollius import async`"),
        ("def async(x):\n    pass\n", "`def async`"),
        ("class async(object):\n    pass\n", "`class async`"),
    ],
)
def test_async_as_any_name_is_reported_not_passed(text: str, spelled: str) -> None:
    # Python 3.7+ cannot parse these: the audit must not call such a file clean.
    findings = audit_source(text)
    assert findings, "a file Python cannot parse was reported clean"
    assert {f.code for f in findings} == {"TW104"}
    assert any(
        spelled in f.message and "syntax error since Python 3.7" in f.message for f in findings
    )


def test_async_name_the_audit_cannot_point_at_is_a_syntax_error() -> None:
    with pytest.raises(SourceError, match="syntax error at line 1"):
        audit_source("import asyncio.async\n")


def test_suppressed_async_name_still_counts_as_seen() -> None:
    assert audit_source("o.async(1)  # taskwise: ignore\n") == []


@pytest.mark.parametrize(
    ("test", "true", "false"),
    [
        ("sys.version_info < (3, 7)", {(3, 6), (2, 7)}, {(3, 7), (4, 0)}),
        ("sys.version_info >= (3, 7)", {(3, 7), (4, 0)}, {(3, 6)}),
        ("sys.version_info < (3, 7, 2)", {(3, 6)}, {(3, 8)}),
        ("sys.version_info[:2] <= (3, 9)", {(3, 9)}, {(3, 10)}),
        ("sys.version_info[0] == 2", {(2, 7)}, {(3, 6)}),
        ("sys.version_info.minor < 7", {(3, 6), (2, 6)}, {(3, 7), (2, 7)}),
        ("(3, 10) > sys.version_info", {(3, 9)}, {(3, 10)}),
        ("not sys.version_info >= (3, 7)", {(3, 6)}, {(3, 7)}),
        ("sys.version_info >= (3, 7) and sys.version_info < (3, 9)", {(3, 8)}, {(3, 6), (3, 9)}),
        ("sys.version_info < (3, 7) or sys.version_info >= (3, 9)", {(3, 6), (3, 9)}, {(3, 8)}),
        ("hasattr(asyncio, 'all_tasks')", {(3, 7)}, {(3, 6)}),
        ("hasattr(asyncio.Task, 'all_tasks')", {(3, 8)}, {(3, 9)}),
    ],
)
def test_version_condition(
    test: str, true: set[tuple[int, int]], false: set[tuple[int, int]]
) -> None:
    tree, facts = _audit.analyse_source(f"import sys, asyncio\n({test})\n")
    expression = tree.body[1].value  # type: ignore[attr-defined]
    may_be_true, may_be_false = _audit.version_condition(expression, facts)
    assert true <= may_be_true
    assert not true & may_be_false
    assert false <= may_be_false
    assert not false & may_be_true


def test_a_patch_level_check_keeps_that_minor_in_both_branches() -> None:
    tree, facts = _audit.analyse_source("import sys\n(sys.version_info < (3, 7, 2))\n")
    expression = tree.body[1].value  # type: ignore[attr-defined]
    may_be_true, may_be_false = _audit.version_condition(expression, facts)
    assert (3, 7) in may_be_true & may_be_false


@pytest.mark.parametrize(
    "test",
    [
        "flag",
        "sys.version_info < '3.7'",
        "sys.version_info[1:] < (7,)",
        "sys.version_info < (3, 7) < x",
        "hasattr(asyncio, name)",
        "hasattr(asyncio, 'not_in_the_table')",
        "hasattr(other, 'all_tasks')",
        "os.version_info < (3, 7)",
        "sys.version_info[x] < 3",
        "sys.version_info in ((3, 7),)",
        "sys.version_info < (3, 7, 1, 1)",
        "x.major < 3",
    ],
)
def test_unknown_conditions_may_go_either_way(test: str) -> None:
    tree, facts = _audit.analyse_source(f"import sys, asyncio\n({test})\n")
    expression = tree.body[1].value  # type: ignore[attr-defined]
    both = frozenset(_audit.PYTHONS)
    assert _audit.version_condition(expression, facts) == (both, both)


def test_comparing_an_int_with_a_tuple_keeps_both_branches() -> None:
    tree, facts = _audit.analyse_source("import sys\n(sys.version_info[0] < (3, 7))\n")
    expression = tree.body[1].value  # type: ignore[attr-defined]
    both = frozenset(_audit.PYTHONS)
    assert _audit.version_condition(expression, facts) == (both, both)


def test_aliases_count_only_when_every_binding_agrees() -> None:
    text = (
        "import asyncio\n"
        "ef = asyncio.ensure_future\n"
        "twice = asyncio.ensure_future\ntwice = asyncio.ensure_future\n"
        "mixed = asyncio.ensure_future\nmixed = asyncio.sleep\n"
        "rebound = asyncio.ensure_future\nfor rebound in xs: pass\n"
        "def param(shadow): pass\nshadow = asyncio.ensure_future\n"
        "unknown = other.ensure_future\n"
        "a, b = asyncio.ensure_future, asyncio.sleep\n"
    )
    _, facts = _audit.analyse_source(text)
    assert facts.aliases == {"ef", "twice"}
    assert facts.resolve("ef") == "asyncio.ensure_future"
    assert facts.resolve("mixed") is None
    assert "ef" not in facts.toplevel_imports
    chain = "import asyncio\na = asyncio\nb = a\nc = b\nd = c\n"
    _, facts = _audit.analyse_source(chain)
    assert facts.aliases == {"a", "b", "c"}  # three steps are as far as it follows


def test_attribute_assignments_unmake_async_methods() -> None:
    text = (
        "class A:\n"
        "    def __init__(self):\n        self.run = self._done\n"
        "    async def run(self): pass\n"
        "    async def stop(self): pass\n"
        "    async def kept(self): pass\n"
        "async def compat_stop(self): pass\n"
        "A.stop = compat_stop\n"
    )
    _, facts = _audit.analyse_source(text)
    assert facts.async_methods["A"] == {"kept"}
    assert facts.attribute_stores == {"run", "stop"}
    _, facts = _audit.analyse_source(text + "setattr(A, 'kept', None)\n")
    assert facts.async_methods["A"] == frozenset()
    _, facts = _audit.analyse_source(text + "setattr(*args)\n")
    assert None in facts.attribute_stores
    _, facts = _audit.analyse_source(text.replace("A.stop = compat_stop", "setattr(A, n, v)"))
    assert facts.async_methods["A"] == frozenset()
    assert None in facts.attribute_stores


@pytest.mark.parametrize(
    ("text", "exports"),
    [
        ("__all__ = ['a', 'b']\n", {"a", "b"}),
        ("__all__ = ('a',)\n", {"a"}),
        ("x = 1\n", None),
        ("__all__ = ['a']\n__all__ += ['b']\n", None),
        ("__all__ = [name]\n", None),
        ("def f():\n    __all__ = ['a']\n", None),
    ],
)
def test_literal_all(text: str, exports: set[str] | None) -> None:
    _, facts = _audit.analyse_source(text)
    assert facts.exports == exports


def test_loop_locals_are_only_loop_getter_assignments() -> None:
    text = (
        "import asyncio\nfrom compat import asyncio as shim\n"
        "def f(param):\n"
        "    a = asyncio.get_event_loop()\n"
        "    b = asyncio.new_event_loop()\n    b = asyncio.get_running_loop()\n"
        "    c = asyncio.get_event_loop()\n    c = None\n"
        "    d = asyncio.get_event_loop(policy)\n"
        "    param = asyncio.get_event_loop()\n"
        "    global g\n    g = asyncio.get_event_loop()\n"
        "    e = asyncio.get_event_loop()\n    def inner():\n        nonlocal e\n"
        "    h = asyncio.get_event_loop()\n    import h\n"
        "    i = asyncio.get_event_loop()\n    class i: pass\n"
        "    j = asyncio.get_event_loop()\n    try:\n        pass\n    except E as j:\n        pass\n"
        "    k = asyncio.get_event_loop()\n    match x:\n        case {**k}: pass\n"
        "    m = k = asyncio.get_event_loop()\n"
        "    n = shim.get_event_loop()\n"
    )
    tree, facts = _audit.analyse_source(text)
    function = tree.body[2]
    assert isinstance(function, _audit.ast.FunctionDef)
    assert _audit.loop_locals(function, facts) == {"a", "b"}


def test_a_module_level_loop_is_never_proved() -> None:
    text = (
        "import asyncio\nloop = asyncio.new_event_loop()\nasyncio.ensure_future(f(), loop=loop)\n"
    )
    assert _audit.inspect_source(text).loop_calls == set()

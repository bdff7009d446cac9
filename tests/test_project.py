"""Tests of reading the Pythons a project supports (``taskwise._cli._project``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskwise._cli import _project
from taskwise._cli._project import OLDEST_ASYNCIO, find_floor, minimum_python


@pytest.mark.parametrize(
    ("spec", "oldest"),
    [
        ("~=3.6", (3, 6)),
        (">=3.7", (3, 7)),
        (">= 3.8, <4", (3, 8)),
        (">3.6", (3, 6)),  # PEP 440: 3.6.1 > 3.6
        (">3.6.99", (3, 7)),
        ("==3.9.*", (3, 9)),
        ("!=3.0.*,!=3.1.*,>=2.7", (2, 7)),
        (">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", (2, 7)),
        (">=3.5.3", (3, 5)),
        ("~=3.6.1", (3, 6)),
        ("<=3.9,>=3.6,!=3.6.*", (3, 7)),
        ("==3.8", (3, 8)),
        ("v>=3.7", None),
        ("3.7", None),
        (">=3.7.*", None),
        ("~=3", None),
        ("", None),
        (">=3.8,<3.7", None),
        ("===3.7", None),
    ],
)
def test_minimum_python(spec: str, oldest: tuple[int, int] | None) -> None:
    assert minimum_python(spec) == oldest


_OPS = st.sampled_from(["~=", "==", "!=", "<=", ">=", "<", ">"])
_RELEASES = st.tuples(st.sampled_from([2, 3]), st.integers(0, 14), st.integers(0, 3)).map(
    lambda v: v[:2] if v[2] == 0 else v
)


@st.composite
def _clauses(draw: st.DrawFn) -> str:
    op = draw(_OPS)
    release = draw(_RELEASES)
    text = ".".join(map(str, release))
    if op in ("==", "!=") and draw(st.booleans()):
        text = ".".join(map(str, release[:2])) + ".*"
    return f"{op}{text}"


@settings(max_examples=300, deadline=None)
@given(st.lists(_clauses(), min_size=1, max_size=3))
def test_minimum_python_agrees_with_packaging(clauses: list[str]) -> None:
    specifiers = pytest.importorskip("packaging.specifiers")
    version = pytest.importorskip("packaging.version")
    spec = ",".join(clauses)
    admitted = specifiers.SpecifierSet(spec)
    expected = None
    for python in _project.PYTHONS:
        if any(version.Version(f"{python[0]}.{python[1]}.{p}") in admitted for p in range(50)):
            expected = python
            break
    assert minimum_python(spec) == expected


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("files", "version", "source"),
    [
        (
            {"pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.8"  # why\n'},
            (3, 8),
            'requires-python ">=3.8" in pyproject.toml',
        ),
        (
            {"pyproject.toml": "[ project ]\n'requires-python' = '~=3.6'\n"},
            (3, 6),
            'requires-python "~=3.6" in pyproject.toml',
        ),
        (
            {
                "pyproject.toml": '[tool.black]\nrequires-python = ">=3.12"\n[project]\nx = 1\n',
                "setup.cfg": "[options]\npython_requires = >=3.7\n",
            },
            (3, 7),
            'python_requires ">=3.7" in setup.cfg',
        ),
        (
            {"setup.py": "from setuptools import setup\nsetup(python_requires='>=3.5')\n"},
            (3, 5),
            'python_requires ">=3.5" in setup.py',
        ),
    ],
)
def test_declared_requirements(
    tmp_path: Path, files: dict[str, str], version: tuple[int, int], source: str
) -> None:
    _write(tmp_path, files)
    floor = find_floor(tmp_path / "pkg" / "mod.py")
    assert (floor.version, floor.source, floor.declared) == (version, source, True)
    assert floor.root == tmp_path.resolve()


@pytest.mark.parametrize(
    ("files", "why"),
    [
        ({"pyproject.toml": '[project]\nname = "x"\n'}, "no requires-python in pyproject.toml"),
        (
            {"pyproject.toml": '[project]\nrequires-python = """>=3.8"""\n'},
            "requires-python in pyproject.toml is not a one-line string",
        ),
        ({"setup.cfg": "no section header\n"}, "setup.cfg cannot be read"),
        ({"setup.cfg": "[metadata]\nname = x\n"}, "no requires-python in setup.cfg"),
        ({"setup.py": "from setuptools import setup\nsetup()\n"}, "no requires-python in setup.py"),
        ({"setup.py": "setup(python_requires=REQUIRES)\n"}, "not a literal string"),
        ({"setup.py": "def (:\n"}, "setup.py does not parse"),
        (
            {"pyproject.toml": '[project]\nrequires-python = "3.8+"\n'},
            'requires-python "3.8+" in pyproject.toml is not understood',
        ),
    ],
)
def test_unreadable_requirements_assume_the_oldest(
    tmp_path: Path, files: dict[str, str], why: str
) -> None:
    _write(tmp_path, files)
    floor = find_floor(tmp_path / "mod.py")
    assert (floor.version, floor.declared) == (OLDEST_ASYNCIO, False)
    assert why in floor.explain()
    assert floor.describe().startswith("Python 3.4 (assumed: ")


def test_no_project_file_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_project, "_floor_in", lambda directory: None)
    floor = find_floor(tmp_path / "mod.py")
    assert not floor.declared
    assert "no pyproject.toml, setup.cfg or setup.py in" in floor.explain()


def test_an_unreadable_project_file_is_said_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, {"pyproject.toml": "[project]\n"})
    original = Path.read_text

    def refuse(self: Path, *args: object, **kwargs: object) -> str:
        if self.name == "pyproject.toml":
            raise PermissionError(13, "Permission denied")
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", refuse)
    assert "pyproject.toml cannot be read: Permission denied" in find_floor(tmp_path).explain()


def test_find_floor_caches_every_directory_it_walked(tmp_path: Path) -> None:
    _write(tmp_path, {"setup.cfg": "[options]\npython_requires = >=3.9\n"})
    (tmp_path / "a" / "b").mkdir(parents=True)
    cache: dict[Path, _project.PythonFloor] = {}
    floor = find_floor(tmp_path / "a" / "b" / "m.py", cache)
    assert set(cache) >= {tmp_path.resolve(), (tmp_path / "a" / "b").resolve()}
    assert find_floor(tmp_path / "a" / "n.py", cache) is floor

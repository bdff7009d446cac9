"""Every Python example in the documentation runs, and the example program does what it says.

The examples are the ```python blocks of README.md and of every page under docs/ (the site's
pages, recipes included). Each block runs on its own, as a reader would paste it. Three
markers, an HTML comment on the line right before the block, change that:

* ``<!-- docs-test: pytest -->``: the block is a test module; it is written to a temporary
  directory and run with pytest (the plugins it uses are test dependencies).
  ``<!-- docs-test: pytest: ARGS -->`` adds pytest command-line arguments (say
  ``--taskwise-strict``).
* ``<!-- docs-test: script -->``: the block is a program that sets up process-wide state
  (logging handlers, say); it runs in an interpreter of its own, with warnings as errors, so
  that state cannot leak into the tests that follow.
* ``<!-- docs-test: skip: REASON -->``: the block is not run; the reason is required, and shows
  in pytest's report. Prefer running: servers bind 127.0.0.1 on a free port, and every
  framework a recipe uses is a test dependency.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]

FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[^\s`]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
MARKER = re.compile(r"<!--\s*docs-test:\s*(?P<mode>[\w-]+)\s*(?::\s*(?P<reason>.*?))?\s*-->")


@dataclass(frozen=True)
class Example:
    doc: str
    line: int
    code: str
    mode: str  # "run", "pytest" or "skip"
    reason: str

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}"


def examples_in(path: Path) -> list[Example]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        if match.group("lang") not in ("python", "py"):
            continue
        before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
        marker = MARKER.fullmatch(before.strip())
        mode = marker.group("mode") if marker else "run"
        reason = (marker.group("reason") or "") if marker else ""
        code = textwrap.dedent(match.group("body"))
        line = text.count("\n", 0, match.start()) + 1
        found.append(Example(str(path.relative_to(ROOT)), line, code, mode, reason))
    return found


EXAMPLES = [example for doc in DOCS for example in examples_in(doc)]


def test_examples_are_found_everywhere() -> None:
    # A fence the pattern stopped matching would silently run nothing.
    docs = {example.doc for example in EXAMPLES}
    assert {"README.md", "docs/spawn.md", "docs/taskgroup.md", "docs/normalize.md"} <= docs
    assert any(doc.startswith("docs/recipes/") for doc in docs)
    assert any(doc.startswith("docs/migrating/") for doc in docs)


def test_every_marker_is_known_and_every_opt_out_says_why() -> None:
    for example in EXAMPLES:
        assert example.mode in ("run", "pytest", "script", "skip"), (
            f"{example}: unknown {example.mode!r}"
        )
        if example.mode == "skip":
            assert example.reason, f"{example}: `docs-test: skip` needs a reason"


@pytest.fixture(autouse=True)
def no_observation_left() -> Iterator[None]:
    """An example that fails half-way leaves no instrumentation on for the tests after it."""
    yield
    from taskwise import observe
    from taskwise.integrations import otel

    otel.uninstrument()
    observe.disable()


@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_documented_example_runs(example: Example, tmp_path: Path) -> None:
    if example.mode == "skip":
        pytest.skip(f"not run: {example.reason}")
    if example.mode == "pytest":
        # The setting docs/recipes/testing.md tells pytest-asyncio users to make.
        ini = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
        (tmp_path / "pytest.ini").write_text(ini, encoding="utf-8")
        module = tmp_path / "test_example.py"
        module.write_text(example.code, encoding="utf-8")
        args = shlex.split(example.reason)  # the marker's extra pytest arguments, if any
        done = run_apart(
            example, tmp_path, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider", *args
        )
        assert re.search(r"\b\d+ passed\b", done.stdout), done.stdout
        assert not re.search(r"\b(skipped|xfailed|deselected)\b", done.stdout), done.stdout
        return
    if example.mode == "script":
        run_apart(example, tmp_path, "-c", example.code)
        return
    exec(compile(example.code, str(example), "exec"), {"__name__": "__main__"})


def run_apart(example: Example, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -W error *args`` in *cwd*, for *example*; it must succeed."""
    done = subprocess.run(
        [sys.executable, "-W", "error", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{example}:\n{done.stdout}\n{done.stderr}"
    return done


def test_readme_links_work_on_pypi_too() -> None:
    # PyPI shows README.md as the project description, where relative links lead nowhere.
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    assert targets
    assert [t for t in targets if not t.startswith("https://")] == []


def test_the_demo_runs_and_shows_each_feature() -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error", str(ROOT / "examples" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = result.stdout
    assert "it finished anyway with 'still here'" in out
    assert "reported once, promptly: Task 'fire-and-forget'" in out
    assert "crawl/fetch-4        cancelled" in out
    assert "the block exited quietly; 'search/mirrors/fetch-1' cancelled: True" in out
    assert (
        "why 'crawl/fetch-4' was cancelled: TaskGroup 'crawl' is cancelling its tasks: "
        "its task 'crawl/fetch-3' failed with ConnectionError"
    ) in out
    assert "  group crawl [2 tasks, " in out
    assert "    crawl/page-1 [running, " in out
    assert "cancelled 1 spawned task still running after 0.1 s: 'refresh-cache'" in out
    assert "Call it: normalize_awaitable(fetch(...))" in out
    assert result.stderr == ""

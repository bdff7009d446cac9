"""The documentation's examples run, and the example program does what it says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXECUTED_DOCS = ["README.md", "docs/spawn.md", "docs/taskgroup.md", "docs/normalize.md"]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.DOTALL)


@pytest.mark.parametrize("doc", EXECUTED_DOCS)
def test_documented_examples_run(doc: str) -> None:
    blocks = python_blocks(ROOT / doc)
    assert blocks, f"{doc} has no python examples"
    for number, code in enumerate(blocks, 1):
        exec(compile(code, f"{doc} (example {number})", "exec"), {"__name__": "__main__"})


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
    assert "Call it: normalize_awaitable(fetch(...))" in out
    assert result.stderr == ""

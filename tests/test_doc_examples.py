"""scripts/doc_examples.py, which hands the docs' examples to the type checkers (`nox -s typing`),
finds every example, the ones tests/test_docs.py runs among them, and honours opt-outs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from test_docs import DOCS, examples_in

ROOT = Path(__file__).resolve().parent.parent


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "doc_examples", ROOT / "scripts" / "doc_examples.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


doc_examples = load_script()


def test_the_blocks_are_the_ones_test_docs_runs() -> None:
    pages = doc_examples.pages()
    assert pages == DOCS
    for page in pages:
        found = [code for _, _, code in doc_examples.examples(page)]
        assert found == [example.code for example in examples_in(page)], page


def test_every_page_under_docs_is_read(tmp_path: Path) -> None:
    (tmp_path / "docs" / "guide").mkdir(parents=True)
    (tmp_path / "README.md").write_text("```python\nx: int = 1\n```\n", encoding="utf-8")
    (tmp_path / "docs" / "guide" / "Deep Page.md").write_text(
        "text\n\n```python\ny = 2\n```\n\n<!-- not type-checked: shows a mistake -->\n"
        "```python\nspawn(fetch)\n```\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    written, skipped = doc_examples.write(out, tmp_path)
    assert written == 2
    assert sorted(p.name for p in out.glob("*.py")) == ["docs_guide_deep_page_1.py", "readme_1.py"]
    assert (out / "docs_guide_deep_page_1.py").read_text(encoding="utf-8") == (
        "# docs/guide/Deep Page.md (example 1)\ny = 2\n"
    )
    assert skipped == ["docs/guide/Deep Page.md (example 2): shows a mistake"]
    assert (out / "mypy.ini").is_file()
    assert (out / "pyrightconfig.json").is_file()


def test_an_opt_out_must_say_why(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- not type-checked: -->\n```python\nx = 1\n```\n", encoding="utf-8")
    with pytest.raises(ValueError, match="without saying why"):
        doc_examples.examples(page)

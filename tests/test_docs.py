"""Every ```python block in docs/ runs, page by page in one namespace, so the docs cannot
drift from the code (the numbers in the CNN page are asserted inside its snippets)."""
import pathlib
import re

import pytest

DOCS = pathlib.Path(__file__).parent.parent / "docs"
PAGES = sorted(p for p in DOCS.glob("*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_docs_have_pages_with_snippets():
    assert {p.name for p in PAGES} >= {"index.md", "autograd.md", "cnn-backprop.md",
                                       "visualisation.md", "backends.md", "adding-an-op.md",
                                       "performance.md", "api.md"}
    assert len(BLOCK.findall((DOCS / "cnn-backprop.md").read_text())) >= 10


@pytest.mark.parametrize("page", [p for p in PAGES if BLOCK.search(p.read_text())],
                         ids=lambda p: p.name)
def test_every_snippet_runs(page):
    namespace = {"__name__": f"docs_{page.stem}"}
    for i, code in enumerate(BLOCK.findall(page.read_text())):
        try:
            exec(compile(code, f"{page.name}[block {i}]", "exec"), namespace)
        except Exception as exc:  # name the page and block in the failure
            raise AssertionError(f"{page.name} block {i} failed: {exc!r}\n{code}") from exc

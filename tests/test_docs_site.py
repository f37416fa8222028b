"""The docs site's offline promises, checked without building it: math becomes MathML at
build time, nothing is fetched from the network, search and fonts are set up for file://."""
import importlib.util
import pathlib
import types

import pytest

ROOT = pathlib.Path(__file__).parent.parent


def _hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _page(src):
    return types.SimpleNamespace(file=types.SimpleNamespace(src_path=src))


def test_math_is_typeset_to_mathml_in_pages_and_notebooks():
    pytest.importorskip("latex2mathml")
    hooks = _hooks()
    page = hooks.on_page_content('<p><span class="arithmatex">\\(k-1\\)</span></p>'
                                 '<div class="arithmatex">\\[\\sum_i x_i\\]</div>', _page("a.md"))
    assert page.count("<math") == 2 and 'display="block"' in page and "\\(" not in page
    nb = hooks.on_page_content("<p>cost $1/k^2$ and $$\\frac{a}{b}$$</p>"
                               "<pre>keep $x$ here</pre>", _page("notebooks/n.ipynb"))
    assert nb.count("<math") == 2 and "<pre>keep $x$ here</pre>" in nb


def test_network_scripts_and_stylesheets_are_dropped():
    hooks = _hooks()
    out = hooks.on_post_page('<script src="https://cdn.example/mathjax.js"></script>'
                             '<link rel="stylesheet" href="https://fonts.example/css">'
                             '<script src="assets/local.js"></script>', _page("a.md"))
    assert "https://" not in out and "assets/local.js" in out


def test_site_config_is_offline():
    cfg = (ROOT / "mkdocs.yml").read_text()
    assert "font: false" in cfg and "- offline" in cfg and "use_directory_urls: false" in cfg
    assert "assets/vendor/iframe-worker/shim.js" in cfg
    assert (ROOT / "docs" / "assets" / "vendor" / "iframe-worker" / "shim.js").exists()
    for page in (ROOT / "docs").glob("*.md"):
        text = page.read_text()
        assert "../shared" not in text and "lecture notes" not in text, page.name

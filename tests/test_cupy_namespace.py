"""Every ``xp.<name>(...)`` the package calls exists in CuPy, with the keywords we pass.

The CuPy wheel imports without a GPU, so this runs on any machine where it is installed
(skipped elsewhere). The calls are found by a static scan of the source (``ast``) rather
than recorded through the fake device's xp proxy while tests run: the scan also sees the
CUDA-only code (backend/cupy_backend.py, kernels/*_cuda.py) and branches no test reaches,
and it needs no test run. What it cannot see is a name built at run time
(``getattr(xp, name)``); those few sites are listed in ``_DYNAMIC`` and checked by hand.

Signatures: ``inspect.signature`` where CuPy exposes one; for ufuncs (cupy.ufunc) the ufunc
keywords; for Cython functions the signature line of their docstring.
"""
import ast
import inspect
import os
import re

import pytest

cupy = pytest.importorskip("cupy")

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "tinygrad_cnn")
# NumPy-only code: the CPU backend and the NumPy halves of the kernels never see CuPy
_NUMPY_ONLY = (os.path.join("backend", "numpy_backend.py"),)
_NUMPY_KERNELS = re.compile(r"kernels[/\\]\w+_numpy\.py$")
_UFUNC_KEYWORDS = {"out", "dtype", "casting", "where", "order", "subok", "signature"}
# names reached through getattr(xp, name) (ops/elementwise.py _rounding, ops/logical.py),
# with the keywords passed there
_DYNAMIC = {"floor": set(), "ceil": set(), "trunc": set(), "rint": set(),
            "logical_and": set(), "logical_or": set(), "logical_xor": set(),
            "any": {"axis", "keepdims"}, "all": {"axis", "keepdims"}}


def _sources():
    for folder, _, files in os.walk(ROOT):
        for f in files:
            path = os.path.join(folder, f)
            rel = os.path.relpath(path, ROOT)
            if f.endswith(".py") and rel not in _NUMPY_ONLY and not _NUMPY_KERNELS.search(rel):
                yield rel, path


def _xp_chain(node):
    """``['linalg', 'solve']`` for ``xp.linalg.solve`` / ``x.xp.linalg.solve``, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        if node.attr == "xp":
            return list(reversed(parts)) or None
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id == "xp":
        return list(reversed(parts)) or None
    return None


def _uses():
    """{dotted name: {keyword: [file:line, ...]}} over the package (attribute reads too)."""
    uses = {}
    for rel, path in _sources():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), rel)
        for node in ast.walk(tree):
            func = node.func if isinstance(node, ast.Call) else node
            chain = _xp_chain(func) if isinstance(func, ast.Attribute) else None
            if not chain:
                continue
            entry = uses.setdefault(".".join(chain), {})
            entry.setdefault(None, []).append(f"{rel}:{node.lineno}")
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    if kw.arg is not None:
                        entry.setdefault(kw.arg, []).append(f"{rel}:{node.lineno}")
    return uses


def _resolve(dotted):
    obj = cupy
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _keywords(obj):
    """The keyword names ``obj`` accepts, or None when any are (``**kwargs``)."""
    if isinstance(obj, cupy.ufunc):
        return _UFUNC_KEYWORDS
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        doc = (getattr(obj, "__doc__", None) or "").strip().splitlines()
        m = re.match(r"[\w.]+\((.*)\)", doc[0]) if doc else None
        if m is None:
            raise
        names = re.findall(r"(\w+)\s*=", m.group(1)) + re.findall(r"(?:^|,)\s*(\w+)\s*(?=,|$)",
                                                                   m.group(1))
        return None if "**" in m.group(1) else set(names)
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind != p.POSITIONAL_ONLY}


USES = _uses()


def test_the_scan_sees_the_package():
    # a scan that found nothing would pass vacuously
    assert {"asarray", "zeros", "where", "matmul", "random"} & set(USES) >= {"asarray", "where"}
    assert len(USES) > 40


@pytest.mark.parametrize("name", sorted(USES))
def test_cupy_has(name):
    sites = USES[name][None]
    try:
        obj = _resolve(name)
    except AttributeError:
        pytest.fail(f"cupy has no {name!r}; used at {', '.join(sites[:5])}")
    kws = {k: v for k, v in USES[name].items() if k is not None}
    if not kws or not callable(obj):
        return
    accepted = _keywords(obj)
    if isinstance(obj, type) and accepted is not None:  # a class: its constructor's keywords
        accepted = accepted | {"dtype"}
    if accepted is None:
        return
    bad = {k: v for k, v in kws.items() if k not in accepted}
    assert not bad, (f"cupy.{name} does not take keyword(s) {sorted(bad)} (accepts "
                     f"{sorted(accepted)}); passed at {bad}")


@pytest.mark.parametrize("name", sorted(_DYNAMIC))
def test_cupy_has_dynamic_name(name):
    obj = _resolve(name)
    accepted = _keywords(obj)
    assert accepted is None or _DYNAMIC[name] <= accepted


def test_keyword_check_can_fail():
    assert "axis" in _keywords(cupy.sum) and "bogus" not in _keywords(cupy.sum)
    assert _keywords(cupy.add) == _UFUNC_KEYWORDS
    with pytest.raises(AttributeError):
        _resolve("no_such_function")

"""Every op's backward rule (``rule="..."``, shown in the graph viewer and docs/rules.md) is
written in one fixed vocabulary, and docs/rules.md is generated from the registry.

A name in a rule must be one of:
  * ``gy`` (the output's gradient) or ``y`` (the output);
  * a forward parameter of the registered function (``inspect.signature(op.forward)``), or
    ``g<param>``, the gradient of a tensor parameter (``gx``, ``gw``, ``gx0``);
  * a registered op name (``conv_transpose2d``, ``sum_to``, ...): the backward in the
    engine's own ops;
  * a word of ``MATH_WORDS`` below.
Numbers and operators are free. A non-differentiable op's rule is exactly
``not differentiable (integer result)``, ``(bool result)`` or ``(piecewise constant)``; a
recorded op whose backward refuses to run has exactly ``NOT_IMPLEMENTED``.
A suggested rewrite may come with parameter renames ``{old: new}`` (where a parameter is
called ``gy`` or ``y`` it clashes with the output's names).
"""
import inspect
import os
import re
import subprocess
import sys

import pytest

import tinygrad_cnn as tg

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The allow-list, kept small on purpose: connectives of the piecewise rules, and the few
# symbols that are not an op, a parameter or a gradient.
MATH_WORDS = {
    "where", "else", "and", "or", "not",   # piecewise: "gx = gy where x > 0, else 0"
    "pi",                                   # erf's 2/sqrt(pi)
    "n",                                    # the number of elements a reduction combines
    "T",                                    # matrix transpose: x1^T
    "i",                                    # the i-th of a variadic input (cat, stack)
    "shape", "ndim", "dtype", "device",     # attributes: x.shape
    "argsort",                              # the inverse of a permutation
    "along", "start",                       # index ranges: "start : start + n along dim"
    "inf",                                  # a number: norm's p = inf
}
NOT_DIFFERENTIABLE = re.compile(
    r"not differentiable \(((integer|bool) result|piecewise constant)\)")
# a recorded op whose own backward refuses (test_refusing_backward_raises checks it does)
NOT_IMPLEMENTED = "backward not implemented (raises RuntimeError)"
_NUMBER = re.compile(r"\b\d+(\.\d*)?(e-?\d+)?\b")
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")

# Rules that do not conform, each with a conforming rewrite ``name: rule`` or
# ``name: (rule, {old parameter name: new})`` (checked below). Empty now: a rule added
# here must still be nonconforming, and its rewrite must conform, or the tests fail.
KNOWN_NONCONFORMING = {}


def unknown_names(name):
    """The names in ``name``'s rule outside the vocabulary (empty when it conforms)."""
    op = tg.ops.registry[name]
    return _unknown(op, op.rule)


def _unknown(op, rule, renames=None):
    """Names of ``rule`` outside the vocabulary of ``op`` (its parameters renamed first)."""
    if not op.differentiable:
        return set() if NOT_DIFFERENTIABLE.fullmatch(rule) else {rule}
    if rule == NOT_IMPLEMENTED:
        return set()
    renames = renames or {}
    params = inspect.signature(op.forward).parameters.values()
    names = {renames.get(p.name, p.name) for p in params}
    tensors = {renames.get(p.name, p.name) for p in params
               if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)}
    allowed = ({"gy", "y"} | names | {"g" + t for t in tensors} |
               set(tg.ops.registry) | MATH_WORDS)
    return set(_NAME.findall(_NUMBER.sub(" ", rule))) - allowed


NAMES = sorted(tg.ops.registry)


@pytest.mark.parametrize("name", NAMES)
def test_rule_uses_the_vocabulary(name):
    bad = unknown_names(name)
    if name in KNOWN_NONCONFORMING:
        assert bad, f"{name}'s rule conforms now: delete it from KNOWN_NONCONFORMING"
        pytest.xfail(f"known nonconforming rule: {sorted(bad)}")
    assert not bad, (f"rule of {name!r} uses {sorted(bad)} outside the vocabulary "
                     f"(see tests/test_rules.py): {tg.ops.registry[name].rule!r}")


@pytest.mark.parametrize("name", sorted(KNOWN_NONCONFORMING))
def test_suggested_rewrite_conforms(name):
    assert name in tg.ops.registry, f"{name} is no longer registered"
    rewrite = KNOWN_NONCONFORMING[name]
    rule, renames = rewrite if isinstance(rewrite, tuple) else (rewrite, None)
    bad = _unknown(tg.ops.registry[name], rule, renames)
    assert not bad, f"the suggested rule for {name} itself uses {sorted(bad)}"


def test_the_vocabulary_check_can_fail():
    op = tg.ops.registry["mul"]
    assert _unknown(op, "gx0 = gy * x1; gx1 = gy * x0") == set()
    assert _unknown(op, "gx0 = gy times x1") == {"times"}
    assert _unknown(op, "gx = gy * x1") == {"gx"}        # mul's inputs are x0 and x1
    assert _unknown(tg.ops.registry["eq"], "no gradient") == {"no gradient"}
    # conv2d_weight's parameters are (x, g): its gradients are gx and gg; renames apply
    conv_w = tg.ops.registry["conv2d_weight"]
    assert _unknown(conv_w, "gg = conv2d(x, gy)") == set()
    assert _unknown(conv_w, "gg = conv2d(x, gy)", {"g": "gy"}) == {"gg"}
    assert _unknown(tg.ops.registry["cumprod_backward_zeros"], "gx = 0") == set()
    assert _unknown(tg.ops.registry["cumprod"], NOT_IMPLEMENTED) == set()
    assert _unknown(tg.ops.registry["cumprod"], "backward not implemented") == {
        "backward", "implemented"}


@pytest.mark.parametrize("name", NAMES)
def test_no_parameter_is_named_like_the_output(name):
    """A forward parameter called gy or y would read as the output's gradient or value."""
    params = inspect.signature(tg.ops.registry[name].forward).parameters
    assert not {"gy", "y"} & set(params), f"{name}'s parameters {list(params)} use gy or y"


REFUSING = sorted(n for n in NAMES if tg.ops.registry[n].rule == NOT_IMPLEMENTED)


@pytest.mark.parametrize("name", REFUSING)
def test_refusing_backward_raises(name):
    """An op that says its backward is not implemented must refuse, never return a value."""
    from op_table import SPECS
    samples = SPECS[name].samples
    assert samples, f"{name} has no sample inputs in tests/op_table.py"
    for ours, _, arrays in samples:
        ts = [tg.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
        y = ours(*ts)
        assert y.requires_grad, f"{name} must record a node whose backward refuses"
        with pytest.raises(RuntimeError, match="not implemented"):
            y.sum().backward()


def test_docs_rules_table_is_up_to_date():
    sys.path.insert(0, os.path.join(REPO, "tools"))
    try:
        import gen_rules_table
    finally:
        sys.path.pop(0)
    path = os.path.join(REPO, "docs", "rules.md")
    have = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    assert have == gen_rules_table.render(), \
        "docs/rules.md is out of date: run `python tools/gen_rules_table.py`"


def test_gen_rules_table_check_mode_exits_nonzero_when_stale(tmp_path):
    stale = tmp_path / "rules.md"
    stale.write_text("old\n")
    tool = os.path.join(REPO, "tools", "gen_rules_table.py")
    args = [sys.executable, tool, "--check", "--out", str(stale)]
    done = subprocess.run(args, capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 1 and "out of date" in done.stderr
    subprocess.run([sys.executable, tool, "--out", str(stale)], check=True, cwd=REPO)
    assert subprocess.run(args, capture_output=True, cwd=REPO).returncode == 0

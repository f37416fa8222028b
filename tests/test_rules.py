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
``not differentiable (integer result)``, ``(bool result)`` or ``(piecewise constant)``.
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
}
NOT_DIFFERENTIABLE = re.compile(
    r"not differentiable \(((integer|bool) result|piecewise constant)\)")
_NUMBER = re.compile(r"\b\d+(\.\d*)?(e-?\d+)?\b")
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")

# Rules that do not conform today, each with a conforming rewrite (checked below). Some
# need a forward parameter renamed, said in the comment; the lead applies them and deletes
# the entry.
KNOWN_NONCONFORMING = {
    # "gx = expand(gy) split evenly among the maxima of each group"
    "amax": "gx = expand(gy) * (x == expand(y)) / sum(x == expand(y), dims)",
    "amin": "gx = expand(gy) * (x == expand(y)) / sum(x == expand(y), dims)",
    # "not differentiable (integer-valued)"; sign's "gx = 0" on a non-differentiable op
    "floor_divide": "not differentiable (piecewise constant)",
    "sign": "not differentiable (piecewise constant)",
    # "gx1 = -gy * floor(x0 / x1)": floor is not an op
    "remainder": "gx0 = gy; gx1 = -gy * floor_divide(x0, x1)",
    # "gx = avg_pool_adjoint(gy): each input gets gy / divisor from every window ..."
    "avg_pool1d": "gx = avg_pool1d_adjoint(gy, divisor)",
    "avg_pool2d": "gx = avg_pool2d_adjoint(gy, divisor)",
    "avg_pool3d": "gx = avg_pool3d_adjoint(gy, divisor)",
    # adjoints: "ggy = avg_pool1d(gz)"; the output gradient is gy, the input is g
    "avg_pool1d_adjoint": "gg = avg_pool1d(gy, divisor)",
    "avg_pool2d_adjoint": "gg = avg_pool2d(gy, divisor)",
    "avg_pool3d_adjoint": "gg = avg_pool3d(gy, divisor)",
    "max_pool1d_scatter": "gg = max_pool1d_gather(gy, arg)",
    "max_pool2d_scatter": "gg = max_pool2d_gather(gy, arg)",
    "max_pool3d_scatter": "gg = max_pool3d_gather(gy, arg)",
    "pool_scatter": "gg = pool_gather(gy, indices)",
    # "gx = max_poolNd_scatter(gy): each gradient goes to the first maximum of its window"
    # (the tie rule belongs in the docstring)
    "max_pool1d": "gx = max_pool1d_scatter(gy)",
    "max_pool2d": "gx = max_pool2d_scatter(gy)",
    "max_pool3d": "gx = max_pool3d_scatter(gy)",
    # "gx_i = the slice of gy that x_i filled" (the parameter is xs)
    "cat": "gxs[i] = getitem(gy, start : start + xs[i].shape[dim] along dim)",
    # "gx_i = gy selected at index i along dim"
    "stack": "gxs[i] = getitem(gy, i along dim)",
    # conv: the bias parameter is ``bias`` (gb is not a name here)
    "conv1d": "gx = conv_transpose1d(gy, w); gw = conv1d_weight(x, gy); "
              "gbias = sum_to(gy, bias.shape)",
    "conv2d": "gx = conv_transpose2d(gy, w); gw = conv2d_weight(x, gy); "
              "gbias = sum_to(gy, bias.shape)",
    "conv3d": "gx = conv_transpose3d(gy, w); gw = conv3d_weight(x, gy); "
              "gbias = sum_to(gy, bias.shape)",
    # "gx = conv_transpose1d(gy, ggw); ggy = conv1d(x, ggw)": ggw is the output gradient,
    # and the parameter ``gy`` clashes with it; rename the parameter gy -> g
    "conv1d_weight": ("gx = conv_transpose1d(g, gy); gg = conv1d(x, gy)", {"gy": "g"}),
    "conv2d_weight": ("gx = conv_transpose2d(g, gy); gg = conv2d(x, gy)", {"gy": "g"}),
    "conv3d_weight": ("gx = conv_transpose3d(g, gy); gg = conv3d(x, gy)", {"gy": "g"}),
    # "ggy = conv1d(gz, w); gw = conv1d_weight(gz, gy)": rename the parameter gy -> x
    "conv_transpose1d": ("gx = conv1d(gy, w); gw = conv1d_weight(gy, x); "
                         "gbias = sum_to(gy, bias.shape)", {"gy": "x"}),
    "conv_transpose2d": ("gx = conv2d(gy, w); gw = conv2d_weight(gy, x); "
                         "gbias = sum_to(gy, bias.shape)", {"gy": "x"}),
    "conv_transpose3d": ("gx = conv3d(gy, w); gw = conv3d_weight(gy, x); "
                         "gbias = sum_to(gy, bias.shape)", {"gy": "x"}),
    # "gx = upsample(gy, factor) to x's size"
    "downsample": "gx = upsample(gy, factor, x.shape)",
    # "gx = index_add(zeros like x, index, gy)": index_add takes g, index, shape
    "getitem": "gx = index_add(gy, index, advanced, x.shape)",
    "index_add": "gg = getitem(gy, index, advanced)",
    # "gx = gy at the first maximum of each row along dim, else 0"
    "max_dim": "gx = gy where argmax(x) along dim, else 0",  # argmax: the first maximum
    "min_dim": "gx = gy where argmin(x) along dim, else 0",
    # "gy goes to the larger input; split evenly on ties"
    "maximum": "gx0 = gy * ((x0 > x1) + (x0 == x1) / 2); gx1 = gy * ((x1 > x0) + (x0 == x1) / 2)",
    "minimum": "gx0 = gy * ((x0 < x1) + (x0 == x1) / 2); gx1 = gy * ((x1 < x0) + (x0 == x1) / 2)",
    # "gx = gy cropped back to x (the padding's gradient is dropped)"
    "pad": "gx = getitem(gy, before : -after)",
    # "gx = permute(gy, inverse permutation)"
    "permute": "gx = permute(gy, argsort(dims))",
    # "gx = expand(gy) * (product of the other elements)"
    "prod": "gx = expand(gy) * prod_others(x, dims)",
    # "double backward not implemented when x has zeros" (a limitation, not a rule)
    "prod_others": "gx = prod_others(x, dims) * (sum(gy / x, dims) - gy / x) where x != 0",
    # sigmoid_backward / tanh_backward: params (gy, y) clash with the output gradient and
    # output; rename them (g, t) (t: the forward's output)
    "sigmoid_backward": ("gg = gy * t * (1 - t); gt = gy * g * (1 - 2 * t)",
                         {"gy": "g", "y": "t"}),
    "tanh_backward": ("gg = gy * (1 - t**2); gt = -2 * gy * g * t", {"gy": "g", "y": "t"}),
    # "gx = expand(gy) to x's shape"
    "sum": "gx = expand(gy, x.shape)",
    # "gx = gy moved back to x's dtype and device"
    "to": "gx = to(gy, x.dtype, x.device)",
    # "gx0 = gy where cond, else 0; ...": the parameter is condition
    "where": "gx0 = gy where condition, else 0; gx1 = gy where not condition, else 0",
    # "gx0 = gy @ x1^T; gx1 = x0^T @ gy (batch dims summed back)"
    "matmul": "gx0 = sum_to(gy @ x1^T, x0.shape); gx1 = sum_to(x0^T @ gy, x1.shape)",
}


def unknown_names(name):
    """The names in ``name``'s rule outside the vocabulary (empty when it conforms)."""
    op = tg.ops.registry[name]
    return _unknown(op, op.rule)


def _unknown(op, rule, renames=None):
    """Names of ``rule`` outside the vocabulary of ``op`` (its parameters renamed first)."""
    if not op.differentiable:
        return set() if NOT_DIFFERENTIABLE.fullmatch(rule) else {rule}
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
    # a parameter called gy clashes with the output gradient until it is renamed
    conv_w = tg.ops.registry["conv2d_weight"]
    assert _unknown(conv_w, "gg = conv2d(x, gy)") == {"gg"}
    assert _unknown(conv_w, "gg = conv2d(x, gy)", {"gy": "g"}) == set()


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

"""Random programs against PyTorch (differential testing).

A program is a random DAG of 5-30 ops over float64 leaves, written as Python source that runs
unchanged on both engines: ``lib`` is ``tinygrad_cnn`` or ``torch`` and ``F`` the matching
functional module. It is built one op at a time while PyTorch evaluates it, so every op is
drawn for the values it will really see: inputs of relu/abs/max/clamp/pooling keep away from
kinks and ties, log/sqrt get positive inputs, divisors keep away from 0. Then both engines run
it; the checks are every intermediate value, every leaf gradient under a random upstream
gradient and, on a subset, a second-order gradient (grad of the squared gradient norm, built
with ``create_graph=True``).

A failure prints the program as code and its seed; replay one with
``TINYGRAD_CNN_DIFF_SEED=<seed> pytest tests/test_differential.py -k replay``.
Default run: ``N_DEFAULT`` programs; ``TINYGRAD_CNN_HEAVY=1``: ``N_HEAVY``.
``python tests/test_differential.py LO HI [--shrink]`` runs seeds LO..HI-1 and prints what
they cover and what failed (with --shrink: each failure cut down to a minimal program).
"""
from __future__ import annotations

import os
import sys
import warnings
from collections import Counter

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
import tinygrad_cnn as tg  # noqa: E402
from helpers import requires_torch, torch  # noqa: E402

pytestmark = [requires_torch, pytest.mark.torch]

N_DEFAULT, N_HEAVY = 240, 3000
HEAVY = os.environ.get("TINYGRAD_CNN_HEAVY") == "1"
GAP = 1e-3        # distance kept from kinks and between competing values
MAX_NUMEL = 360   # keeps every intermediate small (and the run quick)
ATOL, RTOL = 1e-8, 1e-6


def leaf_array(shape, seed, low, high):
    return np.random.default_rng(seed).uniform(low, high, size=shape)


def namespace(lib_name):
    """What a program sees: ``lib``, ``F``, ``leaf(...)`` (requires grad) and ``const(...)``."""
    if lib_name == "tg":
        import tinygrad_cnn.functional as F
        return dict(lib=tg, F=F,
                    leaf=lambda *a: tg.tensor(leaf_array(*a), requires_grad=True),
                    const=lambda *a: tg.tensor(leaf_array(*a)))
    return dict(lib=torch, F=torch.nn.functional,
                leaf=lambda *a: torch.tensor(leaf_array(*a), requires_grad=True),
                const=lambda *a: torch.tensor(leaf_array(*a)))


class Program:
    def __init__(self, seed):
        self.seed, self.lines, self.leaves, self.sinks = seed, [], [], []
        self.families = Counter()
        self.second_order = False

    def code(self):
        head = (f"# differential program, seed {self.seed}; run with lib=torch/tinygrad_cnn,\n"
                f"# F=its functional, leaf/const(shape, seed, low, high) -> "
                f"np.random.default_rng(seed).uniform(low, high, shape) as a tensor\n")
        tail = f"\noutputs = [{', '.join(self.sinks)}]  # backward with random upstream grads"
        return head + "\n".join(self.lines) + tail


def _gaps_ok(t, dims=None):
    """No two values compared by max/min/pool are within GAP (all values, or along dims)."""
    t = t.detach()
    if dims is None:
        v = t.flatten()
    else:
        dest = tuple(range(t.ndim - len(dims), t.ndim))
        v = t.movedim(tuple(dims), dest).flatten(t.ndim - len(dims)) if t.ndim else t.flatten()
    s = v.sort(-1).values
    return s.shape[-1] < 2 or bool((s[..., 1:] - s[..., :-1]).abs().min() > GAP)


def _away(t, points):
    return all(bool(((t.detach() - p).abs() > GAP).all()) for p in points)


class Generator:
    """Draws one program: each op family below returns a source expression or None."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.prog = Program(seed)
        self.env = namespace("torch")
        self.vars = []              # names of float tensors requiring grad, newest last
        self.used = set()
        self.n_leaf = 0

    # ---------------------------------------------------------------- helpers
    def choice(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def leaf(self, shape, low=-2.0, high=2.0, grad=True):
        name = f"x{self.n_leaf}"
        self.n_leaf += 1
        kind = "leaf" if grad else "const"
        line = (f"{name} = {kind}({tuple(int(s) for s in shape)}, "
                f"{int(self.rng.integers(1 << 30))}, {low}, {high})")
        exec(line, self.env)
        self.prog.lines.append(line)
        if grad:
            self.prog.leaves.append(name)
        return name

    def pick(self, ok=lambda t: True):
        """A recent variable satisfying ``ok`` (newer ones are likelier: deeper programs)."""
        cands = [v for v in self.vars if ok(self.env[v])]
        if not cands:
            return None
        w = np.arange(1, len(cands) + 1, dtype=float) ** 2
        return cands[int(self.rng.choice(len(cands), p=w / w.sum()))]

    def val(self, name):
        return self.env[name].detach()

    def emit(self, expr, family, inputs):
        """Evaluate ``expr`` in torch; keep it when the result is small, finite, moderate."""
        name = f"v{len(self.prog.lines)}"
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch's note on padding='same' copies
                out = eval(expr, self.env)
        except (RuntimeError, ValueError, IndexError):
            return False  # a drawn combination torch refuses (e.g. a size too small)
        if not isinstance(out, torch.Tensor) or out.dtype != torch.float64 or \
                not 0 < out.numel() <= MAX_NUMEL or not bool(out.isfinite().all()) or \
                float(out.detach().abs().max()) > 1e3:
            return False
        self.env[name] = out
        self.prog.lines.append(f"{name} = {expr}")
        self.vars.append(name)
        self.used.update(inputs)
        self.prog.families[family] += 1
        return True

    def operand_like(self, a):
        """A second operand broadcasting with ``a``: an existing variable or a new leaf."""
        shape = tuple(self.val(a).shape)
        other = self.pick(lambda t: _broadcasts(tuple(t.shape), shape) and
                          len(t.shape) <= len(shape))
        if other is not None and self.rng.random() < 0.5:
            return other
        k = int(self.rng.integers(0, len(shape) + 1))
        sub = [s if self.rng.random() < 0.6 else 1 for s in shape[k:]]
        return self.leaf(sub)

    # ---------------------------------------------------------------- op families
    def arith(self):
        a = self.pick()
        op = self.choice(["+", "-", "*", "/", "max", "min", "where", "scalar", "pow"])
        b = self.operand_like(a)
        va, vb = self.val(a), self.val(b)
        if op in "+-*":
            return f"{a} {op} {b}", [a, b]
        if op == "/":
            return (f"{a} / {b}", [a, b]) if _away(vb, [0.0]) and vb.abs().min() > 0.2 else None
        if op in ("max", "min"):
            ok = bool(((va - vb).abs() > GAP).all())
            return (f"lib.{op}imum({a}, {b})", [a, b]) if ok else None
        if op == "where":
            return f"lib.where({a} > {b}, {a}, {b} * 0.5)", [a, b]
        if op == "scalar":
            c = round(float(self.rng.uniform(0.5, 2.0)), 3)
            form = self.choice(["{a} * {c}", "{c} - {a}", "{a} + {c}", "{c} / {a}"])
            if form == "{c} / {a}" and not bool((va.abs() > 0.2).all()):
                return None
            return form.format(a=a, c=c), [a]
        if bool((va > 0.2).all()) and float(vb.abs().max()) < 3:
            return f"{a} ** {b}", [a, b]
        return self.choice([f"{a} ** 2", f"{a} ** 3"]), [a]

    def unary(self):
        a = self.pick()
        va = self.val(a)
        op = self.choice(["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu",
                          "abs", "neg", "clamp", "gelu", "elu", "leaky_relu"])
        if op == "exp":
            return (f"{a}.exp()", [a]) if float(va.max()) < 4 else None
        if op in ("log", "sqrt"):
            return (f"{a}.{op}()", [a]) if float(va.min()) > 0.1 else None
        if op in ("relu", "abs", "elu", "leaky_relu") and not _away(va, [0.0]):
            return None
        if op in ("elu", "leaky_relu", "gelu"):
            return f"F.{op}({a})", [a]
        if op == "clamp":
            lo, hi = sorted(round(float(v), 3) for v in self.rng.uniform(-1.5, 1.5, 2))
            return (f"{a}.clamp({lo}, {hi})", [a]) if _away(va, [lo, hi]) else None
        return (f"-{a}", [a]) if op == "neg" else (f"{a}.{op}()", [a])

    def reduce(self):
        a = self.pick(lambda t: t.ndim >= 1)
        if a is None:
            return None
        va = self.val(a)
        nd = va.ndim
        op = self.choice(["sum", "mean", "var", "std", "logsumexp", "amax", "amin", "prod",
                          "max_all"])
        k = int(self.rng.integers(1, nd + 1))
        dims = tuple(sorted(int(d) for d in self.rng.choice(nd, k, replace=False)))
        dim = dims[0] - nd if (k == 1 and self.rng.random() < 0.5) else dims
        keep = bool(self.rng.random() < 0.5)
        count = int(np.prod([va.shape[d] for d in dims]))
        if op in ("amax", "amin") and not _gaps_ok(va, dims):
            return None
        if op == "max_all":  # no dim: the value (the (values, indices) form is bug 1 below)
            return (f"lib.{self.choice(['max', 'min'])}({a})", [a]) if _gaps_ok(va) else None
        if op in ("var", "std") and count < 2:
            return None
        if op == "std" and not bool((va.std(dims) > GAP).all()):  # sqrt's kink at 0
            return None
        if op == "prod" and (count > 6 or not bool((va.abs() > 0.3).all())):
            return None
        if op == "prod":  # torch.prod takes one int dim
            return f"{a}.prod({dims[0]}, keepdim={keep})", [a]
        if op == "logsumexp":
            return f"{a}.logsumexp({dim}, keepdim={keep})", [a]
        return f"{a}.{op}({dim}, keepdim={keep})", [a]

    def shape(self):
        a = self.pick()
        va = self.val(a)
        s, nd = tuple(va.shape), va.ndim
        op = self.choice(["reshape", "permute", "transpose", "expand", "squeeze", "unsqueeze",
                          "flatten", "cat", "stack", "slice", "int_index", "mask", "chunk",
                          "flip"])
        if op == "reshape":
            return f"{a}.reshape({_factor(self.rng, va.numel())})", [a]
        if op == "unsqueeze" or nd == 0:
            return f"{a}.unsqueeze({int(self.rng.integers(-nd - 1, nd + 1))})", [a]
        d0, d1 = (int(d) for d in self.rng.integers(0, nd, 2))
        if op == "permute":
            return f"{a}.permute{tuple(int(p) for p in self.rng.permutation(nd))}", [a]
        if op == "transpose":
            return f"{a}.transpose({d0}, {d1 - nd})", [a]
        if op == "expand":
            t = [int(self.rng.integers(2, 4)) if n == 1 else (-1 if self.rng.random() < .5
                                                                else n) for n in s]
            return f"{a}.expand({', '.join(map(str, t))})", [a]
        if op == "squeeze":
            ones = [i for i, n in enumerate(s) if n == 1]
            return (f"{a}.squeeze({self.choice(ones)})", [a]) if ones else (f"{a}.squeeze()", [a])
        if op == "flatten":
            lo, hi = sorted((d0, d1))
            return f"{a}.flatten({lo}, {hi})", [a]
        if op in ("cat", "stack"):
            b = self.pick(lambda t: tuple(t.shape) == s and t.ndim == nd) or a
            if op == "cat":
                c = self.leaf(s[:d0] + (int(self.rng.integers(1, 3)),) + s[d0 + 1:])
                return f"lib.cat([{a}, {c}, {b}], dim={d0})", [a, b, c]
            return f"lib.stack([{a}, {b}], dim={int(self.rng.integers(-nd - 1, nd + 1))})", [a, b]
        if op == "slice":
            parts = [self.choice([":", "1:", "::2", "-2:", "1::2", "0"]) if n > 1 else ":"
                     for n in s]
            return f"{a}[{', '.join(parts)}]", [a]
        if op == "int_index":  # repeated indices: gradients must accumulate
            idx = [int(i) for i in self.rng.integers(-s[d0], s[d0], int(self.rng.integers(1, 5)))]
            return f"{a}[{':, ' * d0}{idx}]", [a]
        if op == "mask":
            c = round(float(self.rng.uniform(-1, 1)), 3)
            return (f"{a}[{a} > {c}]", [a]) if _away(va, [c]) else None
        if op == "chunk":
            return f"{a}.chunk({int(self.rng.integers(1, 4))}, {d0})[0]", [a]
        return f"{a}.flip({d0})", [a]

    def matmul(self):
        a = self.pick(lambda t: t.ndim >= 1)
        if a is None:
            return None
        s = tuple(self.val(a).shape)
        m = int(self.rng.integers(1, 5))
        form = self.choice(["right", "left", "batched"])
        if form == "right" or len(s) == 1:
            return f"{a} @ {self.leaf((s[-1], m) if self.rng.random() < .8 else (s[-1],))}", [a]
        if form == "left":
            return f"{self.leaf((m, s[-2]))} @ {a}", [a]
        return f"{a} @ {self.leaf((2,) + (1,) * (len(s) - 2) + (s[-1], m))}", [a]

    def image(self, nd):
        """A variable shaped (n, c, *spatial) with nd spatial dims, or a new leaf."""
        a = self.pick(lambda t: t.ndim == nd + 2 and min(t.shape[2:]) >= 3)
        if a is None or self.rng.random() < 0.3:
            n, c = int(self.rng.integers(1, 3)), int(self.rng.integers(1, 5))
            a = self.leaf((n, c) + tuple(int(v) for v in self.rng.integers(3, 7, nd)))
        return a

    def conv(self):
        nd = int(self.rng.integers(1, 3))
        a = self.image(nd)
        s = tuple(self.val(a).shape)
        c = s[1]
        g = self.choice([d for d in (1, 2, 3) if c % d == 0])
        f = g * int(self.rng.integers(1, 3))
        k = tuple(int(v) for v in self.rng.integers(1, 4, nd))
        stride, dil = int(self.rng.integers(1, 3)), int(self.rng.integers(1, 3))
        pad = self.choice(["0", "1", "'same'"]) if stride == 1 else self.choice(["0", "1"])
        bias = f", {self.leaf((f,))}" if self.rng.random() < 0.5 else ""
        if self.rng.random() < 0.3 and pad != "'same'":
            w = self.leaf((c, f // g) + k)
            return (f"F.conv_transpose{nd}d({a}, {w}{bias}, stride={stride}, padding={pad}, "
                    f"groups={g}, dilation={dil})"), [a]
        w = self.leaf((f, c // g) + k)
        return (f"F.conv{nd}d({a}, {w}{bias}, stride={stride}, padding={pad}, "
                f"dilation={dil}, groups={g})"), [a]

    def pool(self):
        nd = int(self.rng.integers(1, 3))
        a = self.image(nd)
        k = int(self.rng.integers(1, 4))
        st = int(self.rng.integers(1, 3))
        p = int(self.rng.integers(0, k // 2 + 1))
        ceil = bool(self.rng.random() < 0.3)
        op = self.choice(["max", "avg", "adaptive"])
        if op == "max":
            d = int(self.rng.integers(1, 3))
            if not _gaps_ok(self.val(a)) or d * (k - 1) + 1 > min(self.val(a).shape[2:]) + 2 * p:
                return None  # a window wider than the padded input: bug 6
            return (f"F.max_pool{nd}d({a}, {k}, stride={st}, padding={p}, ceil_mode={ceil}, "
                    f"dilation={d})"), [a]
        if op == "avg":
            cip = bool(self.rng.random() < 0.5)
            return (f"F.avg_pool{nd}d({a}, {k}, stride={st}, padding={p}, ceil_mode={ceil}, "
                    f"count_include_pad={cip})"), [a]
        return f"F.adaptive_avg_pool{nd}d({a}, {int(self.rng.integers(1, 4))})", [a]

    def resample(self):
        nd = int(self.rng.integers(1, 3))
        a = self.image(nd)
        s = tuple(self.val(a).shape)
        op = self.choice(["nearest", "linear", "pad"])
        if op == "pad":
            mode = self.choice(["constant", "reflect", "replicate", "circular"])
            lo = -1 if mode == "constant" else 0
            pads = tuple(int(v) for v in self.rng.integers(lo, 3, 2 * nd))
            if mode != "constant" and max(pads) >= min(s[2:]):
                return None
            value = ", value=0.5" if mode == "constant" else ""
            return f"F.pad({a}, {pads}, mode='{mode}'{value})", [a]
        size = self.choice(["scale_factor=2", f"size={tuple(int(v) for v in s[2:][::-1])}"])
        if op == "nearest":
            return f"F.interpolate({a}, {size}, mode='nearest')", [a]
        mode = "linear" if nd == 1 else "bilinear"
        ac = bool(self.rng.random() < 0.5)
        return f"F.interpolate({a}, {size}, mode='{mode}', align_corners={ac})", [a]

    def softmax_loss(self):
        a = self.pick(lambda t: t.ndim >= 1)
        if a is None:
            return None
        va = self.val(a)
        op = self.choice(["softmax", "log_softmax", "mse", "l1", "ce", "nll", "bce_logits",
                          "bce"])
        red = self.choice(["'mean'", "'sum'", "'none'"])
        if op in ("softmax", "log_softmax"):
            return f"F.{op}({a}, dim={int(self.rng.integers(-va.ndim, va.ndim))})", [a]
        if op in ("mse", "l1"):
            b = self.leaf(tuple(va.shape))
            if op == "l1" and not bool(((va - self.val(b)).abs() > GAP).all()):
                return None
            return f"F.{op}_loss({a}, {b}, reduction={red})", [a, b]
        if op in ("bce_logits", "bce"):
            if op == "bce" and float(va.abs().max()) > 10:  # saturated sigmoid: bug 2
                return None
            if op == "bce" and self.prog.second_order:
                # torch's own double backward of binary_cross_entropy is off by up to 1e-4
                # relative (ours matches the closed form 2 (p - t) p (1 - p) to 1e-12;
                # test_bce_second_order_closed_form below), so torch is no oracle there
                return None
            t = self.leaf(tuple(va.shape), 0.0, 1.0, grad=False)
            x = f"{a}.sigmoid()" if op == "bce" else a
            fn = "binary_cross_entropy" + ("_with_logits" if op == "bce_logits" else "")
            return f"F.{fn}({x}, {t}, reduction={red})", [a]
        if va.ndim != 2:
            return None
        n, c = va.shape
        target = [int(v) for v in self.rng.integers(0, c, n)]
        if op == "nll":
            return f"F.nll_loss(F.log_softmax({a}, 1), lib.tensor({target}), reduction={red})", [a]
        ls = self.choice([0.0, 0.1])
        return (f"F.cross_entropy({a}, lib.tensor({target}), reduction={red}, "
                f"label_smoothing={ls})"), [a]

    FAMILIES = ("arith", "unary", "reduce", "shape", "matmul", "conv", "pool", "resample",
                "softmax_loss")

    def build(self):
        for _ in range(int(self.rng.integers(1, 4))):
            nd = int(self.rng.integers(0, 5))
            self.vars.append(self.leaf(tuple(int(v) for v in self.rng.integers(1, 5, nd))))
        self.prog.second_order = bool(self.rng.random() < 0.35)
        target = int(self.rng.integers(5, 31))
        tries = 0
        while sum(self.prog.families.values()) < target and tries < 400:
            tries += 1
            family = self.choice(self.FAMILIES)
            made = getattr(self, family)()
            if made is not None:
                self.emit(made[0], family, made[1])
        # the outputs are the variables nothing else consumed (leaves included only if unused)
        self.prog.sinks = [v for v in self.vars if v not in self.used and v.startswith("v")]
        if not self.prog.sinks:
            self.prog.sinks = [self.vars[-1]]
        return self.prog


def _broadcasts(a, b):
    try:
        return np.broadcast_shapes(a, b) == b
    except ValueError:
        return False


def _factor(rng, n):
    """A random shape with n elements (1-4 dims, one of them maybe -1)."""
    dims, rest = [], n
    for _ in range(int(rng.integers(0, 3))):
        divs = [d for d in range(1, rest + 1) if rest % d == 0]
        d = divs[int(rng.integers(len(divs)))]
        dims.append(d)
        rest //= d
    dims.append(rest)
    if rng.random() < 0.3:
        dims[int(rng.integers(len(dims)))] = -1
    return tuple(dims) if len(dims) > 1 else f"({dims[0]},)"


# ---------------------------------------------------------------- running and comparing
def run(prog, lib_name):
    ns = namespace(lib_name)
    exec("\n".join(prog.lines), ns)
    return ns


def _np(t):
    if t is None:
        return None
    # force: torch's double backward may hand back a "ZeroTensor"
    return t.detach().numpy(force=True) if isinstance(t, torch.Tensor) else t.numpy()


def _close(ours, ref, what):
    ours, ref = _np(ours), _np(ref)
    if ours is None or ref is None:  # "no gradient" and zeros are the same answer
        other = ref if ours is None else ours
        assert other is None or not np.abs(other).max(initial=0) > ATOL, \
            f"{what}: one engine gives no gradient, the other a nonzero one"
        return
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape} vs torch {ref.shape}"
    np.testing.assert_allclose(ours, ref, atol=ATOL, rtol=RTOL, err_msg=what)


def _upstream(prog, ns):
    rng = np.random.default_rng(prog.seed + 1)
    return [rng.standard_normal(tuple(ns[s].shape)) for s in prog.sinks]


def _second_order(prog, ns, lib, gs):
    leaves = [ns[n] for n in prog.leaves]
    loss = sum((ns[s] * lib.tensor(g)).sum() for s, g in zip(prog.sinks, gs))
    g1 = lib.autograd.grad(loss, leaves, create_graph=True, allow_unused=True)
    gn = sum((g * g).sum() for g in g1 if g is not None)
    if not getattr(gn, "requires_grad", False):
        return g1, [None] * len(leaves)
    return g1, lib.autograd.grad(gn, leaves, allow_unused=True)


def check_program(prog):
    """Run ``prog`` on both engines; compare values, leaf gradients and (maybe) second order."""
    ref = run(prog, "torch")
    ours = run(prog, "tg")
    names = [ln.split(" = ")[0] for ln in prog.lines if ln.startswith("v")]
    for n in names:
        _close(ours[n], ref[n], f"forward value of {n}")
    gs = _upstream(prog, ref)
    torch.autograd.backward([ref[s] for s in prog.sinks], [torch.tensor(g) for g in gs])
    tg.autograd.backward([ours[s] for s in prog.sinks], [tg.tensor(g) for g in gs])
    for n in prog.leaves:
        _close(ours[n].grad, ref[n].grad, f"gradient of leaf {n}")
    if prog.second_order:
        ref, ours = run(prog, "torch"), run(prog, "tg")
        (r1, r2), (o1, o2) = _second_order(prog, ref, torch, gs), _second_order(prog, ours, tg, gs)
        for n, a, b in zip(prog.leaves, o1, r1):
            _close(a, b, f"create_graph gradient of leaf {n}")
        for n, a, b in zip(prog.leaves, o2, r2):
            _close(a, b, f"second-order gradient (of the gradient norm) of leaf {n}")


def check_seed(seed):
    prog = Generator(seed).build()
    try:
        check_program(prog)
    except Exception as exc:  # any failure, ours or a mismatch: show the program
        replay = f"TINYGRAD_CNN_DIFF_SEED={seed} pytest tests/test_differential.py -k replay"
        raise AssertionError(f"{type(exc).__name__}: {exc}\n\n{prog.code()}\n\n"
                             f"replay: {replay}") from exc
    return prog


SEEDS = range(N_HEAVY if HEAVY else N_DEFAULT)


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """torch's thread pool on tiny tensors is all overhead (and fights the other workers on
    a shared machine): one thread makes the run ~6x cheaper. Restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_program_matches_torch(seed):
    check_seed(seed)


@pytest.mark.skipif("TINYGRAD_CNN_DIFF_SEED" not in os.environ,
                    reason="set TINYGRAD_CNN_DIFF_SEED=<seed> to replay one program")
def test_replay():
    prog = check_seed(int(os.environ["TINYGRAD_CNN_DIFF_SEED"]))
    print(prog.code())


def test_programs_cover_every_family():
    """The generator really draws every family, and programs of the promised length."""
    progs = [Generator(s).build() for s in range(40)]
    seen = Counter()
    for p in progs:
        seen.update(p.families)
    assert set(seen) == set(Generator.FAMILIES), seen
    lengths = [sum(p.families.values()) for p in progs]
    assert min(lengths) >= 5 and max(lengths) <= 30, lengths
    assert any(p.second_order for p in progs)


# ---------------------------------------------------------------- what the programs found
# Minimal reproductions of the bugs found; each op combination is kept out of the random
# programs (see the generator) until the op's owner fixes it and removes the xfail.
def test_bce_second_order_closed_form():
    """Why bce is left out of second-order programs: here the oracle is the closed form."""
    x = np.linspace(-9, 9, 13)
    t = np.random.default_rng(0).uniform(0, 1, 13)
    a = tg.tensor(x, requires_grad=True)
    loss = tg.functional.binary_cross_entropy(a.sigmoid(), tg.tensor(t), reduction="sum")
    (g,) = tg.autograd.grad(loss, [a], create_graph=True)
    (gg,) = tg.autograd.grad((g * g).sum(), [a])
    p = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(g.numpy(), p - t, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(gg.numpy(), 2 * (p - t) * p * (1 - p), rtol=1e-9, atol=1e-14)


def test_bug1_max_with_dim_returns_values_and_indices():
    x = np.array([[0.5, 2.0, -1.0], [3.0, 0.1, 0.2]])
    values, indices = tg.tensor(x).max(dim=1)
    assert values.shape == (2,) and indices.tolist() == [1, 0]
    np.testing.assert_array_equal(tg.max(tg.tensor(x), 1).indices.numpy(), [1, 0])


def test_bug2_bce_gradient_at_saturated_probabilities():
    p = np.array([1.0, 0.0, 0.5])
    t = np.array([0.3, 0.6, 0.5])
    ours = tg.tensor(p, requires_grad=True)
    tg.functional.binary_cross_entropy(ours, tg.tensor(t), reduction="sum").backward()
    ref = torch.tensor(p, requires_grad=True)
    torch.nn.functional.binary_cross_entropy(ref, torch.tensor(t), reduction="sum").backward()
    np.testing.assert_allclose(ours.grad.numpy(), ref.grad.numpy(), rtol=1e-6)


def test_bug3_inplace_activation_writes_its_input():
    for fn in (tg.functional.relu, tg.functional.leaky_relu, tg.functional.elu):
        x = tg.tensor(np.array([-1.0, 2.0]))
        out = fn(x, inplace=True)
        ref = getattr(torch.nn.functional, fn.__name__)(torch.tensor([-1.0, 2.0],
                                                                     dtype=torch.float64))
        np.testing.assert_allclose(x.numpy(), ref.numpy(), err_msg=fn.__name__)
        np.testing.assert_allclose(out.numpy(), ref.numpy(), err_msg=fn.__name__)


def test_bug4_sign_has_a_zero_gradient():
    x = tg.tensor(np.array([0.5, -1.0]), requires_grad=True)
    y = x.sign()
    assert y.requires_grad
    (y * x).sum().backward()  # d/dx (sign(x) x) = sign(x), as torch
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, -1.0])


def test_bug5_non_persistent_buffer_stays_out_of_the_state_dict():
    m = tg.nn.Module()
    m.register_buffer("scratch", tg.zeros(2), persistent=False)
    assert "scratch" not in m.state_dict()
    ref = torch.nn.Module()
    ref.register_buffer("scratch", torch.zeros(2), persistent=False)
    assert "scratch" not in ref.state_dict()


def test_bug6_ceil_mode_window_wider_than_the_input():
    x = np.random.default_rng(0).uniform(-2, 2, (1, 2, 4))
    kw = dict(kernel_size=3, stride=2, padding=0, ceil_mode=True, dilation=2)
    ref = torch.nn.functional.max_pool1d(torch.tensor(x), **kw)
    ours = tg.functional.max_pool1d(tg.tensor(x), **kw)
    np.testing.assert_allclose(ours.numpy(), ref.numpy())


def _fails(prog):
    try:
        run(prog, "torch")  # a shrunk program must still be valid for torch
    except Exception:
        return False
    try:
        check_program(prog)
    except Exception:
        return True
    return False


def shrink(prog):
    """Drop lines (and then unused leaves) while the program still fails: a minimal repro."""
    import copy
    import re
    changed = True
    while changed:
        changed = False
        for i in range(len(prog.lines) - 1, -1, -1):
            cand = copy.copy(prog)
            cand.lines = prog.lines[:i] + prog.lines[i + 1:]
            defined = [ln.split(" = ")[0] for ln in cand.lines]
            refs = Counter(w for ln in cand.lines for w in re.findall(r"\b[vx]\d+\b",
                                                                        ln.split(" = ", 1)[1]))
            cand.leaves = [n for n in prog.leaves if n in defined]
            cand.sinks = [n for n in defined if n.startswith("v") and not refs[n]]
            if cand.sinks and _fails(cand):
                prog, changed = cand, True
    return prog


def survey(seeds, minimize=True):
    """Run n programs and print what they covered and which failed (for the report)."""
    fams, ops, failed = Counter(), 0, []
    seeds = list(seeds)
    n = len(seeds)
    for seed in seeds:
        try:
            prog = check_seed(seed)
        except AssertionError as exc:
            failed.append((seed, " ".join(str(exc).split("\n\n")[0].split())[:160]))
            if minimize:
                print(f"--- seed {seed}, minimized:\n{shrink(Generator(seed).build()).code()}")
            continue
        fams.update(prog.families)
        ops += sum(prog.families.values())
    print(f"{n} programs, {n - len(failed)} passed, {ops} ops in passing programs")
    print("ops by family:", dict(fams))
    for seed, msg in failed:
        print(f"seed {seed}: {msg}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    lo, hi = (0, N_DEFAULT) if len(sys.argv) < 3 else (int(sys.argv[1]), int(sys.argv[2]))
    survey(range(lo, hi), minimize="--shrink" in sys.argv)

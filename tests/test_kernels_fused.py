"""The fused kernels (backend/kernels/fused_*.py): the NumPy versions against PyTorch on the
CPU (optimizer trajectories, cross-entropy forward and backward, ReLU backward, the target
check), and the CUDA versions against the NumPy versions on random shapes and edge cases
(``-m cuda``, skipped without a GPU)."""
import math

import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.functional as F
from helpers import requires_torch, torch
from tinygrad_cnn.backend.kernels import fused_numpy as fn

needs_cuda = pytest.mark.skipif(not tg.cuda.is_available(), reason="needs a CUDA GPU")

SGD_CASES = [dict(lr=0.1), dict(lr=0.1, momentum=0.9),
             dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01),
             dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1, maximize=True)]
ADAM_CASES = [("Adam", dict(lr=0.01)), ("Adam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
              ("Adam", dict(lr=0.02, amsgrad=True, betas=(0.8, 0.9))),
              ("AdamW", dict(lr=0.01, weight_decay=0.1)),
              ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True))]


def _grads(shape, steps=10, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for _ in range(steps)]


def _sgd_kernel(w, grads, kw, step=fn.sgd_step, zeros=np.zeros_like):
    kw = {"momentum": 0, "dampening": 0, "weight_decay": 0, "nesterov": False,
          "maximize": False, **kw}
    buf = zeros(w) if kw["momentum"] else None
    for i, g in enumerate(grads):
        step(w, g, buf, first=i == 0, **kw)
    return w


def _adam_kernel(w, grads, name, kw, step=fn.adam_step, zeros=np.zeros_like):
    b1, b2 = kw.get("betas", (0.9, 0.999))
    m, v = zeros(w), zeros(w)
    vmax = zeros(w) if kw.get("amsgrad") else None
    lr = kw["lr"]
    for t, g in enumerate(grads, 1):
        step(w, g, m, v, vmax, lr=lr, beta1=b1, beta2=b2, eps=1e-8,
             weight_decay=kw.get("weight_decay", 0), decoupled=name == "AdamW",
             maximize=kw.get("maximize", False), step_size=lr / (1 - b1 ** t),
             bias_correction2_sqrt=math.sqrt(1 - b2 ** t))
    return w


def _torch_run(name, kw, w0, grads):
    p = torch.nn.Parameter(torch.from_numpy(w0.copy()))
    opt = getattr(torch.optim, name)([p], foreach=False, **kw)
    for g in grads:
        p.grad = torch.from_numpy(g.copy())
        opt.step()
    return p.detach().numpy()


@requires_torch
@pytest.mark.parametrize("kw", SGD_CASES, ids=str)
def test_sgd_kernel_10_steps_match_torch(kw):
    w0 = _grads((6, 7), 1, seed=5)[0]
    grads = _grads((6, 7))
    ours = _sgd_kernel(w0.copy(), grads, kw)
    np.testing.assert_allclose(ours, _torch_run("SGD", kw, w0, grads), rtol=2e-6, atol=1e-7)


@requires_torch
@pytest.mark.parametrize("name,kw", ADAM_CASES, ids=str)
def test_adam_kernel_10_steps_match_torch(name, kw):
    w0 = _grads((5, 3), 1, seed=5)[0]
    grads = _grads((5, 3))
    ours = _adam_kernel(w0.copy(), grads, name, kw)
    np.testing.assert_allclose(ours, _torch_run(name, kw, w0, grads), rtol=2e-6, atol=1e-7)


def test_optimizer_state_is_allocated_once_and_updated_in_place():
    p = tg.nn.Parameter(tg.tensor(np.ones((3, 2), dtype=np.float32)))
    opt = tg.optim.Adam([p], lr=0.1, amsgrad=True)
    p.grad = tg.ones(3, 2)
    opt.step()
    before = {k: v for k, v in opt.state[p].items() if hasattr(v, "shape")}
    w = p.array
    opt.step()
    assert p.array is w and all(opt.state[p][k] is v for k, v in before.items())
    assert opt.state[p]["step"] == 2 and isinstance(opt.state[p]["step"], int)


# ---------------------------------------------------------------- cross-entropy and ReLU
CE_CASES = [dict(), dict(weight=True), dict(ignore_index=2), dict(label_smoothing=0.25),
            dict(weight=True, ignore_index=1, label_smoothing=0.1)]


def _ce_inputs(n=6, c=5, d=(), seed=0, ignore=None):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c) + d) * 3
    t = rng.integers(0, c, (n,) + d)
    if ignore is not None:
        t.flat[::3] = ignore
    return x, t, rng.uniform(0.5, 2.0, c)


@requires_torch
@pytest.mark.parametrize("case", CE_CASES, ids=str)
@pytest.mark.parametrize("d", [(), (3,), (2, 2)], ids=str)
def test_cross_entropy_kernels_match_torch_per_row(case, d):
    ign = case.get("ignore_index", -100)
    x, t, w = _ce_inputs(d=d, ignore=case.get("ignore_index"))
    w = w if case.get("weight") else None
    eps = case.get("label_smoothing", 0.0)
    n, c = x.shape[:2]
    x3, t2 = x.reshape(n, c, -1), t.reshape(n, -1)
    loss, stats, wt = fn.cross_entropy_forward(x3, t2, w, ignore_index=ign,
                                               label_smoothing=eps)
    g = np.random.default_rng(1).standard_normal(t2.shape)
    gx = fn.cross_entropy_backward(x3, stats, t2, w, g, ignore_index=ign, label_smoothing=eps)
    tx = torch.from_numpy(x).requires_grad_()
    tl = torch.nn.functional.cross_entropy(
        tx, torch.from_numpy(t), weight=None if w is None else torch.from_numpy(w),
        ignore_index=ign, reduction="none", label_smoothing=eps)
    tl.backward(torch.from_numpy(g.reshape(t.shape)))
    np.testing.assert_allclose(loss.reshape(t.shape), tl.detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(gx.reshape(x.shape), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    keep = t2 != ign
    np.testing.assert_array_equal(wt, (w[np.where(keep, t2, 0)] if w is not None else 1) * keep)


@requires_torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_fwd_bwd_and_double_backward_match_torch(reduction):
    x, t, w = _ce_inputs(n=4, c=3, seed=2, ignore=1)
    kw = dict(ignore_index=1, reduction=reduction, label_smoothing=0.2)
    xo = tg.tensor(x, requires_grad=True)
    lo = F.cross_entropy(xo, tg.tensor(t), weight=tg.tensor(w), **kw)
    tx = torch.from_numpy(x).requires_grad_()
    tl = torch.nn.functional.cross_entropy(tx, torch.from_numpy(t),
                                           weight=torch.from_numpy(w), **kw)
    assert lo.grad_fn.name == "cross_entropy"
    np.testing.assert_allclose(lo.numpy(), tl.detach().numpy(), rtol=1e-10)
    go = tg.autograd.grad(lo.sum(), xo, create_graph=True)[0]
    gt = torch.autograd.grad(tl.sum(), tx, create_graph=True)[0]
    np.testing.assert_allclose(go.numpy(), gt.detach().numpy(), rtol=1e-10, atol=1e-14)
    v = np.random.default_rng(3).standard_normal(x.shape)
    hvo = tg.autograd.grad((go * tg.tensor(v)).sum(), xo)[0]
    hvt = torch.autograd.grad((gt * torch.from_numpy(v)).sum(), tx)[0]
    np.testing.assert_allclose(hvo.numpy(), hvt.numpy(), rtol=1e-8, atol=1e-12)


def test_cross_entropy_by_hand():
    # logits (0, log 3) and target 1: softmax (1/4, 3/4), loss -log(3/4), gradient (1/4, -1/4)
    x = tg.tensor(np.array([[0.0, math.log(3.0)]]), requires_grad=True)
    loss = F.cross_entropy(x, tg.tensor([1]))
    loss.backward()
    assert abs(loss.item() + math.log(0.75)) < 1e-15
    np.testing.assert_allclose(x.grad.numpy(), [[0.25, -0.25]], atol=1e-15)


def test_bad_targets_raise_on_the_cpu():
    for t in ([0, 3], [-1, 0]):
        with pytest.raises(ValueError, match=r"cross_entropy: target values must lie in \[0, 3\)"):
            F.cross_entropy(tg.ones(2, 3), tg.tensor(t))
        with pytest.raises(ValueError, match=r"nll_loss: target values must lie in \[0, 3\)"):
            F.nll_loss(tg.ones(2, 3), tg.tensor(t))
    assert fn.check_device_errors() is None  # nothing is ever pending on the CPU


@requires_torch
def test_relu_backward_kernel_matches_torch_with_specials():
    x = np.array([-1.0, 0.0, 2.0, -0.0, 3.0, -2.0, np.nan, np.inf])
    gy = np.array([1.0, 2.0, -3.0, np.inf, np.nan, -4.0, 5.0, 6.0])
    ours = fn.relu_backward(gy, x)
    # gy * mask, as the op always computed: torch's threshold_backward returns 0, not NaN,
    # where gy is Inf/NaN and x <= 0, and passes gy where x is NaN (our relu's gradient there
    # has always been 0); everywhere else they agree
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(ours, gy * (x > 0))
    ref = torch.ops.aten.threshold_backward(torch.from_numpy(gy), torch.from_numpy(x), 0)
    finite = np.isfinite(gy) & ~np.isnan(x)
    np.testing.assert_array_equal(ours[finite], ref.numpy()[finite])


# ---------------------------------------------------------------- CUDA against NumPy
def _cp():
    import cupy
    from tinygrad_cnn.backend.kernels import fused_cuda
    return cupy, fused_cuda


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("shape", [(1,), (7, 5), (1000, 333), (2, 3, 4, 5)], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_cuda_optimizer_kernels_equal_numpy(shape, dtype):
    cupy, fc = _cp()
    grads = _grads(shape, 4, dtype=dtype)
    grads[1].flat[0] = np.inf if len(grads[1].flat) > 1 else grads[1].flat[0]
    w0 = _grads(shape, 1, seed=7, dtype=dtype)[0]
    exact = dtype != np.float16  # float16 runs CuPy's elementwise ops, not the kernel
    for kw in SGD_CASES:
        a = _sgd_kernel(w0.copy(), grads, kw)
        b = _sgd_kernel(cupy.asarray(w0), [cupy.asarray(g) for g in grads], kw, fc.sgd_step,
                        cupy.zeros_like).get()
        _same(a, b, exact, kw)
    for name, kw in ADAM_CASES:
        a = _adam_kernel(w0.copy(), grads, name, kw)
        b = _adam_kernel(cupy.asarray(w0), [cupy.asarray(g) for g in grads], name, kw,
                         fc.adam_step, cupy.zeros_like).get()
        _same(a, b, exact, (name, kw))


def _same(a, b, exact, what):
    if exact:  # --fmad=false: the same IEEE operations in the same order
        np.testing.assert_array_equal(a, b, err_msg=str(what))
    else:
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=1e-3, err_msg=str(what))


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("case", CE_CASES, ids=str)
@pytest.mark.parametrize("n,c,d", [(1, 1, ()), (5, 3, ()), (256, 1000, ()), (3, 40, (7,)),
                                   (2, 21, (4, 5)), (1, 1025, ())], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cuda_cross_entropy_kernels_match_numpy(case, n, c, d, dtype):
    cupy, fc = _cp()
    ign = case.get("ignore_index", -100) if c > 2 else -100
    x, t, w = _ce_inputs(n, c, d, seed=n + c, ignore=ign if ign != -100 else None)
    x = x.astype(dtype)
    x.flat[0] = 80.0  # a large logit: the max shift must keep exp finite
    w = w.astype(dtype) if case.get("weight") else None
    eps = case.get("label_smoothing", 0.0)
    x3, t2 = x.reshape(n, c, -1), t.reshape(n, -1)
    g = np.random.default_rng(1).standard_normal(t2.shape).astype(dtype)
    kw = dict(ignore_index=ign, label_smoothing=eps)
    ref = fn.cross_entropy_forward(x3, t2, w, **kw)
    gref = fn.cross_entropy_backward(x3, ref[1], t2, w, g, **kw)
    dev = [None if a is None else cupy.asarray(a) for a in (x3, t2, w, g)]
    out = fc.cross_entropy_forward(dev[0], dev[1], dev[2], **kw)
    gout = fc.cross_entropy_backward(dev[0], out[1], dev[1], dev[2], dev[3], **kw)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    # stats are each backend's own (NumPy: the softmax; CUDA: max and log-sum-exp per row)
    for a, b, what in ((ref[0], out[0], "loss"), (ref[2], out[2], "wt"), (gref, gout, "grad")):
        np.testing.assert_allclose(b.get(), a, err_msg=what, **tol)
    gs = fc.cross_entropy_backward(dev[0], out[1], dev[1], dev[2], cupy.asarray(g[0, 0]), **kw)
    np.testing.assert_allclose(gs.get(), fn.cross_entropy_backward(x3, ref[1], t2, w, g[0, 0],
                                                                   **kw), **tol)


@pytest.mark.cuda
@needs_cuda
def test_cuda_relu_backward_and_class_targets_match_numpy():
    cupy, fc = _cp()
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64, np.float16):
        x = rng.standard_normal((33, 17)).astype(dtype)
        gy = rng.standard_normal((17, 33)).astype(dtype).T  # non-contiguous
        x[0, :3] = [0.0, -0.0, np.nan]
        np.testing.assert_array_equal(fc.relu_backward(cupy.asarray(gy), cupy.asarray(x)).get(),
                                      fn.relu_backward(gy, x))
    t = np.array([[0, 4, -100], [2, -100, 1]])
    a = fn.class_targets(t, 5, -100, np.float32, "nll_loss")
    b = fc.class_targets(cupy.asarray(t), 5, -100, np.float32, "nll_loss")
    for u, v in zip(a, b):
        np.testing.assert_array_equal(v.get(), u)


@pytest.mark.cuda
@needs_cuda
def test_cuda_bad_targets_poison_the_loss_and_raise_at_the_check():
    cupy, fc = _cp()
    fc.check_device_errors()  # nothing pending from other tests
    x = tg.randn(4, 3, device="cuda", requires_grad=True)
    loss = F.cross_entropy(x, tg.tensor([0, 3, 1, 2], device="cuda"))  # no sync, no raise
    loss.backward()
    assert math.isnan(float(loss.array.get()))      # poisoned, never a silently wrong number
    g = x.grad.array.get()
    assert np.isnan(g[1]).all() and np.isfinite(g[[0, 2, 3]]).all()
    with pytest.raises(ValueError, match=r"cross_entropy: 1 target value\(s\) outside \[0, 3\)"):
        loss.item()                                  # the next natural sync raises it
    fc.check_device_errors()  # the counter was reset
    F.nll_loss(x, tg.tensor([0, -1, 1, 2], device="cuda"))
    with pytest.raises(ValueError, match=r"nll_loss: 1 target"):
        tg.cuda.synchronize()
    tg.cuda.set_eager_device_asserts(True)
    try:
        with pytest.raises(ValueError, match=r"cross_entropy: 1 target"):
            F.cross_entropy(x, tg.tensor([0, 5, 1, 2], device="cuda"))
    finally:
        tg.cuda.set_eager_device_asserts(False)


def test_check_range_raises_on_the_cpu_and_counts():
    fn.check_range(np.array([0.0, 0.5, 1.0, np.nan]), 0, 1, "never {bad}")
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input values must lie in "
                                         r"\[0, 1\] \(probabilities; 2 do not\)"):
        F.binary_cross_entropy(tg.tensor([-0.1, 0.5, 1.5]), tg.tensor([0.0, 1.0, 1.0]))


@pytest.mark.cuda
@needs_cuda
def test_cuda_check_range_counts_on_the_device():
    cupy, fc = _cp()
    fc.check_device_errors()
    fc.check_range(cupy.asarray([0.0, 0.5, 1.0, np.nan]), 0, 1, "never {bad}")
    fc.check_device_errors()
    loss = F.binary_cross_entropy(tg.tensor([-0.1, 0.5, 1.5], device="cuda"),
                                  tg.tensor([0.0, 1.0, 1.0], device="cuda"), reduction="none")
    assert np.isnan(loss.numpy()[[0, 2]]).all()
    with pytest.raises(ValueError, match=r"\(probabilities; 2 do not\).* on cuda:0"):
        fc.check_device_errors()

"""Grad mode is per thread, as in PyTorch: one thread trains while another evaluates under
``no_grad``, and two backward passes may run at once.

Every interleaving here is forced with barriers and events (never left to the scheduler):
the evaluating thread is inside ``no_grad`` for the whole time the training thread records
and calls backward, and the two backward passes wait for each other inside their hooks, so
both are in flight together. Worker failures are collected and re-raised in the test thread;
every wait has a timeout so a broken engine fails instead of hanging.
"""
import threading

import numpy as np
import pytest

import tinygrad_cnn as tg

WAIT = 10.0  # seconds; only reached when the engine is broken


@pytest.fixture(autouse=True)
def _grad_mode_back_on():
    """While grad mode is process-wide a failing test here leaves it off for every later
    test; turn it back on (entering enable_grad without leaving it sets the mode for good)."""
    yield
    if not tg.is_grad_enabled():
        tg.enable_grad().__enter__()


def _run(*targets):
    """Run each target in its own thread; re-raise the first failure here."""
    errors = []

    def guard(fn):
        def body():
            try:
                fn()
            except BaseException as exc:  # noqa: B036  (reported below, in the test thread)
                errors.append(exc)
        return body

    threads = [threading.Thread(target=guard(fn), daemon=True) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT * 3)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    if errors:
        raise errors[0]


def test_training_thread_records_while_another_thread_is_in_no_grad():
    inside, trained = threading.Barrier(2, timeout=WAIT), threading.Barrier(2, timeout=WAIT)
    w = tg.tensor(np.array([1.5, -2.0, 0.5]), requires_grad=True)
    x = tg.tensor(np.array([0.3, 0.7, -1.1]))
    seen = {}

    def evaluate():
        with tg.no_grad():
            inside.wait()       # the trainer runs only once we are inside no_grad ...
            trained.wait()      # ... and we leave only after it has trained
            seen["eval_enabled"] = tg.is_grad_enabled()
            seen["eval_records"] = (w * x).requires_grad

    def train():
        inside.wait()
        seen["train_enabled"] = tg.is_grad_enabled()
        loss = (w * x).sum() * 2.0
        seen["train_records"] = loss.requires_grad and loss.grad_fn is not None
        if seen["train_records"]:
            loss.backward()
        trained.wait()

    _run(evaluate, train)
    assert seen == dict(eval_enabled=False, eval_records=False, train_enabled=True,
                        train_records=True)
    np.testing.assert_allclose(w.grad.numpy(), 2.0 * x.numpy())
    assert tg.is_grad_enabled(), "the main thread's grad mode changed"


def test_no_grad_entered_in_another_thread_does_not_leak_here():
    entered, done = threading.Event(), threading.Event()

    def hold_no_grad():
        with tg.no_grad():
            entered.set()
            assert done.wait(WAIT)

    worker = threading.Thread(target=hold_no_grad, daemon=True)
    worker.start()
    try:
        assert entered.wait(WAIT)
        a = tg.tensor(np.array([2.0]), requires_grad=True)
        assert tg.is_grad_enabled()
        assert (a * a).requires_grad
    finally:
        done.set()
        worker.join(WAIT)


def _hooked_graph(seed, reached, wait_for):
    """x -> h = x * x -> (h * h).sum(); the hook on h sets ``reached`` and waits for
    ``wait_for``, so this backward pass pauses half-way (after the engine set its mode)."""
    x = tg.tensor(np.random.default_rng(seed).uniform(0.5, 1.5, 4), requires_grad=True)
    h = x * x

    def hook(g):
        reached.set()
        assert wait_for.wait(WAIT), "the other backward pass did not get there"
        return None

    h.register_hook(hook)
    return x, (h * h).sum()


def _concurrent_backward(create_graph_a):
    """A starts and pauses in its hook; only then B starts and pauses in its hook; A then
    finishes while B is still in flight; then B finishes. So A's second half runs after B's
    engine has set its grad mode."""
    a_paused, b_paused, a_done = threading.Event(), threading.Event(), threading.Event()
    xa, la = _hooked_graph(0, a_paused, b_paused)
    xb, lb = _hooked_graph(1, b_paused, a_done)

    def thread_a():
        la.backward(create_graph=create_graph_a)
        a_done.set()

    def thread_b():
        assert a_paused.wait(WAIT)
        lb.backward()

    _run(thread_a, thread_b)
    for x in (xa, xb):  # d/dx sum(x^4) = 4 x^3
        np.testing.assert_allclose(x.grad.numpy(), 4 * x.detach().numpy() ** 3, rtol=1e-12)
    return xa, xb


def test_two_backward_passes_at_once_give_the_right_gradients():
    _concurrent_backward(create_graph_a=False)


def test_two_backward_passes_at_once_leave_grad_mode_as_it_was():
    # process-wide today: A saves True and sets False, B saves False, A restores True, B
    # restores False -- and recording stays off for the whole process
    _concurrent_backward(create_graph_a=False)
    assert tg.is_grad_enabled(), "grad mode left off after two overlapping backward passes"


def test_create_graph_in_one_thread_while_another_backward_runs_without():
    xa, xb = _concurrent_backward(create_graph_a=True)
    assert xa.grad.requires_grad and xa.grad.grad_fn is not None, \
        "create_graph=True lost its graph to the other thread's backward"
    assert not xb.grad.requires_grad
    (gga,) = tg.autograd.grad(xa.grad.sum(), [xa])  # d/dx sum(4 x^3) = 12 x^2
    np.testing.assert_allclose(gga.numpy(), 12 * xa.detach().numpy() ** 2, rtol=1e-12)
    assert tg.is_grad_enabled(), "the main thread's grad mode changed"

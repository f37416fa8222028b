"""Data-parallel training over MPI: ranks run as subprocesses (tests/test_distributed_worker.py)
with timeouts, write their results to files, and this process compares them with one process
doing the same training on the whole batch. Skipped where mpi4py or mpiexec is absent."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

import test_distributed_worker as worker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKER = os.path.join(ROOT, "tests", "test_distributed_worker.py")
pytest.importorskip("mpi4py")
from tinygrad_cnn.distributed.run import find_mpiexec  # noqa: E402

try:
    MPIEXEC = find_mpiexec()
except SystemExit:
    pytest.skip("no mpiexec", allow_module_level=True)

# float32 round-off of a different summation order over 10 steps; measured max |diff|
# 2.2e-8 (SGD-momentum) and 4.5e-8 (Adam) with 2 and 4 ranks
ATOL, RTOL = 2e-6, 1e-5


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([ROOT, os.path.join(ROOT, "tests"),
                                         env.get("PYTHONPATH", "")])
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


def mpirun(n, scenario, out, *extra, timeout=90):
    cmd = [MPIEXEC, "-n", str(n), sys.executable, WORKER, scenario, str(out), *extra]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env())
    assert r.returncode == 0, f"{cmd} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r


def launch(n, scenario, out, timeout=30):
    """Through our launcher; returns (exit code, output, seconds)."""
    cmd = [sys.executable, "-m", "tinygrad_cnn.distributed.run", "-n", str(n), WORKER,
           scenario, str(out)]
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env(),
                       cwd=ROOT)
    return r.returncode, r.stdout + r.stderr, time.monotonic() - t0


@pytest.fixture(scope="module", params=[2, 4], ids=["2ranks", "4ranks-oversubscribed"])
def equiv_run(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"equiv{request.param}")
    mpirun(request.param, "equiv", out)
    return request.param, out


def _load(out, name, world):
    return [dict(np.load(os.path.join(out, f"{name}_r{r}.npz"))) for r in range(world)]


@pytest.mark.parametrize("opt_name,cap,mixed", list(worker.configs()),
                         ids=[f"{o}-{c}{'-mixed' if m else ''}" for o, c, m in worker.configs()])
def test_ranks_end_with_the_parameters_of_one_process(equiv_run, opt_name, cap, mixed):
    world, out = equiv_run
    ranks = _load(out, f"equiv_{opt_name}_{cap}_{int(mixed)}", world)
    ref = worker.reference(opt_name, mixed)
    for name, want in ref.items():
        for r, got in enumerate(ranks):
            assert got[name].dtype == want.dtype, (name, r)
            np.testing.assert_array_equal(got[name], ranks[0][name],
                                          err_msg=f"{name}: rank {r} differs from rank 0")
        np.testing.assert_allclose(ranks[0][name], want, atol=ATOL, rtol=RTOL, err_msg=name)
    # the comparison can fail: ten steps moved the parameters far beyond the tolerance
    import tinygrad_cnn as tg
    tg.manual_seed(0)
    start = {n: p.numpy() for n, p in worker.Net(mixed).named_parameters()}
    assert max(np.abs(ref[n] - start[n]).max() for n in ref) > 100 * ATOL


def test_no_sync_micro_batches_equal_one_larger_batch(equiv_run):
    import tinygrad_cnn as tg
    import tinygrad_cnn.functional as F
    world, out = equiv_run
    k, b = 3, 2
    x, y = worker.data(steps=k + 1, batch=b * world, seed=2)
    tg.manual_seed(0)
    model = worker.Net()
    loss = F.cross_entropy(model(tg.tensor(x.reshape(-1, 1, 8, 8))), tg.tensor(y.reshape(-1)),
                           reduction="sum") / world
    loss.backward()
    for r, got in enumerate(_load(out, "nosync", world)):
        for n, p in model.named_parameters():
            np.testing.assert_allclose(got[n], p.grad.numpy(), atol=1e-5, rtol=1e-5,
                                       err_msg=f"{n} on rank {r}")


def test_unused_parameter_no_hang_mean_and_untouched(equiv_run):
    import tinygrad_cnn as tg
    world, out = equiv_run
    ranks = _load(out, "unused", world)
    # head b: only rank 0 used it, so the mean over ranks is rank 0's gradient / world
    tg.manual_seed(0)
    model = worker.Heads()
    x = tg.tensor(np.random.default_rng(3).standard_normal((4, 6)).astype(np.float32))
    model(x, use_b=True).sum().backward()
    params = dict(model.named_parameters())
    for r, got in enumerate(ranks):
        for n in ("b.weight", "b.bias"):
            np.testing.assert_allclose(got[f"grad.{n}"], params[n].grad.numpy() / world,
                                       atol=1e-6, err_msg=f"{n} on rank {r}")
        # head c: no rank used it, so no gradient anywhere and SGD (even with weight decay
        # and momentum) leaves it as it was
        for n in ("c.weight", "c.bias"):
            assert f"grad.{n}" not in got
            np.testing.assert_array_equal(got[f"after.{n}"], ranks[0][f"before.{n}"])
        np.testing.assert_array_equal(got["grad.trunk.weight"], ranks[0]["grad.trunk.weight"])


def test_broadcast_buffers_from_rank_0_at_each_forward(equiv_run):
    world, out = equiv_run
    for r, got in enumerate(_load(out, "buffers", world)):
        np.testing.assert_array_equal(got["bcast1"], [1.0] * 3)        # rank 0's
        np.testing.assert_array_equal(got["bcast0"], [r + 1.0] * 3)    # its own


def test_world_size_one_under_mpi_without_launcher(tmp_path):
    """Plain ``python`` with the mpi backend: MPI's singleton world of one."""
    r = subprocess.run([sys.executable, WORKER, "mismatch", str(tmp_path), "mpi"],
                       capture_output=True, text=True, timeout=60, env=_env())
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "started_r0.txt").read_text() == "1 mpi"
    assert (tmp_path / "mismatch_r0.txt").read_text() == "no error"


def test_model_mismatch_raises_on_every_rank(tmp_path):
    mpirun(2, "mismatch", tmp_path, timeout=30)
    for r in range(2):
        msg = (tmp_path / f"mismatch_r{r}.txt").read_text()
        assert "differs between ranks" in msg and "rank 1 has parameter '0.weight'" in msg, msg
        assert "(9, 4)" in msg and "(8, 4)" in msg, msg


@pytest.mark.parametrize("mode,who,words", [
    ("raise", 0, "uncaught ValueError: deliberate failure on rank 0"),
    ("stuck", 0, "all_reduce of gradient bucket 0"),
    ("kill", 1, "rank 1 ended badly"),
])
def test_failure_ends_the_job_quickly_naming_the_rank(tmp_path, mode, who, words):
    rc, text, wall = launch(2, mode, tmp_path)
    assert rc != 0, text
    assert wall < 10, f"{mode}: the job took {wall:.1f} s to end\n{text}"
    assert words in text, text
    if mode != "kill":
        assert f"rank {who}/2" in text, text
    if mode == "stuck":
        assert "at step 2" in text and "within 3 s" in text, text


def test_launcher_forwards_success_and_sets_threads(tmp_path):
    rc, text, _ = launch(2, "mismatch", tmp_path)  # mismatch is caught: exit code 0
    assert rc == 0, text
    assert (tmp_path / "started_r1.txt").read_text() == "2 mpi"


@pytest.mark.cuda
def test_gpu_two_ranks_share_one_gpu_over_mpi(tmp_path):
    import tinygrad_cnn as tg
    if not tg.cuda.is_available():
        pytest.skip("needs a CUDA GPU and CuPy")
    mpirun(2, "gpu", tmp_path, "mpi", timeout=180)
    ranks = _load(tmp_path, "gpu", 2)
    tg.manual_seed(0)
    model = worker.Net().to("cuda")
    want = worker.train(model, worker.make_opt("sgd", model.parameters()), *worker.data())
    for n, v in want.items():
        np.testing.assert_array_equal(ranks[1][n], ranks[0][n])
        np.testing.assert_allclose(ranks[0][n], v, atol=1e-5, rtol=1e-4, err_msg=n)

"""What needs no MPI: the engine hooks DDP builds on, world size 1 in this process,
buckets, DistributedSampler, the launcher's command line, argument checks."""
from __future__ import annotations

import numpy as np
import pytest

import test_distributed_worker as worker
import tinygrad_cnn as tg
import tinygrad_cnn.distributed as dist
import tinygrad_cnn.functional as F
from tinygrad_cnn import autograd, nn, optim
from tinygrad_cnn.data import DataLoader, DistributedSampler, TensorDataset
from tinygrad_cnn.distributed import run
from tinygrad_cnn.distributed.bucket import make_buckets


# ---------------------------------------------------------------- engine hooks
def test_post_accumulate_grad_hook_sees_the_accumulated_grad():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy()))
    (w * w).sum().backward()
    (3 * w).sum().backward()                      # accumulates: 2w + 3
    np.testing.assert_array_equal(seen[0], [2.0, 4.0])
    np.testing.assert_array_equal(seen[1], [5.0, 7.0])
    handle.remove()
    (w * w).sum().backward()
    assert len(seen) == 2
    tg.autograd.grad((w * w).sum(), w)            # touches no .grad: no hook
    assert len(seen) == 2


def test_post_accumulate_grad_hook_matches_torch_rules():
    torch = pytest.importorskip("torch")
    w = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="doesn't require"):
        tg.tensor([1.0]).register_post_accumulate_grad_hook(lambda t: None)
    w.register_post_accumulate_grad_hook(lambda t: 1)
    with pytest.raises(RuntimeError, match="must return None"):
        (w * 2).sum().backward()
    # backward(inputs=...) accumulates, so it calls the hooks, as torch does
    calls, tcalls = [], []
    a, b = tg.tensor([1.0], requires_grad=True), tg.tensor([2.0], requires_grad=True)
    ta, tb = torch.tensor([1.0], requires_grad=True), torch.tensor([2.0], requires_grad=True)
    for t, log in ((a, calls), (b, calls), (ta, tcalls), (tb, tcalls)):
        t.register_post_accumulate_grad_hook(lambda t, log=log: log.append(t.grad.tolist()))
    (a * b).sum().backward(inputs=[a])
    (ta * tb).sum().backward(inputs=[ta])
    assert calls == tcalls == [[2.0]]


def test_queue_callback_runs_once_after_every_gradient():
    a, b = tg.tensor([1.0], requires_grad=True), tg.tensor([2.0], requires_grad=True)
    log = []

    def first(t):
        log.append("hook")
        autograd.queue_callback(lambda: log.append(("cb", a.grad is not None,
                                                    b.grad is not None)))
        autograd.queue_callback(lambda: autograd.queue_callback(lambda: log.append("nested")))
    a.register_post_accumulate_grad_hook(first)
    (a * b).sum().backward()
    assert log == ["hook", ("cb", True, True), "nested"]
    with pytest.raises(RuntimeError, match="no backward pass is running"):
        autograd.queue_callback(lambda: None)


# ---------------------------------------------------------------- world size 1
@pytest.fixture
def local_group():
    dist.init_process_group("local")
    yield
    dist.destroy_process_group()


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_ddp_step_equals_a_plain_step_bit_for_bit(local_group, opt_name):
    assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 1, "local")
    plain = worker.reference(opt_name, mixed=True)
    tg.manual_seed(0)
    model = worker.Net(mixed=True)
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=1 / 1024)
    got = worker.train(model, worker.make_opt(opt_name, model.parameters()), *worker.data(),
                       step_model=ddp)
    for n, v in plain.items():
        np.testing.assert_array_equal(got[n], v, err_msg=n)
    assert ddp.comm_stats["steps"] == worker.STEPS
    assert list(ddp.state_dict())[0].startswith("module.")


def test_collectives_on_a_world_of_one(local_group):
    t = tg.tensor([[1.0, 2.0], [3.0, 4.0]]).T      # not contiguous: staged and written back
    dist.all_reduce(t)
    np.testing.assert_array_equal(t.numpy(), [[1.0, 3.0], [2.0, 4.0]])
    work = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
    assert work.wait() and work.is_completed()
    dist.broadcast(t, src=0)
    dist.barrier()
    objs = [1, "a", None]
    dist.broadcast_object_list(objs)
    assert objs == [1, "a", None]
    with pytest.raises(ValueError, match="src=1"):
        dist.broadcast(t, src=1)
    with pytest.raises(ValueError, match="op must be one of"):
        dist.all_reduce(t, op="mean")
    with pytest.raises(TypeError, match="bool"):
        dist.all_reduce(tg.tensor([True]))
    with pytest.raises(RuntimeError, match="twice"):
        dist.init_process_group("local")


def test_process_group_argument_checks():
    with pytest.raises(RuntimeError, match="not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="backend must be one of"):
        dist.init_process_group("gloo")
    with pytest.raises(ValueError, match="timeout"):
        dist.init_process_group("local", timeout=0)
    with pytest.raises(ValueError, match="init_method"):
        dist.init_process_group("local", init_method="tcp://x:1")
    with pytest.raises(ValueError, match="world_size=2"):
        dist.init_process_group("local", world_size=2)
    assert not dist.is_initialized()


def test_ddp_argument_checks(local_group):
    m = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="bucket_cap_mb"):
        dist.DistributedDataParallel(m, bucket_cap_mb=0)
    with pytest.raises(ValueError, match="device_ids"):
        dist.DistributedDataParallel(m, device_ids=[0, 1])
    with pytest.raises(ValueError, match="process_group"):
        dist.DistributedDataParallel(m, process_group="x")
    assert type(nn.parallel.DistributedDataParallel(m)) is dist.DistributedDataParallel


def test_ddp_no_sync_and_twice_used_parameter(local_group):
    tg.manual_seed(0)
    m = nn.Linear(3, 2)
    ddp = dist.DistributedDataParallel(m)
    x = tg.randn(4, 3)
    with ddp.no_sync():
        ddp(x).sum().backward()
    assert ddp.comm_stats["steps"] == 0
    ddp(x).sum().backward()
    assert ddp.comm_stats["steps"] == 1
    ref = nn.Linear(3, 2)
    ref.load_state_dict(m.state_dict())
    (ref(x).sum() * 2).backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), ref.weight.grad.numpy(), rtol=1e-6)


def test_buckets_reverse_order_cap_and_one_dtype_each():
    params = [tg.zeros(256, requires_grad=True), tg.zeros(10, dtype=tg.float64,
                                                         requires_grad=True),
              tg.zeros(256, requires_grad=True), tg.zeros(300, requires_grad=True)]
    b = make_buckets(params, 1024)                 # 1 KiB: each 256-float32 fills one
    assert [x.index for x in b] == [[3], [2], [0], [1]]
    assert [str(x.dtype) for x in b] == ["float32", "float32", "float32", "float64"]
    b = make_buckets(params, None)
    assert [x.index for x in b] == [[3, 2, 0], [1]]
    assert b[0].buf.size == 812


# ---------------------------------------------------------------- sampler
@pytest.mark.parametrize("n_data", [10, 12, 13])
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_shards(n_data, shuffle, drop_last):
    data = list(range(n_data))
    for world in range(1, 6):
        shards = [list(DistributedSampler(data, world, r, shuffle=shuffle, drop_last=drop_last))
                  for r in range(world)]
        lens = {len(s) for s in shards}
        assert len(lens) == 1, (world, lens)
        flat = [i for s in shards for i in s]
        if not drop_last:
            assert set(flat) == set(data)
            assert len(flat) == -(-n_data // world) * world
        else:
            assert len(flat) == n_data // world * world
        if n_data % world == 0 or drop_last:
            assert len(set(flat)) == len(flat), (world, shards)
        if not shuffle and n_data > world:
            assert shards[0][:2] == [0, world]


def test_distributed_sampler_matches_torch_and_reshuffles():
    pytest.importorskip("torch")
    from torch.utils.data import DistributedSampler as TorchDS
    data = list(range(13))
    for drop_last in (False, True):
        for r in range(3):  # unshuffled order, padding and drop_last exactly as torch's
            ours = list(DistributedSampler(data, 3, r, shuffle=False, drop_last=drop_last))
            assert ours == list(TorchDS(data, 3, r, shuffle=False, drop_last=drop_last))
    s = DistributedSampler(data, 2, 0, seed=5)
    e0 = list(s)
    assert list(s) == e0                          # the same epoch: the same order
    s.set_epoch(1)
    assert list(s) != e0
    other = DistributedSampler(data, 2, 1, seed=5)
    other.set_epoch(1)
    assert len(set(s) | set(other)) == 13


def test_distributed_sampler_checks_and_loader():
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedSampler(list(range(4)))
    with pytest.raises(ValueError, match="invalid rank 2"):
        DistributedSampler(list(range(4)), num_replicas=2, rank=2)
    ds = TensorDataset(tg.arange(10).float(), tg.arange(10))
    s = DistributedSampler(ds, 3, 1, shuffle=False)
    batches = [y.tolist() for _, y in DataLoader(ds, batch_size=2, sampler=s)]
    assert batches == [[1, 4], [7, 0]]            # padded with the first index, as torch


# ---------------------------------------------------------------- launcher
@pytest.mark.parametrize("text,flavour", [
    ("HYDRA build details:\n    Version: 5.0.2", "mpich"),
    ("mpiexec (Open MPI) 5.0.3\n", "openmpi"),
    ("mpirun (OpenRTE) 4.1.2", "openmpi"),
    ("something else", "unknown")])
def test_launcher_flavour_and_flags(text, flavour):
    assert run.mpi_flavour(text) == flavour
    cmd = run.build_command("mpiexec", flavour, 4, "train.py", ["--x", "1"],
                            ["OMP_NUM_THREADS"], is_root=True)
    assert cmd[:3] == ["mpiexec", "-n", "4"] and cmd[-3:] == ["train.py", "--x", "1"] and \
        cmd[-5:-3] == ["-m", "mpi4py"]
    assert ("--oversubscribe" in cmd and "--allow-run-as-root" in cmd and "-x" in cmd) == \
        (flavour == "openmpi")


def test_launcher_threads_per_rank(monkeypatch):
    monkeypatch.setattr(run.os, "cpu_count", lambda: 8)
    env = run.thread_env(4, {"MKL_NUM_THREADS": "3"})
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "2"
    assert env["MKL_NUM_THREADS"] == "3"          # the user's choice wins
    assert run.thread_env(16, {})["OMP_NUM_THREADS"] == "1"


@pytest.mark.cuda
def test_nccl_world_size_one():
    if not tg.cuda.is_available():
        pytest.skip("needs a CUDA GPU and CuPy")
    dist.init_process_group("nccl")
    try:
        t = tg.tensor([1.0, 2.0], device="cuda")
        dist.all_reduce(t)
        np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])
        tg.manual_seed(0)
        model = worker.Net().to("cuda")
        ddp = dist.DistributedDataParallel(model)
        x, y = worker.data()
        F.cross_entropy(ddp(tg.tensor(x[0], device="cuda")),
                        tg.tensor(y[0], device="cuda")).backward()
        opt = optim.SGD(model.parameters(), lr=0.1)
        opt.step()
        assert ddp.comm_stats["steps"] == 1
    finally:
        dist.destroy_process_group()

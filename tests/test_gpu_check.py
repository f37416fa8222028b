"""tools/gpu_check.py's plumbing, run here as a dry run (CPU, fake device, tiny sizes): every
section runs or says why it was skipped, no section errors, the JSON and the table come out.
What needs the GPU (capture, CUPTI launch counts, peak memory) is skipped with a reason."""
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ONLY = "conv A,max_pool2d,avg_pool2d,LeNet"


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    pytest.importorskip("torch")
    out = tmp_path_factory.mktemp("gpu_check") / "gpu_check.json"
    p = subprocess.run([sys.executable, os.path.join(REPO, "tools", "gpu_check.py"), "--dry-run",
                        "--budget", "300", "--only", ONLY, "--out", str(out)],
                       capture_output=True, text=True, cwd=REPO, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return json.loads(out.read_text()), p.stdout


def test_every_section_runs_or_says_why_not(dry_run):
    results, _ = dry_run
    assert results["meta"]["dry_run"] is True
    sections = results["sections"]
    assert set(sections) == {"tests", "syncs", "capture", "launches", "bench"}
    for name, res in sections.items():
        assert "error" not in res, (name, res["error"])
    assert "GPU" in sections["capture"]["skipped"] and "GPU" in sections["launches"]["skipped"]
    # the dry run collects the CUDA tests (they need a GPU to run)
    assert sections["tests"]["ok"], sections["tests"]["tail"]
    assert "test_kernels_pool.py" in sections["tests"]["tail"]
    assert sections["tests"]["pool_ops_on_device"]["ok"]


def test_benchmarks_have_ratios_for_every_torch_mode(dry_run):
    bench = dry_run[0]["sections"]["bench"]
    names = [n for n in bench if n != "seconds"]
    assert names == ["conv A N32 16->32 28 k3p1", "max_pool2d 2x2 N32 C32 28",
                     "avg_pool2d 2x2 N32 C32 28", "LeNet-5 step b64"], names
    for name in names:
        r = bench[name]
        assert r["ours_ms"] > 0 and r["torch_tf32_off_ms"] > 0, r
        assert r["ratio_cudnn"] == pytest.approx(r["ours_ms"] / r["torch_tf32_off_ms"],
                                                 rel=1e-2)
    for name in ("conv A N32 16->32 28 k3p1", "LeNet-5 step b64"):  # cuDNN modes, TF32 worker
        assert {"ratio_im2col", "ours_tf32_ms", "ratio_tf32"} <= set(bench[name]), bench[name]
    assert "ours_peak_mb" in bench["LeNet-5 step b64"]


def test_sync_counts_name_the_op(dry_run):
    syncs = dry_run[0]["sections"]["syncs"]
    for name in ("LeNet-5 step b64", "ResNet-18 step b64 224"):
        n, first = syncs[name]["syncs_per_step"], syncs[name]["first"]
        assert isinstance(n, int) and n >= 0
        assert (n == 0) == (first is None)
        if first is not None:  # e.g. "__bool__ at tinygrad_cnn/functional/loss.py:115 in ..."
            assert first.split(" at ")[1].startswith("tinygrad_cnn/"), first


def test_the_table_is_printed_last(dry_run):
    out = dry_run[1]
    assert "workload" in out and "x cuDNN" in out and "LeNet-5 step b64" in out
    assert out.strip().splitlines()[-1].startswith("written: ")

"""Launch a script on N ranks: ``python -m tinygrad_cnn.distributed.run -n N script.py ...``.

It runs ``mpiexec -n N python -m mpi4py script.py ...`` with the flags the MPI found needs
(Open MPI: ``--oversubscribe``, and ``--allow-run-as-root`` as root; MPICH: none), sets the
BLAS/OpenMP threads of each rank to cores // N (at least 1) unless already set, and exits
with mpiexec's exit code. ``python -m mpi4py`` makes an uncaught exception on one rank abort
the job instead of hanging it.

A killed rank ends the job (mpiexec's doing); MPICH names only the dead process's PID, so
each rank records its PID here and the launcher says which rank that PID was.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
PID_DIR_VAR = "TINYGRAD_CNN_DIST_PID_DIR"


def find_mpiexec():
    """mpiexec beside this Python first (the mpich wheel puts it there), then on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.access(here, os.X_OK):
        return here
    found = shutil.which("mpiexec") or shutil.which("mpirun")
    if found is None:
        raise SystemExit("tinygrad_cnn.distributed.run: no mpiexec found: pip install "
                         '"tinygrad_cnn[distributed]" (mpi4py and mpich)')
    return found


def mpi_flavour(version_text):
    """'openmpi', 'mpich' or 'unknown', from ``mpiexec --version`` output."""
    text = version_text.lower()
    if "open mpi" in text or "open-mpi" in text or "openrte" in text or "prte" in text:
        return "openmpi"
    if "hydra" in text or "mpich" in text or "intel" in text:
        return "mpich"
    return "unknown"


def build_command(mpiexec, flavour, n, script, args, env_vars, is_root):
    """The mpiexec command line (a list)."""
    cmd = [mpiexec, "-n", str(n)]
    if flavour == "openmpi":
        cmd.append("--oversubscribe")  # more ranks than cores is how we test on 2 cores
        if is_root:
            cmd.append("--allow-run-as-root")
        for var in env_vars:
            cmd += ["-x", var]  # Open MPI forwards only what it is told to
    return cmd + [sys.executable, "-m", "mpi4py", script, *args]


def thread_env(n, env):
    """The environment with BLAS threads per rank = cores // n where not set by the user."""
    env = dict(env)
    per_rank = str(max(1, (os.cpu_count() or 1) // n))
    for var in THREAD_VARS:
        env.setdefault(var, per_rank)
    return env


def _relay(src, dst, pids, seen):
    """Copy mpiexec's output through and note the PIDs MPICH reports as badly ended."""
    tail = b""
    while True:
        chunk = os.read(src.fileno(), 65536)
        if not chunk:
            return
        dst.buffer.write(chunk)
        dst.flush()
        tail = (tail + chunk)[-4096:]
        for pid in re.findall(rb"PID (\d+) RUNNING AT", tail):
            rank = pids.get(int(pid))
            if rank is not None and rank not in seen:
                seen.add(rank)


def _read_pids(pid_dir):
    pids = {}
    for name in os.listdir(pid_dir):
        if name.startswith("rank"):
            try:
                with open(os.path.join(pid_dir, name)) as f:
                    pids[int(f.read().strip())] = int(name[4:])
            except (OSError, ValueError):
                pass
    return pids


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tinygrad_cnn.distributed.run",
                                 description="Run a training script on N MPI ranks.")
    ap.add_argument("-n", "--nproc", type=int, required=True, help="number of ranks")
    ap.add_argument("--mpiexec", default=None, help="mpiexec to use (default: found)")
    ap.add_argument("--dry-run", action="store_true", help="print the command, run nothing")
    ap.add_argument("script")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    if a.nproc < 1:
        ap.error(f"-n must be at least 1, got {a.nproc}")
    mpiexec = a.mpiexec or find_mpiexec()
    version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True,
                             timeout=30)
    flavour = mpi_flavour(version.stdout + version.stderr)
    with tempfile.TemporaryDirectory(prefix="tgdist") as pid_dir:
        env = thread_env(a.nproc, os.environ)
        env[PID_DIR_VAR] = pid_dir
        cmd = build_command(mpiexec, flavour, a.nproc, a.script, a.args,
                            list(THREAD_VARS) + [PID_DIR_VAR], os.geteuid() == 0)
        if a.dry_run:
            print(" ".join(cmd))
            return 0
        return _run(cmd, env, pid_dir)


def _run(cmd, env, pid_dir):
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen, pids = set(), _LazyPids(pid_dir)
    threads = [threading.Thread(target=_relay, args=(src, dst, pids, seen), daemon=True)
               for src, dst in ((proc.stdout, sys.stdout), (proc.stderr, sys.stderr))]
    for t in threads:
        t.start()
    try:
        rc = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        rc = proc.wait()
    for t in threads:
        t.join(timeout=5)
    if rc != 0:
        dead = f" (rank {', '.join(map(str, sorted(seen)))} ended badly)" if seen else ""
        sys.stderr.write(f"tinygrad_cnn.distributed.run: the job failed with exit code "
                         f"{rc}{dead}\n")
    return rc


class _LazyPids(dict):
    """PID -> rank, re-read from the ranks' files when a PID is not known yet."""

    def __init__(self, pid_dir):
        super().__init__()
        self.pid_dir = pid_dir

    def get(self, pid, default=None):
        if pid not in self:
            self.update(_read_pids(self.pid_dir))
        return super().get(pid, default)


if __name__ == "__main__":
    sys.exit(main())

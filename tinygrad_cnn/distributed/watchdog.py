"""Nobody waits forever: the watchdog around every blocking collective and the excepthook.

Every wait polls its collective (``Work.test``) until it finishes or the process group's
``timeout`` passes; then it prints which rank gave up on which collective (bucket, step) and
aborts the whole job, so a stuck or dead peer ends the job instead of hanging it. Polling
(rather than a blocking ``MPI_Wait``) is what makes the deadline possible without a second
thread inside MPI. It yields the core between tests, and sleeps once a wait gets long, so a
rank that waits does not take the CPU from the peer it waits for (ranks often share cores).

An uncaught exception on any rank prints its traceback and aborts the job for the same
reason: the other ranks would otherwise wait in their next collective forever.
"""
from __future__ import annotations

import os
import sys
import time

_SPIN_S = 0.05        # poll flat out (yielding the core) this long: MPI progresses a
                      # collective only inside Test, so sleeping here costs latency per round
_SLEEP_MAX = 1e-3     # then sleep between tests, at most this long


def wait_for(test, backend, what):
    """Poll ``test()`` until it returns True; past ``backend.timeout`` seconds, abort."""
    start = time.monotonic()
    deadline = start + backend.timeout
    sleep = 2e-5
    while not test():
        now = time.monotonic()
        if now > deadline:
            abort_job(backend, f"{what} did not complete within {backend.timeout:g} s "
                               "(timeout=): a peer rank is stuck, dead or never called it")
        if now - start < _SPIN_S:
            _yield()  # let a peer that shares this core run
        else:
            time.sleep(sleep)
            sleep = min(sleep * 2, _SLEEP_MAX)


_yield = getattr(os, "sched_yield", lambda: time.sleep(0))


def abort_job(backend, message, code=1):
    """Print ``message`` naming this rank, then end every rank of the job."""
    sys.stderr.write(f"tinygrad_cnn.distributed: rank {backend.rank}/{backend.world_size}: "
                     f"{message}; aborting the job\n")
    sys.stderr.flush()
    sys.stdout.flush()
    backend.abort(code)


class ExceptHook:
    """``sys.excepthook`` while a process group of more than one rank exists."""

    def __init__(self, backend):
        self.backend, self.previous = backend, sys.excepthook

    def __call__(self, exc_type, exc, tb):
        self.previous(exc_type, exc, tb)
        abort_job(self.backend, f"uncaught {exc_type.__name__}: {exc}")

    def install(self):
        sys.excepthook = self
        return self

    def uninstall(self):
        if sys.excepthook is self:
            sys.excepthook = self.previous

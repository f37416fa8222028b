"""Nobody waits forever: the watchdog around every blocking collective and the excepthook.

Every wait polls its collective (``Work.test``) until it finishes or the process group's
``timeout`` passes; then it prints which rank gave up on which collective (bucket, step) and
aborts the whole job, so a stuck or dead peer ends the job instead of hanging it. Polling
(rather than a blocking ``MPI_Wait``) is what makes the deadline possible without a second
thread inside MPI, and it sleeps between tests so a rank that waits does not take the CPU
from the peer it waits for (two ranks often share one core here).

An uncaught exception on any rank prints its traceback and aborts the job for the same
reason: the other ranks would otherwise wait in their next collective forever.
"""
from __future__ import annotations

import sys
import time

_SPIN = 20            # tests before the first sleep: short collectives finish while spinning
_SLEEP_MAX = 2e-3     # longest sleep between tests (the latency it can add to a wait)


def wait_for(test, backend, what):
    """Poll ``test()`` until it returns True; past ``backend.timeout`` seconds, abort."""
    deadline = time.monotonic() + backend.timeout
    n, sleep = 0, 5e-5
    while not test():
        n += 1
        if n > _SPIN:
            now = time.monotonic()
            if now > deadline:
                abort_job(backend, f"{what} did not complete within {backend.timeout:g} s "
                                   "(timeout=): a peer rank is stuck, dead or never called "
                                   "it")
            time.sleep(sleep)
            sleep = min(sleep * 2, _SLEEP_MAX)


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

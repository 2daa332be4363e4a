"""One live-kernel experiment at a time on this machine.

Not kernel code. Lab runs measure global counters (free pages, page cache) and timing, so two
of them at once -- two checkouts' test runs, a notebook beside ``make test`` -- disturb each
other. :func:`realkernel_lock` takes an exclusive ``flock(2)`` on :data:`LOCK_PATH` for the
length of a run. It is re-entrant within one process: ``tests/conftest.py`` holds it around
every ``realkernel`` test, and :func:`mrelease_ref.scenarios.parity.run_parity` takes it
again inside (an ``flock`` from a second descriptor of the same process would deadlock), by
recording the holder's pid in the environment variable :data:`HELD_ENV`.

Limitations:
- Advisory only: a process that does not take the lock (a neighbour's own workload) still
  disturbs the counters; the parity runner's retries absorb short bursts.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

LOCK_PATH = "/tmp/mrelease_ref-realkernel.lock"
HELD_ENV = "MRELEASE_REF_REALKERNEL_LOCK_PID"


@contextmanager
def realkernel_lock() -> Iterator[None]:
    """Hold the machine-wide live-kernel lock (re-entrant within this process)."""
    if os.environ.get(HELD_ENV) == str(os.getpid()):
        yield
        return
    with open(LOCK_PATH, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        os.environ[HELD_ENV] = str(os.getpid())
        try:
            yield
        finally:
            del os.environ[HELD_ENV]
            fcntl.flock(f, fcntl.LOCK_UN)

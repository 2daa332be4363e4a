"""mrelease_ref: an executable, literate reference model of Linux's ``process_mrelease()``.

The package mirrors the kernel tree (``mm/oom_kill.py`` models mm/oom_kill.c, and so on);
everything that is not kernel code lives in ``sim/`` (the machine, scheduler, user API,
invariants), ``variants`` (the table of kernels), ``lab/`` (the real-kernel lab),
``bench/`` and ``viz/``.

Quick start::

    import signal
    from mrelease_ref import Kernel

    k = Kernel(variant="baseline", seed=0)
    app = k.spawn("app", uid=10001)
    lmkd = k.spawn("lmkd", uid=0)
    anon = app.mmap(nr_pages=512)
    app.touch(anon, write=True)
    fd = lmkd.pidfd_open(app.pid)
    lmkd.kill(app.pid, signal.SIGKILL)
    lmkd.process_mrelease(fd, 0)
    k.run()

Limitations:
- One pinned kernel version (:data:`KERNEL_VERSION`); see each module's own list.
"""

from mrelease_ref.include.uapi.linux.mman import (
    PROCESS_MRELEASE_REAP_KILL,
    PROCESS_MRELEASE_VALID_FLAGS,
)
from mrelease_ref.sim.invariants import InvariantViolation
from mrelease_ref.sim.kernel import Deadlock, Kernel
from mrelease_ref.sim.process import Mapping, Process
from mrelease_ref.variants import VARIANTS, variant_table

KERNEL_VERSION = "v6.18"

__all__ = [
    "KERNEL_VERSION",
    "PROCESS_MRELEASE_REAP_KILL",
    "PROCESS_MRELEASE_VALID_FLAGS",
    "VARIANTS",
    "Deadlock",
    "InvariantViolation",
    "Kernel",
    "Mapping",
    "Process",
    "variant_table",
]

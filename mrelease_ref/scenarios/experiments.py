"""Small experiments the notebooks run, as functions (not kernel code).

Limitations:
- Each experiment builds its own Kernel with the defaults unless told otherwise.
"""

from __future__ import annotations

import os
import signal

from mrelease_ref.scenarios.victims import OVERVIEW_VICTIM, VictimSpec, build_victim
from mrelease_ref.sim.kernel import Kernel


def dontneed_after_kill(
    reap: bool, spec: VictimSpec = OVERVIEW_VICTIM, file_key: str = "file-private-1"
) -> dict[str, int]:
    """Kill a frozen victim, optionally ``process_mrelease()`` it, then fadvise DONTNEED the
    file behind ``file_key``. Returns the cached pages before and after the fadvise."""
    k = Kernel(seed=0, debug_vm=True)
    killer = k.spawn("lmkd", uid=0)
    v = build_victim(k, spec)
    f = v.files[file_key]
    pidfd = killer.pidfd_open(v.process.pid)
    v.process.freeze()
    killer.kill(v.process.pid, signal.SIGKILL)
    if reap:
        killer.process_mrelease(pidfd, 0)
    cached = k.cachestat(f).nr_cache
    fd = killer.open(f)
    killer.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    return {"cached before fadvise": cached, "cached after fadvise": k.cachestat(f).nr_cache}

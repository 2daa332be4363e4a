"""RFC 3/3: PROCESS_MRELEASE_REAP_KILL through a KILL_MRELEASE SIGKILL, then the usual reap.

Kernel: mm/oom_kill.c as patched by <20260413223948.556351-4-minchan@kernel.org>
(RFC 3/3) -- [I] the oom_kill.c hunk (+19/-1) was not retrieved. Inferred: the flag mask is
validated, and with REAP_KILL the special SIGKILL is sent before the
``task_will_free_mem()`` decision, which the group exit it starts then satisfies.

Limitations:
- [I] The exact control flow is inferred (docs/sources.md §T3.1).
"""

from __future__ import annotations

import errno

from mrelease_ref.include.linux.mm_types import MMF_OOM_SKIP, mm_flags_test
from mrelease_ref.include.linux.rwsem import mmap_read_lock_killable, mmap_read_unlock
from mrelease_ref.include.linux.sched import TaskStruct
from mrelease_ref.include.uapi.linux.mman import (
    PROCESS_MRELEASE_REAP_KILL,
    PROCESS_MRELEASE_VALID_FLAGS,
)
from mrelease_ref.kernel.fork import mmdrop, mmgrab
from mrelease_ref.kernel.pid import pidfd_get_task, put_task_struct
from mrelease_ref.kernel.sched import KernelGen
from mrelease_ref.mm.oom_kill import __oom_reap_task_mm, find_lock_task_mm, task_will_free_mem
from mrelease_ref.series.rfc.kernel.signal import kill_mrelease


def process_mrelease(current: TaskStruct, pidfd: int, flags: int) -> KernelGen[int]:
    """Kernel: mm/oom_kill.c:SYSCALL_DEFINE2(process_mrelease) (RFC 3/3, [I])"""
    k = current.kernel
    if k.tracing:
        k.trace_event("process_mrelease", f"pidfd={pidfd} flags={flags:#x}")
    if flags & ~PROCESS_MRELEASE_VALID_FLAGS:
        return -errno.EINVAL
    got = pidfd_get_task(current, pidfd)
    if isinstance(got, int):
        return got
    task, _f_flags = got
    p = find_lock_task_mm(task)
    if p is None:
        put_task_struct(task)
        return -errno.ESRCH
    if flags & PROCESS_MRELEASE_REAP_KILL:
        ret = kill_mrelease(task)
        if ret:
            put_task_struct(task)
            return ret
    mm = p.mm
    assert mm is not None
    mmgrab(mm)
    ret = 0
    if task_will_free_mem(p):
        if (yield from mmap_read_lock_killable(mm, current)):
            ret = -errno.EINTR
        else:
            if not mm_flags_test(MMF_OOM_SKIP, mm) and not (yield from __oom_reap_task_mm(mm)):
                ret = -errno.EAGAIN
            mmap_read_unlock(mm)
    elif not mm_flags_test(MMF_OOM_SKIP, mm):
        ret = -errno.EINVAL
    mmdrop(mm)
    put_task_struct(task)
    return ret

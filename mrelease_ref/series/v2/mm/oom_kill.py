"""REAP_KILL v2: kill then reap, refusing shared address spaces (MMF_MULTIPROCESS).

Kernel: mm/oom_kill.c as patched by <20260429211359.3829683-1-minchan@kernel.org> (v2)

Compared with v1 3/3: ``task_will_free_mem()`` is untouched and not even evaluated with
REAP_KILL; an mm marked MMF_MULTIPROCESS (ever shared with another thread group through
CLONE_VM -- but not by a vfork child, see ``copy_oom_score_adj()``) is refused with EINVAL
before any kill; the mm is pinned with ``mmgrab()`` (Suren Baghdasaryan's review), so the
victim's own exit_mmap() can run beside the reaper. Consequences (docs/sources.md §T3.4): a
coredumping target is killed and reaped; an already-reaped (MMF_OOM_SKIP) mm gives 0 after
the kill; a dying target still gets SIGKILL.

Limitations:
- As the baseline: mmu notifiers reduced to "refuses a non-blocking start".
"""

from __future__ import annotations

import errno

from mrelease_ref.include.linux.mm_types import MMF_MULTIPROCESS, MMF_OOM_SKIP, mm_flags_test
from mrelease_ref.include.linux.rwsem import mmap_read_lock_killable, mmap_read_unlock
from mrelease_ref.include.linux.sched import TaskStruct
from mrelease_ref.include.uapi.linux.mman import (
    PROCESS_MRELEASE_REAP_KILL,
    PROCESS_MRELEASE_VALID_FLAGS,
)
from mrelease_ref.kernel.fork import mmdrop, mmgrab
from mrelease_ref.kernel.pid import pidfd_get_task, put_task_struct, task_tgid
from mrelease_ref.kernel.sched import KernelGen
from mrelease_ref.kernel.signal import SIGKILL, kill_pid
from mrelease_ref.mm.oom_kill import __oom_reap_task_mm, find_lock_task_mm, task_will_free_mem


def process_mrelease(current: TaskStruct, pidfd: int, flags: int) -> KernelGen[int]:
    """Kernel: mm/oom_kill.c:SYSCALL_DEFINE2(process_mrelease) (v2)"""
    k = current.kernel
    if k.tracing:
        k.trace_event("process_mrelease", f"pidfd={pidfd} flags={flags:#x}")
    if flags & ~PROCESS_MRELEASE_VALID_FLAGS:
        return -errno.EINVAL
    reap_kill = bool(flags & PROCESS_MRELEASE_REAP_KILL)
    got = pidfd_get_task(current, pidfd)
    if isinstance(got, int):
        return got
    task, _f_flags = got
    p = find_lock_task_mm(task)
    if p is None:
        put_task_struct(task)
        return -errno.ESRCH
    mm = p.mm
    assert mm is not None
    ret = 0
    if reap_kill and mm_flags_test(MMF_MULTIPROCESS, mm):
        put_task_struct(task)
        return -errno.EINVAL
    if not (reap_kill or task_will_free_mem(p)):
        if not mm_flags_test(MMF_OOM_SKIP, mm):
            ret = -errno.EINVAL
        put_task_struct(task)
        return ret
    mmgrab(mm)
    if reap_kill:
        ret = kill_pid(task_tgid(task), SIGKILL, 0, current)
    if not ret:
        if (yield from mmap_read_lock_killable(mm, current)):
            ret = -errno.EINTR
        else:
            if not mm_flags_test(MMF_OOM_SKIP, mm) and not (yield from __oom_reap_task_mm(mm)):
                ret = -errno.EAGAIN
            mmap_read_unlock(mm)
    mmdrop(mm)
    put_task_struct(task)
    return ret

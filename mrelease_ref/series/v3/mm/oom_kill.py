"""REAP_KILL v3: SIGKILL every process sharing the mm (``kill_all_shared_mm()``), then reap.

Kernel: mm/oom_kill.c as patched by <20260511214226.937793-1-minchan@kernel.org> (v3)

v2 without the MMF_MULTIPROCESS refusal: ``kill_all_shared_mm()`` walks every process;
for each one sharing the mm -- the target included -- the global init counts as a failure,
kernel threads are skipped, and every other gets a pidns- and permission-checked SIGKILL.
Any failure gives **-EBUSY**, after the other kills were sent (partial kills), and nothing
is reaped. Christian Brauner questioned both -EBUSY and counting init (docs/sources.md §T4.3 #12).

Limitations:
- The ``victim`` argument is unused, as in the patch.
"""

from __future__ import annotations

import errno

from mrelease_ref.include.linux.mm_types import MMF_OOM_SKIP, MmStruct, mm_flags_test
from mrelease_ref.include.linux.rwsem import mmap_read_lock_killable, mmap_read_unlock
from mrelease_ref.include.linux.sched import PF_KTHREAD, PIDTYPE_TGID, TaskStruct, is_global_init
from mrelease_ref.include.uapi.linux.mman import (
    PROCESS_MRELEASE_REAP_KILL,
    PROCESS_MRELEASE_VALID_FLAGS,
)
from mrelease_ref.kernel.fork import mmdrop, mmgrab
from mrelease_ref.kernel.pid import pidfd_get_task, put_task_struct
from mrelease_ref.kernel.sched import KernelGen
from mrelease_ref.kernel.signal import SIGKILL
from mrelease_ref.mm.oom_kill import (
    __oom_reap_task_mm,
    find_lock_task_mm,
    process_shares_mm,
    task_will_free_mem,
)
from mrelease_ref.series.v3.kernel.signal import do_pidfd_send_signal_pidns


def kill_all_shared_mm(victim: TaskStruct, mm: MmStruct, current: TaskStruct) -> int:
    """Kernel: mm/oom_kill.c:kill_all_shared_mm() (new in v3)"""
    failed = False
    for p in victim.kernel.for_each_process():
        if not process_shares_mm(p, mm):
            continue
        if is_global_init(p):
            failed = True
            continue
        if p.flags & PF_KTHREAD:
            continue
        if do_pidfd_send_signal_pidns(p.thread_pid, SIGKILL, PIDTYPE_TGID, None, 0, current):
            failed = True
    return -errno.EBUSY if failed else 0


def process_mrelease(current: TaskStruct, pidfd: int, flags: int) -> KernelGen[int]:
    """Kernel: mm/oom_kill.c:SYSCALL_DEFINE2(process_mrelease) (v3)"""
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
    if not (reap_kill or task_will_free_mem(p)):
        if not mm_flags_test(MMF_OOM_SKIP, mm):
            ret = -errno.EINVAL
        put_task_struct(task)
        return ret
    mmgrab(mm)
    if reap_kill:
        ret = kill_all_shared_mm(task, mm, current)
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

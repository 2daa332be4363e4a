"""``process_mrelease()`` falling back to ``task->exit_mm`` (Suren Baghdasaryan's idea).

Kernel: mm/oom_kill.c:SYSCALL_DEFINE2(process_mrelease) as proposed in prose on
2026-05-15 <CAJuCfpE_Kew9+umy2=7hzPdAe6yT23y=sk0BB=4BQpMZCJUvpA@mail.gmail.com>, on top
of Christian Brauner's ``task->exit_mm`` (<20260516-work-exit_mm-v1-1-76bcc7c2439d@kernel.org>).
No patch was posted; the code is the model's reading [I].

Compared with v6.18: when no thread has ``->mm`` any more, the call takes the pidfd
task's ``exit_mm`` instead of returning ESRCH, and asks of it what ``task_will_free_mem()``
asks of ``task->mm`` (:func:`exit_mm_will_free_mem`). Flags stay 0 (no UAPI change).

Limitations:
- As the baseline :mod:`mrelease_ref.mm.oom_kill`.
"""

from __future__ import annotations

import errno

from mrelease_ref.include.linux.mm_types import MMF_OOM_SKIP, MmStruct, mm_flags_test
from mrelease_ref.include.linux.rwsem import mmap_read_lock_killable, mmap_read_unlock
from mrelease_ref.include.linux.sched import TaskStruct, same_thread_group
from mrelease_ref.kernel.fork import mmdrop, mmgrab
from mrelease_ref.kernel.pid import pidfd_get_task, put_task_struct
from mrelease_ref.kernel.sched import KernelGen
from mrelease_ref.mm.oom_kill import (
    __oom_reap_task_mm,
    __task_will_free_mem,
    find_lock_task_mm,
    process_shares_mm,
    task_will_free_mem,
)


def exit_mm_will_free_mem(task: TaskStruct, mm: MmStruct) -> bool:
    """``task_will_free_mem()`` asked of ``task->exit_mm`` (model helper, [I]): the task is
    dying, the mm is not reaped yet, and every other process using it is dying too."""
    if not __task_will_free_mem(task) or mm_flags_test(MMF_OOM_SKIP, mm):
        return False
    for p in task.kernel.for_each_process():
        if process_shares_mm(p, mm) and not same_thread_group(task, p):
            if not __task_will_free_mem(p):
                return False
    return True


def process_mrelease(current: TaskStruct, pidfd: int, flags: int) -> KernelGen[int]:
    """Kernel: mm/oom_kill.c:SYSCALL_DEFINE2(process_mrelease) (``exit_mm_field``, [I])"""
    k = current.kernel
    if k.tracing:
        k.trace_event("process_mrelease", f"pidfd={pidfd} flags={flags:#x}")
    if flags != 0:
        return -errno.EINVAL
    got = pidfd_get_task(current, pidfd)
    if isinstance(got, int):
        return got
    task, _f_flags = got
    p = find_lock_task_mm(task)
    if p is not None:
        mm = p.mm
        assert mm is not None
        will_free = task_will_free_mem(p)
    elif task.exit_mm is not None:  # Suren's fallback: the mm the task exited from
        mm = task.exit_mm
        will_free = exit_mm_will_free_mem(task, mm)
    else:
        put_task_struct(task)
        return -errno.ESRCH
    mmgrab(mm)
    ret = 0
    if will_free:
        reap = True
    else:
        reap = False
        if not mm_flags_test(MMF_OOM_SKIP, mm):
            ret = -errno.EINVAL  # error only if the work has not been done already
    if reap:
        if (yield from mmap_read_lock_killable(mm, current)):
            ret = -errno.EINTR
        else:
            if not mm_flags_test(MMF_OOM_SKIP, mm) and not (yield from __oom_reap_task_mm(mm)):
                ret = -errno.EAGAIN
            mmap_read_unlock(mm)
    mmdrop(mm)
    put_task_struct(task)
    return ret

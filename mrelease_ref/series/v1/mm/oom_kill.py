"""v1 3/3: PROCESS_MRELEASE_REAP_KILL -- kill, then reap, in one call.

Kernel: mm/oom_kill.c as patched by <20260421230239.172582-4-minchan@kernel.org> (v1 3/3)

With ``PROCESS_MRELEASE_REAP_KILL`` the target need not be dying yet:
``task_will_free_mem(p, ignore_exit=true)`` skips the target's own exit test (a core dump
still refuses, MMF_OOM_SKIP still refuses, and every *other* process sharing the mm must
already be dying). The call then pins the address space with ``mmget()`` (mm_users, so the
victim's own exit cannot run exit_mmap() -- the caller's final ``mmput()`` may), sends a
user-originated SIGKILL to the thread group (``kill_pid(task_tgid(task), SIGKILL, 0)``,
permission-checked against the caller), and reaps. Without the flag the behaviour is the
baseline's except that no mm reference is taken on the refusal path.

The commit message says MMF_UNSTABLE is set before the SIGKILL; the code sets it only in
``__oom_reap_task_mm()``, after the kill (docs/sources.md §T3.2, §T6 #15). The model follows the
code.

Limitations:
- The caller may be preempted between the kill and the reap only where the model
  yields: at the mmap lock.
"""

from __future__ import annotations

import errno

from mrelease_ref.include.linux.mm_types import (
    MMF_OOM_SKIP,
    MmStruct,
    mm_flags_test,
)
from mrelease_ref.include.linux.rwsem import mmap_read_lock_killable, mmap_read_unlock
from mrelease_ref.include.linux.sched import (
    PF_EXITING,
    SIGNAL_GROUP_EXIT,
    TaskStruct,
    same_thread_group,
    thread_group_empty,
)
from mrelease_ref.include.uapi.linux.mman import (
    PROCESS_MRELEASE_REAP_KILL,
    PROCESS_MRELEASE_VALID_FLAGS,
)
from mrelease_ref.kernel.fork import mmdrop, mmget, mmgrab, mmput
from mrelease_ref.kernel.pid import pidfd_get_task, put_task_struct, task_tgid
from mrelease_ref.kernel.sched import KernelGen
from mrelease_ref.kernel.signal import SIGKILL, kill_pid
from mrelease_ref.mm.oom_kill import __oom_reap_task_mm, find_lock_task_mm, process_shares_mm


def __task_will_free_mem(task: TaskStruct, ignore_exit: bool) -> bool:
    """Kernel: mm/oom_kill.c:__task_will_free_mem() (v1 3/3: ``ignore_exit``)"""
    sig = task.signal
    if sig.core_state is not None:
        return False
    if ignore_exit:
        return True
    if sig.flags & SIGNAL_GROUP_EXIT:
        return True
    return thread_group_empty(task) and bool(task.flags & PF_EXITING)


def task_will_free_mem(task: TaskStruct, ignore_exit: bool) -> bool:
    """Kernel: mm/oom_kill.c:task_will_free_mem() (v1 3/3: ``ignore_exit`` for the target
    only; other processes sharing the mm must still be dying)"""
    mm = task.mm
    if mm is None:
        return False
    if not __task_will_free_mem(task, ignore_exit):
        return False
    if mm_flags_test(MMF_OOM_SKIP, mm):
        return False
    if mm.mm_users <= 1:
        return True
    for p in task.kernel.for_each_process():
        if not process_shares_mm(p, mm):
            continue
        if same_thread_group(task, p):
            continue
        if not __task_will_free_mem(p, False):
            return False
    return True


def _drop(mm: MmStruct, reap_kill: bool, current: TaskStruct) -> KernelGen[None]:
    if reap_kill:
        yield from mmput(mm, current)  # may run __mmput() -> exit_mmap() right here
    else:
        mmdrop(mm)


def process_mrelease(current: TaskStruct, pidfd: int, flags: int) -> KernelGen[int]:
    """Kernel: mm/oom_kill.c:SYSCALL_DEFINE2(process_mrelease) (v1 3/3)"""
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
    mm = p.mm
    assert mm is not None
    reap_kill = bool(flags & PROCESS_MRELEASE_REAP_KILL)
    ret = 0
    if not task_will_free_mem(p, reap_kill):
        if reap_kill or not mm_flags_test(MMF_OOM_SKIP, mm):
            ret = -errno.EINVAL
        put_task_struct(task)
        return ret
    if reap_kill:
        mmget(mm)  # mm_users: the victim's own exit will not run exit_mmap()
        ret = kill_pid(task_tgid(task), SIGKILL, 0, current)
        if ret:
            yield from _drop(mm, reap_kill, current)
            put_task_struct(task)
            return ret
    else:
        mmgrab(mm)
    if (yield from mmap_read_lock_killable(mm, current)):
        ret = -errno.EINTR
    else:
        if not mm_flags_test(MMF_OOM_SKIP, mm) and not (yield from __oom_reap_task_mm(mm)):
            ret = -errno.EAGAIN
        mmap_read_unlock(mm)
    yield from _drop(mm, reap_kill, current)
    put_task_struct(task)
    return ret

"""``pidfd_send_signal()`` with ``PIDFD_SIGNAL_PROCESS_GROUP_EXPEDITE`` (Minchan Kim's idea).

Kernel: kernel/signal.c:SYSCALL_DEFINE4(pidfd_send_signal) as proposed in prose on
2026-05-19 <agzNyXKIirm1zOob@google.com>; no code was posted, so this is the model's
reading [I] (see :mod:`mrelease_ref.series.expedite`).

With the flag: look the mm up and pin it (``mmgrab()``) *before* the SIGKILL, send it as
``pidfd_send_signal()`` does, then -- the target now dying -- reap under
``mmap_read_lock_killable()`` if ``task_will_free_mem()`` agrees, as
``process_mrelease()`` would. Without the flag: v6.18's ``pidfd_send_signal()``.

Limitations:
- The process-group scope in the flag's name is not modelled (the signal goes to the
  thread group, as without flags); ``info`` is NULL.
- The flag value (``1 << 3``, after the PIDFD_SIGNAL_* scopes) is the model's choice.
"""

from __future__ import annotations

import errno
from typing import Final

from mrelease_ref.include.linux.mm_types import MMF_OOM_SKIP, mm_flags_test
from mrelease_ref.include.linux.rwsem import mmap_read_lock_killable, mmap_read_unlock
from mrelease_ref.include.linux.sched import TaskStruct
from mrelease_ref.kernel import signal as base
from mrelease_ref.kernel.fork import mmdrop, mmgrab
from mrelease_ref.kernel.pid import pidfd_get_task, put_task_struct
from mrelease_ref.kernel.sched import KernelGen
from mrelease_ref.mm.oom_kill import __oom_reap_task_mm, find_lock_task_mm, task_will_free_mem

PIDFD_SIGNAL_PROCESS_GROUP_EXPEDITE: Final = 1 << 3
"""[I] No value was posted; the bit after PIDFD_SIGNAL_PROCESS_GROUP (``1 << 2``)."""


def sys_pidfd_send_signal(current: TaskStruct, pidfd: int, sig: int,
                          flags: int) -> KernelGen[int]:
    """Kernel: kernel/signal.c:SYSCALL_DEFINE4(pidfd_send_signal) (``expedite``, [I])"""
    if not flags & PIDFD_SIGNAL_PROCESS_GROUP_EXPEDITE:
        return base.sys_pidfd_send_signal(current, pidfd, sig, flags)
    if sig != base.SIGKILL:
        return -errno.EINVAL
    got = pidfd_get_task(current, pidfd)
    if isinstance(got, int):
        return got
    task, _f_flags = got
    p = find_lock_task_mm(task)
    mm = p.mm if p is not None else None
    if mm is not None:
        mmgrab(mm)
    ret = base.sys_pidfd_send_signal(current, pidfd, sig,
                                     flags & ~PIDFD_SIGNAL_PROCESS_GROUP_EXPEDITE)
    if not ret and mm is not None and p is not None and task_will_free_mem(p):
        if (yield from mmap_read_lock_killable(mm, current)):
            ret = -errno.EINTR
        else:
            if not mm_flags_test(MMF_OOM_SKIP, mm):
                yield from __oom_reap_task_mm(mm)
            mmap_read_unlock(mm)
    if mm is not None:
        mmdrop(mm)
    put_task_struct(task)
    return ret

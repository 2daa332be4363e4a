"""smaps ``m_start()`` refusing a task without an mm (Linus Torvalds's proposal).

Kernel: fs/proc/task_mmu.c:m_start() as proposed in prose on 2026-05-22
<CAHk-=whqfr-M9ip9OWAUR1X6aOEy2P4gSWYDkbkTCc3E=jCz_A@mail.gmail.com> (no patch posted;
the code is the model's reading [I]).

Limitations:
- As the baseline :mod:`mrelease_ref.fs.proc.task_mmu`.
"""

from __future__ import annotations

import errno

from mrelease_ref.fs.proc.task_mmu import ProcMapsPrivate
from mrelease_ref.include.linux.rwsem import mmap_read_lock_killable
from mrelease_ref.include.linux.sched import PIDTYPE_PID, TaskStruct
from mrelease_ref.kernel.fork import mmget_not_zero, mmput
from mrelease_ref.kernel.pid import get_pid_task, put_task_struct
from mrelease_ref.kernel.sched import KernelGen


def m_start(current: TaskStruct, priv: ProcMapsPrivate) -> KernelGen[int]:
    """Kernel: fs/proc/task_mmu.c:m_start() (``smaps_esrch``, [I]): ESRCH when the task
    has no mm any more (it passed ``exit_mm()``), before ``mm_users`` is taken."""
    priv.task = get_pid_task(priv.pid, PIDTYPE_PID)  # get_proc_task()
    if priv.task is None:
        return -errno.ESRCH
    if priv.task.mm is None:
        put_task_struct(priv.task)
        priv.task = None
        return -errno.ESRCH
    mm = priv.mm
    if mm is None or not mmget_not_zero(mm):
        put_task_struct(priv.task)
        priv.task = None
        return 1
    if (yield from mmap_read_lock_killable(mm, current)):  # lock_vma_range()
        yield from mmput(mm, current)
        put_task_struct(priv.task)
        priv.task = None
        return -errno.EINTR
    return 0

"""``/proc/<pid>/smaps`` (and ``maps``) readers: the seq_file walk and its mm pins.

Kernel: fs/proc/task_mmu.c (proc_maps_open(), m_start(), m_stop(), show_smap(),
proc_map_release()), fs/seq_file.c (seq_read_iter())

Opening the file keeps only ``mm_count`` (``proc_mem_open()``: ``mmgrab()`` + ``mmput()``).
Each ``read()`` runs ``m_start()`` -- look the task up again (``get_proc_task()``, ESRCH
once it is released), ``mmget_not_zero()`` the mm, take its mmap lock for read --, shows
VMAs, and ``m_stop()`` unlocks and ``mmput()``s, which runs ``exit_mmap()`` in the
*reader* if the victim's own ``exit_mm()`` came in between: the "/proc reader holds
mm_users" case of the v1 cover letter (thread.md §4.3 #13, #15).

Variants: ``smaps_esrch`` (Linus Torvalds's proposal, 2026-05-22) makes ``m_start()``
return ESRCH when the task's ``->mm`` is already gone.

Limitations:
- One seq_file read shows every VMA (no buffer-full restart, no ``m_next()`` position);
  the walk of one VMA (``smap_gather_stats()``) is one step, with a preemption point after
  it.
- Nothing is counted or printed: the reader only pins, locks and walks.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mrelease_ref.fs.proc.base import proc_mem_open
from mrelease_ref.include.linux.rwsem import mmap_read_lock_killable, mmap_read_unlock
from mrelease_ref.include.linux.sched import PIDTYPE_PID
from mrelease_ref.kernel.fork import mmdrop, mmget_not_zero, mmput
from mrelease_ref.kernel.pid import get_pid_task, put_task_struct
from mrelease_ref.kernel.sched import KernelGen, cond_resched

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import MmStruct
    from mrelease_ref.include.linux.sched import Pid, TaskStruct


@dataclass(slots=True, eq=False)
class ProcMapsPrivate:
    """Kernel: fs/proc/internal.h (struct proc_maps_private): the open file's state.

    ``pid`` stands for the proc inode (``proc_pid(inode)``); ``mm`` is ``lock_ctx.mm``,
    pinned by ``mm_count`` while the file is open; ``task`` is set between ``m_start()`` and
    ``m_stop()``.
    """

    pid: Pid
    mm: MmStruct | None
    task: TaskStruct | None = None


def proc_maps_open(tsk: TaskStruct) -> ProcMapsPrivate:
    """Kernel: fs/proc/task_mmu.c:proc_maps_open(): remember the mm, holding mm_count."""
    return ProcMapsPrivate(tsk.thread_pid, proc_mem_open(tsk))


def m_start(current: TaskStruct, priv: ProcMapsPrivate) -> KernelGen[int]:
    """Kernel: fs/proc/task_mmu.c:m_start()

    Returns 0 with ``mm_users`` held and the mmap lock taken for read, 1 when there is
    nothing to show (``NULL``: no mm, or its last user is gone), or ``-errno``: ESRCH when
    the task is released, EINTR when a fatal signal interrupts the lock.

    Variants: ``smaps_esrch`` also returns ESRCH when ``task->mm`` is NULL.
    """
    priv.task = get_pid_task(priv.pid, PIDTYPE_PID)  # get_proc_task()
    if priv.task is None:
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


def show_smap(mm: MmStruct) -> KernelGen[int]:
    """Kernel: fs/proc/task_mmu.c:show_smap() for every VMA (``m_next()`` folded in)

    Walks each VMA's page tables (``smap_gather_stats()``), rescheduling after each one.
    Returns the number of VMAs shown.
    """
    shown = 0
    for _vma in list(mm.mm_mt):
        shown += 1
        yield cond_resched("show_smap")
    return shown


def m_stop(current: TaskStruct, priv: ProcMapsPrivate) -> KernelGen[None]:
    """Kernel: fs/proc/task_mmu.c:m_stop(): unlock, drop mm_users -- the last user runs
    ``exit_mmap()`` here, in the reader -- and the task reference."""
    if priv.task is None:
        return
    mm = priv.mm
    assert mm is not None
    mmap_read_unlock(mm)  # unlock_vma_range()
    yield from mmput(mm, current)
    put_task_struct(priv.task)
    priv.task = None


def smaps_read(current: TaskStruct, priv: ProcMapsPrivate) -> KernelGen[int]:
    """Kernel: fs/seq_file.c:seq_read_iter() over fs/proc/task_mmu.c:proc_pid_smaps_op

    One ``read()``: ``m_start()`` (through ``Kernel.series``: a variant may patch it),
    the VMAs, ``m_stop()``. Returns the VMAs shown, 0 at the end, or ``-errno``.
    """
    ret = yield from current.kernel.series.m_start(current, priv)
    if ret < 0:
        return int(ret)
    if ret == 1:
        return 0
    assert priv.mm is not None
    shown = yield from show_smap(priv.mm)
    yield from m_stop(current, priv)
    return shown


def proc_map_release(priv: ProcMapsPrivate) -> None:
    """Kernel: fs/proc/task_mmu.c:proc_map_release(): closing drops mm_count."""
    if priv.mm is not None:
        mmdrop(priv.mm)
        priv.mm = None

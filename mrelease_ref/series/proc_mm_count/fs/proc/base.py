"""``/proc/<pid>/cmdline`` with only ``mm_count`` held (Linus Torvalds's proposal).

Kernel: fs/proc/base.c:get_task_cmdline() -> get_mm_cmdline() as proposed in prose on
2026-05-16 <CAHk-=wg08=sZb=hVa22KjN2pD3aNk-diGmKQnizCgmoMMfrvwQ@mail.gmail.com> (no
patch posted; the code is the model's reading [I]).

Compared with v6.18: ``get_task_mm()`` (``mm_users``) becomes ``mmgrab()`` under the task
lock; the read takes the mmap lock for read and reads nothing once the mm has no users
(``exit_mmap()``, write-locked in this variant, has run or is about to); ``mmput()``
becomes ``mmdrop()``. The reader can no longer be the last user of the address space.

Limitations:
- As the baseline: no contents are copied; ``copy_to_user()`` may block.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrelease_ref.fs.proc.base import UserBuffer, copy_to_user
from mrelease_ref.include.linux.rwsem import mmap_read_lock, mmap_read_unlock
from mrelease_ref.include.linux.sched import PF_KTHREAD
from mrelease_ref.kernel.fork import mmdrop, mmgrab
from mrelease_ref.kernel.sched import KernelGen

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import MmStruct
    from mrelease_ref.include.linux.sched import TaskStruct


def access_remote_vm(mm: MmStruct, current: TaskStruct) -> KernelGen[int]:
    """Kernel: mm/memory.c:access_remote_vm() (``proc_mm_count``: the caller holds only
    mm_count, so an mm without users reads as empty)"""
    yield from mmap_read_lock(mm, current)
    n = 1 if mm.mm_users > 0 else 0
    mmap_read_unlock(mm)
    return n


def get_task_cmdline(current: TaskStruct, tsk: TaskStruct, buf: UserBuffer) -> KernelGen[int]:
    """Kernel: fs/proc/base.c:get_task_cmdline() (``proc_mm_count``, [I])

    Only ``mm_count`` is held, from the lookup to the end of the copy.
    """
    mm = tsk.mm if not tsk.flags & PF_KTHREAD else None  # task_lock(); tsk->mm
    if mm is None:
        return 0
    mmgrab(mm)
    n = yield from access_remote_vm(mm, current)
    yield from copy_to_user(buf)
    mmdrop(mm)
    return n

"""``/proc/<pid>`` readers that pin a process's address space.

Kernel: fs/proc/base.c (proc_pid_cmdline_read() -> get_task_cmdline(), proc_mem_open(),
mem_rw(), environ_read()), mm/memory.c (access_remote_vm())

A ``/proc/<pid>/cmdline`` read holds ``mm_users`` (``get_task_mm()``) for the whole read,
including a ``copy_to_user()`` that can block. If the victim runs ``exit_mm()`` meanwhile,
its ``mmput()`` is not the last one: ``exit_mmap()`` runs later, in the reader, and
``process_mrelease()`` gets ESRCH in between (docs/sources.md §M0.5, §M4.4).

Opening ``/proc/<pid>/mem`` or ``environ`` only keeps ``mm_count`` (``mmgrab()`` +
``mmput()``); each read takes ``mm_users`` briefly with ``mmget_not_zero()``. The open is
refused with EACCES when the reader may not inspect the target (``mm_access()``); a refused
open, like a closed file, holds no reference (``mem_release()`` drops the ``mm_count``).

``/proc/<pid>/mem`` with data (``__mem_open()``, ``mem_rw_pages()``): opening it checks
PTRACE_MODE_ATTACH and keeps ``mm_count`` only (-ESRCH once the task has no mm, -EACCES
without permission); each read or write pins ``mm_users`` with ``mmget_not_zero()`` -- 0
bytes (end of file) once the mm has been torn down -- and copies page by page with
``__access_remote_vm()``, FOLL_FORCE on (CONFIG_PROC_MEM_ALWAYS_FORCE, as on these
machines). A copy that gets no page at all fails with -EIO; one that stops part-way
returns what it copied (a short read). On a reaped mm (MMF_UNSTABLE) every page the reaper
zapped faults with SIGBUS, so such a read fails with EIO.

Limitations:
- The cmdline/environ reads copy no contents; their blocking point is a Wait the caller
  releases. ``mem`` reads and writes copy whole pages (tokens), never bytes.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mrelease_ref.include.linux.rwsem import mmap_read_lock, mmap_read_unlock
from mrelease_ref.kernel.fork import get_task_mm, mm_access, mmdrop, mmget_not_zero, mmgrab, mmput
from mrelease_ref.kernel.ptrace import PTRACE_MODE_ATTACH, PTRACE_MODE_FSCREDS
from mrelease_ref.kernel.sched import KernelGen, wait_event

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import MmStruct
    from mrelease_ref.include.linux.sched import TaskStruct


@dataclass(slots=True, eq=False)
class UserBuffer:
    """The reader's destination buffer; ``faulting`` models a page that blocks the copy
    (a userfaultfd page nobody fills) until released."""

    faulting: bool = False


def copy_to_user(buf: UserBuffer) -> KernelGen[None]:
    """Kernel: include/linux/uaccess.h:copy_to_user(): may sleep on a user page fault."""
    if buf.faulting:
        yield wait_event("copy_to_user (uffd)", lambda: not buf.faulting)


def access_remote_vm(mm: MmStruct, current: TaskStruct) -> KernelGen[int]:
    """Kernel: mm/memory.c:access_remote_vm(): read the target's memory under its lock."""
    yield from mmap_read_lock(mm, current)
    mmap_read_unlock(mm)
    return 1


def get_task_cmdline(current: TaskStruct, tsk: TaskStruct, buf: UserBuffer) -> KernelGen[int]:
    """Kernel: fs/proc/base.c:get_task_cmdline() -> get_mm_cmdline()

    ``mm_users`` is held from ``get_task_mm()`` until ``mmput()``, across the copy.
    """
    mm = get_task_mm(tsk)
    if mm is None:
        return 0
    n = yield from access_remote_vm(mm, current)
    yield from copy_to_user(buf)
    yield from mmput(mm, current)
    return n


def proc_mem_open(
    tsk: TaskStruct, current: TaskStruct | None = None, mode: int = PTRACE_MODE_ATTACH
) -> MmStruct | int | None:
    """Kernel: fs/proc/base.c:proc_mem_open(): keep only mm_count while the file is open.

    None for a task without an mm (``__mem_open()`` turns that into -ESRCH), ``-EACCES``
    when ``current`` may not inspect ``tsk`` (``mode``: PTRACE_MODE_ATTACH for mem,
    PTRACE_MODE_READ for environ).
    """
    mm = mm_access(tsk, mode | PTRACE_MODE_FSCREDS, current)
    if isinstance(mm, int):
        return None if mm == -errno.ESRCH else mm
    mmgrab(mm)
    mm.kernel.proc_mem_files.append(mm)  # the open file's private_data
    mm.mm_users -= 1  # mmput() of a reference that can never be the last one here
    return mm


def mem_rw(current: TaskStruct, mm: MmStruct, buf: UserBuffer) -> KernelGen[int]:
    """Kernel: fs/proc/base.c:mem_rw(): each read pins mm_users only while it runs."""
    if not mmget_not_zero(mm):
        return 0
    n = yield from access_remote_vm(mm, current)
    yield from copy_to_user(buf)
    yield from mmput(mm, current)
    return n


def mem_release(mm: MmStruct) -> None:
    """Kernel: fs/proc/base.c:mem_release(): closing the file drops mm_count."""
    mm.kernel.proc_mem_files.remove(mm)
    mmdrop(mm)


def __mem_open(current: TaskStruct, tsk: TaskStruct, mode: int) -> MmStruct | int:
    """Kernel: fs/proc/base.c:__mem_open() -> proc_mem_open() -> mm_access()

    Keep the target's mm by ``mm_count`` only (``mmgrab()`` + ``mmput()``); -ESRCH when the
    task has no mm any more, -EACCES when ``current`` may not access it. The open file
    is tracked (``Kernel.proc_mem_files``) until ``mem_release()``.
    """
    mm = proc_mem_open(tsk, current, mode)
    if mm is None:
        return -errno.ESRCH
    return mm


def mem_rw_pages(
    current: TaskStruct, mm: MmStruct, addr: int, buf: list[int], nr_pages: int, write: bool
) -> KernelGen[int]:
    """Kernel: fs/proc/base.c:mem_rw() (page granular)

    Read (or write) ``nr_pages`` pages at ``addr`` of the mm the file holds: 0 (end of
    file) if its users are gone (``mmget_not_zero()`` fails), else page by page through
    ``access_remote_vm()`` with FOLL_FORCE; -EIO if the first page cannot be copied, the
    pages copied otherwise. Reads append tokens to ``buf``; writes take them from it.
    """
    from mrelease_ref.mm.gup import FOLL_FORCE, FOLL_WRITE
    from mrelease_ref.mm.memory import __access_remote_vm

    pg = mm.kernel.pg
    if not mmget_not_zero(mm):
        return 0
    flags = (FOLL_WRITE if write else 0) | FOLL_FORCE  # proc_mem_foll_force(): "always"
    copied = 0
    while copied < nr_pages:
        chunk = buf[copied:] if write else buf
        n = yield from __access_remote_vm(mm, addr + (copied << pg.PAGE_SHIFT), chunk, 1, flags,
                                          current)
        if not n:
            break
        copied += n
    yield from mmput(mm, current)
    if not copied and nr_pages:
        return -errno.EIO
    return copied

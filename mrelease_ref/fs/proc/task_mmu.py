"""/proc/<pid>/smaps: per-VMA memory statistics, and the reader's walk with its mm pins.

Kernel: fs/proc/task_mmu.c (show_smap(), smap_gather_stats(), smaps_pte_range(),
smaps_pte_entry(), smaps_pmd_entry(), smaps_account(), smaps_page_accumulate(),
__show_smap(); proc_maps_open(), m_start(), m_stop(), proc_map_release()),
fs/seq_file.c (seq_read_iter())

**Statistics.** ``smap_gather_stats()`` walks a VMA's page tables. Each present PTE or huge
PMD adds its size to Rss; anonymous folios to Anonymous (and to LazyFree while MADV_FREE
left them clean); PMD mappings to AnonHugePages, ShmemPmdMapped or FilePmdMapped. A page is
Private when its folio is mapped by this mm alone (or only the mapping holds it), Shared
otherwise; Dirty when its PTE or its folio is dirty. Locked is the proportional size of the
pages of a VM_LOCKED VMA. Swap entries add to Swap.

**The reader.** Opening the file keeps only ``mm_count`` (``proc_mem_open()``: ``mmgrab()``
+ ``mmput()``). Each ``read()`` runs ``m_start()`` -- look the task up again
(``get_proc_task()``, ESRCH once it is released), ``mmget_not_zero()`` the mm, take its
mmap lock for read --, shows VMAs, and ``m_stop()`` unlocks and ``mmput()``s, which runs
``exit_mmap()`` in the *reader* if the victim's own ``exit_mm()`` came in between: the
"/proc reader holds mm_users" case of the v1 cover letter (docs/sources.md §T4.3 #13, #15).

Variants: ``smaps_esrch`` (Linus Torvalds's proposal, 2026-05-22) makes ``m_start()``
return ESRCH when the task's ``->mm`` is already gone.

Limitations:
- Pss is computed with the folio's total mapcount spread evenly over its pages
  (CONFIG_NO_PAGE_MAPCOUNT's ``folio_average_page_mapcount()``); these machines build
  CONFIG_PAGE_MAPCOUNT, which differs only for partly shared large folios.
- No KSM, hugetlb, SwapPss, THPeligible or VmFlags lines; shmem pages swapped out of a
  shmem VMA (``smaps_pte_hole()``) are not counted.
- The reader's ``read()`` shows every VMA (no buffer-full restart, no ``m_next()``
  position); the walk of one VMA is one step, with a preemption point after it, and
  counts nothing (:func:`show_smap` gives the numbers).
"""


from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mrelease_ref.fs.proc.base import mem_release, proc_mem_open
from mrelease_ref.include.linux.mm_types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    VM_EXEC,
    VM_LOCKED,
    VM_MAYSHARE,
    VM_READ,
    VM_WRITE,
    Folio,
    Pmd,
    Pte,
    PteTable,
    SwpEntry,
    VmAreaStruct,
    folio_mapcount,
    folio_maybe_mapped_shared,
)
from mrelease_ref.include.linux.page_flags import (
    PG_anon,
    PG_dirty,
    PG_referenced,
    PG_swapbacked,
)
from mrelease_ref.include.linux.rwsem import mmap_read_lock_killable, mmap_read_unlock
from mrelease_ref.include.linux.sched import PIDTYPE_PID
from mrelease_ref.kernel.fork import mmget_not_zero, mmput
from mrelease_ref.kernel.pid import get_pid_task, put_task_struct
from mrelease_ref.kernel.ptrace import PTRACE_MODE_READ
from mrelease_ref.kernel.sched import KernelGen, cond_resched

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import MmStruct
    from mrelease_ref.include.linux.sched import Pid, TaskStruct

PSS_SHIFT = 12


@dataclass(slots=True)
class MemSizeStats:
    """Kernel: fs/proc/task_mmu.c (struct mem_size_stats), in bytes (pss fields shifted
    by PSS_SHIFT, as in the kernel)."""

    resident: int = 0
    shared_clean: int = 0
    shared_dirty: int = 0
    private_clean: int = 0
    private_dirty: int = 0
    referenced: int = 0
    anonymous: int = 0
    lazyfree: int = 0
    anonymous_thp: int = 0
    shmem_thp: int = 0
    file_thp: int = 0
    swap: int = 0
    pss: int = 0
    pss_anon: int = 0
    pss_file: int = 0
    pss_shmem: int = 0
    pss_dirty: int = 0
    pss_locked: int = 0


def smaps_page_accumulate(mss: MemSizeStats, folio: Folio, size: int, pss: int,
                          dirty: bool, locked: bool, private: bool) -> None:
    """Kernel: fs/proc/task_mmu.c:smaps_page_accumulate()"""
    mss.pss += pss
    if folio.flags & PG_anon:
        mss.pss_anon += pss
    elif folio.flags & PG_swapbacked:
        mss.pss_shmem += pss
    else:
        mss.pss_file += pss
    if locked:
        mss.pss_locked += pss
    if dirty or folio.flags & PG_dirty:
        mss.pss_dirty += pss
        if private:
            mss.private_dirty += size
        else:
            mss.shared_dirty += size
    elif private:
        mss.private_clean += size
    else:
        mss.shared_clean += size


def folio_average_page_mapcount(folio: Folio) -> int:
    """Kernel: fs/proc/internal.h:folio_average_page_mapcount()"""
    mapcount = folio_mapcount(folio)
    if not folio.order:
        return mapcount
    entire = folio._entire_mapcount
    if mapcount <= entire:
        return entire
    nr = 1 << folio.order
    return max(1, (mapcount - entire + nr // 2) // nr) + entire


def smaps_account(mss: MemSizeStats, folio: Folio, nr: int, young: bool, dirty: bool,
                  locked: bool) -> None:
    """Kernel: fs/proc/task_mmu.c:smaps_account() (``present`` is always true here)"""
    pg = folio.kernel.pg
    size = nr * pg.PAGE_SIZE
    if folio.flags & PG_anon:
        mss.anonymous += size
        if not folio.flags & PG_swapbacked and not dirty and not folio.flags & PG_dirty:
            mss.lazyfree += size
    mss.resident += size
    if young or folio.flags & PG_referenced:
        mss.referenced += size
    if folio._refcount == 1:
        smaps_page_accumulate(mss, folio, size, size << PSS_SHIFT, dirty, locked, True)
        return
    mapcount = folio_average_page_mapcount(folio)
    exclusive = not folio_maybe_mapped_shared(folio)
    for _ in range(nr):
        pss = pg.PAGE_SIZE << PSS_SHIFT
        if mapcount >= 2:
            pss //= mapcount
        smaps_page_accumulate(mss, folio, pg.PAGE_SIZE, pss, dirty, locked, exclusive)


def smaps_pte_entry(mss: MemSizeStats, vma: VmAreaStruct, pte: Pte | SwpEntry) -> None:
    """Kernel: fs/proc/task_mmu.c:smaps_pte_entry()"""
    pg = vma.vm_mm.kernel.pg
    if isinstance(pte, SwpEntry):
        mss.swap += pg.PAGE_SIZE
        return
    if pte.folio is None:  # vm_normal_page() == NULL: zero page, PFN map
        return
    smaps_account(mss, pte.folio, 1, bool(pte.bits & _PAGE_ACCESSED),
                  bool(pte.bits & _PAGE_DIRTY), bool(vma.vm_flags & VM_LOCKED))


def smaps_pmd_entry(mss: MemSizeStats, vma: VmAreaStruct, pmd: Pmd) -> None:
    """Kernel: fs/proc/task_mmu.c:smaps_pmd_entry()"""
    pg = vma.vm_mm.kernel.pg
    folio = pmd.folio
    if folio is None:  # the huge zero page
        return
    if folio.flags & PG_anon:
        mss.anonymous_thp += pg.PMD_SIZE
    elif folio.flags & PG_swapbacked:
        mss.shmem_thp += pg.PMD_SIZE
    else:
        mss.file_thp += pg.PMD_SIZE
    smaps_account(mss, folio, pg.PMD_SIZE >> pg.PAGE_SHIFT, bool(pmd.bits & _PAGE_ACCESSED),
                  bool(pmd.bits & _PAGE_DIRTY), bool(vma.vm_flags & VM_LOCKED))


def smaps_pte_range(mss: MemSizeStats, vma: VmAreaStruct, addr: int, end: int) -> None:
    """Kernel: fs/proc/task_mmu.c:smaps_pte_range(): one PMD's part of the VMA."""
    pg = vma.vm_mm.kernel.pg
    entry = vma.vm_mm.pgd.get(addr >> pg.PMD_SHIFT)
    if isinstance(entry, Pmd):
        smaps_pmd_entry(mss, vma, entry)
        return
    if not isinstance(entry, PteTable):
        return
    for i in range(pg.pte_index(addr),
                   ((end - 1) >> pg.PAGE_SHIFT & (pg.PTRS_PER_PTE - 1)) + 1):
        pte = entry[i]
        if pte is not None:
            smaps_pte_entry(mss, vma, pte)


def smap_gather_stats(vma: VmAreaStruct) -> MemSizeStats:
    """Kernel: fs/proc/task_mmu.c:smap_gather_stats(): walk the VMA's page tables."""
    pg = vma.vm_mm.kernel.pg
    mss = MemSizeStats()
    addr = vma.vm_start
    while addr < vma.vm_end:
        nxt = min((addr | (pg.PMD_SIZE - 1)) + 1, vma.vm_end)
        smaps_pte_range(mss, vma, addr, nxt)
        addr = nxt
    return mss


SMAPS_FIELDS = ("Rss", "Pss", "Pss_Dirty", "Shared_Clean", "Shared_Dirty", "Private_Clean",
                "Private_Dirty", "Referenced", "Anonymous", "LazyFree", "AnonHugePages",
                "ShmemPmdMapped", "FilePmdMapped", "Swap", "Locked")
"""The kB lines of one smaps entry the model fills (in the kernel's order)."""


def __show_smap(mss: MemSizeStats) -> dict[str, int]:
    """Kernel: fs/proc/task_mmu.c:__show_smap(): the kB lines."""
    kb = {
        "Rss": mss.resident, "Pss": mss.pss >> PSS_SHIFT,
        "Pss_Dirty": mss.pss_dirty >> PSS_SHIFT,
        "Shared_Clean": mss.shared_clean, "Shared_Dirty": mss.shared_dirty,
        "Private_Clean": mss.private_clean, "Private_Dirty": mss.private_dirty,
        "Referenced": mss.referenced, "Anonymous": mss.anonymous, "LazyFree": mss.lazyfree,
        "AnonHugePages": mss.anonymous_thp, "ShmemPmdMapped": mss.shmem_thp,
        "FilePmdMapped": mss.file_thp, "Swap": mss.swap,
        "Locked": mss.pss_locked >> PSS_SHIFT,
    }
    return {k: v >> 10 for k, v in kb.items()}


def show_smap(vma: VmAreaStruct) -> dict[str, int | str]:
    """Kernel: fs/proc/task_mmu.c:show_smap(): one VMA's entry: its range, permissions and
    mapped object, ``Size``, then the fields of :data:`SMAPS_FIELDS` (kB)."""
    f = vma.vm_flags
    perms = (("r" if f & VM_READ else "-") + ("w" if f & VM_WRITE else "-")
             + ("x" if f & VM_EXEC else "-") + ("s" if f & VM_MAYSHARE else "p"))
    name = ""
    if vma.vm_file is not None and vma.vm_file.f_inode is not None:
        name = vma.vm_file.f_inode.name
    row: dict[str, int | str] = {"start": vma.vm_start, "end": vma.vm_end, "perms": perms,
                                 "name": name, "Size": (vma.vm_end - vma.vm_start) >> 10}
    row.update(__show_smap(smap_gather_stats(vma)))
    return row


# --- the reader: open, m_start(), show, m_stop(), release -----------------------------


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
    """Kernel: fs/proc/task_mmu.c:proc_maps_open(): remember the mm, holding mm_count
    (``proc_mem_open()`` with PTRACE_MODE_READ; the model's readers may always read)."""
    mm = proc_mem_open(tsk, None, PTRACE_MODE_READ)
    assert not isinstance(mm, int)  # no current: no permission check to fail
    return ProcMapsPrivate(tsk.thread_pid, mm)


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


def _show_each_smap(mm: MmStruct) -> KernelGen[int]:
    """Model helper: ``seq_read_iter()``'s loop of ``show_smap()`` over every VMA
    (``m_next()`` folded in), one step per VMA's page-table walk, rescheduling after each
    one. Returns the number of VMAs shown."""
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
    shown = yield from _show_each_smap(priv.mm)
    yield from m_stop(current, priv)
    return shown


def proc_map_release(priv: ProcMapsPrivate) -> None:
    """Kernel: fs/proc/task_mmu.c:proc_map_release(): closing drops mm_count."""
    if priv.mm is not None:
        mem_release(priv.mm)  # mmdrop(), and the open file is gone
        priv.mm = None

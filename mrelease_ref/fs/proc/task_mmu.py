"""/proc/<pid>/smaps: per-VMA memory statistics.

Kernel: fs/proc/task_mmu.c (show_smap(), smap_gather_stats(), smaps_pte_range(),
smaps_pte_entry(), smaps_pmd_entry(), smaps_account(), smaps_page_accumulate(),
__show_smap())

``smap_gather_stats()`` walks a VMA's page tables. Each present PTE or huge PMD adds its
size to Rss; anonymous folios to Anonymous (and to LazyFree while MADV_FREE left them
clean); PMD mappings to AnonHugePages, ShmemPmdMapped or FilePmdMapped. A page is Private
when its folio is mapped by this mm alone (or only the mapping holds it), Shared
otherwise; Dirty when its PTE or its folio is dirty. Locked is the proportional size of the
pages of a VM_LOCKED VMA. Swap entries add to Swap.

Limitations:
- Pss is computed with the folio's total mapcount spread evenly over its pages
  (CONFIG_NO_PAGE_MAPCOUNT's ``folio_average_page_mapcount()``); these machines build
  CONFIG_PAGE_MAPCOUNT, which differs only for partly shared large folios.
- No KSM, hugetlb, SwapPss, THPeligible or VmFlags lines; shmem pages swapped out of a
  shmem VMA (``smaps_pte_hole()``) are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from mrelease_ref.include.linux.mm_types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    PAGE_SHIFT,
    PAGE_SIZE,
    PMD_SHIFT,
    PMD_SIZE,
    PTRS_PER_PTE,
    VM_EXEC,
    VM_LOCKED,
    VM_MAYSHARE,
    VM_READ,
    VM_WRITE,
    Folio,
    Pmd,
    Pte,
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
    size = nr * PAGE_SIZE
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
        pss = PAGE_SIZE << PSS_SHIFT
        if mapcount >= 2:
            pss //= mapcount
        smaps_page_accumulate(mss, folio, PAGE_SIZE, pss, dirty, locked, exclusive)


def smaps_pte_entry(mss: MemSizeStats, vma: VmAreaStruct, pte: Pte | SwpEntry) -> None:
    """Kernel: fs/proc/task_mmu.c:smaps_pte_entry()"""
    if isinstance(pte, SwpEntry):
        mss.swap += PAGE_SIZE
        return
    if pte.folio is None:  # vm_normal_page() == NULL: zero page, PFN map
        return
    smaps_account(mss, pte.folio, 1, bool(pte.bits & _PAGE_ACCESSED),
                  bool(pte.bits & _PAGE_DIRTY), bool(vma.vm_flags & VM_LOCKED))


def smaps_pmd_entry(mss: MemSizeStats, vma: VmAreaStruct, pmd: Pmd) -> None:
    """Kernel: fs/proc/task_mmu.c:smaps_pmd_entry()"""
    folio = pmd.folio
    if folio is None:  # the huge zero page
        return
    if folio.flags & PG_anon:
        mss.anonymous_thp += PMD_SIZE
    elif folio.flags & PG_swapbacked:
        mss.shmem_thp += PMD_SIZE
    else:
        mss.file_thp += PMD_SIZE
    smaps_account(mss, folio, PMD_SIZE >> PAGE_SHIFT, bool(pmd.bits & _PAGE_ACCESSED),
                  bool(pmd.bits & _PAGE_DIRTY), bool(vma.vm_flags & VM_LOCKED))


def smaps_pte_range(mss: MemSizeStats, vma: VmAreaStruct, addr: int, end: int) -> None:
    """Kernel: fs/proc/task_mmu.c:smaps_pte_range(): one PMD's part of the VMA."""
    entry = vma.vm_mm.pgd.get(addr >> PMD_SHIFT)
    if isinstance(entry, Pmd):
        smaps_pmd_entry(mss, vma, entry)
        return
    if not isinstance(entry, list):
        return
    for i in range((addr >> PAGE_SHIFT) & (PTRS_PER_PTE - 1),
                   ((end - 1) >> PAGE_SHIFT & (PTRS_PER_PTE - 1)) + 1):
        pte = entry[i]
        if pte is not None:
            smaps_pte_entry(mss, vma, pte)


def smap_gather_stats(vma: VmAreaStruct) -> MemSizeStats:
    """Kernel: fs/proc/task_mmu.c:smap_gather_stats(): walk the VMA's page tables."""
    mss = MemSizeStats()
    addr = vma.vm_start
    while addr < vma.vm_end:
        nxt = min((addr | (PMD_SIZE - 1)) + 1, vma.vm_end)
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


"""madvise(MADV_COLD) and madvise(MADV_PAGEOUT): age, or reclaim, a range's private folios.

Kernel: mm/madvise.c (madvise_cold(), madvise_pageout(),
madvise_cold_or_pageout_pte_range()), mm/swap.c (folio_deactivate(), lru_deactivate()),
include/linux/mm.h (folio_maybe_mapped_shared())

Both walk the PTEs of the range and pick the folios this mapping has to itself: on the LRU
(so a folio still parked in a per-CPU batch is skipped; ``lru_add_drain()`` first empties
this CPU's batches) and mapped exactly ``folio_nr_pages()`` times. MADV_COLD clears the
PTEs' young bits and moves an active folio to the inactive list. MADV_PAGEOUT isolates the
folios and hands them to ``reclaim_pages()``: anonymous memory goes to swap, clean file
pages leave the page cache with a shadow entry.

Limitations:
- PMD-mapped THPs are skipped (the kernel deactivates or reclaims an exclusive one whole).
- ``split_folio()`` is not modelled: a large folio only partly inside the range is left
  alone, as when the kernel's split fails.
- Files have no owner or permission bits: ``can_do_file_pageout()`` treats uid 0 as the
  owner of every file and a writable open (``FMODE_WRITE``) as ``MAY_WRITE`` permission.
- The walk never reschedules (no ``SWAP_CLUSTER_MAX`` restart), ignores fatal signals,
  and does not take ``mmap_lock``.
- ``folio_deactivate()`` moves the folio at once instead of parking it in a per-CPU
  lru_deactivate batch (the model's CpuFbatches has none).
- Idle-page tracking (``folio_test_clear_young()``) is not modelled.
"""

from __future__ import annotations

import errno
from typing import Final

from mrelease_ref.include.asm_generic.tlb import (
    MmuGather,
    tlb_change_page_size,
    tlb_end_vma,
    tlb_remove_tlb_entries,
    tlb_start_vma,
)
from mrelease_ref.include.linux.fs import FMODE_WRITE
from mrelease_ref.include.linux.mm_types import (
    _PAGE_ACCESSED,
    PAGE_SHIFT,
    PAGE_SIZE,
    PMD_SHIFT,
    PMD_SIZE,
    PTRS_PER_PTE,
    VM_HUGETLB,
    VM_LOCKED,
    VM_MAYSHARE,
    VM_PFNMAP,
    Folio,
    Pte,
    PteTable,
    VmAreaStruct,
    folio_mapcount,
    folio_maybe_mapped_shared,
    vma_is_anonymous,
)
from mrelease_ref.include.linux.page_flags import (
    PG_active,
    PG_anon,
    PG_lru,
    PG_referenced,
    PG_unevictable,
    PG_workingset,
)
from mrelease_ref.mm.memory import folio_pte_batch
from mrelease_ref.mm.mmu_gather import tlb_finish_mmu, tlb_gather_mmu
from mrelease_ref.mm.swap import (
    folio_deactivate,
    lru_add_drain,
)
from mrelease_ref.mm.swap_state import folio_trylock, folio_unlock
from mrelease_ref.mm.vmscan import folio_isolate_lru, folio_putback_lru, reclaim_pages

# include/uapi/asm-generic/mman-common.h
MADV_COLD: Final = 20
MADV_PAGEOUT: Final = 21


def can_madv_lru_vma(vma: VmAreaStruct) -> bool:
    """Kernel: mm/madvise.c:can_madv_lru_vma(): not mlocked, PFN-mapped or hugetlb."""
    return not vma.vm_flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB)


def can_do_file_pageout(vma: VmAreaStruct) -> bool:
    """Kernel: mm/madvise.c:can_do_file_pageout()

    Page cache may be paged out only by a process that could open the file for writing
    (otherwise MADV_PAGEOUT would be a side channel on shared files). The model's files
    belong to root and have no mode bits: uid 0 or a writable open qualifies.
    """
    if vma_is_anonymous(vma):
        return True
    f = vma.vm_file
    if f is None:
        return False
    current = vma.vm_mm.kernel.current
    if current is not None and current.cred.uid == 0:  # inode_owner_or_capable()
        return True
    return bool(f.f_mode & FMODE_WRITE)  # file_permission(file, MAY_WRITE) == 0


def split_folio(folio: Folio) -> int:
    """Kernel: include/linux/huge_mm.h:split_folio() -- not modelled: always fails (-EBUSY)."""
    return -errno.EBUSY


def madvise_folio_pte_batch(
    addr: int, end: int, folio: Folio, table: PteTable, i: int, ptent: Pte
) -> tuple[int, bool]:
    """Kernel: mm/madvise.c:madvise_folio_pte_batch()

    How many consecutive PTEs from ``table[i]`` map consecutive pages of the large folio
    (dirty bits ignored), and whether any of them is young.
    """
    nr = folio_pte_batch(folio, table, i, ptent, (end - addr) >> PAGE_SHIFT)
    any_young = any(table[j].bits & _PAGE_ACCESSED for j in range(i, i + nr))  # type: ignore[union-attr]
    return nr, any_young


def _cold_or_pageout_folio(
    tlb: MmuGather, table: PteTable, i: int, addr: int, nr: int, young: bool, pageout: bool,
    folio_list: list[Folio],
) -> None:
    """The tail of the PTE loop: age the folio, then isolate it or deactivate it."""
    folio = table[i].folio  # type: ignore[union-attr]
    assert folio is not None
    if not pageout and young:
        for j in range(i, i + nr):  # clear_young_dirty_ptes(CYDP_CLEAR_YOUNG)
            table[j].bits &= ~_PAGE_ACCESSED  # type: ignore[union-attr]
        tlb_remove_tlb_entries(tlb, nr, addr)
    folio.flags &= ~PG_referenced  # folio_clear_referenced()
    if folio.flags & PG_active:
        folio.flags |= PG_workingset
    if not pageout:
        folio_deactivate(folio)
    elif folio_isolate_lru(folio):
        if folio.flags & PG_unevictable:
            folio_putback_lru(folio)
        else:
            folio_list.append(folio)


def _cold_or_pageout_pte(
    tlb: MmuGather, vma: VmAreaStruct, table: PteTable, i: int, addr: int, end: int,
    pageout: bool, anon_only: bool, folio_list: list[Folio],
) -> int:
    """One step of the PTE loop at ``table[i]``; returns how many PTEs it consumed."""
    ptent = table[i]
    if type(ptent) is not Pte or ptent.folio is None:  # none, swap entry, zero/PFN page
        return 1
    folio = ptent.folio
    nr = 1
    young = bool(ptent.bits & _PAGE_ACCESSED)
    if folio.order:
        nr, any_young = madvise_folio_pte_batch(addr, end, folio, table, i, ptent)
        young = young or any_young
        if nr < 1 << folio.order:  # not fully mapped here: split it (or leave it)
            if folio_maybe_mapped_shared(folio):
                return nr
            if anon_only and not folio.flags & PG_anon:
                return nr
            if not folio_trylock(folio):
                return nr
            err = split_folio(folio)
            folio_unlock(folio)
            return nr if err else 0
    # Only folios on the LRU that this mapping has to itself: a fully mapped large folio
    # mapped folio_nr_pages() times is exclusive.
    if not folio.flags & PG_lru or folio_mapcount(folio) != 1 << folio.order:
        return nr
    if anon_only and not folio.flags & PG_anon:
        return nr
    _cold_or_pageout_folio(tlb, table, i, addr, nr, young, pageout, folio_list)
    return nr


def madvise_cold_or_pageout_pte_range(
    tlb: MmuGather, vma: VmAreaStruct, table: PteTable, addr: int, end: int, pageout: bool
) -> int:
    """Kernel: mm/madvise.c:madvise_cold_or_pageout_pte_range()

    Walk one PTE table's part of ``[addr, end)``. MADV_COLD deactivates each exclusive
    folio; MADV_PAGEOUT isolates them and reclaims the lot at the end. Without the right
    to page out the file, only anonymous folios are taken. Returns 0.
    """
    anon_only = pageout and not vma_is_anonymous(vma) and not can_do_file_pageout(vma)
    tlb_change_page_size(tlb, PAGE_SIZE)
    folio_list: list[Folio] = []
    i = (addr >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)
    while addr < end:
        nr = _cold_or_pageout_pte(tlb, vma, table, i, addr, end, pageout, anon_only,
                                  folio_list)
        i += nr
        addr += nr << PAGE_SHIFT
    if pageout:
        reclaim_pages(folio_list)
    return 0


def _walk_cold_or_pageout(
    tlb: MmuGather, vma: VmAreaStruct, start: int, end: int, pageout: bool
) -> None:
    """``walk_page_range()`` with ``cold_walk_ops``: one call per PTE table (PMDs skipped)."""
    pgd = vma.vm_mm.pgd
    addr = start
    while addr < end:
        nxt = min((addr | (PMD_SIZE - 1)) + 1, end)
        entry = pgd.get(addr >> PMD_SHIFT)
        if isinstance(entry, list):  # a huge PMD (THP) is not modelled here
            madvise_cold_or_pageout_pte_range(tlb, vma, entry, addr, nxt, pageout)
        addr = nxt


def madvise_cold_page_range(tlb: MmuGather, vma: VmAreaStruct, start: int, end: int) -> None:
    """Kernel: mm/madvise.c:madvise_cold_page_range()"""
    tlb_start_vma(tlb, vma)
    _walk_cold_or_pageout(tlb, vma, start, end, pageout=False)
    tlb_end_vma(tlb, vma)


def madvise_pageout_page_range(
    tlb: MmuGather, vma: VmAreaStruct, start: int, end: int
) -> None:
    """Kernel: mm/madvise.c:madvise_pageout_page_range()"""
    tlb_start_vma(tlb, vma)
    _walk_cold_or_pageout(tlb, vma, start, end, pageout=True)
    tlb_end_vma(tlb, vma)


def madvise_cold(vma: VmAreaStruct, start: int, end: int) -> int:
    """Kernel: mm/madvise.c:madvise_cold()

    Deactivate the exclusive folios of ``[start, end)`` so reclaim takes them first.
    Returns 0, or -EINVAL for a locked, PFN-mapped or hugetlb VMA.
    """
    if not can_madv_lru_vma(vma):
        return -errno.EINVAL
    mm = vma.vm_mm
    lru_add_drain(mm.kernel)
    tlb = tlb_gather_mmu(mm)
    madvise_cold_page_range(tlb, vma, start, end)
    tlb_finish_mmu(tlb)
    return 0


def madvise_pageout(vma: VmAreaStruct, start: int, end: int) -> int:
    """Kernel: mm/madvise.c:madvise_pageout()

    Reclaim the exclusive folios of ``[start, end)`` now. A shared mapping of a file the
    caller may not write is left alone; in a private one only the anonymous (COWed)
    pages go. Returns 0, or -EINVAL for a locked, PFN-mapped or hugetlb VMA.
    """
    if not can_madv_lru_vma(vma):
        return -errno.EINVAL
    if not vma_is_anonymous(vma) and not can_do_file_pageout(vma) and vma.vm_flags & VM_MAYSHARE:
        return 0
    mm = vma.vm_mm
    lru_add_drain(mm.kernel)
    tlb = tlb_gather_mmu(mm)
    madvise_pageout_page_range(tlb, vma, start, end)
    tlb_finish_mmu(tlb)
    return 0

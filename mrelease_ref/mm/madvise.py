"""madvise(): the system call, its range walk, and the advices the model knows.

Kernel: mm/madvise.c (do_madvise(), madvise_walk_vmas(), madvise_vma_behavior(),
madvise_update_vma(), madvise_dontneed_free(), madvise_dontneed_single_vma(),
madvise_free_single_vma(), madvise_free_pte_range(), madvise_cold(), madvise_pageout(),
madvise_cold_or_pageout_pte_range()), mm/khugepaged.c (hugepage_madvise()),
mm/huge_memory.c (madvise_free_huge_pmd()), mm/swap.c (folio_deactivate(),
folio_mark_lazyfree()), include/linux/mm.h (folio_maybe_mapped_shared())

``do_madvise()`` validates the range (an unaligned start, an unknown advice or a wrapping
length: EINVAL), then ``madvise_walk_vmas()`` applies the advice VMA by VMA: a hole in the
range is remembered as ENOMEM but the walk goes on, so the mapped parts are still advised;
an error from one VMA stops the walk at once.

* Advices that change ``vm_flags`` (MADV_NORMAL/RANDOM/SEQUENTIAL, HUGEPAGE/NOHUGEPAGE,
  DONTFORK/DOFORK, WIPEONFORK/KEEPONFORK, DONTDUMP/DODUMP) go through
  ``vma_modify_flags()``: the VMA is split at the range's ends (mm/vma.c).
* MADV_DONTNEED (and MADV_DONTNEED_LOCKED, which also accepts VM_LOCKED VMAs) zaps the
  range like munmap() does but keeps the VMA: anonymous pages are freed, file pages only
  unmapped; the next touch faults in a zero page or the page-cache page again.
  VM_PFNMAP (and VM_LOCKED for plain DONTNEED) is EINVAL.
* MADV_FREE (private anonymous VMAs only, else EINVAL) makes each exclusive folio
  *lazyfree*: young and dirty bits cleared in the PTEs and the folio, swap entries dropped,
  and ``folio_mark_lazyfree()`` moves it to the inactive file list without PG_swapbacked.
  Reclaim (MADV_PAGEOUT, kswapd) then discards it without swap, unless a write dirtied
  it again: then ``try_to_unmap_one()`` puts it back (PG_swapbacked set again).
* MADV_COLD and MADV_PAGEOUT walk the PTEs of the range and pick the folios this mapping
  has to itself: on the LRU (so a folio still parked in a per-CPU batch is skipped;
  ``lru_add_drain()`` first empties this CPU's batches) and mapped exactly
  ``folio_nr_pages()`` times. MADV_COLD clears the PTEs' young bits and moves an active
  folio to the inactive list. MADV_PAGEOUT isolates the folios and hands them to
  ``reclaim_pages()``: anonymous memory goes to swap, clean file pages leave the page cache
  with a shadow entry. A huge PMD (anonymous THP or a PMD-mapped file folio) that the
  range covers whole is handled as one folio, if no other mm maps it (the PMD branch of
  ``madvise_cold_or_pageout_pte_range()``).

Limitations:
- ``split_folio()`` is modelled by its effect on the mappings only: a page-cache folio only
  partly inside the range is unmapped everywhere (as the kernel's split does) but stays
  one large folio in the cache; an anonymous one is left alone, as when the kernel's split
  fails (the kernel would split it and map its pages back with PTEs).
- MADV_PAGEOUT of an anonymous THP without swap: v6.18 splits it in
  ``shrink_folio_list()`` (``split_folio_to_list()`` after ``folio_alloc_swap()`` fails) and
  keeps the pages (measured on the live kernel 2026-12-03: AnonHugePages 4096 -> 0 kB,
  Rss unchanged); the model keeps the THP whole.
- A re-dirtied PMD-mapped lazyfree THP that reclaim keeps is PTE-mapped afterwards on the
  live kernel (thp_split_pmd +1, thp_split_page +0, AnonHugePages 2048 -> 0 kB, measured
  2026-12-03 on 6.18.44; the path that splits the PMD was not identified in the v6.18
  source); the model keeps the PMD.
- MADV_WILLNEED, MADV_REMOVE, MADV_POPULATE_*, MADV_COLLAPSE, KSM, guard regions and
  hwpoison advices are valid on Linux but not modelled (``ValueError`` says so).
- MADV_DONTNEED does not free emptied page tables (``reclaim_pt``), and there is no
  userfaultfd, so the mmap_lock is never dropped.
- Files have no owner or permission bits: ``can_do_file_pageout()`` treats uid 0 as the
  owner of every file and a writable open (``FMODE_WRITE``) as ``MAY_WRITE`` permission.
- The walk never reschedules (no ``SWAP_CLUSTER_MAX`` restart), ignores fatal signals,
  and does not take ``mmap_lock``.
- ``folio_deactivate()`` and ``folio_mark_lazyfree()`` move the folio at once instead of
  parking it in a per-CPU batch (the model's CpuFbatches has neither batch).
- Idle-page tracking (``folio_test_clear_young()``) is not modelled.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Final

from mrelease_ref.include.asm_generic.tlb import (
    MmuGather,
    tlb_change_page_size,
    tlb_end_vma,
    tlb_remove_pmd_tlb_entry,
    tlb_remove_tlb_entries,
    tlb_start_vma,
)
from mrelease_ref.include.linux.fs import FMODE_WRITE
from mrelease_ref.include.linux.mm_types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    VM_HUGEPAGE,
    VM_HUGETLB,
    VM_LOCKED,
    VM_MAYSHARE,
    VM_NOHUGEPAGE,
    VM_PFNMAP,
    VM_RAND_READ,
    VM_SEQ_READ,
    VM_SHARED,
    Folio,
    MmStruct,
    PageGeometry,
    Pmd,
    Pte,
    PteTable,
    VmAreaStruct,
    folio_mapcount,
    folio_maybe_mapped_shared,
    ptep_clear_bits,
    vma_is_anonymous,
)
from mrelease_ref.include.linux.page_flags import (
    PG_active,
    PG_anon,
    PG_dirty,
    PG_lru,
    PG_referenced,
    PG_swapcache,
    PG_unevictable,
    PG_workingset,
)
from mrelease_ref.mm.memory import folio_pte_batch
from mrelease_ref.mm.mmu_gather import tlb_finish_mmu, tlb_gather_mmu
from mrelease_ref.mm.swap import (
    folio_deactivate,
    folio_mark_lazyfree,
    lru_add_drain,
)
from mrelease_ref.mm.swap_state import folio_trylock, folio_unlock
from mrelease_ref.mm.swapfile import folio_free_swap
from mrelease_ref.mm.vmscan import folio_isolate_lru, folio_putback_lru, reclaim_pages

# include/uapi/asm-generic/mman-common.h
MADV_NORMAL: Final = 0
MADV_RANDOM: Final = 1
MADV_SEQUENTIAL: Final = 2
MADV_WILLNEED: Final = 3
MADV_DONTNEED: Final = 4
MADV_FREE: Final = 8
MADV_REMOVE: Final = 9
MADV_DONTFORK: Final = 10
MADV_DOFORK: Final = 11
MADV_MERGEABLE: Final = 12
MADV_UNMERGEABLE: Final = 13
MADV_HUGEPAGE: Final = 14
MADV_NOHUGEPAGE: Final = 15
MADV_DONTDUMP: Final = 16
MADV_DODUMP: Final = 17
MADV_WIPEONFORK: Final = 18
MADV_KEEPONFORK: Final = 19
MADV_COLD: Final = 20
MADV_PAGEOUT: Final = 21
MADV_POPULATE_READ: Final = 22
MADV_POPULATE_WRITE: Final = 23
MADV_DONTNEED_LOCKED: Final = 24
MADV_COLLAPSE: Final = 25
MADV_HWPOISON: Final = 100
MADV_SOFT_OFFLINE: Final = 101
MADV_GUARD_INSTALL: Final = 102
MADV_GUARD_REMOVE: Final = 103

# include/linux/mm.h
VM_DONTCOPY: Final = 0x00020000
VM_IO: Final = 0x00004000
VM_DONTEXPAND: Final = 0x00040000
VM_WIPEONFORK: Final = 0x02000000
VM_DONTDUMP: Final = 0x04000000
VM_MIXEDMAP: Final = 0x10000000
VM_SPECIAL: Final = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP


def folio_clear_dirty(folio: Folio) -> None:
    """Kernel: include/linux/page-flags.h:folio_clear_dirty() (the bare flag operation;
    an anonymous folio's dirty bit is not accounted anywhere)"""
    folio.flags &= ~PG_dirty


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
    """Kernel: include/linux/huge_mm.h:split_folio() (split_huge_page_to_list_to_order())

    The model cannot split a folio. For a page-cache folio it does what the mappings see:
    when the kernel's split would go ahead (``can_split_folio()``: only the page cache and
    the mappings hold references), ``unmap_folio()`` unmaps every PTE and PMD mapping it
    (file pages are not mapped back after a split) and 0 is returned, the folio staying
    large in the cache. An anonymous folio (mapped back as PTEs after a kernel split) is
    left alone: -EBUSY.
    """
    from mrelease_ref.mm.rmap import TTU_BATCH_FLUSH, TTU_SPLIT_HUGE_PMD, TTU_SYNC, try_to_unmap

    if folio.flags & PG_anon or not folio.order:
        return -errno.EBUSY
    if folio._refcount != (1 << folio.order) + folio._mapcount:  # can_split_folio()
        return -errno.EAGAIN
    try_to_unmap(folio, TTU_SPLIT_HUGE_PMD | TTU_SYNC | TTU_BATCH_FLUSH)  # unmap_folio()
    return -errno.EAGAIN if folio._mapcount else 0  # still mapped: the split fails


def madvise_folio_pte_batch(
    addr: int, end: int, folio: Folio, table: PteTable, i: int, ptent: Pte
) -> tuple[int, bool]:
    """Kernel: mm/madvise.c:madvise_folio_pte_batch()

    How many consecutive PTEs from ``table[i]`` map consecutive pages of the large folio
    (dirty bits ignored), and whether any of them is young.
    """
    pg = folio.kernel.pg
    nr = folio_pte_batch(folio, table, i, ptent, (end - addr) >> pg.PAGE_SHIFT)
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
            ptep_clear_bits(table, j, _PAGE_ACCESSED)
        tlb_remove_tlb_entries(tlb, nr, addr)
    _deactivate_or_isolate(folio, pageout, folio_list)


def _deactivate_or_isolate(folio: Folio, pageout: bool, folio_list: list[Folio]) -> None:
    """What both branches of the walk do with a chosen folio: forget its references, then
    deactivate it (COLD) or isolate it for ``reclaim_pages()`` (PAGEOUT)."""
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
    pg = tlb.mm.kernel.pg
    anon_only = pageout and not vma_is_anonymous(vma) and not can_do_file_pageout(vma)
    tlb_change_page_size(tlb, pg.PAGE_SIZE)
    folio_list: list[Folio] = []
    i = pg.pte_index(addr)
    while addr < end:
        nr = _cold_or_pageout_pte(tlb, vma, table, i, addr, end, pageout, anon_only,
                                  folio_list)
        i += nr
        addr += nr << pg.PAGE_SHIFT
    if pageout:
        reclaim_pages(folio_list)
    return 0


def _cold_or_pageout_huge_pmd(
    tlb: MmuGather, vma: VmAreaStruct, pmd: Pmd, addr: int, nxt: int, pageout: bool
) -> None:
    """The ``pmd_trans_huge()`` branch of ``madvise_cold_or_pageout_pte_range()``.

    A huge PMD (anonymous THP or PMD-mapped file folio) is aged or reclaimed as one folio
    when the range covers it whole and no other mm maps it; a partly covered one would be
    split (not modelled: left alone, as when ``split_folio()`` fails).
    """
    tlb_change_page_size(tlb, tlb.mm.kernel.pg.PMD_SIZE)  # HPAGE_PMD_SIZE
    folio = pmd.folio
    if folio is None:  # is_huge_zero_pmd()
        return
    if folio_maybe_mapped_shared(folio):
        return
    anon_only = pageout and not vma_is_anonymous(vma) and not can_do_file_pageout(vma)
    if anon_only and not folio.flags & PG_anon:
        return
    if nxt - addr != tlb.mm.kernel.pg.PMD_SIZE:  # HPAGE_PMD_SIZE
        folio_trylock(folio)
        split_folio(folio)
        folio_unlock(folio)
        return
    if not pageout and pmd.bits & _PAGE_ACCESSED:
        pmd.bits &= ~_PAGE_ACCESSED  # pmd_mkold()
        tlb_remove_pmd_tlb_entry(tlb, addr)
    folio_list: list[Folio] = []
    _deactivate_or_isolate(folio, pageout, folio_list)
    if pageout:
        reclaim_pages(folio_list)


def _walk_cold_or_pageout(
    tlb: MmuGather, vma: VmAreaStruct, start: int, end: int, pageout: bool
) -> None:
    """``walk_page_range()`` with ``cold_walk_ops``: one call per PMD."""
    pg = tlb.mm.kernel.pg
    pgd = vma.vm_mm.pgd
    addr = start
    while addr < end:
        nxt = min((addr | (pg.PMD_SIZE - 1)) + 1, end)
        entry = pgd.get(addr >> pg.PMD_SHIFT)
        if isinstance(entry, PteTable):
            madvise_cold_or_pageout_pte_range(tlb, vma, entry, addr, nxt, pageout)
        elif isinstance(entry, Pmd):
            _cold_or_pageout_huge_pmd(tlb, vma, entry, addr, nxt, pageout)
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


# ---------------------------------------------------------------------------------------
# MADV_DONTNEED and MADV_FREE
# ---------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class MadviseBehavior:
    """Kernel: mm/madvise.c (struct madvise_behavior, with its madvise_behavior_range)

    ``start``/``end`` is the part of the range the current VMA covers; ``tlb`` is the one
    gather DONTNEED and FREE share across VMAs (``madvise_batch_tlb_flush()``).
    """

    mm: MmStruct
    behavior: int
    start: int = 0
    end: int = 0
    vma: VmAreaStruct | None = None
    tlb: MmuGather | None = None


def madvise_dontneed_free_valid_vma(mb: MadviseBehavior) -> bool:
    """Kernel: mm/madvise.c:madvise_dontneed_free_valid_vma()

    DONTNEED and FREE refuse PFN mappings and mlocked VMAs; DONTNEED_LOCKED accepts the
    latter. Hugetlb VMAs hold no pages in the model and are refused.
    """
    vma = mb.vma
    assert vma is not None
    if vma.vm_flags & VM_HUGETLB:
        return False
    forbidden = VM_PFNMAP
    if mb.behavior != MADV_DONTNEED_LOCKED:
        forbidden |= VM_LOCKED
    return not vma.vm_flags & forbidden


def madvise_dontneed_single_vma(mb: MadviseBehavior) -> int:
    """Kernel: mm/madvise.c:madvise_dontneed_single_vma()

    ``zap_page_range_single_batched()`` over the range with ``even_cows`` and
    ``reclaim_pt``: every page is unmapped, COWed private pages included; anonymous folios
    are freed through the gather, page-cache folios stay cached.
    """
    from mrelease_ref.kernel.sched import run_to_completion
    from mrelease_ref.mm.memory import ZapDetails, unmap_single_vma

    assert mb.vma is not None and mb.tlb is not None
    # the zap's per-PMD cond_resched() points do not interleave with anything here: madvise()
    # is one atomic call in the model (module Limitations)
    run_to_completion(unmap_single_vma(mb.tlb, mb.vma, mb.start, mb.end,
                                       ZapDetails(even_cows=True, reclaim_pt=True)))
    return 0


def _lazyfree_folio(tlb: MmuGather, table: PteTable, i: int, addr: int, nr: int) -> None:
    """The tail of ``madvise_free_pte_range()``'s loop for a present folio."""
    ptent = table[i]
    assert isinstance(ptent, Pte) and ptent.folio is not None
    folio = ptent.folio
    if folio.flags & (PG_swapcache | PG_dirty):
        if not folio_trylock(folio):
            return
        if folio_mapcount(folio) != 1 << folio.order:
            folio_unlock(folio)
            return
        if folio.flags & PG_swapcache and not folio_free_swap(folio):
            folio_unlock(folio)
            return
        folio_clear_dirty(folio)
        folio_unlock(folio)
    if any(table[j].bits & (_PAGE_ACCESSED | _PAGE_DIRTY) for j in range(i, i + nr)):  # type: ignore[union-attr]
        for j in range(i, i + nr):  # clear_young_dirty_ptes(CYDP_CLEAR_YOUNG|CYDP_CLEAR_DIRTY)
            ptep_clear_bits(table, j, _PAGE_ACCESSED | _PAGE_DIRTY)
        tlb_remove_tlb_entries(tlb, nr, addr)
    folio_mark_lazyfree(folio)


def madvise_free_pte_range(
    tlb: MmuGather, vma: VmAreaStruct, table: PteTable, addr: int, end: int
) -> int:
    """Kernel: mm/madvise.c:madvise_free_pte_range()

    Walk one PTE table's part of the range: a swap entry is dropped (its slot freed, so a
    later touch gets a zero page); a present anonymous folio this mapping has to itself is
    cleaned (dirty bits off, swap cache left) and marked lazyfree. Returns 0.
    """
    from mrelease_ref.include.linux.mm_types import MM_SWAPENTS, SwpEntry, add_mm_counter
    from mrelease_ref.mm.swapfile import free_swap_and_cache_nr

    pg = tlb.mm.kernel.pg
    tlb_change_page_size(tlb, pg.PAGE_SIZE)
    nr_swap = 0
    i = pg.pte_index(addr)
    while addr != end:
        nr = 1
        ptent = table[i]
        if isinstance(ptent, SwpEntry):
            nr_swap -= 1
            free_swap_and_cache_nr(vma.vm_mm.kernel, ptent, 1)
            table[i] = None
        elif isinstance(ptent, Pte) and ptent.folio is not None:
            folio = ptent.folio
            skip = False
            if folio.order:
                nr, _ = madvise_folio_pte_batch(addr, end, folio, table, i, ptent)
                skip = nr < 1 << folio.order  # would split_folio(): not modelled
            if not skip:
                _lazyfree_folio(tlb, table, i, addr, nr)
        i += nr
        addr += nr << pg.PAGE_SHIFT
    if nr_swap:
        add_mm_counter(vma.vm_mm, MM_SWAPENTS, nr_swap)
    return 0


def madvise_free_huge_pmd(
    tlb: MmuGather, vma: VmAreaStruct, pmd: Pmd, addr: int, nxt: int
) -> bool:
    """Kernel: mm/huge_memory.c:madvise_free_huge_pmd()

    An exclusive anonymous THP that the range covers whole is cleaned and marked lazyfree;
    one covered in part would be split (not modelled: left alone).
    """
    tlb_change_page_size(tlb, tlb.mm.kernel.pg.PMD_SIZE)  # HPAGE_PMD_SIZE
    folio = pmd.folio
    if folio is None or folio_maybe_mapped_shared(folio) or not folio_trylock(folio):
        return False
    if nxt - addr != tlb.mm.kernel.pg.PMD_SIZE:  # HPAGE_PMD_SIZE
        split_folio(folio)
        folio_unlock(folio)
        return False
    folio_clear_dirty(folio)
    folio_unlock(folio)
    if pmd.bits & (_PAGE_ACCESSED | _PAGE_DIRTY):
        pmd.bits &= ~(_PAGE_ACCESSED | _PAGE_DIRTY)  # pmd_mkold(), pmd_mkclean()
        tlb_remove_pmd_tlb_entry(tlb, addr)
    folio_mark_lazyfree(folio)
    return True


def madvise_free_single_vma(mb: MadviseBehavior) -> int:
    """Kernel: mm/madvise.c:madvise_free_single_vma(): only private anonymous VMAs."""
    vma, tlb = mb.vma, mb.tlb
    assert vma is not None and tlb is not None
    pg = vma.vm_mm.kernel.pg
    if not vma_is_anonymous(vma):
        return -errno.EINVAL
    start, end = max(vma.vm_start, mb.start), min(vma.vm_end, mb.end)
    if start >= vma.vm_end or end <= vma.vm_start:
        return -errno.EINVAL
    lru_add_drain(vma.vm_mm.kernel)
    tlb_start_vma(tlb, vma)
    pgd = vma.vm_mm.pgd
    addr = start
    while addr < end:  # walk_page_range_vma() with .pmd_entry = madvise_free_pte_range
        nxt = min((addr | (pg.PMD_SIZE - 1)) + 1, end)
        entry = pgd.get(addr >> pg.PMD_SHIFT)
        if isinstance(entry, Pmd):
            madvise_free_huge_pmd(tlb, vma, entry, addr, nxt)
        elif isinstance(entry, PteTable):
            madvise_free_pte_range(tlb, vma, entry, addr, nxt)
        addr = nxt
    tlb_end_vma(tlb, vma)
    return 0


def madvise_dontneed_free(mb: MadviseBehavior) -> int:
    """Kernel: mm/madvise.c:madvise_dontneed_free()"""
    if not madvise_dontneed_free_valid_vma(mb):
        return -errno.EINVAL
    if mb.start == mb.end:
        return 0
    if mb.behavior in (MADV_DONTNEED, MADV_DONTNEED_LOCKED):
        return madvise_dontneed_single_vma(mb)
    if mb.behavior == MADV_FREE:
        return madvise_free_single_vma(mb)
    return -errno.EINVAL


# ---------------------------------------------------------------------------------------
# The system call
# ---------------------------------------------------------------------------------------

_FLAG_ADVICES: Final = frozenset({
    MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK,
    MADV_KEEPONFORK, MADV_DONTDUMP, MADV_DODUMP, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
})
MODELLED_ADVICES: Final = _FLAG_ADVICES | {
    MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_FREE, MADV_COLD, MADV_PAGEOUT,
}
"""The advices ``do_madvise()`` carries out; the other valid ones raise ValueError."""


def madvise_behavior_valid(behavior: int) -> bool:
    """Kernel: mm/madvise.c:madvise_behavior_valid() (CONFIG_KSM, CONFIG_TRANSPARENT_HUGEPAGE
    and CONFIG_MEMORY_FAILURE on, as on these machines)"""
    return behavior in MODELLED_ADVICES or behavior in (
        MADV_WILLNEED, MADV_REMOVE, MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_POPULATE_READ,
        MADV_POPULATE_WRITE, MADV_COLLAPSE, MADV_GUARD_INSTALL, MADV_GUARD_REMOVE,
        MADV_HWPOISON, MADV_SOFT_OFFLINE,
    )


def is_valid_madvise(start: int, len_in: int, behavior: int, *, pg: PageGeometry) -> bool:
    """Kernel: mm/madvise.c:is_valid_madvise(): a known advice, a page-aligned start, and a
    length that neither wraps the address space nor rounds up to zero. ``pg`` (model-only)
    is the kernel's page geometry."""
    if not madvise_behavior_valid(behavior):
        return False
    if start & (pg.PAGE_SIZE - 1):
        return False
    length = (len_in + pg.PAGE_SIZE - 1) & ~(pg.PAGE_SIZE - 1) & (2**64 - 1)
    if len_in and not length:
        return False
    return start + length < 2**64


def hugepage_madvise(vma: VmAreaStruct, flags: int, behavior: int) -> int:
    """Kernel: mm/khugepaged.c:hugepage_madvise(): the new ``vm_flags`` (khugepaged, which
    would later collapse the range, is not modelled)."""
    if behavior == MADV_HUGEPAGE:
        return (flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE
    return (flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE


def madvise_update_vma(new_flags: int, mb: MadviseBehavior) -> int:
    """Kernel: mm/madvise.c:madvise_update_vma(): give the range its new flags, splitting
    (and re-merging) VMAs as needed (``vma_modify_flags()``)."""
    from mrelease_ref.mm.vma import vma_modify_flags

    vma = mb.vma
    assert vma is not None
    if new_flags == vma.vm_flags:
        return 0
    mb.vma = vma_modify_flags(vma, mb.start, mb.end, new_flags)
    return 0


def _new_flags(vma: VmAreaStruct, behavior: int) -> int:
    """The ``vm_flags`` a flag-changing advice asks for, or ``-errno``."""
    f = vma.vm_flags
    if behavior == MADV_NORMAL:
        return f & ~(VM_RAND_READ | VM_SEQ_READ)
    if behavior == MADV_SEQUENTIAL:
        return (f & ~VM_RAND_READ) | VM_SEQ_READ
    if behavior == MADV_RANDOM:
        return (f & ~VM_SEQ_READ) | VM_RAND_READ
    if behavior == MADV_DONTFORK:
        return f | VM_DONTCOPY
    if behavior == MADV_DOFORK:
        return -errno.EINVAL if f & VM_IO else f & ~VM_DONTCOPY
    if behavior == MADV_WIPEONFORK:
        return -errno.EINVAL if vma.vm_file is not None or f & VM_SHARED else f | VM_WIPEONFORK
    if behavior == MADV_KEEPONFORK:
        return f & ~VM_WIPEONFORK
    if behavior == MADV_DONTDUMP:
        return f | VM_DONTDUMP
    if behavior == MADV_DODUMP:
        return -errno.EINVAL if f & VM_SPECIAL and not f & VM_HUGETLB else f & ~VM_DONTDUMP
    return hugepage_madvise(vma, f, behavior)


def madvise_vma_behavior(mb: MadviseBehavior) -> int:
    """Kernel: mm/madvise.c:madvise_vma_behavior(): apply the advice to one VMA's part of
    the range. (No VMA is sealed in the model, so ``can_madvise_modify()`` always holds.)"""
    vma = mb.vma
    assert vma is not None
    behavior = mb.behavior
    if behavior == MADV_COLD:
        return madvise_cold(vma, mb.start, mb.end)
    if behavior == MADV_PAGEOUT:
        return madvise_pageout(vma, mb.start, mb.end)
    if behavior in (MADV_FREE, MADV_DONTNEED, MADV_DONTNEED_LOCKED):
        return madvise_dontneed_free(mb)
    new_flags = _new_flags(vma, behavior)
    if new_flags < 0:
        return new_flags
    return madvise_update_vma(new_flags, mb)


def madvise_walk_vmas(mb: MadviseBehavior) -> int:
    """Kernel: mm/madvise.c:madvise_walk_vmas()

    Apply the advice to each VMA in ``[mb.start, mb.end)``. A hole makes the result ENOMEM,
    but the VMAs after it are still advised; a VMA's own error ends the walk.
    """
    from mrelease_ref.mm.vma import find_vma

    mm = mb.mm
    last_end = mb.end
    unmapped_error = 0
    vma = find_vma(mm, mb.start)
    while True:
        if vma is None:
            return -errno.ENOMEM
        if mb.start < vma.vm_start:
            unmapped_error = -errno.ENOMEM
            mb.start = vma.vm_start
            if mb.start >= last_end:
                break
        mb.end = min(vma.vm_end, last_end)
        mb.vma = vma
        error = madvise_vma_behavior(mb)
        if error:
            return error
        vma = mb.vma
        if mb.end < vma.vm_end:
            mb.end = vma.vm_end
        if mb.end >= last_end:
            break
        vma = find_vma(mm, vma.vm_end)
        mb.start = mb.end
    return unmapped_error


def do_madvise(mm: MmStruct, start: int, len_in: int, behavior: int) -> int:
    """Kernel: mm/madvise.c:do_madvise() (the body of SYSCALL_DEFINE3(madvise))

    Returns 0 or ``-errno``: EINVAL for a bad advice, an unaligned start or a wrapping
    length; ENOMEM when part of the range is not mapped (the mapped parts are advised
    anyway); a VMA's own error (EINVAL for DONTNEED on VM_LOCKED, FREE on a file, ...).
    """
    pg = mm.kernel.pg
    if not is_valid_madvise(start, len_in, behavior, pg=pg):
        return -errno.EINVAL
    length = (len_in + pg.PAGE_SIZE - 1) & ~(pg.PAGE_SIZE - 1)
    if not length:
        return 0
    if behavior not in MODELLED_ADVICES:
        raise ValueError(f"madvise advice {behavior} is valid on Linux but not modelled; "
                         f"the model knows {sorted(MODELLED_ADVICES)}")
    mb = MadviseBehavior(mm, behavior, start, start + length)
    batched = behavior in (MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_FREE)
    if batched:  # madvise_init_tlb(): one gather for the whole range
        mb.tlb = tlb_gather_mmu(mm)
    error = madvise_walk_vmas(mb)
    if mb.tlb is not None:  # madvise_finish_tlb()
        tlb_finish_mmu(mb.tlb)
    return error

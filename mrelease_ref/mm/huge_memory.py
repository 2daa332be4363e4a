"""PMD-mapped huge pages: anonymous THP faults, file PMD mappings, zap and split.

Kernel: mm/huge_memory.c, include/linux/huge_mm.h

Two kinds of PMD mappings matter here:

* anonymous THPs, only in VMAs that asked with madvise(MADV_HUGEPAGE) (these machines run
  THP in ``[madvise]`` mode); each keeps a deposited PTE table, freed when the PMD is
  zapped (the only page tables a reap frees, docs/sources.md §M0.7);
* page-cache folios of PMD order, which ``do_set_pmd()`` maps with one PMD whatever the
  THP mode says (``vma_thp_disabled(..., forced_collapse=true)``: only MADV_NOHUGEPAGE
  refuses). Readahead builds them once a sequential stream has ramped up, or at once
  under MADV_HUGEPAGE (mm/readahead.py): a 1 GiB private file read in order showed
  1007616 kB (492 PMDs) FilePmdMapped on 2026-12-03 (lab/data/folios.json), exactly as
  the model maps it.

A PMD mapping holds *one* folio reference, however many pages it covers.

fork() shares an anonymous THP with the child by one more PMD, write-protected on both
sides (``copy_huge_pmd()``); a file PMD is not copied (the child faults it in again). A
write to a write-protected anonymous PMD reuses the THP when this mm is its only user, and
otherwise splits the PMD into PTEs (``__split_huge_pmd()``), so that only the written page
is copied (``do_huge_pmd_wp_page()``).

Limitations:
- A file PMD split just unmaps it (as the kernel does); an anonymous PMD is split only by a
  COW write fault (the deposited table maps the THP with PTEs). The folio itself is never
  split (no deferred split queue); ``zap_pmd_range()`` never splits an anonymous PMD for a
  partial zap, and madvise/mprotect refuse a range boundary inside an anonymous THP.
- No huge zero page folio: a read fault on a THP-eligible anon range maps a special PMD
  with no folio, as ``is_huge_zero_pmd()`` would see it.
"""

from __future__ import annotations

from mrelease_ref.include.asm_generic.tlb import (
    MmuGather,
    tlb_remove_page_size,
    tlb_remove_pmd_tlb_entry,
)
from mrelease_ref.include.linux.mm_inline import vma_has_recency
from mrelease_ref.include.linux.mm_types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_RW,
    _PAGE_SPECIAL,
    MM_ANONPAGES,
    VM_HUGEPAGE,
    VM_NOHUGEPAGE,
    Folio,
    MmStruct,
    Pmd,
    VmAreaStruct,
    mm_counter_file,
)
from mrelease_ref.include.linux.mmzone import NR_PAGETABLE
from mrelease_ref.include.linux.oom import check_stable_address_space
from mrelease_ref.include.linux.page_flags import PG_anon, PG_dirty, PG_referenced, PG_swapbacked
from mrelease_ref.include.linux.vmstat import count_vm_events
from mrelease_ref.mm.page_alloc import folio_alloc
from mrelease_ref.mm.page_writeback import folio_mark_dirty
from mrelease_ref.mm.rmap import (
    folio_add_file_rmap_pmd,
    folio_add_new_anon_rmap,
    folio_remove_rmap_pmd,
)
from mrelease_ref.mm.swap import folio_add_lru_vma, folio_mark_accessed, folio_put


def thp_vma_suitable_order(vma: VmAreaStruct, addr: int, order: int) -> bool:
    """Kernel: include/linux/huge_mm.h:thp_vma_suitable_order()

    The aligned range fits in the VMA, and for a file VMA the file offset is aligned with
    the address, so one PMD can map one folio.
    """
    pg = vma.vm_mm.kernel.pg
    size = pg.PAGE_SIZE << order
    haddr = addr & ~(size - 1)
    if vma.vm_file is not None and (
        (vma.vm_start >> pg.PAGE_SHIFT) - vma.vm_pgoff
    ) % (1 << order):
        return False
    return haddr >= vma.vm_start and haddr + size <= vma.vm_end


def vma_thp_disabled(vma: VmAreaStruct) -> bool:
    """Kernel: include/linux/huge_mm.h:vma_thp_disabled() (MADV_NOHUGEPAGE)"""
    return bool(vma.vm_flags & VM_NOHUGEPAGE)


def thp_vma_allowable_anon(vma: VmAreaStruct, address: int) -> bool:
    """Kernel: include/linux/huge_mm.h:thp_vma_allowable_order() for anonymous faults

    THP ``[madvise]``: only VMAs with VM_HUGEPAGE, and only with large folios enabled.
    """
    pg = vma.vm_mm.kernel.pg
    if vma.vm_ops is not None or not vma.vm_flags & VM_HUGEPAGE or vma_thp_disabled(vma):
        return False
    if not vma.vm_mm.kernel.config.large_folios:
        return False
    return thp_vma_suitable_order(vma, address, pg.HPAGE_PMD_ORDER)


def pgtable_trans_huge_deposit(mm: MmStruct) -> None:
    """Kernel: mm/pgtable-generic.c:pgtable_trans_huge_deposit(): keep a PTE table aside."""
    pg = mm.kernel.pg
    mm.pgtables_bytes += pg.PAGE_SIZE
    mm.kernel.vmstat[NR_PAGETABLE] += 1


def zap_deposited_table(mm: MmStruct) -> None:
    """Kernel: mm/huge_memory.c:zap_deposited_table(): free the deposited PTE table."""
    pg = mm.kernel.pg
    mm.pgtables_bytes -= pg.PAGE_SIZE
    mm.kernel.vmstat[NR_PAGETABLE] -= 1


def do_huge_pmd_anonymous_page(vma: VmAreaStruct, address: int, write: bool) -> int | None:
    """Kernel: mm/huge_memory.c:do_huge_pmd_anonymous_page()

    Map a PMD-sized anonymous folio (a write) or the huge zero page (a read), depositing a
    PTE table for a later split. Returns None to fall back to PTEs.
    """
    pg = vma.vm_mm.kernel.pg
    mm = vma.vm_mm
    k = mm.kernel
    haddr = address & ~(pg.PMD_SIZE - 1)
    if not write:
        ret = check_stable_address_space(mm)
        if ret:  # the pre-allocated table is freed again (pte_free())
            return ret
        mm.pgd[haddr >> pg.PMD_SHIFT] = Pmd(None, _PAGE_ACCESSED | _PAGE_SPECIAL)
        pgtable_trans_huge_deposit(mm)
        return 0
    folio = folio_alloc(k, pg.HPAGE_PMD_ORDER)
    if folio is None:
        count_vm_events(k, "THP_FAULT_FALLBACK", 1)
        return None
    ret = check_stable_address_space(mm)
    if ret:
        folio_put(folio)
        return ret
    folio_add_new_anon_rmap(folio, vma, haddr, pmd=True)
    folio_add_lru_vma(folio, vma)
    mm.pgd[haddr >> pg.PMD_SHIFT] = Pmd(folio, _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_RW)
    pgtable_trans_huge_deposit(mm)
    mm.rss_stat[MM_ANONPAGES] += pg.HPAGE_PMD_NR
    count_vm_events(k, "THP_FAULT_ALLOC", 1)
    return 0


def do_set_pmd(vma: VmAreaStruct, address: int, folio: Folio, write: bool) -> bool:
    """Kernel: mm/memory.c:do_set_pmd()

    Map a PMD-order page-cache folio with one PMD (the lookup reference becomes the
    mapping's). Refused (False) for MADV_NOHUGEPAGE, a misaligned VMA, a smaller folio, or
    an occupied PMD.
    """
    pg = vma.vm_mm.kernel.pg
    mm = vma.vm_mm
    haddr = address & ~(pg.PMD_SIZE - 1)
    if vma_thp_disabled(vma) or not thp_vma_suitable_order(vma, haddr, pg.HPAGE_PMD_ORDER):
        return False
    if folio.order != pg.HPAGE_PMD_ORDER or mm.pgd.get(haddr >> pg.PMD_SHIFT) is not None:
        return False
    folio_add_file_rmap_pmd(folio, vma)
    mm.rss_stat[mm_counter_file(folio)] += pg.HPAGE_PMD_NR
    bits = _PAGE_ACCESSED | ((_PAGE_DIRTY | _PAGE_RW) if write else 0)
    mm.pgd[haddr >> pg.PMD_SHIFT] = Pmd(folio, bits)
    count_vm_events(mm.kernel, "THP_FILE_MAPPED", 1)
    return True


def __split_huge_pmd(vma: VmAreaStruct, pmd_idx: int) -> None:
    """Kernel: mm/huge_memory.c:__split_huge_pmd() -> __split_huge_pmd_locked()

    A file PMD is simply unmapped: its dirty and young bits go to the folio, the rmap and
    the reference are dropped; later accesses fault the pages in with PTEs. An anonymous
    PMD becomes a PTE table (the deposited one) mapping every page of the THP with the
    PMD's bits.
    """
    pg = vma.vm_mm.kernel.pg
    mm = vma.vm_mm
    pmd = mm.pgd[pmd_idx]
    assert isinstance(pmd, Pmd)
    folio = pmd.folio
    if folio is not None and folio.flags & PG_anon:
        __split_huge_pmd_anon(vma, pmd_idx, pmd, folio)
        return
    del mm.pgd[pmd_idx]
    if folio is None:
        zap_deposited_table(mm)
        return
    if not folio.flags & PG_dirty and pmd.bits & _PAGE_DIRTY:
        folio_mark_dirty(folio)
    if not folio.flags & PG_referenced and pmd.bits & _PAGE_ACCESSED:
        folio.flags |= PG_referenced
    folio_remove_rmap_pmd(folio, (folio, 0), vma)
    folio_put(folio)
    mm.rss_stat[mm_counter_file(folio)] -= pg.HPAGE_PMD_NR


def zap_huge_pmd(tlb: MmuGather, vma: VmAreaStruct, pmd_idx: int, addr: int) -> int:
    """Kernel: mm/huge_memory.c:zap_huge_pmd()

    Clear a huge PMD. An anonymous THP loses its rmap and its deposited page table; a file
    folio is marked accessed if the PMD was young (no version of the series changes this
    path). The one reference goes to the gather with ``tlb_remove_page_size()``.
    """
    pg = tlb.mm.kernel.pg
    mm = tlb.mm
    pmd = mm.pgd.pop(pmd_idx)
    assert isinstance(pmd, Pmd)
    count_vm_events(mm.kernel, "ZAP_PMD", 1)  # the model's cost meter
    tlb_remove_pmd_tlb_entry(tlb, addr)
    folio = pmd.folio
    if folio is None:  # is_huge_zero_pmd()
        zap_deposited_table(mm)
        return 1
    page = (folio, 0)
    folio_remove_rmap_pmd(folio, page, vma)
    if folio.flags & PG_anon:
        zap_deposited_table(mm)
        mm.rss_stat[MM_ANONPAGES] -= pg.HPAGE_PMD_NR
    else:
        mm.rss_stat[mm_counter_file(folio)] -= pg.HPAGE_PMD_NR
        if pmd.bits & _PAGE_ACCESSED and vma_has_recency(vma):
            folio_mark_accessed(folio)
    tlb_remove_page_size(tlb, page, pg.PMD_SIZE)
    return 1


def __discard_anon_folio_pmd_locked(vma: VmAreaStruct, pmd_idx: int, folio: Folio) -> bool:
    """Kernel: mm/huge_memory.c:__discard_anon_folio_pmd_locked()

    Reclaim of a PMD-mapped lazyfree (MADV_FREE) THP: drop the PMD whole, unless it or the
    folio was dirtied again (then the folio is swapbacked again and kept) or someone else
    holds a reference (the isolation's and the mapping's only).
    """
    pg = vma.vm_mm.kernel.pg
    mm = vma.vm_mm
    pmd = mm.pgd[pmd_idx]
    assert isinstance(pmd, Pmd)
    if pmd.bits & _PAGE_DIRTY:
        folio.flags |= PG_dirty  # folio_set_dirty()
    if folio.flags & PG_dirty:
        folio.flags |= PG_swapbacked  # folio_set_swapbacked()
        return False
    if folio._refcount != folio._mapcount + 1:
        return False
    del mm.pgd[pmd_idx]  # pmdp_huge_clear_flush()
    folio_remove_rmap_pmd(folio, (folio, 0), vma)
    zap_deposited_table(mm)
    mm.rss_stat[MM_ANONPAGES] -= pg.HPAGE_PMD_NR
    folio_put(folio)
    return True


def unmap_huge_pmd_locked(vma: VmAreaStruct, addr: int, folio: Folio) -> bool:
    """Kernel: mm/huge_memory.c:unmap_huge_pmd_locked(): a lazyfree anonymous THP's PMD."""
    pg = vma.vm_mm.kernel.pg
    return __discard_anon_folio_pmd_locked(vma, addr >> pg.PMD_SHIFT, folio)
def __split_huge_pmd_anon(vma: VmAreaStruct, pmd_idx: int, pmd: Pmd, folio: Folio) -> None:
    """Kernel: mm/huge_memory.c:__split_huge_pmd_locked() for an anonymous THP

    The deposited PTE table replaces the PMD (``pgtable_trans_huge_withdraw()``) and maps
    all ``HPAGE_PMD_NR`` pages with the PMD's bits: the entire mapping becomes
    ``HPAGE_PMD_NR`` PTE mappings, each holding a reference. rss does not change.
    """
    from mrelease_ref.include.linux.mm_types import Pte, PteTable
    from mrelease_ref.include.linux.mmzone import NR_ANON_THPS
    from mrelease_ref.mm.rmap import _add_mapcount

    pg = vma.vm_mm.kernel.pg
    mm = vma.vm_mm
    table = PteTable(pg.PTRS_PER_PTE)
    for i in range(pg.HPAGE_PMD_NR):
        table[i] = Pte(folio, i, pmd.bits)
    mm.pgd[pmd_idx] = table  # the deposited table, withdrawn
    folio._refcount += pg.HPAGE_PMD_NR - 1  # folio_ref_add()
    folio._entire_mapcount -= 1
    # folio_add_anon_rmap_ptes(HPAGE_PMD_NR) + folio_remove_rmap_pmd(), without the
    # statistics moving through zero: the folio stays mapped throughout
    _add_mapcount(folio, pg.HPAGE_PMD_NR, vma)
    from mrelease_ref.mm.rmap import _sub_mapcount

    _sub_mapcount(folio, 1, vma)
    if folio._entire_mapcount == 0:
        mm.kernel.vmstat[NR_ANON_THPS] -= pg.HPAGE_PMD_NR


def copy_huge_pmd(
    dst_mm: MmStruct, src_mm: MmStruct, addr: int, dst_vma: VmAreaStruct,
    src_vma: VmAreaStruct,
) -> int:
    """Kernel: mm/huge_memory.c:copy_huge_pmd()

    fork() of one huge PMD. A file PMD is skipped: the child faults it in again. The huge
    zero page and an anonymous THP are shared: the child gets a write-protected, old PMD
    and a deposited page table, the parent's PMD is write-protected too. A THP that may be
    pinned is split instead and copied by PTEs (-EAGAIN). Returns 0 or -EAGAIN.
    """
    import errno

    from mrelease_ref.mm.rmap import folio_try_dup_anon_rmap_pmd

    pg = dst_vma.vm_mm.kernel.pg
    if dst_vma.vm_ops is not None:  # !vma_is_anonymous(dst_vma): "Skip if can be re-fill"
        return 0
    idx = addr >> pg.PMD_SHIFT
    pmd = src_mm.pgd[idx]
    assert isinstance(pmd, Pmd)
    folio = pmd.folio
    if folio is not None:
        folio._refcount += 1  # folio_get()
        if folio_try_dup_anon_rmap_pmd(folio, (folio, 0), dst_vma, src_vma):
            folio._refcount -= 1
            __split_huge_pmd(src_vma, idx)
            return -errno.EAGAIN
        dst_mm.rss_stat[MM_ANONPAGES] += pg.HPAGE_PMD_NR
    pgtable_trans_huge_deposit(dst_mm)
    pmd.bits &= ~_PAGE_RW  # pmdp_set_wrprotect()
    dst_mm.pgd[idx] = Pmd(folio, pmd.bits & ~_PAGE_ACCESSED)  # pmd_wrprotect(), pmd_mkold()
    return 0


def do_huge_pmd_wp_page(vma: VmAreaStruct, address: int, pmd: Pmd) -> int:
    """Kernel: mm/huge_memory.c:do_huge_pmd_wp_page()

    Write to a write-protected anonymous PMD. An exclusive THP, or one whose every
    reference is a mapping of this mm, is reused (made writable and dirty, and marked
    exclusive). Otherwise the PMD is split and the write falls back to the PTE that maps
    the page (``VM_FAULT_FALLBACK``), where ``do_wp_page()`` copies one page.
    Returns 0 when reused, ``VM_FAULT_FALLBACK`` after the split.
    """
    from mrelease_ref.include.linux.mm_types import folio_maybe_mapped_shared
    from mrelease_ref.include.linux.page_flags import PG_anon_exclusive
    from mrelease_ref.mm.rmap import folio_move_anon_rmap

    pg = vma.vm_mm.kernel.pg
    folio = pmd.folio
    assert folio is not None
    if folio.flags & PG_anon_exclusive or (
        not folio_maybe_mapped_shared(folio) and folio._refcount == folio._mapcount
    ):
        folio_move_anon_rmap(folio, vma)
        folio.flags |= PG_anon_exclusive
        pmd.bits |= _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_RW  # wp_huge_pmd reuse
        return 0
    __split_huge_pmd(vma, address >> pg.PMD_SHIFT)
    return VM_FAULT_FALLBACK


VM_FAULT_FALLBACK = 0x000800
"""include/linux/mm_types.h: vm_fault_t VM_FAULT_FALLBACK."""

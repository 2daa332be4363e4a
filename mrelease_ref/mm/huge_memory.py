"""PMD-mapped huge pages: anonymous THP faults, file PMD mappings, zap and split.

Kernel: mm/huge_memory.c, include/linux/huge_mm.h

Two kinds of PMD mappings matter here:

* anonymous THPs, only in VMAs that asked with madvise(MADV_HUGEPAGE) (these machines run
  THP in ``[madvise]`` mode); each keeps a deposited PTE table, freed when the PMD is
  zapped (the only page tables a reap frees, realkernel.md §0 item 7);
* page-cache folios of PMD order, which ``do_set_pmd()`` maps with one PMD whatever the
  THP mode says (``vma_thp_disabled(..., forced_collapse=true)``: only MADV_NOHUGEPAGE
  refuses). Readahead builds them once a sequential stream has ramped up, or at once
  under MADV_HUGEPAGE (mm/readahead.py): a 1 GiB private file read in order showed
  1007616 kB (492 PMDs) FilePmdMapped on 2026-12-03 (lab/data/folios.json), exactly as
  the model maps it.

A PMD mapping holds *one* folio reference, however many pages it covers.

Limitations:
- Splitting is modelled for file PMDs only (the kernel just unmaps them); an anonymous THP
  is never split, so it can only be zapped whole.
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
    HPAGE_PMD_NR,
    HPAGE_PMD_ORDER,
    MM_ANONPAGES,
    PAGE_SHIFT,
    PAGE_SIZE,
    PMD_SHIFT,
    PMD_SIZE,
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
from mrelease_ref.include.linux.page_flags import PG_anon, PG_dirty, PG_referenced
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
    size = PAGE_SIZE << order
    haddr = addr & ~(size - 1)
    if vma.vm_file is not None and (
        (vma.vm_start >> PAGE_SHIFT) - vma.vm_pgoff
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
    if vma.vm_ops is not None or not vma.vm_flags & VM_HUGEPAGE or vma_thp_disabled(vma):
        return False
    if not vma.vm_mm.kernel.config.large_folios:
        return False
    return thp_vma_suitable_order(vma, address, HPAGE_PMD_ORDER)


def pgtable_trans_huge_deposit(mm: MmStruct) -> None:
    """Kernel: mm/pgtable-generic.c:pgtable_trans_huge_deposit(): keep a PTE table aside."""
    mm.pgtables_bytes += PAGE_SIZE
    mm.kernel.vmstat[NR_PAGETABLE] += 1


def zap_deposited_table(mm: MmStruct) -> None:
    """Kernel: mm/huge_memory.c:zap_deposited_table(): free the deposited PTE table."""
    mm.pgtables_bytes -= PAGE_SIZE
    mm.kernel.vmstat[NR_PAGETABLE] -= 1


def do_huge_pmd_anonymous_page(vma: VmAreaStruct, address: int, write: bool) -> int | None:
    """Kernel: mm/huge_memory.c:do_huge_pmd_anonymous_page()

    Map a PMD-sized anonymous folio (a write) or the huge zero page (a read), depositing a
    PTE table for a later split. Returns None to fall back to PTEs.
    """
    mm = vma.vm_mm
    k = mm.kernel
    haddr = address & ~(PMD_SIZE - 1)
    if not write:
        ret = check_stable_address_space(mm)
        if ret:  # the pre-allocated table is freed again (pte_free())
            return ret
        mm.pgd[haddr >> PMD_SHIFT] = Pmd(None, _PAGE_ACCESSED | _PAGE_SPECIAL)
        pgtable_trans_huge_deposit(mm)
        return 0
    folio = folio_alloc(k, HPAGE_PMD_ORDER)
    if folio is None:
        count_vm_events(k, "THP_FAULT_FALLBACK", 1)
        return None
    ret = check_stable_address_space(mm)
    if ret:
        folio_put(folio)
        return ret
    folio_add_new_anon_rmap(folio, vma, haddr, pmd=True)
    folio_add_lru_vma(folio, vma)
    mm.pgd[haddr >> PMD_SHIFT] = Pmd(folio, _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_RW)
    pgtable_trans_huge_deposit(mm)
    mm.rss_stat[MM_ANONPAGES] += HPAGE_PMD_NR
    count_vm_events(k, "THP_FAULT_ALLOC", 1)
    return 0


def do_set_pmd(vma: VmAreaStruct, address: int, folio: Folio, write: bool) -> bool:
    """Kernel: mm/memory.c:do_set_pmd()

    Map a PMD-order page-cache folio with one PMD (the lookup reference becomes the
    mapping's). Refused (False) for MADV_NOHUGEPAGE, a misaligned VMA, a smaller folio, or
    an occupied PMD.
    """
    mm = vma.vm_mm
    haddr = address & ~(PMD_SIZE - 1)
    if vma_thp_disabled(vma) or not thp_vma_suitable_order(vma, haddr, HPAGE_PMD_ORDER):
        return False
    if folio.order != HPAGE_PMD_ORDER or mm.pgd.get(haddr >> PMD_SHIFT) is not None:
        return False
    folio_add_file_rmap_pmd(folio, vma)
    mm.rss_stat[mm_counter_file(folio)] += HPAGE_PMD_NR
    bits = _PAGE_ACCESSED | ((_PAGE_DIRTY | _PAGE_RW) if write else 0)
    mm.pgd[haddr >> PMD_SHIFT] = Pmd(folio, bits)
    count_vm_events(mm.kernel, "THP_FILE_MAPPED", 1)
    return True


def __split_huge_pmd(vma: VmAreaStruct, pmd_idx: int) -> None:
    """Kernel: mm/huge_memory.c:__split_huge_pmd() -> __split_huge_pmd_locked()

    A file PMD is simply unmapped: its dirty and young bits go to the folio, the rmap and
    the reference are dropped; later accesses fault the pages in with PTEs.
    """
    mm = vma.vm_mm
    pmd = mm.pgd[pmd_idx]
    assert isinstance(pmd, Pmd)
    folio = pmd.folio
    if folio is not None and folio.flags & PG_anon:
        raise NotImplementedError("splitting an anonymous THP is not modelled")
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
    mm.rss_stat[mm_counter_file(folio)] -= HPAGE_PMD_NR


def zap_huge_pmd(tlb: MmuGather, vma: VmAreaStruct, pmd_idx: int, addr: int) -> int:
    """Kernel: mm/huge_memory.c:zap_huge_pmd()

    Clear a huge PMD. An anonymous THP loses its rmap and its deposited page table; a file
    folio is marked accessed if the PMD was young (no version of the series changes this
    path). The one reference goes to the gather with ``tlb_remove_page_size()``.
    """
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
        mm.rss_stat[MM_ANONPAGES] -= HPAGE_PMD_NR
    else:
        mm.rss_stat[mm_counter_file(folio)] -= HPAGE_PMD_NR
        if pmd.bits & _PAGE_ACCESSED and vma_has_recency(vma):
            folio_mark_accessed(folio)
    tlb_remove_page_size(tlb, page, PMD_SIZE)
    return 1

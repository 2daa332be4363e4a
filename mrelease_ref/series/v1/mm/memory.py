"""v1 2/3: skip ``folio_mark_accessed()`` for exclusive file folios while reaping.

Kernel: mm/memory.c as patched by <20260421230239.172582-3-minchan@kernel.org> (v1 2/3)

In the file branch of ``zap_present_folio_ptes()``, when the mm has MMF_UNSTABLE and the
folio is not (maybe) mapped elsewhere, the young bit no longer ages the folio: the folio
is about to be freed, so moving it on the LRU is wasted work (the commit message puts
``folio_mark_accessed()`` at 55.75% of unmap time). The test runs after the PTE clear and
the dirty handling, and *before* this mapping's rmap removal, so the mapping being zapped
still counts. The gate is the per-mm MMF_UNSTABLE flag, which the kernel's own OOM reaper
sets too (David Hildenbrand, docs/sources.md §T4.2 #7). The PMD path is unchanged.

Limitations:
- As in the baseline model: no uffd-wp markers.
"""

from __future__ import annotations

from mrelease_ref.include.asm_generic.tlb import MmuGather, __tlb_remove_folio_pages, tlb_delay_rmap
from mrelease_ref.include.linux.mm_inline import vma_has_recency
from mrelease_ref.include.linux.mm_types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    MM_ANONPAGES,
    MM_FILEPAGES,
    MM_SHMEMPAGES,
    MMF_UNSTABLE,
    Folio,
    Page,
    Pte,
    PteTable,
    VmAreaStruct,
    folio_maybe_mapped_shared,
    mm_flags_test,
)
from mrelease_ref.include.linux.page_flags import PG_anon, PG_swapbacked
from mrelease_ref.mm.memory import ZapDetails, ZapFlags, get_and_clear_full_ptes
from mrelease_ref.mm.page_writeback import folio_mark_dirty
from mrelease_ref.mm.rmap import folio_remove_rmap_ptes
from mrelease_ref.mm.swap import folio_mark_accessed


def zap_present_folio_ptes(
    tlb: MmuGather,
    vma: VmAreaStruct,
    folio: Folio,
    page: Page,
    table: PteTable,
    i: int,
    ptent: Pte,
    nr: int,
    addr: int,
    details: ZapDetails | None,
    rss: list[int],
    zf: ZapFlags,
) -> None:
    """Kernel: mm/memory.c:zap_present_folio_ptes() (v1 2/3)"""
    pg = tlb.mm.kernel.pg
    mm = tlb.mm
    delay_rmap = False
    if not folio.flags & PG_anon:
        if nr == 1:
            bits = ptent.bits
            table[i] = None
        else:
            bits = get_and_clear_full_ptes(table, i, nr)
        if bits & _PAGE_DIRTY:
            folio_mark_dirty(folio)
            if tlb_delay_rmap(tlb):
                delay_rmap = True
                zf.force_flush = True
        skip_mark_accessed = mm_flags_test(MMF_UNSTABLE, mm) and not folio_maybe_mapped_shared(
            folio
        )
        if not skip_mark_accessed and bits & _PAGE_ACCESSED and vma_has_recency(vma):
            folio_mark_accessed(folio)
        rss[MM_SHMEMPAGES if folio.flags & PG_swapbacked else MM_FILEPAGES] -= nr  # mm_counter()
    else:
        if nr == 1:
            table[i] = None
        else:
            get_and_clear_full_ptes(table, i, nr)  # clear_full_ptes(): A/D bits unneeded
        rss[MM_ANONPAGES] -= nr
    # tlb_remove_tlb_entries(tlb, pte, nr, addr), inlined: this runs for every zapped page
    tlb.cleared_ptes = True
    if addr < tlb.start:
        tlb.start = addr
    if addr + (nr << pg.PAGE_SHIFT) > tlb.end:
        tlb.end = addr + (nr << pg.PAGE_SHIFT)
    if not delay_rmap:
        folio_remove_rmap_ptes(folio, page, nr, vma)
    if __tlb_remove_folio_pages(tlb, page, nr, delay_rmap):
        zf.force_flush = True
        zf.force_break = True

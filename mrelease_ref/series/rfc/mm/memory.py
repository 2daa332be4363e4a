"""RFC 2/3: skip ``folio_mark_accessed()`` for file folios mapped fewer than twice.

Kernel: mm/memory.c as patched by <20260413223948.556351-3-minchan@kernel.org>
(RFC 2/3, retrieved whole)

The same hunk as v1 2/3 except the exclusivity test: ``folio_mapcount(folio) < 2``. For
a large folio that counts PTE mappings, so a large folio mapped by two PTEs of this very
VMA already counts as shared (David Hildenbrand's review, docs/sources.md §T4.2 #1).

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
    folio_mapcount,
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
    """Kernel: mm/memory.c:zap_present_folio_ptes() (RFC 2/3)"""
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
        skip_mark_accessed = mm_flags_test(MMF_UNSTABLE, mm) and folio_mapcount(folio) < 2
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

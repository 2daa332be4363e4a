"""RFC 1/3: the gather computes the MMF_UNSTABLE gate once per flush and passes a bool.

Kernel: mm/mmu_gather.c as patched by <20260413223948.556351-2-minchan@kernel.org>
(RFC 1/3) -- [I] reconstructed from the diffstat (+5/-3) and the message ("the
MMF_UNSTABLE status is passed down to the pages-and-cache freeing function").

Limitations:
- [I] Where exactly the flag is read is inferred: here, once per ``tlb_batch_pages_flush()``.
"""

from __future__ import annotations

from mrelease_ref.include.asm_generic.tlb import (
    ENCODED_PAGE_BIT_NR_PAGES_NEXT,
    MAX_NR_FOLIOS_PER_FREE,
    MmuGather,
    MmuGatherBatch,
    encoded_page_flags,
    tlb_needs_flush,
)
from mrelease_ref.include.linux.mm_types import MMF_UNSTABLE, mm_flags_test
from mrelease_ref.mm.swap import KernelBug
from mrelease_ref.series.rfc.mm.swap_state import free_pages_and_caches


def __tlb_batch_free_encoded_pages(batch: MmuGatherBatch, try_evict: bool) -> None:
    """Kernel: mm/mmu_gather.c:__tlb_batch_free_encoded_pages() (RFC 1/3, [I])"""
    pages = batch.encoded_pages
    start = 0
    total = len(pages)
    while start < total:
        nr = min(MAX_NR_FOLIOS_PER_FREE, total - start)
        last = pages[start + nr - 1]
        if isinstance(last, tuple) and encoded_page_flags(last) & ENCODED_PAGE_BIT_NR_PAGES_NEXT:
            nr += 1  # never leave a page's nr_pages slot behind
        free_pages_and_caches(pages[start : start + nr], nr, try_evict)
        start += nr
    batch.encoded_pages = []


def tlb_batch_pages_flush(tlb: MmuGather) -> None:
    """Kernel: mm/mmu_gather.c:tlb_batch_pages_flush() (RFC 1/3, [I])"""
    if tlb_needs_flush(tlb):
        raise KernelBug("freeing gathered pages before the TLB flush")
    try_evict = mm_flags_test(MMF_UNSTABLE, tlb.mm)
    batch: MmuGatherBatch | None = tlb.local
    while batch is not None and batch.nr:
        __tlb_batch_free_encoded_pages(batch, try_evict)
        batch = batch.next
    tlb.active = tlb.local

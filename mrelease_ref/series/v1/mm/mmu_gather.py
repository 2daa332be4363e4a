"""v1 1/3: the mmu_gather frees its batches through ``free_pages_and_caches()``, given the mm.

Kernel: mm/mmu_gather.c as patched by <20260421230239.172582-2-minchan@kernel.org> (v1 1/3)

``__tlb_batch_free_encoded_pages()`` gets the mm as a new first parameter and
``tlb_batch_pages_flush()`` passes ``tlb->mm``. Chunking, cond_resched() and the order
(after the TLB flush) are unchanged.

Limitations:
- As in the baseline model: batch pages never fail to allocate.
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
from mrelease_ref.include.linux.mm_types import MmStruct
from mrelease_ref.mm.swap import KernelBug
from mrelease_ref.series.v1.mm.swap import free_pages_and_caches


def __tlb_batch_free_encoded_pages(mm: MmStruct, batch: MmuGatherBatch) -> None:
    """Kernel: mm/mmu_gather.c:__tlb_batch_free_encoded_pages() (v1 1/3: takes the mm)"""
    pages = batch.encoded_pages
    start = 0
    total = len(pages)
    while start < total:
        nr = min(MAX_NR_FOLIOS_PER_FREE, total - start)
        last = pages[start + nr - 1]
        if isinstance(last, tuple) and encoded_page_flags(last) & ENCODED_PAGE_BIT_NR_PAGES_NEXT:
            nr += 1  # never leave a page's nr_pages slot behind
        free_pages_and_caches(mm, pages[start : start + nr], nr)
        start += nr
    batch.encoded_pages = []


def tlb_batch_pages_flush(tlb: MmuGather) -> None:
    """Kernel: mm/mmu_gather.c:tlb_batch_pages_flush() (v1 1/3: passes tlb->mm)"""
    if tlb_needs_flush(tlb):
        raise KernelBug("freeing gathered pages before the TLB flush")
    batch: MmuGatherBatch | None = tlb.local
    while batch is not None and batch.nr:
        __tlb_batch_free_encoded_pages(tlb.mm, batch)
        batch = batch.next
    tlb.active = tlb.local

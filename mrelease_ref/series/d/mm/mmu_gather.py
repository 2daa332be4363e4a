"""Draft D: the gather frees with ``free_pages_and_caches()``, gated by its new eviction bit.

Kernel: mm/mmu_gather.c as changed by draft D (<afFco71vwmpQy3pk@google.com>); the new
``mmu_gather.try_evict_file_folios:1`` bit (include/asm-generic/tlb.h) is cleared by
``__tlb_gather_mmu()`` and set only by draft D's ``__oom_reap_task_mm()``.

Limitations:
- The draft's ``__tlb_batch_free_encoded_pages()`` hunk is missing; the model gives it
  the bool its caller passes.
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
from mrelease_ref.mm.swap import KernelBug
from mrelease_ref.series.d.mm.swap import free_pages_and_caches


def __tlb_batch_free_encoded_pages(batch: MmuGatherBatch, try_evict: bool) -> None:
    """Kernel: mm/mmu_gather.c:__tlb_batch_free_encoded_pages() (draft D: the bool)"""
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
    """Kernel: mm/mmu_gather.c:tlb_batch_pages_flush() (draft D)"""
    if tlb_needs_flush(tlb):
        raise KernelBug("freeing gathered pages before the TLB flush")
    try_evict = tlb.try_evict_file_folios
    batch: MmuGatherBatch | None = tlb.local
    while batch is not None and batch.nr:
        __tlb_batch_free_encoded_pages(batch, try_evict)
        batch = batch.next
    tlb.active = tlb.local

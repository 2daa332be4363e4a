"""The generic mmu_gather: batch zapped pages, flush the TLB, then free in chunks.

Kernel: mm/mmu_gather.c

Order is the whole point of this file: ``tlb_flush_mmu()`` first flushes the TLB
(``tlb_flush_mmu_tlbonly()``), only then frees the batched pages
(``tlb_batch_pages_flush()``), at most ``MAX_NR_FOLIOS_PER_FREE`` entries per call of
``free_pages_and_swap_cache()``, never splitting a (page, nr_pages) pair.

Variants: patch 1 of the series replaces the ``free_pages_and_swap_cache()`` call in
``__tlb_batch_free_encoded_pages()``; nothing else here changes.

Limitations:
- Batch pages never fail to allocate (the kernel's GFP_NOWAIT allocation can), so only
  ``MAX_GATHER_BATCH_COUNT`` and the delayed-rmap rule end a gather early.
- page poisoning / init_on_free are off (the kernel's default), so chunks are counted in
  entries, not pages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrelease_ref.include.asm_generic.tlb import (
    ENCODED_PAGE_BIT_DELAY_RMAP,
    ENCODED_PAGE_BIT_NR_PAGES_NEXT,
    MAX_NR_FOLIOS_PER_FREE,
    MMU_GATHER_BUNDLE,
    EncodedPage,
    MmuGather,
    MmuGatherBatch,
    __tlb_reset_range,
    encode_nr_pages,
    encoded_nr_pages,
    encoded_page_flags,
    encoded_page_ptr,
    tlb_flush_mmu_tlbonly,
    tlb_needs_flush,
)
from mrelease_ref.include.linux.swap import free_pages_and_swap_cache
from mrelease_ref.mm.rmap import folio_remove_rmap_ptes
from mrelease_ref.mm.swap import KernelBug

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import MmStruct, Page, VmAreaStruct


def tlb_next_batch(tlb: MmuGather) -> bool:
    """Kernel: mm/mmu_gather.c:tlb_next_batch()

    Move to (or allocate) the next batch. Refused while delayed rmaps are pending outside
    the local batch (``tlb_flush_rmaps()`` only scans two batches), or at the batch limit.
    """
    pg = tlb.mm.kernel.pg
    if tlb.delayed_rmap and tlb.active is not tlb.local:
        return False
    batch = tlb.active
    if batch.next is not None:
        tlb.active = batch.next
        return True
    if tlb.batch_count == pg.MAX_GATHER_BATCH_COUNT:
        return False
    tlb.batch_count += 1
    new = MmuGatherBatch(max=pg.MAX_GATHER_BATCH)
    tlb.active.next = new
    tlb.active = new
    return True


def tlb_flush_rmap_batch(batch: MmuGatherBatch, vma: VmAreaStruct) -> None:
    """Kernel: mm/mmu_gather.c:tlb_flush_rmap_batch()"""
    pages = batch.encoded_pages
    i = 0
    while i < len(pages):
        enc = pages[i]
        assert isinstance(enc, tuple)
        flags = encoded_page_flags(enc)
        nr = 1
        if flags & ENCODED_PAGE_BIT_NR_PAGES_NEXT:
            i += 1
            nr = encoded_nr_pages(pages[i])  # type: ignore[arg-type]
        if flags & ENCODED_PAGE_BIT_DELAY_RMAP:
            page = encoded_page_ptr(enc)
            folio_remove_rmap_ptes(page[0], page, nr, vma)
        i += 1


def tlb_flush_rmaps(tlb: MmuGather, vma: VmAreaStruct) -> None:
    """Kernel: mm/mmu_gather.c:tlb_flush_rmaps()

    After the TLB flush, do the rmap removals that were delayed for dirty file folios.
    """
    if not tlb.delayed_rmap:
        return
    tlb_flush_rmap_batch(tlb.local, vma)
    if tlb.active is not tlb.local:
        tlb_flush_rmap_batch(tlb.active, vma)
    tlb.delayed_rmap = False


def __tlb_batch_free_encoded_pages(batch: MmuGatherBatch) -> None:
    """Kernel: mm/mmu_gather.c:__tlb_batch_free_encoded_pages()

    Variants: patch 1 calls ``free_pages_and_caches()`` here instead.
    """
    pages = batch.encoded_pages
    start = 0
    total = len(pages)
    while start < total:
        nr = min(MAX_NR_FOLIOS_PER_FREE, total - start)
        last = pages[start + nr - 1]
        if isinstance(last, tuple) and encoded_page_flags(last) & ENCODED_PAGE_BIT_NR_PAGES_NEXT:
            nr += 1  # never leave a page's nr_pages slot behind
        free_pages_and_swap_cache(pages[start : start + nr], nr)
        start += nr
    batch.encoded_pages = []


def tlb_batch_pages_flush(tlb: MmuGather) -> None:
    """Kernel: mm/mmu_gather.c:tlb_batch_pages_flush()"""
    if tlb_needs_flush(tlb):
        raise KernelBug("freeing gathered pages before the TLB flush")
    batch: MmuGatherBatch | None = tlb.local
    while batch is not None and batch.nr:
        __tlb_batch_free_encoded_pages(batch)
        batch = batch.next
    tlb.active = tlb.local


def tlb_batch_list_free(tlb: MmuGather) -> None:
    """Kernel: mm/mmu_gather.c:tlb_batch_list_free()"""
    tlb.local.next = None


def __tlb_remove_folio_pages_size(
    tlb: MmuGather, page: Page, nr_pages: int, delay_rmap: bool, page_size: int
) -> bool:
    """Kernel: mm/mmu_gather.c:__tlb_remove_folio_pages_size()

    Append the page (and, for ``nr_pages > 1``, a count slot) to the active batch. Returns
    True when no room is left for another two-slot record: the caller must flush.
    """
    flags = ENCODED_PAGE_BIT_DELAY_RMAP if delay_rmap else 0
    batch = tlb.active
    pages = batch.encoded_pages
    if nr_pages == 1:
        pages.append((page, flags) if flags else page)  # encode_page(page, flags)
    else:
        pages.append((page, flags | ENCODED_PAGE_BIT_NR_PAGES_NEXT))
        pages.append(encode_nr_pages(nr_pages))
    if len(pages) >= batch.max - 1:
        if not tlb_next_batch(tlb):
            return True
    return False


def __tlb_remove_folio_pages(tlb: MmuGather, page: Page, nr_pages: int, delay_rmap: bool) -> bool:
    """Kernel: mm/mmu_gather.c:__tlb_remove_folio_pages() (the generic, batching version)"""
    pg = tlb.mm.kernel.pg
    return __tlb_remove_folio_pages_size(tlb, page, nr_pages, delay_rmap, pg.PAGE_SIZE)


def tlb_flush_mmu_free(tlb: MmuGather) -> None:
    """Kernel: mm/mmu_gather.c:tlb_flush_mmu_free()"""
    if not tlb.no_gather:
        tlb.mm.kernel.series.tlb_batch_pages_flush(tlb)  # the series' version (patch 1)


def tlb_flush_mmu(tlb: MmuGather) -> None:
    """Kernel: mm/mmu_gather.c:tlb_flush_mmu(): flush the TLB, then free the batch."""
    tlb_flush_mmu_tlbonly(tlb)
    tlb_flush_mmu_free(tlb)


def __tlb_gather_mmu(tlb_mm: MmStruct, fullmm: bool) -> MmuGather:
    """Kernel: mm/mmu_gather.c:__tlb_gather_mmu()

    The kernel initialises an on-stack gather; the model returns a new one.
    """
    local = MmuGatherBatch(max=MMU_GATHER_BUNDLE)
    k = tlb_mm.kernel
    tlb = MmuGather(
        mm=tlb_mm, fullmm=fullmm, local=local, active=local, no_gather=k.config.arch == "s390",
        merge_vmas=k.config.arch != "arm64"
    )
    __tlb_reset_range(tlb)
    tlb_mm.tlb_flush_pending += 1  # inc_tlb_flush_pending()
    k.live_gathers.append(tlb)
    return tlb


def tlb_gather_mmu(mm: MmStruct) -> MmuGather:
    """Kernel: mm/mmu_gather.c:tlb_gather_mmu()"""
    return __tlb_gather_mmu(mm, False)


def tlb_gather_mmu_fullmm(mm: MmStruct) -> MmuGather:
    """Kernel: mm/mmu_gather.c:tlb_gather_mmu_fullmm()"""
    return __tlb_gather_mmu(mm, True)


def tlb_finish_mmu(tlb: MmuGather) -> None:
    """Kernel: mm/mmu_gather.c:tlb_finish_mmu()

    If another thread batches PTE changes on the same mm (``mm_tlb_flush_nested()``: the
    reaper and exit_mmap() at once), flush everything; then flush and free.
    """
    mm = tlb.mm
    if mm.tlb_flush_pending > 1:  # mm_tlb_flush_nested()
        tlb.fullmm = True
        __tlb_reset_range(tlb)
        tlb.freed_tables = True
    tlb_flush_mmu(tlb)
    tlb_batch_list_free(tlb)
    mm.tlb_flush_pending -= 1  # dec_tlb_flush_pending()
    tlb.finished = True
    mm.kernel.live_gathers.remove(tlb)


__all__ = [
    "EncodedPage",
    "__tlb_batch_free_encoded_pages",
    "__tlb_gather_mmu",
    "__tlb_remove_folio_pages",
    "__tlb_remove_folio_pages_size",
    "tlb_batch_list_free",
    "tlb_batch_pages_flush",
    "tlb_finish_mmu",
    "tlb_flush_mmu",
    "tlb_flush_mmu_free",
    "tlb_flush_rmap_batch",
    "tlb_flush_rmaps",
    "tlb_gather_mmu",
    "tlb_gather_mmu_fullmm",
    "tlb_next_batch",
]

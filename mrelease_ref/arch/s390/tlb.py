"""s390: no gather; zapped pages are freed at once, under the page-table lock.

Kernel: arch/s390/include/asm/tlb.h

s390 selects CONFIG_MMU_GATHER_NO_GATHER. Its PTE invalidation (IPTE/IDTE) purges the TLB
on every CPU before the PTE clear returns, so there is no stale translation to wait for and
the page can be freed inside ``zap_present_folio_ptes()`` itself.

Variants: patch 1 makes ``__tlb_remove_folio_pages()`` free through
``free_pages_and_caches()``: v1 hands it the gather's mm, the RFC a gate that is always
off; no version changes ``__tlb_remove_page_size()`` (the PMD path).

Limitations:
- ``VM_WARN_ON_ONCE(delay_rmap)`` is a hard error here: ``tlb_delay_rmap()`` never returns
  True on s390, so it cannot trigger unless the model is broken.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrelease_ref.include.asm_generic.tlb import (
    ENCODED_PAGE_BIT_NR_PAGES_NEXT,
    encode_nr_pages,
    encode_page,
)
from mrelease_ref.include.linux.swap import free_folio_and_swap_cache, free_pages_and_swap_cache
from mrelease_ref.mm.swap import KernelBug

if TYPE_CHECKING:
    from mrelease_ref.include.asm_generic.tlb import EncodedSlot, MmuGather
    from mrelease_ref.include.linux.mm_types import Page


def __tlb_remove_folio_pages(tlb: MmuGather, page: Page, nr_pages: int, delay_rmap: bool) -> bool:
    """Kernel: arch/s390/include/asm/tlb.h:__tlb_remove_folio_pages()

    Build a two-slot encoded array (page with NR_PAGES_NEXT, then ``nr_pages``) and free
    it right away. Never asks the caller to flush.
    """
    if delay_rmap:
        raise KernelBug("s390 __tlb_remove_folio_pages() with delay_rmap")
    encoded_pages: list[EncodedSlot] = [
        encode_page(page, ENCODED_PAGE_BIT_NR_PAGES_NEXT),
        encode_nr_pages(nr_pages),
    ]
    free_pages_and_swap_cache(encoded_pages, len(encoded_pages))
    return False


def __tlb_remove_page_size(tlb: MmuGather, page: Page, page_size: int) -> bool:
    """Kernel: arch/s390/include/asm/tlb.h:__tlb_remove_page_size()

    The PMD path: drop the folio's swap cache, then its reference.
    """
    free_folio_and_swap_cache(page[0])
    return False

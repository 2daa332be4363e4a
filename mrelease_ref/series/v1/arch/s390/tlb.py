"""v1 1/3: s390 frees zapped pages through ``free_pages_and_caches()``, given the mm.

Kernel: arch/s390/include/asm/tlb.h as patched by
<20260421230239.172582-2-minchan@kernel.org> (v1 1/3)

s390 has no gather: the page is freed inside ``zap_present_folio_ptes()``, under the PTE
lock, and from v1 on it may be evicted from the page cache right there. The PMD path
(``__tlb_remove_page_size()`` -> ``free_folio_and_swap_cache()``) is not changed by any
version, so a PMD-mapped file folio is never evicted on s390.

Limitations:
- ``VM_WARN_ON_ONCE(delay_rmap)`` is a hard error, as in the baseline model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrelease_ref.include.asm_generic.tlb import (
    ENCODED_PAGE_BIT_NR_PAGES_NEXT,
    encode_nr_pages,
    encode_page,
)
from mrelease_ref.mm.swap import KernelBug
from mrelease_ref.series.v1.mm.swap import free_pages_and_caches

if TYPE_CHECKING:
    from mrelease_ref.include.asm_generic.tlb import EncodedSlot, MmuGather
    from mrelease_ref.include.linux.mm_types import Page


def __tlb_remove_folio_pages(tlb: MmuGather, page: Page, nr_pages: int, delay_rmap: bool) -> bool:
    """Kernel: arch/s390/include/asm/tlb.h:__tlb_remove_folio_pages() (v1 1/3)"""
    if delay_rmap:
        raise KernelBug("s390 __tlb_remove_folio_pages() with delay_rmap")
    encoded_pages: list[EncodedSlot] = [
        encode_page(page, ENCODED_PAGE_BIT_NR_PAGES_NEXT),
        encode_nr_pages(nr_pages),
    ]
    free_pages_and_caches(tlb.mm, encoded_pages, len(encoded_pages))
    return False

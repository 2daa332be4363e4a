"""RFC 1/3: s390 calls ``free_pages_and_caches(encoded_pages, 2, false)``: never evicts.

Kernel: arch/s390/include/asm/tlb.h as patched by
<20260413223948.556351-2-minchan@kernel.org> (RFC 1/3; this hunk was retrieved)

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
from mrelease_ref.series.rfc.mm.swap_state import free_pages_and_caches

if TYPE_CHECKING:
    from mrelease_ref.include.asm_generic.tlb import EncodedSlot, MmuGather
    from mrelease_ref.include.linux.mm_types import Page


def __tlb_remove_folio_pages(tlb: MmuGather, page: Page, nr_pages: int, delay_rmap: bool) -> bool:
    """Kernel: arch/s390/include/asm/tlb.h:__tlb_remove_folio_pages() (RFC 1/3)"""
    if delay_rmap:
        raise KernelBug("s390 __tlb_remove_folio_pages() with delay_rmap")
    encoded_pages: list[EncodedSlot] = [
        encode_page(page, ENCODED_PAGE_BIT_NR_PAGES_NEXT),
        encode_nr_pages(nr_pages),
    ]
    free_pages_and_caches(encoded_pages, len(encoded_pages), False)
    return False

"""Removing a folio from its mapping, and the small slice of reclaim MADV_PAGEOUT needs.

Kernel: mm/vmscan.c (remove_mapping(), __remove_mapping(), reclaim_pages(),
shrink_folio_list())

``__remove_mapping()`` freezes the refcount at exactly ``1 + folio_nr_pages()``: the page
cache's references plus the caller's one. Any other reference (a mapping, an LRU batch, a
GUP pin) makes the freeze fail, so the folio stays.

Limitations:
- Reclaim exists only as ``reclaim_pages()`` for MADV_PAGEOUT of private anonymous folios
  and clean file folios; no kswapd, no LRU scanning, no watermarks.
- Swap-out I/O completes at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrelease_ref.include.linux.fs import AddressSpace
from mrelease_ref.include.linux.page_flags import (
    PG_dirty,
    PG_swapcache,
)
from mrelease_ref.mm.filemap import __filemap_remove_folio
from mrelease_ref.mm.swap_state import swap_cache_del_folio
from mrelease_ref.mm.workingset import workingset_eviction

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio


def __remove_mapping(mapping: AddressSpace, folio: Folio, reclaimed: bool) -> bool:
    """Kernel: mm/vmscan.c:__remove_mapping()

    Succeeds only if the refcount is exactly ``1 + folio_nr_pages()`` and the folio is
    clean. A reclaimed file folio leaves a shadow entry; an invalidated one does not.
    """
    refcount = 1 + (1 << folio.order)
    if folio._refcount != refcount:  # folio_ref_freeze() failed
        return False
    if folio.flags & PG_dirty:
        return False
    if folio.flags & PG_swapcache:
        swap_cache_del_folio(folio)  # drops the swap cache's references
        folio._refcount += 1 << folio.order  # ...which the freeze already took
    else:
        shadow = workingset_eviction(folio) if reclaimed else None
        __filemap_remove_folio(folio, shadow)
    folio._refcount = 0  # frozen; the caller unfreezes
    return True


def remove_mapping(mapping: AddressSpace, folio: Folio) -> int:
    """Kernel: mm/vmscan.c:remove_mapping()

    Returns the number of pages removed (0 if refused). On success the refcount is unfrozen
    to 1: only the caller's reference remains.
    """
    if __remove_mapping(mapping, folio, reclaimed=False):
        folio._refcount = 1  # folio_ref_unfreeze(folio, 1)
        return 1 << folio.order
    return 0

"""Draft D: ``free_pages_and_caches(pages, nr, try_evict_file_folios)`` in mm/swap.c.

Kernel: mm/swap.c as changed by draft D (<afFco71vwmpQy3pk@google.com>)

As v1 1/3, but the gate is an explicit bool (David Hildenbrand's suggestion) and
``free_file_cache()`` uses ``folio->mapping`` directly (Matthew Wilcox's). The shmem
swap-cache miss of v1 is still there (``Kernel(swapcache_fix=True)`` applies the fix).

With the fix's swap-cache-first test, a non-swap-cache *anonymous* folio reaches
``free_file_cache()``: ``folio->mapping`` is then the anon_vma, not a page-cache mapping
(docs/sources.md §T6 #4). The model refuses that eviction (``mapping_evict_folio()`` gets a
mapping that is not an address_space) and counts it as ``EVICT_ANON_MAPPING``: in the
kernel it would hand ``__remove_mapping()`` an anon_vma.

Limitations:
- The draft was incomplete (the callee's signature change is missing from its hunks); the
  model uses the signature its callers imply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mrelease_ref.include.linux.fs import AddressSpace
from mrelease_ref.include.linux.vmstat import count_vm_event
from mrelease_ref.mm.swap_state import folio_trylock, folio_unlock
from mrelease_ref.mm.truncate import mapping_evict_folio
from mrelease_ref.series.v1.mm.swap import free_pages_and_caches_loop

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio


def free_file_cache(folio: Folio) -> None:
    """Kernel: mm/swap.c:free_file_cache() (draft D: ``folio->mapping``)"""
    if folio_trylock(folio):
        if folio.mapping is not None and not isinstance(folio.mapping, AddressSpace):  # model-only
            count_vm_event(folio.kernel, "EVICT_ANON_MAPPING")
        mapping_evict_folio(folio.mapping, folio)
        folio_unlock(folio)


def free_pages_and_caches(pages: Sequence[object], nr: int, try_evict_file_folios: bool) -> None:
    """Kernel: mm/swap.c:free_pages_and_caches() (draft D: a bool instead of the mm; the
    loop is v1's, see :func:`mrelease_ref.series.v1.mm.swap.free_pages_and_caches_loop`)"""
    free_pages_and_caches_loop(pages, nr, try_evict_file_folios, free_file_cache)

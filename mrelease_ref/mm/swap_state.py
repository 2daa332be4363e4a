"""The swap cache and the batch free of zapped pages (CONFIG_SWAP).

Kernel: mm/swap_state.c

``free_pages_and_swap_cache()`` is what every chunk of an mmu_gather ends in: for each
folio it first tries ``free_swap_cache()`` (drop the folio from the swap cache when nothing
maps it and nothing else uses its slot), then drops the gather's references in batches with
``folios_put_refs()``. It calls ``free_swap_cache()`` for *every* folio, anon or not;
patch 1 of the series narrows that to anon folios (docs/sources.md §T3.2, §T4.1 #6).

Swap-in (``swap_read_folio()``) reads a slot's contents back into the new folio.

Limitations:
- Swap cache entries are keyed by slot offset in one swap address space.
- Swap-in read-ahead is not modelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mrelease_ref.include.asm_generic.tlb import ENCODED_PAGE_BIT_NR_PAGES_NEXT, encoded_nr_pages
from mrelease_ref.include.linux.mmzone import NR_FILE_PAGES, NR_SWAPCACHE, PAGEVEC_SIZE, FolioBatch
from mrelease_ref.include.linux.page_flags import (
    PG_locked,
    PG_swapbacked,
    PG_swapcache,
)
from mrelease_ref.mm.swap import folio_put, folios_put_refs
from mrelease_ref.mm.swapfile import folio_free_swap, put_swap_folio

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio, SwpEntry
    from mrelease_ref.sim.kernel import Kernel


def swap_cache_get_folio(kernel: Kernel, entry: SwpEntry) -> Folio | None:
    """Kernel: mm/swap_state.c:swap_cache_get_folio() (lookup only, no reference taken)"""
    return kernel.swapper_space.i_pages.get(entry.offset)


def swap_cache_add_folio(folio: Folio, entry: SwpEntry) -> None:
    """Kernel: mm/swap_state.c:swap_cache_add_folio() (add_to_swap_cache() before 6.18)

    The swap cache holds ``folio_nr_pages()`` references.
    """
    nr = 1 << folio.order
    folio._refcount += nr
    folio.flags |= PG_swapcache | PG_swapbacked
    folio.swap = entry
    space = folio.kernel.swapper_space
    space.i_pages[entry.offset] = folio
    space.nrpages += nr
    folio.kernel.vmstat[NR_FILE_PAGES] += nr
    folio.kernel.vmstat[NR_SWAPCACHE] += nr


def swap_cache_del_folio(folio: Folio) -> None:
    """Kernel: mm/swap_state.c:swap_cache_del_folio() (delete_from_swap_cache() before 6.18)

    Remove the folio from the swap cache, release the slot's cache bit, drop the cache's
    references.
    """
    entry = folio.swap
    assert entry is not None
    nr = 1 << folio.order
    space = folio.kernel.swapper_space
    del space.i_pages[entry.offset]
    space.nrpages -= nr
    folio.kernel.vmstat[NR_FILE_PAGES] -= nr
    folio.kernel.vmstat[NR_SWAPCACHE] -= nr
    folio.flags &= ~PG_swapcache
    folio.swap = None
    put_swap_folio(folio, entry)
    folio._refcount -= nr


def swap_read_folio(folio: Folio, entry: SwpEntry) -> None:
    """Kernel: mm/page_io.c:swap_read_folio()

    Read the slot into a new swap-cache folio (the I/O completes at once): its contents
    are what was written to the slot, zeros if nothing was.
    """
    from mrelease_ref.include.linux.vmstat import count_vm_events

    si = folio.kernel.swap_info
    folio._data = si.swap_data.get(entry.offset) if si is not None else None
    count_vm_events(folio.kernel, "PSWPIN", 1 << folio.order)


def folio_trylock(folio: Folio) -> bool:
    """Kernel: include/linux/pagemap.h:folio_trylock()"""
    if folio.flags & PG_locked:
        return False
    folio.flags |= PG_locked
    return True


def folio_unlock(folio: Folio) -> None:
    """Kernel: mm/filemap.c:folio_unlock()"""
    folio.flags &= ~PG_locked


def free_swap_cache(folio: Folio) -> None:
    """Kernel: mm/swap_state.c:free_swap_cache()

    If the folio is in the swap cache, no longer mapped, and its lock is free, let
    ``folio_free_swap()`` drop it from the cache (it refuses while the slot is still used).
    """
    if folio.flags & PG_swapcache and not folio._mapcount and folio_trylock(folio):
        folio_free_swap(folio)
        folio_unlock(folio)


def free_folio_and_swap_cache(folio: Folio) -> None:
    """Kernel: mm/swap_state.c:free_folio_and_swap_cache()"""
    free_swap_cache(folio)
    if folio is not folio.kernel.huge_zero_folio:
        folio_put(folio)


def free_pages_and_swap_cache(pages: Sequence[object], nr: int) -> None:
    """Kernel: mm/swap_state.c:free_pages_and_swap_cache()

    For every encoded page: ``free_swap_cache()``, then queue the folio with its reference
    count (1, or the following nr_pages slot) and release in ``PAGEVEC_SIZE`` batches.
    """
    folios = FolioBatch()
    batch = folios.folios
    refs: list[int] = []
    it = iter(pages[:nr])
    for enc in it:
        page = enc[0] if type(enc[0]) is tuple else enc  # type: ignore[index]  # encoded_page_ptr()
        folio = page[0]  # type: ignore[index]  # page_folio()
        free_swap_cache(folio)
        if page is not enc and enc[1] & ENCODED_PAGE_BIT_NR_PAGES_NEXT:  # type: ignore[index]
            refs.append(encoded_nr_pages(next(it)))  # type: ignore[arg-type]
        else:
            refs.append(1)
        batch.append(folio)
        if len(batch) == PAGEVEC_SIZE:  # folio_batch_add() returned 0
            folios_put_refs(folios, refs)
            batch = folios.folios
            refs = []
    if batch:
        folios_put_refs(folios, refs)

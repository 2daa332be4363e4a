"""v1 1/3: ``free_pages_and_caches()`` and ``free_file_cache()`` in mm/swap.c.

Kernel: mm/swap.c as patched by <20260421230239.172582-2-minchan@kernel.org> (v1 1/3)

The batch free of an mmu_gather chunk moves from mm/swap_state.c (CONFIG_SWAP only) to
mm/swap.c (always built), and learns to evict clean file folios: when the mm being torn
down has MMF_UNSTABLE (it is being reaped), each non-anonymous folio goes through
``mapping_evict_folio()`` while the gather still holds its reference. Anonymous folios
still go to ``free_swap_cache()``; non-anonymous ones no longer do, which misses shmem
folios in the swap cache (the regression the author acknowledged on 2026-05-08,
docs/sources.md §T4.1 #6; ``Kernel(swapcache_fix=True)`` applies the fix he proposed then).

Limitations:
- The kernel-doc comment that names a nonexistent ``@try_evict_file_folios`` parameter
  (David Hildenbrand's review) is not modelled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from mrelease_ref.include.asm_generic.tlb import (
    ENCODED_PAGE_BIT_NR_PAGES_NEXT,
    encoded_nr_pages,
    encoded_page_ptr,
)
from mrelease_ref.include.linux.mm_types import MMF_UNSTABLE, MmStruct, mm_flags_test
from mrelease_ref.include.linux.mmzone import PAGEVEC_SIZE, FolioBatch
from mrelease_ref.include.linux.page_flags import PG_anon, PG_swapcache
from mrelease_ref.include.linux.swap import free_swap_cache
from mrelease_ref.mm.swap import folios_put_refs
from mrelease_ref.mm.swap_state import folio_trylock, folio_unlock
from mrelease_ref.mm.truncate import mapping_evict_folio
from mrelease_ref.mm.util import folio_mapping

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio


def free_file_cache(folio: Folio) -> None:
    """Kernel: mm/swap.c:free_file_cache() (new in v1 1/3)

    If the folio lock is free, try to evict the folio from its mapping; a contended lock
    means: leave it (no retry). The result of ``mapping_evict_folio()`` is ignored.
    """
    if folio_trylock(folio):
        mapping_evict_folio(folio_mapping(folio), folio)
        folio_unlock(folio)


def free_pages_and_caches(mm: MmStruct, pages: Sequence[object], nr: int) -> None:
    """Kernel: mm/swap.c:free_pages_and_caches() (new in v1 1/3; replaces
    mm/swap_state.c:free_pages_and_swap_cache())

    ``try_evict`` is MMF_UNSTABLE of ``mm``, read at every call: the OOM reaper sets it as
    well as process_mrelease(), and so does a victim's own exit_mmap() once a reaper has
    marked the mm.
    """
    try_evict = mm_flags_test(MMF_UNSTABLE, mm)
    free_pages_and_caches_loop(pages, nr, try_evict, free_file_cache)


def free_pages_and_caches_loop(
    pages: Sequence[object], nr: int, try_evict: bool, free_file_cache: Callable[[Folio], None]
) -> None:
    """Model helper: the body of ``free_pages_and_caches()``, shared by the versions that
    differ only in the gate (v1: the mm's flag; RFC and draft D: a bool) and in
    ``free_file_cache()`` (v1: ``folio_mapping()``; D: ``folio->mapping``).

    Per entry: anonymous folios go to ``free_swap_cache()``; otherwise, with ``try_evict``,
    to ``free_file_cache()``. Then the references are dropped in PAGEVEC_SIZE batches, as
    ``free_pages_and_swap_cache()`` did. With ``Kernel(swapcache_fix=True)`` the first test
    is ``folio_test_swapcache()`` instead (the 2026-05-08 proposal).
    """
    if not nr:
        return
    first = encoded_page_ptr(pages[0])  # type: ignore[arg-type]  # model-only
    swapcache_fix = first[0].kernel.config.swapcache_fix  # model-only
    folios = FolioBatch()
    batch = folios.folios
    refs: list[int] = []
    it = iter(pages[:nr])
    for enc in it:
        page = enc[0] if type(enc[0]) is tuple else enc  # type: ignore[index]  # encoded_page_ptr()
        folio = page[0]  # type: ignore[index]  # page_folio()
        if swapcache_fix:  # model-only: Kernel(swapcache_fix=True), the 2026-05-08 proposal
            if folio.flags & PG_swapcache:
                free_swap_cache(folio)
            elif try_evict:
                free_file_cache(folio)
        elif folio.flags & PG_anon:
            free_swap_cache(folio)
        elif try_evict:
            free_file_cache(folio)
        if page is not enc and enc[1] & ENCODED_PAGE_BIT_NR_PAGES_NEXT:  # type: ignore[index]
            refs.append(encoded_nr_pages(next(it)))  # type: ignore[arg-type]
        else:
            refs.append(1)
        batch.append(folio)
        if len(batch) == PAGEVEC_SIZE:
            folios_put_refs(folios, refs)
            batch = folios.folios
            refs = []
    if batch:
        folios_put_refs(folios, refs)

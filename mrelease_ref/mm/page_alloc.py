"""The page allocator: a free-page pool with per-CPU lists in front of it.

Kernel: mm/page_alloc.c

Free memory is counted, not listed: ``NR_FREE_PAGES`` is the buddy pool and each CPU's
``per_cpu_pages.count`` holds recently freed pages. Freeing an order the per-CPU lists
accept (``pcp_allowed_order()``) puts the pages on the freeing CPU's list; once the list
reaches ``high`` it spills ``nr_pcp_free()`` pages to the buddy pool: as many as were freed
in a row (``free_count``, capped at ``batch << CONFIG_PCP_BATCH_SCALE_MAX``), but at least
``batch`` and leaving at least ``batch``. This is why
MemFree rises by less than the memory a reap frees (docs/sources.md §M0
item 9). Allocation takes from the current CPU's list first.

PFNs only name folios: they come from a counter, aligned to the folio size, and are never
reused, so a stale pointer to a freed folio can always be recognised.

Limitations:
- No buddy merging, fragmentation, watermarks, reclaim or OOM killing: an allocation that
  does not fit returns None and the caller reports ENOMEM.
- ``high`` is fixed; the kernel adapts it (``decay_pcp_high()``, ``nr_pcp_high()``) and
  drains high-order pages eagerly (``free_high``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrelease_ref.include.linux.mm_types import Folio, LargeFolio
from mrelease_ref.include.linux.mmzone import (
    NR_FREE_PAGES,
    NR_FREE_PCP,
    NR_MLOCK,
    PAGE_ALLOC_COSTLY_ORDER,
    PerCpuPages,
)
from mrelease_ref.include.linux.page_flags import PG_freed, PG_mlocked

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import PageGeometry
    from mrelease_ref.sim.kernel import Kernel


def pcp_allowed_order(order: int, *, pg: PageGeometry) -> bool:
    """Kernel: mm/page_alloc.c:pcp_allowed_order() (``pg``, model-only: the kernel's page
    geometry, whose HPAGE_PMD_ORDER the lists also take)"""
    return order <= PAGE_ALLOC_COSTLY_ORDER or order == pg.HPAGE_PMD_ORDER


CONFIG_PCP_BATCH_SCALE_MAX = 5


def nr_pcp_free(pcp: PerCpuPages, batch: int, high: int) -> int:
    """Kernel: mm/page_alloc.c:nr_pcp_free() (without ``free_high``)

    Free as many pages as were freed in a row, but at least ``batch`` and leaving ``batch``.
    """
    if high < batch:
        return 1
    return max(batch, min(pcp.free_count, high - batch))


def _this_cpu_pcp(kernel: Kernel) -> PerCpuPages:
    return kernel.zone.per_cpu_pageset[kernel.this_cpu()]


def nr_free_pages_total(kernel: Kernel) -> int:
    """Model helper: free pages including the per-CPU lists (``nr_free_pages`` + Σ pcp)."""
    return kernel.vmstat[NR_FREE_PAGES] + kernel.vmstat[NR_FREE_PCP]


def _take(kernel: Kernel, nr: int, order: int) -> bool:
    """Remove ``nr`` free pages: this CPU's list first, then buddy, then other CPUs' lists."""
    vmstat = kernel.vmstat
    pcp = _this_cpu_pcp(kernel)
    if pcp_allowed_order(order, pg=kernel.pg) and pcp.count >= nr:
        pcp.count -= nr
        pcp.free_count >>= 1  # an allocation ends a run of frees
        vmstat[NR_FREE_PCP] -= nr
        return True
    if vmstat[NR_FREE_PAGES] >= nr:
        vmstat[NR_FREE_PAGES] -= nr
        return True
    if nr_free_pages_total(kernel) < nr:
        return False
    drain_all_pages(kernel)  # the slow path drains remote lists before giving up
    vmstat[NR_FREE_PAGES] -= nr
    return True


def folio_alloc(kernel: Kernel, order: int) -> Folio | None:
    """Kernel: include/linux/gfp.h:folio_alloc() (via __alloc_pages())

    Returns a folio with one reference, or None when memory is exhausted.
    """
    nr = 1 << order
    if not _take(kernel, nr, order):
        return None
    pfn = (kernel.next_pfn + nr - 1) & ~(nr - 1)
    kernel.next_pfn = pfn + nr
    kernel.vm_events["PGALLOC"] = kernel.vm_events.get("PGALLOC", 0) + nr
    return LargeFolio(kernel, pfn, order) if order else Folio(kernel, pfn)


def free_pcppages_bulk(kernel: Kernel, pcp: PerCpuPages, count: int) -> None:
    """Kernel: mm/page_alloc.c:free_pcppages_bulk(): return ``count`` pages to buddy."""
    pcp.count -= count
    kernel.vmstat[NR_FREE_PCP] -= count
    kernel.vmstat[NR_FREE_PAGES] += count


def free_unref_folios(folios: list[Folio]) -> None:
    """Kernel: mm/page_alloc.c:free_unref_folios()

    Every folio here has refcount 0. Its pages go to the current CPU's list, or straight to
    the buddy pool for orders the lists do not take.
    """
    if not folios:
        return
    kernel = folios[0].kernel
    vmstat = kernel.vmstat
    pcp = _this_cpu_pcp(kernel)
    high, batch = pcp.high, pcp.batch
    count = pcp.count  # pcp->count and pcp->free_count, kept in locals
    free_count = pcp.free_count
    max_free_count = batch << CONFIG_PCP_BATCH_SCALE_MAX
    to_pcp = to_buddy = freed = 0
    pmd_order = kernel.pg.HPAGE_PMD_ORDER
    small_tails = kernel.small_folio_tails
    for folio in folios:
        order = folio.order
        nr = 1 << order
        if folio.flags & PG_mlocked:  # free_pages_prepare()
            vmstat[NR_MLOCK] -= nr
            ev = kernel.vm_events
            ev["UNEVICTABLE_MLOCKFREED"] = ev.get("UNEVICTABLE_MLOCKFREED", 0) + nr
        folio.flags = PG_freed
        folio.mapping = None
        if order:
            folio.private = None
        elif small_tails:  # a small folio's rare fields leave the side table with it
            small_tails.pop(folio, None)
        freed += nr
        if order <= PAGE_ALLOC_COSTLY_ORDER or order == pmd_order:  # pcp_allowed_order()
            count += nr  # free_frozen_page_commit()
            to_pcp += nr
            if free_count < max_free_count:
                free_count += nr
            if count >= high:
                pcp.count, pcp.free_count = count, free_count
                vmstat[NR_FREE_PCP] += to_pcp
                to_pcp = 0
                free_pcppages_bulk(kernel, pcp, min(count, nr_pcp_free(pcp, batch, high)))
                count = pcp.count
        else:
            to_buddy += nr
    pcp.count, pcp.free_count = count, free_count
    vmstat[NR_FREE_PCP] += to_pcp
    vmstat[NR_FREE_PAGES] += to_buddy
    ev = kernel.vm_events
    ev["PGFREE"] = ev.get("PGFREE", 0) + freed
    ev["FOLIO_FREE"] = ev.get("FOLIO_FREE", 0) + len(folios)


def drain_all_pages(kernel: Kernel) -> None:
    """Kernel: mm/page_alloc.c:drain_all_pages(): empty every CPU's list into buddy."""
    for pcp in kernel.zone.per_cpu_pageset:
        if pcp.count:
            free_pcppages_bulk(kernel, pcp, pcp.count)

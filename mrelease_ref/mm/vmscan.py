"""Removing a folio from its mapping, and the reclaim that MADV_PAGEOUT and kswapd run.

Kernel: mm/vmscan.c (remove_mapping(), __remove_mapping(), folio_isolate_lru(),
folio_putback_lru(), shrink_folio_list(), folio_check_references(), pageout(),
reclaim_pages(), shrink_node(), shrink_lruvec(), shrink_list(), inactive_is_low(),
shrink_active_list(), shrink_inactive_list(), isolate_lru_folios(), move_folios_to_lru()),
with the helpers reclaim calls from mm/swapfile.c (folio_alloc_swap()), mm/page_io.c
(swap_writeout()), mm/rmap.c (folio_referenced()) and mm/util.c (folio_mapping())

``__remove_mapping()`` freezes the refcount at exactly ``1 + folio_nr_pages()``: the page
cache's (or swap cache's) references plus the caller's one. Any other reference (a
mapping, an LRU batch, a GUP pin) makes the freeze fail, so the folio stays.

Two ways in:

* ``reclaim_pages()`` is what ``madvise(MADV_PAGEOUT)`` hands its isolated folios to. Each
  folio takes one pass through ``shrink_folio_list()`` with ``ignore_references``: an
  anonymous folio gets a swap slot and joins the swap cache (``add_to_swap()``), every PTE
  mapping it is replaced by its swap entry (``try_to_unmap()``), ``pageout()`` writes it to
  swap, and ``__remove_mapping()`` takes it out of the swap cache so it can be freed. A
  clean file folio is unmapped and leaves its page cache with a shadow entry. Whatever
  cannot be reclaimed goes back to the LRU, on the active list if the kernel says
  "activate".
* ``shrink_node()`` (``Kernel.reclaim()``) is kswapd's classic two-list LRU reclaim
  (CONFIG_LRU_GEN off, as on these machines). Per priority, from DEF_PRIORITY (12) down,
  ``shrink_lruvec()`` scans ``size >> priority`` folios of each evictable list in
  SWAP_CLUSTER_MAX (32) chunks. An active list is only scanned when its inactive partner
  is low (``inactive_is_low()``): ``shrink_active_list()`` takes folios from the tail,
  harvests their young PTE bits (``folio_referenced()``) and moves them to the inactive
  list -- except referenced file folios of VM_EXEC mappings, which get another trip round
  the active list. ``shrink_inactive_list()`` isolates folios from the tail of the inactive
  list and hands them to ``shrink_folio_list()``, which now asks
  ``folio_check_references()``: a folio with young PTEs is kept (first time, PG_referenced
  set) or activated (PG_referenced already set, several mappings referencing it, or a
  VM_EXEC file mapping); an unreferenced one is reclaimed -- a clean file folio whose only
  history is PG_referenced (``folio_mark_accessed()`` from an unmap or a read) as well.
  Reclaimed file folios leave a shadow entry (``workingset_eviction()``), so reading them
  again counts WORKINGSET_REFAULT_FILE. Without a usable swap device anonymous lists are
  not scanned at all (``get_scan_count()``'s SCAN_FILE).

Limitations:
- One node, one lruvec, no memcg, no MGLRU, no watermarks: ``Kernel.reclaim(nr_pages)``
  stands in for a kswapd wake-up that has to free ``nr_pages``. The priority loop of
  ``balance_pgdat()`` is folded into ``shrink_node()`` and runs down to priority 0 (kswapd
  stops at 1); reclaim stops once ``nr_to_reclaim`` pages are freed.
- ``get_scan_count()`` is reduced to SCAN_FILE (no swap) or SCAN_EQUAL (swap): no
  swappiness, anon/file cost balancing, cache_trim_mode or proportional scan adjustment.
- ``prepare_scan_control()``'s "deactivate when refaults were seen" rule is not modelled:
  an active list is scanned only when ``inactive_is_low()`` says so.
- Reclaim runs outside the scheduler (no preemption points, no model time) and never
  throttles, stalls or waits on writeback.
- Swap-out I/O is synchronous: ``swap_writeout()`` starts and ends writeback before it
  returns, as ``swap_writepage_bdev_sync()`` does on a SWP_SYNCHRONOUS_IO device (zram),
  so a paged-out anonymous folio is freed in the same call. (Swap-in still goes through
  the swap cache, as on a device without SWP_SYNCHRONOUS_IO.) No zswap, no zero-page
  (zeromap) shortcut: every written page counts as PSWPOUT.
- Large anonymous folios are never swapped out: the model's ``folio_alloc_swap()`` has no
  THP swap, and ``split_folio_to_list()`` is not modelled, so they are activated.
- Dirty file folios are never written by reclaim: they are marked PG_reclaim and
  activated for the flusher, as on the first encounter in the kernel.
- ``try_to_unmap()`` has no TTU_SPLIT_HUGE_PMD: a PMD-mapped folio stays mapped, so LRU
  reclaim activates it instead of reclaiming it (unmapped large folios are reclaimed).
- shmem folios are put back untouched: ``shmem_writeout()`` is not modelled.
- MADV_FREE (lazyfree) folios and the deferred TLB flush of ``try_to_unmap_flush()``
  are not modelled.
- PGSTEAL_*/PGSCAN_* are counted on the ``shrink_inactive_list()`` path only, as the
  kernel does (never on the ``reclaim_pages()`` path); PSWPOUT, PGACTIVATE, PGDEACTIVATE
  and PGREFILL are counted as the kernel does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from mrelease_ref.include.linux.fs import AddressSpace
from mrelease_ref.include.linux.mm_inline import (
    folio_is_file_lru,
    lruvec_add_folio,
    lruvec_del_folio,
)
from mrelease_ref.include.linux.mm_types import (
    HPAGE_PMD_ORDER,
    PAGE_SHIFT,
    VM_EXEC,
    VM_LOCKED,
    folio_mapped,
)
from mrelease_ref.include.linux.mmzone import NR_LRU_BASE, NR_LRU_LISTS, LruList, Lruvec
from mrelease_ref.include.linux.page_flags import (
    PG_active,
    PG_anon,
    PG_dirty,
    PG_lru,
    PG_mlocked,
    PG_reclaim,
    PG_referenced,
    PG_swapbacked,
    PG_swapcache,
    PG_unevictable,
    PG_workingset,
    PG_writeback,
    folio_has_private,
    folio_test_clear_lru,
)
from mrelease_ref.include.linux.vmstat import count_vm_events
from mrelease_ref.mm.filemap import __filemap_remove_folio, filemap_release_folio
from mrelease_ref.mm.page_alloc import free_unref_folios
from mrelease_ref.mm.page_writeback import (
    folio_clear_dirty_for_io,
    folio_end_writeback,
    folio_mark_dirty,
    folio_start_writeback,
)
from mrelease_ref.mm.rmap import (
    TTU_BATCH_FLUSH,
    TTU_SPLIT_HUGE_PMD,
    folio_referenced,
    try_to_unmap,
)
from mrelease_ref.mm.swap import (
    KernelBug,
    folio_add_lru,
    folio_evictable,
    folio_get,
    folio_put,
    lru_add_drain,
)
from mrelease_ref.mm.swap_state import (
    folio_trylock,
    folio_unlock,
    swap_cache_add_folio,
    swap_cache_del_folio,
)
from mrelease_ref.mm.swapfile import folio_alloc_swap, folio_free_swap, get_nr_swap_pages
from mrelease_ref.mm.util import folio_mapping
from mrelease_ref.mm.workingset import workingset_age_nonresident, workingset_eviction

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio
    from mrelease_ref.sim.kernel import Kernel


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


# ---------------------------------------------------------------------------------------
# LRU isolation
# ---------------------------------------------------------------------------------------


def folio_isolate_lru(folio: Folio) -> bool:
    """Kernel: mm/vmscan.c:folio_isolate_lru()

    Take the folio off its LRU list, holding a reference for the isolator. Whoever clears
    PG_lru owns the isolation; a folio not on the LRU (still in a per-CPU batch, or
    isolated by someone else) fails.
    """
    if folio._refcount <= 0:
        raise KernelBug(f"folio_isolate_lru of a free folio: {folio!r}")
    if not folio_test_clear_lru(folio):
        return False
    folio_get(folio)
    lruvec_del_folio(folio.kernel.lruvec, folio)
    return True


def folio_putback_lru(folio: Folio) -> None:
    """Kernel: mm/vmscan.c:folio_putback_lru()

    Return an isolated folio to the LRU (through this CPU's lru_add batch) and drop the
    isolation reference.
    """
    folio_add_lru(folio)
    folio_put(folio)  # drop ref from isolate


# ---------------------------------------------------------------------------------------
# Helpers shrink_folio_list() calls
# ---------------------------------------------------------------------------------------


def folio_maybe_dma_pinned(folio: Folio) -> bool:
    """Kernel: include/linux/mm.h:folio_maybe_dma_pinned() (the model counts pins exactly)"""
    return folio._pincount > 0


def vm_swap_full(folio: Folio) -> bool:
    """Kernel: include/linux/swap.h:vm_swap_full(): more than half of the swap space is in use."""
    si = folio.kernel.swap_info
    if si is None:
        return False
    total = si.max - 1
    return (total - si.inuse_pages) * 2 < total


def mem_cgroup_swap_full(folio: Folio) -> bool:
    """Kernel: include/linux/swap.h:mem_cgroup_swap_full() (no memcg: vm_swap_full())"""
    return vm_swap_full(folio)


def add_to_swap(folio: Folio) -> bool:
    """Kernel: mm/vmscan.c:shrink_folio_list() (its folio_alloc_swap() and
    folio_mark_dirty() step; the name is that of mm/swap_state.c's add_to_swap(), which
    v6.18 no longer has: folio_alloc_swap() now adds the folio to the swap cache)

    Reserve a swap slot, put the folio in the swap cache, and mark it dirty so that
    ``pageout()`` writes it. Fails without CONFIG_SWAP, without a swap device, when the
    device is full, and for a large folio (the model has no THP swap-out).
    """
    if not folio.kernel.config.swap:  # !CONFIG_SWAP: folio_alloc_swap() is a failing stub
        return False
    if folio_alloc_swap(folio):
        return False
    entry = folio.swap
    assert entry is not None
    swap_cache_add_folio(folio, entry)
    folio_mark_dirty(folio)
    return True


def is_page_cache_freeable(folio: Folio) -> bool:
    """Kernel: mm/vmscan.c:is_page_cache_freeable()

    Only the cache's references, the isolation reference and private data remain.
    """
    private = 1 if folio_has_private(folio) else 0
    return folio._refcount - private == 1 + (1 << folio.order)


def swap_writeout(folio: Folio) -> int:
    """Kernel: mm/page_io.c:swap_writeout() → __swap_writepage() → swap_writepage_bdev_sync()

    Write a locked swap-cache folio to its slot. If no page table references the slot any
    more, just drop the folio from the swap cache instead (``folio_free_swap()``). The
    model's device completes the write before returning (SWP_SYNCHRONOUS_IO): writeback
    starts, the folio is unlocked, and writeback ends. Returns 0.
    """
    if folio_free_swap(folio):
        folio_unlock(folio)
        return 0
    k = folio.kernel
    count_vm_events(k, "PSWPOUT", 1 << folio.order)  # count_swpout_vm_event()
    folio_start_writeback(folio)
    folio_unlock(folio)
    k.io_pending.remove(folio)  # submit_bio_wait(): done before we go on
    folio_end_writeback(folio)  # __end_swap_bio_write()
    return 0


# pageout() results: mm/vmscan.c (pageout_t)
PAGE_KEEP: Final = 0
PAGE_ACTIVATE: Final = 1
PAGE_SUCCESS: Final = 2
PAGE_CLEAN: Final = 3


def pageout(folio: Folio, mapping: AddressSpace | None) -> int:
    """Kernel: mm/vmscan.c:pageout()

    Write out a dirty, locked, unmapped folio. Reclaim writes only swap-cache folios
    (and shmem, not modelled); a dirty file folio is left to the flusher
    (PAGE_ACTIVATE). On PAGE_SUCCESS the folio is unlocked.
    """
    if not is_page_cache_freeable(folio):
        return PAGE_KEEP
    if mapping is None:
        return PAGE_KEEP  # orphaned folio: try_to_free_buffers() is not modelled
    if mapping.a_ops == "shmem" or not folio.flags & PG_anon:
        return PAGE_ACTIVATE  # shmem_writeout() not modelled; filesystems: no writeback here
    if not folio_clear_dirty_for_io(folio):
        return PAGE_CLEAN
    folio.flags |= PG_reclaim
    swap_writeout(folio)
    if not folio.flags & PG_writeback:  # synchronous write
        folio.flags &= ~PG_reclaim
    return PAGE_SUCCESS


# ---------------------------------------------------------------------------------------
# folio_check_references()
# ---------------------------------------------------------------------------------------

# enum folio_references: mm/vmscan.c
FOLIOREF_RECLAIM: Final = 0
FOLIOREF_RECLAIM_CLEAN: Final = 1
FOLIOREF_KEEP: Final = 2
FOLIOREF_ACTIVATE: Final = 3


def folio_check_references(folio: Folio) -> int:
    """Kernel: mm/vmscan.c:folio_check_references() (classic LRU, v6.18)

    Decide what LRU reclaim does with a locked folio isolated from an inactive list, from
    its young PTE bits (harvested and cleared by ``folio_referenced()``) and PG_referenced
    (cleared here):

    * found in a VM_LOCKED VMA: FOLIOREF_ACTIVATE (the folio goes to the unevictable list);
    * rmap contention, or an anonymous folio of an exiting/OOM-reaped mm: FOLIOREF_KEEP;
    * referenced PTEs: set PG_referenced; FOLIOREF_ACTIVATE if PG_referenced was already
      set, more than one VMA referenced it, or it is a file folio of a VM_EXEC mapping;
      otherwise FOLIOREF_KEEP (one more trip round the inactive list: every mapped folio
      starts with the young bit of its own fault);
    * no referenced PTE: FOLIOREF_RECLAIM_CLEAN for a file folio that had PG_referenced
      (reclaim it if clean), FOLIOREF_RECLAIM otherwise.
    """
    referenced_ptes, vm_flags = folio_referenced(folio, True)
    if vm_flags & VM_LOCKED:
        return FOLIOREF_ACTIVATE
    if referenced_ptes == -1:
        return FOLIOREF_KEEP
    referenced_folio = bool(folio.flags & PG_referenced)  # folio_test_clear_referenced()
    folio.flags &= ~PG_referenced
    if referenced_ptes:
        folio.flags |= PG_referenced  # folio_set_referenced()
        if referenced_folio or referenced_ptes > 1:
            return FOLIOREF_ACTIVATE
        if vm_flags & VM_EXEC and folio_is_file_lru(folio):
            return FOLIOREF_ACTIVATE
        return FOLIOREF_KEEP
    if referenced_folio and folio_is_file_lru(folio):
        return FOLIOREF_RECLAIM_CLEAN
    return FOLIOREF_RECLAIM


# ---------------------------------------------------------------------------------------
# shrink_folio_list() and reclaim_pages()
# ---------------------------------------------------------------------------------------

# The labels shrink_folio_list()'s loop body jumps to.
_FREE_IT: Final = "free_it"
_ACTIVATE_LOCKED: Final = "activate_locked"
_KEEP_LOCKED: Final = "keep_locked"
_KEEP: Final = "keep"


def _shrink_folio_unmapped(folio: Folio) -> str:
    """shrink_folio_list(), second half: write out if dirty, then remove from the mapping."""
    mapping = folio_mapping(folio)
    if folio.flags & PG_dirty:
        if folio_is_file_lru(folio):
            folio.flags |= PG_reclaim  # reclaim it as soon as the flusher has written it
            return _ACTIVATE_LOCKED
        ret = pageout(folio, mapping)
        if ret == PAGE_KEEP:
            return _KEEP_LOCKED
        if ret == PAGE_ACTIVATE:
            return _ACTIVATE_LOCKED
        if ret == PAGE_SUCCESS:
            if folio.flags & (PG_writeback | PG_dirty):
                return _KEEP
            if not folio_trylock(folio):  # a synchronous write: try to free it now
                return _KEEP
            if folio.flags & (PG_dirty | PG_writeback):
                return _KEEP_LOCKED
            mapping = folio_mapping(folio)
    if folio_has_private(folio) and not filemap_release_folio(folio, 0):  # folio_needs_release()
        return _ACTIVATE_LOCKED
    if folio.flags & PG_anon and not folio.flags & PG_swapbacked:
        # a clean lazyfree (MADV_FREE) folio: only the isolation reference may be left
        if folio._refcount != 1:  # folio_ref_freeze(folio, 1) failed
            return _KEEP_LOCKED
        folio._refcount = 0
        count_vm_events(folio.kernel, "PGLAZYFREED", 1 << folio.order)
    elif mapping is None or not __remove_mapping(mapping, folio, reclaimed=True):
        return _KEEP_LOCKED
    folio_unlock(folio)
    return _FREE_IT


def _shrink_folio(folio: Folio, ignore_references: bool) -> str:
    """shrink_folio_list(), first half, for a locked folio: check its references, get it
    swap space and unmap it.

    Returns the label the kernel's loop body ends at.
    """
    if not folio_evictable(folio):
        return _ACTIVATE_LOCKED
    if folio.flags & PG_writeback:  # case 2: mark for immediate reclaim, move on
        folio.flags |= PG_reclaim
        return _ACTIVATE_LOCKED
    if not ignore_references:
        references = folio_check_references(folio)
        if references == FOLIOREF_ACTIVATE:
            return _ACTIVATE_LOCKED
        if references == FOLIOREF_KEEP:
            return _KEEP_LOCKED
        # FOLIOREF_RECLAIM, FOLIOREF_RECLAIM_CLEAN: try to reclaim the folio below
    if folio.flags & PG_swapbacked and not folio.flags & PG_anon:
        return _KEEP_LOCKED  # shmem: shmem_writeout() is not modelled
    if folio.flags & PG_anon and folio.flags & PG_swapbacked and not folio.flags & PG_swapcache:
        if folio_maybe_dma_pinned(folio):
            return _KEEP_LOCKED
        if not add_to_swap(folio):  # a large folio would be split and retried: not modelled
            return _ACTIVATE_LOCKED  # activate_locked_split
    if folio_mapped(folio):
        flags = TTU_BATCH_FLUSH
        if folio.order >= HPAGE_PMD_ORDER:  # folio_test_pmd_mappable()
            flags |= TTU_SPLIT_HUGE_PMD
        try_to_unmap(folio, flags)
        if folio_mapped(folio):
            return _ACTIVATE_LOCKED  # a redirtied lazyfree folio is swapbacked again
    if folio_maybe_dma_pinned(folio):
        return _ACTIVATE_LOCKED
    return _shrink_folio_unmapped(folio)


def _activate_locked(folio: Folio) -> int:
    """shrink_folio_list()'s ``activate_locked`` label: returns the pages activated."""
    if folio.flags & PG_swapcache and (mem_cgroup_swap_full(folio) or folio.flags & PG_mlocked):
        folio_free_swap(folio)  # not a candidate for swapping: reclaim the swap space
    if folio.flags & PG_active:
        raise KernelBug(f"shrink_folio_list: active folio {folio!r}")
    if folio.flags & PG_mlocked:
        return 0
    folio.flags |= PG_active
    return 1 << folio.order


def _free_folios(folios: list[Folio]) -> None:
    """The ``free_it`` batch: frozen folios go straight to the page allocator."""
    for folio in folios:
        if folio._refcount or folio.flags & (PG_lru | PG_active | PG_unevictable):
            raise KernelBug(f"bad page freed by reclaim: {folio!r}")  # free_pages_prepare()
    free_unref_folios(folios)


def shrink_folio_list(folio_list: list[Folio], ignore_references: bool = True) -> int:
    """Kernel: mm/vmscan.c:shrink_folio_list()

    Try to reclaim every isolated folio in ``folio_list``. Reclaimed folios are freed;
    the rest are left in ``folio_list`` for the caller to put back, those the kernel
    activates marked PG_active. Returns the number of pages reclaimed.
    ``ignore_references`` is true for ``reclaim_pages()`` (MADV_PAGEOUT) and false for
    LRU reclaim, which first asks ``folio_check_references()``.
    """
    ret_folios: list[Folio] = []
    free_folios: list[Folio] = []
    nr_reclaimed = pgactivate = 0
    while folio_list:
        folio = folio_list.pop(0)  # lru_to_folio()
        if not folio_trylock(folio):
            ret_folios.append(folio)
            continue
        if folio.flags & PG_active:
            raise KernelBug(f"shrink_folio_list: active folio {folio!r}")
        label = _shrink_folio(folio, ignore_references)
        if label == _FREE_IT:
            nr_reclaimed += 1 << folio.order
            free_folios.append(folio)
            continue
        if label == _ACTIVATE_LOCKED:
            pgactivate += _activate_locked(folio)
        if label != _KEEP:
            folio_unlock(folio)
        ret_folios.append(folio)
    if free_folios:
        _free_folios(free_folios)
    folio_list.extend(ret_folios)
    if pgactivate:
        count_vm_events(ret_folios[0].kernel, "PGACTIVATE", pgactivate)
    return nr_reclaimed


def reclaim_folio_list(folio_list: list[Folio]) -> int:
    """Kernel: mm/vmscan.c:reclaim_folio_list()

    Shrink the list, then put every folio that survived back on the LRU.
    """
    k = folio_list[0].kernel
    nr_reclaimed = shrink_folio_list(folio_list)
    while folio_list:
        folio_putback_lru(folio_list.pop(0))
    if k.tracing:
        k.trace_event("reclaim_pages", f"nr_reclaimed={nr_reclaimed}")
    return nr_reclaimed


def reclaim_pages(folio_list: list[Folio]) -> int:
    """Kernel: mm/vmscan.c:reclaim_pages()

    Reclaim a list of isolated folios (one node here), clearing PG_active first:
    the caller may have isolated folios from the active list. Returns pages reclaimed;
    ``folio_list`` is empty afterwards.
    """
    if not folio_list:
        return 0
    for folio in folio_list:
        folio.flags &= ~PG_active  # folio_clear_active()
    return reclaim_folio_list(folio_list)




# ---------------------------------------------------------------------------------------
# LRU reclaim: shrink_node() -> shrink_lruvec() -> shrink_list()
# ---------------------------------------------------------------------------------------

# include/linux/mmzone.h, include/linux/swap.h
DEF_PRIORITY: Final = 12
SWAP_CLUSTER_MAX: Final = 32
# scan_control.may_deactivate bits: mm/vmscan.c
DEACTIVATE_ANON: Final = 1
DEACTIVATE_FILE: Final = 2

_EVICTABLE_LRUS: Final = (
    int(LruList.LRU_INACTIVE_ANON),
    int(LruList.LRU_ACTIVE_ANON),
    int(LruList.LRU_INACTIVE_FILE),
    int(LruList.LRU_ACTIVE_FILE),
)


@dataclass(slots=True, eq=False)
class ScanControl:
    """Kernel: mm/vmscan.c (struct scan_control): the fields classic LRU reclaim reads.

    Model-only: ``kernel``, the machine being reclaimed (the kernel reaches its pgdat
    through the lruvec).
    """

    kernel: Kernel
    nr_to_reclaim: int
    priority: int = DEF_PRIORITY
    may_deactivate: int = 0
    may_swap: bool = True
    nr_scanned: int = 0
    nr_reclaimed: int = 0
    skipped_deactivate: bool = False


def is_file_lru(lru: int) -> bool:
    """Kernel: include/linux/mmzone.h:is_file_lru()"""
    return lru in (int(LruList.LRU_INACTIVE_FILE), int(LruList.LRU_ACTIVE_FILE))


def is_active_lru(lru: int) -> bool:
    """Kernel: include/linux/mmzone.h:is_active_lru()"""
    return lru in (int(LruList.LRU_ACTIVE_ANON), int(LruList.LRU_ACTIVE_FILE))


def lruvec_lru_size(kernel: Kernel, lru: int) -> int:
    """Kernel: mm/vmscan.c:lruvec_lru_size(): pages on one LRU list (NR_LRU_BASE + lru)."""
    return kernel.vmstat[NR_LRU_BASE + lru]


def inactive_is_low(kernel: Kernel, inactive_lru: int) -> bool:
    """Kernel: mm/vmscan.c:inactive_is_low()

    The inactive list is too small when ``inactive * ratio < active``; the ratio is 1
    below 1 GiB of pages on the two lists, ``int_sqrt(10 * GiB)`` above.
    """
    inactive = lruvec_lru_size(kernel, inactive_lru)
    active = lruvec_lru_size(kernel, inactive_lru + 1)  # + LRU_ACTIVE
    gb = (inactive + active) >> (30 - PAGE_SHIFT)
    inactive_ratio = math.isqrt(10 * gb) if gb else 1
    return inactive * inactive_ratio < active


def can_reclaim_anon_pages(kernel: Kernel) -> bool:
    """Kernel: mm/vmscan.c:can_reclaim_anon_pages() (no memcg, no demotion)

    Anonymous memory can only be reclaimed to a swap device with free slots.
    """
    return get_nr_swap_pages(kernel) > 0


def get_scan_count(kernel: Kernel, sc: ScanControl) -> list[int]:
    """Kernel: mm/vmscan.c:get_scan_count() (reduced: SCAN_FILE or SCAN_EQUAL)

    How many pages of each LRU list to scan at this priority: ``size >> priority``. Without
    reclaimable anonymous memory (no swap) only the file lists are scanned (SCAN_FILE).
    """
    scan_file_only = not sc.may_swap or not can_reclaim_anon_pages(kernel)
    nr = [0] * NR_LRU_LISTS
    for lru in _EVICTABLE_LRUS:
        if scan_file_only and not is_file_lru(lru):
            continue
        nr[lru] = lruvec_lru_size(kernel, lru) >> sc.priority
    return nr


def isolate_lru_folios(
    nr_to_scan: int, lruvec: Lruvec, dst: list[Folio], sc: ScanControl, lru: int
) -> tuple[int, int]:
    """Kernel: mm/vmscan.c:isolate_lru_folios()

    Take up to ``nr_to_scan`` pages' worth of folios from the *tail* of list ``lru`` (the
    first keys of the model's dict) onto ``dst``, each with a reference and PG_lru
    cleared. A folio without PG_lru (parked in a per-CPU batch, or being isolated by
    someone else) is rotated to the head instead. Returns (pages taken, pages scanned).
    """
    src = lruvec.lists[lru]
    nr_taken = scan = 0
    while scan < nr_to_scan and src:
        folio = next(iter(src))  # lru_to_folio(src): the tail
        nr_pages = 1 << folio.order
        scan += nr_pages
        if folio.flags & PG_lru and folio_isolate_lru(folio):
            nr_taken += nr_pages
            dst.append(folio)
        else:
            del src[folio]  # list_move(&folio->lru, src): back to the head
            src[folio] = None
    return nr_taken, scan


def move_folios_to_lru(lruvec: Lruvec, folios: list[Folio]) -> int:
    """Kernel: mm/vmscan.c:move_folios_to_lru()

    Put isolated folios back at the head of the list their flags name and drop the
    isolation reference; a folio whose last reference that was is freed instead. An
    activated folio ages the non-resident clock. Unevictable folios take
    ``folio_putback_lru()``. Returns the pages moved.
    """
    nr_moved = 0
    free: list[Folio] = []
    for folio in folios:
        if folio.flags & PG_lru:
            raise KernelBug(f"move_folios_to_lru: folio on the LRU {folio!r}")
        if not folio_evictable(folio):
            folio_putback_lru(folio)
            continue
        if folio._refcount == 1:  # folio_put_testzero()
            folio._refcount = 0
            folio.flags &= ~(PG_lru | PG_active | PG_unevictable)  # __folio_clear_lru_flags()
            free.append(folio)
            continue
        folio._refcount -= 1
        folio.flags |= PG_lru
        lruvec_add_folio(lruvec, folio)
        nr_pages = 1 << folio.order
        nr_moved += nr_pages
        if folio.flags & PG_active:
            workingset_age_nonresident(folio, nr_pages)
    folios.clear()
    if free:
        free_unref_folios(free)
    return nr_moved


def shrink_active_list(nr_to_scan: int, lruvec: Lruvec, sc: ScanControl, lru: int) -> None:
    """Kernel: mm/vmscan.c:shrink_active_list()

    Deactivate up to ``nr_to_scan`` pages from the tail of an active list. Each folio's
    young PTE bits are harvested and cleared (``folio_referenced()``); a referenced file
    folio of a VM_EXEC mapping goes back to the active list, every other folio loses
    PG_active, gains PG_workingset and goes to the head of the inactive list. Being
    referenced is not enough to stay active: only executable file mappings are protected.
    """
    k = sc.kernel
    lru_add_drain(k)
    l_hold: list[Folio] = []
    _nr_taken, nr_scanned = isolate_lru_folios(nr_to_scan, lruvec, l_hold, sc, lru)
    count_vm_events(k, "PGREFILL", nr_scanned)
    l_active: list[Folio] = []
    l_inactive: list[Folio] = []
    for folio in l_hold:
        if not folio_evictable(folio):
            folio_putback_lru(folio)
            continue
        referenced, vm_flags = folio_referenced(folio, False)
        if referenced != 0 and vm_flags & VM_EXEC and folio_is_file_lru(folio):
            l_active.append(folio)
            continue
        folio.flags &= ~PG_active  # folio_clear_active(): we are de-activating
        folio.flags |= PG_workingset  # folio_set_workingset()
        l_inactive.append(folio)
    move_folios_to_lru(lruvec, l_active)
    nr_deactivate = move_folios_to_lru(lruvec, l_inactive)
    count_vm_events(k, "PGDEACTIVATE", nr_deactivate)
    if k.tracing:
        k.trace_event("shrink_active_list",
                      f"lru={lru} scanned={nr_scanned} deactivated={nr_deactivate}")


def shrink_inactive_list(nr_to_scan: int, lruvec: Lruvec, sc: ScanControl, lru: int) -> int:
    """Kernel: mm/vmscan.c:shrink_inactive_list()

    Isolate up to ``nr_to_scan`` pages from the tail of an inactive list, run them through
    ``shrink_folio_list()`` (references checked), and put the survivors back (activated
    ones on the active list). Counts PGSCAN_*/PGSTEAL_* for kswapd. Returns pages
    reclaimed.
    """
    k = sc.kernel
    lru_add_drain(k)
    folio_list: list[Folio] = []
    nr_taken, nr_scanned = isolate_lru_folios(nr_to_scan, lruvec, folio_list, sc, lru)
    kind = "FILE" if is_file_lru(lru) else "ANON"
    count_vm_events(k, "PGSCAN_KSWAPD", nr_scanned)
    count_vm_events(k, f"PGSCAN_{kind}", nr_scanned)
    sc.nr_scanned += nr_scanned
    if not nr_taken:
        return 0
    nr_reclaimed = shrink_folio_list(folio_list, ignore_references=False)
    move_folios_to_lru(lruvec, folio_list)
    count_vm_events(k, "PGSTEAL_KSWAPD", nr_reclaimed)
    count_vm_events(k, f"PGSTEAL_{kind}", nr_reclaimed)
    if k.tracing:
        k.trace_event("shrink_inactive_list",
                      f"lru={lru} scanned={nr_scanned} reclaimed={nr_reclaimed}")
    return nr_reclaimed


def shrink_list(lru: int, nr_to_scan: int, lruvec: Lruvec, sc: ScanControl) -> int:
    """Kernel: mm/vmscan.c:shrink_list()

    An active list is only aged when ``sc.may_deactivate`` allows it (its inactive list is
    low); an inactive list is reclaimed. Returns pages reclaimed.
    """
    if is_active_lru(lru):
        if sc.may_deactivate & (DEACTIVATE_FILE if is_file_lru(lru) else DEACTIVATE_ANON):
            shrink_active_list(nr_to_scan, lruvec, sc, lru)
        else:
            sc.skipped_deactivate = True
        return 0
    return shrink_inactive_list(nr_to_scan, lruvec, sc, lru)


def shrink_lruvec(lruvec: Lruvec, sc: ScanControl) -> None:
    """Kernel: mm/vmscan.c:shrink_lruvec() (classic LRU; no proportional adjustment)

    Scan each evictable list's ``get_scan_count()`` target in SWAP_CLUSTER_MAX chunks,
    round-robin in list order (inactive anon, active anon, inactive file, active file),
    until the targets are used up or ``sc.nr_to_reclaim`` pages are reclaimed. Then age the
    anonymous active list if its inactive list is low and anonymous memory can be
    reclaimed at all.
    """
    kernel = sc.kernel
    nr = get_scan_count(kernel, sc)
    nr_reclaimed = 0
    inactive_anon = int(LruList.LRU_INACTIVE_ANON)
    active_file = int(LruList.LRU_ACTIVE_FILE)
    inactive_file = int(LruList.LRU_INACTIVE_FILE)
    while nr[inactive_anon] or nr[active_file] or nr[inactive_file]:
        for lru in _EVICTABLE_LRUS:
            if nr[lru]:
                nr_to_scan = min(nr[lru], SWAP_CLUSTER_MAX)
                nr[lru] -= nr_to_scan
                nr_reclaimed += shrink_list(lru, nr_to_scan, lruvec, sc)
        if nr_reclaimed >= sc.nr_to_reclaim:
            break
    sc.nr_reclaimed += nr_reclaimed
    if can_reclaim_anon_pages(kernel) and inactive_is_low(kernel, inactive_anon):
        shrink_active_list(SWAP_CLUSTER_MAX, lruvec, sc, int(LruList.LRU_ACTIVE_ANON))


def prepare_scan_control(sc: ScanControl) -> None:
    """Kernel: mm/vmscan.c:prepare_scan_control() (the may_deactivate part, without the
    refault rule)

    Allow deactivation of an active list whose inactive partner is low.
    """
    kernel = sc.kernel
    sc.may_deactivate = 0
    if inactive_is_low(kernel, int(LruList.LRU_INACTIVE_ANON)):
        sc.may_deactivate |= DEACTIVATE_ANON
    if inactive_is_low(kernel, int(LruList.LRU_INACTIVE_FILE)):
        sc.may_deactivate |= DEACTIVATE_FILE


def shrink_node(kernel: Kernel, nr_to_reclaim: int) -> int:
    """Kernel: mm/vmscan.c:shrink_node() (with balance_pgdat()'s priority loop folded in)

    Reclaim about ``nr_to_reclaim`` pages as kswapd would: at each priority from
    DEF_PRIORITY down to 0, recompute which active lists may be deactivated and shrink the
    lruvec, until enough pages were reclaimed or every list was scanned in full. Returns
    the pages reclaimed.
    """
    sc = ScanControl(kernel=kernel, nr_to_reclaim=nr_to_reclaim)
    lruvec = kernel.lruvec
    for priority in range(DEF_PRIORITY, -1, -1):
        sc.priority = priority
        sc.nr_to_reclaim = nr_to_reclaim - sc.nr_reclaimed  # what this pass still owes
        prepare_scan_control(sc)
        shrink_lruvec(lruvec, sc)
        if sc.nr_reclaimed >= nr_to_reclaim:
            break
    if kernel.tracing:
        kernel.trace_event("shrink_node", f"nr_to_reclaim={nr_to_reclaim} "
                           f"reclaimed={sc.nr_reclaimed} scanned={sc.nr_scanned}")
    return sc.nr_reclaimed

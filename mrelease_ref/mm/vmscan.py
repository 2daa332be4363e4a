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

The multi-gen LRU (``Kernel(lru_gen=True)``; mm/vmscan.c (lru_gen_shrink_node(),
try_to_shrink_lruvec(), get_nr_to_scan(), should_run_aging(), try_to_inc_max_seq(),
inc_max_seq(), inc_min_seq(), try_to_inc_min_seq(), walk_mm(), folio_update_gen(),
folio_inc_gen(), lru_gen_look_around(), evict_folios(), isolate_folios(), scan_folios(),
sort_folio(), isolate_folio(), get_tier_idx(), get_type_to_scan(), lru_gen_set_refs())):
``shrink_node()`` hands kswapd's work to ``lru_gen_shrink_node()``. Folios sit on up to
four generations per type (anon, file). Eviction takes folios from the tail of the oldest
generation: ``sort_folio()`` keeps the ones the aging promoted (moving them to the
generation in their flags), the ones accessed through file descriptors often enough
(their *tier*, from ``lru_gen_inc_refs()``'s count, above what the PID controller allows)
and dirty/writeback ones; the rest are isolated and go through ``shrink_folio_list()``,
whose ``folio_check_references()`` now asks ``lru_gen_set_refs()``: a mapped folio found
young is kept the first time and promoted (PG_workingset, then PG_active on putback) the
second; an unreferenced one is reclaimed -- whatever ``folio_mark_accessed()`` counted.
When only two or three generations are left, aging (``try_to_inc_max_seq()``) walks the
page tables of the mms that ran since their last walk (PTE tables the previous walk or
look-around found dense in young entries, per the Bloom filter), clears young bits and
promotes those folios to the current youngest generation (the first young sighting only
sets PG_referenced), then opens a new generation, retiring the oldest if four exist.

Limitations:
- Multi-gen LRU simplifications: the aging's mm list is the Kernel's list of mms, and an
  mm counts as "used" (``lru_gen_use_mm()``) when it accesses memory, not when its task
  is switched in; the Bloom filters are exact sets (no false positives); one walker at a
  time (no mmap_lock trylock, no racing ``inc_max_seq()``), no PMD-young shortcut
  (``should_clear_pmd_young()``); generation sizes are updated at once, not batched per
  walk; no min_ttl/``lru_gen_age_node()`` OOM trigger, no memcg LRU, no proactive
  reclaim or debugfs interface; one zone, so no "ineligible" folios; the PID controller
  keeps one history generation (CONFIG_LRU_GEN_STATS off), as the kernel does by default.
- Multi-gen LRU: only kswapd's reclaim exists, which always has a walk set up, so
  look-around promotes with ``folio_update_gen()``; direct reclaim's variant (no walk:
  ``lru_gen_set_refs()`` + ``folio_activate()``, the one remaining user of the
  ``lru_activate`` batch under MGLRU) is not modelled.
- One node, one lruvec, no memcg, no watermarks: ``Kernel.reclaim(nr_pages)``
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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, cast

from mrelease_ref.include.linux.fs import AddressSpace
from mrelease_ref.include.linux.mm_inline import (
    folio_is_file_lru,
    folio_lru_gen,
    folio_lru_refs,
    lru_gen_del_folio,
    lru_gen_folio_seq,
    lru_gen_from_seq,
    lru_gen_update_size,
    lru_hist_from_seq,
    lru_tier_from_refs,
    lruvec_add_folio,
    lruvec_del_folio,
)
from mrelease_ref.include.linux.mm_types import (
    VM_EXEC,
    VM_LOCKED,
    folio_mapped,
)
from mrelease_ref.include.linux.mmzone import (
    ANON_AND_FILE,
    LRU_GEN_ANON,
    LRU_GEN_FILE,
    LRU_GEN_MASK,
    LRU_GEN_PGOFF,
    LRU_REFS_FLAGS,
    LRU_REFS_MASK,
    LRU_REFS_WIDTH,
    MAX_LRU_BATCH,
    MAX_NR_GENS,
    MAX_NR_TIERS,
    MIN_LRU_BATCH,
    MIN_NR_GENS,
    NR_LRU_BASE,
    NR_LRU_LISTS,
    LruGenFolio,
    LruGenMmState,
    LruList,
    Lruvec,
    list_del,
)
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
    from mrelease_ref.include.linux.mm_types import Folio, MmStruct, PteTable, VmAreaStruct
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
    if folio.kernel.config.lru_gen:  # lru_gen_enabled()
        if not referenced_ptes:
            return FOLIOREF_RECLAIM
        return FOLIOREF_ACTIVATE if lru_gen_set_refs(folio) else FOLIOREF_KEEP
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
    pg = folio.kernel.pg
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
        if folio.order >= pg.HPAGE_PMD_ORDER:  # folio_test_pmd_mappable()
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
    pg = kernel.pg
    inactive = lruvec_lru_size(kernel, inactive_lru)
    active = lruvec_lru_size(kernel, inactive_lru + 1)  # + LRU_ACTIVE
    gb = (inactive + active) >> (30 - pg.PAGE_SHIFT)
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

    Take up to ``nr_to_scan`` pages' worth of folios from the *tail* of list ``lru`` onto
    ``dst``, each with a reference and PG_lru
    cleared. A folio without PG_lru (parked in a per-CPU batch, or being isolated by
    someone else) is rotated to the head instead. Returns (pages taken, pages scanned).
    """
    src = lruvec.lists[lru]
    nr_taken = scan = 0
    while scan < nr_to_scan and src:
        folio = src.last()  # lru_to_folio(src): the tail
        nr_pages = 1 << folio.order
        scan += nr_pages
        if folio.flags & PG_lru and folio_isolate_lru(folio):
            nr_taken += nr_pages
            dst.append(folio)
        else:
            src.move(folio)  # list_move(&folio->lru, src): back to the head
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
    if kernel.config.lru_gen:  # lru_gen_enabled() && root_reclaim(sc)
        return lru_gen_balance(kernel, nr_to_reclaim)
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


# ---------------------------------------------------------------------------------------
# The multi-gen LRU (CONFIG_LRU_GEN): aging, eviction and kswapd's lru_gen_shrink_node()
# ---------------------------------------------------------------------------------------

# include/linux/swap.h, mm/vmscan.c
MIN_SWAPPINESS: Final = 0
MAX_SWAPPINESS: Final = 200
SWAPPINESS_ANON_ONLY: Final = MAX_SWAPPINESS + 1
VM_SWAPPINESS: Final = 60  # /proc/sys/vm/swappiness default


def lru_gen_init_lruvec(lruvec: Lruvec) -> None:
    """Kernel: mm/vmscan.c:lru_gen_init_lruvec(): ``max_seq`` MIN_NR_GENS + 1, every
    ``min_seq`` 0, so four generations exist from the start; the mm walk state's ``seq``
    MIN_NR_GENS."""
    lruvec.lrugen = LruGenFolio()
    lruvec.mm_state = LruGenMmState()


def _lrugen(lruvec: Lruvec) -> LruGenFolio:
    lrugen = lruvec.lrugen
    assert lrugen is not None, "the multi-gen LRU is off (Kernel(lru_gen=False))"
    return lrugen


def get_swappiness(kernel: Kernel, sc: ScanControl) -> int:
    """Kernel: mm/vmscan.c:get_swappiness(): 0 (file only) unless anonymous memory can go
    to swap with at least MIN_LRU_BATCH free slots; then vm.swappiness."""
    if not sc.may_swap or get_nr_swap_pages(kernel) < MIN_LRU_BATCH:
        return 0
    return VM_SWAPPINESS


def _evictable_types(swappiness: int) -> range:
    """``for_each_evictable_type()``: anon (0) only with swappiness, file (1) unless
    SWAPPINESS_ANON_ONLY."""
    return range(int(not swappiness), int(swappiness < SWAPPINESS_ANON_ONLY) + 1)


def _evictable_min_seq(lrugen: LruGenFolio, swappiness: int) -> int:
    """``evictable_min_seq()``"""
    types = _evictable_types(swappiness)
    return min(lrugen.min_seq[types[0]], lrugen.min_seq[types[-1]])


def get_nr_gens(lruvec: Lruvec, type_: int) -> int:
    """Kernel: mm/vmscan.c:get_nr_gens()"""
    lrugen = _lrugen(lruvec)
    return lrugen.max_seq - lrugen.min_seq[type_] + 1


def _list_move(lrugen: LruGenFolio, folio: Folio, gen: int, type_: int, tail: bool) -> None:
    """``list_move()``/``list_move_tail()`` of a folio onto ``folios[gen][type]``: off
    whichever generation list it physically sits on (which may lag behind the generation
    in its flags, see ``folio_update_gen()``)."""
    dst = lrugen.folios[gen][type_]
    if tail:
        dst.move_tail(folio)
    else:
        dst.move(folio)


# --- the PID controller (mm/vmscan.c) ---------------------------------------------------


@dataclass(slots=True)
class CtrlPos:
    """Kernel: mm/vmscan.c (struct ctrl_pos)"""

    refaulted: int = 0
    total: int = 0
    gain: int = 0


def read_ctrl_pos(lruvec: Lruvec, type_: int, tier: int, gain: int) -> CtrlPos:
    """Kernel: mm/vmscan.c:read_ctrl_pos(): refaults and evicted+protected pages of one
    tier (``tier`` = MAX_NR_TIERS: all of them), averaged with earlier generations."""
    lrugen = _lrugen(lruvec)
    hist = lru_hist_from_seq(lrugen.min_seq[type_])
    pos = CtrlPos(gain=gain)
    for i in range(tier % MAX_NR_TIERS, min(tier, MAX_NR_TIERS - 1) + 1):
        pos.refaulted += lrugen.avg_refaulted[type_][i] + lrugen.refaulted[hist][type_][i]
        pos.total += (lrugen.avg_total[type_][i] + lrugen.protected[hist][type_][i]
                      + lrugen.evicted[hist][type_][i])
    return pos


def reset_ctrl_pos(lruvec: Lruvec, type_: int, carryover: bool) -> None:
    """Kernel: mm/vmscan.c:reset_ctrl_pos() (NR_HIST_GENS 1: only a carryover, when the
    oldest generation goes, halves the averages and clears the current counters)."""
    lrugen = _lrugen(lruvec)
    if not carryover:
        return
    hist = lru_hist_from_seq(lrugen.min_seq[type_])
    for tier in range(MAX_NR_TIERS):
        lrugen.avg_refaulted[type_][tier] = (
            lrugen.avg_refaulted[type_][tier] + lrugen.refaulted[hist][type_][tier]) // 2
        lrugen.avg_total[type_][tier] = (
            lrugen.avg_total[type_][tier] + lrugen.protected[hist][type_][tier]
            + lrugen.evicted[hist][type_][tier]) // 2
        lrugen.refaulted[hist][type_][tier] = 0
        lrugen.evicted[hist][type_][tier] = 0
        lrugen.protected[hist][type_][tier] = 0


def positive_ctrl_err(sp: CtrlPos, pv: CtrlPos) -> bool:
    """Kernel: mm/vmscan.c:positive_ctrl_err(): the PV has few refaults (below
    MIN_LRU_BATCH) or a refault rate no higher than the SP's."""
    return pv.refaulted < MIN_LRU_BATCH or (
        pv.refaulted * (sp.total + MIN_LRU_BATCH) * sp.gain
        <= (sp.refaulted + 1) * pv.total * pv.gain)


# --- aging ------------------------------------------------------------------------------


def folio_update_gen(folio: Folio, gen: int) -> int:
    """Kernel: mm/vmscan.c:folio_update_gen()

    Promote a folio found young through a page table: the first time only PG_referenced
    is set (second chance, no promotion, returns -1); after that it moves to generation
    ``gen`` (flags only: it stays physically where it is until eviction sorts it), loses
    its access count and gains PG_workingset. Returns the old generation, or -1 (also for
    an isolated folio).
    """
    flags = folio.flags
    if not flags & (PG_referenced | PG_workingset):
        folio.flags = (flags & ~LRU_REFS_MASK) | PG_referenced
        return -1
    if not flags & LRU_GEN_MASK:
        return -1
    folio.flags = ((flags & ~(LRU_GEN_MASK | LRU_REFS_FLAGS))
                   | ((gen + 1) << LRU_GEN_PGOFF) | PG_workingset)
    return ((flags & LRU_GEN_MASK) >> LRU_GEN_PGOFF) - 1


def folio_inc_gen(lruvec: Lruvec, folio: Folio, reclaiming: bool) -> int:
    """Kernel: mm/vmscan.c:folio_inc_gen()

    Move a folio out of the oldest generation into the next one (unless the page-table
    walk already promoted it), forgetting its access count; ``reclaiming`` also sets
    PG_reclaim. Returns the new generation.
    """
    lrugen = _lrugen(lruvec)
    type_ = int(folio_is_file_lru(folio))
    old_gen = lru_gen_from_seq(lrugen.min_seq[type_])
    new_gen = folio_lru_gen(folio)
    if new_gen >= 0 and new_gen != old_gen:
        return new_gen
    new_gen = (old_gen + 1) % MAX_NR_GENS
    flags = folio.flags & ~(LRU_GEN_MASK | LRU_REFS_FLAGS)
    folio.flags = flags | ((new_gen + 1) << LRU_GEN_PGOFF) | (PG_reclaim if reclaiming else 0)
    lru_gen_update_size(lruvec, folio, old_gen, new_gen)
    return new_gen


def walk_update_folio(folio: Folio | None, new_gen: int, dirty: bool) -> None:
    """Kernel: mm/vmscan.c:walk_update_folio() (with a walk, as kswapd has one)

    Pass a young PTE's dirty bit on to the folio, then ``folio_update_gen()``; the
    generation sizes are updated at once (the kernel batches them per walk).
    """
    if folio is None:
        return
    if dirty and not folio.flags & PG_dirty and not (
            folio.flags & PG_anon and folio.flags & PG_swapbacked
            and not folio.flags & PG_swapcache):
        folio_mark_dirty(folio)
    old_gen = folio_update_gen(folio, new_gen)
    if old_gen >= 0 and old_gen != new_gen:
        lru_gen_update_size(folio.kernel.lruvec, folio, old_gen, new_gen)


def should_skip_vma(vma: VmAreaStruct, swappiness: int) -> bool:
    """Kernel: mm/vmscan.c:should_skip_vma(): VMAs the aging walk does not look at."""
    from mrelease_ref.include.linux.fs import mapping_unevictable
    from mrelease_ref.include.linux.mm_inline import vma_has_recency
    from mrelease_ref.include.linux.mm_types import VM_HUGETLB, vma_is_anonymous
    from mrelease_ref.mm.madvise import VM_SPECIAL

    if vma.vm_flags & VM_HUGETLB or not vma_has_recency(vma):
        return True
    if vma.vm_flags & (VM_LOCKED | VM_SPECIAL):
        return True
    if vma_is_anonymous(vma):
        return not swappiness
    if vma.vm_file is None or vma.vm_file.f_mapping is None:
        return True
    mapping = vma.vm_file.f_mapping
    if mapping_unevictable(mapping):
        return True
    if mapping.a_ops == "shmem":
        return not swappiness
    return swappiness > MAX_SWAPPINESS


def _harvest_young(entry: object) -> tuple[Folio, bool] | None:
    """``get_pte_pfn()``/``get_pmd_pfn()`` + ``get_pfn_folio()`` +
    ``ptep_clear_young_notify()``: for a young, present entry mapping a folio that has a
    generation, clear the accessed bit and return (folio, entry dirty); else None.
    ``entry`` is a huge :class:`Pmd` or a PTE slot ``(table, index)``."""
    from mrelease_ref.include.linux.mm_types import (
        _PAGE_ACCESSED,
        _PAGE_DIRTY,
        Pmd,
        Pte,
        ptep_test_and_clear_young,
    )

    if isinstance(entry, Pmd):
        if not entry.bits & _PAGE_ACCESSED or entry.folio is None:
            return None
        if folio_lru_gen(entry.folio) < 0:
            return None
        entry.bits &= ~_PAGE_ACCESSED
        return entry.folio, bool(entry.bits & _PAGE_DIRTY)
    table, i = cast("tuple[PteTable, int]", entry)
    pte = table[i]
    if not isinstance(pte, Pte) or not pte.bits & _PAGE_ACCESSED:
        return None
    folio = pte.folio
    if folio is None or folio_lru_gen(folio) < 0:
        return None
    ptep_test_and_clear_young(table, i)
    return folio, bool(pte.bits & _PAGE_DIRTY)


def _update_young_run(entries: Sequence[object], gen: int) -> int:
    """The loop ``walk_pte_range()`` (and ``walk_pmd_range_locked()``) and
    ``lru_gen_look_around()`` share: harvest each young entry and promote its folio with
    ``walk_update_folio()``, once per run of entries mapping the same folio (with the
    run's dirty bit). Returns the young entries found."""
    last: Folio | None = None
    dirty = False
    nr_young = 0
    for entry in entries:
        young = _harvest_young(entry)
        if young is None:
            continue
        nr_young += 1
        if young[0] is not last:
            walk_update_folio(last, gen, dirty)
            last, dirty = young[0], False
        dirty |= young[1]
    walk_update_folio(last, gen, dirty)
    return nr_young


def suitable_to_scan(total: int, young: int) -> bool:
    """Kernel: mm/vmscan.c:suitable_to_scan(): at least one young PTE per cache line on
    average (64-byte lines of 8-byte PTEs: 8 entries)."""
    return young * 8 >= total


def _update_bloom_filter(kernel: Kernel, seq: int, key: tuple[int, int]) -> None:
    """Kernel: mm/vmscan.c:update_bloom_filter() (an exact set; nothing without a filter)"""
    state = kernel.lruvec.mm_state
    if state is not None and seq in state.filters:
        state.filters[seq].add(key)


def walk_mm(mm: MmStruct, lruvec: Lruvec, swappiness: int) -> None:
    """Kernel: mm/vmscan.c:walk_mm() → walk_pmd_range() → walk_pte_range() /
    walk_pmd_range_locked()

    The aging's page-table walk: in every VMA ``should_skip_vma()`` lets through, each
    young huge PMD and each young PTE of a PTE table the Bloom filter for this ``max_seq``
    holds (every table when there is no filter yet) has its accessed bit cleared and its
    folio promoted to the current ``max_seq``'s generation (``walk_update_folio()``). A PTE
    table with at least one young entry per cache line goes into the next sequence's
    filter. (No mmap_lock trylock, no PMD-young shortcut of ``should_clear_pmd_young()``.)
    """
    from mrelease_ref.include.linux.mm_types import Pmd

    pg = mm.kernel.pg
    kernel = mm.kernel
    seq = _lrugen(lruvec).max_seq
    gen = lru_gen_from_seq(seq)
    state = lruvec.mm_state
    filt = state.filters.get(seq) if state is not None else None
    for vma in list(mm.mm_mt):
        if should_skip_vma(vma, swappiness):
            continue
        addr = vma.vm_start
        while addr < vma.vm_end:
            pmd_index = addr >> pg.PMD_SHIFT
            entry = mm.pgd.get(pmd_index)
            nxt = (pmd_index + 1) << pg.PMD_SHIFT
            end = min(nxt, vma.vm_end)
            if isinstance(entry, Pmd):
                _update_young_run([entry], gen)
            elif entry is not None and (filt is None or (mm.mm_id, pmd_index) in filt):
                items = [(entry, pg.pte_index(a)) for a in range(addr, end, 1 << pg.PAGE_SHIFT)]
                young = _update_young_run(items, gen)
                if suitable_to_scan(len(items), young):
                    _update_bloom_filter(kernel, seq + 1, (mm.mm_id, pmd_index))
            addr = end


def lru_gen_look_around(vma: VmAreaStruct, table: PteTable, idx: int) -> bool:
    """Kernel: mm/vmscan.c:lru_gen_look_around() (kswapd's case: a walk is set up)

    Called by ``folio_referenced_one()`` for each PTE mapping the folio under reclaim:
    test and clear that PTE's young bit (False if it was not young). If it was, also scan
    up to MIN_LRU_BATCH neighbouring PTEs in the same page table and VMA and promote the
    folios they find young (``walk_update_folio()``), exploiting spatial locality. A dense
    table goes into the Bloom filter of the next walk.
    """
    from mrelease_ref.include.linux.mm_types import ptep_test_and_clear_young
    from mrelease_ref.mm.madvise import VM_SPECIAL

    pg = vma.vm_mm.kernel.pg
    if not ptep_test_and_clear_young(table, idx):  # also False for a none or swap slot
        return False
    if vma.vm_flags & VM_SPECIAL:
        return True
    addr = vma_address_of(vma, table, idx)
    pmd_start = addr & ~((1 << pg.PMD_SHIFT) - 1)
    start = max(pmd_start, vma.vm_start)
    end = min(pmd_start + (1 << pg.PMD_SHIFT), vma.vm_end)
    page = 1 << pg.PAGE_SHIFT
    if end - start == page:
        return True
    if end - start > MIN_LRU_BATCH * page:
        half = MIN_LRU_BATCH * page // 2
        if addr - start < half:
            end = start + MIN_LRU_BATCH * page
        elif end - addr < half:
            start = end - MIN_LRU_BATCH * page
        else:
            start, end = addr - half, addr + half
    kernel = vma.vm_mm.kernel
    max_seq = _lrugen(kernel.lruvec).max_seq
    entries = [(table, pg.pte_index(a)) for a in range(start, end, page)]
    young = 1 + _update_young_run(entries, lru_gen_from_seq(max_seq))
    if suitable_to_scan(len(entries), young):  # feedback from rmap walkers to the aging
        _update_bloom_filter(kernel, max_seq, (vma.vm_mm.mm_id, addr >> pg.PMD_SHIFT))
    return True


def vma_address_of(vma: VmAreaStruct, table: PteTable, idx: int) -> int:
    """Model helper: the user address of slot ``idx`` of a PTE table of ``vma``'s mm
    (the kernel's page_vma_mapped_walk carries it in ``pvmw->address``)."""
    pg = vma.vm_mm.kernel.pg
    for pmd_index, t in vma.vm_mm.pgd.items():
        if t is table:
            return (pmd_index << pg.PMD_SHIFT) | (idx << pg.PAGE_SHIFT)
    raise KernelBug("PTE table not found in its mm")


def inc_min_seq(lruvec: Lruvec, type_: int, swappiness: int) -> bool:
    """Kernel: mm/vmscan.c:inc_min_seq()

    Retire the oldest generation of a type: move every folio still on it into the next
    generation (at the tail), counting the protected ones per tier, then advance
    ``min_seq``. A type that cannot be evicted (anon without swap, file with
    SWAPPINESS_ANON_ONLY) just advances. (The kernel stops after MAX_LRU_BATCH folios and
    restarts; the model finishes in one go.)
    """
    lrugen = _lrugen(lruvec)
    hist = lru_hist_from_seq(lrugen.min_seq[type_])
    old_gen = lru_gen_from_seq(lrugen.min_seq[type_])
    if not ((type_ and swappiness == SWAPPINESS_ANON_ONLY) or (not type_ and not swappiness)):
        head = lrugen.folios[old_gen][type_]
        while head:
            folio = head.last()
            refs = folio_lru_refs(folio)
            workingset = bool(folio.flags & PG_workingset)
            new_gen = folio_inc_gen(lruvec, folio, False)
            _list_move(lrugen, folio, new_gen, type_, tail=True)
            if refs + workingset != (1 << LRU_REFS_WIDTH) + 1:
                tier = lru_tier_from_refs(refs, workingset)
                lrugen.protected[hist][type_][tier] += 1 << folio.order
    reset_ctrl_pos(lruvec, type_, True)
    lrugen.min_seq[type_] += 1
    return True


def try_to_inc_min_seq(lruvec: Lruvec, swappiness: int) -> bool:
    """Kernel: mm/vmscan.c:try_to_inc_min_seq(): advance ``min_seq`` of each evictable
    type past empty generations (keeping anon and file within reach of each other)."""
    lrugen = _lrugen(lruvec)
    min_seq = list(lrugen.min_seq)
    inc = False
    for type_ in _evictable_types(swappiness):
        while min_seq[type_] + MIN_NR_GENS <= lrugen.max_seq:
            if lrugen.folios[lru_gen_from_seq(min_seq[type_])][type_]:
                break
            min_seq[type_] += 1
            inc = True
    if not inc:
        return False
    if swappiness and swappiness <= MAX_SWAPPINESS:
        seq = lrugen.max_seq - MIN_NR_GENS
        if min_seq[LRU_GEN_ANON] > seq and min_seq[LRU_GEN_FILE] < seq:
            min_seq[LRU_GEN_ANON] = seq
        elif min_seq[LRU_GEN_FILE] > seq and min_seq[LRU_GEN_ANON] < seq:
            min_seq[LRU_GEN_FILE] = seq
    success = False
    for type_ in _evictable_types(swappiness):
        if min_seq[type_] <= lrugen.min_seq[type_]:
            continue
        reset_ctrl_pos(lruvec, type_, True)
        lrugen.min_seq[type_] = min_seq[type_]
        success = True
    return success


def inc_max_seq(kernel: Kernel, seq: int, swappiness: int) -> bool:
    """Kernel: mm/vmscan.c:inc_max_seq() (takes the Kernel, whose lruvec it ages)

    Open a new youngest generation. A type that already has MAX_NR_GENS generations first
    retires its oldest (``inc_min_seq()``). The generation leaving the active pair
    (``max_seq - 1``) is recounted from active to inactive in the classic counters. The
    generation's birth time is the model clock.
    """
    lruvec = kernel.lruvec
    lrugen = _lrugen(lruvec)
    if seq != lrugen.max_seq:
        return False
    for type_ in range(ANON_AND_FILE):
        if get_nr_gens(lruvec, type_) == MAX_NR_GENS:
            inc_min_seq(lruvec, type_, swappiness)
    prev = lru_gen_from_seq(lrugen.max_seq - 1)
    nxt = lru_gen_from_seq(lrugen.max_seq + 1)
    vmstat = kernel.vmstat
    for type_ in range(ANON_AND_FILE):
        delta = lrugen.nr_pages[prev][type_] - lrugen.nr_pages[nxt][type_]
        if not delta:
            continue
        lru = type_ * int(LruList.LRU_INACTIVE_FILE)
        vmstat[NR_LRU_BASE + lru] += delta
        vmstat[NR_LRU_BASE + lru + 1] -= delta
    for type_ in range(ANON_AND_FILE):
        reset_ctrl_pos(lruvec, type_, False)
    lrugen.timestamps[nxt] = kernel.clock_ns
    lrugen.max_seq += 1
    return True


def reset_bloom_filter(state: LruGenMmState, seq: int) -> None:
    """Kernel: mm/vmscan.c:reset_bloom_filter(): an empty filter for ``seq``, reusing the
    buffer of ``seq - NR_BLOOM_FILTERS`` (the kernel has two)."""
    state.filters.pop(seq - 2, None)
    state.filters[seq] = set()


def try_to_inc_max_seq(kernel: Kernel, seq: int, swappiness: int) -> bool:
    """Kernel: mm/vmscan.c:try_to_inc_max_seq() → iterate_mm_list() → get_next_mm() →
    walk_mm(), then inc_max_seq() (CONFIG_LRU_GEN_WALKS_MMU: x86_64 and arm64 have
    hardware young bits)

    The aging: unless a walk for ``seq`` already happened, walk the page tables of every
    live mm that ran since it was last walked (``lru_gen_use_mm()``; a never-walked mm is
    force-scanned), with a fresh Bloom filter for ``seq + 1``; then ``inc_max_seq()``.
    The mm list is the Kernel's list of mms, in creation order.
    """
    lruvec = kernel.lruvec
    state = lruvec.mm_state
    assert state is not None
    if seq <= state.seq:
        return False
    first = True
    for mm in list(kernel.mms):
        force = mm.mm_id not in state.walked
        if not force and mm.mm_id not in state.used:
            continue
        state.used.discard(mm.mm_id)
        if mm.mm_users <= 0:  # mmget_not_zero()
            continue
        if first:
            reset_bloom_filter(state, seq + 1)
            first = False
        state.walked.add(mm.mm_id)
        walk_mm(mm, lruvec, swappiness)
    state.seq += 1
    return inc_max_seq(kernel, seq, swappiness)


# --- eviction ---------------------------------------------------------------------------


def lru_gen_set_refs(folio: Folio) -> bool:
    """Kernel: mm/vmscan.c:lru_gen_set_refs()

    For a mapped folio found referenced by the rmap walk during eviction: the first time
    only PG_referenced is set (False: keep it); after that PG_workingset replaces the
    access count and the caller activates it (True).
    """
    if not folio.flags & (PG_referenced | PG_workingset):
        folio.flags = (folio.flags & ~LRU_REFS_MASK) | PG_referenced
        return False
    folio.flags = (folio.flags & ~LRU_REFS_FLAGS) | PG_workingset
    return True


def sort_folio(lruvec: Lruvec, folio: Folio, sc: ScanControl, tier_idx: int) -> bool:
    """Kernel: mm/vmscan.c:sort_folio()

    Decide, for a folio at the tail of the oldest generation, whether it stays on the LRU
    (True): unevictable ones go to their list; ones the aging promoted are moved to the
    generation in their flags; ones accessed often enough through file descriptors (a tier
    above ``tier_idx``, or every access bit set) are protected by moving them one
    generation up; dirty or writeback ones wait one generation with PG_reclaim. False:
    isolate it for reclaim. (One zone: no "ineligible" case.)
    """
    lrugen = _lrugen(lruvec)
    gen = folio_lru_gen(folio)
    type_ = int(folio_is_file_lru(folio))
    delta = 1 << folio.order
    refs = folio_lru_refs(folio)
    workingset = bool(folio.flags & PG_workingset)
    tier = lru_tier_from_refs(refs, workingset)
    if not folio_evictable(folio):
        lru_gen_del_folio(lruvec, folio, True)
        folio.flags |= PG_unevictable
        lruvec_add_folio(lruvec, folio)
        count_vm_events(sc.kernel, "UNEVICTABLE_PGCULLED", delta)
        return True
    if gen != lru_gen_from_seq(lrugen.min_seq[type_]):  # promoted
        _list_move(lrugen, folio, gen, type_, tail=False)
        return True
    if tier > tier_idx or refs + workingset == (1 << LRU_REFS_WIDTH) + 1:  # protected
        gen = folio_inc_gen(lruvec, folio, False)
        _list_move(lrugen, folio, gen, type_, tail=False)
        if refs + workingset != (1 << LRU_REFS_WIDTH) + 1:
            hist = lru_hist_from_seq(lrugen.min_seq[type_])
            lrugen.protected[hist][type_][tier] += delta
        return True
    writeback = bool(folio.flags & PG_writeback)
    if writeback or (type_ and folio.flags & PG_dirty):  # waiting for writeback
        gen = folio_inc_gen(lruvec, folio, True)
        _list_move(lrugen, folio, gen, type_, tail=False)
        return True
    return False


def isolate_folio(lruvec: Lruvec, folio: Folio, sc: ScanControl) -> bool:
    """Kernel: mm/vmscan.c:isolate_folio()

    Take the folio off the LRU for reclaim: a reference, PG_lru cleared (or give up if
    someone else isolated it), the access count dropped unless PG_referenced, PG_reclaim
    cleared, and out of its generation. (kswapd may do I/O: no "swap constrained" case.)
    """
    if folio._refcount <= 0:  # folio_try_get()
        return False
    folio_get(folio)
    if not folio_test_clear_lru(folio):
        folio_put(folio)
        return False
    if not folio.flags & PG_referenced:
        folio.flags &= ~LRU_REFS_MASK
    folio.flags &= ~PG_reclaim
    lru_gen_del_folio(lruvec, folio, True)
    return True


def scan_folios(nr_to_scan: int, lruvec: Lruvec, sc: ScanControl, type_: int, tier: int,
                folio_list: list[Folio]) -> int:
    """Kernel: mm/vmscan.c:scan_folios()

    From the tail of the oldest generation of ``type_``, sort or isolate folios until
    ``nr_to_scan`` (at most MAX_LRU_BATCH) pages were looked at or MIN_LRU_BATCH pages
    isolated. Nothing is scanned while only MIN_NR_GENS generations exist. Counts
    PGSCAN_KSWAPD and PGSCAN_ANON/FILE (isolated pages) and PGREFILL (sorted pages).
    Returns the pages scanned (0 when nothing could be isolated and budget is left).
    """
    lrugen = _lrugen(lruvec)
    remaining = min(nr_to_scan, MAX_LRU_BATCH)
    if get_nr_gens(lruvec, type_) == MIN_NR_GENS:
        return 0
    gen = lru_gen_from_seq(lrugen.min_seq[type_])
    head = lrugen.folios[gen][type_]
    scanned = sorted_ = isolated = skipped = 0
    moved: list[Folio] = []
    while head:
        folio = head.last()
        delta = 1 << folio.order
        scanned += delta
        if sort_folio(lruvec, folio, sc, tier):
            sorted_ += delta
        elif isolate_folio(lruvec, folio, sc):
            folio_list.append(folio)
            isolated += delta
        else:
            list_del(folio)  # list_move(&folio->lru, &moved)
            moved.append(folio)
            skipped += delta
        remaining -= 1
        if not remaining or max(isolated, skipped) >= MIN_LRU_BATCH:
            break
    for folio in reversed(moved):  # list_splice(&moved, head): back at the head, in order
        head.add(folio)
    k = sc.kernel
    count_vm_events(k, "PGSCAN_KSWAPD", isolated)
    count_vm_events(k, "PGREFILL", sorted_)
    count_vm_events(k, "PGSCAN_FILE" if type_ else "PGSCAN_ANON", isolated)
    return scanned if isolated or not remaining else 0


def get_tier_idx(lruvec: Lruvec, type_: int) -> int:
    """Kernel: mm/vmscan.c:get_tier_idx(): the highest tier whose refault rate is not
    above the first tier's (gains 2:3); tiers above it are protected."""
    sp = read_ctrl_pos(lruvec, type_, 0, 2)
    tier = 1
    while tier < MAX_NR_TIERS:
        pv = read_ctrl_pos(lruvec, type_, tier, 3)
        if not positive_ctrl_err(sp, pv):
            break
        tier += 1
    return tier - 1


def get_type_to_scan(lruvec: Lruvec, swappiness: int) -> int:
    """Kernel: mm/vmscan.c:get_type_to_scan(): file when swappiness is (near) 0, anon at
    MAX_SWAPPINESS, else the type whose refault rate (weighted by swappiness) is lower."""
    if swappiness <= MIN_SWAPPINESS + 1:
        return LRU_GEN_FILE
    if swappiness >= MAX_SWAPPINESS:
        return LRU_GEN_ANON
    sp = read_ctrl_pos(lruvec, LRU_GEN_ANON, MAX_NR_TIERS, swappiness)
    pv = read_ctrl_pos(lruvec, LRU_GEN_FILE, MAX_NR_TIERS, MAX_SWAPPINESS - swappiness)
    return int(positive_ctrl_err(sp, pv))


def isolate_folios(nr_to_scan: int, lruvec: Lruvec, sc: ScanControl, swappiness: int,
                   folio_list: list[Folio]) -> tuple[int, int]:
    """Kernel: mm/vmscan.c:isolate_folios(): scan the preferred type, the other if that
    found nothing. Returns (pages scanned, type scanned)."""
    type_ = get_type_to_scan(lruvec, swappiness)
    for _ in _evictable_types(swappiness):
        tier = get_tier_idx(lruvec, type_)
        scanned = scan_folios(nr_to_scan, lruvec, sc, type_, tier, folio_list)
        if scanned:
            return scanned, type_
        type_ = int(not type_)
    return 0, type_


def evict_folios(nr_to_scan: int, lruvec: Lruvec, sc: ScanControl, swappiness: int) -> int:
    """Kernel: mm/vmscan.c:evict_folios()

    Isolate a batch from the oldest generation, retire empty generations
    (``try_to_inc_min_seq()``), reclaim the batch with ``shrink_folio_list()`` and put the
    survivors back: a survivor that would land in the oldest generation again gets
    PG_active (and loses its access count) so it goes to a young one; clean, unmapped,
    inactive survivors get one retry. Counts PGSTEAL_KSWAPD and PGSTEAL_ANON/FILE.
    Returns the pages scanned.
    """
    lrugen = _lrugen(lruvec)
    k = sc.kernel
    folio_list: list[Folio] = []
    scanned, type_ = isolate_folios(nr_to_scan, lruvec, sc, swappiness, folio_list)
    scanned += try_to_inc_min_seq(lruvec, swappiness)
    if _evictable_min_seq(lrugen, swappiness) + MIN_NR_GENS > lrugen.max_seq:
        scanned = 0
    if not folio_list:
        return scanned
    skip_retry = False
    while folio_list:
        reclaimed = shrink_folio_list(folio_list, ignore_references=False)
        sc.nr_reclaimed += reclaimed
        putback: list[Folio] = []
        clean: list[Folio] = []
        for folio in folio_list:
            if not folio_evictable(folio):
                folio_putback_lru(folio)
                continue
            if (not skip_retry and not folio.flags & (PG_active | PG_dirty | PG_writeback)
                    and not folio_mapped(folio)):
                clean.append(folio)
                continue
            if lru_gen_folio_seq(lruvec, folio, False) == lrugen.min_seq[type_]:
                folio.flags = (folio.flags & ~LRU_REFS_FLAGS) | PG_active
            putback.append(folio)
        folio_list.clear()
        move_folios_to_lru(lruvec, putback)
        kind = "FILE" if type_ else "ANON"
        count_vm_events(k, "PGSTEAL_KSWAPD", reclaimed)
        count_vm_events(k, f"PGSTEAL_{kind}", reclaimed)
        if k.tracing:
            k.trace_event("evict_folios", f"type={kind} scanned={scanned} "
                          f"reclaimed={reclaimed}")
        folio_list.extend(clean)
        skip_retry = True
    return scanned


def should_run_aging(lruvec: Lruvec, max_seq: int, swappiness: int) -> tuple[bool, int]:
    """Kernel: mm/vmscan.c:should_run_aging(): returns (whether to age, pages on the
    evictable generations). Aging is needed with only MIN_NR_GENS generations left and
    preferable with three."""
    lrugen = _lrugen(lruvec)
    min_seq = _evictable_min_seq(lrugen, swappiness)
    if min_seq + MIN_NR_GENS > max_seq:
        return True, 0
    size = 0
    for type_ in _evictable_types(swappiness):
        for seq in range(lrugen.min_seq[type_], max_seq + 1):
            size += max(lrugen.nr_pages[lru_gen_from_seq(seq)][type_], 0)
    return min_seq + MIN_NR_GENS == max_seq, size


def get_nr_to_scan(lruvec: Lruvec, sc: ScanControl, swappiness: int) -> int:
    """Kernel: mm/vmscan.c:get_nr_to_scan() (no memcg protection)

    How much to scan at this priority (``size >> priority``), unless aging is due and the
    priority is below DEF_PRIORITY: then age (``try_to_inc_max_seq()``) and return -1 on
    success (stop scanning this lruvec this round), 0 otherwise.
    """
    max_seq = _lrugen(lruvec).max_seq
    success, nr_to_scan = should_run_aging(lruvec, max_seq, swappiness)
    if not success or sc.priority == DEF_PRIORITY:
        return nr_to_scan >> sc.priority
    return -1 if try_to_inc_max_seq(sc.kernel, max_seq, swappiness) else 0


def should_abort_scan(sc: ScanControl) -> bool:
    """Kernel: mm/vmscan.c:should_abort_scan() (no watermarks: enough was reclaimed)"""
    return sc.nr_reclaimed >= max(sc.nr_to_reclaim, 2)  # compact_gap(0)


def try_to_shrink_lruvec(lruvec: Lruvec, sc: ScanControl) -> bool:
    """Kernel: mm/vmscan.c:try_to_shrink_lruvec()

    Evict until the scan target of this priority is used up, nothing more can be scanned,
    aging ran, or enough was reclaimed. Returns whether aging ended the round.
    """
    swappiness = get_swappiness(sc.kernel, sc)
    scanned = 0
    nr_to_scan = 0
    while True:
        nr_to_scan = get_nr_to_scan(lruvec, sc, swappiness)
        if nr_to_scan <= 0:
            break
        delta = evict_folios(nr_to_scan, lruvec, sc, swappiness)
        if not delta:
            break
        scanned += delta
        if scanned >= nr_to_scan:
            break
        if should_abort_scan(sc):
            break
    sc.nr_scanned += scanned
    return nr_to_scan < 0


def set_initial_priority(kernel: Kernel, sc: ScanControl) -> None:
    """Kernel: mm/vmscan.c:set_initial_priority()

    On the first round (DEF_PRIORITY), start at the priority where ``inactive >>
    priority`` is about ``nr_to_reclaim``, clamped to DEF_PRIORITY/2 .. DEF_PRIORITY.
    """
    if sc.priority != DEF_PRIORITY or sc.nr_to_reclaim < MIN_LRU_BATCH:
        return
    reclaimable = lruvec_lru_size(kernel, int(LruList.LRU_INACTIVE_FILE))
    if can_reclaim_anon_pages(kernel):
        reclaimable += lruvec_lru_size(kernel, int(LruList.LRU_INACTIVE_ANON))
    priority = reclaimable.bit_length() - 1 - (sc.nr_to_reclaim - 1).bit_length()
    sc.priority = min(max(priority, DEF_PRIORITY // 2), DEF_PRIORITY)


def lru_gen_shrink_node(kernel: Kernel, sc: ScanControl) -> None:
    """Kernel: mm/vmscan.c:lru_gen_shrink_node() (no memcg: ``shrink_one()`` on the node's
    lruvec, i.e. ``try_to_shrink_lruvec()``)"""
    lru_add_drain(kernel)
    set_initial_priority(kernel, sc)
    try_to_shrink_lruvec(kernel.lruvec, sc)


def lru_gen_balance(kernel: Kernel, nr_to_reclaim: int) -> int:
    """Kernel: mm/vmscan.c:balance_pgdat() → kswapd_shrink_node() → shrink_node() →
    lru_gen_shrink_node(), with the multi-gen LRU (the model's ``shrink_node()`` folds the
    priority loop in, as for the classic LRU)

    Rounds from DEF_PRIORITY (lowered on the first round by ``set_initial_priority()``)
    down to 0, until ``nr_to_reclaim`` pages are reclaimed. Returns the pages reclaimed.
    """
    sc = ScanControl(kernel=kernel, nr_to_reclaim=nr_to_reclaim)
    reclaimed = 0
    while True:
        sc.nr_to_reclaim = nr_to_reclaim - reclaimed
        sc.nr_reclaimed = 0  # lru_gen_shrink_node(): kswapd counts each round afresh
        lru_gen_shrink_node(kernel, sc)
        reclaimed += sc.nr_reclaimed
        if reclaimed >= nr_to_reclaim or sc.priority <= 0:
            break
        sc.priority -= 1
    if kernel.tracing:
        kernel.trace_event("lru_gen_shrink_node", f"nr_to_reclaim={nr_to_reclaim} "
                           f"reclaimed={reclaimed} scanned={sc.nr_scanned}")
    return reclaimed


# --- checks (model-only, for sim/invariants.py) ----------------------------------------


def lru_gen_folios(lruvec: Lruvec) -> list[Folio]:
    """Model helper: every folio on a generation list, oldest generation slot first."""
    lrugen = _lrugen(lruvec)
    return [f for lists in lrugen.folios for lst in lists for f in lst]


def lru_gen_check(kernel: Kernel, in_batch: set[int]) -> list[str]:
    """Model helper (CONFIG_DEBUG_VM in spirit, cf. ``seq_is_valid()``): the multi-gen
    LRU's lists, flags, sizes and the classic counters derived from them agree."""
    from mrelease_ref.include.linux.mm_inline import lru_gen_is_active

    lruvec = kernel.lruvec
    lrugen = _lrugen(lruvec)
    errors: list[str] = []
    for type_ in range(ANON_AND_FILE):
        if not MIN_NR_GENS <= get_nr_gens(lruvec, type_) <= MAX_NR_GENS:  # seq_is_valid()
            errors.append(f"lrugen: min_seq {lrugen.min_seq} out of range for max_seq "
                          f"{lrugen.max_seq}")
    sizes = [[0] * ANON_AND_FILE for _ in range(MAX_NR_GENS)]
    lru_pages = [0] * 4
    for lists in lrugen.folios:
        for type_, lst in enumerate(lists):
            for folio in lst:
                gen = folio_lru_gen(folio)
                valid = {lru_gen_from_seq(s)
                         for s in range(lrugen.min_seq[type_], lrugen.max_seq + 1)}
                if gen not in valid:
                    errors.append(f"{folio!r} on a generation list with gen {gen}, "
                                  f"valid {sorted(valid)}")
                    continue
                if int(folio_is_file_lru(folio)) != type_:
                    errors.append(f"{folio!r} on the wrong type's generation list")
                if folio.flags & PG_active:
                    errors.append(f"{folio!r} has PG_active on a generation list")
                if not folio.flags & PG_lru and id(folio) not in in_batch:
                    errors.append(f"{folio!r} on a generation list without PG_lru and no "
                                  "batch holds it")
                nr = 1 << folio.order
                sizes[gen][type_] += nr
                lru_pages[type_ * 2 + int(lru_gen_is_active(lruvec, gen))] += nr
    if sizes != lrugen.nr_pages:
        errors.append(f"lrugen sizes {lrugen.nr_pages}, folios say {sizes}")
    for lru, pages in enumerate(lru_pages):
        if pages != kernel.vmstat[NR_LRU_BASE + lru]:
            errors.append(f"LRU list {lru} holds {pages} pages on generations, vmstat says "
                          f"{kernel.vmstat[NR_LRU_BASE + lru]}")
    return errors

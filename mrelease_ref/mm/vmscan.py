"""Removing a folio from its mapping, and the slice of reclaim that MADV_PAGEOUT needs.

Kernel: mm/vmscan.c (remove_mapping(), __remove_mapping(), folio_isolate_lru(),
folio_putback_lru(), shrink_folio_list(), pageout(), reclaim_pages()), with the helpers
reclaim calls from mm/swap_state.c (add_to_swap()), mm/page_io.c (swap_writeout()) and
mm/util.c (folio_mapping())

``__remove_mapping()`` freezes the refcount at exactly ``1 + folio_nr_pages()``: the page
cache's (or swap cache's) references plus the caller's one. Any other reference (a
mapping, an LRU batch, a GUP pin) makes the freeze fail, so the folio stays.

``reclaim_pages()`` is what ``madvise(MADV_PAGEOUT)`` hands its isolated folios to. Each
folio takes one pass through ``shrink_folio_list()``: an anonymous folio gets a swap slot
and joins the swap cache (``add_to_swap()``), every PTE mapping it is replaced by its swap
entry (``try_to_unmap()``), ``pageout()`` writes it to swap, and ``__remove_mapping()``
takes it out of the swap cache so it can be freed. A clean file folio is unmapped and
leaves its page cache with a shadow entry. Whatever cannot be reclaimed goes back to the
LRU, on the active list if the kernel says "activate".

Limitations:
- Reclaim exists only as ``reclaim_pages()`` (ignore_references, as MADV_PAGEOUT calls
  it); no kswapd, no direct reclaim, no LRU scanning, no watermarks, no memcg, no
  demotion, no reclaim_stat beyond the return value.
- Swap-out I/O is synchronous: ``swap_writeout()`` starts and ends writeback before it
  returns, as ``swap_writepage_bdev_sync()`` does on a SWP_SYNCHRONOUS_IO device (zram),
  so a paged-out anonymous folio is freed in the same call. (Swap-in still goes through
  the swap cache, as on a device without SWP_SYNCHRONOUS_IO.) No zswap, no zero-page
  (zeromap) shortcut: every written page counts as PSWPOUT.
- Large anonymous folios are never swapped out: the model's ``folio_alloc_swap()`` has no
  THP swap, and ``split_folio_to_list()`` is not modelled, so they are activated.
- shmem folios are put back untouched: ``shmem_writeout()`` is not modelled.
- MADV_FREE (lazyfree) folios and the deferred TLB flush of ``try_to_unmap_flush()``
  are not modelled.
- PGSTEAL_ANON/PGSTEAL_FILE are not counted: the kernel counts them in
  ``shrink_inactive_list()`` and MGLRU's ``evict_folios()``, never on the
  ``reclaim_pages()`` path. PSWPOUT and PGACTIVATE are counted as the kernel does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from mrelease_ref.include.linux.fs import AddressSpace
from mrelease_ref.include.linux.mm_inline import folio_is_file_lru, lruvec_del_folio
from mrelease_ref.include.linux.mm_types import folio_mapped
from mrelease_ref.include.linux.page_flags import (
    PG_active,
    PG_anon,
    PG_dirty,
    PG_lru,
    PG_mlocked,
    PG_reclaim,
    PG_swapbacked,
    PG_swapcache,
    PG_unevictable,
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
from mrelease_ref.mm.rmap import TTU_BATCH_FLUSH, try_to_unmap
from mrelease_ref.mm.swap import KernelBug, folio_add_lru, folio_evictable, folio_get, folio_put
from mrelease_ref.mm.swap_state import (
    folio_trylock,
    folio_unlock,
    swap_cache_add_folio,
    swap_cache_del_folio,
)
from mrelease_ref.mm.swapfile import folio_alloc_swap, folio_free_swap
from mrelease_ref.mm.util import folio_mapping
from mrelease_ref.mm.workingset import workingset_eviction

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
    """Kernel: mm/swap.h:vm_swap_full(): more than half of the swap space is in use."""
    si = folio.kernel.swap_info
    if si is None:
        return False
    total = si.max - 1
    return (total - si.inuse_pages) * 2 < total


def mem_cgroup_swap_full(folio: Folio) -> bool:
    """Kernel: include/linux/swap.h:mem_cgroup_swap_full() (no memcg: vm_swap_full())"""
    return vm_swap_full(folio)


def add_to_swap(folio: Folio) -> bool:
    """Kernel: mm/swap_state.c:add_to_swap() (v6.18 folds it into folio_alloc_swap(), and
    shrink_folio_list() then calls folio_mark_dirty())

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
    if mapping is None or not __remove_mapping(mapping, folio, reclaimed=True):
        return _KEEP_LOCKED
    folio_unlock(folio)
    return _FREE_IT


def _shrink_folio(folio: Folio) -> str:
    """shrink_folio_list(), first half, for a locked folio: get it swap space and unmap it.

    Returns the label the kernel's loop body ends at.
    """
    if not folio_evictable(folio):
        return _ACTIVATE_LOCKED
    if folio.flags & PG_writeback:  # case 2: mark for immediate reclaim, move on
        folio.flags |= PG_reclaim
        return _ACTIVATE_LOCKED
    if folio.flags & PG_swapbacked and not folio.flags & PG_anon:
        return _KEEP_LOCKED  # shmem: shmem_writeout() is not modelled
    if folio.flags & PG_anon and not folio.flags & PG_swapcache:
        if folio_maybe_dma_pinned(folio):
            return _KEEP_LOCKED
        if not add_to_swap(folio):  # a large folio would be split and retried: not modelled
            return _ACTIVATE_LOCKED  # activate_locked_split
    if folio_mapped(folio):
        try_to_unmap(folio, TTU_BATCH_FLUSH)
        if folio_mapped(folio):
            return _ACTIVATE_LOCKED
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


def shrink_folio_list(folio_list: list[Folio]) -> int:
    """Kernel: mm/vmscan.c:shrink_folio_list() (ignore_references, as reclaim_pages() asks)

    Try to reclaim every isolated folio in ``folio_list``. Reclaimed folios are freed;
    the rest are left in ``folio_list`` for the caller to put back, those the kernel
    activates marked PG_active. Returns the number of pages reclaimed.
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
        label = _shrink_folio(folio)
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


def shrink_node(kernel: Kernel, nr_to_reclaim: int) -> int:
    """Kernel: mm/vmscan.c:shrink_node() (not modelled yet: reclaims nothing)"""
    return 0

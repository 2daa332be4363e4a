"""Swap devices: slot allocation, swap counts and freeing a folio's swap.

Kernel: mm/swapfile.c, include/linux/swap.h (struct swap_info_struct, SWAP_HAS_CACHE)

``swap_map[offset]`` counts the references to a slot (page-table entries, shmem) and carries
``SWAP_HAS_CACHE`` while a folio for the slot sits in the swap cache. A slot is free again
when its count drops to zero without the cache bit.

The device's contents are ``swap_data``: the page-content token written to each slot
(``folio_start_writeback()`` stores it, ``swap_read_folio()`` reads it back, a freed slot
forgets it).

Limitations:
- One swap device (type 0), order-0 slots only, first-fit allocation; no clusters, no
  discard, no priorities, no zswap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from mrelease_ref.include.linux.mm_types import SwpEntry
from mrelease_ref.include.linux.page_flags import PG_dirty, PG_locked, PG_swapcache, PG_writeback

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio
    from mrelease_ref.sim.kernel import Kernel

SWAP_HAS_CACHE: Final = 0x40


@dataclass(slots=True, eq=False)
class SwapInfoStruct:
    """Kernel: include/linux/swap.h (struct swap_info_struct)"""

    type: int
    max: int
    swap_map: list[int] = field(default_factory=list)
    inuse_pages: int = 0
    next_offset: int = 1  # slot 0 holds the swap header
    swap_data: dict[int, int] = field(default_factory=dict)
    """Model-only: the device's contents, the token written to each slot (absent: zeros)."""

    def __repr__(self) -> str:
        return f"SwapInfo(type={self.type}, used={self.inuse_pages}/{self.max - 1})"


def get_nr_swap_pages(kernel: Kernel) -> int:
    """Kernel: include/linux/swap.h:get_nr_swap_pages(): free swap slots (0 without swap)."""
    si = kernel.swap_info
    if not kernel.config.swap or si is None:
        return 0
    return si.max - 1 - si.inuse_pages  # slot 0 holds the header


def _si(kernel: Kernel) -> SwapInfoStruct:
    assert kernel.swap_info is not None
    return kernel.swap_info


def _free_slot(si: SwapInfoStruct, offset: int) -> None:
    si.swap_data.pop(offset, None)  # the slot's contents are garbage now
    si.swap_map[offset] = 0
    si.inuse_pages -= 1
    si.next_offset = min(si.next_offset, offset)


def folio_alloc_swap(folio: Folio) -> int:
    """Kernel: mm/swapfile.c:folio_alloc_swap()

    Reserve a slot for an order-0 folio, marked SWAP_HAS_CACHE. Returns 0 or -ENOMEM.
    """
    import errno

    si = folio.kernel.swap_info
    if si is None or folio.order:
        return -errno.ENOMEM
    for offset in range(si.next_offset, si.max):
        if si.swap_map[offset] == 0:
            si.swap_map[offset] = SWAP_HAS_CACHE
            si.inuse_pages += 1
            si.next_offset = offset + 1
            folio.swap = SwpEntry(si.type, offset)
            return 0
    return -errno.ENOMEM


def swapcache_prepare(kernel: Kernel, entry: SwpEntry, nr: int) -> int:
    """Kernel: mm/swapfile.c:swapcache_prepare()

    Claim the slots for a folio about to enter the swap cache (set SWAP_HAS_CACHE). Returns
    0, or -EEXIST if another folio already holds them.
    """
    import errno

    si = _si(kernel)
    for off in range(entry.offset, entry.offset + nr):
        if si.swap_map[off] & SWAP_HAS_CACHE:
            return -errno.EEXIST
    for off in range(entry.offset, entry.offset + nr):
        si.swap_map[off] |= SWAP_HAS_CACHE
    return 0


def swap_duplicate(kernel: Kernel, entry: SwpEntry) -> None:
    """Kernel: mm/swapfile.c:swap_duplicate(): one more page-table reference to the slot."""
    _si(kernel).swap_map[entry.offset] += 1


def swap_free_nr(kernel: Kernel, entry: SwpEntry, nr_pages: int) -> None:
    """Kernel: mm/swapfile.c:swap_free_nr(): drop page-table references to the slots."""
    si = _si(kernel)
    for off in range(entry.offset, entry.offset + nr_pages):
        si.swap_map[off] -= 1
        if si.swap_map[off] == 0:
            _free_slot(si, off)


def put_swap_folio(folio: Folio, entry: SwpEntry) -> None:
    """Kernel: mm/swapfile.c:put_swap_folio(): the swap cache lets go of the slot."""
    si = _si(folio.kernel)
    si.swap_map[entry.offset] &= ~SWAP_HAS_CACHE
    if si.swap_map[entry.offset] == 0:
        _free_slot(si, entry.offset)


def swp_swapcount(kernel: Kernel, entry: SwpEntry) -> int:
    """Kernel: mm/swapfile.c:swp_swapcount(): references to the slot, cache bit excluded."""
    return _si(kernel).swap_map[entry.offset] & ~SWAP_HAS_CACHE


def folio_swapped(folio: Folio) -> bool:
    """Kernel: mm/swapfile.c:folio_swapped(): is any slot of the folio still referenced?"""
    assert folio.swap is not None
    return swp_swapcount(folio.kernel, folio.swap) > 0


def folio_swapcache_freeable(folio: Folio) -> bool:
    """Kernel: mm/swapfile.c:folio_swapcache_freeable()"""
    return bool(folio.flags & PG_swapcache) and not folio.flags & PG_writeback


def folio_free_swap(folio: Folio) -> bool:
    """Kernel: mm/swapfile.c:folio_free_swap()

    With the folio locked: if nothing references its swap slot any more, delete it from the
    swap cache and mark it dirty (the only copy of the data is now in RAM).
    """
    from mrelease_ref.mm.swap_state import swap_cache_del_folio

    assert folio.flags & PG_locked
    if not folio_swapcache_freeable(folio):
        return False
    if folio_swapped(folio):
        return False
    swap_cache_del_folio(folio)
    folio.flags |= PG_dirty  # folio_set_dirty(): RAM now holds the only copy
    return True


def free_swap_and_cache_nr(kernel: Kernel, entry: SwpEntry, nr: int) -> None:
    """Kernel: mm/swapfile.c:free_swap_and_cache_nr()

    A zapped swap PTE drops its reference. If only the swap cache still holds the slot, try
    to reclaim that folio from the cache too (``__try_to_reclaim_swap()``).
    """
    from mrelease_ref.mm.swap_state import swap_cache_get_folio

    si = _si(kernel)
    for off in range(entry.offset, entry.offset + nr):
        si.swap_map[off] -= 1
        if si.swap_map[off] == 0:
            _free_slot(si, off)
        elif si.swap_map[off] == SWAP_HAS_CACHE:
            folio = swap_cache_get_folio(kernel, SwpEntry(si.type, off))
            if folio is not None and not folio.flags & PG_locked and not folio._mapcount:
                folio.flags |= PG_locked
                folio_free_swap(folio)
                folio.flags &= ~PG_locked

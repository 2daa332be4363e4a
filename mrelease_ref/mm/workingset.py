"""Workingset aging: the non-resident age clock behind refault detection.

Kernel: mm/workingset.c

A reclaimed page-cache folio leaves a shadow entry: the non-resident age at eviction,
packed with the folio's PG_workingset bit (``pack_shadow()``). When the page is read again,
the refault distance (age now minus age then) is compared with the workingset size; a
recent refault is activated at once, and one that was active before eviction is also
"restored" (PG_workingset, WORKINGSET_RESTORE_FILE).

Limitations:
- One node, no memcg: the shadow holds only the age and the workingset bit, with no
  bucket_order rounding (EVICTION_BITS fit a Python int).
- Only file refaults: anonymous pages leave no shadow in the swap cache here.
- A restore does not call ``lru_note_cost_refault()``: reclaim has no anon/file cost
  balancing to feed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from mrelease_ref.include.linux.mmzone import NR_LRU_BASE, LruList
from mrelease_ref.include.linux.page_flags import PG_active, PG_workingset
from mrelease_ref.include.linux.vmstat import count_vm_events
from mrelease_ref.mm.swapfile import get_nr_swap_pages

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio
    from mrelease_ref.sim.kernel import Kernel

WORKINGSET_SHIFT: Final = 1  # mm/workingset.c: the low bit of a shadow is PG_workingset


def workingset_age_nonresident(folio: Folio, nr_pages: int) -> None:
    """Kernel: mm/workingset.c:workingset_age_nonresident()"""
    folio.kernel.lruvec.nonresident_age += nr_pages


def workingset_activation(folio: Folio) -> None:
    """Kernel: mm/workingset.c:workingset_activation()

    An activation ages the non-resident clock like an eviction would.
    """
    workingset_age_nonresident(folio, 1 << folio.order)


def pack_shadow(eviction: int, workingset: bool) -> int:
    """Kernel: mm/workingset.c:pack_shadow() (no memcg id, no node)"""
    return (eviction << WORKINGSET_SHIFT) | int(workingset)


def unpack_shadow(shadow: int) -> tuple[int, bool]:
    """Kernel: mm/workingset.c:unpack_shadow(): the eviction age and the workingset bit."""
    return shadow >> WORKINGSET_SHIFT, bool(shadow & 1)


def workingset_eviction(folio: Folio) -> int:
    """Kernel: mm/workingset.c:workingset_eviction(): the shadow value to store.

    The age is read *before* this eviction ages the clock.
    """
    eviction = folio.kernel.lruvec.nonresident_age
    workingset_age_nonresident(folio, 1 << folio.order)
    return pack_shadow(eviction, bool(folio.flags & PG_workingset))


def workingset_test_recent(kernel: Kernel, shadow: int, file: bool) -> tuple[bool, bool]:
    """Kernel: mm/workingset.c:workingset_test_recent()

    Returns (recent, workingset). The distance is compared with the active file list, plus
    the inactive file list for an anon refault, plus the anon lists when swap has room
    (v6.18, CONFIG_LRU_GEN off).
    """
    eviction, workingset = unpack_shadow(shadow)
    refault_distance = kernel.lruvec.nonresident_age - eviction
    vm = kernel.vmstat

    def lru(lst: LruList) -> int:
        return vm[NR_LRU_BASE + int(lst)]

    size = lru(LruList.LRU_ACTIVE_FILE)
    if not file:
        size += lru(LruList.LRU_INACTIVE_FILE)
    if get_nr_swap_pages(kernel) > 0:
        size += lru(LruList.LRU_ACTIVE_ANON)
        if file:
            size += lru(LruList.LRU_INACTIVE_ANON)
    return refault_distance <= size, workingset


def workingset_refault(folio: Folio, shadow: int) -> None:
    """Kernel: mm/workingset.c:workingset_refault() (file folios)

    Count the refault; if it is recent, activate the folio, age the clock, and if it was
    active before eviction mark it workingset again (a "restore").
    """
    k = folio.kernel
    nr = 1 << folio.order
    count_vm_events(k, "WORKINGSET_REFAULT_FILE", nr)
    recent, workingset = workingset_test_recent(k, shadow, True)
    if not recent:
        return
    folio.flags |= PG_active
    workingset_age_nonresident(folio, nr)
    count_vm_events(k, "WORKINGSET_ACTIVATE_FILE", nr)
    if workingset:
        folio.flags |= PG_workingset
        count_vm_events(k, "WORKINGSET_RESTORE_FILE", nr)


__all__ = [
    "WORKINGSET_SHIFT",
    "pack_shadow",
    "unpack_shadow",
    "workingset_activation",
    "workingset_age_nonresident",
    "workingset_eviction",
    "workingset_refault",
    "workingset_test_recent",
]

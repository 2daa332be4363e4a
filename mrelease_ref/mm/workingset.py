"""Workingset aging: the non-resident age clock behind refault detection.

Kernel: mm/workingset.c

A reclaimed page-cache folio leaves a shadow entry: the non-resident age at eviction,
packed with the folio's PG_workingset bit (``pack_shadow()``). When the page is read again,
the refault distance (age now minus age then) is compared with the workingset size; a
recent refault is activated at once, and one that was active before eviction is also
"restored" (PG_workingset, WORKINGSET_RESTORE_FILE).

Multi-gen LRU (``Kernel(lru_gen=True)``): the shadow holds a *token* instead of an age:
the evicted folio's type's ``min_seq`` and its access count (refs - 1), plus
PG_workingset (``lru_gen_eviction()``). A refault is recent when the generation it was
evicted from is within MAX_NR_GENS of today's ``max_seq`` (``lru_gen_test_recent()``);
a recent refault feeds the PID controller's ``refaulted`` counter of its tier, restores
PG_workingset or the access count, and counts WORKINGSET_ACTIVATE only when it happens in
a page fault (``lru_gen_in_fault()``: the folio is then added PG_active by
``folio_add_lru()``).

Limitations:
- One node, no memcg: the shadow holds only the age and the workingset bit, with no
  bucket_order rounding (EVICTION_BITS fit a Python int); under the multi-gen LRU the
  token's ``min_seq`` is not masked to EVICTION_MASK either.
- Only file refaults: anonymous pages leave no shadow in the swap cache here.
- A restore does not call ``lru_note_cost_refault()``: reclaim has no anon/file cost
  balancing to feed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from mrelease_ref.include.linux.mm_inline import (
    folio_is_file_lru,
    folio_lru_refs,
    lru_gen_in_fault,
    lru_hist_from_seq,
    lru_tier_from_refs,
)
from mrelease_ref.include.linux.mmzone import (
    LRU_REFS_MASK,
    LRU_REFS_PGOFF,
    LRU_REFS_WIDTH,
    MAX_NR_GENS,
    NR_LRU_BASE,
    LruList,
)
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


def lru_gen_eviction(folio: Folio) -> int:
    """Kernel: mm/workingset.c:lru_gen_eviction()

    The shadow of a folio the multi-gen LRU evicts: a token of the oldest generation's
    ``min_seq`` and the folio's access count (refs - 1), and PG_workingset. The eviction
    is counted in the PID controller's ``evicted`` counter of the folio's tier.
    """
    lrugen = folio.kernel.lruvec.lrugen
    assert lrugen is not None
    type_ = int(folio_is_file_lru(folio))
    refs = folio_lru_refs(folio)
    workingset = bool(folio.flags & PG_workingset)
    tier = lru_tier_from_refs(refs, workingset)
    min_seq = lrugen.min_seq[type_]
    token = (min_seq << LRU_REFS_WIDTH) | max(refs - 1, 0)
    lrugen.evicted[lru_hist_from_seq(min_seq)][type_][tier] += 1 << folio.order
    return pack_shadow(token, workingset)


def lru_gen_test_recent(kernel: Kernel, shadow: int) -> tuple[bool, int, bool]:
    """Kernel: mm/workingset.c:lru_gen_test_recent()

    Returns (recent, token, workingset): recent when the generation the folio was evicted
    from is less than MAX_NR_GENS behind today's ``max_seq``.
    """
    token, workingset = unpack_shadow(shadow)
    lrugen = kernel.lruvec.lrugen
    assert lrugen is not None
    return abs(lrugen.max_seq - (token >> LRU_REFS_WIDTH)) < MAX_NR_GENS, token, workingset


def lru_gen_refault(folio: Folio, shadow: int) -> None:
    """Kernel: mm/workingset.c:lru_gen_refault()

    Count the refault (WORKINGSET_REFAULT_*); if recent, charge it to the PID controller
    (``refaulted`` of the tier it was evicted from), count WORKINGSET_ACTIVATE_* when in a
    page fault (``folio_add_lru()`` then adds it PG_active), and give back PG_workingset
    (WORKINGSET_RESTORE_*) or, failing that, the access count it had.
    """
    k = folio.kernel
    lrugen = k.lruvec.lrugen
    assert lrugen is not None
    type_ = int(folio_is_file_lru(folio))
    delta = 1 << folio.order
    kind = "FILE" if type_ else "ANON"
    recent, token, workingset = lru_gen_test_recent(k, shadow)
    count_vm_events(k, f"WORKINGSET_REFAULT_{kind}", delta)
    if not recent:
        return
    hist = lru_hist_from_seq(lrugen.min_seq[type_])
    refs = (token & ((1 << LRU_REFS_WIDTH) - 1)) + 1
    tier = lru_tier_from_refs(refs, workingset)
    lrugen.refaulted[hist][type_][tier] += delta
    if lru_gen_in_fault(k):
        count_vm_events(k, f"WORKINGSET_ACTIVATE_{kind}", delta)
    if workingset:
        folio.flags |= PG_workingset
        count_vm_events(k, f"WORKINGSET_RESTORE_{kind}", delta)
    else:
        folio.flags = (folio.flags & ~LRU_REFS_MASK) | ((refs - 1) << LRU_REFS_PGOFF)


def workingset_eviction(folio: Folio) -> int:
    """Kernel: mm/workingset.c:workingset_eviction(): the shadow value to store.

    The age is read *before* this eviction ages the clock. Multi-gen LRU:
    ``lru_gen_eviction()``.
    """
    if folio.kernel.config.lru_gen:
        return lru_gen_eviction(folio)
    eviction = folio.kernel.lruvec.nonresident_age
    workingset_age_nonresident(folio, 1 << folio.order)
    return pack_shadow(eviction, bool(folio.flags & PG_workingset))


def workingset_test_recent(kernel: Kernel, shadow: int, file: bool) -> tuple[bool, bool]:
    """Kernel: mm/workingset.c:workingset_test_recent()

    Returns (recent, workingset). The distance is compared with the active file list, plus
    the inactive file list for an anon refault, plus the anon lists when swap has room
    (v6.18, CONFIG_LRU_GEN off). Multi-gen LRU: ``lru_gen_test_recent()``.
    """
    if kernel.config.lru_gen:
        recent, _token, lru_gen_workingset = lru_gen_test_recent(kernel, shadow)
        return recent, lru_gen_workingset
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
    active before eviction mark it workingset again (a "restore"). Multi-gen LRU:
    ``lru_gen_refault()``.
    """
    k = folio.kernel
    if k.config.lru_gen:
        lru_gen_refault(folio, shadow)
        return
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
    "lru_gen_eviction",
    "lru_gen_refault",
    "lru_gen_test_recent",
    "pack_shadow",
    "unpack_shadow",
    "workingset_activation",
    "workingset_age_nonresident",
    "workingset_eviction",
    "workingset_refault",
    "workingset_test_recent",
]

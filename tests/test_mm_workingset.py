"""Workingset shadows and refault detection.

Kernel: mm/workingset.c (workingset_eviction(), pack_shadow(), workingset_test_recent(),
workingset_refault()), v6.18 with CONFIG_LRU_GEN off.
"""

from __future__ import annotations

from mrelease_ref.include.linux.mm_types import Folio
from mrelease_ref.include.linux.mmzone import NR_LRU_BASE, LruList
from mrelease_ref.include.linux.page_flags import PG_active, PG_workingset
from mrelease_ref.mm.workingset import (
    pack_shadow,
    unpack_shadow,
    workingset_eviction,
    workingset_refault,
    workingset_test_recent,
)
from mrelease_ref.sim.kernel import Kernel


def _folio(k: Kernel, flags: int = 0) -> Folio:
    f = k.create_file("f", 4)
    p = k.spawn("reader")
    m = p.mmap(4, file=f, write=False)
    p.touch(m)
    k.lru_add_drain_all()
    folio = f.i_mapping.i_pages[0]
    folio.flags |= flags
    return folio


def test_eviction_records_the_age_before_aging_the_clock() -> None:
    """workingset_eviction() reads lruvec->nonresident_age, then ages it by the folio's
    pages: the shadow holds the pre-eviction age, so a page read back at once has a
    refault distance of 1 page (its own eviction), not 0."""
    k = Kernel(large_folios=False)
    folio = _folio(k, PG_workingset)
    age = k.lruvec.nonresident_age
    shadow = workingset_eviction(folio)
    assert unpack_shadow(shadow) == (age, True)
    assert k.lruvec.nonresident_age == age + 1


def test_recent_means_within_the_active_file_list_plus_anon_only_with_swap() -> None:
    """For a file refault, workingset_test_recent() compares the distance with
    NR_ACTIVE_FILE, plus both anon lists only when swap has free slots; the inactive file
    list does not count (it is where the refaulting page would compete)."""
    k = Kernel(large_folios=False, swap_mib=0)
    _folio(k)  # four pages on the inactive file list, none active
    vm = k.vmstat
    assert vm[NR_LRU_BASE + int(LruList.LRU_INACTIVE_FILE)] == 4
    assert vm[NR_LRU_BASE + int(LruList.LRU_ACTIVE_FILE)] == 0
    age = k.lruvec.nonresident_age
    assert workingset_test_recent(k, pack_shadow(age, False), True) == (True, False)
    assert workingset_test_recent(k, pack_shadow(age - 1, False), True)[0] is False
    vm[NR_LRU_BASE + int(LruList.LRU_ACTIVE_FILE)] += 3  # pretend three active pages
    assert workingset_test_recent(k, pack_shadow(age - 3, False), True)[0] is True
    assert workingset_test_recent(k, pack_shadow(age - 4, False), True)[0] is False
    vm[NR_LRU_BASE + int(LruList.LRU_ACTIVE_FILE)] -= 3


def test_refault_of_a_workingset_page_is_a_restore() -> None:
    """A recent refault activates the folio and ages the clock; if the shadow carries
    PG_workingset (the page was active before eviction), the folio gets PG_workingset back
    and WORKINGSET_RESTORE_FILE counts it."""
    k = Kernel(large_folios=False)
    folio = _folio(k)
    folio.flags &= ~(PG_active | PG_workingset)
    age = k.lruvec.nonresident_age
    workingset_refault(folio, pack_shadow(age, True))
    assert folio.flags & PG_active and folio.flags & PG_workingset
    assert k.lruvec.nonresident_age == age + 1
    assert k.vm_events["WORKINGSET_RESTORE_FILE"] == 1
    assert k.vm_events["WORKINGSET_ACTIVATE_FILE"] == 1
    assert k.vm_events["WORKINGSET_REFAULT_FILE"] == 1

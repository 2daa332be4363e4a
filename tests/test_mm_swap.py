"""LRU batching, folio_mark_accessed() and the batched release of folios.

Kernel: mm/swap.c (folio_mark_accessed(), folio_activate(), __lru_cache_activate_folio(),
__folio_batch_add_and_move(), folio_batch_move_lru(), folios_put_refs()), mm/page_alloc.c
(free_unref_folios()) (docs/sources.md §K5, §K6.3; §M0.9).
"""

from __future__ import annotations

import pytest

from mrelease_ref import Kernel
from mrelease_ref.include.linux.fs import Inode
from mrelease_ref.include.linux.mm_types import HPAGE_PMD_ORDER, PAGE_SIZE, Folio
from mrelease_ref.include.linux.mmzone import PAGE_ALLOC_COSTLY_ORDER, FolioBatch, LruList
from mrelease_ref.include.linux.page_flags import (
    PG_active,
    PG_dropbehind,
    PG_freed,
    PG_lru,
    PG_referenced,
    PG_unevictable,
)
from mrelease_ref.include.linux.sched import TaskStruct
from mrelease_ref.mm.filemap import filemap_grab_folio
from mrelease_ref.mm.page_alloc import folio_alloc
from mrelease_ref.mm.swap import (
    KernelBug,
    folio_activate,
    folio_add_lru,
    folio_mark_accessed,
    folio_put,
    folios_put_refs,
    lru_add_drain,
)

KB_PER_PAGE = PAGE_SIZE // 1024  # /proc/meminfo and status report kB


def _cached_folio(k: Kernel, f: Inode, index: int, task: TaskStruct) -> Folio:
    """Read page ``index`` of ``f`` into the page cache as ``task`` (on its CPU), then drop
    the lookup reference: the folio is cached, unmapped, and sits in that CPU's lru_add
    batch."""
    with k.running(task):
        folio = filemap_grab_folio(f.i_mapping, index, swapbacked=False)
        assert folio is not None
        folio_put(folio)
    return folio


def _on_list(k: Kernel, folio: Folio, lru: LruList) -> bool:
    return folio in k.lruvec.lists[int(lru)]


def _in_batch(k: Kernel, folio: Folio) -> list[str]:
    names = []
    for cpu, fb in enumerate(k.cpu_fbatches):
        for name in ("lru_add", "lru_activate", "mlock"):
            if folio in getattr(fb, name).folios:
                names.append(f"{name}@{cpu}")
    return names


def test_mark_accessed_walks_the_classic_lru_states() -> None:
    """Kernel: mm/swap.c:folio_mark_accessed(): inactive,unreferenced -> inactive,referenced
    -> active,unreferenced (via folio_activate() and workingset_activation()) ->
    active,referenced; a further call changes nothing (docs/sources.md §K6.3)."""
    k = Kernel(large_folios=False)
    f = k.create_file("lib.so", nr_pages=8)
    reader = k.spawn("reader", cpu=0)
    folio = _cached_folio(k, f, 0, reader.task)
    k.lru_add_drain_all()
    nr = 1 << folio.order
    assert folio.flags & PG_lru and _on_list(k, folio, LruList.LRU_INACTIVE_FILE)
    assert not folio.flags & (PG_referenced | PG_active)
    refs = folio._refcount
    age = k.lruvec.nonresident_age
    inactive_kb = k.meminfo()["Inactive(file)"]
    active_kb = k.meminfo()["Active(file)"]

    with k.running(reader.task):
        folio_mark_accessed(folio)
        assert folio.flags & PG_referenced and not folio.flags & PG_active

        folio_mark_accessed(folio)  # inactive,referenced: activation is queued
        assert not folio.flags & PG_referenced
        assert k.lruvec.nonresident_age == age + nr  # workingset_activation()
        assert not folio.flags & PG_active  # not yet: the batch applies it
        assert _in_batch(k, folio) == ["lru_activate@0"]

        activations = k.vm_events.get("PGACTIVATE", 0)
        lru_add_drain(k)
        assert folio.flags & PG_active and folio.flags & PG_lru
        assert _on_list(k, folio, LruList.LRU_ACTIVE_FILE)
        assert k.vm_events["PGACTIVATE"] == activations + nr
        assert folio._refcount == refs
        assert k.meminfo()["Inactive(file)"] == inactive_kb - nr * KB_PER_PAGE
        assert k.meminfo()["Active(file)"] == active_kb + nr * KB_PER_PAGE

        folio_mark_accessed(folio)
        assert folio.flags & PG_referenced and folio.flags & PG_active
        before = folio.flags
        folio_mark_accessed(folio)
        assert folio.flags == before and not _in_batch(k, folio)
    k.check()


def test_activation_batch_holds_a_reference_until_drained() -> None:
    """Kernel: mm/swap.c:__folio_batch_add_and_move() (v6.18): folio_get() pins the folio
    while it waits in this CPU's lru_activate batch, and its PG_lru stays set;
    folio_batch_move_lru() clears PG_lru around the move and folios_put() drops the pin.
    Until the drain the folio is not yet active, so another folio_activate() queues it again
    (one more reference)."""
    k = Kernel(large_folios=False)
    f = k.create_file("lib.so", nr_pages=8)
    reader = k.spawn("reader", cpu=1)
    folio = _cached_folio(k, f, 3, reader.task)
    k.lru_add_drain_all()
    refs = folio._refcount
    with k.running(reader.task):
        folio_mark_accessed(folio)
        folio_mark_accessed(folio)
        assert folio._refcount == refs + 1
        assert folio.flags & PG_lru and not folio.flags & PG_active
        assert _on_list(k, folio, LruList.LRU_INACTIVE_FILE)
        assert _in_batch(k, folio) == ["lru_activate@1"]
        k.check()  # the batch's reference is accounted for

        folio_activate(folio)  # still inactive and on the LRU: queued a second time
        assert folio._refcount == refs + 2
        assert k.cpu_fbatches[1].lru_activate.folios.count(folio) == 2

    k.lru_add_drain_all()
    assert folio._refcount == refs and folio.flags & PG_lru and folio.flags & PG_active


def test_unevictable_and_dropbehind_folios_are_not_activated() -> None:
    """Kernel: mm/swap.c:folio_mark_accessed(): a PG_dropbehind folio returns at once; a
    referenced unevictable folio is left alone ("this list is never rotated")."""
    k = Kernel(large_folios=False)
    f = k.create_file("lib.so", nr_pages=8)
    reader = k.spawn("reader", cpu=0)
    dropbehind = _cached_folio(k, f, 0, reader.task)
    unevictable = _cached_folio(k, f, 1, reader.task)
    k.lru_add_drain_all()
    dropbehind.flags |= PG_dropbehind
    unevictable.flags |= PG_referenced | PG_unevictable  # as if mlocked and culled
    with k.running(reader.task):
        folio_mark_accessed(dropbehind)
        assert not dropbehind.flags & PG_referenced
        folio_mark_accessed(unevictable)
    assert not unevictable.flags & PG_active and unevictable.flags & PG_referenced
    assert not _in_batch(k, unevictable)


def test_folio_in_this_cpus_lru_add_batch_is_marked_active_in_place() -> None:
    """Kernel: mm/swap.c:__lru_cache_activate_folio(): a folio that is not on the LRU yet but
    sits in *this* CPU's lru_add batch just gets PG_active, so the drain puts it straight on
    the active list (no lru_activate batch, no PGACTIVATE)."""
    k = Kernel(large_folios=False)
    f = k.create_file("lib.so", nr_pages=8)
    reader = k.spawn("reader", cpu=0)
    folio = _cached_folio(k, f, 0, reader.task)
    assert _in_batch(k, folio) == ["lru_add@0"] and not folio.flags & PG_lru
    activations = k.vm_events.get("PGACTIVATE", 0)
    with k.running(reader.task):
        folio_mark_accessed(folio)
        folio_mark_accessed(folio)
        assert folio.flags & PG_active and not folio.flags & PG_referenced
        assert _in_batch(k, folio) == ["lru_add@0"]
        lru_add_drain(k)
    assert _on_list(k, folio, LruList.LRU_ACTIVE_FILE)
    assert k.vm_events.get("PGACTIVATE", 0) == activations
    k.check()


def test_folio_in_another_cpus_lru_add_batch_is_not_activated() -> None:
    """Kernel: mm/swap.c:__lru_cache_activate_folio() examines only the local batch ("a
    remote batch ... is currently being drained"): a folio waiting in another CPU's lru_add
    batch loses PG_referenced but does not become active, and lands on the inactive list."""
    k = Kernel(large_folios=False, nr_cpus=2)
    f = k.create_file("lib.so", nr_pages=8)
    remote = k.spawn("remote", cpu=1)
    local = k.spawn("local", cpu=0)
    folio = _cached_folio(k, f, 0, remote.task)
    assert _in_batch(k, folio) == ["lru_add@1"]
    with k.running(local.task):
        folio_mark_accessed(folio)
        folio_mark_accessed(folio)
    assert not folio.flags & (PG_active | PG_referenced)
    k.lru_add_drain_all()
    assert _on_list(k, folio, LruList.LRU_INACTIVE_FILE)


def test_large_folios_move_through_the_batches_at_once() -> None:
    """Kernel: mm/swap.c:__folio_batch_add_and_move() moves the batch immediately when the
    folio is large: a large page-cache folio is on the LRU right after it is added, and its
    activation happens inside folio_mark_accessed() with no lingering batch reference;
    PGACTIVATE counts folio_nr_pages()."""
    k = Kernel(large_folios=True, file_folio_order=6)
    f = k.create_file("big.apk", nr_pages=256)
    reader = k.spawn("reader", cpu=0)
    folio = _cached_folio(k, f, 0, reader.task)
    nr = 1 << folio.order
    assert folio.order == k.config.file_folio_order
    assert folio.flags & PG_lru and not _in_batch(k, folio)
    assert folio._refcount == nr  # the page cache's references only
    activations = k.vm_events.get("PGACTIVATE", 0)
    with k.running(reader.task):
        folio_mark_accessed(folio)
        folio_mark_accessed(folio)
    assert folio.flags & PG_active and folio.flags & PG_lru and not _in_batch(k, folio)
    assert _on_list(k, folio, LruList.LRU_ACTIVE_FILE)
    assert k.vm_events["PGACTIVATE"] == activations + nr
    assert folio._refcount == nr
    k.check()


# --- folios_put_refs and the per-CPU page lists ----------------------------------------------


def test_freed_page_goes_to_the_freeing_cpus_pcp_list_not_memfree() -> None:
    """Kernel: mm/swap.c:folios_put_refs() -> mm/page_alloc.c:free_unref_folios(): a folio
    whose last reference goes is freed onto the current CPU's per-CPU list, which
    /proc/meminfo MemFree (NR_FREE_PAGES) does not count (docs/sources.md §M0.9); the zone
    total of buddy + pcp is restored and PGFREE counts its pages."""
    k = Kernel(large_folios=False, nr_cpus=2)
    t = k.spawn("app", cpu=1).task
    memfree = k.meminfo()["MemFree"]
    total = k.zoneinfo()["free_with_pcp"]
    with k.running(t):
        folio = folio_alloc(k, 0)
        assert folio is not None
        nr = 1 << folio.order
        assert k.meminfo()["MemFree"] == memfree - nr * KB_PER_PAGE  # pcp was empty: buddy
        pgfree = k.vm_events.get("PGFREE", 0)
        folios_put_refs(FolioBatch([folio]), [1])
    assert folio.flags == PG_freed
    assert k.vm_events["PGFREE"] == pgfree + nr
    assert k.zone.per_cpu_pageset[1].count == nr and k.zone.per_cpu_pageset[0].count == 0
    assert k.meminfo()["MemFree"] == memfree - nr * KB_PER_PAGE
    assert k.zoneinfo()["free_with_pcp"] == total
    k.check()


@pytest.mark.parametrize(
    ("order", "to_pcp"),
    [(0, True), (PAGE_ALLOC_COSTLY_ORDER, True), (PAGE_ALLOC_COSTLY_ORDER + 1, False),
     (6, False), (HPAGE_PMD_ORDER, True)],
)
def test_only_pcp_allowed_orders_wait_on_per_cpu_lists(order: int, to_pcp: bool) -> None:
    """Kernel: mm/page_alloc.c:pcp_allowed_order(): orders up to PAGE_ALLOC_COSTLY_ORDER and
    the PMD order are freed to the per-CPU lists; other orders go straight to the buddy
    allocator, where MemFree sees them."""
    k = Kernel(large_folios=False)
    t = k.spawn("app", cpu=0).task
    memfree = k.meminfo()["MemFree"]
    with k.running(t):
        folio = folio_alloc(k, order)
        assert folio is not None
        folio_put(folio)
    nr = 1 << order
    pcp = k.zone.per_cpu_pageset[0].count
    assert pcp == (nr if to_pcp else 0)
    assert k.meminfo()["MemFree"] == memfree - pcp * KB_PER_PAGE
    assert k.zoneinfo()["free_with_pcp"] * KB_PER_PAGE == memfree


def test_pcp_list_spills_to_buddy_at_high() -> None:
    """Kernel: mm/page_alloc.c:free_unref_folios() -> free_pcppages_bulk(): once a per-CPU
    list reaches ``pcp->high`` pages are returned to the buddy allocator, so the list stays
    below ``high`` and no page is lost on the way."""
    high, batch = 16, 4
    k = Kernel(large_folios=False, pcp_high=high, pcp_batch=batch)
    t = k.spawn("app", cpu=0).task
    total = k.zoneinfo()["free_with_pcp"]
    with k.running(t):
        folios = [folio_alloc(k, 0) for _ in range(2 * high)]
        folios_put_refs(FolioBatch([f for f in folios if f is not None]), None)
    assert 0 < k.zone.per_cpu_pageset[0].count < high
    assert k.zoneinfo()["free_with_pcp"] == total
    k.check()


def test_folios_put_refs_drops_exactly_refs_and_frees_at_zero() -> None:
    """Kernel: mm/swap.c:folios_put_refs(): folio_ref_sub_and_test(folio, refs[i]); a folio
    that keeps references is left alone; one that reaches zero is taken off the LRU
    (__page_cache_release()) and freed."""
    k = Kernel(large_folios=False)
    t = k.spawn("app", cpu=0).task
    inactive = k.meminfo()["Inactive(file)"]
    extra = 3
    with k.running(t):
        folio = folio_alloc(k, 0)
        assert folio is not None
        folio_add_lru(folio)
        lru_add_drain(k)
        assert _on_list(k, folio, LruList.LRU_INACTIVE_FILE)
        folio._refcount += extra  # three more holders
        folios_put_refs(FolioBatch([folio]), [extra])
        assert folio._refcount == 1 and folio.flags & PG_lru
        assert k.meminfo()["Inactive(file)"] == inactive + KB_PER_PAGE
        folios_put_refs(FolioBatch([folio]), [1])
    assert folio.flags == PG_freed
    assert not _on_list(k, folio, LruList.LRU_INACTIVE_FILE)
    assert k.meminfo()["Inactive(file)"] == inactive
    k.check()


def test_dropping_a_reference_that_is_not_there_is_a_bug() -> None:
    """Kernel: include/linux/mm.h:folio_put() on a folio whose count is already zero is a
    use-after-free (VM_BUG_ON_FOLIO in the kernel); the model raises KernelBug."""
    k = Kernel(large_folios=False)
    t = k.spawn("app").task
    with k.running(t):
        folio = folio_alloc(k, 0)
        assert folio is not None
        folio_put(folio)
        with pytest.raises(KernelBug):
            folio_put(folio)

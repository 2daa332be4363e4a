"""The multi-gen LRU (``Kernel(lru_gen=True)``), rule by rule.

Kernel (v6.18): mm/swap.c (folio_mark_accessed(), lru_gen_inc_refs(),
lru_gen_clear_refs(), folio_add_lru(), folio_activate(), folio_deactivate()),
include/linux/mm_inline.h (lru_gen_folio_seq(), lru_gen_add_folio(), lru_gen_del_folio(),
lru_gen_update_size()), mm/vmscan.c (inc_max_seq(), folio_update_gen(), sort_folio(),
scan_folios(), evict_folios(), lru_gen_set_refs(), lru_gen_look_around()),
mm/workingset.c (lru_gen_eviction(), lru_gen_test_recent(), lru_gen_refault()).

Every expected number below is derived in the test's docstring from those rules and the
boot state ``lru_gen_init_lruvec()`` sets: ``max_seq`` = MIN_NR_GENS + 1 = 3, ``min_seq``
= 0 for both types, so generations (slots) 0..3 exist.
"""

from __future__ import annotations

import signal

from mrelease_ref.include.linux.fs import Inode
from mrelease_ref.include.linux.mm_inline import (
    folio_lru_gen,
    folio_lru_refs,
    folio_test_active_lru,
    lru_gen_from_seq,
)
from mrelease_ref.include.linux.mm_types import (
    _PAGE_ACCESSED,
    Folio,
    Pte,
    PteTable,
    ptep_clear_bits,
    ptep_set_bits,
)
from mrelease_ref.include.linux.mmzone import NR_LRU_BASE, LruList
from mrelease_ref.include.linux.page_flags import PG_active, PG_referenced, PG_workingset
from mrelease_ref.mm.filemap import _fixed_order_read
from mrelease_ref.mm.swap import folio_activate, folio_deactivate, folio_mark_accessed
from mrelease_ref.mm.vmscan import (
    FOLIOREF_ACTIVATE,
    FOLIOREF_KEEP,
    FOLIOREF_RECLAIM,
    folio_check_references,
    folio_isolate_lru,
    folio_putback_lru,
    inc_max_seq,
    try_to_inc_max_seq,
)
from mrelease_ref.mm.workingset import lru_gen_test_recent, unpack_shadow
from mrelease_ref.scenarios import patch1
from mrelease_ref.sim.kernel import Kernel
from mrelease_ref.sim.process import Mapping, Process

INACTIVE_FILE = NR_LRU_BASE + int(LruList.LRU_INACTIVE_FILE)
ACTIVE_FILE = NR_LRU_BASE + int(LruList.LRU_ACTIVE_FILE)


def _kernel(**kw: object) -> Kernel:
    return Kernel(lru_gen=True, large_folios=False, debug_vm=True, **kw)  # type: ignore[arg-type]


def _mapped(k: Kernel, nr: int, name: str = "f") -> tuple[Process, Inode, Mapping]:
    """A process that maps and reads ``nr`` pages of a new file (faults), batches drained."""
    f = k.create_file(name, nr)
    p = k.spawn(f"user-{name}", uid=10001)
    m = p.mmap(nr, file=f, write=False)
    p.touch(m)
    k.lru_add_drain_all()
    return p, f, m


def _read_without_fault(k: Kernel, nr: int, name: str = "r") -> Inode:
    """Read ``nr`` pages into the page cache outside a page fault (as read(2) does)."""
    f = k.create_file(name, nr)
    with k.running(k.kthreadd):
        for i in range(nr):
            _fixed_order_read(f.i_mapping, i, swapbacked=False)
    k.lru_add_drain_all()
    return f


def _folios(f: Inode) -> list[Folio]:
    return [f.i_mapping.i_pages[i] for i in sorted(f.i_mapping.i_pages)]


def _gens(f: Inode) -> set[int]:
    return {folio_lru_gen(folio) for folio in _folios(f)}


def test_lru_gen_off_is_the_classic_lru() -> None:
    """CONFIG_LRU_GEN off (the default, as on these machines): no lru_gen_folio, and
    folio_mark_accessed() activates through the lru_activate batch as before."""
    k = Kernel(large_folios=False)
    assert k.config.lru_gen is False and k.lruvec.lrugen is None
    _, f, _ = _mapped(k, 1)
    folio = _folios(f)[0]
    folio_mark_accessed(folio)  # sets PG_referenced
    folio_mark_accessed(folio)  # second call: activation queued on the per-CPU batch
    assert any(folio in fb.lru_activate.folios for fb in k.cpu_fbatches)


def test_folio_mark_accessed_counts_refs_and_never_activates() -> None:
    """v6.18 mm/swap.c:folio_mark_accessed() with lru_gen_enabled() calls
    lru_gen_inc_refs() and returns. lru_gen_inc_refs(): the first access sets
    PG_referenced (refs 1); each later one adds to the LRU_REFS counter (LRU_REFS_WIDTH = 2
    bits, so up to refs 1 + 3 = 4); once the counter is full, PG_workingset is set. No
    batch, no reference, no PGACTIVATE, no list move."""
    k = _kernel()
    _, f, _ = _mapped(k, 1)
    folio = _folios(f)[0]
    refcount, gen = folio._refcount, folio_lru_gen(folio)
    seen = []
    for _ in range(5):
        folio_mark_accessed(folio)
        seen.append((folio_lru_refs(folio), bool(folio.flags & PG_workingset)))
    assert seen == [(1, False), (2, False), (3, False), (4, False), (4, True)]
    assert folio._refcount == refcount and folio_lru_gen(folio) == gen
    assert not any(fb.lru_activate.folios for fb in k.cpu_fbatches)
    assert k.vm_events.get("PGACTIVATE", 0) == 0
    k.check()


def test_a_new_folio_joins_a_generation_by_how_it_came() -> None:
    """include/linux/mm_inline.h:lru_gen_folio_seq() + mm/swap.c:folio_add_lru(): a folio
    added during a page fault with recency (lru_gen_in_fault()) is PG_active, so it joins
    generation max_seq - MIN_NR_GENS + 1 = 3 - 2 + 1 = 2; a file folio read outside a fault
    joins max(max_seq - MAX_NR_GENS + 1, min_seq) = max(0, 0) = 0, the oldest. An anonymous
    page (written, so faulted) is also in generation 2. PG_active is clear on the list;
    vmstat counts generations 2 and 3 as active, 0 and 1 as inactive."""
    k = _kernel()
    _, faulted, _ = _mapped(k, 8, "faulted")
    read = _read_without_fault(k, 4, "read")
    p = k.spawn("anon", uid=10002)
    p.touch(p.mmap(2), write=True)
    k.lru_add_drain_all()
    assert _gens(faulted) == {2} and _gens(read) == {0}
    assert not any(folio.flags & PG_active for folio in _folios(faulted))
    assert k.vmstat[ACTIVE_FILE] == 8 and k.vmstat[INACTIVE_FILE] == 4
    assert k.vmstat[NR_LRU_BASE + int(LruList.LRU_ACTIVE_ANON)] == 2
    assert k.lruvec.lrugen is not None and k.lruvec.lrugen.nr_pages[2] == [2, 8]
    k.check()


def test_inc_max_seq_moves_a_generation_from_active_to_inactive() -> None:
    """mm/vmscan.c:inc_max_seq(): max_seq 3 -> 4, so the "active" pair becomes generations
    of seq 4 and 3; the 8 faulted pages (seq 2) leave it: Inactive(file) 8, Active(file) 0.
    Both types already had MAX_NR_GENS generations (seq 0..3), so inc_min_seq() first
    retires each one's oldest: min_seq [1, 1] (generation 0 was empty)."""
    k = _kernel()
    _mapped(k, 8)
    assert inc_max_seq(k, 3, 0)
    lrugen = k.lruvec.lrugen
    assert lrugen is not None and lrugen.max_seq == 4 and lrugen.min_seq == [1, 1]
    assert k.vmstat[ACTIVE_FILE] == 0 and k.vmstat[INACTIVE_FILE] == 8
    k.check()


def test_aging_walk_gives_a_second_chance_then_promotes() -> None:
    """mm/vmscan.c:folio_update_gen() from the aging's page-table walk: a young PTE whose
    folio has neither PG_referenced nor PG_workingset only gets PG_referenced (no
    promotion); found young again at the next aging, the folio moves to the generation of
    the then max_seq (4), loses PG_referenced and gains PG_workingset. The young bit is
    cleared each time."""
    k = _kernel()
    p, f, m = _mapped(k, 1)
    folio = _folios(f)[0]
    assert folio_lru_gen(folio) == 2
    assert try_to_inc_max_seq(k, 3, 0)  # walk at max_seq 3: second chance
    assert folio.flags & PG_referenced and folio_lru_gen(folio) == 2
    p.touch(m)  # young again
    assert try_to_inc_max_seq(k, 4, 0)  # walk at max_seq 4: promoted to gen of seq 4
    assert folio_lru_gen(folio) == lru_gen_from_seq(4) == 0
    assert folio.flags & PG_workingset and not folio.flags & PG_referenced
    k.check()


def test_eviction_takes_the_oldest_generation_first() -> None:
    """lru_gen_shrink_node() evicts from min_seq's generation: 16 pages read outside a
    fault sit in generation 0 (seq 0), 16 mapped-then-unmapped pages in generation 2. A
    reclaim of 16 pages takes exactly the 16 read pages (sort_folio() finds them
    unpromoted and untiered; shrink_folio_list() reclaims unmapped clean folios)."""
    k = _kernel()
    read = _read_without_fault(k, 16, "read")
    p, mapped, m = _mapped(k, 16, "mapped")
    p.munmap(m)
    assert k.reclaim(16) == 16
    assert k.cachestat(read).nr_cache == 0 and k.cachestat(mapped).nr_cache == 16
    assert k.vm_events["PGSTEAL_FILE"] == 16
    k.check()


def test_folios_with_every_access_bit_are_protected_by_sort_folio() -> None:
    """mm/vmscan.c:sort_folio(): a folio in the oldest generation with refs + workingset ==
    BIT(LRU_REFS_WIDTH) + 1 = 5 (four accesses counted and PG_workingset: five
    folio_mark_accessed() calls) is "lazily promoted" by folio_inc_gen() to min_seq + 1 and
    loses its access count; the others (one access: tier 0, not above any tier_idx) are
    evicted. 8 read pages, one accessed five times: a reclaim of 8 frees 7."""
    k = _kernel()
    f = _read_without_fault(k, 8)
    hot = _folios(f)[3]
    for _ in range(5):
        folio_mark_accessed(hot)
    for folio in _folios(f):
        if folio is not hot:
            folio_mark_accessed(folio)
    assert k.reclaim(8) == 7
    assert list(f.i_mapping.i_pages.values()) == [hot]
    assert folio_lru_gen(hot) >= 0 and folio_lru_refs(hot) == 0
    k.check()


def test_refault_token_recent_within_max_nr_gens() -> None:
    """mm/workingset.c:lru_gen_eviction() stores token = min_seq << LRU_REFS_WIDTH |
    (refs - 1) with PG_workingset; lru_gen_test_recent() calls the refault recent while
    |max_seq - (token >> LRU_REFS_WIDTH)| < MAX_NR_GENS (4). A page evicted from seq 0 with
    one access (refs 1: low bits 0) refaults recent at max_seq 3 (reclaiming two pages from
    four generations needs no aging); at max_seq 4 it would not be. A recent refault read
    outside a fault counts WORKINGSET_REFAULT_FILE but not WORKINGSET_ACTIVATE_FILE (that
    needs lru_gen_in_fault()); a refault in a fault counts both."""
    k = _kernel()
    f = _read_without_fault(k, 2)
    for folio in _folios(f):
        folio_mark_accessed(folio)
    assert k.reclaim(2) == 2
    shadow = f.i_mapping.shadows[0]
    assert unpack_shadow(shadow) == ((0 << 2) | 0, False)
    lrugen = k.lruvec.lrugen
    assert lrugen is not None and lrugen.max_seq == 3  # two pages evicted without aging
    assert lru_gen_test_recent(k, shadow)[0] is True
    with k.running(k.kthreadd):  # a read outside a fault
        _fixed_order_read(f.i_mapping, 0, swapbacked=False)
    assert k.vm_events["WORKINGSET_REFAULT_FILE"] == 1
    assert k.vm_events.get("WORKINGSET_ACTIVATE_FILE", 0) == 0
    p = k.spawn("reader", uid=10001)
    p.touch(p.mmap(2, file=f, write=False, offset=0), nr_pages=2)  # page 1: in a fault
    assert k.vm_events["WORKINGSET_REFAULT_FILE"] == 2
    assert k.vm_events["WORKINGSET_ACTIVATE_FILE"] == 1
    lrugen.max_seq = 4  # as if the aging had opened one more generation: |4 - 0| = 4
    assert lru_gen_test_recent(k, shadow)[0] is False
    lrugen.max_seq = 3


def test_rmap_reference_keeps_first_then_activates() -> None:
    """mm/vmscan.c:folio_check_references() with lru_gen_enabled(): no young PTE ->
    FOLIOREF_RECLAIM, whatever folio_mark_accessed() counted; a young PTE ->
    lru_gen_set_refs(): first FOLIOREF_KEEP (sets PG_referenced), then, with PG_referenced
    already set, FOLIOREF_ACTIVATE (PG_workingset replaces the count). The young bit comes
    from lru_gen_look_around() in folio_referenced_one()."""
    k = _kernel()
    p, f, _ = _mapped(k, 2)
    a, b = _folios(f)
    for _ in range(3):
        folio_mark_accessed(a)  # read three times: tier 1, but no young PTE
    _set_young(p, False)
    with k.running(k.kthreadd):
        assert folio_isolate_lru(a) and folio_isolate_lru(b)
        assert folio_check_references(a) == FOLIOREF_RECLAIM
        _set_young(p, True)
        assert folio_check_references(b) == FOLIOREF_KEEP and b.flags & PG_referenced
        _set_young(p, True)
        assert folio_check_references(b) == FOLIOREF_ACTIVATE
        assert b.flags & PG_workingset and not b.flags & PG_referenced
        folio_putback_lru(a)
        folio_putback_lru(b)
    k.lru_add_drain_all()
    k.check()


def _set_young(p: Process, young: bool) -> None:
    """Set or clear the accessed bit of every PTE of ``p`` (what the MMU / a walk does)."""
    mm = p.task.mm
    assert mm is not None
    for table in mm.pgd.values():
        assert isinstance(table, PteTable)
        for i, pte in enumerate(table):
            if isinstance(pte, Pte):
                (ptep_set_bits if young else ptep_clear_bits)(table, i, _PAGE_ACCESSED)


def test_look_around_promotes_young_neighbours() -> None:
    """mm/vmscan.c:lru_gen_look_around(): when the rmap walk finds a young PTE, up to
    MIN_LRU_BATCH neighbouring PTEs in the same PTE table and VMA are scanned, and each
    young neighbour's folio goes through folio_update_gen() to max_seq's generation (3 at
    boot) -- if it already had PG_referenced; else it only gets PG_referenced. Four
    neighbours with PG_referenced: all in generation 3 afterwards."""
    k = _kernel()
    _, f, _ = _mapped(k, 5)
    first, *rest = _folios(f)
    for folio in rest:
        folio.flags |= PG_referenced
    with k.running(k.kthreadd):
        assert folio_isolate_lru(first)
        assert folio_check_references(first) == FOLIOREF_KEEP
        folio_putback_lru(first)
    assert {folio_lru_gen(folio) for folio in rest} == {3}
    assert all(folio.flags & PG_workingset for folio in rest)
    k.lru_add_drain_all()
    k.check()


def test_activation_and_deactivation_move_between_generations() -> None:
    """mm/swap.c:folio_activate() -> lru_activate() under the multi-gen LRU: the folio is
    deleted (lru_gen_del_folio()), PG_active set, re-added: lru_gen_folio_seq() puts it in
    max_seq - MIN_NR_GENS + 1 = 2 (3 with PG_workingset). folio_deactivate():
    lru_gen_clear_refs() drops the access count and PG_workingset; a folio not in the
    oldest generation is then re-added without PG_active: a file folio to the oldest (0)."""
    k = _kernel()
    f = _read_without_fault(k, 2)
    a, b = _folios(f)
    assert folio_lru_gen(a) == 0
    folio_activate(a)
    b.flags |= PG_workingset
    folio_activate(b)
    k.lru_add_drain_all()
    assert folio_lru_gen(a) == 2 and folio_lru_gen(b) == 3
    assert folio_test_active_lru(a) and folio_test_active_lru(b)
    folio_mark_accessed(b)
    folio_deactivate(b)
    assert folio_lru_gen(b) == 0 and folio_lru_refs(b) == 0
    assert not b.flags & PG_workingset
    k.check()


def test_patch1_alone_evicts_pages_referenced_before_under_mglru() -> None:
    """Notebook 01's finding "patch 1 needs patch 2 for pages that were referenced
    before" rests on folio_mark_accessed() queueing an activation, whose lru_activate batch
    holds a reference when the gather is flushed. Under the multi-gen LRU
    folio_mark_accessed() is lru_gen_inc_refs(): no batch, no reference, so v1 1/3 alone
    evicts every exclusive clean 4 KiB folio of the 8 x 16 victim: 128 pages, as on first
    use; the classic LRU loses the folios still in the batch."""
    mglru = patch1.referenced_outcome(patch1.V1_1, 8, 16, referenced=True, lru_gen=True)
    classic = patch1.referenced_outcome(patch1.V1_1, 8, 16, referenced=True)
    assert mglru == 8 * 16
    assert classic < 8 * 16


def test_arm64_reaps_like_x86_64() -> None:
    """arm64 uses the generic mmu_gather (no __tlb_remove_folio_pages() hook, unlike
    s390; arch/arm64/include/asm/tlb.h only overrides tlb_flush()), so every version
    frees, evicts and keeps exactly what it does on x86_64."""
    for choice in patch1.PATCH1_KERNELS:
        assert (patch1.reap_outcome(choice, arch="arm64", large_folios=False)
                == patch1.reap_outcome(choice, arch="x86_64", large_folios=False))


def test_process_mrelease_under_mglru_keeps_the_invariants() -> None:
    """A whole kill + reap + exit on a multi-gen LRU kernel keeps every invariant (LRU
    lists, generation sizes and counters, refcounts) and frees the anonymous memory."""
    k = _kernel()
    lmkd = k.spawn("lmkd")
    app = k.spawn("app", uid=10001)
    anon = app.mmap(64)
    app.touch(anon, write=True)
    f = k.create_file("lib", 32)
    app.touch(app.mmap(32, file=f, write=False))
    fd = lmkd.pidfd_open(app.pid)
    lmkd.kill(app.pid, signal.SIGKILL)
    lmkd.process_mrelease(fd, 0)
    k.run()
    assert k.vmstat[NR_LRU_BASE + int(LruList.LRU_ACTIVE_ANON)] == 0
    k.check()


def test_a_folio_promoted_by_the_walk_can_leave_the_lru() -> None:
    """folio_update_gen() changes only the generation in the flags: the folio stays on its
    old list until eviction sorts it. lru_gen_del_folio() must still take it off the list
    it is on (list_del(&folio->lru)) and subtract its pages from the generation its flags
    name. Freeing such a folio (munmap, then dropping the page cache) leaves consistent
    lists and sizes."""
    k = _kernel()
    p, f, m = _mapped(k, 4)
    assert try_to_inc_max_seq(k, 3, 0)  # second chance: PG_referenced
    p.touch(m)
    assert try_to_inc_max_seq(k, 4, 0)  # promoted in the flags to seq 4's generation (0)
    lrugen = k.lruvec.lrugen
    assert lrugen is not None
    folio = _folios(f)[0]
    assert folio_lru_gen(folio) == 0 and folio in lrugen.folios[2][1]  # still on gen 2
    k.check()
    p.munmap(m)
    k.drop_caches()
    assert k.cachestat(f).nr_cache == 0
    assert all(not lst for lists in lrugen.folios for lst in lists)
    k.check()


def test_the_aging_walk_skips_an_mm_that_did_not_run() -> None:
    """mm/vmscan.c:get_next_mm(): a walk takes an mm only if its lru_gen bitmap bit is set
    (lru_gen_use_mm(), when a task of it was switched in; the model: when it accessed
    memory) and clears the bit; a new mm is force-scanned once. After a first walk of two
    mms, only the one that touched its page again is walked: the other's young bit (set
    by hand here) survives the second walk."""
    k = _kernel()
    a, _, ma = _mapped(k, 1, "a")
    b, _, _ = _mapped(k, 1, "b")
    assert try_to_inc_max_seq(k, 3, 0)
    a.touch(ma)
    _set_young(b, True)
    assert try_to_inc_max_seq(k, 4, 0)
    assert _young(a) == [False] and _young(b) == [True]
    k.check()


def test_the_bloom_filter_drops_sparse_pte_tables() -> None:
    """mm/vmscan.c:walk_pmd_range() walks a PTE table only if the Bloom filter of this
    sequence holds it (once a filter exists); walk_pte_range() puts a table into the next
    sequence's filter when suitable_to_scan(): at least one young PTE per 8 scanned
    (cache_line_size() / sizeof(pte_t)). 64 mapped pages with 4 young: 4 * 8 < 64, so the
    next walk skips the table and a young bit set in between survives it."""
    k = _kernel()
    f = k.create_file("f", 64)
    p = k.spawn("user", uid=10001)
    m = p.mmap(64, file=f, write=False)
    p.touch(m)
    k.lru_add_drain_all()
    assert try_to_inc_max_seq(k, 3, 0)  # first walk, no filter: every table; all young
    p.touch(m, nr_pages=4)  # 4 of 64 young
    assert try_to_inc_max_seq(k, 4, 0)  # table dense at seq 3 (64 young): walked
    assert not any(_young(p))
    p.touch(m, nr_pages=4)
    assert try_to_inc_max_seq(k, 5, 0)  # only 4 young at seq 4: not in seq 5's filter
    assert _young(p)[:4] == [True] * 4
    k.check()


def _young(p: Process) -> list[bool]:
    mm = p.task.mm
    assert mm is not None
    return [bool(pte.bits & _PAGE_ACCESSED) for table in mm.pgd.values()
            if isinstance(table, PteTable) for pte in table if isinstance(pte, Pte)]


def test_pid_controller_protects_a_tier_that_refaults_more() -> None:
    """mm/vmscan.c:get_tier_idx() compares each tier's refaulted / (evicted + protected)
    with tier 0's (gains 3 : 2), via positive_ctrl_err(): a tier with at least
    MIN_LRU_BATCH (64) refaults and a higher rate stops the search, and sort_folio()
    protects every tier above the one before it. With tier 0 at 0 refaults of 1000 and
    tier 1 at 100 of 100 (100 * (1000 + 64) * 2 > (0 + 1) * 100 * 3), tier_idx is 0: of 8
    read pages, the one accessed twice (refs 2: tier 1) is protected -- folio_inc_gen()
    moves it to min_seq + 1 and clears its count -- while the seven accessed once (tier 0)
    are evicted; with three generations left, the last priority round ages instead of
    evicting (get_nr_to_scan()), so the reclaim of 8 ends at 7."""
    k = _kernel()
    f = _read_without_fault(k, 8)
    lrugen = k.lruvec.lrugen
    assert lrugen is not None
    lrugen.avg_total[1][0], lrugen.avg_refaulted[1][1], lrugen.avg_total[1][1] = 1000, 100, 100
    twice = _folios(f)[5]
    for folio in _folios(f):
        folio_mark_accessed(folio)
    folio_mark_accessed(twice)
    assert folio_lru_refs(twice) == 2
    assert k.reclaim(8) == 7
    assert list(f.i_mapping.i_pages.values()) == [twice]
    assert folio_lru_gen(twice) == 1 and folio_lru_refs(twice) == 0
    k.check()


def test_lazyfree_folios_join_the_oldest_file_generation() -> None:
    """mm/swap.c:lru_lazyfree() under the multi-gen LRU: the folio is deleted (it sat in
    a young anon generation, so lru_gen_del_folio() sets PG_active), PG_active is cleared,
    lru_gen_clear_refs() finds no generation (already deleted: nothing cleared) and
    PG_swapbacked is cleared, so lru_gen_folio_seq() puts it, now a *file* folio, in the
    oldest file generation (seq 0). kswapd then reclaims the 32 lazyfree pages first,
    without swap I/O (PGLAZYFREED 32)."""
    from mrelease_ref.mm.madvise import MADV_FREE

    k = _kernel(swap_mib=64)
    p = k.spawn("a", uid=10001)
    m = p.mmap(64)
    p.touch(m, write=True)
    k.lru_add_drain_all()
    p.madvise(m, MADV_FREE, start=0, nr_pages=32)
    k.lru_add_drain_all()
    lrugen = k.lruvec.lrugen
    assert lrugen is not None and lrugen.nr_pages[0] == [0, 32]
    assert k.reclaim(32) == 32
    assert k.vm_events["PGLAZYFREED"] == 32 and k.vm_events.get("PSWPOUT", 0) == 0
    k.check()

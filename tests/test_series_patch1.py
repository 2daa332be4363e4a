"""Patch 1 of the series: clean file folios evicted as the mmu_gather frees them.

Kernel: mm/swap.c:free_pages_and_caches() and free_file_cache() (v1 1/3, draft D),
mm/swap_state.c:free_pages_and_caches() (RFC 1/3, [I]), mm/mmu_gather.c
(tlb_batch_pages_flush()), arch/s390/include/asm/tlb.h (__tlb_remove_folio_pages()),
mm/truncate.c:mapping_evict_folio() (docs/sources.md §T2.5, §T2.6, §T3.1, §T3.2
v1 1/3, §T3.3, §T3.5, §T4.1, §T6 #2-#5, #8, #9, #17).

The eviction predicate (docs/sources.md §T3.2, "Eviction predicate, effective"): a clean file folio
leaves the page cache when its gather entry is freed iff (a) the gate is on (v1 and the RFC:
MMF_UNSTABLE on the mm; draft D: the gather's ``try_evict_file_folios`` bit, set only by a
REAP_KILL reap), (b) it is not anonymous, (c) the trylock succeeds, (d) it still has a
mapping, (e) it is neither dirty nor under writeback, (f) ``refcount <= nr_pages +
has_private + 1``, (g) its private data can be released and (h) ``remove_mapping()``
succeeds. Each test below moves one of these, on every kernel whose reap evicts.

States the model cannot reach through its API (a held folio lock, a GUP pin, a truncated
folio still in a gather, PG_writeback without I/O, a shmem folio in the swap cache) are
constructed by hand; each test says so.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest
from _support import mm_of as _mm
from _support import small_kernel as _kernel
from _support import vma_of as _vma

from mrelease_ref import PROCESS_MRELEASE_REAP_KILL, Kernel, Mapping
from mrelease_ref.include.asm_generic.tlb import MAX_GATHER_BATCH, MMU_GATHER_BUNDLE
from mrelease_ref.include.linux.fs import Inode
from mrelease_ref.include.linux.mm_types import (
    MMF_UNSTABLE,
    Folio,
    MmuNotifier,
    Pmd,
)
from mrelease_ref.include.linux.page_flags import (
    PG_anon,
    PG_dirty,
    PG_freed,
    PG_private,
    PG_swapcache,
    PG_writeback,
)
from mrelease_ref.kernel.sched import run_to_completion
from mrelease_ref.mm.filemap import __filemap_remove_folio, filemap_free_folio
from mrelease_ref.mm.memory import unmap_page_range
from mrelease_ref.mm.mmap import do_munmap
from mrelease_ref.mm.mmu_gather import tlb_finish_mmu, tlb_gather_mmu
from mrelease_ref.mm.swap_state import folio_trylock, folio_unlock, swap_cache_add_folio
from mrelease_ref.mm.swapfile import folio_alloc_swap, swap_duplicate, swap_free_nr
from mrelease_ref.scenarios.stalls import stall_in_fsync
from mrelease_ref.series.d.mm import swap as d_swap
from mrelease_ref.series.v1.mm import swap as v1_swap
from mrelease_ref.sim.process import Process

RK = PROCESS_MRELEASE_REAP_KILL
N = 8  # pages per file; below PAGEVEC_SIZE (31), so no per-CPU batch drains by itself

# (column name, variant, Kernel options, the process_mrelease() flags that turn eviction on)
EVICTING = [
    pytest.param("rfc", {}, 0, id="rfc"),
    pytest.param("v1", {}, 0, id="v1"),
    pytest.param("d", {}, RK, id="d-REAP_KILL"),
]


def _file_victim(
    k: Kernel, nr: int = N, *, drain: bool = True, f: Inode | None = None, **mmap_kw: Any
) -> tuple[Process, Inode, Mapping]:
    """A process with one private file mapping of ``nr`` pages, every page read once."""
    f = f if f is not None else k.create_file(f"data{len(k.inodes)}", nr)
    app = k.spawn("app", uid=10001)
    m = app.mmap(nr, file=f, **mmap_kw)
    if not mmap_kw.get("locked"):
        app.touch(m)
    if drain:
        k.lru_add_drain_all()
    return app, f, m


def _reap(k: Kernel, victim: Process, flags: int) -> None:
    """What LMKD does: kill then process_mrelease(fd, 0), or process_mrelease(fd, REAP_KILL)."""
    lmkd = k.spawn("lmkd", cpu=0)
    fd = lmkd.pidfd_open(victim.pid)
    if not flags:
        lmkd.kill(victim.pid, signal.SIGKILL)
    lmkd.process_mrelease(fd, flags)


def _cached(k: Kernel, f: Inode) -> int:
    return k.cachestat(f).nr_cache


def _folios(f: Inode) -> list[Folio]:
    return sorted(f.i_mapping.i_pages.values(), key=lambda x: x.index)


EvictLog = list[tuple[object, Folio, int, bool]]


@pytest.fixture
def evict_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[EvictLog]:
    """Every ``mapping_evict_folio()`` call the series' free path makes: (mapping, folio,
    return value, whether the folio was anonymous at the call). The RFC reuses v1's
    ``free_file_cache()``; draft D has its own."""
    log: EvictLog = []
    for module in (v1_swap, d_swap):
        real = module.mapping_evict_folio

        def spy(mapping: Any, folio: Folio, real: Any = real) -> int:
            anon = bool(folio.flags & PG_anon)
            ret: int = real(mapping, folio)
            log.append((mapping, folio, ret, anon))
            return ret

        monkeypatch.setattr(module, "mapping_evict_folio", spy)
    yield log


# --- (a) the gate -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "evicts"),
    [("baseline", False), ("rfc", True), ("v1", True), ("d", False), ("v2", False),
     ("v3", False)],
)
@pytest.mark.parametrize("unstable", [False, True])
def test_gate_is_the_mm_flag_in_rfc_and_v1(variant: str, evicts: bool, unstable: bool) -> None:
    """(a) RFC 1/3 and v1 1/3 key eviction on MMF_UNSTABLE of the mm being unmapped, whoever
    unmaps it: here a plain munmap() by a live process whose mm carries the flag (as a
    failed dup_mmap() leaves it, docs/sources.md §T2.3, §T4.2 #9) evicts every clean folio. Draft
    D's gate is the gather's own bit, which only its reaper sets (§T3.5 hunks 1, 5, 6);
    the baseline, v2 and v3 have no patch 1."""
    k = _kernel(variant)
    app, f, m = _file_victim(k)
    if unstable:
        _mm(app).flags |= MMF_UNSTABLE
    app.munmap(m)
    assert _cached(k, f) == (0 if evicts and unstable else N)


@pytest.mark.parametrize(("variant", "evicts"), [("d", True), ("v1", False)])
def test_draft_d_gate_is_the_gather_bit(variant: str, evicts: bool) -> None:
    """(a) Draft D: ``tlb_batch_pages_flush()`` passes ``tlb->try_evict_file_folios`` down
    (docs/sources.md §T3.5 hunk 5); the mm's flags do not matter. v1 ignores the bit (D's new
    field, cleared by ``__tlb_gather_mmu()``) and reads MMF_UNSTABLE, which is clear here.
    A hand-built gather with the bit set stands for D's ``__oom_reap_task_mm(mm, true)``."""
    k = _kernel(variant)
    app, f, m = _file_victim(k)
    vma = _vma(app, m)
    with k.running(app.task):
        tlb = tlb_gather_mmu(_mm(app))
        tlb.try_evict_file_folios = True
        run_to_completion(unmap_page_range(tlb, vma, vma.vm_start, vma.vm_end, None))
        tlb_finish_mmu(tlb)
    assert _cached(k, f) == (0 if evicts else N)
    k.check()


def test_draft_d_evicts_only_on_reap_kill_reaps() -> None:
    """(a) Draft D: ``process_mrelease()`` passes ``reap_kill`` to
    ``__oom_reap_task_mm()``; a flags=0 reap sets MMF_UNSTABLE but evicts nothing (docs/sources.md
    §T3.5 hunk 6, §T6 #2)."""
    for flags, left in ((0, N), (RK, 0)):
        k = _kernel("d")
        app, f, _ = _file_victim(k)
        _reap(k, app, flags)
        assert _mm(app).flags & MMF_UNSTABLE
        assert _cached(k, f) == left, flags
        k.run()


# --- (b) anonymous folios ----------------------------------------------------------------------


@pytest.mark.parametrize(("variant", "kw", "flags"), EVICTING)
def test_anonymous_folios_never_reach_mapping_evict_folio(
    variant: str, kw: dict[str, Any], flags: int, evict_log: EvictLog
) -> None:
    """(b) ``if (folio_test_anon(folio)) free_swap_cache(folio); else if (try_evict)
    free_file_cache(folio);`` (docs/sources.md §T3.2 v1 1/3 hunk 4): the anonymous pages of the
    reap never get an eviction attempt, the file pages each get one."""
    k = _kernel(variant, d_details="intended", **kw)
    app, _, _ = _file_victim(k)
    anon = app.mmap(N)
    app.touch(anon, write=True)
    k.lru_add_drain_all()
    _reap(k, app, flags)
    assert [(anon, ret) for _, _, ret, anon in evict_log] == [(False, 1)] * N
    assert app.status()["RssAnon"] == 0
    k.run()


@pytest.mark.parametrize(
    ("variant", "flags", "anon_mapping_events"), [("v1", 0, 0), ("d", RK, N)]
)
def test_swapcache_fix_sends_anon_folios_to_free_file_cache_harmlessly(
    variant: str, flags: int, anon_mapping_events: int,
    evict_log: EvictLog,
) -> None:
    """(b) With the 2026-05-08 fix (``if (folio_test_swapcache(folio)) free_swap_cache();
    else if (try_evict) free_file_cache();``, ``swapcache_fix=True``), a non-swap-cache
    anonymous folio reaches ``free_file_cache()`` (docs/sources.md §T3.3, §T6 #4). v1 looks the
    mapping up with ``folio_mapping()``: NULL for anon, rule (d) refuses. Draft D uses
    ``folio->mapping``, the anon_vma: the model counts EVICT_ANON_MAPPING and refuses (the
    kernel would hand ``__remove_mapping()`` an anon_vma). Either way nothing anonymous is
    evicted and the anonymous pages are freed as usual."""
    k = _kernel(variant, swapcache_fix=True, d_details="intended")
    app = k.spawn("app", uid=10001)
    anon = app.mmap(N)
    app.touch(anon, write=True)
    k.lru_add_drain_all()
    free = k.zoneinfo()["free_with_pcp"]
    _reap(k, app, flags)
    anon_calls = [(mapping, ret) for mapping, _, ret, anon in evict_log if anon]
    assert len(anon_calls) == len(evict_log) == N and all(ret == 0 for _, ret in anon_calls)
    if variant == "v1":
        assert all(mapping is None for mapping, _ in anon_calls)
    assert k.vm_events.get("EVICT_ANON_MAPPING", 0) == anon_mapping_events
    assert k.zoneinfo()["free_with_pcp"] - free == N
    k.run()


# --- (c) trylock ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("variant", "kw", "flags"), EVICTING)
def test_contended_folio_lock_skips_without_retry(
    variant: str, kw: dict[str, Any], flags: int
) -> None:
    """(c) ``free_file_cache()``: ``if (folio_trylock(folio))`` -- a contended lock means
    the folio is left in the page cache, with no retry (docs/sources.md §T3.2 hunk 4, §T6 #17).
    Constructed: the test holds one folio's lock, as a concurrent filemap_fault() would."""
    k = _kernel(variant, **kw)
    app, f, _ = _file_victim(k)
    held = _folios(f)[3]
    assert folio_trylock(held)
    _reap(k, app, flags)
    assert _folios(f) == [held]
    folio_unlock(held)
    k.run()
    assert _folios(f) == [held] and not held.flags & PG_freed


# --- (d) truncated -------------------------------------------------------------------------------


@pytest.mark.parametrize(("variant", "kw", "flags"), EVICTING)
def test_truncated_folio_is_not_evicted_but_freed(
    variant: str, kw: dict[str, Any], flags: int, evict_log: EvictLog
) -> None:
    """(d) ``mapping_evict_folio()``: ``if (!mapping) return 0`` -- a folio truncated while
    the gather still held it (docs/sources.md §T2.6 rule 1). Constructed: between the zap and the
    flush the test removes one folio from the page cache as truncation would; the gather's
    reference is then the last one, and ``folios_put_refs()`` frees it."""
    k = _kernel(variant, **kw)
    app, f, m = _file_victim(k)
    vma = _vma(app, m)
    mm = _mm(app)
    mm.flags |= MMF_UNSTABLE
    victim = _folios(f)[0]
    with k.running(app.task):
        tlb = tlb_gather_mmu(mm)
        tlb.try_evict_file_folios = bool(flags)  # draft D's reaper would set it
        run_to_completion(unmap_page_range(tlb, vma, vma.vm_start, vma.vm_end, None))
        assert folio_trylock(victim)
        __filemap_remove_folio(victim, None)  # truncate_inode_folio()
        filemap_free_folio(f.i_mapping, victim)
        folio_unlock(victim)
        tlb_finish_mmu(tlb)
    assert (None, victim, 0, False) in evict_log
    assert victim.flags & PG_freed
    assert _cached(k, f) == 0  # the other N - 1 were evicted
    k.check()


# --- (e) dirty, writeback ------------------------------------------------------------------------


@pytest.mark.parametrize(("variant", "kw", "flags"), EVICTING)
def test_dirty_folio_is_not_evicted(variant: str, kw: dict[str, Any], flags: int) -> None:
    """(e) ``if (folio_test_dirty(folio) || folio_test_writeback(folio)) return 0``
    (docs/sources.md §T2.6 rule 2). A MAP_PRIVATE mapping cannot dirty the page cache; another
    process wrote two pages through MAP_SHARED and unmapped (the zap carries the dirty
    PTE bit into the folio), then the victim mapped the file privately."""
    k = _kernel(variant, **kw)
    f = k.create_file("data", N)
    writer = k.spawn("writer", uid=10001)
    shm = writer.mmap(N, file=f, shared=True)
    writer.touch(shm, write=True, nr_pages=2)
    writer.munmap(shm)
    app, _, _ = _file_victim(k, f=f)
    assert k.cachestat(f).nr_dirty == 2
    _reap(k, app, flags)
    assert _cached(k, f) == 2 and k.cachestat(f).nr_dirty == 2
    k.run()


@pytest.mark.parametrize(("variant", "kw", "flags"), EVICTING)
def test_folio_under_writeback_is_not_evicted(
    variant: str, kw: dict[str, Any], flags: int
) -> None:
    """(e) PG_writeback refuses too. Constructed: the flag alone, without the model's bio
    reference, so that only rule (e) (and not the refcount rule) refuses it."""
    k = _kernel(variant, **kw)
    app, f, _ = _file_victim(k)
    wb = _folios(f)[5]
    wb.flags |= PG_writeback
    _reap(k, app, flags)
    assert _folios(f) == [wb]
    wb.flags &= ~PG_writeback
    k.run()


# --- (f) the refcount rule -----------------------------------------------------------------------


@pytest.mark.parametrize(("variant", "kw", "flags"), EVICTING)
def test_folio_mapped_by_another_process_is_not_evicted(
    variant: str, kw: dict[str, Any], flags: int
) -> None:
    """(f) "Completely unmapped" is implemented only through the refcount: another
    process's PTE holds a reference, so ``refcount > nr_pages + 1`` (docs/sources.md §T3.2, Minchan
    on 05-08: shared folios are skipped by the refcount check). It stays cached after the
    other process exits too: its own exit has no MMF_UNSTABLE. The other process maps 3
    pages: fault-around (mm/memory.c:do_fault_around()) stays inside its VMA."""
    k = _kernel(variant, **kw)
    app, f, _ = _file_victim(k)
    other = k.spawn("other", uid=10002)
    om = other.mmap(3, file=f)
    other.touch(om)
    k.lru_add_drain_all()
    _reap(k, app, flags)
    assert _cached(k, f) == 3
    other.exit()
    k.run()
    assert _cached(k, f) == 3


@pytest.mark.parametrize(("variant", "kw", "flags"), EVICTING)
@pytest.mark.parametrize("drain", [False, True])
def test_folio_in_a_per_cpu_lru_batch_is_not_evicted(
    variant: str, kw: dict[str, Any], flags: int, drain: bool
) -> None:
    """(f) A freshly read folio waits in the faulting CPU's lru_add batch, which holds a
    reference until drained (mm/swap.c:__folio_batch_add_and_move()); the reaper does not
    drain, so none of the N (< PAGEVEC_SIZE) folios can be evicted. Drained: all are."""
    k = _kernel(variant, **kw)
    app, f, _ = _file_victim(k, drain=drain)
    _reap(k, app, flags)
    assert _cached(k, f) == (0 if drain else N)
    k.run()


@pytest.mark.parametrize(("variant", "kw", "flags"), EVICTING)
def test_gup_pinned_folio_is_not_evicted(variant: str, kw: dict[str, Any], flags: int) -> None:
    """(f) A GUP pin is a reference (docs/sources.md §T3.2 (f) "no GUP pin"). Constructed: one
    pin_user_pages() reference on one folio (the model has no GUP API)."""
    k = _kernel(variant, **kw)
    app, f, _ = _file_victim(k)
    pinned = _folios(f)[2]
    pinned._pincount += 1
    pinned._refcount += 1
    _reap(k, app, flags)
    assert _folios(f) == [pinned]
    pinned._pincount -= 1
    pinned._refcount -= 1
    k.run()


@pytest.mark.parametrize(("variant", "kw", "flags"), EVICTING)
@pytest.mark.parametrize(("touched", "left"), [(16, 16), (2, 16), (1, 0)])
def test_large_folio_pte_mapped_by_k_ptes_carries_k_gather_refs(
    variant: str, kw: dict[str, Any], flags: int, touched: int, left: int
) -> None:
    """(f) A 16-page folio mapped by k PTEs is zapped as one batch whose gather entry
    carries k references (``__tlb_remove_folio_pages(tlb, page, nr)``): refcount = 16 +
    k, allowed 16 + 1, so only k = 1 is evicted (docs/sources.md §T6 #5, "Nobody raised this")."""
    k = _kernel(variant, large_folios=True, file_folio_order=4, **kw)
    f = k.create_file("lib.so", 16)
    app = k.spawn("app", uid=10001)
    m = app.mmap(16, file=f)
    app.touch(m, nr_pages=touched)
    [folio] = _folios(f)
    assert folio.order == 4 and folio._mapcount == touched
    k.lru_add_drain_all()
    _reap(k, app, flags)
    assert _cached(k, f) == left
    k.run()


@pytest.mark.parametrize(
    ("variant", "arch", "flags", "left"),
    [("v1", "x86_64", 0, 0), ("rfc", "x86_64", 0, 0), ("d", "x86_64", RK, 0),
     ("v1", "s390", 0, 512), ("rfc", "s390", 0, 512), ("baseline", "x86_64", 0, 512)],
)
def test_pmd_mapped_folio_carries_one_ref(variant: str, arch: str, flags: int, left: int) -> None:
    """(f) A PMD-mapped 2 MiB file folio gives the gather one reference
    (``tlb_remove_page_size()``): 512 + 1 passes, so x86_64 evicts it. On s390 the PMD path
    is ``__tlb_remove_page_size()`` -> ``free_folio_and_swap_cache()``, which no version
    changes: never evicted (docs/sources.md §T2.5, §T3.2 hunk 1, §T6 #8). MADV_HUGEPAGE makes the
    fault read a PMD-order folio (mm/filemap.c:do_sync_mmap_readahead())."""
    k = _kernel(variant, large_folios=True, arch=arch)
    f = k.create_file("big.apk", 512)
    app = k.spawn("app", uid=10001)
    m = app.mmap(512, file=f, thp=True)
    app.touch(m)
    assert [type(e) for e in _mm(app).pgd.values()] == [Pmd]
    k.lru_add_drain_all()
    _reap(k, app, flags)
    assert _cached(k, f) == left
    k.run()


def _same_chunk(nr: int) -> int:
    """How many of ``nr`` folios have both gather entries in the same batch when two VMAs
    of ``nr`` pages each are zapped in order into one gather: the on-stack batch takes
    MMU_GATHER_BUNDLE - 1 entries (room is kept for a two-slot record), the next ones
    MAX_GATHER_BATCH - 1 (mm/mmu_gather.c:__tlb_remove_folio_pages_size())."""
    sizes = [MMU_GATHER_BUNDLE - 1] + [MAX_GATHER_BATCH - 1] * 4
    bounds = [sum(sizes[: i + 1]) for i in range(len(sizes))]

    def batch(entry: int) -> int:
        return next(i for i, b in enumerate(bounds) if entry < b)

    return sum(1 for j in range(nr) if batch(j) == batch(nr + j))


@pytest.mark.parametrize(("variant", "kw", "flags"), EVICTING)
@pytest.mark.parametrize("nr", [3, 8])
@pytest.mark.parametrize("same_file", [True, False])
def test_folio_twice_in_one_free_chunk_is_not_evicted(
    variant: str, kw: dict[str, Any], flags: int, nr: int, same_file: bool
) -> None:
    """(f) exit_mmap() zaps every VMA into one full-mm gather. A file page mapped by two
    private VMAs of the same process has two entries; while both are in the same batch
    (one ``free_pages_and_caches()`` call, whose references are put only at its end), both
    attempts see refcount 1 + 2 (docs/sources.md §T6 #5 "small folios mapped twice in the same
    batch"). Once the earlier batch was put, the second entry evicts: with 8 pages per
    VMA only page 7 has both entries in the second batch. The reap here is refused by a
    blocking mmu notifier (EAGAIN): MMF_UNSTABLE is set, everything is left to the victim's
    own exit_mmap(), where the v1/RFC gate is on (§T6 #2). Draft D's exit gather never has
    its bit set: nothing is evicted there."""
    k = _kernel(variant, **kw)
    f = k.create_file("a", nr)
    g = f if same_file else k.create_file("b", nr)
    app = k.spawn("app", uid=10001)
    for file in (f, g):
        app.touch(app.mmap(nr, file=file))
    k.lru_add_drain_all()
    _mm(app).notifier_subscriptions.append(MmuNotifier("kvm", blocks=True))
    with pytest.raises(OSError, match="Resource temporarily unavailable"):
        _reap(k, app, flags)
    assert _cached(k, f) == nr
    k.run()
    assert app.state == "dead"
    left = _same_chunk(nr) if same_file else 0
    assert _cached(k, f) == (nr if variant == "d" else left)
    assert (_same_chunk(3), _same_chunk(8)) == (3, 1)


@pytest.mark.parametrize(("variant", "kw", "flags"), EVICTING)
@pytest.mark.parametrize("nr", [8, 40, 70])
def test_mlocked_folios_in_the_munlock_batch_are_not_evicted(
    variant: str, kw: dict[str, Any], flags: int, nr: int
) -> None:
    """(f) The rmap removal munlocks a folio of a VM_LOCKED VMA through this CPU's mlock
    batch, which takes a reference until it drains (mm/mlock.c:munlock_folio()); the batch
    drains itself every PAGEVEC_SIZE (31) folios. So of ``nr`` mlocked folios the last
    ``nr % 31`` are still referenced at the flush and stay cached. Minchan's answer to
    Gordeev ("Mlocked file folios are munlocked during rmap removal, so they become
    evictable", docs/sources.md §T4.1 #6) holds only for the drained ones. PROT_READ: mlock's
    populate of a writable private mapping would break COW on every page."""
    k = _kernel(variant, **kw)
    app, f, _ = _file_victim(k, nr, locked=True, write=False)
    _reap(k, app, flags)
    assert _cached(k, f) == nr % 31
    k.run()


# --- (g) private data ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "kw", "flags", "evicted"),
    [*(pytest.param(*p.values, N, id=p.id) for p in EVICTING),
     pytest.param("baseline", {}, 0, 0, id="baseline")],
)
def test_buffer_heads_are_released_and_the_folio_evicted(
    variant: str, kw: dict[str, Any], flags: int, evicted: int
) -> None:
    """(g) ``refcount <= nr_pages + folio_has_private() + 1`` allows the buffer heads'
    reference, and ``filemap_release_folio()`` drops them before ``remove_mapping()``
    (docs/sources.md §T2.6 rules 3-5); the baseline keeps the folios, private data and all."""
    k = _kernel(variant, **kw)
    f = k.create_file("ext4.dat", N, buffer_heads=True)
    app, _, _ = _file_victim(k, f=f)
    folios = _folios(f)
    assert all(x.flags & PG_private and x.private is not None for x in folios)
    _reap(k, app, flags)
    assert _cached(k, f) == N - evicted
    gone = [x for x in folios if x.flags & PG_freed]
    assert len(gone) == evicted and all(x.private is None for x in gone)
    k.run()


# --- (h) remove_mapping() ------------------------------------------------------------------------


@pytest.mark.parametrize(("variant", "kw", "flags"), EVICTING)
def test_evicted_folios_are_freed_without_a_shadow_entry(
    variant: str, kw: dict[str, Any], flags: int
) -> None:
    """(h) ``remove_mapping()`` freezes the refcount at 1 + nr_pages, deletes the folio
    from the page cache and unfreezes it to the gather's one reference, which the following
    ``folios_put_refs()`` drops: the folio is freed by the same call (docs/sources.md §T2.6 rule 5).
    ``remove_mapping()`` is ``__remove_mapping(..., reclaimed=false)``: no shadow entry is
    left, so cachestat counts no evicted page and a later read of the file (the app's
    restart) is an ordinary miss, not a workingset refault."""
    k = _kernel(variant, **kw)
    app, f, _ = _file_victim(k)
    folios = _folios(f)
    free = k.zoneinfo()["free_with_pcp"]
    _reap(k, app, flags)
    assert all(x.flags & PG_freed for x in folios)
    assert k.zoneinfo()["free_with_pcp"] - free == N
    assert k.cachestat(f).nr_evicted == 0
    k.run()
    refaults = k.vm_events.get("WORKINGSET_REFAULT_FILE", 0)
    _file_victim(k, f=f)
    assert k.vm_events.get("WORKINGSET_REFAULT_FILE", 0) == refaults


# --- the gate is read at each call (v1, RFC), not per caller ----------------------------------


@pytest.mark.parametrize(
    ("variant", "left"), [("baseline", N), ("rfc", 0), ("v1", 0), ("d", N), ("v2", N)]
)
def test_the_kernel_oom_reaper_evicts_under_the_mm_flag(variant: str, left: int) -> None:
    """v1's gate is per mm: the kernel's OOM reaper sets MMF_UNSTABLE too, so it evicts
    (David Hildenbrand: "Not process_mrelease-specific", docs/sources.md §T4.2 #7, §T6 #2). Draft
    D's ``oom_reap_task_mm()`` passes false (§T3.5 hunk 6). The victim stays attached to its
    mm through a second thread asleep in fsync() on a hung device (D state)."""
    k = _kernel(variant)
    app, f, _ = _file_victim(k)
    stall = stall_in_fsync(k, app)
    k.oom_kill(app.pid)
    k.run()
    assert app.task.mm is None  # the leader exited; the thread in D state holds the mm
    assert _mm(stall.thread).flags & MMF_UNSTABLE
    assert _cached(k, f) == left
    stall.release()
    k.run()


@pytest.mark.parametrize(
    ("variant", "flags", "left"),
    [("baseline", 0, N), ("rfc", 0, 0), ("v1", 0, 0), ("rfc", RK, 0), ("v1", RK, 0),
     ("d", RK, N), ("v2", RK, N)],
)
def test_a_later_exit_mmap_evicts_under_the_mm_flag(variant: str, flags: int, left: int) -> None:
    """The reaper never touches MAP_SHARED file VMAs (docs/sources.md §T2.3, §T4.1 #2), but once it
    set MMF_UNSTABLE, the victim's own exit_mmap() frees their clean folios through the
    same ``free_pages_and_caches()``, which reads the flag again: RFC and v1 evict them
    (§T6 #2 "evaluate the mm flag at the time of each zap or free"). Draft D's bit lives in
    the reaper's gathers only."""
    k = _kernel(variant)
    f = k.create_file("shared.db", N)
    app = k.spawn("app", uid=10001)
    m = app.mmap(N, file=f, shared=True)
    app.touch(m)
    k.lru_add_drain_all()
    _reap(k, app, flags)
    assert _cached(k, f) == N  # the reap skipped the VM_SHARED VMA
    k.run()
    assert app.state == "dead" and _cached(k, f) == left


# --- s390 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("variant", "left_during_zap"), [("v1", 0), ("rfc", N), ("baseline", N)])
def test_s390_evicts_inside_the_zap(variant: str, left_during_zap: int) -> None:
    """s390 has no gather: ``__tlb_remove_folio_pages()`` frees each folio at once. v1 1/3
    passes ``tlb->mm`` there, so an exclusive clean folio is evicted inside
    ``unmap_page_range()``, before ``tlb_finish_mmu()``; the RFC passes ``false`` and never
    evicts on s390 (docs/sources.md §T3.1 s390 hunk, §T3.2 hunk 1, §T6 #8)."""
    k = _kernel(variant, arch="s390")
    app, f, m = _file_victim(k)
    vma = _vma(app, m)
    mm = _mm(app)
    mm.flags |= MMF_UNSTABLE
    with k.running(app.task):
        tlb = tlb_gather_mmu(mm)
        run_to_completion(unmap_page_range(tlb, vma, vma.vm_start, vma.vm_end, None))
        assert _cached(k, f) == left_during_zap
        tlb_finish_mmu(tlb)
    assert _cached(k, f) == left_during_zap
    k.check()


# --- the shmem swap-cache regression (swapcache_fix) ---------------------------------------------


def _shmem_folio_in_swap_cache(k: Kernel) -> tuple[Process, Mapping, Folio]:
    """A MAP_SHARED|MAP_ANONYMOUS page whose folio is also in the swap cache.

    Constructed (shmem_writeout() is not modelled): a swap slot is allocated for the
    mapped shmem folio and the folio added to the swap cache, keeping its shmem page-cache
    entry, so that nothing but SWAP_HAS_CACHE references the slot. Non-anonymous
    (PG_swapbacked, not PG_anon): the kind of folio v1's free path stopped handing to
    ``free_swap_cache()``.
    """
    app = k.spawn("app", uid=10001)
    m = app.mmap(1, shared=True)
    app.touch(m, write=True)
    k.lru_add_drain_all()
    [folio] = [x for i in k.inodes if i.kind == "shmem" for x in i.i_mapping.i_pages.values()]
    assert folio_alloc_swap(folio) == 0 and folio.swap is not None
    swap_cache_add_folio(folio, folio.swap)
    assert not folio.flags & PG_anon and folio.flags & PG_swapcache
    k.check()
    return app, m, folio


SWAPCACHE_CASES = [
    ("baseline", {}, True), ("rfc", {}, False), ("rfc", {"swapcache_fix": True}, True),
    ("v1", {}, False), ("v1", {"swapcache_fix": True}, True), ("d", {}, False),
    ("d", {"swapcache_fix": True}, True), ("v2", {}, True), ("v3", {}, True),
]


@pytest.mark.parametrize(("variant", "kw", "dropped"), SWAPCACHE_CASES)
def test_shmem_swap_cache_folio_dropped_only_without_the_regression(
    variant: str, kw: dict[str, Any], dropped: bool
) -> None:
    """The baseline's ``free_pages_and_swap_cache()`` calls ``free_swap_cache()`` on every
    folio; v1 1/3 and draft D only on anonymous ones, so an unmapped shmem folio stays in
    the swap cache and keeps its slot (Gordeev's review, acknowledged, docs/sources.md §T4.1 #6,
    §T6 #3). The 05-08 fix (``swapcache_fix``: swap cache first) restores the drop. The
    model takes the RFC's loop to be v1's ([I], §T3.1), so the RFC misses it too. Any gather
    shows it; here the owner's own munmap() (the reaper never zaps MAP_SHARED)."""
    k = _kernel(variant, swap_mib=4, **kw)
    app, m, folio = _shmem_folio_in_swap_cache(k)
    si = k.swap_info
    assert si is not None and si.inuse_pages == 1
    app.munmap(m)  # the last mapping of the /dev/zero inode: it is truncated, too
    if dropped:
        assert folio.flags & PG_freed and si.inuse_pages == 0
    else:  # an orphan: only the swap cache holds it, and it holds the slot
        assert folio.flags & PG_swapcache and folio._refcount == 1 and si.inuse_pages == 1


@pytest.mark.parametrize(("variant", "kw", "dropped"), SWAPCACHE_CASES)
def test_folio_swapped_keeps_it_in_every_version(
    variant: str, kw: dict[str, Any], dropped: bool
) -> None:
    """While something else still references the swap slot (shmem's page-cache entry does,
    once shmem_writeout() replaced the folio by its swap entry), ``folio_free_swap()``
    refuses because ``folio_swapped()``, so every version keeps the folio in the swap
    cache: the regression shows only for slots nobody else uses. Constructed: one
    ``swap_duplicate()`` reference the invariant checker cannot attribute, so the unmap
    runs below the API and the reference is dropped before ``k.check()``."""
    k = _kernel(variant, swap_mib=4, **kw)
    app, m, folio = _shmem_folio_in_swap_cache(k)
    entry = folio.swap
    assert entry is not None
    swap_duplicate(k, entry)
    with k.running(app.task):
        run_to_completion(do_munmap(_mm(app), _vma(app, m), app.task))
    assert folio.flags & PG_swapcache
    swap_free_nr(k, entry, 1)
    k.check()


@pytest.mark.parametrize(
    ("variant", "kw", "dropped"),
    [("baseline", {}, True), ("rfc", {}, True), ("v1", {}, True), ("d", {}, False),
     ("d", {"swapcache_fix": True}, True), ("v1", {"swapcache_fix": True}, True),
     ("v2", {}, True)],
)
def test_shmem_swap_cache_folio_while_evicting(
    variant: str, kw: dict[str, Any], dropped: bool
) -> None:
    """With the eviction gate on, v1 (and the RFC) reach the swap-cache folio anyway:
    ``free_file_cache()`` asks ``folio_mapping()``, which for a swap-cache folio is the swap
    address space, so ``mapping_evict_folio()`` -> ``remove_mapping()`` takes it out of the
    swap cache (docs/sources.md §T3.2 hunk 4 uses ``folio_mapping()``; §T6 #4). Draft D reads
    ``folio->mapping``, NULL once the folio left the shmem page cache: rule (d) refuses and
    the folio stays (§T3.5 hunk 7 "The shmem-swapcache miss is still there"). Constructed
    between the zap and the flush, as a writeout would leave it: the folio moves, clean,
    from the shmem page cache to the swap cache, and nothing else references its slot."""
    k = _kernel(variant, swap_mib=4, **kw)
    app = k.spawn("app", uid=10001)
    m = app.mmap(1, shared=True)
    app.touch(m)  # a read: no dirty PTE, whose delayed rmap would flush the gather at once
    k.lru_add_drain_all()
    [folio] = [x for i in k.inodes if i.kind == "shmem" for x in i.i_mapping.i_pages.values()]
    shmem = folio.mapping
    assert shmem is not None
    vma = _vma(app, m)
    mm = _mm(app)
    mm.flags |= MMF_UNSTABLE
    with k.running(app.task):
        tlb = tlb_gather_mmu(mm)
        tlb.try_evict_file_folios = True  # draft D's reaper would set it
        run_to_completion(unmap_page_range(tlb, vma, vma.vm_start, vma.vm_end, None))
        assert folio_trylock(folio)
        __filemap_remove_folio(folio, None)
        filemap_free_folio(shmem, folio)  # type: ignore[arg-type]
        assert folio_alloc_swap(folio) == 0 and folio.swap is not None
        swap_cache_add_folio(folio, folio.swap)
        folio.flags &= ~PG_dirty  # written out
        folio_unlock(folio)
        tlb_finish_mmu(tlb)
    si = k.swap_info
    assert si is not None
    if dropped:
        assert folio.flags & PG_freed and si.inuse_pages == 0
    else:
        assert folio.flags & PG_swapcache and folio._refcount == 1 and si.inuse_pages == 1
    k.check()

"""kswapd-style LRU reclaim: shrink_node() and the classic two-list LRU rules it follows.

Kernel: mm/vmscan.c (shrink_node(), shrink_lruvec(), shrink_list(), inactive_is_low(),
shrink_active_list(), shrink_inactive_list(), isolate_lru_folios(),
folio_check_references(), shrink_folio_list(), move_folios_to_lru()), mm/rmap.c
(folio_referenced(), folio_referenced_one()), mm/workingset.c (workingset_eviction(),
workingset_refault()); v6.18 with CONFIG_LRU_GEN off, as on these machines.

Every test runs with the invariant checker on (``debug_vm=True``), with 4 KiB folios
unless the test is about large folios. ``Kernel.reclaim(n)`` is the entry point.
"""

from __future__ import annotations

import errno
import signal

import pytest

from mrelease_ref.include.linux.fs import Inode
from mrelease_ref.include.linux.mm_types import (
    _PAGE_ACCESSED,
    PAGE_SHIFT,
    PMD_SHIFT,
    VM_EXEC,
    Folio,
    MmuNotifier,
    Pmd,
    Pte,
    PteTable,
    VmAreaStruct,
)
from mrelease_ref.include.linux.mmzone import NR_LRU_BASE, LruList
from mrelease_ref.include.linux.page_flags import (
    PG_active,
    PG_lru,
    PG_referenced,
    PG_workingset,
)
from mrelease_ref.mm import vmscan
from mrelease_ref.mm.rmap import folio_referenced
from mrelease_ref.mm.swap import folio_mark_accessed
from mrelease_ref.mm.swap_state import folio_trylock, folio_unlock
from mrelease_ref.sim.kernel import Kernel
from mrelease_ref.sim.process import Mapping, Process

INACTIVE_FILE = int(LruList.LRU_INACTIVE_FILE)
ACTIVE_FILE = int(LruList.LRU_ACTIVE_FILE)
INACTIVE_ANON = int(LruList.LRU_INACTIVE_ANON)


def _kernel(**kw: object) -> Kernel:
    args: dict[str, object] = {"large_folios": False, "debug_vm": True}
    args.update(kw)
    return Kernel(**args)  # type: ignore[arg-type]


def _mapped_file(k: Kernel, nr: int, name: str = "app.dat") -> tuple[Inode, Process, Mapping]:
    """A process mapping ``nr`` pages of a new file privately, read-only, every page read
    once; the LRU batches are drained so every folio is on an LRU list."""
    f = k.create_file(name, nr)
    p = k.spawn("app", uid=10001)
    m = p.mmap(nr, file=f, write=False)
    p.touch(m)
    k.lru_add_drain_all()
    return f, p, m


def _folio(f: Inode, index: int) -> Folio:
    folio = f.i_mapping.i_pages[index]
    return folio


def _pte(p: Process, m: Mapping, i: int) -> Pte:
    mm = p.task.mm
    assert mm is not None
    addr = m.start + (i << PAGE_SHIFT)
    table = mm.pgd[addr >> PMD_SHIFT]
    assert isinstance(table, PteTable)
    pte = table[(addr >> PAGE_SHIFT) & 511]
    assert isinstance(pte, Pte)
    return pte


def _vma(p: Process, m: Mapping) -> VmAreaStruct:
    mm = p.task.mm
    assert mm is not None
    [vma] = [v for v in mm.mm_mt if v.vm_start == m.start]
    return vma


def _lru_pages(k: Kernel, lru: int) -> int:
    return k.vmstat[NR_LRU_BASE + lru]


def _scan(k: Kernel, nr: int, lru: int = INACTIVE_FILE) -> int:
    """One shrink_list() pass over ``nr`` pages of ``lru`` as kswapd (returns reclaimed);
    the invariant checker runs afterwards, as after an API call."""
    sc = vmscan.ScanControl(kernel=k, nr_to_reclaim=nr, may_deactivate=vmscan.DEACTIVATE_FILE)
    with k.running(k.kthreadd):
        got = vmscan.shrink_list(lru, nr, k.lruvec, sc)
    k.check()
    return got


# --- folio_referenced() -------------------------------------------------------------------


def test_folio_referenced_counts_referencing_vmas_and_clears_young_bits() -> None:
    """folio_referenced() walks the rmap and test-and-clears each young PTE
    (ptep_clear_flush_young_notify()); the result counts the VMAs that found the folio
    young, and a second walk with no access in between finds nothing. Kernel:
    mm/rmap.c:folio_referenced(), folio_referenced_one()."""
    k = _kernel()
    f, app, m = _mapped_file(k, 4)
    other = k.spawn("other", uid=10002)
    om = other.mmap(4, file=f, write=False)
    other.touch(om)
    folio = _folio(f, 0)
    assert _pte(app, m, 0).bits & _PAGE_ACCESSED
    assert folio_referenced(folio, False) == (2, _vma(app, m).vm_flags | _vma(other, om).vm_flags)
    assert not _pte(app, m, 0).bits & _PAGE_ACCESSED
    assert not _pte(other, om, 0).bits & _PAGE_ACCESSED
    assert folio_referenced(folio, False) == (0, 0)
    other.touch(om, nr_pages=1)
    assert folio_referenced(folio, False)[0] == 1
    k.check()


def test_folio_referenced_of_an_unmapped_folio_is_zero() -> None:
    """An unmapped folio has nothing to walk: ``if (!pra.mapcount) return 0``. Kernel:
    mm/rmap.c:folio_referenced()."""
    k = _kernel()
    f, app, m = _mapped_file(k, 2)
    app.munmap(m)
    assert folio_referenced(_folio(f, 0), False) == (0, 0)


def test_folio_referenced_of_a_contended_file_folio_counts_as_referenced() -> None:
    """An unlocked file folio whose lock is held elsewhere is not walked: the trylock fails
    and the result is 1, "referenced". Kernel: mm/rmap.c:folio_referenced()
    (``we_locked = folio_trylock(folio); if (!we_locked) return 1``)."""
    k = _kernel()
    f, _app, _m = _mapped_file(k, 1)
    folio = _folio(f, 0)
    assert folio_trylock(folio)
    assert folio_referenced(folio, False) == (1, 0)
    folio_unlock(folio)


def test_folio_referenced_harvests_a_pmd_mapping() -> None:
    """A PMD-mapped folio is referenced through its PMD's young bit
    (pmdp_clear_flush_young_notify()). Kernel: mm/rmap.c:folio_referenced_one(). The
    mapping asks for MADV_HUGEPAGE, so the fault reads a PMD-order folio
    (mm/filemap.c:do_sync_mmap_readahead()) and maps it with one PMD."""
    k = _kernel(large_folios=True)
    f = k.create_file("big.dat", 512)
    p = k.spawn("app", uid=10001)
    m = p.mmap(512, file=f, write=False, thp=True)
    p.touch(m, nr_pages=1)
    mm = p.task.mm
    assert mm is not None
    pmd = mm.pgd[m.start >> PMD_SHIFT]
    assert isinstance(pmd, Pmd) and pmd.bits & _PAGE_ACCESSED
    assert folio_referenced(_folio(f, 0), False)[0] == 1
    assert not pmd.bits & _PAGE_ACCESSED


# --- folio_check_references() through shrink_node() ---------------------------------------


def test_a_mapped_folio_needs_two_references_to_be_activated() -> None:
    """Every mapped folio starts with the young bit of its own fault, so the first scan
    only sets PG_referenced and keeps it (FOLIOREF_KEEP, back to the inactive list); a
    second young bit at the next scan activates it (FOLIOREF_ACTIVATE); without one it is
    reclaimed (PG_referenced alone: FOLIOREF_RECLAIM_CLEAN). Kernel:
    mm/vmscan.c:folio_check_references()."""
    k = _kernel()
    f, app, m = _mapped_file(k, 64)
    assert _scan(k, 64) == 0  # everything is young once: all kept
    assert all(_folio(f, i).flags & PG_referenced for i in range(64))
    assert not any(_pte(app, m, i).bits & _PAGE_ACCESSED for i in range(64))
    app.touch(m, nr_pages=16)  # used again: pages 0..15
    assert _scan(k, 64) == 48
    assert k.cachestat(f).nr_cache == 16
    assert all(_folio(f, i).flags & PG_active for i in range(16))
    assert k.vm_events["PGACTIVATE"] == 16
    assert k.vm_events["PGSTEAL_FILE"] == 48 and k.vm_events["PGSTEAL_KSWAPD"] == 48


def test_two_referencing_mappings_activate_at_the_first_scan() -> None:
    """``referenced_ptes > 1`` activates at once: two processes both used the folio.
    Kernel: mm/vmscan.c:folio_check_references()."""
    k = _kernel()
    f, _app, _m = _mapped_file(k, 8)
    other = k.spawn("other", uid=10002)
    om = other.mmap(4, file=f, write=False)
    other.touch(om)
    assert _scan(k, 8) == 0
    assert [bool(_folio(f, i).flags & PG_active) for i in range(8)] == [True] * 4 + [False] * 4


def test_executable_file_folios_are_activated_after_the_first_use() -> None:
    """A referenced file folio of a VM_EXEC mapping is activated at its first scan
    ("Activate file-backed executable folios after first usage"). Kernel:
    mm/vmscan.c:folio_check_references()."""
    k = _kernel()
    f, app, m = _mapped_file(k, 8)
    _vma(app, m).vm_flags |= VM_EXEC  # the model's mmap() has no PROT_EXEC
    assert _scan(k, 8) == 0
    assert all(_folio(f, i).flags & PG_active for i in range(8))


def test_one_reclaim_call_raises_the_priority_and_rescans() -> None:
    """shrink_node() scans ``size >> priority`` pages at each priority from DEF_PRIORITY
    down until the target is met, so a folio kept (first reference) at one priority is
    scanned again at a lower one and, not young any more, reclaimed: 64 pages touched once
    give 63 in one call (the last one scanned only once). Kernel:
    mm/vmscan.c:get_scan_count(), balance_pgdat() (priority loop)."""
    k = _kernel()
    f, _app, _m = _mapped_file(k, 64)
    assert k.reclaim(64) == 63 and k.cachestat(f).nr_cache == 1
    assert k.vm_events["PGSCAN_FILE"] == 64 - 1 + 64  # 1+2+...+32, then all 64 at priority 0


def test_reclaim_stops_once_the_target_is_met() -> None:
    """kswapd stops scanning once it reclaimed what it was asked for (checked after each
    SWAP_CLUSTER_MAX chunk); the scan target is recomputed from the list's current size
    at each priority: 1, 1, 3, 7, 15, 31 pages at priorities 10..5, then 60 at priority 4,
    of which two chunks (32 + 28) are needed. Kernel: mm/vmscan.c:shrink_lruvec()."""
    k = _kernel(trace=True)
    f, app, m = _mapped_file(k, 1024)
    app.munmap(m)  # use-once page cache, reclaimable at the first scan
    assert k.reclaim(100) == 118
    assert k.cachestat(f).nr_cache == 1024 - 118
    scans = [e.detail for e in k.trace if e.func == "shrink_inactive_list"]
    assert [int(d.split("scanned=")[1].split()[0]) for d in scans] == [1, 1, 3, 7, 15, 31, 32, 28]


def test_an_unmapped_folio_with_pg_referenced_is_reclaimed_at_its_first_scan() -> None:
    """Unmapped page cache that was used once (an unmap's folio_mark_accessed() set
    PG_referenced) has no referenced PTE: FOLIOREF_RECLAIM_CLEAN, reclaimed if clean. Only
    an active folio survives a scan without mappings. Kernel:
    mm/vmscan.c:folio_check_references()."""
    k = _kernel()
    f, app, m = _mapped_file(k, 8)
    app.munmap(m)  # zap: the young PTEs mark every folio accessed
    assert all(_folio(f, i).flags & PG_referenced for i in range(8))
    assert k.reclaim(8) == 8
    assert k.cachestat(f).nr_cache == 0


def test_reclaimed_file_folios_leave_shadows_and_refault() -> None:
    """Reclaim removes a file folio with ``__remove_mapping(reclaimed=true)``, which stores
    a shadow entry (workingset_eviction()); reading the page again finds it and counts
    WORKINGSET_REFAULT_FILE, and, the refault distance being short,
    WORKINGSET_ACTIVATE_FILE with the new folio activated. Kernel:
    mm/vmscan.c:__remove_mapping(), mm/workingset.c:workingset_refault(). Touching 4
    pages refaults all 16: the miss reads around it (mm/filemap.c:do_sync_mmap_readahead(),
    ``ra_pages`` clamped to the 16-page file)."""
    k = _kernel()
    other, _, _ = _mapped_file(k, 256, "other.dat")
    # workingset_test_recent() compares the distance with the *active* file list (v6.18):
    # two accesses activate the other file, so the refaults below are recent
    with k.running(k.kthreadd):
        for folio in list(other.i_mapping.i_pages.values()):
            folio_mark_accessed(folio)
            folio_mark_accessed(folio)
    k.lru_add_drain_all()
    f, app, m = _mapped_file(k, 16)
    app.munmap(m)
    assert _scan(k, 256 + 16) == 16
    cs = k.cachestat(f)
    assert cs.nr_cache == 0 and cs.nr_evicted == 16 and cs.nr_recently_evicted == 16
    again = k.spawn("again", uid=10001)
    m2 = again.mmap(16, file=f, write=False)
    again.touch(m2, nr_pages=4)
    assert k.vm_events["WORKINGSET_REFAULT_FILE"] == 16
    assert k.vm_events["WORKINGSET_ACTIVATE_FILE"] == 16
    assert all(_folio(f, i).flags & PG_active for i in range(16))


def test_dirty_file_folios_are_activated_for_the_flusher() -> None:
    """Reclaim never writes file folios itself: a dirty one is marked PG_reclaim and
    activated (``goto activate_locked``) for writeback to clean it. Kernel:
    mm/vmscan.c:shrink_folio_list()."""
    k = _kernel()
    f = k.create_file("rw.dat", 4)
    p = k.spawn("app", uid=10001)
    m = p.mmap(4, file=f, shared=True)
    p.touch(m, write=True)
    p.munmap(m)
    k.lru_add_drain_all()
    assert k.reclaim(4) == 0
    assert k.cachestat(f).nr_dirty == 4
    assert all(_folio(f, i).flags & PG_active for i in range(4))


def test_mlocked_pages_are_not_on_the_lists_reclaim_scans() -> None:
    """An mlocked folio sits on the unevictable list, which reclaim never scans. Kernel:
    mm/vmscan.c:shrink_lruvec() (for_each_evictable_lru)."""
    k = _kernel()
    f = k.create_file("locked.dat", 8)
    p = k.spawn("app", uid=10001)
    m = p.mmap(8, file=f, write=False, locked=True)
    p.touch(m)
    k.lru_add_drain_all()
    assert k.reclaim(8) == 0 and k.cachestat(f).nr_cache == 8


# --- which lists are scanned --------------------------------------------------------------


def test_without_swap_anonymous_lists_are_not_scanned() -> None:
    """Without a swap device anonymous memory cannot be reclaimed, so get_scan_count()
    picks SCAN_FILE: the anonymous lists are left alone. Kernel:
    mm/vmscan.c:get_scan_count(), can_reclaim_anon_pages()."""
    k = _kernel()
    p = k.spawn("app", uid=10001)
    m = p.mmap(64)
    p.touch(m, write=True)
    k.lru_add_drain_all()
    assert k.reclaim(64) == 0
    assert k.vm_events.get("PGSCAN_ANON", 0) == 0 and p.status()["RssAnon"] == 64 * 4


def test_with_swap_anonymous_pages_go_to_swap() -> None:
    """With a swap device the anonymous inactive list is scanned too: a folio used once is
    kept, then swapped out (add_to_swap(), try_to_unmap(), pageout()). Kernel:
    mm/vmscan.c:shrink_folio_list()."""
    k = _kernel(swap_mib=64)
    p = k.spawn("app", uid=10001)
    m = p.mmap(64)
    p.touch(m, write=True)
    k.lru_add_drain_all()
    assert _scan(k, 64, INACTIVE_ANON) == 0  # first reference: kept
    assert _scan(k, 64, INACTIVE_ANON) == 64
    assert k.vm_events["PSWPOUT"] == 64
    assert p.status()["VmSwap"] == 64 * 4 and k.vm_events["PGSTEAL_ANON"] == 64


def test_anonymous_folios_of_a_reaped_mm_are_not_swapped_out() -> None:
    """folio_referenced_one() skips the non-shared swap-backed folio of an exiting or
    OOM-reaped mm (``check_stable_address_space()``): referenced = -1, FOLIOREF_KEEP, no
    pointless swap-out before the reaper frees it. Here the reap returned EAGAIN (a
    blocking mmu notifier) after setting MMF_UNSTABLE, so the pages are still there.
    Kernel: mm/rmap.c:folio_referenced_one(), mm/vmscan.c:folio_check_references()."""
    k = _kernel(swap_mib=64)
    lmkd = k.spawn("lmkd")
    p = k.spawn("app", uid=10001)
    m = p.mmap(32)
    p.touch(m, write=True)
    mm = p.task.mm
    assert mm is not None
    mm.notifier_subscriptions.append(MmuNotifier("kvm", blocks=True))
    fd = lmkd.pidfd_open(p.pid)
    p.freeze()
    lmkd.kill(p.pid, signal.SIGKILL)
    with pytest.raises(OSError) as exc:
        lmkd.process_mrelease(fd, 0)
    assert exc.value.errno == errno.EAGAIN
    k.lru_add_drain_all()
    assert k.reclaim(32) == 0
    assert k.vm_events.get("PSWPOUT", 0) == 0 and k.vm_events["PGSCAN_ANON"] > 0


# --- the active list ------------------------------------------------------------------------


def _activate(k: Kernel, app: Process, m: Mapping, nr: int) -> None:
    """Make the ``nr`` pages of ``m`` active: two scans that find them young."""
    _scan(k, nr)
    app.touch(m, nr_pages=nr)
    _scan(k, nr)


def test_inactive_is_low_compares_the_lists() -> None:
    """Below 1 GiB of pages the inactive list is low when smaller than the active list;
    from 1 GiB the active list may be int_sqrt(10 * GiB) times larger. Kernel:
    mm/vmscan.c:inactive_is_low()."""
    k = Kernel(large_folios=False)
    vm = k.vmstat
    for inactive, active, low in ((100, 101, True), (100, 100, False),
                                  (200_000, 300_000, False), (100_000, 600_000, True)):
        vm[NR_LRU_BASE + INACTIVE_FILE], vm[NR_LRU_BASE + ACTIVE_FILE] = inactive, active
        assert vmscan.inactive_is_low(k, INACTIVE_FILE) is low, (inactive, active)
    # 500_000 pages = 1.9 GiB -> gb 1 -> ratio int_sqrt(10) = 3: 100_000 * 3 < 400_000
    vm[NR_LRU_BASE + INACTIVE_FILE], vm[NR_LRU_BASE + ACTIVE_FILE] = 0, 0


def test_shrink_active_list_deactivates_even_referenced_folios() -> None:
    """shrink_active_list() moves folios from the tail of the active list to the inactive
    list, referenced or not -- their young bits are harvested on the way
    (folio_referenced()), PG_referenced stays, and they get PG_workingset. Kernel:
    mm/vmscan.c:shrink_active_list()."""
    k = _kernel()
    f, app, m = _mapped_file(k, 64)
    _activate(k, app, m, 64)
    assert _lru_pages(k, ACTIVE_FILE) == 64 and _lru_pages(k, INACTIVE_FILE) == 0
    assert vmscan.inactive_is_low(k, INACTIVE_FILE)
    app.touch(m)  # referenced again while active
    _scan(k, 32, ACTIVE_FILE)
    assert k.vm_events["PGDEACTIVATE"] == 32 and k.vm_events["PGREFILL"] == 32
    tail = [_folio(f, i) for i in range(32)]  # activated first: the tail of the list
    assert all(not fo.flags & PG_active and fo.flags & PG_workingset for fo in tail)
    assert all(fo.flags & PG_referenced for fo in tail)
    assert not any(_pte(app, m, i).bits & _PAGE_ACCESSED for i in range(32))
    assert all(_pte(app, m, i).bits & _PAGE_ACCESSED for i in range(32, 64))


def test_shrink_active_list_keeps_referenced_executable_file_folios() -> None:
    """A referenced file folio of a VM_EXEC mapping gets another trip round the active list
    ("executable code get better chances to stay in memory"). Kernel:
    mm/vmscan.c:shrink_active_list()."""
    k = _kernel()
    _f, app, m = _mapped_file(k, 64)
    _activate(k, app, m, 64)
    _vma(app, m).vm_flags |= VM_EXEC
    app.touch(m)
    lruvec = k.lruvec
    sc = vmscan.ScanControl(kernel=k, nr_to_reclaim=1)
    vmscan.shrink_active_list(64, lruvec, sc, ACTIVE_FILE)
    assert _lru_pages(k, ACTIVE_FILE) == 64 and k.vm_events.get("PGDEACTIVATE", 0) == 0
    vmscan.shrink_active_list(64, lruvec, sc, ACTIVE_FILE)  # not referenced again: out
    assert _lru_pages(k, INACTIVE_FILE) == 64


# --- isolation --------------------------------------------------------------------------------


def test_isolate_lru_folios_takes_from_the_tail() -> None:
    """isolate_lru_folios() takes folios from the tail of the list -- the oldest, the last
    ones a walk from the head meets -- each with a reference and PG_lru cleared; putting them back
    adds them at the head. Kernel: mm/vmscan.c:isolate_lru_folios(), move_folios_to_lru()."""
    k = _kernel()
    _f, _app, _m = _mapped_file(k, 8)
    lst = k.lruvec.lists[INACTIVE_FILE]
    tail = list(reversed(lst))[:3]
    refs = [fo._refcount for fo in tail]
    sc = vmscan.ScanControl(kernel=k, nr_to_reclaim=3)
    got: list[Folio] = []
    assert vmscan.isolate_lru_folios(3, k.lruvec, got, sc, INACTIVE_FILE) == (3, 3)
    assert got == tail and all(not fo.flags & PG_lru for fo in got)
    assert [fo._refcount for fo in got] == [r + 1 for r in refs]
    assert _lru_pages(k, INACTIVE_FILE) == 5
    vmscan.move_folios_to_lru(k.lruvec, got)
    assert list(reversed(lst))[-3:] == tail and [fo._refcount for fo in tail] == refs
    k.check()


def test_folios_in_a_per_cpu_batch_can_be_isolated_and_the_drain_skips_them() -> None:
    """In v6.18 a folio parked in an lru_activate batch keeps PG_lru, so reclaim may
    isolate it. The batch's reference blocks its reclaim (__remove_mapping() cannot freeze
    the count), so it goes back to the LRU, and the later drain, finding PG_lru set again,
    activates it. Kernel: mm/swap.c:folio_batch_move_lru(),
    mm/vmscan.c:isolate_lru_folios()."""
    k = _kernel()
    f, app, m = _mapped_file(k, 4)
    assert _scan(k, 4) == 0  # first reference: PG_referenced, kept
    app.touch(m)
    app.munmap(m)  # young again -> folio_mark_accessed() activates: queued in a batch
    assert sum(len(fb.lru_activate) for fb in k.cpu_fbatches) == 4
    assert all(_folio(f, i).flags & PG_lru for i in range(4))
    assert _scan(k, 4) == 0  # isolated, but the batch's reference keeps them
    assert k.cachestat(f).nr_cache == 4 and k.vm_events.get("PGACTIVATE", 0) == 0
    k.lru_add_drain_all()  # put back on the LRU meanwhile: the drain activates them
    assert all(_folio(f, i).flags & PG_active for i in range(4))
    assert k.vm_events["PGACTIVATE"] == 4

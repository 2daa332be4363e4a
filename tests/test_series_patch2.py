"""Patch 2 of the series: no LRU movement for exclusive file folios while reaping.

Kernel: mm/memory.c:zap_present_folio_ptes() as patched by RFC 2/3
(``folio_mapcount(folio) < 2``), v1 2/3 (``!folio_maybe_mapped_shared(folio)``) and draft D
(``details->ignore_access && !folio_maybe_mapped_shared(folio)``); mm/huge_memory.c
(zap_huge_pmd(), unchanged); include/linux/mm.h:folio_maybe_mapped_shared(); mm/swap.c
(folio_mark_accessed(), folio_activate()) (docs/sources.md §T2.4, §T3.1,
§T3.2 v1 2/3, §T3.5, §T3.7, §T4.2, §T6 #6, #7, #16).

The model counts every ``folio_mark_accessed()`` call in ``vm_events["MARK_ACCESSED"]``; a
young PTE of a file folio reaches it unless the patch's skip predicate holds. Every page
below is read once, so its PTE is young and ``vma_has_recency()`` is true.
"""

from __future__ import annotations

import signal
from typing import Any

import pytest
from _support import mm_of as _mm
from _support import small_kernel as _kernel

from mrelease_ref import PROCESS_MRELEASE_REAP_KILL, Kernel
from mrelease_ref.include.linux.fs import Inode
from mrelease_ref.include.linux.mm_types import MM_ANONPAGES, MM_SWAPENTS, Pmd
from mrelease_ref.include.linux.page_flags import PG_active, PG_referenced
from mrelease_ref.mm.madvise import MADV_PAGEOUT
from mrelease_ref.scenarios.stalls import stall_in_fsync
from mrelease_ref.sim.process import Process

RK = PROCESS_MRELEASE_REAP_KILL
N = 16  # pages per file: below PAGEVEC_SIZE (31), so no per-CPU batch drains by itself


def _marks(k: Kernel) -> int:
    return k.vm_events.get("MARK_ACCESSED", 0)


def _reader(
    k: Kernel, f: Inode, name: str = "app", nr: int | None = None, *, vma: int | None = None,
    thp: bool = False,
) -> Process:
    """A process that maps ``vma`` pages of ``f`` privately (default: all, with
    MADV_HUGEPAGE if ``thp``) and reads ``nr`` pages of them (default: all)."""
    p = k.spawn(name, uid=10001)
    m = p.mmap(vma or f.i_size, file=f, thp=thp)
    p.touch(m, nr_pages=nr)
    return p


def _reap(k: Kernel, victim: Process, flags: int) -> int:
    """Kill-then-release (flags 0) or REAP_KILL; returns the folio_mark_accessed() calls
    the call made."""
    k.lru_add_drain_all()
    lmkd = k.spawn("lmkd", cpu=0)
    fd = lmkd.pidfd_open(victim.pid)
    if not flags:
        lmkd.kill(victim.pid, signal.SIGKILL)
    before = _marks(k)
    lmkd.process_mrelease(fd, flags)
    return _marks(k) - before


@pytest.mark.parametrize(
    ("variant", "kw", "flags", "marks"),
    [
        ("baseline", {}, 0, N),
        ("rfc", {}, 0, 0),
        ("rfc", {}, RK, 0),
        ("v1", {}, 0, 0),
        ("v1", {}, RK, 0),
        ("v1", {"patches": 1}, 0, N),
        ("v1", {"patches": 2}, 0, 0),
        ("d", {}, 0, N),
        ("d", {}, RK, 0),
        ("v2", {}, RK, N),
        ("v3", {}, RK, N),
    ],
)
def test_skip_predicate_per_version_exclusive_small_folio(
    variant: str, kw: dict[str, Any], flags: int, marks: int
) -> None:
    """For a small folio mapped only by the victim: the RFC and v1 skip
    ``folio_mark_accessed()`` whenever the mm has MMF_UNSTABLE, which every reap sets first
    (docs/sources.md §T2.3, §T3.1, §T3.2 v1 2/3); draft D only on REAP_KILL reaps, through
    ``zap_details.ignore_access`` (§T3.5 hunks 2, 4, 6); v1 with patch 1 alone, v2 and v3
    mark every young PTE, as the baseline does (§T2.4 step 3)."""
    k = _kernel(variant, **kw)
    f = k.create_file("app.apk", N)
    app = _reader(k, f)
    assert _reap(k, app, flags) == marks
    k.run()


@pytest.mark.parametrize(("variant", "flags"), [("rfc", 0), ("v1", 0), ("d", RK)])
def test_exclusivity_is_tested_before_this_mappings_rmap_removal(
    variant: str, flags: int
) -> None:
    """The test runs after the PTE clear and *before* ``folio_remove_rmap_ptes()``, so the
    mapping being zapped still counts (docs/sources.md §T3.2 v1 2/3, §T6 #6): a small folio also
    mapped by one other process has mapcount 2 there -- shared for every version -- and is
    marked. Tested after the removal it would have been 1, exclusive, and skipped. The other
    process maps only 4 pages: fault-around (mm/memory.c:do_fault_around()) stays inside
    its VMA."""
    k = _kernel(variant)
    f = k.create_file("lib.so", N)
    app = _reader(k, f)
    _reader(k, f, "other", vma=4)
    assert _reap(k, app, flags) == 4
    k.run()


@pytest.mark.parametrize(
    ("variant", "mm_id", "touched", "other", "marks"),
    [
        # v1: !folio_maybe_mapped_shared(): CONFIG_MM_ID tracks the mm exactly
        ("v1", True, 16, False, 0),
        ("v1", True, 1, False, 0),
        ("v1", True, 16, True, 1),
        # without CONFIG_MM_ID a large folio is always "maybe shared"
        ("v1", False, 16, False, 1),
        ("v1", False, 1, False, 1),
        # RFC: folio_mapcount() < 2 counts PTEs, so 2+ PTEs of one VMA look shared
        ("rfc", True, 16, False, 1),
        ("rfc", True, 1, False, 0),
        ("rfc", False, 1, False, 0),
        ("rfc", True, 16, True, 1),
    ],
)
def test_large_folio_exclusivity_per_version(
    variant: str, mm_id: bool, touched: int, other: bool, marks: int
) -> None:
    """A 16-page folio, mapped by ``touched`` PTEs of the victim (and as many of another
    process if ``other``), is zapped as one batch: one ``folio_mark_accessed()`` or none.
    v1's ``folio_maybe_mapped_shared()``: mapcount <= 1 is exclusive; above that, CONFIG_MM_ID
    decides exactly (one mm: exclusive; two: the shared bit), and without CONFIG_MM_ID
    (``mm_id=False``) a large folio is conservatively shared even when mapped once
    (include/linux/mm.h; docs/sources.md §T6 #6). The RFC's ``folio_mapcount() < 2`` treats a
    folio mapped by two PTEs of the same VMA as shared (David Hildenbrand, §T4.2 #1)."""
    k = _kernel(variant, large_folios=True, file_folio_order=4, mm_id=mm_id)
    f = k.create_file("lib.so", 16)
    app = _reader(k, f, nr=touched)
    if other:
        _reader(k, f, "other", nr=touched)
    [folio] = f.i_mapping.i_pages.values()
    assert folio.order == 4
    assert _reap(k, app, 0) == marks
    k.run()


@pytest.mark.parametrize(
    ("variant", "flags"), [("baseline", 0), ("rfc", 0), ("v1", 0), ("d", RK)]
)
def test_pmd_path_still_marks_accessed(variant: str, flags: int) -> None:
    """Only the PTE path changes; ``zap_huge_pmd()`` still calls ``folio_mark_accessed()``
    for a young PMD-mapped file folio, exclusive or not (Baolin's request, promised, never
    done: docs/sources.md §T3.2 v1 2/3, §T3.7, §T4.2 #2, §T6 #7). MADV_HUGEPAGE makes the fault read
    a PMD-order folio (mm/filemap.c:do_sync_mmap_readahead())."""
    k = _kernel(variant, large_folios=True)
    f = k.create_file("big.apk", 512)
    app = _reader(k, f, thp=True)
    assert [type(e) for e in _mm(app).pgd.values()] == [Pmd]
    assert _reap(k, app, flags) == 1
    k.run()


@pytest.mark.parametrize(("patches", "evicted", "activated"), [(1, 0, N), (2, N, 0), (3, N, 0)])
def test_activation_batch_reference_defeats_patch_1_without_patch_2(
    patches: int, evicted: int, activated: int
) -> None:
    """A folio that is already PG_referenced is *activated* by ``folio_mark_accessed()``:
    ``folio_activate()`` parks it in this CPU's lru_activate batch with a reference (mm/swap.c,
    docs/sources.md §T2.4 step 3). At the gather flush that reference makes
    ``mapping_evict_folio()``'s refcount test fail (§T2.6 rule 3), so v1 with patch 1 alone
    evicts none of them; with patch 2 the call is skipped and all are evicted. The folios
    became referenced when an earlier process read and unmapped the file."""
    k = _kernel("v1", patches=patches)
    f = k.create_file("app.apk", N)
    earlier = _reader(k, f, "earlier")
    earlier.exit()
    k.run()
    assert all(x.flags & PG_referenced for x in f.i_mapping.i_pages.values())
    app = _reader(k, f)
    _reap(k, app, 0)
    assert N - k.cachestat(f).nr_cache == evicted
    k.lru_add_drain_all()
    assert sum(1 for x in f.i_mapping.i_pages.values() if x.flags & PG_active) == activated
    k.run()


def _anon_victim(k: Kernel) -> tuple[Process, int]:
    """Private anonymous pages, COW pages of a private file mapping and swap entries."""
    app = k.spawn("app", uid=10001)
    anon = app.mmap(N)
    app.touch(anon, write=True)
    f = k.create_file("cow.dat", N)
    cow = app.mmap(N, file=f)
    app.touch(cow, write=True, nr_pages=4)
    swapped = app.mmap(4)
    app.touch(swapped, write=True)
    app.madvise(swapped, MADV_PAGEOUT)
    assert _mm(app).rss_stat[MM_SWAPENTS] == 4
    return app, N + 4


@pytest.mark.parametrize("how", ["mrelease", "mrelease_reap_kill", "oom_reaper"])
@pytest.mark.parametrize("d_details", ["as_posted", "intended"])
def test_draft_d_as_posted_frees_no_anonymous_memory(how: str, d_details: str) -> None:
    """Draft D passes ``&details`` instead of NULL to ``unmap_page_range()``; zero-initialised,
    its ``even_cows`` is false on this base, so ``should_zap_cows()`` is false and
    ``should_zap_folio()`` keeps every anonymous folio (and ``zap_nonpresent_ptes()`` every
    swap entry) -- in every reap: process_mrelease() with and without REAP_KILL, and the
    kernel OOM reaper (docs/sources.md §T3.5 "Important hidden side effect", §T6 #16, which noticed
    the COW pages; the rule covers all anonymous memory). ``d_details="intended"`` sets
    ``even_cows``: all of it is freed."""
    k = _kernel("d", d_details=d_details, swap_mib=4)
    app, anon = _anon_victim(k)
    mm = _mm(app)
    if how == "oom_reaper":
        stall_in_fsync(k, app)  # a thread in D state keeps the mm for the reaper
        k.oom_kill(app.pid)
        k.run()
    else:
        _reap(k, app, RK if how == "mrelease_reap_kill" else 0)
    kept = d_details == "as_posted"
    assert mm.rss_stat[MM_ANONPAGES] == (anon if kept else 0)
    assert mm.rss_stat[MM_SWAPENTS] == (4 if kept else 0)
    k.hold_io = False  # end the stall (oom_reaper case)
    app.thaw()
    k.run()


@pytest.mark.parametrize(("variant", "flags", "marks"), [("baseline", 0, N), ("v1", 0, 0),
                                                         ("rfc", 0, 0), ("d", RK, N)])
def test_v1_gate_also_skips_in_the_victims_own_exit_mmap(
    variant: str, flags: int, marks: int
) -> None:
    """The v1 and RFC gate is the mm's MMF_UNSTABLE, so once a reap set it, the victim's own
    exit_mmap() skips the marking too -- here for a MAP_SHARED file VMA the reaper never
    zaps (docs/sources.md §T3.2 v1 2/3 "also for the victim's own exit_mmap()", §T6 #2). D's
    ``ignore_access`` exists only in its reaper's ``zap_details``."""
    k = _kernel(variant)
    f = k.create_file("shared.db", N)
    app = k.spawn("app", uid=10001)
    app.touch(app.mmap(N, file=f, shared=True))
    assert _reap(k, app, flags) == 0  # VM_SHARED: not reaped
    before = _marks(k)
    k.run()
    assert app.state == "dead" and _marks(k) - before == marks

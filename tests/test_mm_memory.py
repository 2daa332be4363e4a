"""Page faults that build an address space, and the zap path that tears it down.

Kernel: mm/memory.c (do_anonymous_page(), do_read_fault(), do_cow_fault(),
do_shared_fault(), do_wp_page(), zap_pte_range(), zap_present_ptes(),
zap_present_folio_ptes()), mm/huge_memory.c (do_huge_pmd_anonymous_page(), zap_huge_pmd()),
include/linux/oom.h (check_stable_address_space()), include/linux/mm_inline.h
(vma_has_recency()) (docs/sources.md §K1.4, §K3; §M0.7).
"""

from __future__ import annotations

import signal

import pytest
from _support import mm_of as _mm
from _support import vma_of as _vma

from mrelease_ref import Kernel, Mapping
from mrelease_ref.include.asm_generic.tlb import (
    ENCODED_PAGE_BIT_NR_PAGES_NEXT,
    encoded_nr_pages,
    encoded_page_flags,
    encoded_page_ptr,
)
from mrelease_ref.include.linux.mm_types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_RW,
    HPAGE_PMD_NR,
    MM_ANONPAGES,
    MM_FILEPAGES,
    MM_SHMEMPAGES,
    MMF_UNSTABLE,
    PAGE_SHIFT,
    PAGE_SIZE,
    PMD_SHIFT,
    PTRS_PER_PTE,
    Folio,
    Pmd,
    Pte,
    PteTable,
    ptep_clear_bits,
    ptep_set_bits,
)
from mrelease_ref.include.linux.page_flags import (
    PG_anon,
    PG_dirty,
    PG_lru,
    PG_referenced,
    PG_swapbacked,
)
from mrelease_ref.include.linux.sched import sigmask
from mrelease_ref.kernel.sched import run_to_completion
from mrelease_ref.mm.fadvise import POSIX_FADV_NOREUSE, generic_fadvise
from mrelease_ref.mm.memory import VM_FAULT_SIGBUS, handle_mm_fault, unmap_page_range
from mrelease_ref.mm.mmu_gather import tlb_finish_mmu, tlb_gather_mmu
from mrelease_ref.sim.process import MADV_RANDOM, MADV_SEQUENTIAL, Process

KB_PER_PAGE = PAGE_SIZE // 1024  # /proc/meminfo and status report kB


def _slot(p: Process, m: Mapping, page: int = 0) -> tuple[PteTable, int]:
    """The PTE table and slot index that map page ``page`` of ``m``."""
    addr = m.start + (page << PAGE_SHIFT)
    table = _mm(p).pgd.get(addr >> PMD_SHIFT)
    assert isinstance(table, PteTable)
    return table, (addr >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)


def _pte(p: Process, m: Mapping, page: int = 0) -> Pte | None:
    addr = m.start + (page << PAGE_SHIFT)
    table = _mm(p).pgd.get(addr >> PMD_SHIFT)
    if not isinstance(table, PteTable):
        return None
    entry = table[(addr >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)]
    assert entry is None or isinstance(entry, Pte)
    return entry


def _folio(p: Process, m: Mapping, page: int = 0) -> Folio:
    pte = _pte(p, m, page)
    assert pte is not None and pte.folio is not None
    return pte.folio


def _ev(k: Kernel, name: str) -> int:
    return k.vm_events.get(name, 0)


# --- faults ------------------------------------------------------------------------------------


def test_anon_read_fault_maps_the_zero_page() -> None:
    """Kernel: mm/memory.c:do_anonymous_page(): "Use the zero-page for reads": a read of
    untouched private anonymous memory maps the shared zero page (a special PTE, no folio),
    allocates nothing and charges no rss."""
    k = Kernel(large_folios=False, debug_vm=True)
    app = k.spawn("app", uid=1000)
    m = app.mmap(8)
    allocs = _ev(k, "PGALLOC")
    assert app.touch(m) == m.nr_pages
    pte = _pte(app, m)
    assert pte is not None and pte.folio is None
    assert _ev(k, "PGALLOC") == allocs
    assert app.status()["VmRSS"] == 0


def test_anon_write_fault_allocates_an_anonymous_folio() -> None:
    """Kernel: mm/memory.c:do_anonymous_page(): a write allocates a folio,
    folio_add_new_anon_rmap() makes it anonymous (mapcount 1), folio_add_lru_vma() queues it
    on this CPU's lru_add batch (one more reference until drained), and the PTE is mapped
    writable and dirty; MM_ANONPAGES grows by one page."""
    k = Kernel(large_folios=False, debug_vm=True)
    app = k.spawn("app", uid=1000)
    m = app.mmap(4)
    app.touch(m, write=True, nr_pages=1)
    pte = _pte(app, m)
    assert pte is not None and pte.folio is not None
    assert pte.bits & (_PAGE_DIRTY | _PAGE_RW) == _PAGE_DIRTY | _PAGE_RW
    folio = pte.folio
    assert folio.flags & PG_anon and folio.flags & PG_swapbacked
    assert folio._mapcount == 1
    assert folio._refcount == 2  # the PTE's + the lru_add batch's
    assert _mm(app).rss_stat[MM_ANONPAGES] == 1
    k.lru_add_drain_all()
    assert folio._refcount == 1 and folio.flags & PG_lru
    assert k.meminfo()["AnonPages"] == KB_PER_PAGE


def test_private_file_read_maps_the_page_cache_folio_read_only() -> None:
    """Kernel: mm/memory.c:do_read_fault() -> finish_fault(): a read of a private file
    mapping maps the page-cache folio itself, read-only (a later write must copy), counted
    in MM_FILEPAGES and NR_FILE_MAPPED. The one read maps all 8 pages: the miss reads
    around it (mm/filemap.c:do_sync_mmap_readahead(), ``ra_pages`` 2048 clamped to the
    8-page file), the fault is retried after the I/O, and the retry's fault-around
    (mm/memory.c:do_fault_around(), 16 pages clamped to the 8-page VMA) maps them."""
    k = Kernel(large_folios=False, debug_vm=True)
    f = k.create_file("lib.so", nr_pages=8)
    app = k.spawn("app", uid=1000)
    m = app.mmap(8, file=f, shared=False)
    app.touch(m, nr_pages=1)
    pte = _pte(app, m)
    assert pte is not None and pte.folio is f.i_mapping.i_pages[0]
    assert not pte.bits & _PAGE_RW
    assert not pte.folio.flags & PG_anon
    assert _mm(app).rss_stat[MM_FILEPAGES] == 8
    assert k.meminfo()["Mapped"] == 8 * KB_PER_PAGE


def test_write_to_private_file_mapping_copies_on_write() -> None:
    """Kernel: mm/memory.c:do_cow_fault() (write to an unmapped page) and do_wp_page() ->
    wp_page_copy() (write to a read-only mapped page): the process gets a private anonymous
    copy; the page-cache folio stays cached, unmapped and clean. Reading page 1 maps
    pages 1-7 (fault-around over the 8-page VMA skips page 0, whose PTE is the copy)."""
    k = Kernel(large_folios=False, debug_vm=True)
    f = k.create_file("data.bin", nr_pages=8)
    app = k.spawn("app", uid=1000)
    m = app.mmap(8, file=f, shared=False)
    app.touch(m, write=True, nr_pages=1)  # page 0: never read, written at once
    app.touch(m, start=1, nr_pages=1)  # page 1: read first...
    assert _mm(app).rss_stat[MM_FILEPAGES] == 7
    app.touch(m, write=True, start=1, nr_pages=1)  # ...then written
    for page in (0, 1):
        copy = _folio(app, m, page)
        cached = f.i_mapping.i_pages[page]
        assert copy is not cached and copy.flags & PG_anon
        assert cached._mapcount == 0 and not cached.flags & PG_dirty
    rss = _mm(app).rss_stat
    assert (rss[MM_ANONPAGES], rss[MM_FILEPAGES]) == (2, 6)  # pages 2-7 stay mapped
    assert k.cachestat(f).nr_cache == 8 and k.cachestat(f).nr_dirty == 0  # read-around: all 8


def test_shared_file_write_dirties_the_folio() -> None:
    """Kernel: mm/memory.c:do_shared_fault() (page_mkwrite): a write through a shared file
    mapping dirties the page-cache folio itself (NR_FILE_DIRTY, cachestat nr_dirty)."""
    k = Kernel(large_folios=False, debug_vm=True)
    f = k.create_file("db", nr_pages=8)
    app = k.spawn("app", uid=1000)
    m = app.mmap(8, file=f, shared=True)
    n = 3
    app.touch(m, write=True, nr_pages=n)
    assert all(f.i_mapping.i_pages[i].flags & PG_dirty for i in range(n))
    assert k.meminfo()["Dirty"] == n * KB_PER_PAGE
    assert k.cachestat(f).nr_dirty == n
    assert app.status()["RssFile"] == n * KB_PER_PAGE


def test_shared_anonymous_write_is_shmem() -> None:
    """Kernel: mm/shmem.c:shmem_zero_setup(): MAP_SHARED|MAP_ANONYMOUS is backed by tmpfs;
    its pages are swap-backed page cache counted in MM_SHMEMPAGES and Shmem, never in the
    file Dirty count (no writeback)."""
    k = Kernel(large_folios=False, debug_vm=True)
    app = k.spawn("app", uid=1000)
    m = app.mmap(6, shared=True)
    app.touch(m, write=True)
    assert app.status()["RssShmem"] == m.nr_pages * KB_PER_PAGE
    assert k.meminfo()["Shmem"] == m.nr_pages * KB_PER_PAGE
    assert k.meminfo()["Dirty"] == 0


def _fault(k: Kernel, p: Process, m: Mapping, write: bool) -> int:
    with k.running(p.task):
        return handle_mm_fault(_vma(p, m), m.start, write)


def test_fault_around_maps_cached_file_pages_in_an_unstable_mm() -> None:
    """Kernel: mm/memory.c:do_read_fault() -> do_fault_around() -> mm/filemap.c:
    filemap_map_pages(): fault-around maps cached pages without
    ``check_stable_address_space()``. A read of a cold private file page after the reaper
    set MMF_UNSTABLE reads the file in (the fault is then retried, VM_FAULT_RETRY after
    the I/O) and the retry's fault-around maps it: no SIGBUS, the page-cache data is
    correct. Only ``finish_fault()`` checks, for faults fault-around could not map."""
    k = Kernel(large_folios=False, debug_vm=True)
    f = k.create_file("data.bin", nr_pages=4)
    app = k.spawn("app", uid=1000)
    m = app.mmap(4, file=f, shared=False)
    _mm(app).flags |= MMF_UNSTABLE
    assert _fault(k, app, m, write=False) == 0
    assert app.status()["RssFile"] == 4 * KB_PER_PAGE
    k.check()


@pytest.mark.parametrize("kind", ["anon write", "file read", "file write"])
def test_faults_fail_with_sigbus_once_the_mm_is_unstable(kind: str) -> None:
    """Kernel: include/linux/oom.h:check_stable_address_space(): after the reaper set
    MMF_UNSTABLE, a fault that would map new memory returns VM_FAULT_SIGBUS instead of
    silently handing out zero-filled or stale pages; nothing is mapped and a folio allocated
    for the fault is released (docs/sources.md §K1.4)."""
    # the fixed-order model (file_folio_order=0) has no fault-around: "file read" reaches
    # finish_fault(), as a kernel read fault does when fault-around maps nothing
    k = Kernel(large_folios=False, file_folio_order=0, debug_vm=True)
    f = k.create_file("data.bin", nr_pages=4)
    app = k.spawn("app", uid=1000)
    m = app.mmap(4) if kind == "anon write" else app.mmap(4, file=f, shared=False)
    _mm(app).flags |= MMF_UNSTABLE
    assert _fault(k, app, m, write=kind != "file read") == VM_FAULT_SIGBUS
    assert _pte(app, m) is None
    assert app.status()["VmRSS"] == 0
    k.check()


@pytest.mark.parametrize("thp", [False, True], ids=["zero page", "huge zero page"])
def test_anon_read_fault_fails_with_sigbus_once_the_mm_is_unstable(thp: bool) -> None:
    """Kernel: mm/memory.c:do_anonymous_page(): the zero-page path also runs ``ret =
    check_stable_address_space(vma->vm_mm); if (ret) goto unlock;`` under the PTE lock, and
    mm/huge_memory.c:do_huge_pmd_anonymous_page() checks it before set_huge_zero_folio(): a
    read of reaped anonymous memory raises SIGBUS rather than reading zeros."""
    k = Kernel(large_folios=True, debug_vm=True)
    app = k.spawn("app", uid=1000)
    m = app.mmap(HPAGE_PMD_NR, thp=thp)
    _mm(app).flags |= MMF_UNSTABLE
    assert _fault(k, app, m, write=False) == VM_FAULT_SIGBUS
    assert not isinstance(_mm(app).pgd.get(m.start >> PMD_SHIFT), Pmd)
    assert _pte(app, m) is None


def test_touching_an_unstable_mm_delivers_sigbus() -> None:
    """Kernel: arch/x86/mm/fault.c:mm_fault_error() -> do_sigbus(): a VM_FAULT_SIGBUS
    from handle_mm_fault() becomes a forced SIGBUS to the faulting thread."""
    k = Kernel(large_folios=False, debug_vm=True)
    app = k.spawn("app", uid=1000)
    m = app.mmap(4)
    _mm(app).flags |= MMF_UNSTABLE
    assert app.touch(m, write=True) == 0
    assert app.task.pending & sigmask(signal.SIGBUS)


# --- zap -----------------------------------------------------------------------------------------


def test_zap_carries_a_dirty_pte_into_the_file_folio() -> None:
    """Kernel: mm/memory.c:zap_present_folio_ptes(): for a file folio, a dirty PTE means data
    only the TLB/PTE knows about; folio_mark_dirty() records it in the folio before the PTE
    is gone (docs/sources.md §K3.4)."""
    k = Kernel(large_folios=False, debug_vm=True)
    f = k.create_file("db", nr_pages=4)
    app = k.spawn("app", uid=1000)
    m = app.mmap(4, file=f, shared=True)
    app.touch(m, nr_pages=1)
    folio = _folio(app, m)
    assert not folio.flags & PG_dirty
    assert _pte(app, m) is not None
    ptep_set_bits(*_slot(app, m), _PAGE_DIRTY | _PAGE_RW)  # a store through a writable PTE
    app.munmap(m)
    assert folio.flags & PG_dirty
    assert k.cachestat(f).nr_dirty == 1 and k.meminfo()["Dirty"] == KB_PER_PAGE


def test_zap_marks_young_file_folios_accessed() -> None:
    """Kernel: mm/memory.c:zap_present_folio_ptes(): ``if (pte_young(ptent) &&
    likely(vma_has_recency(vma))) folio_mark_accessed(folio)`` -- one call per batch; an old
    PTE is not (docs/sources.md §K3.4, §M0.6)."""
    k = Kernel(large_folios=False, debug_vm=True)
    f = k.create_file("lib.so", nr_pages=4)
    app = k.spawn("app", uid=1000)
    m = app.mmap(4, file=f, shared=False)
    app.touch(m)
    assert _pte(app, m, 3) is not None
    ptep_clear_bits(*_slot(app, m, 3), _PAGE_ACCESSED)  # aged out (e.g. by page_idle)
    calls = _ev(k, "MARK_ACCESSED")
    app.munmap(m)
    assert _ev(k, "MARK_ACCESSED") == calls + 3
    assert [bool(f.i_mapping.i_pages[i].flags & PG_referenced) for i in range(4)] == [
        True, True, True, False,
    ]


@pytest.mark.parametrize("opt_out", ["MADV_SEQUENTIAL", "MADV_RANDOM", "FMODE_NOREUSE"])
def test_zap_skips_aging_without_recency(opt_out: str) -> None:
    """Kernel: include/linux/mm_inline.h:vma_has_recency(): VM_SEQ_READ / VM_RAND_READ
    (madvise) or FMODE_NOREUSE on the mapped file (fadvise NOREUSE) opt a mapping out of LRU
    aging: zapping its young PTEs does not call folio_mark_accessed()."""
    k = Kernel(large_folios=False, debug_vm=True)
    f = k.create_file("stream.bin", nr_pages=4)
    app = k.spawn("app", uid=1000)
    m = app.mmap(4, file=f, shared=False)
    if opt_out == "MADV_SEQUENTIAL":
        app.madvise(m, MADV_SEQUENTIAL)
    elif opt_out == "MADV_RANDOM":
        app.madvise(m, MADV_RANDOM)
    else:
        vm_file = _vma(app, m).vm_file
        assert vm_file is not None
        assert generic_fadvise(vm_file, 0, 0, POSIX_FADV_NOREUSE) == 0
    app.touch(m)
    calls = _ev(k, "MARK_ACCESSED")
    app.munmap(m)
    assert _ev(k, "MARK_ACCESSED") == calls
    assert not any(fo.flags & PG_referenced for fo in f.i_mapping.i_pages.values())


def test_zap_ignores_accessed_and_dirty_bits_of_anon_ptes() -> None:
    """Kernel: mm/memory.c:zap_present_folio_ptes(): anonymous PTEs are cleared with
    clear_full_ptes() -- their young/dirty bits are not needed: no folio_mark_dirty(), no
    folio_mark_accessed()."""
    k = Kernel(large_folios=False, debug_vm=True)
    app = k.spawn("app", uid=1000)
    m = app.mmap(4)
    app.touch(m, write=True)
    folios = [_folio(app, m, i) for i in range(m.nr_pages)]
    calls = _ev(k, "MARK_ACCESSED")
    app.munmap(m)  # the lru_add batch still pins each folio, so we can look at it
    assert _ev(k, "MARK_ACCESSED") == calls
    for folio in folios:
        assert folio._refcount == 1 and not folio.flags & (PG_referenced | PG_dirty)
    k.lru_add_drain_all()


def test_rss_counters_follow_what_is_zapped() -> None:
    """Kernel: mm/memory.c:zap_present_folio_ptes() counts MM_ANONPAGES, MM_FILEPAGES or
    MM_SHMEMPAGES (mm_counter()) per zapped PTE; zap_pte_range() folds them into the mm with
    add_mm_rss_vec()."""
    k = Kernel(large_folios=False, debug_vm=True)
    f = k.create_file("lib.so", nr_pages=16)
    app = k.spawn("app", uid=1000)
    anon, code, shm = app.mmap(5), app.mmap(7, file=f, shared=False), app.mmap(3, shared=True)
    app.touch(anon, write=True)
    app.touch(code)
    app.touch(shm, write=True)
    rss = _mm(app).rss_stat
    assert (rss[MM_ANONPAGES], rss[MM_FILEPAGES], rss[MM_SHMEMPAGES]) == (5, 7, 3)
    app.munmap(code)
    assert (rss[MM_ANONPAGES], rss[MM_FILEPAGES], rss[MM_SHMEMPAGES]) == (5, 0, 3)
    app.munmap(shm)
    assert (rss[MM_ANONPAGES], rss[MM_FILEPAGES], rss[MM_SHMEMPAGES]) == (5, 0, 0)
    app.munmap(anon)
    assert app.status()["VmRSS"] == 0


def _gathered(k: Kernel, p: Process, m: Mapping) -> list[tuple[Folio, int, int]]:
    """Zap ``m`` with unmap_page_range() into a fresh gather and return its entries as
    (folio, page index, nr_pages) before the gather frees anything."""
    vma = _vma(p, m)
    with k.running(p.task):
        tlb = tlb_gather_mmu(_mm(p))
        run_to_completion(unmap_page_range(tlb, vma, vma.vm_start, vma.vm_end, None))
        slots = list(tlb.local.encoded_pages)
        tlb_finish_mmu(tlb)
    out = []
    i = 0
    while i < len(slots):
        enc = slots[i]
        assert isinstance(enc, tuple)
        nr = 1
        if encoded_page_flags(enc) & ENCODED_PAGE_BIT_NR_PAGES_NEXT:
            i += 1
            nr = encoded_nr_pages(slots[i])  # type: ignore[arg-type]
        folio, idx = encoded_page_ptr(enc)
        out.append((folio, idx, nr))
        i += 1
    return out


def test_large_folio_ptes_are_zapped_as_one_batch() -> None:
    """Kernel: mm/memory.c:zap_present_ptes() -> folio_pte_batch(): consecutive PTEs mapping
    consecutive pages of one large folio are zapped together: one gather entry carrying nr
    references (a page + NR_PAGES_NEXT pair), one folio_mark_accessed() call (docs/sources.md §K3.3,
    §K4)."""
    k = Kernel(large_folios=True, file_folio_order=6, debug_vm=True)
    f = k.create_file("big.apk", nr_pages=256)
    app = k.spawn("app", uid=1000)
    nr = 1 << k.config.file_folio_order
    m = app.mmap(nr, file=f, shared=False)
    app.touch(m)
    folio = _folio(app, m)
    assert folio.order == k.config.file_folio_order and folio._mapcount == nr
    calls = _ev(k, "MARK_ACCESSED")
    assert _gathered(k, app, m) == [(folio, 0, nr)]
    assert _ev(k, "MARK_ACCESSED") == calls + 1
    assert folio._mapcount == 0 and folio._refcount == nr  # page cache only
    assert _mm(app).rss_stat[MM_FILEPAGES] == 0
    k.check()


def test_pte_batches_stop_at_holes_and_folio_boundaries() -> None:
    """Kernel: mm/internal.h:folio_pte_batch() counts only PTEs that map the *next* page of
    the *same* folio: a hole splits a batch, and so does the end of a folio."""
    k = Kernel(large_folios=True, file_folio_order=6, debug_vm=True)
    f = k.create_file("big.apk", nr_pages=256)
    app = k.spawn("app", uid=1000)
    nr = 1 << k.config.file_folio_order
    half = nr // 2
    m = app.mmap(nr, file=f, shared=False, offset=half)  # straddles two folios
    run = 10
    app.touch(m, start=0, nr_pages=run)
    app.touch(m, start=run + 5, nr_pages=half - run - 5 + 3)  # crosses into the 2nd folio
    first, second = f.i_mapping.i_pages[0], f.i_mapping.i_pages[nr]
    assert _gathered(k, app, m) == [
        (first, half, run),
        (first, half + run + 5, half - run - 5),
        (second, 0, 3),
    ]
    k.check()


def test_thp_pmd_zap_frees_the_deposited_table() -> None:
    """Kernel: mm/huge_memory.c:zap_huge_pmd(): an anonymous PMD-mapped THP is removed with
    one gather entry of PMD size, its deposited PTE table is freed (zap_deposited_table())
    and MM_ANONPAGES drops by HPAGE_PMD_NR; page tables are otherwise kept by the reaper
    (docs/sources.md §M0.7)."""
    k = Kernel(large_folios=True, debug_vm=True, trace=True)
    app = k.spawn("app", uid=10001)
    lmkd = k.spawn("lmkd", uid=0)
    m = app.mmap(HPAGE_PMD_NR, thp=True)
    app.touch(m, write=True)
    pmd = _mm(app).pgd[m.start >> PMD_SHIFT]
    assert isinstance(pmd, Pmd) and pmd.folio is not None
    assert pmd.folio.order == HPAGE_PMD_NR.bit_length() - 1
    assert _mm(app).rss_stat[MM_ANONPAGES] == HPAGE_PMD_NR
    info = k.meminfo()
    assert info["AnonHugePages"] == HPAGE_PMD_NR * KB_PER_PAGE
    assert info["PageTables"] == KB_PER_PAGE  # the deposited table
    pgfree = _ev(k, "PGFREE")

    fd = lmkd.pidfd_open(app.pid)
    lmkd.kill(app.pid, signal.SIGKILL)
    lmkd.process_mrelease(fd)
    assert _mm(app).rss_stat[MM_ANONPAGES] == 0
    assert _ev(k, "PGFREE") == pgfree + HPAGE_PMD_NR
    info = k.meminfo()
    assert info["AnonHugePages"] == 0 and info["PageTables"] == 0
    assert m.start >> PMD_SHIFT not in _mm(app).pgd


def test_huge_zero_pmd_zap_frees_only_the_deposited_table() -> None:
    """Kernel: mm/huge_memory.c:zap_huge_pmd(): a read of a THP-enabled VMA maps the huge
    zero page (no rss); zapping it frees the deposited table and nothing else."""
    k = Kernel(large_folios=True, debug_vm=True)
    app = k.spawn("app", uid=1000)
    m = app.mmap(HPAGE_PMD_NR, thp=True)
    app.touch(m, nr_pages=1)
    pmd = _mm(app).pgd[m.start >> PMD_SHIFT]
    assert isinstance(pmd, Pmd) and pmd.folio is None
    assert app.status()["VmRSS"] == 0 and k.meminfo()["PageTables"] == KB_PER_PAGE
    pgfree = _ev(k, "PGFREE")
    app.munmap(m)
    assert k.meminfo()["PageTables"] == 0 and _ev(k, "PGFREE") == pgfree


def test_munmap_frees_page_tables_but_keeps_one_a_neighbour_shares() -> None:
    """munmap() frees the PTE tables of the unmapped range (vms_clear_ptes() ->
    free_pgtables() -> free_pgd_range()), but not a table that still covers part of a
    neighbouring VMA: floor/ceiling are the neighbours' ends (mm/memory.c). Afterwards an
    exit with no VMAs left must leave nothing mapped (__mmdrop's check)."""
    k = Kernel(large_folios=False, debug_vm=True)
    app = k.spawn("app")
    small = app.mmap(16)          # shares its PTE table with nothing else at first
    big = app.mmap(1024)          # 4 MiB, 2 MiB-aligned: owns two tables
    tail = app.mmap(16)           # one page after ``big``: its own table
    for m in (small, big, tail):
        app.touch(m, write=True)
    before = k.meminfo()["PageTables"]
    app.munmap(big)
    assert before - k.meminfo()["PageTables"] == 2 * 4  # kB: the two tables ``big`` owned
    app.munmap(small)
    app.munmap(tail)
    assert k.meminfo()["PageTables"] == 0
    app.exit()
    k.run()
    assert app.state in ("zombie", "dead")
    k.check()


def test_munmap_keeps_a_pte_table_shared_with_the_previous_vma() -> None:
    """Two small VMAs in one 2 MiB region share one PTE table; unmapping one of them must
    not free it while the other still maps pages through it (floor = prev->vm_end)."""
    k = Kernel(large_folios=False, debug_vm=True)
    app = k.spawn("app")
    a = app.mmap(8)
    b = app.mmap(8)
    assert a.start >> 21 == b.start >> 21
    app.touch(a, write=True)
    app.touch(b, write=True)
    tables = k.meminfo()["PageTables"]
    app.munmap(b)
    assert k.meminfo()["PageTables"] == tables
    assert app.status()["RssAnon"] == 8 * 4
    k.check()

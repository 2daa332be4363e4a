"""Readahead and the mmap fault paths choose page-cache folio orders as v6.18 does.

Rules from mm/readahead.c and mm/filemap.c (v6.18); expected layouts derived from those
rules step by step in each docstring, and held to the live kernel's stored measurement
(``mrelease_ref/lab/data/folios.json``, 6.18.44, ext4, ``read_ahead_kb`` 8192).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from mrelease_ref import Kernel
from mrelease_ref.include.linux.fs import FMODE_READ, File
from mrelease_ref.lab.folios import Case, _runs
from mrelease_ref.mm.readahead import get_init_ra_size, get_next_ra_size
from mrelease_ref.scenarios import parity
from mrelease_ref.scenarios.folios import layout_of, read_file, run_model_case, stored_cases
from mrelease_ref.sim.process import MADV_RANDOM, Mapping, Process

if TYPE_CHECKING:
    from mrelease_ref.include.linux.fs import Inode


def _layout(case: Case, **kw: object) -> str:
    return run_model_case(case, **kw).layout


def _mapped(nr_pages: int, **kernel_kw: object) -> tuple[Inode, Process, Mapping]:
    """A fresh Kernel with one cold ``nr_pages`` file mapped privately, read-only."""
    k = Kernel(seed=0, **kernel_kw)  # type: ignore[arg-type]
    f = k.create_file("a.dat", nr_pages)
    p = k.spawn("p")
    return f, p, p.mmap(nr_pages, file=f, write=False)


@pytest.mark.parametrize(("pages", "window"), [(1, 4), (2, 4), (3, 8), (4, 8), (5, 16),
                                                (8, 16), (9, 32), (32, 32)])
def test_get_init_ra_size_follows_the_kernel_comment(pages: int, window: int) -> None:
    """mm/readahead.c:get_init_ra_size(), its comment for a 128 KiB (32-page) maximum:
    "1-2 page = 16k, 3-4 page 32k, 5-8 page = 64k, > 8 page = 128k initial"."""
    assert get_init_ra_size(pages, 32) == window


def test_get_next_ra_size_ramps_up_to_the_maximum() -> None:
    """mm/readahead.c:get_next_ra_size(): ×4 below max/16, ×2 up to max/2, then max."""
    from mrelease_ref.include.linux.fs import FileRaState

    steps = [get_next_ra_size(FileRaState(size=s), 2048) for s in (32, 127, 128, 1024, 1025)]
    assert steps == [128, 508, 256, 2048, 2048]


def test_sequential_mmap_ramps_the_order_by_two_per_window() -> None:
    """A cold 64 MiB file touched in order through a private mapping: the first fault reads
    around it (``ra_pages`` = 8192 KiB / 4 KiB = 2048 order-0 pages from index 0, the last
    quarter asynchronous, mm/filemap.c:do_sync_mmap_readahead()); each PG_readahead hit
    moves the 2048-page window on and raises ``ra->order`` by 2 (page_cache_async_ra()):
    orders 0, 2, 4, 6, 8, then 9 (``mapping_max_folio_order()`` of ext4) for the remaining
    3 windows. The order-9 folios are PMD-mapped: 3 x 4 x 2 MiB = 24 MiB."""
    obs = run_model_case(Case(65536, "seq"))
    assert obs.layout == ("0+2048x0 2048+512x2 4096+128x4 6144+32x6 8192+8x8 10240+12x9")
    assert obs.file_pmd_mapped_kb == 24576 and obs.rss_kb == 65536


def test_files_up_to_8_mib_read_through_mmap_are_all_4k_folios() -> None:
    """The read-around window (2048 pages, order 0) covers a whole file of up to 8 MiB
    from its first fault, and an async hit at its mark finds nothing left below EOF."""
    for kib in (16, 256, 2048, 8192):
        assert _layout(Case(kib, "seq")) == f"0+{kib // 4}x0"


def test_madv_hugepage_reads_pmd_order_folios_shrunk_to_the_file() -> None:
    """VM_HUGEPAGE: ``ra->order = HPAGE_PMD_ORDER`` from the PMD-aligned index; a folio
    that would pass EOF shrinks (``page_cache_ra_order()``): 16 KiB -> one order-2 folio,
    256 KiB -> one order-6 folio; an 8 MiB file is four PMD-mapped 2 MiB folios."""
    assert _layout(Case(16, "seq", "hugepage")) == "0+1x2"
    assert _layout(Case(256, "seq", "hugepage")) == "0+1x6"
    obs = run_model_case(Case(8192, "seq", "hugepage"))
    assert obs.layout == "0+4x9" and obs.file_pmd_mapped_kb == 8192


def test_madv_random_reads_only_the_faulting_page() -> None:
    """``(vm_flags & (VM_RAND_READ | VM_EXEC)) == VM_RAND_READ``: no readahead; the fault
    reads one order-0 folio (``__filemap_get_folio(FGP_CREAT)``). Touching 3 pages of a
    64-page file caches 3 pages."""
    f, p, m = _mapped(64)
    p.madvise(m, MADV_RANDOM)
    for i in (0, 10, 40):
        p.touch(m, start=i, nr_pages=1)
    assert layout_of(f) == ((0, 0, 1), (10, 0, 1), (40, 0, 1))


def test_mmap_miss_above_lotsamiss_stops_read_around() -> None:
    """mm/filemap.c:do_sync_mmap_readahead(): ``mmap_miss > MMAP_LOTSAMISS`` (100): no
    read-around; the fault reads just its page."""
    f, p, m = _mapped(64)
    vma = next(v for v in p.task.mm.mm_mt if v.vm_start == m.start)  # type: ignore[union-attr]
    assert vma.vm_file is not None
    vma.vm_file.f_ra.ra_pages = 2048
    vma.vm_file.f_ra.mmap_miss = 100  # the 101st miss is one too many
    p.touch(m, start=5, nr_pages=1)
    assert layout_of(f) == ((5, 0, 1),)


def test_read_ahead_kb_zero_reads_single_pages() -> None:
    """``!ra->ra_pages``: the mmap fault reads no window (do_sync_mmap_readahead()
    returns), so each fault reads its own order-0 page; fault-around maps nothing else."""
    f, p, m = _mapped(64, read_ahead_kb=0)
    p.touch(m, nr_pages=2)
    assert layout_of(f) == ((0, 0, 2),)


def test_sequential_read_ramps_from_the_request_size() -> None:
    """read() of a cold 2 MiB file in 128 KiB calls (32 pages): at index 0,
    ``get_init_ra_size(32, 2048)`` = 128 pages (32 <= 2048/32: ×4), order 0, async size
    128 - 32 = 96, so the mark is at 32. At 32: the window moves to 128 with
    ``get_next_ra_size(128)`` = 256 (128 is not below 2048/16: ×2), order 2, mark at 128.
    At 128: window 384 of 512 pages, clamped by EOF to 128 pages, order 4: 8 folios."""
    k = Kernel(seed=0)
    f = k.create_file("a.dat", 512)
    read_file(k, f, 131072)
    assert layout_of(f) == ((0, 0, 128), (128, 2, 64), (384, 4, 8))


def test_fixed_order_model_is_kept_for_earlier_experiments() -> None:
    """``Kernel(file_folio_order=9)``: the earlier model, one 2 MiB folio per miss, mapped
    by one PMD; no readahead window."""
    f, p, m = _mapped(1024, file_folio_order=9)
    p.touch(m, nr_pages=1)
    assert layout_of(f) == ((0, 9, 1),)


def test_file_folio_order_is_validated() -> None:
    """Misuse raises ValueError/TypeError saying what to pass."""
    with pytest.raises(ValueError, match="MAX_PAGECACHE_ORDER"):
        Kernel(file_folio_order=10)
    with pytest.raises(TypeError, match="int or None"):
        Kernel(file_folio_order="9")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="read_ahead_kb"):
        Kernel(read_ahead_kb=6)


def test_the_model_reproduces_every_stored_kernel_layout() -> None:
    """Every case of the stored live measurement (lab/data/folios.json): the model's
    page-cache layout and FilePmdMapped are exact; the mapping's RSS is exact too, except
    for the sparse ``stride`` touch, within ``parity.FOLIO_RSS_TOL`` (the kernel's
    fault-around skips folios whose read is still in flight)."""
    for case, kernel in stored_cases():
        model = run_model_case(case)
        assert model.layout == kernel.layout, case.name
        assert model.file_pmd_mapped_kb == kernel.file_pmd_mapped_kb, case.name
        tol = parity.FOLIO_RSS_TOL.abs if case.pattern == "stride" else 0
        assert abs(model.rss_kb - kernel.rss_kb) <= tol, case.name


def test_folio_parity_rows_agree_with_the_stored_measurement() -> None:
    """The parity spec's folio rows (>= 30, every FOLIO_CASE) agree when the kernel side is
    the stored measurement."""
    stored = {c.name: o for c, o in stored_cases()}
    rows = [r for c in parity.FOLIO_CASES
            for r in parity.folio_rows(c, run_model_case(c), stored[c.name])]
    assert len(rows) >= 30 and all(r.agree for r in rows)


def test_lab_layout_reads_heads_and_tails() -> None:
    """/proc/kpageflags (fs/proc/page.c): a KPF_COMPOUND_HEAD page starts a folio that
    takes the index- and PFN-contiguous KPF_COMPOUND_TAIL pages after it; other pages are
    order-0 folios. Runs of equal order merge."""
    head, tail = 1 << 15, 1 << 16
    cached = [0, 1, 2, 3, 4, 5, 6, 7]
    flags = [(100, 0), (200, 0), (300, 0), (301, 0), (400, head), (401, tail), (402, tail),
             (403, tail)]
    assert _runs(cached, flags) == [[0, 0, 4], [4, 2, 1]]


def test_read_file_advances_prev_pos() -> None:
    """mm/filemap.c:filemap_read() ends with ``ra->prev_pos = last_pos``: after reading
    the whole file the open file's ``prev_pos`` is its size in bytes; a new open starts
    without history (``file_ra_state_init()``: -1)."""
    k = Kernel(seed=0)
    f = k.create_file("a.dat", 8)
    assert read_file(k, f, 4096).f_ra.prev_pos == 8 * 4096
    assert File("ext4", f, f_mode=FMODE_READ).f_ra.prev_pos == -1


@pytest.mark.parametrize("case", [Case(2048, "rand"), Case(8192, "stride"),
                                  Case(8192, "seq", "hugepage"), Case(65536, "seq")],
                         ids=lambda c: c.name)
def test_readahead_and_fault_around_keep_the_invariants(case: Case) -> None:
    """The CONFIG_DEBUG_VM-style checker (refcounts: one per page-cache page, one per PTE,
    one per PMD; mapcounts; rss; LRU) holds after every call while readahead, fault-around,
    whole-folio mapping and retried faults build the page cache and the page tables."""
    run_model_case(case, debug_vm=True)


def test_read_file_caches_every_page_with_16k_pages() -> None:
    """A whole-file read() leaves every page of the file cached whatever the page size
    (mm/filemap.c:filemap_read() advances by the folios it copies from, in PAGE_SIZE units):
    on Kernel.android() (16 KiB pages) ``read_file`` once never got past its first page."""
    k = Kernel.android(large_folios=False, seed=0)
    f = k.create_file("big.dat", nr_pages=64)
    file = read_file(k, f, 1 << 20)
    cached = sum(1 << folio.order for folio in f.i_mapping.i_pages.values())
    assert cached == 64 and file.f_ra.prev_pos == 64 * k.pg.PAGE_SIZE

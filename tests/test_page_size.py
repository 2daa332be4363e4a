"""``Kernel(page_size=...)``: everything that scales with the base page size.

Each test states the v6.18 rule for one quantity and checks it on a running model kernel
with 16 KiB pages (arm64's ARM64_16K_PAGES granule), next to the 4 KiB default, which must
stay exactly as before.
"""

from __future__ import annotations

import ast
import signal
from pathlib import Path

import pytest

from mrelease_ref import Kernel
from mrelease_ref.include.linux import mm_types
from mrelease_ref.include.linux.mm_types import GEOMETRIES, GEOMETRY_4K, Pmd
from mrelease_ref.mm.mprotect import PROT_EXEC, PROT_READ

K16 = {"arch": "arm64", "page_size": 16384}
ROOT = Path(__file__).resolve().parent.parent / "mrelease_ref"


def test_geometry_follows_the_page_table_formulas() -> None:
    """arch/arm64/include/asm/pgtable-hwdef.h: PTDESC_TABLE_SHIFT = PAGE_SHIFT - 3 (8-byte
    descriptors in one page), PTRS_PER_PTE = 1 << PTDESC_TABLE_SHIFT, PMD_SHIFT =
    ARM64_HW_PGTABLE_LEVEL_SHIFT(2) = PTDESC_TABLE_SHIFT * 2 + 3; include/linux/huge_mm.h:
    HPAGE_PMD_ORDER = PMD_SHIFT - PAGE_SHIFT; include/linux/pagemap.h: MAX_PAGECACHE_ORDER
    = min(MAX_XAS_ORDER = 2 * XA_CHUNK_SHIFT(6) - 1, HPAGE_PMD_ORDER); arch/arm64/Kconfig
    ARCH_FORCE_MAX_ORDER 10 / 11 (16K) / 13 (64K). For 4 KiB these are x86_64's 12, 512, 21
    (arch/x86/include/asm/pgtable_64_types.h)."""
    for size, pg in GEOMETRIES.items():
        shift = size.bit_length() - 1
        table = shift - 3
        assert (shift, 1 << table, table * 2 + 3) == (pg.PAGE_SHIFT, pg.PTRS_PER_PTE, pg.PMD_SHIFT)
        assert pg.HPAGE_PMD_ORDER == pg.PMD_SHIFT - pg.PAGE_SHIFT
        assert min(2 * 6 - 1, pg.HPAGE_PMD_ORDER) == pg.MAX_PAGECACHE_ORDER
    assert (GEOMETRY_4K.PMD_SIZE, GEOMETRY_4K.HPAGE_PMD_ORDER, GEOMETRY_4K.MAX_PAGE_ORDER) == (
        2 << 20, 9, 10)
    pg16 = GEOMETRIES[16384]
    assert (pg16.PMD_SIZE, pg16.HPAGE_PMD_ORDER, pg16.MAX_PAGE_ORDER) == (32 << 20, 11, 11)
    assert GEOMETRIES[65536].MAX_PAGE_ORDER == 13


def test_the_default_is_the_4k_geometry() -> None:
    """The module constants are x86_64's 4 KiB values, and a default Kernel uses them."""
    k = Kernel()
    assert k.pg is GEOMETRY_4K and k.config.page_size == 4096
    assert (mm_types.PAGE_SHIFT, mm_types.PMD_SHIFT, mm_types.PTRS_PER_PTE,
            mm_types.HPAGE_PMD_NR) == (12, 21, 512, 512)
    assert (k.config.pcp_batch, k.config.pcp_high) == (63, 48307)


def test_page_size_needs_arm64_and_a_supported_size() -> None:
    """Only arm64 has other granules (arch/arm64/Kconfig: ARM64_4K/16K/64K_PAGES); x86_64 and
    s390 have 4 KiB pages."""
    with pytest.raises(ValueError, match="arm64"):
        Kernel(page_size=16384)
    with pytest.raises(ValueError, match="page_size must be one of"):
        Kernel(arch="arm64", page_size=8192)
    with pytest.raises(TypeError, match="page_size"):
        Kernel(arch="arm64", page_size="16k")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fs_block_size"):
        Kernel(fs_block_size=16384)  # larger blocks than pages are not modelled
    with pytest.raises(ValueError, match="multiple of 16"):
        Kernel(read_ahead_kb=8196, **K16)


def test_a_pmd_maps_32_mib_with_16k_pages() -> None:
    """mm/huge_memory.c: an anonymous THP (MADV_HUGEPAGE, THP [madvise]) is one folio of
    HPAGE_PMD_ORDER mapped by a PMD: 2048 pages of 16 KiB = 32 MiB, counted in
    AnonHugePages (fs/proc/meminfo.c, kB); one PTE table (a page) is deposited per PMD."""
    k = Kernel(debug_vm=True, **K16)
    app = k.spawn("app")
    m = app.mmap(2 * k.pg.HPAGE_PMD_NR, thp=True)
    app.touch(m, write=True)
    info = k.meminfo()
    assert info["AnonHugePages"] == 2 * (32 << 10)
    assert info["PageTables"] == 2 * 16  # two deposited PTE tables of one 16 KiB page each
    assert app.task.mm is not None
    pmds = list(app.task.mm.pgd.values())
    assert len(pmds) == 2 and all(isinstance(e, Pmd) and e.folio is not None
                                  and e.folio.order == 11 for e in pmds)


def test_rss_is_reported_in_kb_of_16k_pages() -> None:
    """fs/proc/task_mmu.c:task_mem() and fs/proc/meminfo.c print pages << (PAGE_SHIFT - 10)
    kB: one 16 KiB page is 16 kB of VmRSS/RssAnon and of AnonPages."""
    for kw, kb in (({}, 4), (K16, 16)):
        k = Kernel(**kw)
        app = k.spawn("app")
        app.touch(app.mmap(10), write=True)
        assert app.status()["RssAnon"] == 10 * kb
        assert k.meminfo()["AnonPages"] == 10 * kb
        assert k.meminfo()["MemTotal"] == 24105 * 1024  # the same bytes, in fewer pages


def test_gather_batches_scale_with_the_page() -> None:
    """include/asm-generic/tlb.h: MAX_GATHER_BATCH = (PAGE_SIZE - sizeof(struct
    mmu_gather_batch) (16)) / sizeof(void *) = 2046 with 16 KiB pages (510 with 4 KiB);
    MAX_GATHER_BATCH_COUNT = 10000 / MAX_GATHER_BATCH = 4 (19); mm/mmu_gather.c:
    tlb_next_batch() allocates batches of that size until the count is reached, then
    __tlb_remove_folio_pages_size() asks the caller to flush."""
    from mrelease_ref.include.asm_generic.tlb import MMU_GATHER_BUNDLE
    from mrelease_ref.mm.mmu_gather import __tlb_remove_folio_pages_size, tlb_gather_mmu
    from mrelease_ref.mm.page_alloc import folio_alloc

    pg = GEOMETRIES[16384]
    assert (pg.MAX_GATHER_BATCH, pg.MAX_GATHER_BATCH_COUNT) == (2046, 4)
    assert (GEOMETRY_4K.MAX_GATHER_BATCH, GEOMETRY_4K.MAX_GATHER_BATCH_COUNT) == (510, 19)
    for kw, batch, count in (({}, 510, 19), (K16, 2046, 4)):
        k = Kernel(large_folios=False, **kw)  # type: ignore[arg-type]
        app = k.spawn("app", uid=1000, cpu=0)
        assert app.task.mm is not None
        with k.running(app.task):
            folio = folio_alloc(k, 0)
            tlb = tlb_gather_mmu(app.task.mm)
        assert folio is not None
        limit = (MMU_GATHER_BUNDLE - 1) + count * (batch - 1)
        for _ in range(1, limit):
            assert not __tlb_remove_folio_pages_size(tlb, (folio, 0), 1, False, k.pg.PAGE_SIZE)
        assert __tlb_remove_folio_pages_size(tlb, (folio, 0), 1, False, k.pg.PAGE_SIZE)
        assert tlb.batch_count == count and tlb.active.max == batch


def test_readahead_window_is_read_ahead_kb_in_pages() -> None:
    """mm/readahead.c:file_ra_state_init(): ra_pages = bdi->ra_pages = read_ahead_kb >>
    (PAGE_SHIFT - 10): the 8192 kB window is 2048 pages of 4 KiB or 512 of 16 KiB; mmap
    read-around (mm/filemap.c:do_sync_mmap_readahead()) reads ra_pages pages around the
    fault, the same bytes on both."""
    for kw, ra_pages in (({}, 2048), (K16, 512)):
        k = Kernel(**kw)
        app = k.spawn("app")
        f = k.create_file("data", 4 * ra_pages)
        app.touch(app.mmap(4 * ra_pages, file=f), start=2 * ra_pages, nr_pages=1)
        assert k.cachestat(f).nr_cache == ra_pages


def test_ext4_caps_folios_at_2048_blocks() -> None:
    """fs/ext4/inode.c:EXT4_MAX_PAGECACHE_ORDER = umin(MAX_PAGECACHE_ORDER, 11 + i_blkbits -
    PAGE_SHIFT): with 16 KiB pages and 4 KiB blocks page-cache folios stop at order 9 (8
    MiB), below the PMD order 11, so even MADV_HUGEPAGE (mm/filemap.c:
    do_sync_mmap_readahead(), HPAGE_PMD_ORDER reads) maps no file PMD; with 16 KiB blocks
    the limit is 11 and it does. mm/readahead.c:page_cache_ra_order() also caps the order
    at ilog2(ra->size), so the 512-page (8 MiB) window of a plain stream stops at order 9
    either way."""
    from mrelease_ref.mm.readahead import mapping_max_folio_order

    def top(block: int, thp: bool) -> tuple[int, int]:
        k = Kernel(fs_block_size=block, **K16)  # type: ignore[arg-type]
        app = k.spawn("app")
        f = k.create_file("big", 16384)  # 256 MiB of 16 KiB pages
        app.touch(app.mmap(16384, file=f, thp=thp))
        cached = list(f.i_mapping.i_pages.values())
        return max(x.order for x in cached), k.meminfo()["FilePmdMapped"]

    assert mapping_max_folio_order(Kernel(**K16).create_file("x", 1).i_mapping) == 9
    assert mapping_max_folio_order(
        Kernel(fs_block_size=16384, **K16).create_file("x", 1).i_mapping) == 11
    assert top(4096, thp=True) == (9, 0)
    assert top(16384, thp=False) == (9, 0)
    order, pmd_kb = top(16384, thp=True)
    assert order == 11 and pmd_kb > 0 and pmd_kb % (32 << 10) == 0


def test_arm64_reads_executable_mappings_in_64k_folios() -> None:
    """arch/arm64/include/asm/pgtable.h:exec_folio_order() = ilog2(SZ_64K >> PAGE_SHIFT)
    (order 4 with 4 KiB pages, 2 with 16 KiB), used by mm/filemap.c:do_sync_mmap_readahead()
    for VM_EXEC mappings; the generic include/linux/pgtable.h one is 0 (x86_64)."""
    from mrelease_ref.mm.filemap import exec_folio_order

    def first_order(**kw: object) -> int:
        k = Kernel(**kw)  # type: ignore[arg-type]
        app = k.spawn("app")
        f = k.create_file("lib.so", 256)
        m = app.mmap(256, file=f)
        app.mprotect(m, PROT_READ | PROT_EXEC)
        app.touch(m, start=100, nr_pages=1)
        orders = {x.order for x in f.i_mapping.i_pages.values()}
        assert orders == {exec_folio_order(k)}
        return exec_folio_order(k)

    assert first_order() == 0
    assert first_order(arch="arm64") == 4
    assert first_order(**K16) == 2


def test_pcp_batch_and_fault_around_are_bytes_in_pages() -> None:
    """mm/page_alloc.c:zone_batchsize(): min(managed >> 10, SZ_1M / PAGE_SIZE) / 4, clamped
    to 2^n - 1: 63 with 4 KiB pages, 15 with 16 KiB; mm/memory.c: fault_around_pages =
    fault_around_bytes (64 KiB) >> PAGE_SHIFT: 16 and 4."""
    assert (GEOMETRY_4K.PCP_BATCH, GEOMETRY_4K.FAULT_AROUND_PAGES) == (63, 16)
    k = Kernel(**K16)
    assert (k.config.pcp_batch, k.pg.FAULT_AROUND_PAGES) == (15, 4)
    app = k.spawn("app")
    f = k.create_file("small", 64)
    fd = app.open(f)
    app.read(fd, 0, 64)  # cache every page
    m = app.mmap(64, file=f)
    app.touch(m, start=9, nr_pages=1)
    assert app.status()["RssFile"] == 4 * 16  # the aligned 64 KiB window around page 9


def test_a_16k_reap_frees_everything_with_invariants_checked() -> None:
    """The reap path (mm/oom_kill.c:__oom_reap_task_mm() -> zap_pmd_range() ->
    zap_pte_range(), mm/huge_memory.c:zap_huge_pmd()) walks 32 MiB PMDs and 2048-entry PTE
    tables: a victim with anonymous, THP, file and shmem memory ends with no rss, and the
    model's invariant checker (page tables, rss, LRU, refcounts) passes after every call."""
    for lru_gen in (False, True):
        k = Kernel(debug_vm=True, lru_gen=lru_gen, **K16)
        lmkd, app = k.spawn("lmkd", uid=0), k.spawn("app", uid=10001)
        app.touch(app.mmap(5000), write=True)
        app.touch(app.mmap(2 * k.pg.HPAGE_PMD_NR, thp=True), write=True)
        app.touch(app.mmap(3000, file=k.create_file("apk", 3000)))
        app.touch(app.mmap(300, shared=True), write=True)
        pidfd = lmkd.pidfd_open(app.pid)
        lmkd.kill(app.pid, signal.SIGKILL)
        lmkd.process_mrelease(pidfd, 0)
        # the reaper skips only the MAP_SHARED shmem VMA (it is VM_SHARED file-backed)
        assert app.status() == {"VmRSS": 300 * 16, "RssAnon": 0, "RssFile": 0,
                                "RssShmem": 300 * 16, "VmSwap": 0}
        k.run()
        assert k.meminfo()["AnonPages"] == 0


_MODEL_DIRS = ("mm", "kernel", "fs", "include", "series", "arch", "sim")
_CONSTANTS = {"PAGE_SHIFT", "PAGE_SIZE", "PMD_SHIFT", "PMD_SIZE", "PTRS_PER_PTE",
              "HPAGE_PMD_ORDER", "HPAGE_PMD_NR", "MAX_GATHER_BATCH", "MAX_GATHER_BATCH_COUNT",
              "MAX_PAGECACHE_ORDER", "BDI_IO_PAGES", "KB_PER_PAGE"}


def test_model_code_reads_the_kernels_geometry() -> None:
    """No model function uses a 4 KiB module constant: a name such as PAGE_SHIFT inside a
    function of mm/, kernel/, fs/, include/, series/, arch/ or sim/ must come from the
    kernel's geometry (``k.pg.PAGE_SHIFT``), or a 16 KiB kernel would compute 4 KiB
    addresses. (The constants may still be defined at module level, for 4 KiB tests.)"""
    bad: list[str] = []
    for d in _MODEL_DIRS:
        for path in sorted((ROOT / d).rglob("*.py")):
            tree = ast.parse(path.read_text())
            for fn in ast.walk(tree):
                if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                for node in ast.walk(fn):
                    if (isinstance(node, ast.Name) and node.id in _CONSTANTS
                            and isinstance(node.ctx, ast.Load)):
                        bad.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.id}")
    assert not bad, "4 KiB constants used in model code:\n" + "\n".join(bad)


def test_the_android_preset_bundles_its_settings() -> None:
    """``Kernel.android()`` is arm64 with 16 KiB pages (CONFIG_ARM64_16K_PAGES), MGLRU and
    order-0 page cache (fs/ext4/inode.c:ext4_should_enable_large_folio() is false with the
    encrypt feature), zram-like swap; overrides change one setting and keep the others, and
    an impossible combination fails as the constructor would."""
    from mrelease_ref.sim.kernel import ANDROID

    k = Kernel.android()
    assert k.pg is GEOMETRIES[16384]
    assert {name: getattr(k.config, name) for name in ANDROID} == ANDROID
    assert k.swap_info is not None and k.swap_info.max == 4096 * 64  # 4 GiB of 16 KiB slots
    k4 = Kernel.android("v3", page_size=4096)
    assert (k4.config.variant, k4.pg, k4.config.lru_gen) == ("v3", GEOMETRY_4K, True)
    with pytest.raises(ValueError, match="arm64"):
        Kernel.android(arch="x86_64")

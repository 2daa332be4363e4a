"""Tests for :mod:`mrelease_ref.scenarios.patch1`: the experiments behind notebook 01.

Each test states the kernel rule (or the patch's rule) its experiment shows, so a change in
the model that alters a result the notebook narrates fails here first. Expected numbers
are computed from the scenario parameters (victim spec, page counts, folio orders) and the
kernel's constants (``PAGEVEC_SIZE``), never copied from an output.
"""

from __future__ import annotations

from mrelease_ref.include.linux.mmzone import PAGEVEC_SIZE
from mrelease_ref.scenarios import patch1
from mrelease_ref.scenarios.patch1 import (
    BASELINE,
    D_INTENDED,
    PREDICATE_CASES,
    RFC_1,
    V1_1,
    D,
)
from mrelease_ref.scenarios.victims import OVERVIEW_VICTIM, MappingSpec

SMALL = 1
"""Pages in a small folio (``large_folios=False``)."""


def _case(name: str) -> patch1.PredicateCase:
    return next(c for c in PREDICATE_CASES if c.case == name)


def _fate(outs: list[patch1.ReapOutcome]) -> dict[tuple[str, str], dict[str, int]]:
    return {(r["kernel"], r["memory"]): r for r in patch1.fate_rows(outs)}


def _spec(kind: str) -> MappingSpec:
    """The one mapping of ``kind`` in the overview victim."""
    (ms,) = [m for m in OVERVIEW_VICTIM.mappings if m.kind == kind]
    return ms


def _activate_batch_evicts(nr_vmas: int, per_vma: int) -> int:
    """Folios evicted when every zapped folio goes through one per-CPU ``lru_activate``
    batch (a reference while queued; the batch drains itself when it reaches
    ``PAGEVEC_SIZE``) and the reaper flushes one gather per VMA: at each flush, the VMA's
    folios still queued are refused."""
    queued, evicted = 0, 0
    for _ in range(nr_vmas):
        mine = 0
        for _ in range(per_vma):
            queued, mine = queued + 1, mine + 1
            if queued == PAGEVEC_SIZE:
                queued, mine = 0, 0
        evicted += per_vma - mine
    return evicted


def test_baseline_keeps_page_cache_v1_evicts_clean_exclusive_small_folios() -> None:
    """Baseline free_pages_and_swap_cache() evicts nothing; v1 1/3 evicts every clean,
    exclusively mapped small file folio the reaper zaps (MAP_PRIVATE only: MAP_SHARED VMAs
    are skipped by __oom_reap_task_mm()); the written pages of a COW mapping were unmapped
    from the page cache at wp_page_copy() time and never reach the gather; anonymous memory
    (COW copies included) is freed by both."""
    rows = _fate(patch1.reap_outcomes((BASELINE, V1_1), large_folios=False))
    private, cow = _spec("file-private"), _spec("file-cow")
    for kind in ("file-private", "file-cow", "file-shared"):
        assert rows[("baseline", f"{kind} (cached)")]["removed by reap"] == 0
    assert rows[("v1 1/3", "file-private (cached)")]["removed by reap"] == private.nr_pages
    assert rows[("v1 1/3", "file-cow (cached)")]["after reap"] == cow.dirty
    assert rows[("v1 1/3", "file-shared (cached)")]["removed by reap"] == 0
    anon = _spec("anon").nr_pages + cow.dirty
    for k in ("baseline", "v1 1/3"):
        assert rows[(k, "anon (resident)")]["before"] == anon
        assert rows[(k, "anon (resident)")]["after reap"] == 0


def test_fate_totals_sum_the_fate_rows() -> None:
    """The narrated totals: the baseline keeps every file page cached; v1 evicts the private
    mapping and the COW mapping's unwritten pages during the reap, then (MMF_UNSTABLE still
    set) the clean MAP_SHARED pages in the victim's exit; D's bool never reaches the exit."""
    outs = patch1.reap_outcomes((BASELINE, V1_1, D), large_folios=False)
    totals = {r["kernel"]: r for r in patch1.fate_totals(outs)}
    private, cow, shared = _spec("file-private"), _spec("file-cow"), _spec("file-shared")
    files = private.nr_pages + cow.nr_pages + shared.nr_pages
    for r in totals.values():
        assert r["file pages cached before"] == files
        assert r["cached after reap"] == files - r["evicted by the reap"]
        assert r["cached after exit"] == r["cached after reap"] - r["evicted by the exit"]
    assert totals["baseline"]["cached after exit"] == files
    for k in ("v1 1/3", "d, REAP_KILL"):
        assert totals[k]["evicted by the reap"] == private.nr_pages + cow.nr_pages - cow.dirty
    assert totals["v1 1/3"]["evicted by the exit"] == shared.nr_pages - shared.dirty
    assert totals["d, REAP_KILL"]["evicted by the exit"] == 0


def test_v1_exit_after_reap_evicts_the_clean_shared_pages_the_reaper_skipped() -> None:
    """v1 reads MMF_UNSTABLE at every free, and the reap left it set: the victim's own
    exit_mmap() then evicts clean MAP_SHARED folios (dirty ones stay); D's bool does not
    reach exit_mmap()."""
    rows = _fate(patch1.reap_outcomes((V1_1, D), large_folios=False))
    shared = _spec("file-shared")
    assert rows[("v1 1/3", "file-shared (cached)")]["after exit"] == shared.dirty
    assert rows[("d, REAP_KILL", "file-shared (cached)")]["after exit"] == shared.nr_pages


def test_realistic_folios_of_the_overview_victim_are_all_small() -> None:
    """With the default (readahead chooses the order), the overview victim's files (1, 2
    and 4 MiB, read through mmap) are read around in order-0 folios: the measured kernel
    reads a 2 MiB and an 8 MiB file touched through mmap entirely in 4 KiB folios
    (lab/data/folios.json, 2048KiB/seq and 8192KiB/seq; mm/filemap.c:
    do_sync_mmap_readahead() sets ``ra->order = 0`` and a window of ``ra_pages`` = 2048).
    So large folios on or off gives the same fates."""
    on = _fate(patch1.reap_outcomes((V1_1,), large_folios=True))
    off = _fate(patch1.reap_outcomes((V1_1,), large_folios=False))
    assert on == off


def test_large_folios_keep_the_cow_and_shared_mappings_cached() -> None:
    """With every file in 2 MiB folios (the fixed-order model, ``file_folio_order=9``: what
    a file read in PMD-order folios gets, e.g. under MADV_HUGEPAGE) the private read-only
    mapping is PMD-mapped (one reference per folio) and evicted; COW splits its PMD and the
    smaller shared file is PTE-mapped, so their folios carry one reference per mapped page
    and mapping_evict_folio() refuses."""
    rows = _fate(patch1.reap_outcomes((V1_1,), large_folios=True, file_folio_order=9))
    assert rows[("v1 1/3", "file-private (cached)")]["removed by reap"] == (
        _spec("file-private").nr_pages)
    for kind in ("file-cow", "file-shared"):
        r = rows[("v1 1/3", f"{kind} (cached)")]
        assert r["after exit"] == r["before"] == _spec(kind).nr_pages, kind


def test_d_as_posted_stops_the_reap_freeing_anonymous_memory() -> None:
    """Draft D passes a zero-initialised zap_details: even_cows is false, so
    should_zap_folio() keeps anonymous folios; with the intended details they are freed."""
    rows = _fate(patch1.reap_outcomes((D, D_INTENDED), large_folios=False))
    assert rows[("d, REAP_KILL", "anon (resident)")]["removed by reap"] == 0
    assert rows[("d, REAP_KILL", "anon (resident)")]["after exit"] == 0
    assert rows[("d, REAP_KILL, details intended", "anon (resident)")]["after reap"] == 0


def test_predicate_each_condition_blocks_eviction() -> None:
    """mapping_evict_folio() (docs/sources.md §T3.2 (a)-(h)): the control is evicted; making any
    one buildable condition false keeps every page, except (g) clean private data, which
    filemap_release_folio() drops."""
    n = 16
    rows = {r["case"]: r for r in patch1.predicate_table(nr_pages=n)}
    assert rows["control"]["evicted"] == n
    assert rows["(g) private data"]["evicted"] == n
    for name, r in rows.items():
        if name in ("control", "(g) private data"):
            continue
        if r["mapped"] == patch1.NA:
            assert name.startswith(("(d)", "(h)"))
            continue
        assert r["evicted"] == 0, name
        assert r["still cached"] == n, name


def test_predicate_refcount_rule() -> None:
    """(f): refcount > nr_pages + has_private + 1 at the attempt refuses eviction. A small
    clean folio has the page cache's reference and the gather's (= the limit); each (f)
    case adds exactly one; a PTE-mapped large folio has nr_pages page-cache references
    plus one per mapped PTE; buffer heads (folio_attach_private()) add one to both the
    count and the limit."""
    rows = {r["case"]: r for r in patch1.predicate_table()}
    control = rows["control"]
    assert control["limit"] == SMALL + 0 + 1
    assert control["refcount at attempt"] == SMALL + 1
    for name in ("(f) second mapper", "(f) lru_add batch", "(f) mlocked",
                 "(f) referenced before"):
        assert rows[name]["refcount at attempt"] == control["limit"] + 1, name
        assert rows[name]["limit"] == control["limit"], name
    case = _case("(f) PTE-mapped large folio")
    nr = 1 << dict(case.kernel_options)["file_folio_order"]
    big = rows[case.case]
    assert (big["refcount at attempt"], big["limit"]) == (nr + nr, nr + 1)
    priv = rows["(g) private data"]
    assert priv["limit"] == control["limit"] + 1
    assert priv["refcount at attempt"] == priv["limit"]


def test_dirty_and_writeback_are_refused_by_flags_not_references() -> None:
    """mapping_evict_folio() refuses dirty and writeback folios before the refcount test.
    folio_start_writeback() takes no folio reference (the I/O relies on PG_writeback and
    truncation waiting for it), so both rows show the control's refcount, within the
    limit, and still nothing is evicted."""
    rows = {r["case"]: r for r in patch1.predicate_table()}
    for name in ("(e) dirty", "(e) writeback"):
        assert rows[name]["refcount at attempt"] == rows["control"]["refcount at attempt"]
        assert rows[name]["refcount at attempt"] <= rows[name]["limit"]
        assert rows[name]["evicted"] == 0


def test_mlock_batch_only_blocks_the_folios_still_in_it() -> None:
    """munlock goes through a PAGEVEC_SIZE per-CPU batch holding a reference; full
    batches drain during the zap, so only the last partial batch is refused."""
    for n in (16, 100):
        row = patch1.predicate_outcome(_case("(f) mlocked"), V1_1, nr_pages=n)
        assert row["evicted"] == n - n % PAGEVEC_SIZE
        assert row["still cached"] == n % PAGEVEC_SIZE


def test_large_folio_rule() -> None:
    """A PTE-mapped large folio hands k references to the free path (k mapped pages) and is
    evicted only if k <= 1; a PMD mapping hands one, so it is evicted on x86_64, but s390's
    PMD path (__tlb_remove_page_size() -> free_folio_and_swap_cache()) never tries."""
    rows = {(r["arch"], r["mapping"]): r for r in patch1.large_folio_table()}
    for case in patch1.LARGE_FOLIO_CASES:
        pages = 1 << case.file_folio_order if case.large_folios else SMALL
        pages = min(pages, case.file_pages)
        for arch in ("x86_64", "s390"):
            r = rows[(arch, case.label)]
            assert r["folio pages"] == pages, (arch, case.label)
            assert r["cached before"] == case.file_pages
            assert r["limit"] in (pages + 1, patch1.NA)
            if r["mapped by"] == "PMD":
                assert r["refs handed to the free path"] == 1
                if arch == "s390":
                    assert r["refcount at attempt"] == "no attempt"
                    assert r["evicted"] == 0
                    continue
            else:
                assert r["refs handed to the free path"] == min(case.touched, pages)
            refs = r["refs handed to the free path"]
            assert r["refcount at attempt"] == pages + refs
            assert r["evicted"] == (case.file_pages if refs <= 1 else 0), (arch, case.label)
    pmd = patch1.LARGE_FOLIO_CASES[0]
    assert rows[("x86_64", pmd.label)]["mapped by"] == "PMD"
    assert rows[("s390", pmd.label)]["mapped by"] == "PMD"


def test_referenced_folios_need_patch_2() -> None:
    """folio_mark_accessed() on a PG_referenced folio queues it on the per-CPU
    lru_activate batch with a reference (the batch drains itself at PAGEVEC_SIZE); the
    reaper flushes one gather per VMA, so at each flush that VMA's folios still queued
    stay cached. Patch 2 skips the call for exclusive folios, so all are evicted."""
    for nr_files, per_file in patch1.REFERENCED_LAYOUTS:
        mapped = nr_files * per_file
        rows = patch1.referenced_table(((nr_files, per_file),))
        (row,) = rows
        assert row["mapped"] == mapped
        assert row["v1 1/3, first use"] == mapped
        assert row["v1 1/3+2/3, referenced before"] == mapped
        expected = _activate_batch_evicts(nr_files, per_file)
        assert row["v1 1/3, referenced before"] == expected, (nr_files, per_file)
        assert row["lost by 1/3 alone"] == mapped - expected
        assert row["lost by 1/3 alone"] <= nr_files * (PAGEVEC_SIZE - 1)
    probe = {r["kernel"]: r for r in patch1.referenced_probe()}
    assert probe["v1 1/3"]["refcount after zap"] == probe["v1 1/3"]["limit"] + 1
    assert probe["v1 1/3+2/3"]["refcount after zap"] == probe["v1 1/3+2/3"]["limit"]


def test_gate_per_version() -> None:
    """v1: MMF_UNSTABLE, which the OOM reaper sets too and which survives into exit_mmap();
    RFC: the same flag per flush; D: only process_mrelease() with REAP_KILL (other flags
    are EINVAL on the others); nobody evicts on a plain exit or munmap()."""
    n = 32
    rows = {r["who zaps"]: r for r in patch1.gate_table(nr_pages=n)}
    by = {key: rows[desc] for key, desc in patch1.GATE_ZAPPERS}
    kernels = (BASELINE, RFC_1, V1_1, D)
    assert [by["mrelease"][k.label] for k in kernels] == [0, n, n, 0]
    assert [by["mrelease REAP_KILL"][k.label] for k in kernels] == [
        "EINVAL", "EINVAL", "EINVAL", n]
    assert [by["oom reaper"][k.label] for k in kernels] == [0, n, n, 0]
    assert [by["exit after reap"][k.label] for k in kernels] == [0, n, n, 0]
    for key in ("exit", "munmap"):
        assert all(by[key][k.label] == 0 for k in kernels), key


def test_arch_and_config_swap() -> None:
    """RFC: s390 passes false and !CONFIG_SWAP keeps release_pages(), so no eviction
    there; v1: the mm goes everywhere and mm/swap.c is always built; D (with REAP_KILL)
    lives in mm/swap.c too, but has no s390 hunk."""
    n = 32
    rows = {r["kernel"]: r for r in patch1.arch_swap_table(nr_pages=n)}
    cols = ["x86_64, CONFIG_SWAP", "x86_64, !CONFIG_SWAP", "s390, CONFIG_SWAP",
            "s390, !CONFIG_SWAP"]
    assert [rows["baseline"][c] for c in cols] == [0, 0, 0, 0]
    assert [rows["rfc 1/3"][c] for c in cols] == [n, 0, 0, 0]
    assert [rows["v1 1/3"][c] for c in cols] == [n, n, n, n]
    assert [rows["d, REAP_KILL"][c] for c in cols] == [n, n] + ["does not build"] * 2


def test_s390_evicts_inside_the_zap() -> None:
    """s390 has no gather: __tlb_remove_folio_pages() frees (and with v1 evicts) at once,
    under the PTE lock; the generic gather evicts only at the flush, after the TLB flush."""
    n = 32
    rows = {(r["kernel"], r["arch"]): r for r in patch1.zap_pause_table(nr_pages=n)}
    assert rows[("v1 1/3", "s390")]["cached after zap, before flush"] == 0
    assert rows[("v1 1/3", "x86_64")]["cached after zap, before flush"] == n
    assert rows[("v1 1/3", "x86_64")]["cached after flush"] == 0
    assert rows[("rfc 1/3", "s390")]["cached after flush"] == n
    for arch in ("x86_64", "s390"):
        assert rows[("baseline", arch)]["cached after flush"] == n


def test_shmem_swapcache_state_a_is_unaffected_state_b_regresses() -> None:
    """free_swap_cache() -> folio_free_swap() refuses while folio_swapped(): with shmem's
    entry counting the slot (state A) baseline keeps the folio too, so v1's missing call
    changes nothing; only with the cache as sole holder (state B) does v1 keep a folio the
    baseline frees, and the 05-08 swap-cache-first fix restores it. While reaping, v1's
    folio_mapping() is the swap address space and mapping_evict_folio() drops the clean
    folio from the swap cache even in state A; D's folio->mapping is NULL there."""
    out = patch1.shmem_swapcache_outcome
    fix = patch1.SHMEM_KERNELS[3]
    for c in (BASELINE, V1_1, fix, D):
        assert out(c, reaping=False, shmem_holds_slot=True).startswith("stays in swap cache")
    assert out(BASELINE, reaping=False, shmem_holds_slot=False) == "freed; slot free"
    assert out(V1_1, reaping=False, shmem_holds_slot=False).startswith("stays in swap cache")
    assert out(fix, reaping=False, shmem_holds_slot=False) == "freed; slot free"
    assert out(V1_1, reaping=True, shmem_holds_slot=True) == "freed; slot count 1"
    assert out(D, reaping=True, shmem_holds_slot=False).startswith("stays in swap cache")


def test_d_folio_mapping_hands_anon_vma_to_mapping_evict_folio_with_the_fix() -> None:
    """With the swap-cache-first test, a non-swap-cache anonymous folio reaches
    free_file_cache(); D reads folio->mapping, which for an anon folio is its anon_vma.
    v1 reads folio_mapping(), NULL for anon, and is safe."""
    n = 64
    rows = {r["kernel"]: r for r in patch1.anon_mapping_table(nr_pages=n)}
    both = rows["d, details intended + swapcache fix"]
    assert both["anon pages freed by the reap"] == n
    assert both["EVICT_ANON_MAPPING"] == n
    assert both["anon folios passing the pre-remove_mapping() tests"] == n
    for name in ("d, REAP_KILL", "d, REAP_KILL, details intended", "d + swapcache fix",
                 "v1 1/3 + swapcache fix"):
        assert rows[name]["EVICT_ANON_MAPPING"] == 0, name
    assert rows["d + swapcache fix"]["anon pages freed by the reap"] == 0  # even_cows


def test_experiments_are_deterministic() -> None:
    """Same seeds, same rows: the notebook's outputs can be compared by strict nbval."""
    assert patch1.predicate_table() == patch1.predicate_table()
    assert patch1.referenced_table(((8, 16),)) == patch1.referenced_table(((8, 16),))


def test_v1_keeps_the_readahead_ramp_of_a_file_read_in_order() -> None:
    """Folio sizes as readahead makes them (a 64 MiB file read in order: 2048 order-0
    pages, then 2048-page windows of order 2, 4, 6, 8, then 12 PMD-mapped order-9 folios;
    mm/readahead.c:page_cache_async_ra() raises ``ra->order`` by 2 per window, measured in
    lab/data/folios.json). mapping_evict_folio() admits one reference beyond the page
    cache's: an order-0 folio (one PTE) and a PMD-mapped folio (one PMD reference) pass on
    x86_64, a ramp folio mapped whole by 2^order PTEs does not; on s390 the PMD path
    (__tlb_remove_page_size()) never evicts. So v1 keeps 4 x 2048 pages on x86_64 and
    16384 - 2048 on s390; the baseline keeps everything."""
    rows = patch1.readahead_file_rows()
    left = {(r["arch"], r["kernel"]): 0 for r in rows}
    for r in rows:
        left[(r["arch"], r["kernel"])] += r["pages cached after reap"]
    assert left == {("x86_64", "baseline"): 16384, ("x86_64", "v1 1/3"): 4 * 2048,
                    ("s390", "baseline"): 16384, ("s390", "v1 1/3"): 16384 - 2048}
    orders = {r["folio order"]: r["mapped by"] for r in rows}
    assert orders == {0: "1 PTE", 2: "4 PTEs", 4: "16 PTEs", 6: "64 PTEs", 8: "256 PTEs",
                      9: "PMD"}

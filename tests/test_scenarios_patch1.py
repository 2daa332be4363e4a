"""Tests for :mod:`mrelease_ref.scenarios.patch1`: the experiments behind notebook 01.

Each test states the kernel rule (or the patch's rule) its experiment shows, so a change in
the model that alters a number the notebook narrates fails here first.
"""

from __future__ import annotations

from mrelease_ref.scenarios import patch1
from mrelease_ref.scenarios.patch1 import (
    BASELINE,
    D_INTENDED,
    PREDICATE_CASES,
    RFC_1,
    V1_1,
    V1_2,
    D,
)


def _case(name: str) -> patch1.PredicateCase:
    return next(c for c in PREDICATE_CASES if c.case == name)


def _fate(outs: list[patch1.ReapOutcome]) -> dict[tuple[str, str], dict[str, int]]:
    return {(r["kernel"], r["memory"]): r for r in patch1.fate_rows(outs)}


def test_baseline_keeps_page_cache_v1_evicts_clean_exclusive_small_folios() -> None:
    """Baseline free_pages_and_swap_cache() evicts nothing; v1 1/3 evicts every clean,
    exclusively mapped small file folio the reaper zaps (MAP_PRIVATE only: MAP_SHARED VMAs
    are skipped by __oom_reap_task_mm()); anonymous memory is freed by both."""
    rows = _fate(patch1.reap_outcomes((BASELINE, V1_1), large_folios=False))
    for kind in ("file-private", "file-cow", "file-shared"):
        assert rows[("baseline", f"{kind} (cached)")]["removed by reap"] == 0
    assert rows[("v1 1/3", "file-private (cached)")]["removed by reap"] == 1024
    # COW: the 128 written pages' page-cache folios were unmapped at COW time
    assert rows[("v1 1/3", "file-cow (cached)")]["after reap"] == 128
    assert rows[("v1 1/3", "file-shared (cached)")]["removed by reap"] == 0
    for k in ("baseline", "v1 1/3"):
        assert rows[(k, "anon (resident)")]["after reap"] == 0


def test_v1_exit_after_reap_evicts_the_clean_shared_pages_the_reaper_skipped() -> None:
    """v1 reads MMF_UNSTABLE at every free, and the reap left it set: the victim's own
    exit_mmap() then evicts clean MAP_SHARED folios (dirty ones stay); D's bool does not
    reach exit_mmap()."""
    rows = _fate(patch1.reap_outcomes((V1_1, D), large_folios=False))
    assert rows[("v1 1/3", "file-shared (cached)")]["after exit"] == 32  # the dirty ones
    assert rows[("d, REAP_KILL", "file-shared (cached)")]["after exit"] == 256


def test_d_as_posted_stops_the_reap_freeing_anonymous_memory() -> None:
    """Draft D passes a zero-initialised zap_details: even_cows is false, so
    should_zap_folio() keeps anonymous folios; with the intended details they are freed."""
    rows = _fate(patch1.reap_outcomes((D, D_INTENDED), large_folios=False))
    assert rows[("d, REAP_KILL", "anon (resident)")]["removed by reap"] == 0
    assert rows[("d, REAP_KILL, details intended", "anon (resident)")]["after reap"] == 0


def test_predicate_each_condition_blocks_eviction() -> None:
    """mapping_evict_folio() (thread.md §3.2 (a)-(h)): the control is evicted; making any
    one buildable condition false keeps every page, except (g) clean private data, which
    filemap_release_folio() drops."""
    rows = {r["case"]: r for r in patch1.predicate_table()}
    assert rows["control"]["evicted"] == 16
    assert rows["(g) private data"]["evicted"] == 16
    for name, r in rows.items():
        if name in ("control", "(g) private data"):
            continue
        if r["mapped"] == patch1.NA:
            assert name.startswith(("(d)", "(h)"))
            continue
        assert r["evicted"] == 0, name


def test_predicate_refcount_rule() -> None:
    """(f): refcount > nr_pages + has_private + 1 at the attempt refuses eviction; each
    (f) case carries exactly the extra references its construction adds."""
    rows = {r["case"]: r for r in patch1.predicate_table()}
    assert (rows["control"]["refcount at attempt"], rows["control"]["limit"]) == (2, 2)
    for name in ("(f) second mapper", "(f) lru_add batch", "(f) mlocked",
                 "(f) referenced before"):
        assert rows[name]["refcount at attempt"] == 3, name
        assert rows[name]["limit"] == 2
    big = rows["(f) PTE-mapped large folio"]
    assert (big["refcount at attempt"], big["limit"]) == (32, 17)
    assert (rows["(g) private data"]["refcount at attempt"],
            rows["(g) private data"]["limit"]) == (3, 3)


def test_mlock_batch_only_blocks_the_folios_still_in_it() -> None:
    """munlock goes through a PAGEVEC_SIZE (31) per-CPU batch holding a reference; full
    batches drain during the zap, so only the last partial batch is refused."""
    row = patch1.predicate_outcome(_case("(f) mlocked"), V1_1, nr_pages=100)
    assert row["evicted"] == 100 - 100 % 31


def test_large_folio_rule() -> None:
    """A PTE-mapped large folio hands k references to the free path and is evicted only if
    k <= 1; a PMD mapping hands one, so it is evicted on x86_64, but s390's PMD path
    (__tlb_remove_page_size() -> free_folio_and_swap_cache()) never tries."""
    rows = {(r["arch"], r["mapping"]): r for r in patch1.large_folio_table()}
    cases = [c.label for c in patch1.LARGE_FOLIO_CASES]
    pmd, pte_all, pte2, pte1, order6, small = cases
    assert rows[("x86_64", pmd)]["evicted"] == 512
    assert rows[("s390", pmd)]["evicted"] == 0
    assert rows[("s390", pmd)]["refcount at attempt"] == "no attempt"
    for arch in ("x86_64", "s390"):
        assert rows[(arch, pte_all)]["evicted"] == 0
        assert rows[(arch, pte_all)]["refcount at attempt"] == 1024
        assert rows[(arch, pte2)]["evicted"] == 0
        assert rows[(arch, pte1)]["evicted"] == 512
        assert rows[(arch, order6)]["evicted"] == 0
        assert rows[(arch, small)]["evicted"] == 64


def test_referenced_folios_need_patch_2() -> None:
    """folio_mark_accessed() on a PG_referenced folio queues it on the per-CPU
    lru_activate batch with a reference; patch 2 skips that for exclusive folios, so the
    folios still in the batch at the flush are evicted only with patch 2."""
    for n in (16, 100):
        assert patch1.referenced_outcome(V1_1, 1, n, referenced=False) == n
        assert patch1.referenced_outcome(V1_1, 1, n, referenced=True) == n - n % 31
        assert patch1.referenced_outcome(V1_2, 1, n, referenced=True) == n
    probe = {r["kernel"]: r for r in patch1.referenced_probe()}
    assert probe["v1 1/3"]["refcount after zap"] == 3
    assert probe["v1 1/3+2/3"]["refcount after zap"] == 2


def test_gate_per_version() -> None:
    """v1: MMF_UNSTABLE, which the OOM reaper sets too and which survives into exit_mmap();
    RFC: the same flag per flush; D: only process_mrelease() with REAP_KILL; nobody evicts
    on a plain exit or munmap()."""
    rows = {r["who zaps"]: r for r in patch1.gate_table(nr_pages=32)}
    by = {key: rows[desc] for key, desc in patch1.GATE_ZAPPERS}
    assert [by["mrelease"][k.label] for k in (BASELINE, RFC_1, V1_1, D)] == [0, 32, 32, 0]
    assert [by["mrelease REAP_KILL"][k.label] for k in (BASELINE, RFC_1, V1_1, D)] == [
        "EINVAL", "EINVAL", "EINVAL", 32]
    assert [by["oom reaper"][k.label] for k in (BASELINE, RFC_1, V1_1, D)] == [0, 32, 32, 0]
    assert [by["exit after reap"][k.label] for k in (BASELINE, RFC_1, V1_1, D)] == [
        0, 32, 32, 0]
    for key in ("exit", "munmap"):
        assert all(by[key][k.label] == 0 for k in (BASELINE, RFC_1, V1_1, D)), key


def test_arch_and_config_swap() -> None:
    """RFC: s390 passes false and !CONFIG_SWAP keeps release_pages(), so no eviction
    there; v1: the mm goes everywhere and mm/swap.c is always built; D has no s390 hunk."""
    rows = {r["kernel"]: r for r in patch1.arch_swap_table(nr_pages=32)}
    assert list(rows["rfc 1/3"].values())[1:] == [32, 0, 0, 0]
    assert list(rows["v1 1/3"].values())[1:] == [32, 32, 32, 32]
    assert rows["d, REAP_KILL"]["s390, CONFIG_SWAP"] == "does not build"


def test_s390_evicts_inside_the_zap() -> None:
    """s390 has no gather: __tlb_remove_folio_pages() frees (and with v1 evicts) at once,
    under the PTE lock; the generic gather evicts only at the flush, after the TLB flush."""
    rows = {(r["kernel"], r["arch"]): r for r in patch1.zap_pause_table(nr_pages=32)}
    assert rows[("v1 1/3", "s390")]["cached after zap, before flush"] == 0
    assert rows[("v1 1/3", "x86_64")]["cached after zap, before flush"] == 32
    assert rows[("v1 1/3", "x86_64")]["cached after flush"] == 0
    assert rows[("rfc 1/3", "s390")]["cached after flush"] == 32


def test_shmem_swapcache_state_a_is_unaffected_state_b_regresses() -> None:
    """free_swap_cache() -> folio_free_swap() refuses while folio_swapped(): with shmem's
    entry counting the slot (state A) baseline keeps the folio too, so v1's missing call
    changes nothing; only with the cache as sole holder (state B) does v1 keep a folio the
    baseline frees, and the 05-08 swap-cache-first fix restores it. While reaping, v1's
    folio_mapping() is the swap address space and mapping_evict_folio() drops the clean
    folio from the swap cache even in state A."""
    out = patch1.shmem_swapcache_outcome
    fix = patch1.SHMEM_KERNELS[3]
    for c in (BASELINE, V1_1, fix, D):
        assert out(c, reaping=False, shmem_holds_slot=True).startswith("stays in swap cache")
    assert out(BASELINE, reaping=False, shmem_holds_slot=False) == "freed; slot free"
    assert out(V1_1, reaping=False, shmem_holds_slot=False).startswith("stays in swap cache")
    assert out(fix, reaping=False, shmem_holds_slot=False) == "freed; slot free"
    assert out(V1_1, reaping=True, shmem_holds_slot=True) == "freed; slot count 1"


def test_d_folio_mapping_hands_anon_vma_to_mapping_evict_folio_with_the_fix() -> None:
    """With the swap-cache-first test, a non-swap-cache anonymous folio reaches
    free_file_cache(); D reads folio->mapping, which for an anon folio is its anon_vma.
    v1 reads folio_mapping(), NULL for anon, and is safe."""
    rows = {r["kernel"]: r for r in patch1.anon_mapping_table()}
    assert rows["d, details intended + swapcache fix"]["EVICT_ANON_MAPPING"] == 64
    assert rows["d, details intended + swapcache fix"][
        "anon folios passing the pre-remove_mapping() tests"] == 64
    for name in ("d, REAP_KILL", "d, REAP_KILL, details intended", "d + swapcache fix",
                 "v1 1/3 + swapcache fix"):
        assert rows[name]["EVICT_ANON_MAPPING"] == 0, name
    assert rows["d + swapcache fix"]["anon pages freed by the reap"] == 0  # even_cows


def test_experiments_are_deterministic() -> None:
    """Same seeds, same rows: the notebook's outputs can be compared by strict nbval."""
    assert patch1.predicate_table() == patch1.predicate_table()
    assert patch1.referenced_table(((8, 16),)) == patch1.referenced_table(((8, 16),))

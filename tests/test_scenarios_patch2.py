"""The experiments of notebook 02 (mrelease_ref.scenarios.patch2), with the claims the
notebook makes about them.

Sources: docs/sources.md §T3.1 (RFC 2/3), §T3.2 (v1 2/3), §T3.5 (draft D), §T4.2 (review), §T5
(profile); docs/sources.md §K3.4 (zap_present_folio_ptes()), §K6.2 (folio_maybe_mapped_shared()),
§K6.3 (folio_mark_accessed()). Every experiment runs with the invariant checker on.
"""

from __future__ import annotations

import dataclasses

import pytest

from mrelease_ref.include.linux.mmzone import PAGEVEC_SIZE
from mrelease_ref.mm import memory
from mrelease_ref.scenarios import patch2 as p2
from mrelease_ref.series.v1.mm import memory as v1_memory


def test_every_config_builds_and_two_alone_swaps_only_the_zap_hook() -> None:
    """``"2 alone"`` is the baseline with v1 2/3's zap_present_folio_ptes() and nothing
    else; ``"v1 1-2, no MM_ID"`` has CONFIG_MM_ID off; unknown names are refused."""
    for config in p2.CONFIGS:
        p2.make_kernel(config)
    k = p2.make_kernel("2 alone")
    base = p2.make_kernel("baseline")
    assert k.series.zap_present_folio_ptes is v1_memory.zap_present_folio_ptes
    assert base.series.zap_present_folio_ptes is memory.zap_present_folio_ptes
    assert k.series.tlb_batch_pages_flush is base.series.tlb_batch_pages_flush
    assert k.series.process_mrelease is base.series.process_mrelease
    assert not p2.make_kernel("v1 1-2, no MM_ID").config.mm_id
    with pytest.raises(ValueError, match="unknown config"):
        p2.make_kernel("v2 1-2")


# --- where the skip applies -----------------------------------------------------------------

SCOPE_PAGES = 512  # pages per victim mapping in the skip-scope tests
ORDER_64, ORDER_PMD = 6, 9  # the large page-cache folio orders skip_scope() uses

# Which patched configs skip an exclusive young folio, by the test that decides it:
# every version's MMF_UNSTABLE/ignore_access gate with folio_mapcount() < 2 (RFC) or
# !folio_maybe_mapped_shared() (v1, D, "2 alone") skips an exclusive 4 KiB folio; a
# PTE-mapped 64-page folio has mapcount 64 for the RFC and counts as shared without
# CONFIG_MM_ID, so only v1/D/"2 alone" with CONFIG_MM_ID skip it.
SKIPS_4K = {"rfc 1-2", "v1 1-2", "v1 1-2, no MM_ID", "d", "2 alone"}
SKIPS_LARGE = {"v1 1-2", "d", "2 alone"}


@pytest.mark.parametrize("config", ["baseline", *sorted(SKIPS_4K)])
def test_skip_scope(config: str) -> None:
    """folio_mark_accessed() calls per mapping kind (MAPPING_KINDS order), one per zapped
    batch of one folio: anonymous folios are never marked on zap (docs/sources.md §K3.4); a
    MAP_SHARED mapping is not reaped (__oom_reap_task_mm() skips it); the PMD path
    (zap_huge_pmd()) is unchanged in every version (Baolin Wang's point, docs/sources.md §T4.2
    #2); the RFC's mapcount test and v1 without CONFIG_MM_ID keep aging 64-page folios.
    Expected counts are computed from the mapping size and folio orders. The last kind is a
    64 MiB file read in order with readahead's folio sizes (2048 order-0 folios, 2048 pages
    each of order 2, 4, 6, 8, then 12 PMD-mapped order-9 folios: mm/readahead.c, measured
    in lab/data/folios.json): the 4 KiB folios follow the 4 KiB rule, the ramp folios (all
    PTE-mapped whole) the 64-page rule, the PMD-mapped ones are always marked."""
    n = SCOPE_PAGES
    rows = [p2.skip_scope(config, kind, n, debug_vm=True) for kind in p2.MAPPING_KINDS]
    ramp = [2048 >> o for o in (2, 4, 6, 8)]
    folios = [n, n, n >> ORDER_64, n >> ORDER_PMD, n, 2048 + sum(ramp) + 12]
    expected = [
        0,
        0 if config in SKIPS_4K else folios[1],
        0 if config in SKIPS_LARGE else folios[2],
        folios[3],
        0,
        (0 if config in SKIPS_4K else 2048) + (0 if config in SKIPS_LARGE else sum(ramp)) + 12,
    ]
    assert [r.mark_accessed for r in rows] == expected
    assert [r.folios for r in rows] == folios
    # every page touched once: every PTE young, and one young PMD for the huge folio
    assert [r.young_entries for r in rows] == [n, n, n, n >> ORDER_PMD, n, 5 * 2048 + 12]


# --- exclusivity ----------------------------------------------------------------------------

EXCL_PAGES = 256  # pages per mapping in the exclusivity tests (1 MiB)


@pytest.mark.parametrize("config", ["baseline", "rfc 1-2", "v1 1-2", "v1 1-2, no MM_ID", "d"])
def test_exclusivity(config: str) -> None:
    """Per EXCLUSIVITY_CASES: a folio another live process maps is aged by every version;
    a 4 KiB folio the victim maps twice counts as shared at its first zap (the test runs
    before this mapping's rmap removal) and exclusive at its second; a 64-page folio is
    "shared" for the RFC (mapcount 64) and without CONFIG_MM_ID, exclusive for v1/D with
    CONFIG_MM_ID even when the victim maps it twice (one mm). A 1 MiB VMA crosses at most
    one page-table (2 MiB) boundary, so the two mappings of the twice-mapped 64-page case
    split at most two folios into two batches each."""
    n = EXCL_PAGES
    large = n >> ORDER_64
    rows = [p2.exclusivity(config, case, n, debug_vm=True) for case in p2.EXCLUSIVITY_CASES]
    young = [r.young_batches for r in rows]
    assert young[:5] == [n, n, 2 * n, large, large]
    assert 2 * large <= young[5] <= 2 * large + 2
    skips_4k, skips_large = config in SKIPS_4K, config in SKIPS_LARGE
    assert [r.aged for r in rows] == [
        0 if skips_4k else n,
        n,
        n if skips_4k else 2 * n,
        0 if skips_large else large,
        large,
        0 if skips_large else young[5],
    ]
    assert all(r.skipped == r.young_batches - r.aged for r in rows)


# --- cost -------------------------------------------------------------------------------------


def test_reap_cost_saving_is_exactly_the_aging_the_cost_model_prices() -> None:
    """Patch 2 alone removes exactly the MARK_ACCESSED and PGACTIVATE events from the reap,
    so the model time it saves equals their price. A folio with PG_referenced from an
    earlier use is activated through this CPU's lru_activate batch, which moves (and
    counts PGACTIVATE) each time it fills with PAGEVEC_SIZE folios: the last partial batch
    drains after the call. The other histories only set a flag."""
    nr = 1024
    for history in p2.HISTORIES:
        base = p2.reap_cost("baseline", history, nr, debug_vm=True)
        alone = p2.reap_cost("2 alone", history, nr, debug_vm=True)
        assert base.mark_accessed == nr and alone.mark_accessed == 0
        assert alone.pgactivate == 0 and alone.aging_ns == 0
        assert base.reap_ns - alone.reap_ns == base.aging_ns
        if history == p2.USED_BEFORE:
            assert base.pgactivate == nr - nr % PAGEVEC_SIZE
        else:
            assert base.pgactivate == 0
    with pytest.raises(ValueError):
        p2.reap_cost("baseline", "hot")


def test_reap_cost_with_patch_one_pays_for_freeing() -> None:
    """v1 1-2 skips the aging too, but frees the clean folios it evicts: its reap costs
    more model time than patch 2 alone, whose folios stay cached."""
    alone = p2.reap_cost("2 alone", p2.FIRST_USE, 512, debug_vm=True)
    v1 = p2.reap_cost("v1 1-2", p2.FIRST_USE, 512, debug_vm=True)
    assert v1.aging_ns == 0 and v1.reap_ns > alone.reap_ns


# --- the relaunch -----------------------------------------------------------------------------


def _at_kill(r: p2.Relaunch) -> tuple[int, ...]:
    return (r.young_at_kill, r.active_at_kill, r.activatable_at_kill, r.workingset_at_kill)


def _refault_accounting_holds(r: p2.Relaunch) -> None:
    """Every hot page reclaim took left a shadow (__remove_mapping() with reclaimed), so
    each one missing at the relaunch is read once and counted once as a refault; a
    restore is a recent refault whose shadow had PG_workingset, and an activation a
    recent refault (workingset_refault())."""
    assert r.refaults == r.pages_read == r.hot_pages - r.cached_at_relaunch
    assert r.refault_restores <= r.refault_activations <= r.refaults


def test_relaunch_patch_two_alone_loses_activations_and_refaults_more() -> None:
    """Killed right after use. folio_mark_accessed() activates an inactive folio only if it
    already has PG_referenced, so the baseline's reap activates exactly the young hot pages
    in that state; patch 2 alone activates none. An unmapped inactive folio with only
    PG_referenced is reclaimed at its first scan (folio_check_references()), so post-kill
    reclaim takes more of the hot set and the relaunch refaults more (Michal Hocko's
    concern, docs/sources.md §T4.2 #4). Those pages had been active before (PG_workingset), so
    the lost activations come back as restores."""
    base = p2.relaunch("baseline", debug_vm=True)
    alone = p2.relaunch("2 alone", debug_vm=True)
    assert _at_kill(base) == _at_kill(alone) and base.young_at_kill > 0
    assert base.activated_at_reap == base.activatable_at_kill > 0
    assert alone.activated_at_reap == 0 and alone.marked_at_reap == 0
    assert base.marked_at_reap >= base.young_at_kill
    assert base.cached_after_reap == alone.cached_after_reap == base.hot_pages
    for r in (base, alone):
        _refault_accounting_holds(r)
    assert base.refaults < alone.refaults
    assert base.refault_restores < alone.refault_restores


def test_relaunch_one_reclaim_pass_after_the_last_use_erases_the_difference() -> None:
    """With one pressure round between the last use and the kill, reclaim's
    folio_referenced() has already harvested (and cleared) the young bits and made the
    activation decisions: the reaps differ in nothing that matters (docs/sources.md §T4.2 #5)."""
    params = p2.RelaunchParams(idle_rounds=1)
    base = p2.relaunch("baseline", params, debug_vm=True)
    alone = p2.relaunch("2 alone", params, debug_vm=True)
    assert base.activated_at_reap == alone.activated_at_reap == base.activatable_at_kill == 0
    assert dataclasses.replace(base, config="x", marked_at_reap=0) == dataclasses.replace(
        alone, config="x"
    )
    _refault_accounting_holds(base)


def test_relaunch_with_patch_one_reads_everything_and_counts_no_refault() -> None:
    """v1 1-2 evicts the exclusive clean 4 KiB folios at the reap with remove_mapping(),
    which leaves no shadow entry: the relaunch reads the whole hot set again and counts a
    refault only for a page reclaim evicted (with a shadow) before the kill -- none when the
    app is killed right after use, as many as the baseline lost before the kill when a
    reclaim round ran in between."""
    v1 = p2.relaunch("v1 1-2", debug_vm=True)
    assert v1.cached_after_reap == 0
    assert v1.pages_read == v1.hot_pages
    assert v1.refaults == v1.refault_restores == 0
    idle = p2.RelaunchParams(idle_rounds=1)
    v1_idle = p2.relaunch("v1 1-2", idle, debug_vm=True)
    base_idle = p2.relaunch("baseline", idle, debug_vm=True)
    assert v1_idle.pages_read == v1_idle.hot_pages
    assert v1_idle.refaults == base_idle.hot_pages - base_idle.cached_after_reap


def test_relaunch_large_folios_escape_patch_one_but_not_patch_two() -> None:
    """64-page folios zapped by 64 PTEs give the gather 64 references, so patch 1's
    mapping_evict_folio() refuses them (docs/sources.md §T6 #5) while patch 2 still skips their
    aging: v1 1-2 behaves like patch 2 alone; without CONFIG_MM_ID like the baseline."""
    params = p2.RelaunchParams(folio_order=6, post_rounds=4)
    got = {c: p2.relaunch(c, params, debug_vm=True)
           for c in ("baseline", "2 alone", "v1 1-2", "v1 1-2, no MM_ID")}
    assert got["v1 1-2"].cached_after_reap == got["v1 1-2"].hot_pages
    assert dataclasses.replace(got["v1 1-2"], config="") == dataclasses.replace(
        got["2 alone"], config="")
    assert dataclasses.replace(got["v1 1-2, no MM_ID"], config="") == dataclasses.replace(
        got["baseline"], config="")
    assert got["baseline"].activated_at_reap == got["baseline"].activatable_at_kill > 0
    assert got["baseline"].activated_at_reap % (1 << params.folio_order) == 0  # whole folios
    assert got["baseline"].refaults < got["2 alone"].refaults
    for r in got.values():
        _refault_accounting_holds(r)


def test_relaunch_sweep_is_deterministic_and_ordered() -> None:
    """The sweep runs each (idle, post, config) once, in that nesting order, and gives the
    same numbers on every run. With no pressure after a kill right after use nothing is
    reclaimed, so nothing refaults."""
    rows = p2.relaunch_sweep(["baseline", "2 alone"], post_rounds=[0, 1], idle_rounds=[0])
    assert [(r.idle_rounds, r.post_rounds, r.config) for r in rows] == [
        (0, 0, "baseline"), (0, 0, "2 alone"), (0, 1, "baseline"), (0, 1, "2 alone")]
    assert rows == p2.relaunch_sweep(["baseline", "2 alone"], post_rounds=[0, 1])
    assert all(r.refaults == 0 and r.cached_at_relaunch == r.hot_pages for r in rows[:2])


# --- the gate's scope --------------------------------------------------------------------------

GATE_PAGES = 64


@pytest.mark.parametrize(
    ("config", "skips"),
    [
        ("baseline", [False, None, False, False, False]),
        ("rfc 1-3", [True, True, True, False, True]),
        ("v1 1-3", [True, True, True, False, True]),
        ("d", [False, True, False, False, False]),
    ],
)
def test_gate_scope(config: str, skips: list[bool | None]) -> None:
    """Per GATE_EVENTS, whether all young file PTEs skip folio_mark_accessed(): v1's
    MMF_UNSTABLE gate also covers the kernel's OOM reaper (David Hildenbrand, docs/sources.md
    §T4.2 #7) and the victim's own later exit_mmap() of what the reaper left (MAP_SHARED
    pages); a normal exit ages in every version; D only skips in the REAP_KILL reap. The
    baseline has no REAP_KILL (None)."""
    n = GATE_PAGES
    rows = [p2.gate_scope(config, event, n, debug_vm=True) for event in p2.GATE_EVENTS]
    assert [r.aged for r in rows] == [None if s is None else 0 if s else n for s in skips]
    assert all(r.young == n for r in rows)


# --- review points ----------------------------------------------------------------------------


def test_review_points_cover_thread_section_4_2_and_name_real_experiments() -> None:
    """Nine review points, numbered as in docs/sources.md §T4.2; every experiment named is a
    function of the module."""
    assert [r.number for r in p2.REVIEW_POINTS] == list(range(1, 10))
    for r in p2.REVIEW_POINTS:
        assert r.reviewer and r.point and r.answer and r.resolution
        if r.experiment:
            name = r.experiment.split("(")[0]
            assert callable(getattr(p2, name)), name


def test_as_rows_gives_plain_dicts() -> None:
    """as_rows() turns result dataclasses into dicts for pandas."""
    row = p2.GateRow("baseline", "normal exit", 64, 64)
    assert p2.as_rows([row]) == [
        {"config": "baseline", "event": "normal exit", "young": 64, "aged": 64}]


def test_relaunch_with_readahead_keeps_the_kill_state_and_reads_the_whole_file() -> None:
    """With v6.18's readahead (``RelaunchParams(readahead=True)``) the 4 MiB app file is
    still 4 KiB folios (read-around of 2048 pages covers it: mm/filemap.c:
    do_sync_mmap_readahead()) and the app touches every page at launch either way, so the
    hot set's state at the kill is unchanged. At the relaunch the first miss reads around
    the whole file: v1 1-2 reads all ``app_pages`` again, and counts no refault activation
    for them (patch 1's remove_mapping() leaves no shadow)."""
    fields = ("young_at_kill", "active_at_kill", "activatable_at_kill", "workingset_at_kill",
              "marked_at_reap", "activated_at_reap", "cached_after_reap")
    for config in ("baseline", "v1 1-2"):
        fixed = p2.relaunch(config)
        ra = p2.relaunch(config, p2.RelaunchParams(readahead=True))
        assert [getattr(fixed, f) for f in fields] == [getattr(ra, f) for f in fields]
    assert ra.pages_read == p2.RelaunchParams().app_pages and ra.refault_activations == 0

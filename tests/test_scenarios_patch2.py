"""The experiments of notebook 02 (mrelease_ref.scenarios.patch2), with the claims the
notebook makes about them.

Sources: thread.md §3.1 (RFC 2/3), §3.2 (v1 2/3), §3.5 (draft D), §4.2 (review), §5
(profile); kernel.md §3.4 (zap_present_folio_ptes()), §6.2 (folio_maybe_mapped_shared()),
§6.3 (folio_mark_accessed()). Every experiment runs with the invariant checker on.
"""

from __future__ import annotations

import dataclasses

import pytest

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


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("baseline", [0, 512, 8, 1, 0]),
        ("rfc 1-2", [0, 0, 8, 1, 0]),
        ("v1 1-2", [0, 0, 0, 1, 0]),
        ("v1 1-2, no MM_ID", [0, 0, 8, 1, 0]),
        ("d", [0, 0, 0, 1, 0]),
        ("2 alone", [0, 0, 0, 1, 0]),
    ],
)
def test_skip_scope(config: str, expected: list[int]) -> None:
    """folio_mark_accessed() calls per mapping kind (MAPPING_KINDS order): anonymous folios
    are never marked on zap (kernel.md §3.4); a MAP_SHARED mapping is not reaped; the PMD
    path is unchanged in every version (Baolin Wang's point, thread.md §4.2 #2); RFC's
    mapcount test and v1 without CONFIG_MM_ID keep aging 64-page folios."""
    rows = [p2.skip_scope(config, kind, debug_vm=True) for kind in p2.MAPPING_KINDS]
    assert [r.mark_accessed for r in rows] == expected
    assert [r.folios for r in rows] == [512, 512, 8, 1, 512]
    assert [r.young_entries for r in rows] == [512, 512, 512, 1, 512]


# --- exclusivity ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "aged"),
    [
        ("baseline", [256, 256, 512, 4, 4, 9]),
        ("rfc 1-2", [0, 256, 256, 4, 4, 9]),
        ("v1 1-2", [0, 256, 256, 0, 4, 0]),
        ("v1 1-2, no MM_ID", [0, 256, 256, 4, 4, 9]),
        ("d", [0, 256, 256, 0, 4, 0]),
    ],
)
def test_exclusivity(config: str, aged: list[int]) -> None:
    """Per EXCLUSIVITY_CASES: a folio another live process maps is aged by every version;
    a 4 KiB folio the victim maps twice counts as shared at its first zap (the test runs
    before this mapping's rmap removal) and exclusive at its second; a 64-page folio is
    "shared" for the RFC (mapcount 64) and without CONFIG_MM_ID, exclusive for v1/D with
    CONFIG_MM_ID even when the victim maps it twice (one mm). The second mapping of the
    64-page case straddles a page-table boundary, hence 9 batches for 8 folio mappings."""
    rows = [p2.exclusivity(config, case, debug_vm=True) for case in p2.EXCLUSIVITY_CASES]
    assert [r.aged for r in rows] == aged
    assert [r.young_batches for r in rows] == [256, 256, 512, 4, 4, 9]
    assert [r.skipped for r in rows] == [y - a for y, a in zip([256, 256, 512, 4, 4, 9], aged,
                                                                strict=True)]


# --- cost -------------------------------------------------------------------------------------


def test_reap_cost_saving_is_exactly_the_aging_the_cost_model_prices() -> None:
    """Patch 2 alone removes exactly the MARK_ACCESSED and PGACTIVATE events from the reap,
    so the model time it saves equals their price; a folio with PG_referenced from an
    earlier use is activated (PGACTIVATE), the other histories only set a flag."""
    nr = 1024
    for history in p2.HISTORIES:
        base = p2.reap_cost("baseline", history, nr, debug_vm=True)
        alone = p2.reap_cost("2 alone", history, nr, debug_vm=True)
        assert base.mark_accessed == nr and alone.mark_accessed == 0
        assert alone.pgactivate == 0 and alone.aging_ns == 0
        assert base.reap_ns - alone.reap_ns == base.aging_ns
        if history == p2.USED_BEFORE:
            assert nr - 31 < base.pgactivate <= nr  # the last partial batch drains later
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


def test_relaunch_patch_two_alone_loses_activations_and_refaults_more() -> None:
    """Killed right after use: the baseline's reap activates the young folios that already
    had PG_referenced; patch 2 alone does not, so post-kill reclaim takes more of the hot
    set and the relaunch refaults more (Michal Hocko's concern, thread.md §4.2 #4)."""
    base = p2.relaunch("baseline", debug_vm=True)
    alone = p2.relaunch("2 alone", debug_vm=True)
    assert base.young_at_kill == alone.young_at_kill > 0
    assert base.activated_at_reap > 0 and alone.activated_at_reap == 0
    assert base.marked_at_reap >= base.young_at_kill and alone.marked_at_reap == 0
    assert (base.refaults, alone.refaults) == (96, 251)
    assert base.pages_read == base.refaults and alone.pages_read == alone.refaults
    assert base.cached_after_reap == alone.cached_after_reap == base.hot_pages


def test_relaunch_one_reclaim_pass_after_the_last_use_erases_the_difference() -> None:
    """With one pressure round between the last use and the kill, reclaim has already
    harvested the young bits: the reaps differ in nothing that matters (thread.md §4.2 #5)."""
    params = p2.RelaunchParams(idle_rounds=1)
    base = p2.relaunch("baseline", params, debug_vm=True)
    alone = p2.relaunch("2 alone", params, debug_vm=True)
    assert base.activated_at_reap == alone.activated_at_reap == 0
    assert dataclasses.replace(base, config="x", marked_at_reap=0) == dataclasses.replace(
        alone, config="x"
    )


def test_relaunch_with_patch_one_reads_everything_and_counts_no_refault() -> None:
    """v1 1-2 evicts the exclusive clean 4 KiB folios at the reap with remove_mapping(),
    which leaves no shadow entry: the relaunch reads the whole hot set again and
    WORKINGSET_REFAULT_FILE stays 0."""
    v1 = p2.relaunch("v1 1-2", debug_vm=True)
    assert v1.cached_after_reap == 0
    assert v1.pages_read == v1.hot_pages and v1.refaults == 0


def test_relaunch_large_folios_escape_patch_one_but_not_patch_two() -> None:
    """64-page folios zapped by 64 PTEs give the gather 64 references, so patch 1's
    mapping_evict_folio() refuses them (thread.md §6 #5) while patch 2 still skips their
    aging: v1 1-2 behaves like patch 2 alone; without CONFIG_MM_ID like the baseline."""
    params = p2.RelaunchParams(folio_order=6, post_rounds=4)
    got = {c: p2.relaunch(c, params, debug_vm=True)
           for c in ("baseline", "2 alone", "v1 1-2", "v1 1-2, no MM_ID")}
    assert got["v1 1-2"].cached_after_reap == got["v1 1-2"].hot_pages
    assert dataclasses.replace(got["v1 1-2"], config="") == dataclasses.replace(
        got["2 alone"], config="")
    assert dataclasses.replace(got["v1 1-2, no MM_ID"], config="") == dataclasses.replace(
        got["baseline"], config="")
    assert got["baseline"].refaults < got["2 alone"].refaults


def test_relaunch_sweep_is_deterministic_and_ordered() -> None:
    """The sweep runs each (idle, post, config) once, in that nesting order, and gives the
    same numbers on every run."""
    rows = p2.relaunch_sweep(["baseline", "2 alone"], post_rounds=[0, 1], idle_rounds=[0])
    assert [(r.idle_rounds, r.post_rounds, r.config) for r in rows] == [
        (0, 0, "baseline"), (0, 0, "2 alone"), (0, 1, "baseline"), (0, 1, "2 alone")]
    assert rows == p2.relaunch_sweep(["baseline", "2 alone"], post_rounds=[0, 1])
    assert all(r.refaults == 0 for r in rows[:2])  # no pressure after the kill: no refault


# --- the gate's scope --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "aged"),
    [
        ("baseline", [64, None, 64, 64, 64]),
        ("rfc 1-3", [0, 0, 0, 64, 0]),
        ("v1 1-3", [0, 0, 0, 64, 0]),
        ("d", [64, 0, 64, 64, 64]),
    ],
)
def test_gate_scope(config: str, aged: list[int | None]) -> None:
    """Per GATE_EVENTS: v1's MMF_UNSTABLE gate also covers the kernel's OOM reaper (David
    Hildenbrand, thread.md §4.2 #7) and the victim's own later exit_mmap() of what the
    reaper left (MAP_SHARED pages); a normal exit ages in every version; D only skips in
    the REAP_KILL reap. The baseline has no REAP_KILL."""
    rows = [p2.gate_scope(config, event, debug_vm=True) for event in p2.GATE_EVENTS]
    assert [r.aged for r in rows] == aged
    assert all(r.young == 64 for r in rows)


# --- review points ----------------------------------------------------------------------------


def test_review_points_cover_thread_section_4_2_and_name_real_experiments() -> None:
    """Nine review points, numbered as in thread.md §4.2; every experiment named is a
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

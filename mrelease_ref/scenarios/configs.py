"""Which findings hold on which kernel configuration (notebooks 01 and 02; on Android
also 00, 03, 06 and 07).

Not kernel code. :func:`finding_by_config` re-runs, for every ``### Finding:`` of notebooks
01 (patch 1) and 02 (patch 2), the scenario that is its evidence, once on the default
configuration (the classic two-list LRU these machines run) and once with the multi-gen
LRU (``Kernel(lru_gen=True)``, what Android kernels run), and says per finding whether it
holds on each and, where it does not, how it differs. A README table of findings by
configuration can be tested against these rows.

How "holds" is decided, per finding (the ``measure`` column names it):

* findings whose evidence does not go through LRU code (what the gather frees, who calls
  ``folio_mark_accessed()``, which teardowns are gated) hold under the multi-gen LRU when
  their evidence table is *identical* on both configurations;
* findings about what ``folio_mark_accessed()`` does (activate, queue a batch reference)
  or about reclaim and refaults are re-tested with the claim's own predicate, written
  out in :data:`FINDINGS` and in the function that checks it.

Patch 2's saving (finding "the saving is the activation rung ...") is priced with the
lab's calibrated prices (``mrelease_ref.lab.calibration.calibrated_cost_model()``).

The third configuration, ``Kernel.android()`` (arm64, 16 KiB pages, multi-gen LRU, order-0
page cache as on an encrypted ext4 or f2fs ``/data``, zram-like swap), re-runs the same
evidence: tables that run no LRU code must be identical (freed counts compared in 4 KiB
units), the others are re-tested with the claim's predicate; ``android_cell`` is what the
README's findings table prints (``tests/test_scenarios_configs.py`` keeps them equal).

Notebook 03's findings (REAP_KILL: signals, permissions, pid namespaces, who tears the mm
down) are re-run on ``Kernel.android()`` only (:func:`android_reruns`): each one's
evidence, the notebook's experiment functions on the same cases and versions, must be
identical to the default run once RSS is counted in pages (:func:`in_pages`).

The live findings of notebooks 00 and 07 rest on parity rows (model against this x86_64
kernel). :func:`parity_reruns` runs the *model side* of their parity scenarios with the
preset's settings (``parity.run_model(..., options=ANDROID_OPTIONS)``) and compares every
measure with the model's default run, kB counted in pages (:func:`parity_measures`); with
no Android kernel to compare with, each cell says "model only".

Notebook 06's LMKD findings are re-run by :func:`lmkd_reruns` on the simulated device with
the preset's arch, LRU, page size (``DeviceConfig.page_kb``) and order-0 page cache
(:func:`android_device`), default scenario, seed 0, for baseline, v1 and v3: each
finding's own predicate (the notebook's Checks) on those runs. The ten-seed sweep finding
is not re-run (its cell says why).

Limitations:
- Architecture: arm64 uses the same generic mmu_gather path as x86_64 in the model (see
  ``sim/kernel.py``), so there is no arm64-only column: the Android column changes arch,
  page size, LRU and page-cache folio sizes together.
- The relaunch findings use notebook 02's default :class:`~mrelease_ref.scenarios.patch2.
  RelaunchParams` (one workload); "holds" there means the stated relation holds for it.
- Notebook 03's findings have no MGLRU-only column: their evidence runs no LRU code, and
  the Android run (which has the multi-gen LRU on) already shows it unchanged
  (``tests/test_scenarios_configs.py::test_reap_kill_findings_hold_on_android_page_for_page``).
- The Android cells of notebooks 00 and 07 are the model's only (no Android kernel); those
  of notebook 06 are one seed of the device and three kernels (baseline, v1, v3), and its
  16 KiB-page teardown times use the 4 KiB calibrated prices per page [E].
- The PID controller's tier protection never engages at these sizes (fewer than
  MIN_LRU_BATCH refaults per tier), so the multi-gen results are those of its
  generation logic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from mrelease_ref.scenarios import patch1, patch2, races
from mrelease_ref.scenarios.patch1 import KernelChoice
from mrelease_ref.sim.kernel import ANDROID

Row = dict[str, Any]

CONFIG_LABELS: Final[dict[str, str]] = {
    "default": "classic two-list LRU (CONFIG_LRU_GEN off), x86_64, 4 KiB pages",
    "mglru": "multi-gen LRU (Kernel(lru_gen=True)), as Android kernels run it",
    "android": "Kernel.android(): arm64, 16 KiB pages, multi-gen LRU, order-0 page cache "
               "(/data), zram-like swap",
}
"""The configurations compared."""


def _cell(holds: bool, how: str) -> str:
    """"holds", "holds; how" or "differs: how"."""
    if not holds:
        return f"differs: {how}"
    return f"holds; {how}" if how else "holds"


@dataclass(frozen=True, slots=True)
class FindingByConfig:
    """One finding on both configurations: the measurement (as a short text per
    configuration), whether the finding holds on each, and how it differs."""

    notebook: str
    finding: str
    measure: str
    default: str
    mglru: str
    holds_default: bool
    holds_mglru: bool
    differs: str
    android: str = ""
    holds_android: bool = True
    differs_android: str = ""

    @property
    def verdict(self) -> str:
        """"holds on both", "holds on default only", ... (for tables)."""
        if self.holds_default and self.holds_mglru:
            return "holds on both"
        if self.holds_default:
            return "holds on default only"
        if self.holds_mglru:
            return "holds under MGLRU only"
        return "holds on neither"

    @property
    def android_cell(self) -> str:
        """The README's Android cell: "holds", "holds; note" or "differs: how"."""
        return _cell(self.holds_android, self.differs_android)


ANDROID_OPTIONS: Final[patch2.Options] = tuple(ANDROID.items())
"""The settings of ``Kernel.android()`` as scenario options."""


def android(choice: KernelChoice) -> KernelChoice:
    """The same kernel choice (same label) with the settings of ``Kernel.android()``."""
    return dataclasses.replace(choice, options=(*choice.options, *ANDROID_OPTIONS))


def _on_android(row: FindingByConfig, text: str, holds: bool, how: str) -> FindingByConfig:
    return dataclasses.replace(row, android=text, holds_android=holds, differs_android=how)


def _android_same(row: FindingByConfig, name: str, make: Callable[[bool], object],
                  make_android: Callable[[], object]) -> FindingByConfig:
    """Android column of a finding whose evidence runs no LRU or page-size code: it holds
    when its evidence table is identical on ``Kernel.android()``."""
    same = make(False) == make_android()
    return _on_android(row, f"{name}: {'identical' if same else 'differs'}", same,
                       "" if same else "the evidence table changes on Kernel.android()")


def mglru(choice: KernelChoice) -> KernelChoice:
    """The same kernel choice (same label) with the multi-gen LRU on."""
    return dataclasses.replace(choice, options=(*choice.options, ("lru_gen", True)))


def _unchanged(notebook: str, finding: str, measure: str, name: str,
               make: Callable[[bool], object]) -> FindingByConfig:
    """A finding whose evidence runs no LRU code: run its evidence table (``name``) on
    both configurations; it holds under MGLRU when the table is identical."""
    same = make(False) == make(True)
    return FindingByConfig(
        notebook, finding, measure, f"{name}: as in notebook",
        f"{name}: {'identical' if same else 'differs'}", True, same,
        "" if same else "the evidence table changes under MGLRU")


# --- notebook 01 ------------------------------------------------------------------------


def _large_folios(lru_gen: bool) -> object:
    choice = mglru(patch1.V1_1) if lru_gen else patch1.V1_1
    return patch1.large_folio_table(choice)


def _referenced(lru_gen: bool) -> tuple[int, int, int]:
    """(v1 1/3 first use, v1 1/3 referenced before, v1 1/3+2/3 referenced before) for the
    8 x 16-page victim of notebook 01."""
    return (
        patch1.referenced_outcome(patch1.V1_1, 8, 16, referenced=False, lru_gen=lru_gen),
        patch1.referenced_outcome(patch1.V1_1, 8, 16, referenced=True, lru_gen=lru_gen),
        patch1.referenced_outcome(patch1.V1_2, 8, 16, referenced=True, lru_gen=lru_gen),
    )


def _shmem(lru_gen: bool) -> object:
    choices = tuple(mglru(c) if lru_gen else c for c in patch1.SHMEM_KERNELS)
    return patch1.shmem_swapcache_table(choices)


def _anon_mapping(lru_gen: bool) -> object:
    choices = patch1.ANON_MAPPING_KERNELS
    return patch1.anon_mapping_table(tuple(mglru(c) if lru_gen else c for c in choices))


def _gate(lru_gen: bool) -> object:
    return patch1.gate_table(tuple(mglru(c) if lru_gen else c for c in patch1.GATE_KERNELS))


def _d_anon(lru_gen: bool) -> object:
    choices = patch1.D_ANON_KERNELS
    return patch1.d_anon_table(kernels=tuple(mglru(c) if lru_gen else c for c in choices))


def _notebook01() -> list[FindingByConfig]:
    rows: list[FindingByConfig] = []
    rows.append(_unchanged(
        "01", "large folios are evicted only when one entry maps them",
        "pages evicted per large-folio case (refcount rule, no LRU code)",
        "large_folio_table(v1 1/3)", _large_folios))
    fd, rd, bd = _referenced(False)
    fm, rm, bm = _referenced(True)
    rows.append(FindingByConfig(
        "01", "patch 1 needs patch 2 for pages that were referenced before",
        "8 x 16 victim: evicted by v1 1/3 first use / v1 1/3 referenced before / "
        "v1 1/3+2/3 referenced before",
        f"{fd} / {rd} / {bd}", f"{fm} / {rm} / {bm}",
        rd < fd == bd, rm < fm == bm,
        "MGLRU's folio_mark_accessed() is lru_gen_inc_refs(): no lru_activate batch, no "
        "extra reference at the flush, so patch 1 alone evicts every page"
        if not rm < fm else ""))
    rows.append(_unchanged(
        "01", "the shmem swap-cache miss changes nothing the zap path can reach",
        "shmem swap-cache folio at the flush, per kernel (no LRU code)",
        "shmem_swapcache_table()", _shmem))
    rows.append(_unchanged(
        "01", "draft D hands an anon_vma to mapping_evict_folio() once the fix is applied",
        "anonymous folios reaching mapping_evict_folio() (no LRU code)",
        "anon_mapping_table()", _anon_mapping))
    rows.append(_unchanged(
        "01", "v1 evicts for the kernel's OOM reaper and in the victim's own exit",
        "pages evicted per teardown path (MMF_UNSTABLE gate, no LRU code)", "gate_table()", _gate))
    rows.append(_unchanged(
        "01", "draft D as posted frees anonymous THPs but no other anonymous memory",
        "anonymous pages freed by one reap, 4 KiB and THP (zap_details, no LRU code)",
        "d_anon_table()", _d_anon))
    return _notebook01_android(rows)


def _one_entry_rule(rows: list[Row]) -> bool:
    """A page-cache folio is evicted whole when one entry (a PMD or a single PTE) hands it
    to the free path, and not at all otherwise."""
    return all(r["evicted"] == (r["cached before"] if r["refs handed to the free path"] == 1
                                else 0) for r in rows)


def _large_android(file_large_folios: bool) -> list[Row]:
    choice = android(patch1.V1_1)
    choice = dataclasses.replace(
        choice, options=(*choice.options, ("file_large_folios", file_large_folios)))
    return [patch1.large_folio_outcome(c, "arm64", choice) for c in patch1.LARGE_FOLIO_CASES]


def _d_anon_android() -> list[Row]:
    from mrelease_ref.include.linux.mm_types import GEOMETRIES

    two_pmds = 2 * GEOMETRIES[ANDROID["page_size"]].HPAGE_PMD_NR  # 64 MiB: two 32 MiB THPs
    return patch1.d_anon_table(two_pmds, tuple(android(c) for c in patch1.D_ANON_KERNELS))


def _notebook01_android(rows: list[FindingByConfig]) -> list[FindingByConfig]:
    """The Android column of notebook 01's findings (same order as ``rows``)."""
    data, erofs = _large_android(False), _large_android(True)
    default = [patch1.large_folio_outcome(c, "x86_64") for c in patch1.LARGE_FOLIO_CASES]
    large = _on_android(
        rows[0], f"/data: {sum(r['evicted'] for r in data)} of "
        f"{sum(r['cached before'] for r in data)} pages evicted (all folios order "
        f"{max(r['folio pages'] for r in data).bit_length() - 1}); erofs: rule "
        f"{'holds' if _one_entry_rule(erofs) else 'broken'}",
        _one_entry_rule(default) and _one_entry_rule(data) and _one_entry_rule(erofs),
        "moot on /data: its page cache is order 0 (ext4 with encryption, f2fs), so every "
        "page is evicted; on erofs the rule holds, but a PMD maps 32 MiB, so a 512-page "
        "folio is PTE-mapped and kept")
    fa, ra, ba = (patch1.referenced_outcome(c, 8, 16, referenced=r, lru_gen=True)
                  for c, r in ((android(patch1.V1_1), False), (android(patch1.V1_1), True),
                               (android(patch1.V1_2), True)))
    referenced = _on_android(
        rows[1], f"{fa} / {ra} / {ba}", ra < fa == ba,
        "" if ra < fa else "as under MGLRU, no lru_activate batch reference, so patch 1 "
        "alone evicts every page")
    shmem = _android_same(rows[2], "shmem_swapcache_table()", _shmem, lambda: (
        patch1.shmem_swapcache_table(tuple(android(c) for c in patch1.SHMEM_KERNELS))))

    def anon_mapping(table: object) -> object:  # the freed count is in 4 KiB units
        assert isinstance(table, list)
        return [{k: v for k, v in r.items() if k != "anon pages freed by the reap"}
                for r in table]

    anon = _android_same(rows[3], "anon_mapping_table()", lambda lg: anon_mapping(
        _anon_mapping(lg)), lambda: anon_mapping(patch1.anon_mapping_table(
            tuple(android(c) for c in patch1.ANON_MAPPING_KERNELS))))
    gate = _android_same(rows[4], "gate_table()", _gate, lambda: patch1.gate_table(
        tuple(android(c) for c in patch1.GATE_KERNELS)))
    d_rows = {r["kernel"]: r for r in _d_anon_android()}
    d = d_rows[patch1.D.label]
    d_holds = (d["4 KiB anon pages freed"] == 0 < d["THP anon pages freed"]
               == d_rows[patch1.BASELINE.label]["THP anon pages freed"])
    d_anon = _on_android(
        rows[5], f"D as posted frees {d['4 KiB anon pages freed']} small / "
        f"{d['THP anon pages freed']} THP (4 KiB units)", d_holds,
        "" if d_holds else "D frees anonymous memory differently on Kernel.android()")
    return [large, referenced, shmem, anon, gate, d_anon, *rows[6:]]


# --- notebook 02 ------------------------------------------------------------------------

_SCOPE_CONFIGS: Final = ("baseline", "rfc 1-2", "v1 1-2", "v1 1-2, no MM_ID", "d")


def _scope(lru_gen: bool) -> object:
    return [patch2.skip_scope(c, kind, lru_gen=lru_gen)
            for c in _SCOPE_CONFIGS for kind in patch2.MAPPING_KINDS]


def _exclusivity(lru_gen: bool) -> object:
    return [patch2.exclusivity(c, case, lru_gen=lru_gen)
            for c in _SCOPE_CONFIGS for case in patch2.EXCLUSIVITY_CASES]


def _gate_scope(lru_gen: bool) -> object:
    return [patch2.gate_scope(c, e, lru_gen=lru_gen)
            for c in ("baseline", "rfc 1-3", "v1 1-3", "d") for e in patch2.GATE_EVENTS]


def saving_by_history(lru_gen: bool, options: patch2.Options = ()
                      ) -> dict[str, patch2.ReapCost]:
    """The baseline's reap of 4096 file pages per folio history, priced with the lab's
    calibrated prices: the aging patch 2 removes is ``aging_ns`` of each (``options``:
    e.g. :data:`ANDROID_OPTIONS`)."""
    from mrelease_ref.lab.calibration import calibrated_cost_model

    cm = calibrated_cost_model()
    return {h: patch2.reap_cost("baseline", h, lru_gen=lru_gen, cost_model=cm,
                                options=options) for h in patch2.HISTORIES}


def _saving_text(costs: dict[str, patch2.ReapCost]) -> str:
    return "; ".join(f"{h}: {c.pgactivate} activations, {c.aging_pct}% of the reap"
                     for h, c in costs.items())


def _notebook02() -> list[FindingByConfig]:
    from mrelease_ref.scenarios.patch2 import FIRST_USE, USED_BEFORE, RelaunchParams, relaunch

    rows: list[FindingByConfig] = []
    rows.append(_unchanged(
        "02", "only PTE-mapped file folios lose their aging",
        "folio_mark_accessed() calls per mapping kind and version", "skip_scope()", _scope))
    rows.append(_unchanged(
        "02", "v1 skips exactly the folios no other address space maps -- with CONFIG_MM_ID",
        "folio_mark_accessed() calls per sharing case and version", "exclusivity()", _exclusivity))
    cd, cm = saving_by_history(False), saving_by_history(True)

    def rung(c: dict[str, patch2.ReapCost]) -> bool:
        return c[USED_BEFORE].pgactivate > 0 and c[USED_BEFORE].aging_ns > c[FIRST_USE].aging_ns

    rung_d, rung_m = rung(cd), rung(cm)
    rows.append(FindingByConfig(
        "02", "the saving is the activation rung, and its size is the cost model's assumption",
        "baseline reap of 4096 file pages, calibrated prices: activations and aging share "
        "per history", _saving_text(cd), _saving_text(cm), rung_d, rung_m,
        "no activation rung under MGLRU: every history saves one flag update "
        "(lru_gen_inc_refs()) per young PTE batch, the classic first-use share"
        if not rung_m else ""))
    params = RelaunchParams()
    runs = {lg: {c: relaunch(c, params, lru_gen=lg) for c in ("baseline", "2 alone", "v1 1-2")}
            for lg in (False, True)}

    def refault_text(lg: bool) -> str:
        r = runs[lg]
        return (f"{r['baseline'].refaults} / {r['2 alone'].refaults}; "
                f"{r['baseline'].activated_at_reap} activated")

    def lost_activations_refault(r: dict[str, patch2.Relaunch]) -> bool:
        return (r["2 alone"].refaults > r["baseline"].refaults
                and r["2 alone"].refaults == r["baseline"].activated_at_reap)

    rows.append(FindingByConfig(
        "02", "lost activations turn into refaults only when the kill beats reclaim",
        "default relaunch (kill right after use): refaults baseline / patch 2 alone; "
        "pages the baseline's reap activated",
        refault_text(False), refault_text(True),
        lost_activations_refault(runs[False]), lost_activations_refault(runs[True]),
        "" if lost_activations_refault(runs[True]) else
        "the baseline's reap activates nothing under MGLRU, so patch 2 alone refaults "
        "exactly as the baseline: no side effect to measure"))

    def reads_all(r: dict[str, patch2.Relaunch]) -> bool:
        v1, base = r["v1 1-2"], r["baseline"]
        return (v1.pages_read == v1.hot_pages
                and v1.refaults == v1.hot_pages - base.cached_after_reap)

    def reads_text(lg: bool) -> str:
        v1 = runs[lg]["v1 1-2"]
        return f"{v1.pages_read} / {v1.refaults} of {params.hot_pages}"

    rows.append(FindingByConfig(
        "02", "with patch 1, the relaunch reads everything and no refault is counted",
        "v1 1-2 relaunch: pages read / refaults counted (of the hot pages); the refaults "
        "counted are the hot pages reclaim evicted before the kill",
        reads_text(False), reads_text(True), reads_all(runs[False]), reads_all(runs[True]), ""))
    large = dataclasses.replace(params, folio_order=6, post_rounds=4)
    lruns = {lg: {c: relaunch(c, large, lru_gen=lg) for c in ("baseline", "2 alone", "v1 1-2")}
             for lg in (False, True)}

    def loses(r: dict[str, patch2.Relaunch]) -> bool:
        kept = r["v1 1-2"].cached_after_reap == r["baseline"].cached_after_reap
        lost = r["v1 1-2"].refaults - r["baseline"].refaults
        return kept and lost == r["baseline"].activated_at_reap > 0

    def large_text(lg: bool) -> str:
        r = lruns[lg]
        return (f"{r['baseline'].refaults} / {r['v1 1-2'].refaults}; "
                f"{r['baseline'].activated_at_reap} activated")

    rows.append(FindingByConfig(
        "02", "with large folios, v1 keeps the pages cached but loses their activation",
        "64-page folios, 4 rounds after the kill: refaults baseline / v1 1-2; pages the "
        "baseline's reap activated",
        large_text(False), large_text(True), loses(lruns[False]), loses(lruns[True]),
        "" if loses(lruns[True]) else
        "v1 keeps the large folios cached on both, but under MGLRU there is no activation "
        "to lose: v1 1-2 refaults as the baseline"))
    rows.append(_unchanged(
        "02", "v1's gate also covers the kernel's OOM reaper and the victim's own exit",
        "folio_mark_accessed() calls per teardown path and version", "gate_scope()", _gate_scope))
    return _notebook02_android(rows, lost_activations_refault, reads_all, loses)


def _notebook02_android(rows: list[FindingByConfig],
                        *predicates: Callable[[dict[str, patch2.Relaunch]], bool]
                        ) -> list[FindingByConfig]:
    """The Android column of notebook 02's findings (same order as ``rows``);
    ``predicates`` are the relaunch findings' own tests, applied to Android's runs."""
    from mrelease_ref.scenarios.patch2 import FIRST_USE, USED_BEFORE, RelaunchParams, relaunch

    opts = ANDROID_OPTIONS
    scope = [patch2.skip_scope(c, kind, options=opts)
             for c in _SCOPE_CONFIGS for kind in patch2.MAPPING_KINDS]
    private_file = [r for r in scope if r.mapping.startswith("file")
                    and "MAP_SHARED" not in r.mapping]
    patched = [r for r in private_file if r.config != "baseline"]
    aged = sum(r.mark_accessed for r in patched)
    out = [_on_android(
        rows[0], f"patched versions still age {aged} of {sum(r.folios for r in patched)} "
        "private file folios", aged == 0 and all(r.mark_accessed == r.folios for r in
                                                 private_file if r.config == "baseline"),
        "every private file folio is order 0 and PTE-mapped (no PMD-mapped page cache on "
        "/data), so patch 2 removes all of their aging")]
    excl = {(r.config, r.case): r for r in (
        patch2.exclusivity(c, case, options=opts)
        for c in ("v1 1-2", "v1 1-2, no MM_ID") for case in patch2.EXCLUSIVITY_CASES)}
    skips_exclusive = all(
        (r.aged == 0) == ("only the victim" in case) for (_, case), r in excl.items()
        if "twice" not in case)
    out.append(_on_android(
        rows[1], "v1 with and without CONFIG_MM_ID: "
        + ("skips exactly the exclusive folios" if skips_exclusive else "differs"),
        skips_exclusive, "the page cache is order 0, so CONFIG_MM_ID no longer matters: "
        "without it v1 skips the same folios"))
    costs = saving_by_history(True, opts)
    rung = (costs[USED_BEFORE].pgactivate > 0
            and costs[USED_BEFORE].aging_ns > costs[FIRST_USE].aging_ns)
    pcts = sorted({c.aging_pct for c in costs.values()})
    out.append(_on_android(
        rows[2], _saving_text(costs), rung, "" if rung else
        "as under MGLRU, no activation rung: with calibrated prices the aging patch 2 "
        f"removes is {'/'.join(map(str, pcts))}% of the reap in every history"))
    params = RelaunchParams()
    runs = {c: relaunch(c, params, options=opts) for c in ("baseline", "2 alone", "v1 1-2")}
    large = dataclasses.replace(params, folio_order=6, post_rounds=4)
    lruns = {c: relaunch(c, large, options=opts) for c in ("baseline", "2 alone", "v1 1-2")}
    lost, reads, loses = predicates
    out.append(_on_android(
        rows[3], f"{runs['baseline'].refaults} / {runs['2 alone'].refaults}; "
        f"{runs['baseline'].activated_at_reap} activated", lost(runs),
        "" if lost(runs) else "as under MGLRU, the baseline's reap activates nothing, so "
        "patch 2 alone refaults exactly as the baseline"))
    v1 = runs["v1 1-2"]
    out.append(_on_android(rows[4], f"{v1.pages_read} / {v1.refaults} of {params.hot_pages}",
                           reads(runs), "" if reads(runs) else "differs on Kernel.android()"))
    out.append(_on_android(
        rows[5], f"{lruns['baseline'].refaults} / {lruns['v1 1-2'].refaults}; "
        f"{lruns['baseline'].activated_at_reap} activated", loses(lruns),
        "" if loses(lruns) else "moot: the page cache is order 0 on /data (no 64-page "
        "folios), v1 evicts every page, and nothing is activated to lose"))
    out.append(_android_same(rows[6], "gate_scope()", _gate_scope, lambda: [
        patch2.gate_scope(c, e, options=opts)
        for c in ("baseline", "rfc 1-3", "v1 1-3", "d") for e in patch2.GATE_EVENTS]))
    return out


# --- notebook 03: Android only ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AndroidRerun:
    """A finding re-run on ``Kernel.android()`` only (its default run is the notebook's):
    the measurement there, whether the finding holds, and how it differs."""

    notebook: str
    finding: str
    measure: str
    android: str
    holds_android: bool
    differs_android: str = ""

    @property
    def android_cell(self) -> str:
        """The README's Android cell (as :attr:`FindingByConfig.android_cell`)."""
        return _cell(self.holds_android, self.differs_android)


def in_pages(run: object, page_size: int) -> Row:
    """``run`` (a scenario dataclass) as a dict with every ``*_kb`` field converted to
    pages of ``page_size`` bytes (traces dropped), so that runs on 4 KiB and 16 KiB pages
    compare: the scenarios map the same number of pages on both."""
    out: Row = {}
    for k, v in dataclasses.asdict(run).items():  # type: ignore[call-overload]
        if k == "trace":
            continue
        if k.endswith("_kb"):
            out[k[:-3] + "_pages"] = v * 1024 // page_size
        else:
            out[k] = v
    return out


def _same_in_pages(notebook: str, finding: str, measure: str,
                   run: Callable[[patch2.Options], list[Any]]) -> AndroidRerun:
    """A finding of notebook 03 whose evidence is ``run(options)``: it holds on
    ``Kernel.android()`` when the evidence, in pages, is identical there."""
    from mrelease_ref.include.linux.mm_types import PAGE_SIZE

    default = [in_pages(r, PAGE_SIZE) for r in run(())]
    andr = [in_pages(r, ANDROID["page_size"]) for r in run(ANDROID_OPTIONS)]
    same = default == andr
    return AndroidRerun(notebook, finding, measure,
                        f"{len(andr)} runs: {'identical' if same else 'differ'} in pages",
                        same, "" if same else "the evidence table changes on Kernel.android()")


_NS_INIT_CASES: Final = ("ns init sharer, caller inside", "ns init sharer, caller outside",
                         "ns init target, caller inside", "ns init target, caller outside")


def _notebook03() -> list[AndroidRerun]:
    """Notebook 03's findings on ``Kernel.android()``: each one's evidence (the notebook's
    experiment functions, on the same cases and versions) re-run with the preset's
    settings and compared with the default run, RSS converted from kB to pages."""
    from mrelease_ref.scenarios import patch3

    rk = patch3.REAP_KILL

    def delayed(o: patch2.Options) -> list[Any]:
        return [patch3.delayed_caller(v, f, i, o) for v in ("rfc", "v1", "d")
                for f, i in ((0, False), (rk, False), (rk, True))]

    def ns_init(o: patch2.Options) -> list[Any]:
        cases = tuple(patch3.case(c) for c in _NS_INIT_CASES)
        return [*patch3.outcome_matrix(patch3.REAP_KILL_VERSIONS, cases, (rk,), o),
                *(patch3.ns_init_after_reap(v, inside, o)
                  for v in patch3.REAP_KILL_VERSIONS for inside in (True, False))]

    return [
        _same_in_pages("03", "v1 3/3 sets MMF_UNSTABLE after the SIGKILL, not before it",
                       "delayed_caller() for rfc, v1, d: kill then flags 0, REAP_KILL, "
                       "REAP_KILL interrupted", delayed),
        _same_in_pages("03", "v2's MMF_MULTIPROCESS refusal misses vfork sharers",
                       "vfork_sharer() per version", lambda o: [
                           patch3.vfork_sharer(v, o) for v in patch3.VERSIONS]),
        _same_in_pages("03", "v3 returns -EBUSY after killing part of the sharers",
                       "partial_kill() for v1, v2, v3, sharer outside the pid ns / of "
                       "another uid", lambda o: [
                           patch3.partial_kill(v, c, o) for v in ("v1", "v2", "v3")
                           for c in ("pid ns", "uid")]),
        _same_in_pages("03", "REAP_KILL reaps a namespace init its SIGKILL did not kill",
                       "outcome_matrix() 'ns init' rows with REAP_KILL, and "
                       "ns_init_after_reap()", ns_init),
        _same_in_pages("03", "the RFC's KILL_MRELEASE would skip the kill permission "
                       "check [I]", "permission_check() and pidns_check()",
                       lambda o: [*patch3.permission_check(o), *patch3.pidns_check(o)]),
    ]


def android_reruns(notebook: str | None = None) -> list[AndroidRerun]:
    """The findings outside notebooks 01 and 02 re-run on ``Kernel.android()`` (notebook
    03's, and notebook 04's model findings: :func:`races.android_reruns`; see
    :data:`ANDROID_RERUN`), or only those of ``notebook`` "03" or "04"."""
    if notebook not in (None, "03", "04"):
        raise ValueError(f"notebook must be '03', '04' or None, got {notebook!r}")
    rows = _notebook03() if notebook in (None, "03") else []
    return rows + (races.android_reruns() if notebook in (None, "04") else [])


ANDROID_RERUN: Final[tuple[str, ...]] = (
    "v1 3/3 sets MMF_UNSTABLE after the SIGKILL, not before it",
    "v2's MMF_MULTIPROCESS refusal misses vfork sharers",
    "v3 returns -EBUSY after killing part of the sharers",
    "REAP_KILL reaps a namespace init its SIGKILL did not kill",
    "the RFC's KILL_MRELEASE would skip the kill permission check [I]",
    *races.ANDROID_RERUN,
)
"""The findings :func:`android_reruns` covers, in order (notebook 03's headings, then
notebook 04's model findings: :data:`races.ANDROID_RERUN`)."""


# --- notebooks 00 and 07: the parity scenarios' model side, Android only ---------------

MODEL_ONLY: Final = "model only: no Android kernel to compare with"
"""What every Android cell of :func:`parity_reruns` adds: only the model side ran."""


def parity_measures(name: str, options: patch2.Options = ()) -> list[tuple[str, Any]]:
    """The measures of parity scenario ``name`` (:func:`~mrelease_ref.scenarios.parity.
    all_scenarios`) on the model side, run with ``options`` (e.g. :data:`ANDROID_OPTIONS`):
    ``(measure name, value)`` per measure, kB measures converted to pages of the run's page
    size (as :func:`in_pages`), so that runs on 4 KiB and 16 KiB pages compare."""
    from mrelease_ref.include.linux.mm_types import PAGE_SIZE
    from mrelease_ref.scenarios import parity

    sc = next((s for s in parity.all_scenarios() if s.name == name), None)
    if sc is None:
        raise ValueError(f"no parity scenario {name!r}; see parity.all_scenarios()")
    page_size = int(dict(options).get("page_size", PAGE_SIZE))
    obs = parity.run_model(sc, options=options)
    out: list[tuple[str, Any]] = []
    for m in sc.measures:
        value = m.value(obs)
        if m.name.endswith("(kB)"):
            out.append((m.name[:-4] + "(pages)", int(value) * 1024 // page_size))
        else:
            out.append((m.name, value))
    return out


def _parity_rerun(notebook: str, heading: str, scenarios: tuple[str, ...]) -> AndroidRerun:
    """A live finding of notebook 00 or 07 on ``Kernel.android()``, model side only: it
    holds when every measure of its parity scenarios is what the model gives by default,
    in pages."""
    default = [parity_measures(n) for n in scenarios]
    andr = [parity_measures(n, ANDROID_OPTIONS) for n in scenarios]
    same = default == andr
    changed = sorted({f"{n}: {a[0]}" for n, d_rows, a_rows in zip(scenarios, default, andr,
                                                                    strict=True)
                      for a, d in zip(a_rows, d_rows, strict=True) if a != d})
    return AndroidRerun(
        notebook, heading.removeprefix("Finding: "),
        f"the model side of parity scenarios {', '.join(scenarios)}",
        f"{sum(map(len, andr))} measures of {len(scenarios)} scenarios: "
        f"{'identical' if same else 'differ'} in pages",
        same, MODEL_ONLY if same else f"{'; '.join(changed)} ({MODEL_ONLY})")


def parity_reruns(notebook: str | None = None) -> list[AndroidRerun]:
    """The live findings of notebooks 00 and 07 (parity rows, model against this x86_64
    kernel) on ``Kernel.android()``, model side only: each one's parity scenarios
    (``mrelease_ref.findings``: ``Finding.parity``) run by ``parity.run_model(...,
    options=ANDROID_OPTIONS)`` and compared with the model's default run, in pages. There is
    no Android kernel to hold them against, so a cell that holds says "model only".
    ``finding`` is the README heading without its "Finding: " prefix (notebook 00's two
    section headings have none), in README order; ``notebook`` "00" or "07" keeps that
    notebook's only."""
    from mrelease_ref import findings

    if notebook not in (None, "00", "07"):
        raise ValueError(f"notebook must be '00', '07' or None, got {notebook!r}")
    return [_parity_rerun(f.notebook[:2], f.heading, f.parity) for f in findings.FINDINGS
            if f.notebook[:2] in ((notebook,) if notebook else ("00", "07"))
            and "live" in f.evidence]


# --- notebook 06: the LMKD device on Android's settings ---------------------------------

LMKD_VARIANTS: Final = ("baseline", "v1", "v3")
"""The kernels :func:`lmkd_reruns` runs (v3 stands for the REAP_KILL-only versions)."""


def android_device() -> Any:
    """The LMKD device (``lmkd.device.DeviceConfig``) with ``Kernel.android()``'s settings:
    its arch, its LRU, its page size as the device's base page (``page_kb``) and its
    order-0 ``/data`` page cache; ``scale`` keeps the default model page (64 KiB), so both
    devices run the same number of model pages."""
    from mrelease_ref.lmkd.device import DeviceConfig

    d = DeviceConfig()
    page_kb = ANDROID["page_size"] // 1024
    return dataclasses.replace(
        d, arch=ANDROID["arch"], lru_gen=ANDROID["lru_gen"], page_kb=page_kb,
        scale=d.scale * d.page_kb // page_kb,
        file_folio_order=None if ANDROID["file_large_folios"] else 0)


def lmkd_android_runs() -> dict[str, Any]:
    """The default LMKD scenario (seed 0) on :func:`android_device`, per kernel of
    :data:`LMKD_VARIANTS` (``lmkd.sim.RunResult`` each)."""
    from mrelease_ref.lmkd import sim

    return {v: sim.run(sim.Scenario(variant=v, device=android_device()))
            for v in LMKD_VARIANTS}


def _stored_classic_kills() -> dict[str, int]:
    """Kills per kernel at seed 0 on the default device (classic LRU, 4 KiB pages,
    single-page folios), from notebook 06's stored sweep."""
    from mrelease_ref.lmkd import sweeps

    rows = sweeps.load_sweeps()["sweeps"]["variants"]
    return {r["variant"]: r["kills"] for r in rows
            if r["seed"] == 0 and not r["x"] and r["y"] == 0 and r["variant"] in LMKD_VARIANTS}


def lmkd_reruns(runs: dict[str, Any] | None = None) -> list[AndroidRerun]:
    """Notebook 06's findings on the LMKD device with ``Kernel.android()``'s settings
    (:func:`android_device`), default scenario, seed 0: each finding's own predicate (the
    notebook's Checks) applied to :func:`lmkd_android_runs` (or ``runs``). The sweep
    finding (ten seeds, many layouts) is not re-run (``findings.WHY_NOT_RERUN``)."""
    r = lmkd_android_runs() if runs is None else runs
    base, v1, v3 = (r[v] for v in LMKD_VARIANTS)
    kills = " / ".join(str(r[v].n_kills) for v in LMKD_VARIANTS)
    classic = _stored_classic_kills()
    out = [AndroidRerun(
        "06", "v1 saves kills only as far as its reaps can evict the victims' files",
        "kills baseline / v1 / v3, seed 0; what v1's reaps leave of the victims' APKs",
        f"{kills}; v1 left {sum(k.excl_left_cached_mb or 0.0 for k in v1.kills):.1f} MiB "
        "cached", v1.n_kills < base.n_kills == v3.n_kills and all(
            k.excl_left_cached_mb == 0.0 for k in v1.kills),
        f"seed 0: {kills} kills (baseline / v1 / v3); /data's page cache is order 0 (the "
        "single-page layout), so each v1 reap evicts the victim's whole APK")]
    same = {v: r[v].n_kills for v in LMKD_VARIANTS} == classic
    out.append(AndroidRerun(
        "06", "under the multi-gen LRU v1 saves the same kills as on the classic LRU",
        "kills baseline / v1 / v3, seed 0, against the classic LRU with 4 KiB pages "
        "(stored sweep)", f"{kills} against {' / '.join(str(classic[v]) for v in LMKD_VARIANTS)}",
        same, "seed 0: each kernel kills as on the classic LRU with 4 KiB pages" if same
        else "seed 0: kills differ from the classic LRU's with 4 KiB pages"))
    out.append(AndroidRerun(
        "06", "under the baseline almost every kill after the first is redundant",
        "redundant kills of all kills: baseline, v1",
        f"baseline {base.n_redundant} of {base.n_kills}, v1 {v1.n_redundant} of {v1.n_kills}",
        base.n_redundant == base.n_kills - 1 and v1.n_redundant == 0,
        f"seed 0: {base.n_redundant} of the baseline's {base.n_kills} kills redundant, "
        f"{v1.n_redundant} of v1's {v1.n_kills}"))
    tear = [k.teardown_ms for x in (v1, v3) for k in x.kills if k.teardown_ms is not None]
    pinned = [k.teardown_ms for k in base.kills if k.pinned and k.teardown_ms is not None]
    out.append(_teardown_rerun(tear, pinned))
    rb, rv = base.relaunch, v1.relaunch
    paid = (rb is not None and rv is not None and rb.read_mb == 0.0
            and rv.read_mb == rv.excl_mb and rv.refault_mb == 0.0)
    out.append(AndroidRerun(
        "06", "v1's evictions are paid at relaunch, and the cost is invisible to refault "
        "counters", "relaunch MiB read baseline / v1 (of the APK), refaults v1",
        "no relaunch" if rb is None or rv is None else
        f"{rb.read_mb} / {rv.read_mb} of {rv.excl_mb}; {rv.refault_mb} refaulted", paid,
        "seed 0: v1's relaunch reads its whole APK again, no refault counted" if paid
        else "seed 0: the relaunch differs"))
    return out


def _teardown_rerun(tear: list[int], pinned: list[int]) -> AndroidRerun:
    """The teardown finding from the REAP_KILL teardowns (ms) and the pinned ESRCH ones."""
    finding = ("REAP_KILL bounds the teardown at a few milliseconds; a pinned ESRCH victim "
               "takes tens")
    measure = "teardown ms with REAP_KILL (v1, v3); of the baseline's pinned ESRCH victims"
    if not (tear and pinned):
        return AndroidRerun("06", finding, measure, f"{tear}; pinned {pinned}", False,
                            "seed 0: no REAP_KILL teardown or no pinned ESRCH victim")
    return AndroidRerun(
        "06", finding, measure, f"{min(tear)}-{max(tear)} ms; pinned {pinned} ms",
        max(tear) <= 5 and min(pinned) >= 10,
        f"seed 0: REAP_KILL teardowns take {min(tear)}-{max(tear)} ms (16 KiB pages: a "
        "quarter of the PTEs, each priced as on this x86_64 4 KiB kernel [E]), the pinned "
        f"ESRCH victim {max(pinned)} ms")


LMKD_RERUN: Final[tuple[str, ...]] = (
    "v1 saves kills only as far as its reaps can evict the victims' files",
    "under the multi-gen LRU v1 saves the same kills as on the classic LRU",
    "under the baseline almost every kill after the first is redundant",
    "REAP_KILL bounds the teardown at a few milliseconds; a pinned ESRCH victim takes tens",
    "v1's evictions are paid at relaunch, and the cost is invisible to refault counters",
)
"""The findings :func:`lmkd_reruns` covers, in order (notebook 06's headings but the
sweep's)."""


def finding_by_config(notebook: str | None = None) -> list[FindingByConfig]:
    """Every finding of notebooks 01 and 02 (or of ``notebook`` "01"/"02" only), in
    notebook order, on the default configuration and under the multi-gen LRU (see the
    module docstring)."""
    if notebook not in (None, "01", "02"):
        raise ValueError(f"notebook must be '01', '02' or None, got {notebook!r}")
    rows: list[FindingByConfig] = []
    if notebook in (None, "01"):
        rows += _notebook01()
    if notebook in (None, "02"):
        rows += _notebook02()
    return rows


def as_table(rows: list[FindingByConfig]) -> list[Row]:
    """Rows for ``pandas.DataFrame``: finding, measure, both results, verdict, how it
    differs."""
    return [{"finding": r.finding, "measure": r.measure, "default (classic LRU)": r.default,
             "MGLRU": r.mglru, "verdict": r.verdict, "how it differs": r.differs,
             "Kernel.android()": r.android, "on Android": r.android_cell}
            for r in rows]


def android_table(rows: list[AndroidRerun]) -> list[Row]:
    """Rows for ``pandas.DataFrame`` of findings re-run on Android only: finding, measure,
    the result there and the README's cell."""
    return [{"finding": r.finding, "measure": r.measure, "Kernel.android()": r.android,
             "on Android": r.android_cell} for r in rows]


FINDINGS: Final[tuple[str, ...]] = (
    "large folios are evicted only when one entry maps them",
    "patch 1 needs patch 2 for pages that were referenced before",
    "the shmem swap-cache miss changes nothing the zap path can reach",
    "draft D hands an anon_vma to mapping_evict_folio() once the fix is applied",
    "v1 evicts for the kernel's OOM reaper and in the victim's own exit",
    "draft D as posted frees anonymous THPs but no other anonymous memory",
    "only PTE-mapped file folios lose their aging",
    "v1 skips exactly the folios no other address space maps -- with CONFIG_MM_ID",
    "the saving is the activation rung, and its size is the cost model's assumption",
    "lost activations turn into refaults only when the kill beats reclaim",
    "with patch 1, the relaunch reads everything and no refault is counted",
    "with large folios, v1 keeps the pages cached but loses their activation",
    "v1's gate also covers the kernel's OOM reaper and the victim's own exit",
)
"""The ``### Finding:`` headings of notebooks 01 and 02 that :func:`finding_by_config`
covers, in order (a test keeps them equal to the notebooks' headings)."""

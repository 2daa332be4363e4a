"""Findings by kernel configuration (``mrelease_ref.scenarios.configs``).

Rules checked: every finding of notebooks 01 and 02 is covered, in order; on the default
configuration every finding holds (the notebooks assert it); under the multi-gen LRU
(v6.18 mm/swap.c:folio_mark_accessed() -> lru_gen_inc_refs(): no activation, no per-CPU
batch, no reference) exactly the findings that rest on the activation or its batch
reference stop holding, and those whose evidence runs no LRU code are unchanged.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from mrelease_ref.scenarios import configs

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
HEADING = re.compile(r"^# ### Finding: (.+)$", re.MULTILINE)


@functools.cache
def _rows() -> tuple[configs.FindingByConfig, ...]:
    return tuple(configs.finding_by_config())


@functools.cache
def _reruns() -> tuple[configs.AndroidRerun, ...]:
    return tuple(configs.android_reruns())


@functools.cache
def _parity_reruns() -> tuple[configs.AndroidRerun, ...]:
    return tuple(configs.parity_reruns())


@functools.cache
def _lmkd_reruns() -> tuple[configs.AndroidRerun, ...]:
    return tuple(configs.lmkd_reruns())


def _heading(r: configs.AndroidRerun) -> str:
    """The README heading of a parity rerun (notebook 00's section headings have no
    "Finding: " prefix)."""
    from mrelease_ref import findings

    return next(f.heading for f in findings.FINDINGS
                if f.heading in (r.finding, f"Finding: {r.finding}"))


def _headings(stem: str) -> list[str]:
    path = next(NOTEBOOKS.glob(f"{stem}_*.py"))
    return HEADING.findall(path.read_text(encoding="utf-8"))


def test_findings_are_the_notebooks_headings_in_order() -> None:
    """FINDINGS lists the ``### Finding:`` headings of notebooks 01 and 02, in order, and
    finding_by_config() returns one row per finding in that order."""
    assert list(configs.FINDINGS) == _headings("01") + _headings("02")
    assert [r.finding for r in _rows()] == list(configs.FINDINGS)
    assert [r.notebook for r in _rows()] == ["01"] * len(_headings("01")) + ["02"] * len(
        _headings("02"))


def test_every_finding_holds_on_the_default_configuration() -> None:
    """The notebooks' findings were established on the classic LRU: each predicate holds
    there (otherwise the predicate, not the finding, is wrong)."""
    assert all(r.holds_default for r in _rows())


def test_mglru_breaks_exactly_the_activation_findings() -> None:
    """Under the multi-gen LRU, folio_mark_accessed() never activates, so the findings
    built on an activation (the lru_activate batch's reference blocking patch 1, the
    activation rung as patch 2's saving, lost activations as refaults, large folios losing
    theirs) do not hold; every other finding does. Each one that does not hold says how it
    differs."""
    broken = {r.finding for r in _rows() if not r.holds_mglru}
    assert broken == {
        "patch 1 needs patch 2 for pages that were referenced before",
        "the saving is the activation rung, and its size is the cost model's assumption",
        "lost activations turn into refaults only when the kill beats reclaim",
        "with large folios, v1 keeps the pages cached but loses their activation",
    }
    assert all(r.differs for r in _rows() if not r.holds_mglru)
    assert all(r.verdict == ("holds on both" if r.holds_mglru else "holds on default only")
               for r in _rows())


def test_patch1_alone_evicts_everything_under_mglru() -> None:
    """The 8 x 16 victim of notebook 01: under the multi-gen LRU v1 1/3 alone evicts all
    128 pages in each case (no batch reference), on the classic LRU it loses some when the
    pages were referenced before."""
    row = next(r for r in _rows() if r.finding.startswith("patch 1 needs patch 2"))
    assert row.mglru == "128 / 128 / 128"
    first, again, both = (int(x) for x in row.default.split(" / "))
    assert first == both == 128 and again < 128


def test_patch2_saving_under_mglru_is_the_first_use_share_for_every_history() -> None:
    """With calibrated prices, the baseline's reap under the multi-gen LRU activates
    nothing in any history, so the aging patch 2 removes is the same share of the reap
    for every history: the classic LRU's first-use share."""
    on = configs.saving_by_history(True)
    off = configs.saving_by_history(False)
    assert all(c.pgactivate == 0 for c in on.values())
    assert {c.aging_pct for c in on.values()} == {off["first use"].aging_pct}
    assert off["used before"].aging_pct > off["first use"].aging_pct


def test_readme_android_column_is_what_the_package_computes() -> None:
    """The README's "on Android" cell of every finding of notebooks 00, 01, 02, 03 and 07
    (``mrelease_ref.findings.ON_ANDROID``, rendered by ``python -m mrelease_ref.findings``)
    is the ``android_cell`` that finding_by_config(), android_reruns() and parity_reruns()
    compute on ``Kernel.android()``; every other finding says why it was not re-run."""
    from mrelease_ref import findings

    computed = {f"Finding: {r.finding}": r.android_cell
                for r in (*_rows(), *_reruns(), *_lmkd_reruns())}
    computed |= {_heading(r): r.android_cell for r in _parity_reruns()}
    assert computed == findings.ON_ANDROID
    rendered = findings.findings_markdown()
    for f in findings.FINDINGS:
        cell = computed.get(f.heading, findings.WHY_NOT_RERUN.get(f.heading,
                                                                 findings.NOT_RERUN))
        cell = cell.replace("|", "\\|")
        assert f"| {cell} |" in rendered


def test_every_finding_not_re_run_on_android_says_why() -> None:
    """A finding without a computed Android cell states why it was not re-run; none
    prints the bare "not re-run", and no finding is both computed and excused."""
    from mrelease_ref import findings

    assert not set(findings.WHY_NOT_RERUN) & set(findings.ON_ANDROID)
    assert all(w.startswith("not re-run: ") for w in findings.WHY_NOT_RERUN.values())
    bare = {f.notebook for f in findings.FINDINGS if findings.on_android(f) == findings.NOT_RERUN}
    assert bare == set()
    headings = {f.heading for f in findings.FINDINGS}
    assert set(findings.WHY_NOT_RERUN) <= headings


LIVE_04 = "on the live kernel a call made right after kill() mostly arrives too late"


def test_android_reruns_are_notebook_03s_headings_in_order() -> None:
    """ANDROID_RERUN lists the ``### Finding:`` headings of notebook 03 in order, then
    notebook 04's but the live timing one, and android_reruns() returns one row per
    finding in that order."""
    assert list(configs.ANDROID_RERUN) == _headings("03") + [
        h for h in _headings("04") if h != LIVE_04]
    assert [r.finding for r in _reruns()] == list(configs.ANDROID_RERUN)


def test_reap_kill_findings_hold_on_android_page_for_page() -> None:
    """Notebook 03's findings are about signals, permissions, pid namespaces and who
    tears down the mm (kernel/signal.c, mm/oom_kill.c); none depends on the page size or
    the LRU, so on Kernel.android() each evidence table is the default one with RSS
    counted in pages (16 KiB instead of 4 KiB: the kB values are four times larger)."""
    nb3 = [r for r in _reruns() if r.notebook == "03"]
    assert all(r.holds_android and r.android_cell == "holds" for r in nb3)
    assert all(r.android.endswith("identical in pages") for r in nb3)


def test_race_findings_hold_on_android_schedule_for_schedule() -> None:
    """Notebook 04's model findings are about who holds ``mm_users`` and when ``->mm`` is
    cleared (kernel/exit.c:exit_mm(), kernel/fork.c:mmput(), mm/oom_kill.c:
    process_mrelease()); the preemption points are one per PMD (mm/memory.c:
    zap_pmd_range()), whatever a PMD spans. So on Kernel.android(), where a PMD spans
    2048 pages of 16 KiB, every world has the same schedules and outcomes, in pages, and
    each finding's claim (the notebook's checks) holds there."""
    nb4 = [r for r in _reruns() if r.notebook == "04"]
    assert len(nb4) == 5
    assert all(r.holds_android and r.android_cell == "holds" for r in nb4)
    assert all(r.android.endswith("identical in pages; claim holds") for r in nb4)


def test_in_pages_converts_kb_to_pages_of_the_given_size() -> None:
    """in_pages() divides every ``*_kb`` field by the page size in kB and drops traces:
    64 pages are 256 kB on 4 KiB pages and 1024 kB on 16 KiB pages."""
    from mrelease_ref.scenarios.patch3 import VforkRun

    small = VforkRun("v2", "0", False, 256, 0, 0, "dead (SIGBUS)")
    large = VforkRun("v2", "0", False, 1024, 0, 0, "dead (SIGBUS)")
    assert configs.in_pages(small, 4096) == configs.in_pages(large, 16384)
    assert configs.in_pages(small, 4096)["parent_rss_before_pages"] == 64
    assert configs.in_pages(small, 16384) != configs.in_pages(large, 16384)


def test_android_fails_exactly_where_mglru_does() -> None:
    """On ``Kernel.android()`` (v6.18 with CONFIG_LRU_GEN, CONFIG_ARM64_16K_PAGES and an
    order-0 page cache: fs/ext4/inode.c:ext4_should_enable_large_folio() is false with the
    encrypt feature) the findings that fail are the MGLRU ones: the page size changes no
    verdict, and findings moot on an order-0 page cache say so."""
    assert [r.finding for r in _rows() if not r.holds_android] == [
        r.finding for r in _rows() if not r.holds_mglru]
    assert all(r.differs_android for r in _rows() if not r.holds_android)
    large = next(r for r in _rows() if r.finding.startswith("large folios are evicted"))
    assert large.android.startswith("/data: ") and "order 0" in large.android


def test_parity_reruns_cover_the_live_findings_of_notebooks_00_and_07() -> None:
    """parity_reruns() has one row per live finding of notebooks 00 and 07 (their evidence
    is parity rows), in README order, each run on the scenarios the finding names."""
    from mrelease_ref import findings

    live = [f for f in findings.FINDINGS
            if f.notebook[:2] in ("00", "07") and "live" in f.evidence]
    assert [_heading(r) for r in _parity_reruns()] == [f.heading for f in live]
    assert all(", ".join(f.parity) in r.measure
               for f, r in zip(live, _parity_reruns(), strict=True))


def test_parity_findings_hold_on_android_in_the_model_only() -> None:
    """The live findings of notebooks 00 and 07 (errno of process_mrelease(), what the
    reap frees and unmaps, page cache after it, wants_signal() for a frozen victim,
    /proc/<pid>/mem after the reap: mm/oom_kill.c, kernel/signal.c, fs/proc/base.c,
    mm/memory.c at v6.18) depend on neither the page size nor the LRU, so the model side
    of their parity scenarios gives the same measures on Kernel.android(), in pages. No
    Android kernel was measured: every cell says it is the model's."""
    assert all(r.holds_android for r in _parity_reruns())
    assert all(r.android_cell == f"holds; {configs.MODEL_ONLY}" for r in _parity_reruns())
    assert all(r.android.endswith("identical in pages") for r in _parity_reruns())


def test_parity_measures_count_kb_in_pages_of_the_run() -> None:
    """parity_measures() converts the kB measures (smaps/status RSS: K(x) = x <<
    (PAGE_SHIFT - 10), fs/proc/task_mmu.c) to pages of the run's page size: the 1024-page
    victim frozen in pause() keeps RssAnon 1024 pages after SIGTERM's EINVAL, which is
    4096 kB on 4 KiB pages and 16384 kB on 16 KiB pages."""
    from mrelease_ref.scenarios import parity

    name = "frozen-pause-sigterm"
    sc = next(s for s in parity.all_scenarios() if s.name == name)
    raw = parity.run_model(sc, options=configs.ANDROID_OPTIONS)["after_reap.RssAnon"]
    assert raw == 1024 * dict(configs.ANDROID_OPTIONS)["page_size"] // 1024
    rows = dict(configs.parity_measures(name, configs.ANDROID_OPTIONS))
    assert rows["RssAnon at after_reap (pages)"] == 1024
    assert rows == dict(configs.parity_measures(name))


def test_lmkd_reruns_are_notebook_06s_headings_but_the_sweep() -> None:
    """LMKD_RERUN lists notebook 06's ``### Finding:`` headings in order, all but the
    last (the ten-seed sweep, which says why it is not re-run), and lmkd_reruns() returns
    one row per finding in that order."""
    from mrelease_ref import findings

    heads = _headings("06")
    assert list(configs.LMKD_RERUN) == heads[:-1]
    assert [r.finding for r in _lmkd_reruns()] == list(configs.LMKD_RERUN)
    assert f"Finding: {heads[-1]}" in findings.WHY_NOT_RERUN


def test_android_device_is_kernel_android_as_lmkd_runs_it() -> None:
    """The LMKD device on Android's settings is Kernel.android()'s arch, LRU, page size
    (arm64 CONFIG_ARM64_16K_PAGES) and order-0 page cache, with the same model page as the
    default device (64 KiB), so both run the same number of model pages."""
    from mrelease_ref.lmkd.device import DeviceConfig, make_kernel
    from mrelease_ref.sim.kernel import ANDROID

    d, a = DeviceConfig(), configs.android_device()
    k = make_kernel(a, "baseline", None, 0)
    assert (k.config.arch, k.config.page_size, k.config.lru_gen) == (
        ANDROID["arch"], ANDROID["page_size"], ANDROID["lru_gen"])
    assert a.file_folio_order == 0 and not ANDROID["file_large_folios"]
    assert a.page_kb * a.scale == d.page_kb * d.scale
    assert a.pages(a.ram_mb) == d.pages(d.ram_mb)


def test_lmkd_findings_hold_on_the_android_device() -> None:
    """On the device with Kernel.android()'s settings (seed 0) every LMKD finding re-run
    holds: the kill decisions are made in MiB against watermarks, the reap's eviction of
    single-page folios does not depend on the page size, and MGLRU kills as the classic
    LRU does (notebook 06's second finding); the teardown is shorter, since a 16 KiB page
    has a quarter of the PTEs of 4 KiB pages at the same calibrated price per page."""
    rows = _lmkd_reruns()
    assert all(r.holds_android for r in rows)
    assert all(r.android_cell.startswith("holds; seed 0: ") for r in rows)


def test_parity_options_and_names_are_checked() -> None:
    """Misuse of the Python API raises before anything runs, saying what to give:
    run_model()'s options must be (name, value) pairs of Kernel settings (TypeError), a
    parity scenario must exist and parity_reruns() covers notebooks 00 and 07 only
    (ValueError); a Kernel setting the Kernel refuses (a 16 KiB page on x86_64) raises
    the Kernel's ValueError."""
    import pytest

    from mrelease_ref.scenarios import parity

    sc = next(s for s in parity.all_scenarios() if s.name == "zombie")
    with pytest.raises(TypeError, match="name, value"):
        parity.run_model(sc, options=("page_size",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="arm64"):
        parity.run_model(sc, options=(("page_size", 16384),))
    with pytest.raises(ValueError, match="no parity scenario"):
        configs.parity_measures("no-such-scenario")
    with pytest.raises(ValueError, match="'00', '07' or None"):
        configs.parity_reruns("01")


def test_android_reruns_by_notebook_refuses_other_notebooks() -> None:
    """``android_reruns(notebook)`` covers notebooks 03 and 04 only; any other value is a
    misuse of the API and says which values it takes."""
    with pytest.raises(ValueError, match="'03', '04' or None"):
        configs.android_reruns("05")

"""The parity scenarios without root: the model side alone, the spec conversion, storage.

The live comparison is ``tests/test_real_kernel.py``; here every scenario runs on
``Kernel(variant="baseline")`` only and must give the values docs/sources.md reports (each
measure's ``expect``), so the model is held to the measured kernel on any machine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mrelease_ref.lab.victim import Kind
from mrelease_ref.scenarios import parity
from mrelease_ref.scenarios.victims import MappingSpec, VictimSpec


@pytest.mark.parametrize("sc", parity.SCENARIOS, ids=[s.name for s in parity.SCENARIOS])
def test_model_gives_what_realkernel_md_reports(sc: parity.Scenario) -> None:
    """Each scenario's measures on the model equal docs/sources.md's values (``expect``).

    Rule and source: the scenario's ``source`` (docs/sources.md §M0 items, §M3-§M7 rows).
    """
    obs = parity.run_model(sc)
    for m in sc.measures:
        value = m.value(obs)
        if m.expect is not None:
            if m.tolerance is None:
                assert value == m.expect, (m.name, value)
            else:
                assert abs(int(value) - int(m.expect)) <= m.tolerance.abs, (m.name, value)


def test_freed_is_exact_in_the_model() -> None:
    """In the model the anon pages freed by a reap are exactly the victim's anon pages
    (N for 4 KiB anon and THP, the COW copies for a written private file, 0 for clean file
    pages and shmem): the tolerance exists for the kernel side only.

    Source: docs/sources.md §M0.8 ("Anonymous memory freed equals N MB. Clean file memory
    freed is 0").
    """
    by_name = {s.name: s for s in parity.SCENARIOS}
    expected = {"dying-anon": 16384, "anon-thp": 16384, "file-cow": 1024,
                "file-private": 0, "shmem-skipped": 0, "memfree-probe": 1024}
    for name, pages in expected.items():
        assert parity.run_model(by_name[name])["reap.freed"] == pages, name


def test_cross_measures_hold_on_the_model() -> None:
    """4 KiB anon costs more per MiB than THP and than clean file pages in the model too.

    Source: docs/sources.md §M0.8; prices in mrelease_ref.sim.cost.
    """
    obs = {s.name: parity.run_model(s) for s in parity.SCENARIOS
           if s.name in ("dying-anon", "anon-thp", "file-private", "empty")}
    for c in parity.CROSS_MEASURES:
        assert c.fn(obs) == c.expect, c.name


def test_every_fact_is_covered() -> None:
    """The scenarios cover docs/sources.md §M0 items 1-9 and give >= 25 distinct rows."""
    facts = {m.fact for s in parity.SCENARIOS for m in s.measures}
    facts |= {c.fact for c in parity.CROSS_MEASURES}
    assert {str(i) for i in range(1, 10)} <= facts
    rows = {(s.name, m.name) for s in parity.SCENARIOS for m in s.measures}
    assert len(rows) == sum(len(s.measures) for s in parity.SCENARIOS) >= 25


def test_to_lab_spec_maps_every_kind() -> None:
    """One spec drives both sides: the model's kinds map onto the lab's, files get paths,
    small folios and the sharer carry over."""
    spec = VictimSpec(tuple(MappingSpec(kind, 8, dirty=2 if kind in ("file-cow", "file-shared")
                                        else 0) for kind in parity._LAB_KIND))
    paths = {i: f"/var/tmp/f{i}" for i, m in enumerate(spec.mappings)
             if m.kind.startswith("file")}
    lab = parity.to_lab_spec(spec, paths, small_file_folios=True, sharer=True)
    assert [m.kind for m in lab.mappings] == [Kind(parity._LAB_KIND[m.kind])
                                              for m in spec.mappings]
    assert lab.sharer
    for i, m in enumerate(lab.mappings):
        assert m.nr_pages == 8
        assert m.path == paths.get(i)
        assert m.small_folios == m.kind.is_file
        assert m.dirty_pages == spec.mappings[i].dirty


def test_row_meets_uses_the_tolerance() -> None:
    """Row.meets: exact rows compare equal, toleranced rows within their tolerance."""
    row = parity.Row("s", "m", "", 0, 10, True, "±16 kB", None, "", tol=16)
    assert row.meets(None) and row.meets(0) and row.meets(26) and not row.meets(27)
    exact = parity.Row("s", "m", "", "EINVAL", "EINVAL", True, "exact", "EINVAL", "")
    assert exact.meets("EINVAL") and not exact.meets("ESRCH")


def test_stored_run_loads_and_agrees() -> None:
    """The stored last run (mrelease_ref/lab/data/parity_last.json, written by
    ``python -m mrelease_ref.scenarios.parity``) loads, names its kernel and date, and has
    no disagreement."""
    run = parity.load_run()
    assert run.meta["kernel"] and run.meta["date"]
    assert len(run.rows) >= 25 and run.disagreements == []


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    """save_run() then load_run() gives the same rows and metadata."""
    run = parity.ParityRun([parity.Row("s", "m", "1", 1, 1, True, "exact", 1, "src")],
                           meta={"kernel": "k", "date": "d"})
    path = parity.save_run(run, tmp_path / "run.json")
    back = parity.load_run(path)
    assert back.rows == run.rows and back.meta == run.meta

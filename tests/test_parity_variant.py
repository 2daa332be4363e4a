"""``parity --variant``: the model's prediction for a patched kernel, and the rows it
changes, computed without root (the live half needs the lab and is not run here).

Rules: v1, v2 and v3 accept PROCESS_MRELEASE_REAP_KILL (bit 0), so ``flags=1`` passes the
flags check and the bad fd is what fails (EBADF, not EINVAL: docs/sources.md §K1.1,
§T3.2, §T3.4, §T3.6); v1's patch 1 evicts the clean file folios a reap unmaps from the
gather (§T3.2), so the private file's page cache goes with the call; v2 and v3 change
nothing else in these flags-0 scenarios.
"""

from __future__ import annotations

import pytest

from mrelease_ref.scenarios import parity


def _changes(variant: str) -> dict[tuple[str, str], tuple[object, object]]:
    return {(c.scenario, c.measure): (c.baseline, c.variant)
            for c in parity.expected_changes(variant)}


def test_baseline_changes_nothing() -> None:
    """The baseline model against itself: no row changes."""
    assert parity.expected_changes("baseline") == []


def test_v1_changes_the_flags_check_and_the_page_cache_rows() -> None:
    """v1: ``flags=1`` becomes EBADF, and the call evicts the private file's cache where one
    gather entry holds each folio's only mapping reference: the 64 MiB file read in order
    is 8 MiB of 4 KiB folios, a 32 MiB ramp of order 2-8 folios (one PTE reference per
    page: kept) and 24 MiB of PMD-mapped folios, so 8192 of its 16384 pages stay
    (notebook 01, "large folios are evicted only when one entry maps them";
    lab/data/folios.json for the layout)."""
    ch = _changes("v1")
    assert ch[("errno-order", "errno: flags=1,fd=-1")] == ("EINVAL", "EBADF")
    ramp_pages = 32 * 256
    assert ch[("file-private", "nr_cache at after_reap (pages)")] == (16384, ramp_pages)
    assert ("dying-anon", "errno: process_mrelease") not in ch


@pytest.mark.parametrize("variant", ["v2", "v3"])
def test_reap_kill_only_versions_change_only_the_flags_check(variant: str) -> None:
    """v2 and v3 are REAP_KILL alone: with flags 0 every row but the flags check stays."""
    assert set(_changes(variant)) == {("errno-order", "errno: flags=1,fd=-1")}


def test_cli_model_only_lists_the_changes_without_root(capsys: pytest.CaptureFixture[str]) -> None:
    """``--variant v1 --model-only`` prints the rows v1 changes and exits 0, root or not."""
    assert parity.main(["--variant", "v1", "--model-only", "--only", "errno-order"]) == 0
    out = capsys.readouterr().out
    assert "rows v1 is expected to change" in out
    assert "errno: flags=1,fd=-1" in out and "EINVAL -> EBADF" in out


def test_cli_rejects_an_unknown_variant(capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt variant is refused with the list of choices, before anything runs."""
    assert parity.main(["--variant", "v9", "--model-only"]) == 2
    assert "unknown variant 'v9'" in capsys.readouterr().err

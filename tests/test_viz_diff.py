"""The hunk view shows the posted change: lore link first, model-only lines apart.

Not a kernel rule: a presentation check. Source of the Message-IDs: docs/sources.md §T1.1,
§T1.3; of the [I] marks: §T0, §T7 (the RFC's 1/3 and 3/3 hunks were not retrieved).
"""

from __future__ import annotations

from mrelease_ref.include.linux import swap as swap_h
from mrelease_ref.mm import swap_state
from mrelease_ref.series.d.mm import swap as d_swap
from mrelease_ref.series.rfc.mm import swap_state as rfc_swap_state
from mrelease_ref.series.v1.mm import swap as v1_swap
from mrelease_ref.viz.diff import MODEL_ONLY, source_diff, split_model_only


def test_series_diff_starts_with_the_lore_link() -> None:
    """A series copy's diff names the posting it reproduces (v1 1/3 for v1's mm/swap.c)."""
    text = source_diff(swap_state.free_pages_and_swap_cache, v1_swap.free_pages_and_caches_loop)
    first = text.splitlines()[0]
    assert first == "posted: https://lore.kernel.org/r/20260421230239.172582-2-minchan@kernel.org"


def test_model_only_lines_are_left_out_and_listed() -> None:
    """The ``swapcache_fix`` branch (a model option, not v1's code) is not a diff line; it
    is listed below the diff, and the ``elif`` after it reads ``if`` as posted."""
    text = source_diff(swap_state.free_pages_and_swap_cache, v1_swap.free_pages_and_caches_loop)
    diff, listed = text.split("model-only lines of the copy", 1)
    assert "swapcache_fix" not in diff and "type: ignore" not in diff
    assert "+        if folio.flags & PG_anon:" in diff
    assert "swapcache_fix" in listed
    d_text = source_diff(v1_swap.free_file_cache, d_swap.free_file_cache)
    assert "EVICT_ANON_MAPPING" not in d_text.split("model-only lines")[0]


def test_inferred_hunks_say_so() -> None:
    """The RFC's free path was not retrieved: its diff is marked as the model's reading."""
    text = source_diff(swap_h.free_pages_and_swap_cache, rfc_swap_state.free_pages_and_caches)
    assert "[I]" in text.splitlines()[0]


def test_split_model_only_keeps_everything_else() -> None:
    """Only tagged lines (and the blocks they open) go; the rest is kept verbatim."""
    lines = ["def f(x):\n", f"    if x:  {MODEL_ONLY}\n", "        g()\n", "    elif y:\n",
             "        h()\n", "    return 1  # type: ignore[misc]\n"]
    kept, removed = split_model_only(lines)
    assert kept == ["def f(x):\n", "    if y:\n", "        h()\n", "    return 1\n"]
    assert removed == lines[1:3]

"""The widget panels without a browser: setting a control's ``.value`` (what a drag or a
key press does) re-runs the model and rewrites the result trait (ipywidgets fires trait
observers synchronously, no kernel needed)."""

from __future__ import annotations

from mrelease_ref.lmkd.sim import run
from mrelease_ref.widgets.lmkd import PANEL_SCENARIO, lmkd_panel, summary_html
from mrelease_ref.widgets.reap import html_table, patch1_panel, reap_kill_panel, relaunch_panel


def test_lmkd_panel_reruns_the_model_per_change_and_caches_settings() -> None:
    """The panel's text is the model's result for the controls' values; one change is one
    run, and returning to a setting runs nothing."""
    panel = lmkd_panel()
    assert panel.runs == 1
    sc = panel.scenario()
    assert sc == PANEL_SCENARIO.__class__(**{**_fields(PANEL_SCENARIO), "variant": "v1"})
    assert panel.result.value == summary_html("v1", run(sc))
    png = bytes(panel.image.value)
    assert png.startswith(b"\x89PNG")
    panel.sliders["launch_anon_mb"].value = 900
    assert panel.runs == 2 and bytes(panel.image.value) != png
    assert panel.result.value == summary_html("v1", run(panel.scenario()))
    panel.sliders["launch_anon_mb"].value = 800
    assert panel.runs == 2 and bytes(panel.image.value) == png
    panel.variant.value = "baseline"
    assert panel.runs == 3 and panel.result.value.startswith("<b>baseline</b>")


def _fields(sc: object) -> dict[str, object]:
    return {f: getattr(sc, f) for f in sc.__dataclass_fields__}  # type: ignore[attr-defined]


def test_reap_panels_follow_their_controls() -> None:
    """Each notebook 01-03 panel shows its experiment's result and changes with a
    control: v1 1/3 evicts what the baseline keeps; patch 2 alone reads more at the
    relaunch than nothing; without REAP_KILL a live target gives EINVAL on v3."""
    p1 = patch1_panel()
    v1_text = p1.result.value
    p1.controls["kernel"].value = "baseline"
    assert p1.result.value != v1_text and "process_mrelease() = 0" in p1.result.value
    p2 = relaunch_panel()
    before = p2.result.value
    p2.controls["config"].value = "v1 1-2"
    assert p2.result.value != before
    p3 = reap_kill_panel()
    assert "<td>0</td>" in p3.result.value
    p3.controls["flags"].value = 0
    assert "EINVAL" in p3.result.value
    assert html_table([]) == "<i>no rows</i>"

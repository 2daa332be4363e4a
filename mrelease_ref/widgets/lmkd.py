"""The LMKD panel of notebook 06: the main knobs of the scenario, one run per change.

Not kernel code. :func:`lmkd_panel` returns an :class:`LmkdPanel`; display its ``box``.
Changing a control (the kernel, the LRU, the page-cache layout, four sliders) re-runs
:func:`mrelease_ref.lmkd.sim.run` once for the chosen variant with the panel's knobs,
redraws the free-memory plot into ``image`` (PNG bytes) and
rewrites ``result`` (HTML with CSS class ``lmkd-result``, which the browser test reads).
Runs are cached per setting, so going back to a setting is instant.

Limitations:
- To stay near a second per change on these machines, the panel runs the launch phase
  only (no relaunch, horizon 2.5 s) with 1 model page = 32 device pages (128 KiB), twice
  the notebook's aggregation; counts can differ from the notebook's at the margin
  (``python -m mrelease_ref.bench.lmkd`` measures the update time).
- Knobs not on the panel keep :class:`~mrelease_ref.lmkd.sim.Scenario`'s defaults; the
  page-cache choice is every page a single-page folio (the device's default, a phone's
  /data) or readahead's layout (8 MiB window; :mod:`mrelease_ref.lmkd.device`,
  "Page-cache folios and the aggregation").
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from typing import Any

import ipywidgets as W
import matplotlib.pyplot as plt

from mrelease_ref.lmkd.device import DeviceConfig
from mrelease_ref.lmkd.sim import VARIANTS, RunResult, Scenario, run
from mrelease_ref.lmkd.stats import with_param
from mrelease_ref.viz import lmkd as lmkd_viz
from mrelease_ref.viz.figures import STABLE_RC

PANEL_SCENARIO = Scenario(relaunch_ms=None, horizon_ms=2500, device=DeviceConfig(scale=32))
"""What the panel runs by default: the default scenario's launch phase, scale 32."""

KNOBS: tuple[tuple[str, str, Any], ...] = (
    ("p_esrch", "P(victim wins)", (0.0, 1.0, 0.1)),
    ("device.excl_frac", "exclusive file", (0.05, 0.4, 0.05)),
    ("device.kswapd_mb_s", "kswapd MiB/s", (100, 800, 100)),
    ("launch_anon_mb", "launch anon MiB", (300, 1000, 100)),
)
"""(parameter, label, (min, max, step)) of each slider."""

CHOICES: tuple[tuple[str, str, tuple[tuple[str, Any], ...]], ...] = (
    ("device.lru_gen", "LRU", (("classic", False), ("multi-gen", True))),
    ("device.file_folio_order", "page cache",
     (("readahead's folios", None), ("single-page folios", 0))),
)
"""(parameter, label, options) of each drop-down besides the kernel's."""


def _png(results: dict[str, RunResult], title: str) -> bytes:
    import matplotlib as mpl

    fig = lmkd_viz.free_memory(results, title=title)
    buf = io.BytesIO()
    with mpl.rc_context(STABLE_RC):
        fig.savefig(buf, format="png", dpi=80, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def summary_html(variant: str, r: RunResult) -> str:
    """The panel's text: kills, redundant kills, ESRCH, MiB evicted and left cached."""
    s = r.summary()
    return (
        f"<b>{variant}</b>: {s['kills']} kills ({s['redundant']} redundant, "
        f"{s['ESRCH']} ESRCH); evicted at reap {s['evicted at reap MiB']} MiB, "
        f"left cached {s['left cached MiB']} MiB; recovery {s['recovery ms']} ms"
    )


@dataclass(slots=True, eq=False)
class LmkdPanel:
    """The widgets of the panel and the model runs behind them."""

    base: Scenario
    variant: W.Dropdown
    sliders: dict[str, W.Widget]
    choices: dict[str, W.Dropdown]
    result: W.HTML
    image: W.Image
    box: W.VBox
    runs: int = 0
    _cache: dict[tuple[Any, ...], RunResult] = field(default_factory=dict)

    def scenario(self, variant: str | None = None) -> Scenario:
        """The scenario the controls describe (for ``variant``, default the dropdown's)."""
        sc = replace(self.base, variant=variant or self.variant.value)
        for name, w in (*self.sliders.items(), *self.choices.items()):
            sc = with_param(sc, name, w.value)
        return sc

    def _run(self, sc: Scenario) -> RunResult:
        key = (sc.variant, *(w.value for w in self.sliders.values()),
               *(w.value for w in self.choices.values()))
        if key not in self._cache:
            self._cache[key] = run(sc)
            self.runs += 1
        return self._cache[key]

    def update(self, _change: object = None) -> None:
        """Re-run the chosen variant and redraw."""
        v = self.variant.value
        r = self._run(self.scenario(v))
        self.image.value = _png({v: r}, "free memory during the launch")
        self.result.value = summary_html(v, r)


def lmkd_panel(base: Scenario = PANEL_SCENARIO, variant: str = "v1") -> LmkdPanel:
    """Build the panel and run it once for its initial values."""
    dd = W.Dropdown(options=list(VARIANTS), value=variant, description="kernel")
    sliders: dict[str, W.Widget] = {}
    for name, label, (lo, hi, step) in KNOBS:
        value = _current(base, name)
        cls = W.FloatSlider if isinstance(step, float) else W.IntSlider
        sliders[name] = cls(value=value, min=lo, max=hi, step=step, description=label,
                            continuous_update=False,
                            style={"description_width": "120px"})
    choices = {name: W.Dropdown(options=list(options), value=_current(base, name),
                                description=label)
               for name, label, options in CHOICES}
    result = W.HTML()
    result.add_class("lmkd-result")
    image = W.Image(format="png")
    box = W.VBox([dd, *choices.values(), *sliders.values(), result, image])
    panel = LmkdPanel(base=base, variant=dd, sliders=sliders, choices=choices,
                      result=result, image=image, box=box)
    for w in (dd, *choices.values(), *sliders.values()):
        w.observe(panel.update, names="value")
    panel.update()
    return panel


def _current(sc: Scenario, name: str) -> Any:
    obj: Any = sc
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj

"""Small panels for notebooks 01-03: one experiment, re-run when a control changes.

Not kernel code. Each panel wires controls to a function of :mod:`mrelease_ref.scenarios`
and writes its result as an HTML table into ``result`` (CSS class ``reap-result``):

* :func:`patch1_panel` (notebook 01): which kernel, and 4 KiB or large page-cache folios;
  shows what :func:`~mrelease_ref.scenarios.patch1.reap_outcome` finds -- file pages
  cached before the kill, evicted by the reap, evicted by the exit, left cached;
* :func:`relaunch_panel` (notebook 02): which kernel, reclaim rounds between the last use
  and the kill, and between the kill and the relaunch; shows
  :func:`~mrelease_ref.scenarios.patch2.relaunch`'s activations, refaults and pages read;
* :func:`reap_kill_panel` (notebook 03): a case, a version and the flags; shows
  :func:`~mrelease_ref.scenarios.patch3.call_outcome`.

Limitations:
- Each change builds a fresh Kernel and runs the experiment with the invariant checker
  where the scenario turns it on; the relaunch takes about a second.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as W

__all__ = ("Panel", "html_table", "patch1_panel", "reap_kill_panel", "relaunch_panel")


def html_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows of equal keys as a plain HTML table."""
    if not rows:
        return "<i>no rows</i>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r.values()) + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


@dataclass(slots=True, eq=False)
class Panel:
    """Controls, the result widget and the box to display."""

    controls: dict[str, W.Widget]
    result: W.HTML
    box: W.VBox
    compute: Callable[..., str]

    def update(self, _change: object = None) -> None:
        """Re-run the experiment with the controls' values."""
        self.result.value = self.run(**{k: w.value for k, w in self.controls.items()})

    def run(self, **values: Any) -> str:
        """The experiment for ``values`` (one per control, as the controls would give):
        ValueError naming the valid choices or range for anything a control could not
        give, before any Kernel is built."""
        names = sorted(self.controls)
        if sorted(values) != names:
            raise ValueError(f"pass exactly the controls {names}, got {sorted(values)}")
        for name, value in values.items():
            _check_control(name, self.controls[name], value)
        return self.compute(**values)


def _check_control(name: str, w: W.Widget, value: Any) -> None:
    """ValueError unless ``value`` is one the control ``w`` can take."""
    if isinstance(w, W.IntSlider):
        if not isinstance(value, int) or isinstance(value, bool) or not w.min <= value <= w.max:
            raise ValueError(f"{name} must be an int in {w.min}..{w.max}, got {value!r}")
    elif isinstance(w, W.Checkbox):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be True or False, got {value!r}")
    elif isinstance(w, W.Dropdown):
        choices = [o[1] if isinstance(o, tuple) else o for o in w.options]
        if value not in choices or isinstance(value, bool):
            raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def _panel(controls: dict[str, W.Widget], compute: Callable[..., str]) -> Panel:
    result = W.HTML()
    result.add_class("reap-result")
    panel = Panel(controls, result, W.VBox([*controls.values(), result]), compute)
    for w in controls.values():
        w.observe(panel.update, names="value")
    panel.update()
    return panel


def patch1_panel() -> Panel:
    """Notebook 01: the victim of the overview reaped by one kernel."""
    from mrelease_ref.scenarios import patch1

    choices = {c.label: c for c in patch1.PATCH1_KERNELS}

    def compute(kernel: str, large_folios: bool) -> str:
        o = patch1.reap_outcome(choices[kernel], large_folios=large_folios)
        return f"process_mrelease() = {o.ret}<br>" + html_table(patch1.fate_totals([o]))

    return _panel({
        "kernel": W.Dropdown(options=list(choices), value=patch1.V1_1.label,
                             description="kernel"),
        "large_folios": W.Checkbox(value=False, description="large page-cache folios"),
    }, compute)


def relaunch_panel() -> Panel:
    """Notebook 02: the relaunch experiment under one kernel and pressure schedule."""
    from dataclasses import asdict

    from mrelease_ref.scenarios import patch2

    def compute(config: str, idle_rounds: int, post_rounds: int) -> str:
        params = patch2.RelaunchParams(idle_rounds=idle_rounds, post_rounds=post_rounds)
        r = asdict(patch2.relaunch(config, params))
        keep = ("activated_at_reap", "cached_at_relaunch", "refaults", "refault_restores",
                "pages_read")
        return html_table([{k: r[k] for k in keep}])

    return _panel({
        "config": W.Dropdown(options=["baseline", "2 alone", "v1 1-2"], value="baseline",
                             description="kernel"),
        "idle_rounds": W.IntSlider(value=0, min=0, max=2, description="idle rounds",
                                   continuous_update=False),
        "post_rounds": W.IntSlider(value=2, min=0, max=6, description="rounds after kill",
                                   continuous_update=False),
    }, compute)


def reap_kill_panel() -> Panel:
    """Notebook 03: one ``process_mrelease()`` call of one case, version and flags."""
    from mrelease_ref.scenarios import patch3

    def compute(case: str, version: str, flags: int) -> str:
        o = patch3.call_outcome(patch3.case(case), version, flags)
        return html_table([{"ret": o.ret, "target killed": o.target_killed,
                            "others killed": ", ".join(o.others_killed) or "-",
                            "others alive": ", ".join(o.others_alive) or "-",
                            "reaped kB": o.reaped_kb}])

    return _panel({
        "case": W.Dropdown(options=[c.name for c in patch3.CASES],
                           value=patch3.CASES[0].name, description="case"),
        "version": W.Dropdown(options=list(patch3.VERSIONS), value="v3",
                              description="version"),
        "flags": W.Dropdown(options=[("0", 0), ("REAP_KILL", patch3.REAP_KILL)],
                            value=patch3.REAP_KILL, description="flags"),
    }, compute)

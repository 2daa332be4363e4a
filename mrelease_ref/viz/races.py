"""Figures and the outcome widget of notebook 04 (races; not kernel code).

* :func:`timeline_figure` -- one schedule, step by step: who ran, the victim's ``->mm``,
  ``mm_users``, pages freed, and the call's return;
* :func:`alternatives_figure` -- per kernel, the share of explored schedules ending in
  ESRCH and in trapped memory;
* :func:`esrch_delay_figure` -- ESRCH rate against the delay between ``kill()`` and
  ``process_mrelease()``: the model's sampling beside the live kernel's measurement;
* :func:`outcome_widget` -- pick a kernel, the holders and the delay, see the outcome
  distribution of seeded random schedules (:func:`mrelease_ref.scenarios.races.distribution`).

Limitations:
- The widget samples (100 schedules by default); exhaustive tables are in the notebook.
- Figures use fixed sizes and colours so that saved files stay byte-stable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from mrelease_ref.scenarios.races import (
    COMPARED,
    HOLDERS,
    CurvePoint,
    OutcomeRow,
    RaceSpec,
    Summary,
    as_records,
    distribution,
)

if TYPE_CHECKING:
    from mrelease_ref.sim.cost import CostModel

_COLOURS = {"victim": "tab:red", "caller": "tab:blue", "reader": "tab:green",
            "smaps": "tab:olive", "sharer": "tab:purple", "vfork": "tab:brown"}


def timeline_figure(rows: Sequence[dict[str, Any]], title: str) -> Figure:
    """One schedule (rows of :func:`mrelease_ref.scenarios.races.timeline`): a lane per
    actor with a mark per step, and below it pages freed and ``mm_users`` over steps."""
    actors = list(dict.fromkeys(str(r["actor"]) for r in rows))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 4.2), sharex=True,
                                      gridspec_kw={"height_ratios": [1.2, 1]})
    for r in rows:
        a = str(r["actor"])
        top.scatter([r["step"]], [actors.index(a)], color=_COLOURS.get(a, "black"), s=30)
        top.annotate(str(r["stopped at"]), (float(r["step"]), actors.index(a)),
                     textcoords="offset points", xytext=(2, 5), fontsize=6, rotation=30)
    cut = next((r["step"] for r in rows if r["victim ->mm"] == "NULL"), None)
    ret = next((r["step"] for r in rows if r["call"]), None)
    for ax in (top, bottom):
        if cut is not None:
            ax.axvline(float(cut), color="tab:red", ls=":", lw=1)
        if ret is not None:
            ax.axvline(float(ret), color="tab:blue", ls="--", lw=1)
    top.set_yticks(range(len(actors)), actors)
    top.set_ylim(-0.5, len(actors) - 0.2)
    top.set_title(title, fontsize=9)
    steps = [float(r["step"]) for r in rows]
    bottom.step(steps, [float(r["freed"]) for r in rows], where="post", label="pages freed")
    bottom.step(steps, [float(r["mm_users"]) for r in rows], where="post",
                label="mm_users")
    bottom.set_xlabel("step (dotted: victim ->mm = NULL; dashed: the call returns)")
    bottom.legend(frameon=False, fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def alternatives_figure(summaries: Sequence[Summary], title: str) -> Figure:
    """Per kernel: share of schedules ending in ESRCH, and in trapped memory."""
    names = [s.variant for s in summaries]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], [100 * s.esrch_share for s in summaries], 0.4,
           label="ESRCH", color="tab:orange")
    ax.bar([x + 0.2 for x in xs], [100 * s.trapped_share for s in summaries], 0.4,
           label="memory trapped by a holder", color="tab:gray")
    ax.set_xticks(list(xs), names, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("% of explored schedules")
    ax.set_title(title, fontsize=9)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def esrch_delay_figure(model: dict[str, Sequence[CurvePoint]],
                       live: dict[str, Sequence[tuple[float, float]]]) -> Figure:
    """ESRCH rate against the delay (µs) between ``kill()`` and ``process_mrelease()``:
    model curves (lines) and live-kernel measurements (markers)."""
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    colours = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")
    for i, (label, pts) in enumerate(model.items()):
        c = colours[i % len(colours)]
        ax.plot([p.delay_ns / 1000 for p in pts], [100 * p.esrch_rate for p in pts],
                color=c, label=f"model: {label}")
        if label in live:
            xy = live[label]
            ax.plot([x for x, _ in xy], [100 * y for _, y in xy], "o", ms=4, color=c,
                    label=f"live: {label}")
    ax.set_xscale("symlog", linthresh=10)
    ax.set_xlabel("delay d the caller waits after kill() (µs; log scale above 10)")
    ax.set_ylabel("% of calls returning ESRCH")
    ax.set_ylim(-3, 103)
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def outcome_frame(rows: Sequence[OutcomeRow]) -> pd.DataFrame:
    """An exhaustive outcome table (:func:`mrelease_ref.scenarios.races.outcome_table`)
    for display: one line per visible outcome, with its schedule count and share."""
    frame = pd.DataFrame(as_records(list(rows))).drop(columns=["variant", "holders", "share"])
    keys = [c for c in frame.columns if c != "schedules"]
    grouped = frame.groupby(keys, as_index=False, sort=False)["schedules"].sum()
    total = grouped["schedules"].sum()
    grouped["share %"] = (100 * grouped["schedules"] / total).round(1)
    return grouped.sort_values("schedules", ascending=False, kind="stable").reset_index(
        drop=True)


def distribution_frame(variant: str, holders: Sequence[str], delay_us: int,
                       runs: int = 100, seed: int = 0,
                       cost_model: CostModel | None = None) -> pd.DataFrame:
    """The sampled outcome distribution as a table (what the widget shows)."""
    spec = RaceSpec(variant, tuple(h for h in HOLDERS if h in holders),
                    delay_ns=delay_us * 1000)
    rows = []
    for o, n in distribution(spec, runs, seed, cost_model):
        rows.append({"rc": o.rc, "freed by caller": o.freed("caller"),
                     "freed by victim": o.freed("victim"),
                     "left at return": o.left_at_return, "trapped": o.trapped,
                     "exit_mmap() by": o.exit_mmap_by, "runs": n})
    frame = pd.DataFrame(rows)
    keys = [c for c in frame.columns if c != "runs"]
    grouped = frame.groupby(keys, as_index=False, sort=False)["runs"].sum()
    return grouped.sort_values("runs", ascending=False, kind="stable").reset_index(drop=True)


def outcome_widget(runs: int = 100, seed: int = 0, cost_model: CostModel | None = None,
                   variant: str = "baseline", holders: Sequence[str] = ("reader",),
                   delay_us: int = 0) -> Any:
    """An ipywidgets box: kernel, holders and delay controls above the outcome table of
    ``runs`` seeded random schedules; it recomputes when a control changes."""
    import ipywidgets as widgets

    pick = widgets.Dropdown(options=list(COMPARED), value=variant, description="kernel")
    hold = widgets.SelectMultiple(options=list(HOLDERS), value=tuple(holders),
                                  description="holders")
    delay = widgets.IntSlider(value=delay_us, min=0, max=50, step=1,
                              description="delay µs")
    out = widgets.HTML()  # widget state only: no display messages, stable under nbval

    def update(_change: object = None) -> None:
        frame = distribution_frame(pick.value, hold.value, delay.value, runs, seed,
                                   cost_model)
        out.value = frame.to_html(index=False)

    for w in (pick, hold, delay):
        w.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox([pick, hold, delay]), out])

"""Figures of the LMKD simulation (notebook 06 and its widget panel; not kernel code).

Limitations:
- Fixed, minimal styling so the saved figures stay byte-stable (see :mod:`.figures`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from mrelease_ref.lmkd.sim import RunResult


def free_memory(
    results: Mapping[str, RunResult], t_max_ms: int | None = None, title: str = ""
) -> Figure:
    """Free memory (zoneinfo ``nr_free_pages``, device MiB) over time, one line per run,
    with the watermarks and a tick per kill."""
    fig, ax = plt.subplots(figsize=(8, 3.4))
    first = next(iter(results.values()))
    dev = first.scenario.device
    for i, (name, r) in enumerate(results.items()):
        ts = [j * r.sample_ms / 1000 for j in range(len(r.free_mb))]
        n = len(ts) if t_max_ms is None else min(len(ts), t_max_ms // r.sample_ms + 1)
        line = ax.plot(ts[:n], r.free_mb[:n], lw=1.2, label=f"{name} ({r.n_kills} kills)")[0]
        kills = [k.t_ms / 1000 for k in r.kills if t_max_ms is None or k.t_ms <= t_max_ms]
        ax.plot(kills, [dev.wmark_high_mb + 12 + 5 * i] * len(kills), "|",
                color=line.get_color(), ms=8)
    for mb, label in ((dev.wmark_min_mb, "min"), (dev.wmark_low_mb, "low"),
                      (dev.wmark_high_mb, "high")):
        ax.axhline(mb, color="0.6", lw=0.7, ls="--")
        ax.text(0.0, mb, f" {label}", va="bottom", fontsize=7, color="0.4")
    ax.set_xlabel("device time (s)")
    ax.set_ylabel("free MiB")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(frameon=False, fontsize=7, ncol=2, loc="upper right")
    fig.tight_layout()
    return fig


def kills_bars(rows: Sequence[Mapping[str, Any]], title: str = "") -> Figure:
    """Mean kills and redundant kills per variant with their 95 % t-intervals (rows from
    :func:`mrelease_ref.lmkd.stats.summarise` keyed by ``variant``)."""
    fig, ax = plt.subplots(figsize=(7, 3.0))
    names = [r["variant"] for r in rows]
    xs = range(len(names))
    for off, metric, label in ((-0.2, "kills", "kills"), (0.2, "redundant", "redundant")):
        ax.bar([x + off for x in xs], [r[metric] for r in rows], 0.4,
               yerr=[r[f"{metric} ±"] for r in rows], capsize=3, label=label)
    ax.set_xticks(list(xs), names)
    ax.set_ylabel("per run")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def kills_by_config(rows: Sequence[Mapping[str, Any]], metric: str = "kills",
                    title: str = "") -> Figure:
    """Mean ``metric`` per variant, one bar per configuration, with 95 % t-intervals (rows
    from :func:`mrelease_ref.lmkd.stats.summarise`, each with ``"variant"`` and a
    ``"config"`` label; variants and configurations in the order they first appear)."""
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    configs = list(dict.fromkeys(r["config"] for r in rows))
    width = 0.8 / len(configs)
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for i, c in enumerate(configs):
        sel = {r["variant"]: r for r in rows if r["config"] == c}
        xs = [x - 0.4 + width * (i + 0.5) for x in range(len(variants))]
        ax.bar(xs, [sel[v][metric] for v in variants], width,
               yerr=[sel[v][f"{metric} ±"] for v in variants], capsize=2, label=c)
    ax.set_xticks(list(range(len(variants))), variants)
    ax.set_ylabel(f"{metric} per run")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(frameon=False, fontsize=7, ncol=2, loc="lower right")
    fig.tight_layout()
    return fig


def heatmap(
    rows: Sequence[Mapping[str, Any]], x: str, y: str, value: str, *,
    xlabel: str, ylabel: str, title: str,
) -> Figure:
    """A grid of ``value`` over ``x`` (columns) and ``y`` (rows), numbers printed in the
    cells."""
    xs = sorted({r[x] for r in rows})
    ys = sorted({r[y] for r in rows})
    grid = [[next((r[value] for r in rows if r[x] == xv and r[y] == yv), float("nan"))
             for xv in xs] for yv in ys]
    fig, ax = plt.subplots(figsize=(5.6, 3.2))
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=8,
                    color="white" if v < (max(map(max, grid)) + min(map(min, grid))) / 2
                    else "black")
    ax.set_xticks(range(len(xs)), [str(v) for v in xs])
    ax.set_yticks(range(len(ys)), [str(v) for v in ys])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    return fig

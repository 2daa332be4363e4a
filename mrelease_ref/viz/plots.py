"""matplotlib figures for notebooks (not kernel code).

Limitations:
- Styling is minimal and fixed so that saved figures stay byte-stable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure


def memory_bars(
    snapshots: Mapping[str, Mapping[str, int]],
    fields: Sequence[str] = ("AnonPages", "Cached", "Mapped"),
    title: str = "",
) -> Figure:
    """Grouped bars: one group per snapshot, one bar per meminfo field (MiB)."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    names = list(snapshots)
    width = 0.8 / len(fields)
    for j, f in enumerate(fields):
        xs = [i + j * width for i in range(len(names))]
        ax.bar(xs, [snapshots[n][f] / 1024 for n in names], width, label=f)
    ax.set_xticks([i + width * (len(fields) - 1) / 2 for i in range(len(names))], names)
    ax.set_ylabel("MiB")
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig

"""Review points of the thread as data, shared by the per-patch scenario modules.

Not kernel code. Each point is paraphrased from docs/sources.md §T4.

Limitations:
- Paraphrases only; the mails themselves are cited by section, never quoted.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReviewPoint:
    """One review point (docs/sources.md §T4), paraphrased, with the experiment of the patch's
    scenario module that speaks to it (empty where the model cannot)."""

    number: int
    reviewer: str
    point: str
    answer: str
    resolution: str
    experiment: str


__all__ = ["ReviewPoint"]

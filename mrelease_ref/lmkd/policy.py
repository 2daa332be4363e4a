"""LMKD's decision: why to kill, and whom.

Not kernel code. A reduced form of AOSP lmkd's PSI "new strategy" (``mp_event_psi()``,
docs/sources.md §L1.2 [S], the lmkd tree at d256df3): after a PSI event LMKD polls every
10 ms; on each poll the first matching reason wins. Two reasons are modelled, the two the
redundant-kill story is about:

* ``PRESSURE_AFTER_KILL``: the first poll after a kill (the pidfd fired or
  ``kill_timeout_ms`` passed) finds free memory below the **low** watermark: kill down to
  ``pressure_after_kill_min_score`` (0);
* ``LOW_MEM``: free memory below the **high** watermark: kill down to
  ``lowmem_min_oom_score`` (701: cached apps only).

"Free memory" is zoneinfo ``nr_free_pages`` (lmkd compares ``nr_free_pages - cma_free``
with the summed zone watermarks; the device has no CMA). Victim: the highest
oom_score_adj; within one adj the oldest (the tail of lmkd's per-adj list); at adj <= 200
the heaviest (``proc_get_heaviest()``, forced for perceptible apps).

Limitations:
- No thrashing, swap, file-cache, critical-PSI or direct-reclaim-stuck reasons (§L1.2
  rows 1-8): the device has no swap, and thrashing needs refault windows the scenario is
  too short for.
- One kill per decision, as lmkd; no watchdog, no legacy minfree mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from mrelease_ref.lmkd.device import App

PRESSURE_AFTER_KILL: Final = "PRESSURE_AFTER_KILL"
LOW_MEM: Final = "LOW_MEM"
PERCEPTIBLE_APP_ADJ: Final = 200  # lmkd kills the heaviest at or below this adj [S]


@dataclass(frozen=True, slots=True)
class LmkdConfig:
    """LMKD's properties (AOSP defaults, docs/sources.md §L1.3) and timings (§L4.2 [E])."""

    psi_partial_stall_ms: int = 70  # ro.lmk.psi_partial_stall_ms [S]
    psi_window_ms: int = 1000  # PSI_WINDOW_SIZE_MS [S]
    poll_ms: int = 10  # PSI_POLL_PERIOD_SHORT_MS [S]
    kill_timeout_ms: int = 100  # ro.lmk.kill_timeout_ms, 100 in code, Pixel 50 [S]
    pressure_after_kill_min_score: int = 0  # [S]
    lowmem_min_oom_score: int = 701  # [S]
    pre_kill_us: int = 1200  # /proc reads + handoff to a reaper thread [E]
    set_prio_us: int = 2000  # set_process_group_and_prio() before the reap [E]
    reapers: int = 2  # THREAD_POOL_SIZE [S]

    def __post_init__(self) -> None:
        for name in ("psi_partial_stall_ms", "psi_window_ms", "poll_ms", "kill_timeout_ms"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.reapers < 0:
            raise ValueError("reapers must be >= 0")


@dataclass(frozen=True, slots=True)
class Decision:
    """A kill reason, its free-memory threshold (pages) and the lowest adj it may kill."""

    reason: str
    threshold: int
    min_adj: int


def decide(
    cfg: LmkdConfig, free: int, low: int, high: int, cycle_after_kill: bool
) -> Decision | None:
    """The first matching reason of the two modelled (module docstring), or None."""
    if cycle_after_kill and free < low:
        return Decision(PRESSURE_AFTER_KILL, low, cfg.pressure_after_kill_min_score)
    if free < high:
        return Decision(LOW_MEM, high, cfg.lowmem_min_oom_score)
    return None


def pick_victim(apps: Sequence[App], min_adj: int, rss: dict[int, int]) -> App | None:
    """lmkd's ``find_and_kill_process()`` choice among ``apps`` (oldest first): scan adj
    from the top down to ``min_adj``; the oldest at that adj, or the heaviest (``rss`` by
    pid) at adj <= 200."""
    candidates = [a for a in apps if a.adj >= min_adj]
    if not candidates:
        return None
    top = max(a.adj for a in candidates)
    at_top = [a for a in candidates if a.adj == top]
    if top <= PERCEPTIBLE_APP_ADJ:
        return max(at_top, key=lambda a: rss.get(a.process.pid, 0))  # first of the heaviest
    return at_top[0]

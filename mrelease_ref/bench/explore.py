"""Benchmark: how long the schedule explorer takes on the 4-actor race (victim, caller,
``/proc/<pid>/cmdline`` reader, CLONE_VM sharer).

Run as ``python -m mrelease_ref.bench.explore [--variants baseline,v1,v2,v3,...]
[--nr-pmds N] [--pages-per-pmd P] [--no-memo]``. Prints one row per variant: distinct
states visited, replays (re-executions of a schedule prefix to take a second branch),
steps run, complete schedules counted, distinct outcomes, and wall time. Wall time is
this machine's (2 shared vCPUs): compare rows of one run, not runs.

Limitations:
    - ``--no-memo`` enumerates every schedule one by one; v3 (which kills the sharer, so
      the sharer's exit adds steps) then runs for a long time: keep it to small worlds.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from mrelease_ref.scenarios.races import RaceSpec, world
from mrelease_ref.sim.explore import explore

DEFAULT_VARIANTS = ("baseline", "v1", "v2", "v3", "linus_exit_mmap_wlock", "proc_mm_count",
                    "exit_mm_field")


def main(argv: Sequence[str] | None = None) -> int:
    """Print the exploration table (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default=",".join(DEFAULT_VARIANTS))
    ap.add_argument("--nr-pmds", type=int, default=2)
    ap.add_argument("--pages-per-pmd", type=int, default=2)
    ap.add_argument("--no-memo", action="store_true")
    args = ap.parse_args(argv)
    print(f"{'variant':<24}{'states':>8}{'replays':>9}{'steps':>9}{'schedules':>12}"
          f"{'outcomes':>9}{'seconds':>9}")
    for v in args.variants.split(","):
        spec = RaceSpec(v, ("reader", "sharer"), args.nr_pmds, args.pages_per_pmd)
        t = time.perf_counter()
        ex = explore(world(spec), memo=not args.no_memo)
        dt = time.perf_counter() - t
        print(f"{v:<24}{ex.states:>8}{ex.replays:>9}{ex.steps:>9}{ex.schedules:>12}"
              f"{len(ex.outcomes):>9}{dt:>9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

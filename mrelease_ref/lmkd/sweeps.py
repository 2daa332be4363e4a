"""The stored sweeps of notebook 06: definitions, a writer and a loader.

Not kernel code. Hundreds of model runs take minutes, too long for a notebook that CI
re-executes on every change, so the sweeps are run by hand
(``python -m mrelease_ref.lmkd.sweeps``, about ten minutes on these machines) and stored
in ``mrelease_ref/lmkd/data/sweeps.json`` with the date and the package state; notebook
06 reads them back with :func:`load_sweeps`. ``tests/test_lmkd.py`` re-runs one stored
point of every sweep and fails when the model no longer gives the stored numbers -- then
re-run this module and commit the new file (and re-run notebook 06).

Each sweep is launch-only (no relaunch, 2.5 s of device time) except ``"variants"``, which
runs the whole default scenario under both LRUs (``device.lru_gen``) and two page-cache
layouts (``device.file_folio_order``: None, readahead's folios; 0, every page a single-page
folio, the device's default, a phone's /data). All use the default device at ``scale=16``:
``"excl_kswapd"``, ``"esrch"`` and ``"ram"`` with its single-page folios, ``"readahead"``
with readahead's folios (:data:`READAHEAD_LAUNCH_ONLY`) and the window it varies
(``device.read_ahead_kb``).

Limitations:
- Five seeds per point (ten for ``"variants"``): the t-intervals are wide where seeds
  disagree.
- A fixed ``file_folio_order`` is in model pages: order 1 at scale 16 is a 128 KiB
  device folio, PTE-mapped; under readahead the device's PMD-mapped 2 MiB folios are
  PTE-mapped model folios (:mod:`.device`, "Page-cache folios and the aggregation";
  ``tests/test_lmkd.py::test_aggregation_holds_2mib_folios_as_pte_mapped_folios``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from mrelease_ref.lmkd.device import DeviceConfig
from mrelease_ref.lmkd.sim import VARIANTS, Scenario
from mrelease_ref.lmkd.stats import sweep, sweep2

SWEEPS_PATH = Path(__file__).resolve().parent / "data" / "sweeps.json"
LAUNCH_ONLY = Scenario(relaunch_ms=None, horizon_ms=2500)
READAHEAD_LAUNCH_ONLY = Scenario(relaunch_ms=None, horizon_ms=2500,
                                 device=DeviceConfig(file_folio_order=None))
"""The ``"readahead"`` sweep's base: readahead chooses the folios (the window is moot
with the default single-page folios, ``file_folio_order=0``)."""


@dataclass(frozen=True, slots=True)
class SweepDef:
    """One stored sweep: parameter(s), values, variants, seeds, base scenario."""

    name: str
    params: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]
    variants: tuple[str, ...]
    seeds: tuple[int, ...]
    base: Scenario = LAUNCH_ONLY


SEEDS5 = (0, 1, 2, 3, 4)
SWEEPS: Final[tuple[SweepDef, ...]] = (
    SweepDef("variants", ("device.lru_gen", "device.file_folio_order"),
             ((False, True), (None, 0)), tuple(VARIANTS), tuple(range(10)), Scenario()),
    SweepDef("excl_kswapd", ("device.excl_frac", "device.kswapd_mb_s"),
             ((0.02, 0.125, 0.3, 0.4), (200, 400, 600, 1000)), ("baseline", "v1"), SEEDS5),
    SweepDef("esrch", ("p_esrch",), ((0.0, 0.2, 0.4, 0.6, 1.0),),
             ("baseline", "v1 1+2", "v1"), SEEDS5),
    SweepDef("folio", ("device.file_folio_order",), ((None, 0, 1, 2, 4),),
             ("baseline", "v1"), SEEDS5),
    SweepDef("readahead", ("device.read_ahead_kb",), ((256, 1024, 4096, 8192, 32768),),
             ("baseline", "v1"), SEEDS5, READAHEAD_LAUNCH_ONLY),
    SweepDef("ram", ("device.ram_mb",), ((3700, 5600, 7600),), ("baseline", "v1"), SEEDS5),
)


def run_sweep(d: SweepDef) -> list[dict[str, Any]]:
    """Run one sweep definition; rows as :func:`.stats.sweep` gives them."""
    if not d.params:
        return sweep(d.base, None, [None], d.variants, d.seeds)
    if len(d.params) == 1:
        return sweep(d.base, d.params[0], d.values[0], d.variants, d.seeds)
    return sweep2(d.base, (d.params[0], d.params[1]), (d.values[0], d.values[1]),
                  d.variants, d.seeds)


def _git_head() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True, cwd=Path(__file__).resolve().parent)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def load_sweeps(path: Path = SWEEPS_PATH) -> dict[str, Any]:
    """The stored sweeps: ``{"date", "commit", "sweeps": {name: rows}}``."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def main(argv: list[str] | None = None) -> int:
    """Run every sweep (or the named ones) and write :data:`SWEEPS_PATH`."""
    ap = argparse.ArgumentParser(description="Run notebook 06's sweeps and store them.")
    ap.add_argument("names", nargs="*", help="sweeps to (re)run; default: all")
    args = ap.parse_args(argv)
    data: dict[str, Any] = {"sweeps": {}}
    if SWEEPS_PATH.exists():
        data = load_sweeps()
    for d in SWEEPS:
        if args.names and d.name not in args.names:
            continue
        t0 = time.monotonic()
        data["sweeps"][d.name] = run_sweep(d)
        print(f"{d.name}: {len(data['sweeps'][d.name])} runs in "
              f"{time.monotonic() - t0:.0f} s", file=sys.stderr)
    data["date"] = time.strftime("%Y-%m-%d", time.gmtime())
    data["commit"] = _git_head()
    SWEEPS_PATH.parent.mkdir(parents=True, exist_ok=True)
    SWEEPS_PATH.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

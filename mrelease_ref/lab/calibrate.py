"""Measure the live kernel's reap prices and write ``lab/data/calibration.json``.

Run by hand on a lab machine (root, cgroup-v1 freezer), never in CI::

    python -m mrelease_ref.lab.calibrate [--size-mib 256] [--reps 9] [--out PATH]

Method (stored in the JSON as text, too): for each kind and state of
:mod:`mrelease_ref.lab.calibration`, ``--reps`` fresh victims of ``--size-mib`` MiB are
launched, prepared, frozen (cgroup v1), SIGKILLed and reaped with ``process_mrelease``
(:func:`mrelease_ref.lab.reap.timed_reap`); the syscall time minus the median time of a
one-page victim (the Python image's fixed cost, docs/sources.md §M6 row "empty"), divided by
the size, gives µs/MiB. Preparation per state:

* ``young``: nothing (the victim just touched every page); file kinds read the file with
  ``read()`` first, so the folios are PG_referenced and the zap activates them;
* ``cleared``: ``echo 1 > /proc/<pid>/clear_refs`` just before the freeze;
* ``cold`` (file_4k only): the file's cache is dropped and the victim faults it in itself
  (4 KiB folios, not PG_referenced).

File kinds: the cache is dropped (``POSIX_FADV_DONTNEED``) before every repetition and
warmed again, since a reap leaves the folios referenced or active. ``file_pmd`` and
``file_pte`` warm with 1 MiB ``read()`` s (ext4 builds 2 MiB folios); ``file_4k`` and the
young ``file_4k`` warm with 4 KiB ``pread()`` s under ``POSIX_FADV_RANDOM`` (no readahead:
4 KiB folios). The fraction of pages in large folios (kpageflags) and the PMD-mapped
fraction (smaps_rollup FilePmdMapped) of every victim are recorded.

Limitations:
    - Takes a few minutes at 256 MiB x 9 reps; other load on the VM shows up as outliers
      (min/max are stored, the median is used; cells are measured round-robin so a burst
      of load does not fall on one cell only).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mrelease_ref.lab._cli import lab_unavailable, write_json
from mrelease_ref.lab.calibration import CALIBRATION_PATH, KINDS, PAGES_PER_MIB
from mrelease_ref.lab.measure import large_folio_fraction
from mrelease_ref.lab.reap import ReapResult, timed_reap
from mrelease_ref.lab.syscalls import PAGE_SIZE, posix_fadvise, process_mrelease_ns
from mrelease_ref.lab.victim import Victim, VictimSpec, clear_refs, scratch_file, warm_file

__all__ = ("STATES", "main", "measure")

STATES: dict[str, tuple[str, ...]] = {
    "anon_4k": ("young", "cleared"),
    "anon_thp": ("young", "cleared"),
    "file_pmd": ("young", "cleared"),
    "file_pte": ("young", "cleared"),
    "file_4k": ("young", "cold", "cleared"),
}

METHOD = (
    "frozen (cgroup v1) + SIGKILLed Python victim of SIZE MiB, process_mrelease timed with "
    "perf_counter_ns (timed_reap); us/MiB = (time - median time of a 1-page victim) / SIZE; "
    "REPS fresh victims per (kind, state), taken round-robin over the cells. "
    "young: pages as touched (file kinds read() first: PG_referenced, the zap activates); "
    "cleared: /proc/<pid>/clear_refs '1' before the freeze; "
    "cold (file_4k): cache dropped, the victim faults 4 KiB folios itself. "
    "File cache dropped (fadvise DONTNEED) and re-warmed before every repetition; "
    "file_pmd/pte warmed by 1 MiB read()s (2 MiB folios), file_4k by 4 KiB pread()s under "
    "POSIX_FADV_RANDOM."
)


def _drop(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _warm_small(path: Path) -> None:
    """Read every page with a 4 KiB pread() and no readahead: 4 KiB, referenced folios."""
    fd = os.open(path, os.O_RDONLY)
    try:
        posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        size = os.fstat(fd).st_size
        for off in range(0, size, PAGE_SIZE):
            os.pread(fd, PAGE_SIZE, off)
    finally:
        os.close(fd)


def _spec(kind: str, nr_pages: int, path: Path | None) -> VictimSpec:
    if kind == "anon_4k":
        return VictimSpec.of("anon", nr_pages)
    if kind == "anon_thp":
        return VictimSpec.of("anon_thp", nr_pages)
    assert path is not None
    if kind == "file_pmd":
        return VictimSpec.of("file_private", nr_pages, path=str(path))
    if kind == "file_pte":
        return VictimSpec.of("file_private", nr_pages, path=str(path), thp=False)
    return VictimSpec.of("file_private", nr_pages, path=str(path), small_folios=True)


def _prepare_file(kind: str, state: str, path: Path) -> None:
    _drop(path)
    if kind == "file_4k":
        if state != "cold":
            _warm_small(path)
    else:
        warm_file(path)


def _stat(values: Sequence[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3)}


def _one(kind: str, state: str, nr_pages: int, path: Path | None) -> tuple[ReapResult, float]:
    folio: list[float] = []

    def prepare(v: Victim) -> None:
        start, length = v.maps[0]
        folio.append(large_folio_fraction(v.pid, start, length))
        if state == "cleared":
            clear_refs(v.pid)

    if path is not None:
        _prepare_file(kind, state, path)
    r = timed_reap(_spec(kind, nr_pages, path), prepare=prepare)
    if r.errno:
        raise OSError(r.errno, f"{kind}/{state}: process_mrelease failed ({r.errno_name})")
    return r, folio[0]


def measure(
    size_mib: int = 256,
    reps: int = 9,
    kinds: Sequence[str] = KINDS,
    file_dir: str = "/var/tmp",
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the calibration; return the JSON-ready dict (see the module docstring)."""
    nr_pages = size_mib * PAGES_PER_MIB
    fixed = [timed_reap(VictimSpec.of("anon", 1)).reap_ns / 1000 for _ in range(max(reps, 5))]
    fixed_us = statistics.median(fixed)
    log(f"fixed cost (1-page victim): {fixed_us:.0f} us")
    syscall = sorted(process_mrelease_ns(-1, 0)[1] for _ in range(2000))
    cells = [(kind, state) for kind in kinds for state in STATES[kind]]
    raw: dict[tuple[str, str], list[tuple[ReapResult, float]]] = {c: [] for c in cells}
    with scratch_file(nr_pages, file_dir) as path:
        for rep in range(reps):  # round-robin: a burst of other load hits every cell alike
            for kind, state in cells:
                file = path if kind.startswith("file") else None
                raw[kind, state].append(_one(kind, state, nr_pages, file))
            log(f"rep {rep + 1}/{reps} done")
    results = []
    for kind, state in cells:
        us = [(r.reap_ns / 1000 - fixed_us) / size_mib for r, _ in raw[kind, state]]
        ms = [r.reap_ns / 1e6 for r, _ in raw[kind, state]]
        folios = [frac for _, frac in raw[kind, state]]
        pmd = [(r.rollup_kb.get("FilePmdMapped", 0) + r.rollup_kb.get("AnonHugePages", 0))
               / (size_mib * 1024) for r, _ in raw[kind, state]]
        results.append({
            "kind": kind, "state": state, "us_per_mib": _stat(us), "reap_ms": _stat(ms),
            "reps": reps, "large_folio_fraction": round(statistics.median(folios), 3),
            "pmd_mapped_fraction": round(statistics.median(pmd), 3),
        })
        log(f"{kind:9} {state:8} {statistics.median(us):8.2f} us/MiB "
            f"[{min(us):.2f}-{max(us):.2f}]  large folios {statistics.median(folios):.2f}"
            f"  PMD-mapped {statistics.median(pmd):.2f}")
    uname = platform.uname()
    from mrelease_ref.scenarios.parity import machine_facts

    return {
        "kernel": uname.release,
        "kernel_build": uname.version,
        "date": datetime.datetime.now(datetime.UTC).date().isoformat(),
        "machine": {**machine_facts(file_dir),
                    "read_ahead_kb": _read_ahead_kb(file_dir)},
        "method": METHOD.replace("SIZE", str(size_mib)).replace("REPS", str(reps)),
        "size_mib": size_mib,
        "reps": reps,
        "fixed_cost_us": _stat(fixed),
        "syscall_ns": _stat(syscall),
        "results": results,
        "notes": [
            "docs/sources.md §T5: folio_mark_accessed 55.75% of the unmap time is a perf profile "
            "of "
            "exit_mmap (mmap_exit_test) on Android, not of process_mrelease; compare "
            "Calibration.mark_accessed_share() only in kind.",
        ],
    }


def _read_ahead_kb(file_dir: str) -> int | None:
    """read_ahead_kb of the block device holding ``file_dir`` (None if unknown)."""
    dev = os.stat(file_dir).st_dev
    path = Path(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}")
    for cand in (path / "queue" / "read_ahead_kb", path / ".." / "queue" / "read_ahead_kb"):
        if cand.exists():
            return int(cand.read_text())
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: measure and write the JSON."""
    p = argparse.ArgumentParser(prog="python -m mrelease_ref.lab.calibrate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size-mib", type=int, default=256)
    p.add_argument("--reps", type=int, default=9)
    p.add_argument("--kinds", default=",".join(KINDS))
    p.add_argument("--file-dir", default="/var/tmp")
    p.add_argument("--out", type=Path, default=CALIBRATION_PATH)
    args = p.parse_args(argv)
    if lab_unavailable():
        return 2
    kinds = [k for k in args.kinds.split(",") if k]
    data = measure(args.size_mib, args.reps, kinds, args.file_dir)
    write_json(args.out, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

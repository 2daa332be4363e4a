"""Page-cache folio sizes on the live kernel: which orders readahead and faults create.

Kernel: mm/readahead.c (page_cache_sync_ra(), page_cache_async_ra(), page_cache_ra_order()),
mm/filemap.c (do_sync_mmap_readahead(), do_async_mmap_readahead(), filemap_map_pages()),
mm/memory.c (finish_fault(), do_set_pmd()), fs/proc/page.c (/proc/kpageflags),
fs/proc/task_mmu.c (/proc/<pid>/pagemap, smaps ``FilePmdMapped``).

One :class:`Case` is a file size, an access pattern and an madvise() hint. :func:`run_case`
writes a fresh file on a disk-backed filesystem, drops its page cache
(``POSIX_FADV_DONTNEED``), then:

* ``seq``: touches every page of a private read-only mmap in order;
* ``rand``: touches every page of that mapping in a seeded random order
  (``random.Random(seed).shuffle``, the same permutation :func:`touch_order` gives the model);
* ``stride``: touches every 64th page of the mapping, in order (sparse access: the RSS
  shows what fault-around and whole-folio mapping add);
* ``read``: ``read()`` s the whole file in ``chunk`` -byte requests (no mapping).

``advice`` (``normal``, ``hugepage``, ``sequential``, ``random``) is applied with
``madvise()`` before the first touch. After the touch it reads the mapping's
``FilePmdMapped`` and ``Rss`` from ``/proc/self/smaps``, then the page cache: a *second*
open of the file, mapped shared with ``MADV_RANDOM`` (no readahead of its own, so it reads
nothing new: ``do_async_mmap_readahead()`` returns at ``VM_RAND_READ``), touches only the
pages ``mincore()`` reports cached, and every page's PFN (``pagemap``) is looked up in
``/proc/kpageflags``: a ``KPF_COMPOUND_HEAD`` page starts a folio that runs over the
following ``KPF_COMPOUND_TAIL`` pages, anything else is an order-0 folio. The result is the
exact layout of the file's page cache: runs of ``[first index, order, count]``.

Command line (root; wrap in the lab's flock when other checkouts run realkernel tests)::

    flock /tmp/mrelease_ref-realkernel.lock python -m mrelease_ref.lab.folios

writes ``mrelease_ref/lab/data/folios.json`` with the date, kernel release, device
``read_ahead_kb``, filesystem and THP settings.

Limitations:
    - Needs root (PFNs in pagemap, /proc/kpageflags).
    - The layout is read after the touch; readahead I/O still in flight is waited for by the
      probe's own faults (they lock each folio), so nothing is missed, but memory pressure
      from other work could evict pages in between (none seen: ``cached`` equals the sum
      of the layout in every stored case).
    - ``fault_around_bytes`` is read only if debugfs is mounted; otherwise the kernel
      default (65536) is recorded as assumed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import mmap
import os
import platform
import random
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mrelease_ref.lab._cli import write_json
from mrelease_ref.lab.syscalls import PAGE_SIZE, file_mincore, posix_fadvise

__all__ = (
    "ADVICES",
    "CASES",
    "FOLIOS_PATH",
    "PATTERNS",
    "Case",
    "CaseResult",
    "load_folios",
    "machine_settings",
    "main",
    "run_case",
    "runs_to_orders",
    "touch_order",
)

FOLIOS_PATH = Path(__file__).with_name("data") / "folios.json"
PATTERNS = ("seq", "rand", "stride", "read")
STRIDE = 64
ADVICES = ("normal", "hugepage", "sequential", "random")
_MADV = {"hugepage": mmap.MADV_HUGEPAGE, "sequential": mmap.MADV_SEQUENTIAL,
         "random": mmap.MADV_RANDOM}
KPF_COMPOUND_HEAD = 15
KPF_COMPOUND_TAIL = 16
KPF_THP = 22
_PFN_MASK = (1 << 55) - 1


@dataclass(frozen=True, slots=True)
class Case:
    """One measurement: ``size_kib`` of file, ``pattern``, ``advice``; ``chunk`` is the
    read() size in bytes (``read`` only), ``seed`` the shuffle seed (``rand`` only)."""

    size_kib: int
    pattern: str = "seq"
    advice: str = "normal"
    chunk: int = 131072
    seed: int = 0

    def __post_init__(self) -> None:
        if self.pattern not in PATTERNS:
            raise ValueError(f"pattern must be one of {PATTERNS}, not {self.pattern!r}")
        if self.advice not in ADVICES:
            raise ValueError(f"advice must be one of {ADVICES}, not {self.advice!r}")
        if self.pattern == "read" and self.advice != "normal":
            raise ValueError("madvise() advice needs a mapping: use a pattern other than 'read'")
        if self.size_kib <= 0 or self.size_kib % 4:
            raise ValueError("size_kib must be a positive multiple of 4")

    @property
    def nr_pages(self) -> int:
        return self.size_kib * 1024 // PAGE_SIZE

    @property
    def name(self) -> str:
        adv = "" if self.advice == "normal" else f":{self.advice}"  # no "+": parity joins
        chunk = "" if self.pattern != "read" or self.chunk == 131072 else f"@{self.chunk}"
        return f"{self.size_kib}KiB/{self.pattern}{adv}{chunk}"


@dataclass(frozen=True, slots=True)
class CaseResult:
    """What one case left behind. ``runs`` is the page-cache layout: ``[first index,
    order, count]`` per run of equal-order folios; ``file_pmd_mapped_kb`` and ``rss_kb``
    are the touched mapping's smaps lines (0 for ``read``)."""

    case: Case
    cached_pages: int
    runs: list[list[int]]
    file_pmd_mapped_kb: int
    rss_kb: int
    thp_flagged_pages: int

    def orders(self) -> dict[int, int]:
        """Number of folios per order."""
        return runs_to_orders(self.runs)


def runs_to_orders(runs: Sequence[Sequence[int]]) -> dict[int, int]:
    """Folio count per order from ``[first, order, count]`` runs (orders ascending)."""
    out: dict[int, int] = {}
    for _, order, count in runs:
        out[order] = out.get(order, 0) + count
    return dict(sorted(out.items()))


def touch_order(nr_pages: int, pattern: str, seed: int = 0) -> list[int]:
    """Page indices in the order a case touches them (shared with the model's scenarios)."""
    if pattern == "stride":
        return list(range(0, nr_pages, STRIDE))
    order = list(range(nr_pages))
    if pattern == "rand":
        random.Random(seed).shuffle(order)
    return order


def _read_text(path: str, default: str = "?") -> str:
    try:
        return Path(path).read_text(encoding="ascii").strip()
    except OSError:
        return default


def _queue_value(directory: str, name: str) -> int | None:
    """/sys/.../queue/``name`` of the block device holding ``directory``."""
    dev = os.stat(directory).st_dev
    base = Path(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}")
    for cand in (base / "queue" / name, base / ".." / "queue" / name):
        if cand.exists():
            return int(cand.read_text())
    return None


def machine_settings(directory: str = "/var/tmp") -> dict[str, Any]:
    """Kernel release, read_ahead_kb and filesystem of ``directory``, THP settings."""
    from mrelease_ref.lab.victim import _fstype

    fab = _read_text("/sys/kernel/debug/fault_around_bytes", "")
    thp = "/sys/kernel/mm/transparent_hugepage"
    return {
        "kernel": platform.release(),
        "machine": platform.machine(),
        "directory": directory,
        "filesystem": _fstype(Path(directory)),
        "read_ahead_kb": _queue_value(directory, "read_ahead_kb"),
        "thp_enabled": _read_text(f"{thp}/enabled"),
        "thp_defrag": _read_text(f"{thp}/defrag"),
        "thp_shmem_enabled": _read_text(f"{thp}/shmem_enabled"),
        "hpage_pmd_size": int(_read_text(f"{thp}/hpage_pmd_size", "0")),
        "max_sectors_kb": _queue_value(directory, "max_sectors_kb"),
        "fault_around_bytes": int(fab) if fab else 65536,
        "fault_around_bytes_source": "debugfs" if fab else "assumed kernel default",
    }


def _map_address(m: mmap.mmap) -> int:
    from mrelease_ref.lab._victim_main import _address as addr

    return addr(m)


def _smaps_entry(start: int) -> dict[str, int]:
    """The smaps sizes (kB) of the VMA that starts at ``start``."""
    out: dict[str, int] = {}
    inside = False
    with open("/proc/self/smaps", encoding="ascii", errors="replace") as f:
        for line in f:
            first = line.split(maxsplit=1)[0]
            if "-" in first and not first.endswith(":"):
                lo = int(first.split("-")[0], 16)
                if inside:
                    break
                inside = lo == start
                continue
            if inside:
                fields = line.split()
                if len(fields) == 3 and fields[2] == "kB":
                    out[fields[0].rstrip(":")] = int(fields[1])
    return out


def _touch(m: mmap.mmap, pages: Sequence[int]) -> int:
    total = 0
    for i in pages:
        total += m[i * PAGE_SIZE]
    return total


def _layout(path: Path, nr_pages: int) -> tuple[int, list[list[int]], int]:
    """(cached pages, runs, pages with KPF_THP) of ``path``'s page cache, read through a
    second, MADV_RANDOM mapping that faults in only pages mincore() says are cached."""
    fd = os.open(path, os.O_RDONLY)
    try:
        cached = [i for i, b in enumerate(file_mincore(fd, nr_pages * PAGE_SIZE)) if b & 1]
        if not cached:
            return 0, [], 0
        m = mmap.mmap(fd, nr_pages * PAGE_SIZE, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
    finally:
        os.close(fd)
    try:
        m.madvise(mmap.MADV_RANDOM)
        _touch(m, cached)
        start = _map_address(m)
        flags: list[tuple[int, int]] = []  # (pfn, kpageflags) per cached page
        with open("/proc/self/pagemap", "rb") as pm, open("/proc/kpageflags", "rb") as kf:
            pm.seek(start // PAGE_SIZE * 8)
            raw = pm.read(nr_pages * 8)
            for i in cached:
                entry = int.from_bytes(raw[i * 8:i * 8 + 8], "little")
                if not entry >> 63 & 1:
                    raise RuntimeError(f"page {i} cached but not mapped by the probe")
                pfn = entry & _PFN_MASK
                kf.seek(pfn * 8)
                flags.append((pfn, int.from_bytes(kf.read(8), "little")))
    finally:
        m.close()
    return len(cached), _runs(cached, flags), sum(1 for _, f in flags if f >> KPF_THP & 1)


def _runs(cached: Sequence[int], flags: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Folios from per-page (pfn, flags): a head starts a folio that takes the following
    index- and pfn-contiguous tail pages; a page that is neither is an order-0 folio."""
    folios: list[tuple[int, int]] = []  # (first index, nr pages)
    j = 0
    while j < len(cached):
        pfn, f = flags[j]
        n = 1
        if f >> KPF_COMPOUND_HEAD & 1:
            while (j + n < len(cached) and cached[j + n] == cached[j] + n
                   and flags[j + n][0] == pfn + n and flags[j + n][1] >> KPF_COMPOUND_TAIL & 1):
                n += 1
        elif f >> KPF_COMPOUND_TAIL & 1:
            raise RuntimeError(f"page {cached[j]}: a tail page without its head in the file")
        if n & (n - 1):
            raise RuntimeError(f"folio at {cached[j]} has {n} pages, not a power of two")
        folios.append((cached[j], n))
        j += n
    runs: list[list[int]] = []
    for first, n in folios:
        order = n.bit_length() - 1
        if runs and runs[-1][1] == order and runs[-1][0] + (runs[-1][2] << order) == first:
            runs[-1][2] += 1
        else:
            runs.append([first, order, 1])
    return runs


def run_case(case: Case, directory: str = "/var/tmp") -> CaseResult:
    """Measure one case on the live kernel (root). The file is removed afterwards."""
    from mrelease_ref.lab.victim import scratch_file

    with scratch_file(case.nr_pages, directory, drop_cache=True) as path:
        fd = os.open(path, os.O_RDONLY)
        try:
            posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            if any(b & 1 for b in file_mincore(fd, case.nr_pages * PAGE_SIZE)):
                raise RuntimeError(f"{path}: page cache not empty after POSIX_FADV_DONTNEED")
            pmd_kb = rss_kb = 0
            if case.pattern == "read":
                while os.read(fd, case.chunk):
                    pass
            else:
                m = mmap.mmap(fd, case.nr_pages * PAGE_SIZE, flags=mmap.MAP_PRIVATE,
                              prot=mmap.PROT_READ)
                try:
                    if case.advice in _MADV:
                        m.madvise(_MADV[case.advice])
                    _touch(m, touch_order(case.nr_pages, case.pattern, case.seed))
                    sm = _smaps_entry(_map_address(m))
                    pmd_kb, rss_kb = sm.get("FilePmdMapped", 0), sm.get("Rss", 0)
                finally:
                    m.close()
        finally:
            os.close(fd)
        cached, runs, thp = _layout(path, case.nr_pages)
    return CaseResult(case, cached, runs, pmd_kb, rss_kb, thp)


_SIZES_KIB = (16, 256, 2048, 8192, 65536, 1048576)
CASES: tuple[Case, ...] = (
    *(Case(s, "seq") for s in _SIZES_KIB),
    *(Case(s, "rand") for s in (256, 8192, 65536)),
    *(Case(s, "stride") for s in (8192, 65536, 1048576)),
    *(Case(s, "read") for s in (16, 2048, 65536, 1048576)),
    Case(65536, "read", chunk=4096),
    *(Case(s, "seq", "hugepage") for s in (16, 256, 8192, 65536)),
    Case(65536, "rand", "hugepage"),
    *(Case(s, "seq", "sequential") for s in (2048, 65536)),
    *(Case(s, "seq", "random") for s in (256, 8192)),
)


def measure(cases: Sequence[Case], directory: str) -> dict[str, Any]:
    """Run ``cases`` and return the JSON document."""
    results = []
    for case in cases:
        r = run_case(case, directory)
        results.append({"case": asdict(r.case), "cached_pages": r.cached_pages,
                        "orders": {str(k): v for k, v in r.orders().items()},
                        "file_pmd_mapped_kb": r.file_pmd_mapped_kb, "rss_kb": r.rss_kb,
                        "thp_flagged_pages": r.thp_flagged_pages, "runs": r.runs})
        print(f"{case.name:28} cached={r.cached_pages:7} pmd={r.file_pmd_mapped_kb:8} kB "
              f"orders={r.orders()}", file=sys.stderr)
    return {
        "date": datetime.date.today().isoformat(),
        "settings": machine_settings(directory),
        "method": __doc__.split("\n\n")[2].replace("\n", " ") if __doc__ else "",
        "cases": results,
    }


def load_folios(path: Path = FOLIOS_PATH) -> dict[str, Any]:
    """The stored measurement (see :func:`measure`)."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: measure :data:`CASES` and write the JSON."""
    p = argparse.ArgumentParser(prog="python -m mrelease_ref.lab.folios", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--file-dir", default="/var/tmp")
    p.add_argument("--out", type=Path, default=FOLIOS_PATH)
    p.add_argument("--only", default="", help="comma-separated case names to run")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("needs root: PFNs in /proc/self/pagemap and /proc/kpageflags", file=sys.stderr)
        return 2
    only = {s for s in args.only.split(",") if s}
    cases = [c for c in CASES if not only or c.name in only]
    data = measure(cases, args.file_dir)
    write_json(args.out, data, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

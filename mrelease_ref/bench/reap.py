"""Benchmark: reap time of the model vs the live kernel, side by side in one table.

Run as ``python -m mrelease_ref.bench.reap [--reps N] [--no-live] [--no-model]
[--size-mib M] [--kinds anon,file] [--small-folios] [--file-dir DIR]``.

Rows (default 1 GiB each):

* ``anon``: a victim of 4 KiB private anonymous pages, all written.
* ``file``: a private read-only mapping of a file whose page cache is warm (read with
  1 MiB ``read()`` s on both sides), all read. Readahead ramps the folio order over the
  first ~30 MiB, then ext4 caches 2 MiB folios (``read_ahead_kb`` 8192) that the mapping
  maps with PMDs, so the reap zaps 512 pages per entry for most of the file.
* ``file-pte`` (opt-in): the same with ``MADV_NOHUGEPAGE``, forcing PTE mappings of the
  large folios; this is the setting docs/sources.md §M6 measured (≈3.6 ms).
* ``anon-android``, ``file-android``: the ``anon`` and ``file`` victims (the same bytes) on
  ``Kernel.android()`` (arm64, 16 KiB pages, MGLRU, order-0 page cache), model only (no
  live kernel has that configuration here): the preset's speed next to the default's. Their
  ``pages`` and ``B/page`` count 4 KiB units (the victim has a quarter as many pages).

Columns: model reap time (ms); model peak memory per base page (bytes: ``tracemalloc`` peak
while building and reaping the model victim, divided by the number of pages); live-kernel
reap time (ms, median of ``--reps`` frozen+SIGKILLed victims, see
:func:`mrelease_ref.lab.reap.timed_reap`); the ratio model/kernel; whether the model is
within the 5× target; and whether it stays within the target of 200 bytes per base page.
Expected live numbers on the reference VM (docs/sources.md §M6):
≈73 ms (anon 4K) and ≈3.6 ms (file private, PTE-mapped), 1 GiB each. The VM of
2026-11-25 measured ≈25 ms, ≈0.6 ms (``file``) and ≈4 ms (``file-pte``).

Limitations:
    - The model is timed in a run without tracemalloc and measured for memory in a second
      run, because tracemalloc slows allocation-heavy code several-fold.
    - The live victim is a Python process: its own image (≈10 MB, ≈0.4 ms) is part of the
      kernel time but not of the model's.
    - ``model_reap`` codes against the public model API as specified before it existed; it
      prints "model not available yet" on ImportError and the error text on any other
      failure.
"""

from __future__ import annotations

import argparse
import gc
import signal
import statistics
import sys
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mrelease_ref.lab.syscalls import PAGE_SIZE, available

__all__ = ("Row", "live_reap", "main", "model_reap")

TARGET_RATIO = 5.0
TARGET_BYTES_PER_PAGE = 200
KINDS = ("anon", "file", "file-pte", "anon-android", "file-android")
DEFAULT_KINDS = ("anon", "file", "anon-android", "file-android")
ANDROID_SUFFIX = "-android"


class ModelUnavailableError(RuntimeError):
    """The model package does not provide the API yet."""


@dataclass
class Row:
    """One line of the table; None = not measured (see ``notes``)."""

    kind: str
    nr_pages: int
    model_ms: float | None = None
    model_bytes_per_page: float | None = None
    kernel_ms: float | None = None
    kernel_range_ms: tuple[float, float] | None = None
    kernel_errnos: tuple[str, ...] = ()

    @property
    def ratio(self) -> float | None:
        """model time / kernel time."""
        if self.model_ms is None or not self.kernel_ms:
            return None
        return self.model_ms / self.kernel_ms


def _kernel_class() -> Any:
    try:
        from mrelease_ref import Kernel  # type: ignore[attr-defined,unused-ignore]
    except ImportError as exc:
        raise ModelUnavailableError("model not available yet") from exc
    return Kernel


def _model_run(kind: str, nr_pages: int, large_folios: bool) -> int:
    """Build the model victim, kill it, and return the ns of ``lmkd.process_mrelease``."""
    kernel_cls = _kernel_class()
    from mrelease_ref.scenarios.folios import read_file

    if kind.endswith(ANDROID_SUFFIX):
        k = kernel_cls.android(large_folios=large_folios, seed=0)
        nr_pages = nr_pages * PAGE_SIZE // k.pg.PAGE_SIZE  # the same bytes
        kind = kind.removesuffix(ANDROID_SUFFIX)
    else:
        k = kernel_cls(variant="baseline", swap=True, arch="x86_64", large_folios=large_folios,
                       seed=0)
    lmkd, app = k.spawn("lmkd", uid=0), k.spawn("app", uid=10001)
    if kind == "anon":
        vma = app.mmap(nr_pages=nr_pages)
        app.touch(vma, write=True)
    else:
        f = k.create_file("big.dat", nr_pages=nr_pages)
        read_file(k, f, 1 << 20)  # warm_file(): the live side's warm page cache
        vma = app.mmap(nr_pages=nr_pages, file=f, shared=False)
        if kind == "file-pte":
            app.madvise(vma, 15)  # MADV_NOHUGEPAGE: PTE-map the large folios, as live
        app.touch(vma)
    fd = lmkd.pidfd_open(app.pid)
    lmkd.kill(app.pid, signal.SIGKILL)
    t0 = time.perf_counter_ns()
    lmkd.process_mrelease(fd, 0)
    return time.perf_counter_ns() - t0


def model_reap(
    kind: str, nr_pages: int, large_folios: bool, reps: int = 3
) -> tuple[int, int]:
    """Model reap: ``(reap_ns, peak_bytes)``; the fastest of ``reps`` timed runs (other load
    on the machine only ever slows a run down), and the tracemalloc peak of build + reap."""
    reap_ns = min(_model_run(kind, nr_pages, large_folios) for _ in range(max(1, reps)))
    gc.collect()
    tracemalloc.start()
    try:
        _model_run(kind, nr_pages, large_folios)
        peak_bytes = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return reap_ns, peak_bytes


def live_reap(kind: str, nr_pages: int, reps: int, file_dir: str) -> list[Any]:
    """Live-kernel reaps (``ReapResult`` list) of ``reps`` fresh victims of ``kind``."""
    from mrelease_ref.lab.reap import repeat_reap
    from mrelease_ref.lab.victim import VictimSpec, scratch_file, warm_file

    if kind == "anon":
        return list(repeat_reap(VictimSpec.of("anon", nr_pages), reps).results)
    thp = False if kind == "file-pte" else None
    with scratch_file(nr_pages, file_dir, drop_cache=True) as path:
        warm_file(path)
        spec = VictimSpec.of("file_private", nr_pages, path=str(path), thp=thp)
        return list(repeat_reap(spec, reps).results)


def _fill_model(row: Row, large_folios: bool, notes: list[str]) -> None:
    try:
        reap_ns, peak = model_reap(row.kind, row.nr_pages, large_folios)
    except ModelUnavailableError as exc:
        notes.append(f"{row.kind}: model: {exc}")
        return
    except Exception as exc:  # the model is under construction; report, keep going
        notes.append(f"{row.kind}: model failed: {type(exc).__name__}: {exc}")
        return
    row.model_ms = reap_ns / 1e6
    row.model_bytes_per_page = peak / row.nr_pages


def _fill_live(row: Row, reps: int, file_dir: str, notes: list[str]) -> None:
    results = live_reap(row.kind, row.nr_pages, reps, file_dir)
    row.kernel_errnos = tuple(r.errno_name for r in results)
    ok_ms = [r.reap_ms for r in results if r.ok]
    if not ok_ms:
        notes.append(f"{row.kind}: live: no successful call ({', '.join(row.kernel_errnos)})")
        return
    row.kernel_ms = statistics.median(ok_ms)
    row.kernel_range_ms = (min(ok_ms), max(ok_ms))
    rss = statistics.median((r.before.vm_rss_kb or 0) / 1024 for r in results)
    freed = statistics.median(r.freed_mib for r in results)
    pmd = statistics.median(r.rollup_kb.get("FilePmdMapped", 0) / 1024 for r in results)
    after = statistics.median((r.after.vm_rss_kb or 0) / 1024 for r in results)
    notes.append(
        f"{row.kind}: live: {len(ok_ms)}/{len(results)} returned 0; victim RSS {rss:.0f} MiB"
        f" -> {after:.0f} MiB; Free+pcp +{freed:.0f} MiB; FilePmdMapped {pmd:.0f} MiB (medians)"
    )


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def format_table(rows: Sequence[Row], reps: int) -> str:
    """The benchmark table as text."""
    head = (
        "kind",
        "pages",
        "model ms",
        "model B/page",
        f"kernel ms (med {reps})",
        "kernel min-max",
        "model/kernel",
        f"within {TARGET_RATIO:g}x",
        f"<= {TARGET_BYTES_PER_PAGE} B/page",
    )
    lines = [head]
    for r in rows:
        rng = r.kernel_range_ms
        within = "n/a" if r.ratio is None else ("yes" if r.ratio <= TARGET_RATIO else "NO")
        bpp = r.model_bytes_per_page
        small = "n/a" if bpp is None else ("yes" if bpp <= TARGET_BYTES_PER_PAGE else "NO")
        lines.append(
            (
                r.kind,
                str(r.nr_pages),
                _fmt(r.model_ms, ".2f"),
                _fmt(r.model_bytes_per_page, ".0f"),
                _fmt(r.kernel_ms, ".2f"),
                "n/a" if rng is None else f"{rng[0]:.2f}-{rng[1]:.2f}",
                _fmt(r.ratio, ".1f"),
                within,
                small,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ["  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(
        prog="python -m mrelease_ref.bench.reap",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--reps", type=int, default=3, help="live reps per kind (median)")
    p.add_argument("--no-live", action="store_true", help="skip the live kernel")
    p.add_argument("--no-model", action="store_true", help="skip the model")
    p.add_argument("--size-mib", type=int, default=1024, help="victim size (MiB)")
    p.add_argument(
        "--kinds", default=",".join(DEFAULT_KINDS), help=f"comma list of {','.join(KINDS)}"
    )
    p.add_argument(
        "--small-folios",
        dest="large_folios",
        action="store_false",
        help="model with large_folios=False (default: the Kernel default, large folios on, "
        "which matches these machines' 2 MiB ext4 page-cache folios)",
    )
    p.add_argument("--file-dir", default="/var/tmp", help="disk-backed dir for the file")
    args = p.parse_args(argv)
    args.kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    bad = sorted(set(args.kinds) - set(KINDS))
    if bad:
        p.error(f"unknown kinds {bad}; choose from {','.join(KINDS)}")
    if args.reps < 1 or args.size_mib < 1:
        p.error("--reps and --size-mib must be >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    args = parse_args(argv)
    nr_pages = args.size_mib * 2**20 // PAGE_SIZE
    live_ok, live_reason = available()
    run_live = not args.no_live and live_ok
    print(
        f"ARG size_mib={args.size_mib} nr_pages={nr_pages} reps={args.reps} "
        f"kinds={','.join(args.kinds)} large_folios={args.large_folios}"
    )
    print(f"ARG live={'skipped (--no-live)' if args.no_live else live_reason}")
    rows = [Row(kind, nr_pages) for kind in args.kinds]
    notes: list[str] = []
    for row in rows:
        if not args.no_model:
            _fill_model(row, args.large_folios, notes)
        if run_live and not row.kind.endswith(ANDROID_SUFFIX):
            _fill_live(row, args.reps, args.file_dir, notes)
    if not args.no_live and not live_ok:
        notes.append(f"live kernel skipped: {live_reason}")
    print(format_table(rows, args.reps))
    for note in notes:
        print(f"  - {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

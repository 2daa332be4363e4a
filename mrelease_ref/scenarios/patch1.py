"""Experiments for patch 1 of the series: clean file folios evicted from the mmu_gather.

Not kernel code. Every experiment notebook 01 shows lives here, as a function that builds
its own Kernel(s) with explicit seeds, runs the kernel model, and returns plain rows
(``list[dict]``) for pandas. The notebook only calls these functions and displays what
they return.

The kernels compared (:data:`PATCH1_KERNELS`) are the v6.18 baseline, RFC 1/3
<20260413223948.556351-2-minchan@kernel.org>, v1 1/3
<20260421230239.172582-2-minchan@kernel.org> and draft D <afFco71vwmpQy3pk@google.com>.
D only evicts when ``process_mrelease()`` is called with PROCESS_MRELEASE_REAP_KILL, so
its reaps pass that flag. As posted, D also stops every reap from freeing anonymous
memory (its zero-initialised ``zap_details``), so D appears twice: as posted, and with
the details its author meant (``d_details="intended"``).

Counting method: "evicted" is always a difference of page-cache sizes
(``cachestat().nr_cache``) before and after a step, taken on the files the victim maps;
"refcount at the attempt" is ``folio_ref_count()`` read when the eviction is attempted (for
the generic gather: after the zap, before the flush, see :func:`zap_pause_probe`). No
counter in the model is changed for this module.

Two experiments put the kernel model into a state by hand, because no modelled path
reaches it; each says so in its docstring:

* :func:`shmem_swapcache_table` moves a zapped shmem folio into the swap cache between the
  zap and the flush (what ``shmem_writeout()`` would do if anything could run there);
* the "folio locked" predicate case holds the folio lock the way another task would.

Limitations:
- Small victims (tens to a few thousand pages) on the default two-CPU machine; numbers are
  counts of pages, not timings.
- Per-CPU batches matter to the results (an LRU or mlock batch holds a reference). Every
  experiment drains them (``lru_add_drain_all()``) after building the victim, unless the
  batch is the point: that stands for a victim that has been running for a while, whose
  last faults have long left its CPU's batches (a batch holds at most ``PAGEVEC_SIZE``
  folios, and other tasks' LRU additions on that CPU fill and flush it). Nothing on the
  kill path drains: v6.18's ``exit_mmap()``, ``vms_clear_ptes()`` (munmap) and the reaper
  do not call ``lru_add_drain()`` (older kernels' ``exit_mmap()`` and ``unmap_region()``
  did), and neither does the model. The "(f) lru_add batch" predicate case shows a
  victim killed right after its faults.
- The RFC's free path is inferred from v1 (docs/sources.md §T3.1 [I]); its results are as good
  as that inference.
- Conditions (d) "truncated" and (h) "``remove_mapping()`` fails after the checks" cannot
  be built: the model has no truncate(2) and no step boundary inside the free path.
"""

from __future__ import annotations

import errno
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mrelease_ref.include.linux.mm_types import (
    MMF_OOM_SKIP,
    MMF_UNSTABLE,
    Pmd,
    Pte,
    folio_mapcount,
    mm_flags_set,
    mm_flags_test,
)
from mrelease_ref.include.linux.page_flags import (
    PG_anon,
    PG_dirty,
    PG_freed,
    PG_private,
    PG_private_2,
    PG_swapcache,
    PG_writeback,
)
from mrelease_ref.include.linux.rwsem import mmap_read_trylock, mmap_read_unlock
from mrelease_ref.include.uapi.linux.mman import PROCESS_MRELEASE_REAP_KILL
from mrelease_ref.kernel.sched import run_to_completion
from mrelease_ref.mm.filemap import __filemap_remove_folio
from mrelease_ref.mm.memory import ZapDetails, unmap_page_range
from mrelease_ref.mm.mmu_gather import tlb_finish_mmu, tlb_gather_mmu
from mrelease_ref.mm.page_writeback import __filemap_fdatawrite_range
from mrelease_ref.mm.swap_state import folio_trylock, folio_unlock, swap_cache_add_folio
from mrelease_ref.mm.swapfile import SWAP_HAS_CACHE, folio_alloc_swap, swap_duplicate
from mrelease_ref.scenarios.stalls import stall_in_fsync
from mrelease_ref.scenarios.victims import OVERVIEW_VICTIM, VictimSpec, build_victim
from mrelease_ref.sim.kernel import Kernel
from mrelease_ref.sim.process import MADV_NOHUGEPAGE, MADV_RANDOM, Mapping, Process

if TYPE_CHECKING:
    from mrelease_ref.include.linux.fs import Inode
    from mrelease_ref.include.linux.mm_types import Folio, MmStruct, VmAreaStruct

Row = dict[str, Any]

NA = "-"
"""Table cell for "does not apply" (kept a string so integer columns stay integers)."""


# ---------------------------------------------------------------------------------------
# The kernels
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KernelChoice:
    """One kernel to compare: a label, the ``Kernel()`` arguments, and the flags its
    ``process_mrelease()`` calls pass."""

    label: str
    variant: str
    patches: int | None = None
    flags: int = 0
    options: tuple[tuple[str, Any], ...] = ()

    def kernel(self, **overrides: Any) -> Kernel:
        """A fresh ``Kernel`` for this choice (seed 0 unless overridden)."""
        kw: dict[str, Any] = {"seed": 0, "patches": self.patches}
        kw.update(dict(self.options))
        kw.update(overrides)
        return Kernel(self.variant, **kw)


BASELINE = KernelChoice("baseline", "baseline")
RFC_1 = KernelChoice("rfc 1/3", "rfc", patches=1)
V1_1 = KernelChoice("v1 1/3", "v1", patches=1)
V1_2 = KernelChoice("v1 1/3+2/3", "v1", patches=2)
D = KernelChoice("d, REAP_KILL", "d", flags=PROCESS_MRELEASE_REAP_KILL)
D_INTENDED = KernelChoice(
    "d, REAP_KILL, details intended", "d", flags=PROCESS_MRELEASE_REAP_KILL,
    options=(("d_details", "intended"),),
)
PATCH1_KERNELS: tuple[KernelChoice, ...] = (BASELINE, RFC_1, V1_1, D, D_INTENDED)
"""The kernels the notebook compares, in its column order."""

GATE_KERNELS: tuple[KernelChoice, ...] = (BASELINE, RFC_1, V1_1, D)
"""The kernels of the per-version gate tables (D's details do not change the file path)."""


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def _mapped_folios(mm: MmStruct, start: int, end: int) -> list[Folio]:
    """The distinct folios mapped (by PTE or PMD) in ``start..end``, in address order."""
    seen: dict[int, Folio] = {}
    pg = mm.kernel.pg  # the Kernel's page geometry (4 KiB unless page_size= says otherwise)
    for idx in range(start >> pg.PMD_SHIFT, ((end - 1) >> pg.PMD_SHIFT) + 1):
        entry = mm.pgd.get(idx)
        if isinstance(entry, Pmd):
            if entry.folio is not None:
                seen.setdefault(entry.folio.pfn, entry.folio)
        elif entry is not None:
            base = idx << pg.PMD_SHIFT
            for i, pte in enumerate(entry):
                addr = base + (i << pg.PAGE_SHIFT)
                if start <= addr < end and type(pte) is Pte and pte.folio is not None:
                    seen.setdefault(pte.folio.pfn, pte.folio)
    return list(seen.values())


def _vma(p: Process, m: Mapping) -> VmAreaStruct:
    mm = p.task.mm
    assert mm is not None
    for vma in mm.mm_mt:
        if vma.vm_start == m.start:
            return vma
    raise ValueError(f"{m!r} is not mapped in {p!r}")


def _limit(folio: Folio) -> int:
    """``mapping_evict_folio()``'s refcount ceiling: nr_pages + has_private + 1."""
    private = 1 if folio.flags & (PG_private | PG_private_2) else 0
    return (1 << folio.order) + private + 1


def _mrelease(killer: Process, victim: Process, flags: int) -> str:
    """SIGKILL the victim, then ``process_mrelease(pidfd, flags)``; the result as text."""
    fd = killer.pidfd_open(victim.pid)
    killer.kill(victim.pid, signal.SIGKILL)
    try:
        killer.process_mrelease(fd, flags)
    except OSError as e:
        return errno.errorcode[e.errno or 0] if e.errno else str(e)
    return "0"


def _cached(k: Kernel, f: Inode) -> int:
    return k.cachestat(f).nr_cache


# ---------------------------------------------------------------------------------------
# What each kernel frees, evicts and keeps
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReapOutcome:
    """One victim reaped by one kernel: anonymous pages and, per file the victim maps, the
    page-cache pages before the kill, after the reap, and after the victim's own exit."""

    kernel: str
    ret: str
    anon_pages: tuple[int, int, int]
    cached: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    mapped: dict[str, int] = field(default_factory=dict)


def reap_outcome(
    choice: KernelChoice,
    spec: VictimSpec = OVERVIEW_VICTIM,
    *,
    large_folios: bool = False,
    arch: str = "x86_64",
    swap: bool = True,
    file_folio_order: int | None = None,
) -> ReapOutcome:
    """Build ``spec`` on ``choice``'s kernel, drain the per-CPU batches (a victim that has
    been running for a while: its faults have left them), SIGKILL it,
    ``process_mrelease()`` it (with ``choice.flags``), then let it exit.

    ``file_folio_order`` None lets readahead choose the folio sizes (the Kernel default);
    an int is the fixed-order model (every file in folios of that order).
    Anonymous pages are ``AnonPages`` in pages; file pages are per file the victim maps.
    """
    k = choice.kernel(large_folios=large_folios, arch=arch, swap=swap, debug_vm=True,
                      file_folio_order=file_folio_order)
    killer = k.spawn("lmkd", uid=0)
    v = build_victim(k, spec)
    k.lru_add_drain_all()
    anon0 = k.meminfo()["AnonPages"] // 4
    before = {name: _cached(k, f) for name, f in v.files.items()}
    ret = _mrelease(killer, v.process, choice.flags)
    anon1 = k.meminfo()["AnonPages"] // 4
    reaped = {name: _cached(k, f) for name, f in v.files.items()}
    k.run()
    anon2 = k.meminfo()["AnonPages"] // 4
    cached = {
        name: (before[name], reaped[name], _cached(k, f)) for name, f in v.files.items()
    }
    mapped = {
        f"{ms.kind}-{i}": ms.nr_pages
        for i, ms in enumerate(spec.mappings)
        if ms.kind.startswith("file")
    }
    return ReapOutcome(choice.label, ret, (anon0, anon1, anon2), cached, mapped)


def reap_outcomes(
    choices: tuple[KernelChoice, ...] = PATCH1_KERNELS,
    spec: VictimSpec = OVERVIEW_VICTIM,
    **kw: Any,
) -> list[ReapOutcome]:
    """:func:`reap_outcome` for each kernel (same victim, same seed)."""
    return [reap_outcome(c, spec, **kw) for c in choices]


def _kind(name: str) -> str:
    return name.rsplit("-", 1)[0]


def fate_rows(outcomes: list[ReapOutcome]) -> list[Row]:
    """One row per kernel and mapping: pages before the kill, after the reap, removed by
    the reap (anonymous: freed; page cache: evicted), and after the victim's own exit.
    Anonymous pages are ``AnonPages`` (COW copies included); file pages are the page cache
    of the file behind each mapping."""
    rows: list[Row] = []
    for o in outcomes:
        a0, a1, a2 = o.anon_pages
        rows.append({"kernel": o.kernel, "memory": "anon (resident)", "before": a0,
                     "after reap": a1, "removed by reap": a0 - a1, "after exit": a2})
        for name, (c0, c1, c2) in o.cached.items():
            rows.append({"kernel": o.kernel, "memory": f"{_kind(name)} (cached)",
                         "before": c0, "after reap": c1, "removed by reap": c0 - c1,
                         "after exit": c2})
    return rows


def fate_totals(outcomes: list[ReapOutcome]) -> list[Row]:
    """One row per kernel: page-cache pages of all the files the victim maps, summed over
    its file mappings: cached before the kill, evicted by the reap, still cached after
    it, evicted by the victim's own exit, and still cached after the exit. The numbers
    notebook 01 narrates under the fate tables are these sums."""
    rows: list[Row] = []
    for o in outcomes:
        before = sum(c[0] for c in o.cached.values())
        reaped = sum(c[1] for c in o.cached.values())
        exited = sum(c[2] for c in o.cached.values())
        rows.append({"kernel": o.kernel, "file pages cached before": before,
                     "evicted by the reap": before - reaped, "cached after reap": reaped,
                     "evicted by the exit": reaped - exited, "cached after exit": exited})
    return rows


def cached_after_reap(outcomes: list[ReapOutcome]) -> list[Row]:
    """Page-cache pages still cached right after the reap: one row per kernel, one column
    per file mapping kind (for a stacked bar chart)."""
    return [
        {"kernel": o.kernel, **{_kind(n): c[1] for n, c in o.cached.items()}}
        for o in outcomes
    ]


# ---------------------------------------------------------------------------------------
# The eviction predicate, one condition at a time
# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Setup:
    """A built predicate case: the kernel, killer, victim, its file mapping and file."""

    k: Kernel
    killer: Process
    victim: Process
    mapping: Mapping
    file: Inode
    reap: bool = True
    after_reap: Callable[[], None] | None = None
    in_gather: bool = True


def _victim_file(
    k: Kernel, nr: int, *, drain: bool = True, locked: bool = False,
    buffer_heads: bool = False, write: bool = False,
) -> _Setup:
    """A victim that maps a fresh ``nr``-page file privately and touches it. ``drain``:
    empty every CPU's batches afterwards, as time passing would (see the module
    docstring); without it the faulted folios still sit in the ``lru_add`` batch."""
    killer = k.spawn("lmkd", uid=0)
    f = k.create_file("lib.so", nr, buffer_heads=buffer_heads)
    app = k.spawn("app", uid=10001)
    m = app.mmap(nr, file=f, write=write, locked=locked)  # PROT_READ unless it writes
    app.touch(m, write=write)
    if drain:
        k.lru_add_drain_all()
    return _Setup(k, killer, app, m, f)


def _case_control(k: Kernel, nr: int) -> _Setup:
    return _victim_file(k, nr)


def _case_no_reap(k: Kernel, nr: int) -> _Setup:
    s = _victim_file(k, nr)
    s.reap = False
    return s


def _case_cow(k: Kernel, nr: int) -> _Setup:
    s = _victim_file(k, nr, write=True)
    s.in_gather = False
    return s


def _case_locked(k: Kernel, nr: int) -> _Setup:
    s = _victim_file(k, nr)
    mm = s.victim.task.mm
    assert mm is not None
    held = _mapped_folios(mm, s.mapping.start, s.mapping.end)
    for folio in held:  # another task (readahead, a filesystem) holds the folio lock
        assert folio_trylock(folio)

    def release() -> None:
        for folio in held:
            folio_unlock(folio)

    s.after_reap = release
    return s


def _dirty_by_writer(k: Kernel, f: Inode) -> None:
    """A writer dirties every page of ``f`` through MAP_SHARED, then exits (its exit_mmap()
    moves the dirty bits into the folios, which stay dirty in the page cache)."""
    w = k.spawn("writer", uid=10001)
    wm = w.mmap(f.i_size, file=f, shared=True)
    w.madvise(wm, MADV_RANDOM)  # no recency: its exit leaves PG_referenced clear
    w.touch(wm, write=True)
    w.exit()
    k.run()


def _case_dirty(k: Kernel, nr: int, writeback: bool = False) -> _Setup:
    killer = k.spawn("lmkd", uid=0)
    f = k.create_file("data.db", nr)
    _dirty_by_writer(k, f)
    if writeback:
        with k.running(k.kthreadd):
            __filemap_fdatawrite_range(f.i_mapping, 0, f.i_size)  # I/O still in flight
    app = k.spawn("app", uid=10001)
    m = app.mmap(nr, file=f, write=False)
    app.touch(m)
    k.lru_add_drain_all()
    return _Setup(k, killer, app, m, f)


def _case_writeback(k: Kernel, nr: int) -> _Setup:
    return _case_dirty(k, nr, writeback=True)


def _case_second_mapper(k: Kernel, nr: int) -> _Setup:
    s = _victim_file(k, nr, drain=False)
    other = k.spawn("other-app", uid=10002)
    om = other.mmap(nr, file=s.file, write=False)
    other.touch(om)
    k.lru_add_drain_all()
    return s


def _case_lru_add_batch(k: Kernel, nr: int) -> _Setup:
    return _victim_file(k, nr, drain=False)


def _case_mlocked(k: Kernel, nr: int) -> _Setup:
    return _victim_file(k, nr, locked=True)


def _earlier_instance(k: Kernel, files: list[Inode]) -> None:
    """An earlier run of the app maps and reads ``files``, then exits: its exit zaps young
    PTEs and ``folio_mark_accessed()`` sets PG_referenced on every folio."""
    old = k.spawn("app-old", uid=10001)
    for f in files:
        m = old.mmap(f.i_size, file=f, write=False)
        old.touch(m)
    old.exit()
    k.run()


def _case_referenced(k: Kernel, nr: int) -> _Setup:
    killer = k.spawn("lmkd", uid=0)
    f = k.create_file("lib.so", nr)
    _earlier_instance(k, [f])
    app = k.spawn("app", uid=10001)
    m = app.mmap(nr, file=f, write=False)
    app.touch(m)
    k.lru_add_drain_all()
    return _Setup(k, killer, app, m, f)


def _case_private_data(k: Kernel, nr: int) -> _Setup:
    return _victim_file(k, nr, buffer_heads=True)


@dataclass(frozen=True, slots=True)
class PredicateCase:
    """One row of the eviction predicate (docs/sources.md §T3.2 (a)-(h)): which condition is
    made false (or, for the control, none), and how."""

    case: str
    condition: str
    construction: str
    build: Callable[[Kernel, int], _Setup] | None
    kernel_options: tuple[tuple[str, Any], ...] = (("large_folios", False),)


PREDICATE_CASES: tuple[PredicateCase, ...] = (
    PredicateCase("control", "all hold",
                  "victim maps and reads a file privately; batches drained", _case_control),
    PredicateCase("(a) no MMF_UNSTABLE", "a",
                  "no reap: the victim's own exit_mmap() zaps the pages", _case_no_reap),
    PredicateCase("(b) anonymous folio", "b",
                  "victim wrote every page: the gather holds the anon COW copies, the "
                  "page-cache folios were unmapped at COW time", _case_cow),
    PredicateCase("(c) trylock fails", "c",
                  "another task holds each folio lock during the reap", _case_locked),
    PredicateCase("(d) truncated", "d", "not buildable: the model has no truncate(2)", None),
    PredicateCase("(e) dirty", "e",
                  "a writer dirtied the file through MAP_SHARED and exited", _case_dirty),
    PredicateCase("(e) writeback", "e",
                  "as (e) dirty, and writeback started; I/O still in flight (PG_writeback; "
                  "writeback takes no folio reference)", _case_writeback),
    PredicateCase("(f) second mapper", "f",
                  "another live process maps the same pages (its PTEs hold references)",
                  _case_second_mapper),
    PredicateCase("(f) lru_add batch", "f",
                  "pages faulted just before the kill, still in the victim CPU's lru_add "
                  "batch (not drained)", _case_lru_add_batch),
    PredicateCase("(f) mlocked", "f",
                  "MAP_LOCKED mapping: the zap munlocks through the per-CPU mlock batch",
                  _case_mlocked),
    PredicateCase("(f) referenced before", "f",
                  "an earlier instance of the app read the file and exited (PG_referenced); "
                  "the zap activates through the lru_activate batch", _case_referenced),
    PredicateCase("(f) PTE-mapped large folio", "f",
                  "file_folio_order=4: 16-page folios, all 16 PTEs in one gather entry",
                  _case_control, (("large_folios", True), ("file_folio_order", 4))),
    PredicateCase("(g) private data", "g",
                  "file read with buffer heads attached (PG_private), clean",
                  _case_private_data),
    PredicateCase("(h) remove_mapping() fails", "h",
                  "not buildable: nothing can run between the checks and the refcount "
                  "freeze in a step-atomic model", None),
)


def _reap_or_exit(s: _Setup, flags: int) -> str:
    if s.reap:
        ret = _mrelease(s.killer, s.victim, flags)
    else:
        s.killer.kill(s.victim.pid, signal.SIGKILL)
        s.k.run()
        ret = "no reap"
    if s.after_reap is not None:
        s.after_reap()
    return ret


def zap_pause_probe(s: _Setup, try_evict: bool = True) -> dict[str, Any]:
    """Run the reaper's per-VMA step on the victim's file mapping, paused between the zap
    and the flush, as ``__oom_reap_task_mm()`` does it: set MMF_UNSTABLE, gather, zap
    (``unmap_page_range()``), then ``tlb_finish_mmu()``.

    Returns the page-cache size before the zap, after the zap (before the flush) and after
    the flush, and ``folio_ref_count()`` of the first folio the mapping mapped, read after
    the zap: on the generic gather that is the count the eviction attempt sees at the
    flush. ``try_evict`` is draft D's ``tlb->try_evict_file_folios`` (ignored elsewhere).
    """
    k, p = s.k, s.victim
    mm = p.task.mm
    assert mm is not None
    vma = _vma(p, s.mapping)
    folios = _mapped_folios(mm, s.mapping.start, s.mapping.end)
    first = folios[0] if folios else None
    before = _cached(k, s.file)
    with k.running(s.killer.task):
        assert mmap_read_trylock(mm)
        mm_flags_set(MMF_UNSTABLE, mm)
        tlb = tlb_gather_mmu(mm)
        tlb.try_evict_file_folios = try_evict and k.config.variant == "d"
        details = ZapDetails(ignore_access=tlb.try_evict_file_folios, even_cows=True)
        run_to_completion(unmap_page_range(tlb, vma, vma.vm_start, vma.vm_end,
                                           details if k.config.variant == "d" else None))
        paused = _cached(k, s.file)
        ref = first._refcount if first is not None and not first.flags & PG_freed else None
        limit = _limit(first) if ref is not None and first is not None else None
        tlb_finish_mmu(tlb)
        mmap_read_unlock(mm)
    if s.after_reap is not None:
        s.after_reap()
    return {
        "cached before zap": before,
        "cached after zap, before flush": paused,
        "cached after flush": _cached(k, s.file),
        "refcount after zap": ref,
        "limit": limit,
    }


def predicate_outcome(
    case: PredicateCase, choice: KernelChoice = V1_1, nr_pages: int = 16
) -> Row:
    """Build ``case`` twice on ``choice``'s kernel (same seed): once reaped for real
    (SIGKILL + ``process_mrelease()``), once through :func:`zap_pause_probe` to read the
    refcount the eviction attempt sees. Returns one table row."""
    row: Row = {"case": case.case, "construction": case.construction}
    if case.build is None:
        return row | {"mapped": NA, "evicted": NA, "still cached": NA,
                      "refcount at attempt": NA, "limit": NA}
    opts = dict(case.kernel_options)
    s = case.build(choice.kernel(debug_vm=True, **opts), nr_pages)
    before = _cached(s.k, s.file)
    _reap_or_exit(s, choice.flags)
    after = _cached(s.k, s.file)
    ref: int | str = NA
    limit: int | str = NA
    if s.reap and s.in_gather:
        probe = zap_pause_probe(case.build(choice.kernel(**opts), nr_pages))
        ref, limit = probe["refcount after zap"], probe["limit"]
    return row | {"mapped": s.mapping.nr_pages, "evicted": before - after,
                  "still cached": after, "refcount at attempt": ref, "limit": limit}


def predicate_table(choice: KernelChoice = V1_1, nr_pages: int = 16) -> list[Row]:
    """:func:`predicate_outcome` for every case of :data:`PREDICATE_CASES`."""
    return [predicate_outcome(c, choice, nr_pages) for c in PREDICATE_CASES]


# ---------------------------------------------------------------------------------------
# The gate: who zaps, and does that zap evict?
# ---------------------------------------------------------------------------------------


def _file_victim(k: Kernel, nr: int, shared: bool = False) -> tuple[Process, Process, Inode]:
    killer = k.spawn("lmkd", uid=0)
    f = k.create_file("data", nr)
    app = k.spawn("app", uid=10001)
    m = app.mmap(nr, file=f, shared=shared)
    app.touch(m)
    k.lru_add_drain_all()
    return killer, app, f


def _evicted_by(choice: KernelChoice, who: str, nr: int, **kw: Any) -> str | int:
    """Pages of a clean, exclusively mapped file that the zap named by ``who`` evicts."""
    k = choice.kernel(large_folios=False, debug_vm=True, **kw)
    shared = who == "exit after reap"
    killer, app, f = _file_victim(k, nr, shared=shared)
    before = _cached(k, f)
    if who in ("mrelease", "mrelease REAP_KILL"):
        flags = PROCESS_MRELEASE_REAP_KILL if who == "mrelease REAP_KILL" else 0
        ret = _mrelease(killer, app, flags)
        if ret != "0":
            return ret
        after = _cached(k, f)
    elif who == "oom reaper":
        # A second thread sleeps in fsync() on a hung device (D state, not killable): the
        # group cannot finish exiting and the mm stays for the OOM reaper. (A frozen thread
        # would not do: v6.18's mark_oom_victim() thaws the whole process.)
        stall = stall_in_fsync(k, app)
        k.oom_kill(app.pid)
        k.run()
        mm = stall.thread.task.mm
        assert mm is not None and mm_flags_test(MMF_OOM_SKIP, mm), "the OOM reaper ran"
        after = _cached(k, f)
        stall.release()
        k.run()
    elif who == "exit after reap":
        ret = _mrelease(killer, app, choice.flags)
        assert _cached(k, f) == before, "the reaper skips MAP_SHARED"
        k.run()
        after = _cached(k, f)
    elif who == "exit":
        killer.kill(app.pid, signal.SIGKILL)
        k.run()
        after = _cached(k, f)
    elif who == "munmap":
        mm = app.task.mm
        assert mm is not None
        app.munmap(Mapping(next(iter(mm.mm_mt)).vm_start, nr, ""))
        after = _cached(k, f)
    else:
        raise ValueError(f"unknown zapper {who!r}")
    return before - after


GATE_ZAPPERS: tuple[tuple[str, str], ...] = (
    ("mrelease", "process_mrelease(pidfd, 0) after SIGKILL"),
    ("mrelease REAP_KILL", "process_mrelease(pidfd, PROCESS_MRELEASE_REAP_KILL)"),
    ("oom reaper", "kernel OOM reaper (oom_kill(), victim stuck)"),
    ("exit after reap", "victim's own exit_mmap() after a process_mrelease() "
                        "(MAP_SHARED pages, which the reaper skips)"),
    ("exit", "victim's own exit_mmap(), no reap"),
    ("munmap", "munmap() by a live process"),
)
"""Who zaps the victim's clean file pages, as (key, description)."""


def gate_table(
    choices: tuple[KernelChoice, ...] = GATE_KERNELS, nr_pages: int = 64
) -> list[Row]:
    """Pages (of ``nr_pages`` clean, exclusive, small file folios) that each zapper evicts,
    per kernel; an errno name where the call itself fails."""
    return [
        {"who zaps": desc, **{c.label: _evicted_by(c, key, nr_pages) for c in choices}}
        for key, desc in GATE_ZAPPERS
    ]


def arch_swap_table(
    choices: tuple[KernelChoice, ...] = GATE_KERNELS, nr_pages: int = 64
) -> list[Row]:
    """Pages evicted by ``process_mrelease()`` (``choice.flags``) per architecture and
    CONFIG_SWAP; "does not build" where the kernel refuses the configuration."""
    rows: list[Row] = []
    for c in choices:
        row: Row = {"kernel": c.label}
        who = "mrelease REAP_KILL" if c.flags & PROCESS_MRELEASE_REAP_KILL else "mrelease"
        for arch in ("x86_64", "s390"):
            for swap in (True, False):
                col = f"{arch}, {'CONFIG_SWAP' if swap else '!CONFIG_SWAP'}"
                try:
                    row[col] = _evicted_by(c, who, nr_pages, arch=arch, swap=swap)
                except ValueError as e:
                    if "does not build" not in str(e):
                        raise
                    row[col] = "does not build"
        rows.append(row)
    return rows


def zap_pause_table(
    choices: tuple[KernelChoice, ...] = (BASELINE, RFC_1, V1_1), nr_pages: int = 64
) -> list[Row]:
    """Where the eviction happens: the page cache before the zap, between the zap and the
    flush, and after the flush, on x86_64 (generic gather) and s390 (no gather)."""
    rows: list[Row] = []
    for c in choices:
        for arch in ("x86_64", "s390"):
            s = _victim_file(c.kernel(large_folios=False, arch=arch), nr_pages)
            s.killer.kill(s.victim.pid, signal.SIGKILL)
            probe = zap_pause_probe(s)
            rows.append({"kernel": c.label, "arch": arch,
                         **{key: probe[key] for key in ("cached before zap",
                                                        "cached after zap, before flush",
                                                        "cached after flush")}})
    return rows


# ---------------------------------------------------------------------------------------
# Finding: large folios
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LargeFolioCase:
    """A file mapping shape: folio order, how it is mapped, and how many pages are touched."""

    label: str
    large_folios: bool
    file_folio_order: int
    file_pages: int
    touched: int
    nohugepage: bool


LARGE_FOLIO_CASES: tuple[LargeFolioCase, ...] = (
    LargeFolioCase("2 MiB folio, PMD-mapped (the default)", True, 9, 512, 512, False),
    LargeFolioCase("2 MiB folio, all 512 pages PTE-mapped (MADV_NOHUGEPAGE)", True, 9, 512,
                   512, True),
    LargeFolioCase("2 MiB folio, 2 pages PTE-mapped", True, 9, 512, 2, True),
    LargeFolioCase("2 MiB folio, 1 page PTE-mapped", True, 9, 512, 1, True),
    LargeFolioCase("64-page folio, all PTE-mapped (file_folio_order=6)", True, 6, 64, 64,
                   False),
    LargeFolioCase("small folios (large_folios=False)", False, 9, 64, 64, False),
)


def large_folio_outcome(case: LargeFolioCase, arch: str, choice: KernelChoice = V1_1) -> Row:
    """Reap a victim mapping one file shaped as ``case`` on ``arch``; report the first
    folio's shape, the references the gather (or s390's immediate free) hands to the
    eviction attempt, the refcount the attempt sees, the limit, and the result."""
    k = choice.kernel(large_folios=case.large_folios, file_folio_order=case.file_folio_order,
                      arch=arch, debug_vm=True)
    killer = k.spawn("lmkd", uid=0)
    f = k.create_file("base.apk", case.file_pages)
    app = k.spawn("app", uid=10001)
    m = app.mmap(case.file_pages, file=f)
    if case.nohugepage:
        app.madvise(m, MADV_NOHUGEPAGE)
    app.touch(m, nr_pages=case.touched)
    k.lru_add_drain_all()
    mm = app.task.mm
    assert mm is not None
    folio = _mapped_folios(mm, m.start, m.end)[0]
    pmd = isinstance(mm.pgd.get(m.start >> k.pg.PMD_SHIFT), Pmd)
    refs_held = 1 if pmd else folio_mapcount(folio)  # one per PTE, or one for the PMD
    mapped_by = "PMD" if pmd else f"{refs_held} PTE" + ("s" if refs_held > 1 else "")
    # The mapping's references move into the gather unchanged, and nothing else takes one
    # (batches drained, folio not referenced before): the attempt sees today's count.
    ref_at_attempt = folio._refcount
    no_attempt = pmd and arch == "s390"  # __tlb_remove_page_size(): no eviction at all
    before = _cached(k, f)
    _mrelease(killer, app, choice.flags)
    return {
        "arch": arch,
        "mapping": case.label,
        "folio pages": 1 << folio.order,
        "mapped by": mapped_by,
        "refs handed to the free path": refs_held,
        "refcount at attempt": "no attempt" if no_attempt else ref_at_attempt,
        "limit": NA if no_attempt else _limit(folio),
        "cached before": before,
        "evicted": before - _cached(k, f),
    }


def large_folio_table(choice: KernelChoice = V1_1) -> list[Row]:
    """:func:`large_folio_outcome` for every case, on x86_64 and on s390."""
    return [large_folio_outcome(c, arch, choice)
            for arch in ("x86_64", "s390") for c in LARGE_FOLIO_CASES]


READAHEAD_FILE_PAGES = 16384
"""A 64 MiB file read in order through a private mapping: readahead ramps its folio order
0, 2, 4, 6, 8 over the first five 8 MiB windows and reads the last three in 2 MiB folios
(the live kernel's layout, lab/data/folios.json case 65536KiB/seq)."""


def readahead_file_rows(
    choices: tuple[KernelChoice, ...] = (BASELINE, V1_1),
    nr_pages: int = READAHEAD_FILE_PAGES,
    arches: tuple[str, ...] = ("x86_64", "s390"),
) -> list[Row]:
    """Reap a victim that read one ``nr_pages`` private file mapping in order, with folio
    sizes as readahead makes them (the Kernel default). One row per kernel, arch and folio
    order: folios, how one of them is mapped, pages cached before and after the reap."""
    rows: list[Row] = []
    for arch in arches:
        for choice in choices:
            if choice.variant == "d" and arch == "s390":
                continue  # draft D does not build on s390 (Kernel refuses it)
            k = choice.kernel(arch=arch, debug_vm=True)
            killer = k.spawn("lmkd", uid=0)
            f = k.create_file("app.apk", nr_pages)
            app = k.spawn("app", uid=10001)
            app.touch(app.mmap(nr_pages, file=f))
            k.lru_add_drain_all()
            before: dict[int, list[Folio]] = {}
            for folio in sorted(f.i_mapping.i_pages.values(), key=lambda x: x.index):
                before.setdefault(folio.order, []).append(folio)
            mapped = {o: "PMD" if fs[0]._entire_mapcount else
                      f"{folio_mapcount(fs[0])} PTE" + ("s" if o else "")
                      for o, fs in before.items()}
            _mrelease(killer, app, choice.flags)
            for order, folios in sorted(before.items()):
                left = sum(1 for x in folios if x.mapping is f.i_mapping)
                rows.append({"arch": arch, "kernel": choice.label, "folio order": order,
                             "folios": len(folios), "mapped by": mapped[order],
                             "pages cached before": len(folios) << order,
                             "pages cached after reap": left << order})
            k.run()
    return rows


# ---------------------------------------------------------------------------------------
# Finding: PG_referenced folios and patch 2
# ---------------------------------------------------------------------------------------


def referenced_outcome(
    choice: KernelChoice, nr_files: int, pages_per_file: int, *, referenced: bool,
    lru_gen: bool = False,
) -> int:
    """Pages evicted by ``process_mrelease()`` from a victim that privately maps and reads
    ``nr_files`` files of ``pages_per_file`` pages each (small folios). With
    ``referenced``, an earlier instance of the app read the same files and exited first,
    so every folio starts PG_referenced (see :func:`_earlier_instance`). ``lru_gen``: on a
    multi-gen LRU kernel."""
    k = choice.kernel(large_folios=False, debug_vm=True, lru_gen=lru_gen)
    killer = k.spawn("lmkd", uid=0)
    files = [k.create_file(f"lib{i}.so", pages_per_file) for i in range(nr_files)]
    if referenced:
        _earlier_instance(k, files)
    app = k.spawn("app", uid=10001)
    for f in files:
        app.touch(app.mmap(pages_per_file, file=f, write=False))
    k.lru_add_drain_all()
    before = sum(_cached(k, f) for f in files)
    _mrelease(killer, app, choice.flags)
    return before - sum(_cached(k, f) for f in files)


REFERENCED_LAYOUTS: tuple[tuple[int, int], ...] = ((1, 16), (1, 100), (1, 1000), (8, 16),
                                                   (64, 4))
"""(files, pages per file) of the victims in :func:`referenced_table`."""


def referenced_table(layouts: tuple[tuple[int, int], ...] = REFERENCED_LAYOUTS, *,
                     lru_gen: bool = False) -> list[Row]:
    """Pages evicted per victim layout: v1 1/3 on first use, v1 1/3 and v1 1/3+2/3 when an
    earlier instance had referenced the pages; the last column is what patch 1 alone loses
    to the earlier reference (first use minus referenced before). ``lru_gen``: on
    multi-gen LRU kernels."""
    rows: list[Row] = []
    for nr_files, per_file in layouts:
        first = referenced_outcome(V1_1, nr_files, per_file, referenced=False, lru_gen=lru_gen)
        again = referenced_outcome(V1_1, nr_files, per_file, referenced=True, lru_gen=lru_gen)
        rows.append({
            "files x pages": f"{nr_files} x {per_file}",
            "mapped": nr_files * per_file,
            "v1 1/3, first use": first,
            "v1 1/3, referenced before": again,
            "v1 1/3+2/3, referenced before": referenced_outcome(V1_2, nr_files, per_file,
                                                                referenced=True,
                                                                lru_gen=lru_gen),
            "lost by 1/3 alone": first - again,
        })
    return rows


def referenced_probe(nr_pages: int = 16, *, lru_gen: bool = False) -> list[Row]:
    """The reference that blocks eviction, read between the zap and the flush: v1 with
    patch 1 alone and with patches 1+2, on a victim whose pages were referenced before
    (``lru_gen``: on multi-gen LRU kernels)."""
    rows: list[Row] = []
    for choice in (V1_1, V1_2):
        s = _case_referenced(choice.kernel(large_folios=False, lru_gen=lru_gen), nr_pages)
        s.killer.kill(s.victim.pid, signal.SIGKILL)
        rows.append({"kernel": choice.label, **zap_pause_probe(s)})
    return rows


# ---------------------------------------------------------------------------------------
# Finding: shmem folios in the swap cache
# ---------------------------------------------------------------------------------------

SHMEM_KERNELS: tuple[KernelChoice, ...] = (
    BASELINE, RFC_1, V1_1,
    KernelChoice("v1 1/3 + swapcache fix", "v1", patches=1, options=(("swapcache_fix", True),)),
    D,
    KernelChoice("d + swapcache fix", "d", flags=PROCESS_MRELEASE_REAP_KILL,
                 options=(("swapcache_fix", True),)),
)


def shmem_swapcache_outcome(choice: KernelChoice, *, reaping: bool, shmem_holds_slot: bool
                            ) -> str:
    """What the flush of a gather does with a shmem folio that sits in the swap cache.

    **Constructed state.** A process maps one shmem page (MAP_SHARED|MAP_ANONYMOUS) and
    reads it. The reaper's per-VMA step is run by hand: (``reaping``: MMF_UNSTABLE set,
    D's ``try_evict_file_folios`` set), gather, zap -- so the gather holds the folio's one
    reference and the folio is unmapped. Then, before the flush, the folio is moved from
    the shmem page cache into the swap cache as ``shmem_writeout()`` would (the model does
    not implement it): a slot is allocated, the page-cache entry and its reference go, the
    swap cache takes its reference, and the folio is clean (written out). With
    ``shmem_holds_slot`` the shmem mapping's entry also counts the slot (swap count 1), as
    it does in the kernel after a writeout; without, only the swap cache holds the slot.
    Then ``tlb_finish_mmu()`` runs the kernel's own free path.

    Returns what became of the folio and its slot.
    """
    k = choice.kernel(large_folios=False, swap_mib=4)  # no debug_vm: the state is forged
    p = k.spawn("app", uid=10001)
    m = p.mmap(1, shared=True)
    p.touch(m)
    k.lru_add_drain_all()
    mm = p.task.mm
    assert mm is not None
    vma = _vma(p, m)
    folio = _mapped_folios(mm, m.start, m.end)[0]
    with k.running(k.kthreadd):
        if reaping:
            mm_flags_set(MMF_UNSTABLE, mm)
        tlb = tlb_gather_mmu(mm)
        tlb.try_evict_file_folios = reaping and k.config.variant == "d"
        run_to_completion(unmap_page_range(tlb, vma, vma.vm_start, vma.vm_end, None))
        assert folio._refcount == 2 and not folio._mapcount  # page cache + gather
        assert not folio_alloc_swap(folio)
        entry = folio.swap
        assert entry is not None
        __filemap_remove_folio(folio, None)  # shmem_delete_from_page_cache()
        folio._refcount -= 1  # ...drops the page cache's reference
        swap_cache_add_folio(folio, entry)
        if shmem_holds_slot:
            swap_duplicate(k, entry)  # the shmem mapping's swap entry
        folio.flags &= ~PG_dirty  # written out and clean
        tlb_finish_mmu(tlb)
    si = k.swap_info
    assert si is not None
    slot = si.swap_map[entry.offset]
    if folio.flags & PG_freed:
        fate = "freed"
    elif folio.flags & PG_swapcache:
        fate = f"stays in swap cache (ref {folio._refcount})"
    else:
        fate = f"out of swap cache, ref {folio._refcount}"
    if not slot:
        return f"{fate}; slot free"
    cache = " + cache" if slot & SWAP_HAS_CACHE else ""
    return f"{fate}; slot count {slot & ~SWAP_HAS_CACHE}{cache}"


def shmem_swapcache_table(choices: tuple[KernelChoice, ...] = SHMEM_KERNELS) -> list[Row]:
    """:func:`shmem_swapcache_outcome` for each kernel, zap (not reaping / reaping) and
    slot state (A: shmem's entry counts the slot too; B: only the swap cache holds it)."""
    rows: list[Row] = []
    for c in choices:
        row: Row = {"kernel": c.label}
        for reaping in (False, True):
            for holds in (True, False):
                col = (f"{'reaping' if reaping else 'not reaping'}, "
                       f"{'A: shmem counts slot' if holds else 'B: only cache holds slot'}")
                row[col] = shmem_swapcache_outcome(c, reaping=reaping, shmem_holds_slot=holds)
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------
# Finding: draft D's folio->mapping and the swap-cache-first fix
# ---------------------------------------------------------------------------------------

ANON_MAPPING_KERNELS: tuple[KernelChoice, ...] = (
    D, D_INTENDED,
    KernelChoice("d + swapcache fix", "d", flags=PROCESS_MRELEASE_REAP_KILL,
                 options=(("swapcache_fix", True),)),
    KernelChoice("d, details intended + swapcache fix", "d", flags=PROCESS_MRELEASE_REAP_KILL,
                 options=(("d_details", "intended"), ("swapcache_fix", True))),
    KernelChoice("v1 1/3 + swapcache fix", "v1", patches=1, options=(("swapcache_fix", True),)),
)


def anon_mapping_outcome(choice: KernelChoice, nr_pages: int = 64) -> Row:
    """Reap a victim with ``nr_pages`` of anonymous memory (and nothing else). Counts:
    anonymous folios the reap freed; ``EVICT_ANON_MAPPING`` (draft D's
    ``free_file_cache()`` handed ``mapping_evict_folio()`` an anon_vma instead of an
    address_space); and how many of the victim's anonymous folios would pass the tests
    ``mapping_evict_folio()`` makes before it calls ``remove_mapping()`` (clean, no
    writeback, refcount within the limit), read before the reap: in the kernel those would
    reach ``__remove_mapping()`` with the anon_vma as the mapping."""
    k = choice.kernel(large_folios=False, debug_vm=True)
    killer = k.spawn("lmkd", uid=0)
    app = k.spawn("app", uid=10001)
    m = app.mmap(nr_pages)
    app.touch(m, write=True)
    k.lru_add_drain_all()
    mm = app.task.mm
    assert mm is not None
    anon = [f for f in _mapped_folios(mm, m.start, m.end) if f.flags & PG_anon]
    would_pass = sum(
        1 for f in anon
        if not f.flags & (PG_dirty | PG_writeback) and f._refcount <= _limit(f)
    )
    before = k.meminfo()["AnonPages"] // 4
    ret = _mrelease(killer, app, choice.flags)
    freed = before - k.meminfo()["AnonPages"] // 4
    return {
        "kernel": choice.label,
        "process_mrelease": ret,
        "anon pages freed by the reap": freed,
        "EVICT_ANON_MAPPING": k.vm_events.get("EVICT_ANON_MAPPING", 0),
        "anon folios passing the pre-remove_mapping() tests": would_pass,
    }


def anon_mapping_table(
    choices: tuple[KernelChoice, ...] = ANON_MAPPING_KERNELS, nr_pages: int = 64
) -> list[Row]:
    """:func:`anon_mapping_outcome` for each kernel."""
    return [anon_mapping_outcome(c, nr_pages) for c in choices]


# ---------------------------------------------------------------------------------------
# Review points (docs/sources.md §T4.1), as data
# ---------------------------------------------------------------------------------------

REVIEW_POINTS: tuple[Row, ...] = (
    {"#": 1, "reviewer": "Michal Hocko, RFC 0/3, 04-14",
     "point": "Why care about clean page cache at all; is this drop_caches?",
     "answer": "The memory should be free when the call returns; otherwise the cache stays "
               "(<ad6c0DN7AGoOQ_Iq@google.com>, only its start retrieved)",
     "resolved": "no; Michal stayed unconvinced",
     "model": "fate tables: the baseline keeps every file page of the victim cached; v1 "
              "evicts the private mapping and the unwritten COW pages during the reap"},
    {"#": 2, "reviewer": "David Hildenbrand, RFC 1/3, 04-14",
     "point": "The reaper skips MAP_SHARED, so this only covers MAP_PRIVATE; what about "
              "MAP_SHARED?",
     "answer": "MAP_PRIVATE is the target: MAP_SHARED pages are often not the victim's alone",
     "resolved": "accepted; no version reaps MAP_SHARED",
     "model": "gate table: the reaper skips them, but v1's and the RFC's exit after a "
              "reap evicts the clean ones"},
    {"#": 3, "reviewer": "David Hildenbrand, RFC 1/3, 04-14",
     "point": "'Left on the LRU' is misleading; describe it as treating clean page cache "
              "like swap cache in the gather",
     "answer": "wording adopted in v1", "resolved": "yes", "model": "-"},
    {"#": 4, "reviewer": "David Hildenbrand, v1 1/3, 04-24 "
                         "<7b4bf980-4ff3-4f53-8c64-1ba2d85cf1b8@kernel.org>",
     "point": "Subject; kernel-doc names a parameter that does not exist; a bool instead of "
              "the mm?; why move the function?",
     "answer": "bool: fine (D does it); the move: mm/swap_state.c is built only with "
               "CONFIG_SWAP (<aevfhYW0K3y9jTjI@google.com>); David: say so in the changelog "
               "(<f484b864-aa7f-4612-8bf8-5f6bd041ddc2@kernel.org>)",
     "resolved": "partly; the subject was never changed",
     "model": "arch/CONFIG_SWAP table: the RFC evicts nothing without CONFIG_SWAP, v1 does"},
    {"#": 5, "reviewer": "Matthew Wilcox, v1 1/3, 04-24 "
                         "<aevFb-ZemUo4nB3I@casper.infradead.org>",
     "point": "For a folio known to be a file folio, use folio->mapping, not folio_mapping()",
     "answer": "test the swap cache first, then folio->mapping "
               "(<aevnH-0yVstaPjiJ@google.com>)",
     "resolved": "D uses folio->mapping, without the swap-cache test",
     "model": "finding: with the 05-08 fix, D hands anon_vmas to mapping_evict_folio()"},
    {"#": 6, "reviewer": "Alexander Gordeev, v1 1/3, 05-05 "
                         "<20260505145318.97692A14-agordeev@linux.ibm.com>",
     "point": "The new else-branch has no old counterpart: what happens to non-anonymous "
              "folios that are not evicted?",
     "answer": "mlocked ones are munlocked and become evictable; shared ones fail the "
               "refcount test; shmem swap-cache folios are now missed, fix: swap cache first "
               "(<af5cEycgIu2GUicn@google.com>); Gordeev: that test is redundant "
               "(<d9644dab-120f-485c-9324-205282d89234-agordeev@linux.ibm.com>); Minchan: "
               "the point is the old call was unconditional (<agJOy1vnvYGipnku@google.com>)",
     "resolved": "acknowledged; no fix posted",
     "model": "predicate table (mlocked pages in the mlock batch stay); shmem finding"},
    {"#": 7, "reviewer": "Michal Hocko, v1 2/3, 04-29 <afG-4hq7Hr62Uu6J@tiehlicka>",
     "point": "Page cache does not belong to any process",
     "answer": "-", "resolved": "no (a question of principle)", "model": "-"},
    {"#": 8, "reviewer": "Michal Hocko, v1 2/3 thread, 04-27",
     "point": "Patch 2 may only matter on Android because reclaim lags there, which this "
              "patch works around",
     "answer": "kswapd timing is unpredictable", "resolved": "no",
     "model": "finding: patch 1 itself needs patch 2 for pages referenced before"},
)
"""docs/sources.md §T4.1, paraphrased: one row per review point on patch 1."""


# ---------------------------------------------------------------------------------------
# Draft D's zero-initialised zap_details and anonymous THPs
# ---------------------------------------------------------------------------------------

D_ANON_KERNELS: tuple[KernelChoice, ...] = (BASELINE, D, D_INTENDED)
"""Baseline (kill, then flags 0) and D with REAP_KILL, as posted and as intended."""


def d_anon_table(
    nr_pages: int = 1024, kernels: tuple[KernelChoice, ...] | None = None
) -> list[Row]:
    """Anonymous pages freed by one reap, per kernel, for 4 KiB folios (PTE-mapped) and
    for THPs (``MADV_HUGEPAGE``, PMD-mapped 2 MiB folios).

    D as posted passes ``__oom_reap_task_mm()`` a zero-initialised ``zap_details``:
    ``even_cows`` is false, so ``should_zap_folio()`` keeps every anonymous folio the PTE
    path meets. A PMD-mapped THP goes through ``zap_huge_pmd()``, which never looks at the
    details, so it is freed all the same (docs/sources.md §K3.6, §T3.5).
    """
    rows: list[Row] = []
    for choice in kernels if kernels is not None else D_ANON_KERNELS:
        row: Row = {"kernel": choice.label}
        for label, thp in (("4 KiB anon pages freed", False), ("THP anon pages freed", True)):
            k = choice.kernel(debug_vm=True)
            lmkd = k.spawn("lmkd", uid=0)
            app = k.spawn("app", uid=10001)
            m = app.mmap(nr_pages, thp=thp)
            app.touch(m, write=True)
            before = k.meminfo()["AnonPages"]
            _mrelease(lmkd, app, choice.flags)
            row[label] = (before - k.meminfo()["AnonPages"]) // 4
        rows.append(row)
    return rows

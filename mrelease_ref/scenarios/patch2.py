"""Experiments for patch 2 of the series: skip LRU movement of exclusive file folios.

Not kernel code. Every experiment notebook 02 shows lives here, as a typed function that
builds its own Kernel(s), runs the kernel model and returns frozen dataclasses (turn them
into table rows with :func:`as_rows`). The notebook only calls these and displays them.

Patch 2 changes one call in the file branch of ``zap_present_folio_ptes()``: while an mm is
being reaped, a young PTE of a file folio that no other mm maps no longer calls
``folio_mark_accessed()``. Versions (:data:`CONFIGS`):

* RFC 2/3 <20260413223948.556351-3-minchan@kernel.org>: gate MMF_UNSTABLE, exclusive
  means ``folio_mapcount() < 2``;
* v1 2/3 <20260421230239.172582-3-minchan@kernel.org>: gate MMF_UNSTABLE, exclusive
  means ``!folio_maybe_mapped_shared()`` (exact for large folios with CONFIG_MM_ID,
  conservative without);
* draft D <afFco71vwmpQy3pk@google.com>: patches 1+2 combined, gated by
  ``zap_details.ignore_access``, which only ``process_mrelease(PROCESS_MRELEASE_REAP_KILL)``
  sets (so D's reaps here pass that flag).

Because patch 1 (evict clean file folios from the mmu_gather) changes what happens to the
same folios, two configurations separate the effects: ``"v1 1"`` (patch 1 alone, a prefix
the series allows) and ``"2 alone"`` -- the baseline with only v1's
``zap_present_folio_ptes()`` swapped in through the Kernel's series hook. The latter was
never posted; it exists to measure patch 2 by itself.

Memory pressure is explicit: the model has no watermarks, so a "pressure round" is another
process streaming through its own file (mapped, read once, unmapped, like ``read()``)
followed by ``Kernel.reclaim()`` -- kswapd's classic LRU reclaim, :mod:`mrelease_ref.mm.vmscan`
-- of as many pages as the stream added.

Counting method: folio_mark_accessed() calls are the MARK_ACCESSED event (one per zapped
batch of PTEs of one folio, whatever its size); activations are PGACTIVATE (pages) plus
pages still queued in a per-CPU lru_activate batch; refaults are WORKINGSET_REFAULT_FILE
(pages), the recent ones among them WORKINGSET_ACTIVATE_FILE, and those whose shadow
carried PG_workingset (active before eviction) also WORKINGSET_RESTORE_FILE; "pages read"
is the growth of the file's page cache (``cachestat().nr_cache``) while the relaunched app
touches its pages; model time is ``Kernel.clock_ns`` around the
``process_mrelease()`` call (the cost model of :mod:`mrelease_ref.sim.cost`).

Limitations:
- Victims are frozen before they are killed (as Android freezes cached apps), so the reap,
  not the victim's own exit, does the zapping; every CPU's LRU batches are drained right
  before the kill unless the experiment says otherwise.
- "2 alone" and the "no MM_ID" configuration are constructions for measurement, not
  posted code; the RFC's patch 1 free path is inferred (docs/sources.md §T3.1 [I]).
- Pressure rounds and the LRU are small (about a thousand pages) and single-node; the
  results are orderings and counts of pages, not predictions for a phone.
- A fault reads exactly one folio (no mmap read-around, see mm/filemap.py Limitations;
  no fault-around), so "pages read" counts the hot pages read again, not the I/O of a kernel
  whose read-around also fetches their neighbours.
- Model time prices each event with fixed estimates (``sim.cost``); it is not a profile.
"""

from __future__ import annotations

import dataclasses
import signal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from mrelease_ref.include.linux.mm_inline import folio_test_active_lru
from mrelease_ref.include.linux.mm_types import _PAGE_ACCESSED, Pmd, Pte
from mrelease_ref.include.linux.page_flags import PG_active, PG_referenced, PG_workingset
from mrelease_ref.include.uapi.linux.mman import PROCESS_MRELEASE_REAP_KILL
from mrelease_ref.scenarios.review import ReviewPoint
from mrelease_ref.scenarios.stalls import stall_in_fsync
from mrelease_ref.sim.kernel import Kernel
from mrelease_ref.sim.process import MADV_RANDOM

if TYPE_CHECKING:
    from mrelease_ref.include.linux.fs import Inode
    from mrelease_ref.sim.cost import CostModel
    from mrelease_ref.sim.process import Mapping, Process

CONFIGS: Final[dict[str, str]] = {
    "baseline": "Linux v6.18, unpatched",
    "rfc 1-2": "RFC 1/3 + 2/3: gate MMF_UNSTABLE; exclusive = folio_mapcount() < 2",
    "v1 1": "v1 1/3 only: evict clean file folios while reaping; aging unchanged",
    "v1 1-2": "v1 1/3 + 2/3: gate MMF_UNSTABLE; exclusive = !folio_maybe_mapped_shared()",
    "v1 1-2, no MM_ID": "v1 1/3 + 2/3 on a kernel without CONFIG_MM_ID",
    "v1 1-3": "all of v1 (adds PROCESS_MRELEASE_REAP_KILL)",
    "rfc 1-3": "all of the RFC (REAP_KILL through a KILL_MRELEASE SIGKILL)",
    "d": "draft D: patches 1+2 combined, only for process_mrelease(REAP_KILL)",
    "2 alone": "baseline + v1 2/3 only (not posted: isolates patch 2)",
}
"""The kernels the experiments compare, by name (see :func:`make_kernel`)."""

_VARIANT: Final[dict[str, tuple[str, int | None]]] = {
    "baseline": ("baseline", None),
    "rfc 1-2": ("rfc", 2),
    "v1 1": ("v1", 1),
    "v1 1-2": ("v1", 2),
    "v1 1-2, no MM_ID": ("v1", 2),
    "v1 1-3": ("v1", 3),
    "rfc 1-3": ("rfc", 3),
    "d": ("d", None),
    "2 alone": ("baseline", None),
}

FIRST_USE, USED_BEFORE, ACTIVE = "first use", "used before", "active"
HISTORIES: Final = (FIRST_USE, USED_BEFORE, ACTIVE)
"""What happened to a file folio before the victim mapped it (see :func:`reap_cost`)."""


Options = tuple[tuple[str, Any], ...]
"""Extra ``Kernel()`` settings a scenario runs under (e.g. ``tuple(ANDROID.items())``, the
settings of ``Kernel.android()``); they override the scenario's own."""


def make_kernel(config: str, options: Options = (), **kw: Any) -> Kernel:
    """A Kernel for one of :data:`CONFIGS`; ``kw`` goes to :class:`Kernel` (e.g.
    ``large_folios``, ``file_folio_order``, ``debug_vm``), then ``options`` over it.

    ``"2 alone"`` is the baseline whose ``zap_present_folio_ptes`` hook is v1 2/3's;
    ``"v1 1-2, no MM_ID"`` forces ``mm_id=False``.
    """
    if config not in _VARIANT:
        raise ValueError(f"unknown config {config!r}; choose one of {list(CONFIGS)}")
    variant, patches = _VARIANT[config]
    kw.update(options)
    if config == "v1 1-2, no MM_ID":
        kw["mm_id"] = False
    k = Kernel(variant, patches=patches, **kw)
    if config == "2 alone":
        from mrelease_ref.series.v1.mm import memory as v1_memory

        k.series = dataclasses.replace(
            k.series,
            zap_present_folio_ptes=v1_memory.zap_present_folio_ptes,
            applied=("zap_present_folio_ptes: series/v1 (patch 2 only)",),
        )
    return k


def reaps_with_reap_kill(config: str) -> bool:
    """Whether the experiments reap this config with PROCESS_MRELEASE_REAP_KILL: only draft
    D, whose patch-1/2 behaviour exists only behind that flag."""
    return config == "d"


def as_rows(items: Iterable[Any]) -> list[dict[str, Any]]:
    """Dataclass results as plain dicts, one per row (for ``pandas.DataFrame``)."""
    return [dataclasses.asdict(i) for i in items]


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReapEvents:
    """What one ``process_mrelease()`` call did: events counted during the call and its
    model time."""

    mark_accessed: int
    pgactivate: int
    zap_pte: int
    reap_ns: int


def _delta(k: Kernel, before: dict[str, int], event: str) -> int:
    return k.vm_events.get(event, 0) - before.get(event, 0)


def kill_and_reap(k: Kernel, killer: Process, victim: Process, *, reap_kill: bool) -> ReapEvents:
    """Freeze ``victim``, then SIGKILL and ``process_mrelease()`` it as LMKD does -- or, with
    ``reap_kill``, one ``process_mrelease(pidfd, PROCESS_MRELEASE_REAP_KILL)``. The victim
    stays frozen (its own exit has not run); thaw it and ``k.run()`` to let it die."""
    fd = killer.pidfd_open(victim.pid)
    victim.freeze()
    if not reap_kill:
        killer.kill(victim.pid, signal.SIGKILL)
    before = dict(k.vm_events)
    t0 = k.clock_ns
    killer.process_mrelease(fd, PROCESS_MRELEASE_REAP_KILL if reap_kill else 0)
    return ReapEvents(
        mark_accessed=_delta(k, before, "MARK_ACCESSED"),
        pgactivate=_delta(k, before, "PGACTIVATE"),
        zap_pte=_delta(k, before, "ZAP_PTE"),
        reap_ns=k.clock_ns - t0,
    )


def _finish(k: Kernel, victim: Process) -> None:
    victim.thaw()
    k.run()


def _young_entries(p: Process, m: Mapping, nr_pages: int) -> int:
    """How many young page-table entries map the first ``nr_pages`` pages of ``m`` (a huge
    PMD counts once)."""
    mm = p.task.mm
    assert mm is not None
    young = 0
    seen_pmds: list[Pmd] = []
    pg = mm.kernel.pg
    for addr in range(m.start, m.start + (nr_pages << pg.PAGE_SHIFT), pg.PAGE_SIZE):
        entry = mm.pgd.get(addr >> pg.PMD_SHIFT)
        if isinstance(entry, Pmd):
            if not any(entry is seen for seen in seen_pmds):
                seen_pmds.append(entry)
                young += bool(entry.bits & _PAGE_ACCESSED)
        elif entry is not None:
            pte = entry[pg.pte_index(addr)]
            young += type(pte) is Pte and bool(pte.bits & _PAGE_ACCESSED)
    return young


def _young_offsets(p: Process, m: Mapping, nr_pages: int) -> set[int]:
    """Page offsets into ``m`` (first ``nr_pages``) whose page-table entry is young (every
    page under a young huge PMD)."""
    mm = p.task.mm
    assert mm is not None
    young: set[int] = set()
    pg = mm.kernel.pg
    for i in range(nr_pages):
        addr = m.start + (i << pg.PAGE_SHIFT)
        entry = mm.pgd.get(addr >> pg.PMD_SHIFT)
        if isinstance(entry, Pmd):
            if entry.bits & _PAGE_ACCESSED:
                young.add(i)
        elif entry is not None:
            pte = entry[pg.pte_index(addr)]
            if type(pte) is Pte and pte.bits & _PAGE_ACCESSED:
                young.add(i)
    return young


def _pending_activation(k: Kernel, f: Inode) -> int:
    """Pages of ``f`` parked in some CPU's lru_activate batch (activated, not yet moved)."""
    mapping = f.i_mapping
    return sum(
        1 << folio.order
        for fb in k.cpu_fbatches
        for folio in fb.lru_activate.folios
        if folio.mapping is mapping
    )


def _cached_pages(f: Inode, first: int, nr: int) -> int:
    """Pages of ``f`` in ``[first, first + nr)`` present in the page cache."""
    cached = 0
    for folio in f.i_mapping.i_pages.values():
        lo = max(first, folio.index)
        hi = min(first + nr, folio.index + (1 << folio.order))
        cached += max(0, hi - lo)
    return cached


# ---------------------------------------------------------------------------------------
# Where the skip applies
# ---------------------------------------------------------------------------------------

MAPPING_KINDS: Final = (
    "anonymous (private, written)",
    "file, 4 KiB folios, PTE-mapped",
    "file, 64-page folios, PTE-mapped",
    "file, 2 MiB folio, PMD-mapped",
    "file, MAP_SHARED",
    "file, 64 MiB read in order (readahead's folios)",
)
"""The mappings :func:`skip_scope` reaps, one per Kernel. All but the last use the
fixed-order model (``file_folio_order``) to isolate one folio shape; the last is a 64 MiB
file (:data:`READAHEAD_FILE_PAGES`) with folio sizes as v6.18's readahead makes them
(2048 order-0 pages, then 8 MiB windows of order 2, 4, 6, 8, then 12 PMD-mapped 2 MiB
folios, as measured on the live kernel: lab/data/folios.json ``65536KiB/seq``)."""

READAHEAD_FILE_PAGES: Final = 16384


@dataclass(frozen=True, slots=True)
class ScopeRow:
    """One mapping kind reaped under one config: how many folios the victim mapped, how
    many young page-table entries the reap found, and how many ``folio_mark_accessed()``
    calls it made."""

    config: str
    mapping: str
    folios: int
    young_entries: int
    mark_accessed: int


def skip_scope(config: str, kind: str, nr_pages: int = 512, *, debug_vm: bool = False,
               lru_gen: bool = False, options: Options = ()) -> ScopeRow:
    """Reap a victim holding one mapping of ``kind`` (:data:`MAPPING_KINDS`, every page
    touched once, so every entry is young) and count ``folio_mark_accessed()`` calls.

    Anonymous folios are never marked on zap; MAP_SHARED file mappings are not reaped at
    all; only the PTE path is patched, so a PMD-mapped folio is marked in every version.
    """
    if kind not in MAPPING_KINDS:
        raise ValueError(f"kind must be one of {MAPPING_KINDS}")
    order = {"file, 64-page folios, PTE-mapped": 6, "file, 2 MiB folio, PMD-mapped": 9}
    if kind == MAPPING_KINDS[-1]:
        nr_pages = READAHEAD_FILE_PAGES
        k = make_kernel(config, options, debug_vm=debug_vm, lru_gen=lru_gen)  # readahead's
    else:
        k = make_kernel(config, options, large_folios=kind in order,
                        file_folio_order=order.get(kind, 9), debug_vm=debug_vm, lru_gen=lru_gen)
    lmkd = k.spawn("lmkd")
    app = k.spawn("app", uid=10001)
    if kind.startswith("anonymous"):
        m = app.mmap(nr_pages)
        app.touch(m, write=True)
        folios = nr_pages
    else:
        f = k.create_file("app.dat", nr_pages)
        m = app.mmap(nr_pages, file=f, shared=kind.endswith("MAP_SHARED"), write=False)
        app.touch(m)
        folios = len(f.i_mapping.i_pages)
    k.lru_add_drain_all()
    young = _young_entries(app, m, nr_pages)
    ev = kill_and_reap(k, lmkd, app, reap_kill=reaps_with_reap_kill(config))
    _finish(k, app)
    return ScopeRow(config, kind, folios, young, ev.mark_accessed)


# ---------------------------------------------------------------------------------------
# The exclusivity test per version
# ---------------------------------------------------------------------------------------

EXCLUSIVITY_CASES: Final = (
    "4 KiB folios, only the victim maps them",
    "4 KiB folios, a live process maps them too",
    "4 KiB folios, the victim maps them twice",
    "64-page folios, only the victim maps them",
    "64-page folios, a live process maps them too",
    "64-page folios, the victim maps them twice",
)
"""Who maps the victim's file folios when it is reaped (see :func:`exclusivity`)."""


@dataclass(frozen=True, slots=True)
class ExclusivityRow:
    """One case under one config: the reap's zapped file-folio batches with a young PTE
    (``young_batches``, what the baseline marks) and how many were still aged."""

    config: str
    case: str
    young_batches: int
    aged: int

    @property
    def skipped(self) -> int:
        """Batches whose aging the patch skipped."""
        return self.young_batches - self.aged


def exclusivity(
    config: str, case: str, nr_pages: int = 256, *, debug_vm: bool = False,
    lru_gen: bool = False, options: Options = (),
) -> ExclusivityRow:
    """Reap a victim whose file folios are mapped as ``case`` (:data:`EXCLUSIVITY_CASES`)
    says, and count the ``folio_mark_accessed()`` calls left.

    The test runs before this mapping's rmap is removed, so the mapping being zapped always
    counts: a folio the victim maps twice is "shared" at the first zap and exclusive at the
    second. ``young_batches`` is what the baseline marks in the same case.
    """
    if case not in EXCLUSIVITY_CASES:
        raise ValueError(f"case must be one of {EXCLUSIVITY_CASES}")
    ev = _exclusivity_run(config, case, nr_pages, debug_vm, lru_gen, options)
    young = ev if config == "baseline" else _exclusivity_run("baseline", case, nr_pages,
                                                             debug_vm, lru_gen, options)
    return ExclusivityRow(config, case, young, ev)


def _exclusivity_run(config: str, case: str, nr_pages: int, debug_vm: bool,
                     lru_gen: bool = False, options: Options = ()) -> int:
    large = case.startswith("64-page")
    k = make_kernel(config, options, large_folios=large, file_folio_order=6, debug_vm=debug_vm,
                    lru_gen=lru_gen)
    lmkd = k.spawn("lmkd")
    f = k.create_file("app.dat", nr_pages)
    app = k.spawn("app", uid=10001)
    maps = [app.mmap(nr_pages, file=f, write=False)]
    if case.endswith("twice"):
        maps.append(app.mmap(nr_pages, file=f, write=False))
    for m in maps:
        app.touch(m)
    other = None
    if case.endswith("too"):
        other = k.spawn("other", uid=10002)
        om = other.mmap(nr_pages, file=f, write=False)
        other.touch(om)
    k.lru_add_drain_all()
    ev = kill_and_reap(k, lmkd, app, reap_kill=reaps_with_reap_kill(config))
    _finish(k, app)
    return ev.mark_accessed


# ---------------------------------------------------------------------------------------
# The cost saved
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReapCost:
    """One reap of ``pages`` private file pages (4 KiB folios) with a given history: the
    events counted and the model time of the ``process_mrelease()`` call, the part of it
    the cost model charges to aging (MARK_ACCESSED and PGACTIVATE), and that part in whole
    percent of the call. ``prices`` names the price list (``Kernel.cost``)."""

    config: str
    history: str
    pages: int
    mark_accessed: int
    pgactivate: int
    reap_ns: int
    aging_ns: int
    aging_pct: int
    prices: str = "calibrated"


def reap_cost(
    config: str, history: str, nr_pages: int = 4096, *, debug_vm: bool = False,
    lru_gen: bool = False, cost_model: CostModel | None = None, options: Options = (),
) -> ReapCost:
    """Reap a victim's private file mapping of ``nr_pages`` 4 KiB pages, each touched once,
    whose folios have ``history`` (:data:`HISTORIES`):

    * ``"first use"``: read in by the victim's own faults (inactive, unreferenced): a young
      PTE only sets PG_referenced;
    * ``"used before"``: an earlier process mapped, touched and unmapped the file, whose
      zap marked them accessed (inactive, PG_referenced): a young PTE activates them
      (a per-CPU lru_activate batch, PGACTIVATE when it drains);
    * ``"active"``: that happened twice, so they are already active: flag only.

    ``lru_gen``: on a multi-gen LRU kernel, where every ``folio_mark_accessed()`` is a flag
    update and nothing is activated. ``cost_model``: the prices (default: the Kernel's
    default ``CostModel``).
    """
    if history not in HISTORIES:
        raise ValueError(f"history must be one of {HISTORIES}")
    k = make_kernel(config, options, large_folios=False, debug_vm=debug_vm, lru_gen=lru_gen,
                    cost_model=cost_model)
    lmkd = k.spawn("lmkd")
    f = k.create_file("app.dat", nr_pages)
    for i in range(HISTORIES.index(history)):
        earlier = k.spawn(f"earlier{i}", uid=10002)
        m = earlier.mmap(nr_pages, file=f, write=False)
        earlier.touch(m)
        earlier.munmap(m)
        k.lru_add_drain_all()
    app = k.spawn("app", uid=10001)
    m = app.mmap(nr_pages, file=f, write=False)
    app.touch(m)
    k.lru_add_drain_all()
    ev = kill_and_reap(k, lmkd, app, reap_kill=reaps_with_reap_kill(config))
    prices = k.cost_model.prices_ns
    aging = ev.mark_accessed * prices.get("MARK_ACCESSED", 0) + ev.pgactivate * prices.get(
        "PGACTIVATE", 0
    )
    _finish(k, app)
    return ReapCost(config, history, nr_pages, ev.mark_accessed, ev.pgactivate, ev.reap_ns,
                    aging, aging * 100 // ev.reap_ns if ev.reap_ns else 0, k.cost)


# ---------------------------------------------------------------------------------------
# The side effect: a relaunched app refaults
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RelaunchParams:
    """The relaunch experiment's knobs (pages are 4 KiB).

    The app maps ``app_pages`` of its file and uses the first ``hot_pages`` of them in each
    of ``use_rounds`` pressure rounds; after ``idle_rounds`` more rounds without using them
    it is killed and reaped; ``post_rounds`` rounds later it is relaunched and touches its
    hot pages again. A round streams ``pressure_pages`` pages of another file through the
    page cache and reclaims as many. ``folio_order`` is the page-cache folio order (0: 4 KiB
    folios) of the fixed-order model (no read-around, no fault-around). ``readahead=True``
    instead lets v6.18's readahead and fault paths choose (the Kernel default): the app's
    launch and relaunch read around their faults and fault around; the streamer reads its
    chunks under MADV_RANDOM, so a round still brings exactly ``pressure_pages`` pages.
    """

    app_pages: int = 1024
    hot_pages: int = 768
    pressure_pages: int = 128
    use_rounds: int = 12
    idle_rounds: int = 0
    post_rounds: int = 2
    folio_order: int = 0
    readahead: bool = False


@dataclass(frozen=True, slots=True)
class Relaunch:
    """What happened to the app's hot pages, at the kill and at the relaunch (pages).

    At the kill: ``young_at_kill`` hot pages have a young PTE, ``active_at_kill`` are on
    the active list, ``activatable_at_kill`` are in folios that are young, inactive and
    already PG_referenced (the rung on which ``folio_mark_accessed()`` activates), and
    ``workingset_at_kill`` have PG_workingset (set when ``shrink_active_list()``
    deactivated them or a refault restored them; it stays until the folio is freed).
    ``marked_at_reap`` counts the reap's ``folio_mark_accessed()`` calls,
    ``activated_at_reap`` the pages it activated (PGACTIVATE plus pages of the app's file
    still queued in an lru_activate batch). At the relaunch: ``refaults``
    (WORKINGSET_REFAULT_FILE), the recent ones among them (``refault_activations``,
    WORKINGSET_ACTIVATE_FILE), the recent ones whose shadow carried PG_workingset
    (``refault_restores``, WORKINGSET_RESTORE_FILE), and the growth of the app file's page
    cache (``pages_read``).
    """

    config: str
    idle_rounds: int
    post_rounds: int
    folio_order: int
    hot_pages: int
    young_at_kill: int
    active_at_kill: int
    activatable_at_kill: int
    workingset_at_kill: int
    marked_at_reap: int
    activated_at_reap: int
    cached_after_reap: int
    cached_at_relaunch: int
    refaults: int
    refault_activations: int
    refault_restores: int
    pages_read: int


def relaunch(
    config: str, params: RelaunchParams = RelaunchParams(), *, debug_vm: bool = False,
    lru_gen: bool = False, options: Options = (),
) -> Relaunch:
    """Run the relaunch experiment (see :class:`RelaunchParams`) on ``config``.

    Under pressure, reclaim's ``folio_referenced()`` turns the hot pages' young bits into
    PG_referenced and activations; ``shrink_active_list()`` keeps deactivating some of them
    (only VM_EXEC file folios stay active for being referenced). Whatever is young at the
    kill, the baseline's reap marks accessed -- activating the folios that already had
    PG_referenced -- and patch 2 does not. After the kill the app's pages are unmapped page
    cache: an inactive one is reclaimed at its first scan even with PG_referenced, an active
    one must be deactivated first. The relaunch then refaults what reclaim took; a page
    that had been active before its eviction (PG_workingset in its shadow) and refaults
    within the workingset size is a restore (WORKINGSET_RESTORE_FILE).

    ``lru_gen``: the same on a multi-gen LRU kernel. "Active" then means one of the two
    youngest generations; the reap's ``folio_mark_accessed()`` counts accesses and
    activates nothing; reclaim is ``lru_gen_shrink_node()`` and a refault is recent when
    its generation is within MAX_NR_GENS of ``max_seq`` (mm/vmscan.py, mm/workingset.py).
    """
    p = params
    if p.readahead:
        k = make_kernel(config, options, debug_vm=debug_vm, lru_gen=lru_gen)
    else:
        k = make_kernel(config, options, large_folios=p.folio_order > 0,
                        file_folio_order=max(p.folio_order, 1), debug_vm=debug_vm,
                        lru_gen=lru_gen)
    lmkd = k.spawn("lmkd")
    apk = k.create_file("app.apk", p.app_pages)
    rounds = p.use_rounds + p.idle_rounds + p.post_rounds
    media = k.create_file("media.dat", max(1, rounds) * p.pressure_pages)
    streamer = k.spawn("streamer", uid=10002)
    app = k.spawn("app", uid=10001)
    code = app.mmap(p.app_pages, file=apk, write=False)
    app.touch(code)
    pos = 0

    def pressure_round() -> None:
        nonlocal pos
        chunk = streamer.mmap(p.pressure_pages, file=media, write=False, offset=pos)
        if p.readahead:
            streamer.madvise(chunk, MADV_RANDOM)  # exactly pressure_pages per round
        pos += p.pressure_pages
        streamer.touch(chunk)
        streamer.munmap(chunk)
        k.reclaim(p.pressure_pages)

    for _ in range(p.use_rounds):
        app.touch(code, nr_pages=p.hot_pages)
        pressure_round()
    for _ in range(p.idle_rounds):
        pressure_round()
    k.lru_add_drain_all()
    young = _young_entries(app, code, p.hot_pages)
    young_at = _young_offsets(app, code, p.hot_pages)  # the mapping starts at file index 0
    hot = [folio for folio in apk.i_mapping.i_pages.values() if folio.index < p.hot_pages]
    active = sum(1 << folio.order for folio in hot if folio_test_active_lru(folio))
    workingset = sum(1 << folio.order for folio in hot if folio.flags & PG_workingset)
    activatable = sum(
        1 << folio.order for folio in hot
        if folio.flags & (PG_active | PG_referenced) == PG_referenced
        and not young_at.isdisjoint(range(folio.index, folio.index + (1 << folio.order)))
    )
    before = dict(k.vm_events)
    ev = kill_and_reap(k, lmkd, app, reap_kill=reaps_with_reap_kill(config))
    _finish(k, app)
    activated = _delta(k, before, "PGACTIVATE") + _pending_activation(k, apk)
    cached_after_reap = _cached_pages(apk, 0, p.hot_pages)
    for _ in range(p.post_rounds):
        pressure_round()
    cached_at_relaunch = _cached_pages(apk, 0, p.hot_pages)
    before = dict(k.vm_events)
    cache_before = k.cachestat(apk).nr_cache
    again = k.spawn("app", uid=10001)
    code2 = again.mmap(p.app_pages, file=apk, write=False)
    again.touch(code2, nr_pages=p.hot_pages)
    return Relaunch(
        config=config, idle_rounds=p.idle_rounds, post_rounds=p.post_rounds,
        folio_order=p.folio_order, hot_pages=p.hot_pages, young_at_kill=young,
        active_at_kill=active, activatable_at_kill=activatable, workingset_at_kill=workingset,
        marked_at_reap=ev.mark_accessed, activated_at_reap=activated,
        cached_after_reap=cached_after_reap, cached_at_relaunch=cached_at_relaunch,
        refaults=_delta(k, before, "WORKINGSET_REFAULT_FILE"),
        refault_activations=_delta(k, before, "WORKINGSET_ACTIVATE_FILE"),
        refault_restores=_delta(k, before, "WORKINGSET_RESTORE_FILE"),
        pages_read=k.cachestat(apk).nr_cache - cache_before,
    )


def relaunch_sweep(
    configs: Sequence[str],
    post_rounds: Sequence[int],
    idle_rounds: Sequence[int] = (0,),
    base: RelaunchParams = RelaunchParams(),
    *,
    lru_gen: bool = False,
) -> list[Relaunch]:
    """:func:`relaunch` for every config, post-kill pressure and idle time given."""
    return [
        relaunch(c, dataclasses.replace(base, post_rounds=post, idle_rounds=idle),
                 lru_gen=lru_gen)
        for idle in idle_rounds
        for post in post_rounds
        for c in configs
    ]


# ---------------------------------------------------------------------------------------
# The gate's scope
# ---------------------------------------------------------------------------------------

GATE_EVENTS: Final = (
    "process_mrelease() after kill()",
    "process_mrelease(REAP_KILL)",
    "kernel OOM killer, oom_reaper",
    "normal exit",
    "MAP_SHARED pages, victim's exit after process_mrelease()",
)
"""How the victim's file pages get zapped (see :func:`gate_scope`)."""


@dataclass(frozen=True, slots=True)
class GateRow:
    """One way of tearing an address space down under one config: young file PTEs zapped
    and how many were still aged; ``aged`` is None where the config has no such path."""

    config: str
    event: str
    young: int
    aged: int | None


def gate_scope(
    config: str, event: str, nr_pages: int = 64, *, debug_vm: bool = False,
    lru_gen: bool = False, options: Options = (),
) -> GateRow:
    """Zap a victim's ``nr_pages`` young file pages (4 KiB folios) through ``event``
    (:data:`GATE_EVENTS`) and count ``folio_mark_accessed()`` calls.

    v1's gate is the mm's MMF_UNSTABLE, which every ``__oom_reap_task_mm()`` sets -- the
    kernel's OOM reaper included -- and which stays set when the victim's own
    ``exit_mmap()`` later zaps what the reaper left (MAP_SHARED mappings). D's gate is a
    bool only ``process_mrelease(REAP_KILL)`` passes.
    """
    if event not in GATE_EVENTS:
        raise ValueError(f"event must be one of {GATE_EVENTS}")
    k = make_kernel(config, options, large_folios=False, debug_vm=debug_vm, lru_gen=lru_gen)
    lmkd = k.spawn("lmkd")
    f = k.create_file("app.dat", nr_pages)
    app = k.spawn("app", uid=10001)
    shared = event.startswith("MAP_SHARED")
    m = app.mmap(nr_pages, file=f, shared=shared, write=False)
    app.touch(m)
    stall = None
    if event == "kernel OOM killer, oom_reaper":
        stall = stall_in_fsync(k, app)  # a thread in D state keeps mm_users: the reaper acts
    k.lru_add_drain_all()
    young = _young_entries(app, m, nr_pages)
    before = dict(k.vm_events)
    if event == "process_mrelease() after kill()":
        aged: int | None = kill_and_reap(k, lmkd, app, reap_kill=False).mark_accessed
        _finish(k, app)
    elif event == "process_mrelease(REAP_KILL)":
        if not k.series.valid_flags & PROCESS_MRELEASE_REAP_KILL:
            return GateRow(config, event, young, None)
        aged = kill_and_reap(k, lmkd, app, reap_kill=True).mark_accessed
        _finish(k, app)
    elif event == "kernel OOM killer, oom_reaper":
        assert stall is not None
        k.oom_kill(app.pid)
        k.run()  # the leader exits; the thread in fsync() pins the mm; the reaper reaps
        aged = _delta(k, before, "MARK_ACCESSED")
        stall.release()
        _finish(k, app)
    elif event == "normal exit":
        app.exit(0)
        k.run()
        aged = _delta(k, before, "MARK_ACCESSED")
    else:
        kill_and_reap(k, lmkd, app, reap_kill=reaps_with_reap_kill(config))
        _finish(k, app)
        aged = _delta(k, before, "MARK_ACCESSED")
    return GateRow(config, event, young, aged)


# ---------------------------------------------------------------------------------------
# The review of patch 2
# ---------------------------------------------------------------------------------------


REVIEW_POINTS: Final[tuple[ReviewPoint, ...]] = (
    ReviewPoint(
        1, "David Hildenbrand (RFC 2/3, 04-14)",
        "A mapcount below two says nothing about sharing for a large folio: use the "
        "maybe-mapped-shared helper.",
        "v1 switched to !folio_maybe_mapped_shared().",
        "Resolved in v1.",
        "exclusivity(): RFC ages every 64-page folio; v1 skips exactly the unshared ones",
    ),
    ReviewPoint(
        2, "Baolin Wang (v1, 04-22)",
        "Skip the aging for exclusive PMD-mapped folios in zap_huge_pmd() as well.",
        "Agreed, for the next revision.",
        "Not done in any posted code, draft D included.",
        "skip_scope(): the PMD-mapped folio is still marked under every version",
    ),
    ReviewPoint(
        3, "Michal Hocko (RFC, v1 04-24)",
        "Opposed an OOM/mrelease-only behaviour: why should any exiting task not skip "
        "aging too? Blocked the patch until that was answered.",
        "New changelog: an ordinary exit may afford preserving the active state, an "
        "emergency reap needs speed; a costly restart means LMKD picked a bad victim.",
        "Led to #4.",
        "reap_cost(): what the aging costs a reap in the model",
    ),
    ReviewPoint(
        4, "Michal Hocko (v1, 04-27)",
        "That is a claim, not a reason: the patch loses activations of exclusively mapped "
        "file pages that may still be hot through the page cache, so they refault.",
        "Suren Baghdasaryan: reaping only happens under pressure, and on Android extra "
        "refaults with free memory beat slow reclaim under pressure.",
        "Open.",
        "relaunch(): refaults at relaunch, baseline vs patch 2",
    ),
    ReviewPoint(
        5, "Michal Hocko (v1, 04-27)",
        "Reclaim under pressure has probably aged these pages already; the reaper races "
        "with it and may undo its decision; possibly Android-only; needs wider data.",
        "kswapd timing is unpredictable; madvise/fadvise hints also override global "
        "policy; it only affects reaped address spaces.",
        "Open.",
        "relaunch_sweep(idle_rounds=...): one reclaim pass after the last use erases "
        "the difference",
    ),
    ReviewPoint(
        6, "Michal Hocko (v1, 04-28/29)",
        "process_mrelease() has no 'aggressive' meaning that would justify side effects "
        "on every caller; wants a changelog explicit about them and users beyond Android.",
        "Draft D gates both changes behind PROCESS_MRELEASE_REAP_KILL and adds a "
        "side-effects section.",
        "Michal still calls it a single-use-case hack and leaves the call to others.",
        "gate_scope(): D ages everywhere except the REAP_KILL reap",
    ),
    ReviewPoint(
        7, "David Hildenbrand (v1, 04-29/30)",
        "Nothing makes v1 process_mrelease-specific: the gate is MMF_UNSTABLE, which the "
        "kernel's OOM reaper (and a failed fork) sets too; the real question is how it "
        "interacts with reclaim that harvests access bits earlier.",
        "D's bool confines it to process_mrelease(); the OOM killer may want it later.",
        "David expects every kind of OOM reaping to want it. Open.",
        "gate_scope(): v1 also skips in the OOM reaper and in the victim's later exit",
    ),
    ReviewPoint(
        8, "David Hildenbrand (v1, 04-29)",
        "D hands zap_details to unmap_page_range(); on the new zap_vma_for_reaping() API "
        "the option should be handled inside, not passed in.",
        "Will look for the best way.",
        "Open.",
        "",
    ),
    ReviewPoint(
        9, "David Hildenbrand, Michal Hocko, Liam Howlett (04-29 .. 05-13)",
        "What MMF_UNSTABLE means (faults unreliable, contents may be lost); maybe a "
        "dedicated 'OOM reaping' flag to key zap changes on; its use in fork can go.",
        "None from the author.",
        "Michal: drop it from fork. No patch seen.",
        "",
    ),
)
"""docs/sources.md §T4.2, in this project's words."""

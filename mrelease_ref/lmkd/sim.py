"""One run of the device: a launch creates pressure, LMKD kills, a killed app relaunches.

Not kernel code. The run advances a device clock in ticks of ``tick_ms``. Each tick:

1. due events fire (the reaper's steps of a kill, the end of a /proc reader's hold);
2. the workload allocates: the launched app, later the relaunched one, fault their pages
   in through ``Process.touch()`` at their rates. An allocation that would take free
   memory under the **min** watermark first runs direct reclaim (``Kernel.reclaim()``,
   charged to the allocating task at ``direct_mb_s``); what still does not fit waits,
   and that tick counts as a memory stall (PSI "some");
3. kswapd wakes under the **low** watermark and reclaims at ``kswapd_mb_s`` (model
   ``Kernel.reclaim()`` = mm/vmscan.py ``shrink_node()``) until free memory reaches **high**;
4. the model's scheduler runs kernel work -- a reaper's ``process_mrelease()``, a victim's
   own exit, a /proc reader's ``mmput()`` -- for ``tick_ms`` of device time: each step's
   model time (``Kernel.clock_ns``, priced by ``calibrated_cost_model()``) times ``scale``
   is the device time it takes, so a reap of N model pages lasts what N * scale pages
   cost on the calibrated kernel;
5. LMKD: a PSI event (stall >= ``psi_partial_stall_ms`` in the last ``psi_window_ms``)
   starts polling every ``poll_ms`` for a window; while a kill is pending (its pidfd has
   not fired and ``kill_timeout_ms`` has not passed) polling pauses; when the wait ends it
   polls at once with ``cycle_after_kill`` set (:mod:`.policy`).

A kill (lmkd ``kill_one_process()`` + ``reaper.cpp``) is: ``pidfd_open()`` on the main
thread; after ``pre_kill_us`` a reaper thread sends ``pidfd_send_signal(SIGKILL)``, spends
``set_prio_us`` in ``set_process_group_and_prio()``, then calls ``process_mrelease(pidfd,
0)``. With a REAP_KILL variant (v1 3/3, D, v2, v3) the reaper makes one
``process_mrelease(pidfd, PROCESS_MRELEASE_REAP_KILL)``. With both reapers busy the main
thread sends SIGKILL and nothing reaps. Victims are frozen (Android freezes cached apps):
the victim runs its exit only after the reaper has entered ``process_mrelease()``, except
with probability ``p_esrch`` -- the race knob -- where it wins: it runs until it has
detached its mm (``exit_mm()``) before the reaper's call, which then fails with ESRCH. Of
those, a fraction ``p_pin`` had a /proc/<pid>/cmdline reader holding ``mm_users``
(``read_proc(block=True)``), which runs ``exit_mmap()`` itself after ``pin_ms``.

Every app is ``fork()``ed from the zygote (:mod:`.zygote`), at t = 0 and when launched or
relaunched; a dead app is reaped by the zygote's ``waitpid()``. Everything a kill frees or
leaves cached is the model's doing; the simulation only reads meminfo/zoneinfo/cachestat,
the victims' mm counters and their smaps (what they map alone). The kernel's LRU is the
classic two-list one or, with ``DeviceConfig(lru_gen=True)``, the multi-gen LRU: kswapd's
and direct reclaim's ``Kernel.reclaim()`` then runs MGLRU's eviction.

Metrics (:class:`RunResult`): kills and redundant kills (:class:`KillRecord`: a kill is
*redundant* when, at the decision, free memory plus the memory that earlier victims had
already given up but the kernel had not yet returned -- anonymous pages still mapped by
them alone (not the zygote heap pages they share copy-on-write, which no kill frees) and
clean page-cache pages of their exclusive files -- was at or above the
threshold of the kill's reason: a perfect accountant would not have killed); pressure onset
(first tick under the low watermark) and recovery (the first tick, once the launch has all
its memory, at which free memory is back at the high watermark); free memory over time;
per kill what the teardown freed and what it left cached; for the relaunch, pages read,
refaults and the read time at ``read_mb_s``.

Limitations:
- Device time and model time are tied only through the kernel work of kills; faults,
  reclaim and LMKD's own work take no model time (their rates are [E] parameters).
- One CPU's worth of kernel work per tick for all tasks together (the victim's exit and
  the reaper do not run in parallel, as they would on two cores).
- The victim is frozen until the reaper's call (or until it wins the race); on a phone
  the SIGKILL thaws it and the race is decided by timing, here by ``p_esrch``.
- The relaunch reads at a fixed ``read_mb_s``; the model has no I/O time.
- The model's page allocator has no watermarks, so a file fill waits until free memory
  holds a whole readahead window (or fixed-order folio) above the min watermark, where the
  kernel would read a smaller window; fork() and the zygote's ``waitpid()`` take no
  device time.
"""

from __future__ import annotations

import heapq
import itertools
import random
import signal
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from mrelease_ref.include.linux.mm_types import MM_ANONPAGES
from mrelease_ref.include.uapi.linux.mman import PROCESS_MRELEASE_REAP_KILL
from mrelease_ref.lmkd.device import App, AppSpec, Device, DeviceConfig, build_device, new_app
from mrelease_ref.lmkd.policy import LmkdConfig, decide, pick_victim
from mrelease_ref.lmkd.zygote import cow_pages, exclusive_anon_pages

if TYPE_CHECKING:
    from mrelease_ref.include.linux.fs import Inode
    from mrelease_ref.include.linux.mm_types import MmStruct
    from mrelease_ref.sim.kernel import WorkResult
    from mrelease_ref.sim.process import Mapping, Process

VARIANTS: Final[dict[str, tuple[str, int | None, bool]]] = {
    "baseline": ("baseline", None, False),
    "v1 1+2": ("v1", 2, False),
    "v1": ("v1", 3, True),
    "d": ("d", None, True),
    "v2": ("v2", None, True),
    "v3": ("v3", None, True),
}
"""Simulated kernels: name -> (Kernel variant, patches, LMKD uses REAP_KILL). ``"v1 1+2"``
is v1's patches 1 and 2 without REAP_KILL (``Kernel(variant="v1", patches=2)``)."""

ESRCH, NO_REAP = "ESRCH", "SIGKILL only"
KSWAPD_BATCH_MS: Final = 10
"""kswapd reclaims this many milliseconds' worth of pages per ``Kernel.reclaim()`` call."""
DIRECT_RECLAIM_MIN: Final = 32
"""Direct reclaim asks for at least SWAP_CLUSTER_MAX device pages."""
MAX_RECLAIM_RETRIES: Final = 16
"""kswapd gives up after this many balancing passes without progress (mm/internal.h)."""
"""Direct reclaim asks for at least SWAP_CLUSTER_MAX device pages."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """One run's inputs (device, LMKD, race knobs, workload). Defaults after
    docs/sources.md §L7.3 (an app launched at t = 0.5 s reading 150 MiB of files over
    1.5 s, 30 % of them its own; the first victim relaunched at t = 5 s) and §L4.2
    (P(ESRCH) 0.2, 40 % of those pinned 5-500 ms), all [E]. One departure: the launch
    allocates 800 MiB of anonymous memory, not §L7.3's 500, which with reclaim at
    200 MiB/s (``DeviceConfig.kswapd_mb_s``) puts the device where reclaim lags the
    launch; the model has no refault-driven stall, so with 500 MiB at 600 MiB/s LMKD
    never fires (notebook 06 sweeps both)."""

    variant: str = "baseline"
    seed: int = 0
    device: DeviceConfig = field(default_factory=DeviceConfig)
    lmkd: LmkdConfig = field(default_factory=LmkdConfig)
    p_esrch: float = 0.2
    p_pin: float = 0.4
    pin_ms: tuple[int, int] = (5, 500)
    launch_ms: int = 500
    launch_dur_ms: int = 1500
    launch_anon_mb: int = 800
    launch_file_mb: int = 150
    launch_excl_frac: float = 0.3
    relaunch_ms: int | None = 5000
    relaunch_file_mb_s: int = 300
    relaunch_anon_mb_s: int = 200
    read_mb_s: int = 300
    horizon_ms: int = 6000
    tick_ms: int = 1
    sample_ms: int = 10

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}; choose from {list(VARIANTS)}")
        for name in ("p_esrch", "p_pin", "launch_excl_frac"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]")
        if self.tick_ms <= 0 or self.sample_ms % self.tick_ms:
            raise ValueError("tick_ms must be positive and divide sample_ms")
        if not 0 <= self.pin_ms[0] <= self.pin_ms[1]:
            raise ValueError("pin_ms must be (lo, hi) with 0 <= lo <= hi")


@dataclass(slots=True)
class KillRecord:
    """One LMKD kill and what its teardown did (sizes in device MiB, times in ms).

    ``anon_mb`` is the victim's anonymous memory that its kill frees (mapped by it alone:
    its own pages and its copies of the zygote heap); ``shared_anon_mb`` the rest of its
    RssAnon, zygote heap pages it still shares, which the kill only unmaps.
    """

    t_ms: int
    victim: str
    adj: int
    reason: str
    free_mb: float
    threshold_mb: float
    recoverable_mb: float
    redundant: bool
    anon_mb: float
    excl_cached_mb: float
    shared_anon_mb: float = 0.0
    outcome: str = "pending"
    won_race: bool = False
    pinned: bool = False
    reap_done_ms: int | None = None
    teardown_ms: int | None = None
    excl_left_cached_mb: float | None = None

    @property
    def excl_evicted_mb(self) -> float | None:
        """Exclusive clean file pages gone between the kill and the end of the teardown."""
        if self.excl_left_cached_mb is None:
            return None
        return self.excl_cached_mb - self.excl_left_cached_mb


@dataclass(frozen=True, slots=True)
class Relaunch:
    """The cold start of a killed app (sizes in device MiB)."""

    app: str
    t_ms: int
    excl_mb: float
    cached_at_start_mb: float
    read_mb: float
    refault_mb: float
    read_ms: float
    done_ms: int | None


@dataclass(frozen=True, slots=True)
class RunResult:
    """Everything one run measured (see the module docstring)."""

    scenario: Scenario
    kills: tuple[KillRecord, ...]
    free_mb: tuple[float, ...]
    sample_ms: int
    onset_ms: int | None
    recovered_ms: int | None
    stall_ms: float
    launch_done_ms: int | None
    relaunch: Relaunch | None
    model_pages: int

    @property
    def n_kills(self) -> int:
        """Number of kills."""
        return len(self.kills)

    @property
    def n_redundant(self) -> int:
        """Kills a perfect accountant would not have made."""
        return sum(k.redundant for k in self.kills)

    @property
    def recovery_ms(self) -> int | None:
        """Pressure onset to memory recovered."""
        if self.onset_ms is None or self.recovered_ms is None:
            return None
        return self.recovered_ms - self.onset_ms

    def kills_before(self, t_ms: int) -> int:
        """Kills decided before ``t_ms``."""
        return sum(k.t_ms < t_ms for k in self.kills)

    def summary(self) -> dict[str, object]:
        """One row of headline numbers."""
        rl = self.relaunch
        evicted = [k.excl_evicted_mb for k in self.kills if k.excl_evicted_mb is not None]
        left = [k.excl_left_cached_mb for k in self.kills if k.excl_left_cached_mb is not None]
        return {
            "variant": self.scenario.variant,
            "seed": self.scenario.seed,
            "kills": self.n_kills,
            "redundant": self.n_redundant,
            "ESRCH": sum(k.outcome == ESRCH for k in self.kills),
            "recovery ms": self.recovery_ms,
            "stall ms": round(self.stall_ms, 1),
            "evicted at reap MiB": round(sum(evicted), 1),
            "left cached MiB": round(sum(left), 1),
            "relaunch read MiB": None if rl is None else round(rl.read_mb, 1),
            "relaunch refault MiB": None if rl is None else round(rl.refault_mb, 1),
        }


# ---------------------------------------------------------------------------------------
# The workload
# ---------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class _Fill:
    """Fault in ``mapping`` of ``proc`` at ``pages_per_s`` from ``start_ms`` (model pages)."""

    proc: Process
    mapping: Mapping
    start_ms: int
    pages_per_s: int
    write: bool
    total: int
    done: int = 0

    def want(self, t_ms: int) -> int:
        due = min(self.total, (t_ms - self.start_ms + 1) * self.pages_per_s // 1000)
        return max(0, due - self.done)


@dataclass(slots=True, eq=False)
class _Victim:
    app: App
    record: KillRecord
    pidfd: int
    mm: MmStruct
    excl_file_pages_cached: int = 0
    reap: WorkResult | None = None
    reaper: int = -1
    done: bool = False


@dataclass(slots=True, eq=False)
class _Relaunching:
    app: App
    t_ms: int
    fills: list[_Fill]
    cached0: int
    pool0: int
    refault0: int


class _Run:
    """The mutable state of one run (see the module docstring for the order of a tick)."""

    def __init__(self, sc: Scenario, dev: Device) -> None:
        self.sc = sc
        self.dev = dev
        self.k = dev.kernel
        cfg = dev.cfg
        self.cfg = cfg
        self.lm = sc.lmkd
        self.reap_kill = VARIANTS[sc.variant][2]
        self.wmin, self.wlow, self.whigh = (cfg.pages(cfg.wmark_min_mb),
                                            cfg.pages(cfg.wmark_low_mb),
                                            cfg.pages(cfg.wmark_high_mb))
        self.lmkd = self.k.spawn("lmkd", uid=0)
        self.reapers = [self.lmkd.clone_thread() for _ in range(self.lm.reapers)]
        self.reaper_busy: list[_Victim | None] = [None] * self.lm.reapers
        self.t = 0
        self.events: list[tuple[int, int, Callable[[], None]]] = []
        self.seq = itertools.count()
        self.fills: list[_Fill] = []
        self.kswapd_awake = False
        self.kswapd_busy_until = 0
        self.kswapd_failures = 0
        self.direct_retry_at = 0
        self.direct_credit = 0
        self.budget_ns = 0
        self.stall: deque[int] = deque()  # stall µs of the last psi_window ticks
        self.stall_sum = 0
        self.stall_total_us = 0
        self.polling_until = -1
        self.next_poll = -1
        self.kill_wait: _Victim | None = None
        self.cycle_after_kill = False
        self.victims: list[_Victim] = []
        self.kills: list[KillRecord] = []
        self.samples: list[float] = []
        self.onset: int | None = None
        self.recovered_at: int | None = None
        self.launch_fills: list[_Fill] = []
        self.launch_done: int | None = None
        self.relaunching: _Relaunching | None = None
        self.relaunch: Relaunch | None = None
        self.stalled_now = False

    # --- helpers ---------------------------------------------------------------------

    def at(self, t_ms: int, fn: Callable[[], None]) -> None:
        heapq.heappush(self.events, (t_ms, next(self.seq), fn))

    def free(self) -> int:
        return self.dev.free_pages()

    def mb(self, pages: int) -> float:
        return self.cfg.mb(pages)

    def per_s(self, mb_s: float) -> int:
        """A rate in device MiB/s as model pages per second."""
        return self.cfg.pages(mb_s)

    # --- workload ----------------------------------------------------------------------

    def start_launch(self) -> None:
        sc, dev = self.sc, self.dev
        for app in dev.apps:  # the user switches apps (§L7.3)
            if app.adj == 0:
                app.adj = 700
            elif app.adj == 700:
                app.adj = 905
        excl_mb = sc.launch_file_mb * sc.launch_excl_frac
        shared_mb = sc.launch_file_mb - excl_mb
        spec = AppSpec("game", "foreground", 0, float(sc.launch_anon_mb), 0.0, excl_mb,
                       shared_mb, 0.0)
        app = self._new_app(spec)
        dur_s = sc.launch_dur_ms / 1000
        pool_pages = min(self.cfg.pages(shared_mb), app.pool.nr_pages)
        for m, total, write in ((app.anon, app.anon.nr_pages, True),
                                (app.heap, cow_pages(self.dev), True),
                                (app.excl, app.excl.nr_pages, False),
                                (app.pool, pool_pages, False)):
            if total:
                f = _Fill(app.process, m, self.t, max(1, round(total / dur_s)), write, total)
                self.fills.append(f)
                self.launch_fills.append(f)

    def _new_app(self, spec: AppSpec, excl_file: Inode | None = None) -> App:
        """Fork an app from the zygote (``excl_file``: its APK, if it ran before)."""
        return new_app(self.dev, spec, excl_file=excl_file, dirty_pages=1, born_ms=self.t)

    def start_relaunch(self) -> None:
        sc = self.sc
        if not self.victims:
            return
        old = self.victims[0].app
        for app in self.dev.apps:
            if app.adj == 0:
                app.adj = 700
        spec = AppSpec(old.spec.name, old.spec.role, 0, old.spec.anon_mb, 0.0,
                       old.spec.excl_mb, old.spec.shared_mb, 0.0)
        app = self._new_app(spec, excl_file=old.excl_file)
        fills = [
            _Fill(app.process, app.excl, self.t, self.per_s(sc.relaunch_file_mb_s), False,
                  app.excl.nr_pages),
            _Fill(app.process, app.pool, self.t, self.per_s(sc.relaunch_file_mb_s), False,
                  min(self.cfg.pages(spec.shared_mb), app.pool.nr_pages)),
            _Fill(app.process, app.anon, self.t, self.per_s(sc.relaunch_anon_mb_s), True,
                  app.anon.nr_pages),
            _Fill(app.process, app.heap, self.t, self.per_s(sc.relaunch_anon_mb_s), True,
                  cow_pages(self.dev)),
        ]
        fills = [f for f in fills if f.total]
        self.fills.extend(fills)
        self.relaunching = _Relaunching(
            app, self.t, fills, app.excl_file.i_mapping.nrpages,
            self.dev.pool_file.i_mapping.nrpages,
            self.k.vm_events.get("WORKINGSET_REFAULT_FILE", 0),
        )

    def _folio_pages(self) -> int:
        """The most a file fault can read at once, in model pages: the readahead window
        (read-around; ``read_ahead_kb / scale`` model pages), or the fixed-order folio."""
        o = self.cfg.file_folio_order
        window = self.cfg.read_ahead_kb // self.cfg.page_kb // self.cfg.scale
        return max(1, window) if o is None else 1 << o

    def allocate(self) -> None:
        """Fault in what each fill is due, reclaiming directly under the min watermark."""
        stalled = False
        stall_us = 0
        for f in self.fills:
            want = f.want(self.t)
            if not want:
                continue
            margin = self._folio_pages() if not f.write else 1
            avail = self.free() - self.wmin - margin
            if avail < want and self.t >= self.direct_retry_at:
                need = max(want - avail, max(1, DIRECT_RECLAIM_MIN // self.cfg.scale))
                got = self.k.reclaim(need)
                if got:
                    self.kswapd_failures = 0  # progress re-enables kswapd, as in shrink_node()
                else:
                    self.direct_retry_at = self.t + KSWAPD_BATCH_MS
                # direct reclaim time, charged to the allocating task
                self.direct_credit += got * 1_000_000
                rate = self.per_s(self.cfg.direct_mb_s)
                stall_us += self.direct_credit // rate
                self.direct_credit %= rate
                avail = self.free() - self.wmin - margin
            n = max(0, min(want, avail))
            if n:
                done = f.proc.touch(f.mapping, write=f.write, start=f.done, nr_pages=n)
                f.done += done
            if n < want:
                stalled = True
        self.fills = [f for f in self.fills if f.done < f.total]
        if stalled:
            stall_us = self.sc.tick_ms * 1000
        self.stalled_now = stalled
        self.account_stall(stall_us)

    def account_stall(self, us: int) -> None:
        self.stall.append(us)
        self.stall_sum += us
        self.stall_total_us += us
        if len(self.stall) > self.lm.psi_window_ms // self.sc.tick_ms:
            self.stall_sum -= self.stall.popleft()

    # --- kswapd ------------------------------------------------------------------------

    def kswapd(self) -> None:
        """Wake under low, sleep at high; reclaim in batches of ``kswapd_batch_ms`` worth
        of pages, each batch keeping kswapd busy for the time its rate says."""
        free = self.free()
        if free < self.wlow and self.kswapd_failures < MAX_RECLAIM_RETRIES:
            self.kswapd_awake = True
        if not self.kswapd_awake or self.t < self.kswapd_busy_until:
            return
        if free >= self.whigh:
            self.kswapd_awake = False
            return
        rate = self.per_s(self.cfg.kswapd_mb_s)
        if rate <= 0:
            return
        batch = max(1, rate * KSWAPD_BATCH_MS // 1000)
        n = min(batch, self.whigh - free)
        got = self.k.reclaim(n)
        if got == 0:  # balance_pgdat() made no progress
            self.kswapd_failures += 1
            if self.kswapd_failures >= MAX_RECLAIM_RETRIES:
                self.kswapd_awake = False  # kswapd_failures: stays asleep until progress
                return
            self.kswapd_busy_until = self.t + KSWAPD_BATCH_MS
            return
        self.kswapd_failures = 0
        self.kswapd_busy_until = self.t + max(1, -(-got * 1000 // rate))

    # --- kernel work -------------------------------------------------------------------

    def run_kernel(self) -> None:
        """Let the model run kernel work worth ``tick_ms`` of device time."""
        k = self.k
        self.budget_ns += self.sc.tick_ms * 1_000_000 // self.cfg.scale
        while self.budget_ns > 0:
            t0 = k.clock_ns
            if not k.step():
                self.budget_ns = 0
                break
            self.budget_ns -= k.clock_ns - t0

    # --- LMKD --------------------------------------------------------------------------

    def lmkd_tick(self) -> None:
        lm = self.lm
        if self.stall_sum >= lm.psi_partial_stall_ms * 1000 and self.t > self.polling_until:
            self.polling_until = self.t + lm.psi_window_ms  # PSI event: poll for a window
            self.next_poll = self.t
        w = self.kill_wait
        if w is not None:
            if w.app.process.task.exit_state or self.t >= w.record.t_ms + lm.kill_timeout_ms:
                self.kill_wait = None  # pidfd fired or timeout: POLLING_RESUME
                self.cycle_after_kill = True
                self.polling_until = max(self.polling_until, self.t + lm.psi_window_ms)
                self.next_poll = self.t
            else:
                return
        if self.t <= self.polling_until and self.t >= self.next_poll:
            self.next_poll = self.t + lm.poll_ms
            self.poll()

    def poll(self) -> None:
        free = self.free()
        d = decide(self.lm, free, self.wlow, self.whigh, self.cycle_after_kill)
        self.cycle_after_kill = False
        if d is None:
            return
        rss = {a.process.pid: sum(a.process.task.mm.rss_stat) if a.process.task.mm else 0
               for a in self.dev.apps}
        victim = pick_victim(self.dev.apps, d.min_adj, rss)
        if victim is None:
            return
        self.kill(victim, free, d.reason, d.threshold)

    def recoverable(self) -> int:
        """Pages earlier victims gave up that the kernel has not returned yet."""
        total = 0
        for v in self.victims:
            if v.mm.rss_stat[MM_ANONPAGES] > 0:  # only its own pages (not the zygote's)
                total += exclusive_anon_pages(v.mm)
            if not any(a.excl_file is v.app.excl_file for a in self.dev.apps):
                st = self.k.cachestat(v.app.excl_file)
                total += st.nr_cache - st.nr_dirty
        return total

    def kill(self, app: App, free: int, reason: str, threshold: int) -> None:
        p = app.process
        mm = p.task.mm
        assert mm is not None
        rec_pages = self.recoverable()
        own_anon = exclusive_anon_pages(mm)
        rec = KillRecord(
            t_ms=self.t, victim=app.spec.name, adj=app.adj, reason=reason,
            free_mb=self.mb(free), threshold_mb=self.mb(threshold),
            recoverable_mb=self.mb(rec_pages), redundant=free + rec_pages >= threshold,
            anon_mb=self.mb(own_anon),
            shared_anon_mb=self.mb(mm.rss_stat[MM_ANONPAGES] - own_anon),
            excl_cached_mb=self.mb(app.excl_file.i_mapping.nrpages),
        )
        self.dev.apps.remove(app)
        self.fills = [f for f in self.fills if f.proc is not p]  # a dead app allocates no more
        p.freeze()  # a cached app is frozen; it runs its exit when the race says so
        fd = self.lmkd.pidfd_open(p.pid)
        v = _Victim(app, rec, fd, mm)
        self.victims.append(v)
        self.kills.append(rec)
        self.kill_wait = v
        self.polling_until = max(self.polling_until, self.t + self.lm.psi_window_ms)
        self.at(self.t + self.lm.pre_kill_us // 1000, lambda: self.reaper_start(v))

    def reaper_start(self, v: _Victim) -> None:
        """The reaper thread's part (``reaper.cpp``), or SIGKILL alone if none is free."""
        idx = next((i for i, busy in enumerate(self.reaper_busy) if busy is None), None)
        victim = v.app.process
        if idx is None:
            self.lmkd.pidfd_send_signal(v.pidfd, signal.SIGKILL)
            victim.thaw()
            v.record.outcome = NO_REAP
            return
        self.reaper_busy[idx] = v
        v.reaper = idx
        reaper = self.reapers[idx]
        if self.reap_kill:
            self.start_mrelease(v, PROCESS_MRELEASE_REAP_KILL)
            victim.thaw()
            return
        reaper.pidfd_send_signal(v.pidfd, signal.SIGKILL)
        rng = random.Random(self.sc.seed * 1_000_003 + len(self.kills) * 7919 + 1)
        if rng.random() < self.sc.p_esrch:
            v.record.won_race = True
            if rng.random() < self.sc.p_pin:
                v.record.pinned = True
                self.pin(v, rng.randint(*self.sc.pin_ms))
            victim.thaw()
            self.k.run_until(lambda: victim.task.mm is None, task=victim.task)
        delay = self.lm.set_prio_us // 1000
        self.at(self.t + delay, lambda: self.after_set_prio(v))

    def after_set_prio(self, v: _Victim) -> None:
        self.start_mrelease(v, 0)
        v.app.process.thaw()

    def pin(self, v: _Victim, hold_ms: int) -> None:
        reader = self.k.spawn(f"statsd{len(self.kills)}", uid=0)
        read = reader.read_proc(v.app.process.pid, "cmdline", block=True)
        self.at(self.t + hold_ms, read.release)

    def start_mrelease(self, v: _Victim, flags: int) -> None:
        reaper = self.reapers[v.reaper]
        k = self.k
        gen = k.series.process_mrelease(reaper.task, v.pidfd, flags)
        v.reap = k.start(reaper.task, gen, "process_mrelease")

    def track_victims(self) -> None:
        for v in self.victims:
            if v.reap is not None and v.reap.done and v.record.reap_done_ms is None:
                rc = v.reap.value
                v.record.reap_done_ms = self.t
                v.record.outcome = "0" if rc == 0 else _errname(rc)
                self.reaper_busy[v.reaper] = None
                self.lmkd.close(v.pidfd)
            if not v.done and sum(v.mm.rss_stat) == 0 and v.app.process.task.exit_state:
                v.done = True
                v.record.teardown_ms = self.t - v.record.t_ms
                v.record.excl_left_cached_mb = self.mb(v.app.excl_file.i_mapping.nrpages)
                self.dev.zygote.waitpid(v.app.process.pid)  # the zygote reaps its child

    # --- the loop ----------------------------------------------------------------------

    def idle(self) -> bool:
        """Nothing can change until the next event: no fills due, kswapd asleep, no
        runnable kernel work, LMKD neither waiting nor polling."""
        from mrelease_ref.sim.sched import pick_next

        return (not self.fills and not self.kswapd_awake and self.kill_wait is None
                and self.t > self.polling_until and pick_next(self.k) is None
                and all(v.done for v in self.victims) and self.stall_sum == 0)

    def tick(self) -> None:
        while self.events and self.events[0][0] <= self.t:
            _, _, fn = heapq.heappop(self.events)
            fn()
        self.allocate()
        self.kswapd()
        self.run_kernel()
        self.track_victims()
        self.lmkd_tick()
        self.observe()

    def observe(self) -> None:
        free = self.free()
        if self.onset is None and free < self.wlow:
            self.onset = self.t
        if (self.recovered_at is None and self.onset is not None
                and self.launch_done is not None and free >= self.whigh):
            self.recovered_at = self.t
        if self.launch_done is None and self.launch_fills and all(
            f.done >= f.total for f in self.launch_fills
        ):
            self.launch_done = self.t
        r = self.relaunching
        if r is not None and self.relaunch is None and all(f.done >= f.total for f in r.fills):
            self.finish_relaunch(r)
        if self.t % self.sc.sample_ms == 0:
            self.samples.append(self.mb(free))

    def finish_relaunch(self, r: _Relaunching, done: bool = True) -> None:
        read = (r.app.excl_file.i_mapping.nrpages - r.cached0
                + max(0, self.dev.pool_file.i_mapping.nrpages - r.pool0))
        refault = self.k.vm_events.get("WORKINGSET_REFAULT_FILE", 0) - r.refault0
        read_mb = self.mb(read)
        self.relaunch = Relaunch(
            app=r.app.spec.name, t_ms=r.t_ms, excl_mb=self.mb(r.app.excl_file.i_size),
            cached_at_start_mb=self.mb(r.cached0), read_mb=read_mb,
            refault_mb=self.mb(refault), read_ms=read_mb * 1000 / self.sc.read_mb_s,
            done_ms=self.t if done else None,
        )

    def run(self) -> RunResult:
        sc = self.sc
        self.at(sc.launch_ms, self.start_launch)
        if sc.relaunch_ms is not None:
            self.at(sc.relaunch_ms, self.start_relaunch)
        while self.t < sc.horizon_ms:
            self.tick()
            self.t += sc.tick_ms
            if self.idle():
                self.skip_idle()
        r = self.relaunching
        if r is not None and self.relaunch is None:  # not finished within the horizon
            self.finish_relaunch(r, done=False)
        return RunResult(
            scenario=sc, kills=tuple(self.kills), free_mb=tuple(self.samples),
            sample_ms=sc.sample_ms, onset_ms=self.onset, recovered_ms=self.recovered_at,
            stall_ms=self.stall_total_us / 1000, launch_done_ms=self.launch_done,
            relaunch=self.relaunch, model_pages=self.k.zone.managed_pages,
        )

    def skip_idle(self) -> None:
        """Jump to the next event, sampling free memory (unchanged) on the way."""
        nxt = self.events[0][0] if self.events else self.sc.horizon_ms
        nxt = min(nxt, self.sc.horizon_ms)
        free = self.mb(self.free())
        while self.t < nxt:
            if self.t % self.sc.sample_ms == 0:
                self.samples.append(free)
            self.stall.append(0)
            if len(self.stall) > self.lm.psi_window_ms // self.sc.tick_ms:
                self.stall.popleft()
            self.t += self.sc.tick_ms


def _errname(rc: int) -> str:
    import errno

    return errno.errorcode.get(-rc, str(rc))


def run(sc: Scenario, dev: Device | None = None) -> RunResult:
    """Run ``sc`` (building its device unless ``dev`` is given; a device runs once)."""
    if dev is None:
        variant, patches, _ = VARIANTS[sc.variant]
        dev = build_device(sc.device, variant, patches=patches, seed=sc.seed)
    return _Run(sc, dev).run()

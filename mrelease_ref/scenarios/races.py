"""The kill/``process_mrelease()`` race as a world the explorer can enumerate (not kernel code).

Issue 10 of the project: today user space sends SIGKILL and then calls
``process_mrelease()``; in between the victim may clear ``->mm`` in ``exit_mm()`` (the call
fails with ESRCH), and if someone else holds ``mm_users`` -- a ``/proc/<pid>/cmdline`` or
``smaps`` reader, a CLONE_VM sharer, a vfork child -- the memory stays until that holder
lets go (docs/sources.md §T4.4; v1 cover letter
https://lore.kernel.org/r/20260421230239.172582-1-minchan@kernel.org). REAP_KILL
(v1: ``mmget()``, v2/v3: ``mmgrab()``) and the thread's alternatives
(:data:`mrelease_ref.variants.ALTERNATIVES`) each change some of that.

:class:`RaceWorld` builds one Kernel per run (``debug_vm=True``: the invariant checker runs
after every step; ``RaceSpec.options``: further ``Kernel()`` settings, e.g. those of
``Kernel.android()``) with a victim owning one anonymous VMA of ``nr_pmds`` PMDs
(``pages_per_pmd`` pages written in each; a PMD spans ``k.pg.PTRS_PER_PTE`` pages: 512 of
4 KiB, 2048 of 16 KiB), LMKD with a pidfd, and the holders asked for.
Its actors, each a task whose kernel steps the explorer orders:

* ``victim`` -- once killed: signal delivery, PF_EXITING, ``exit_mm()`` (``->mm = NULL``
  under the task lock), ``mmput()``, and ``exit_mmap()`` PMD by PMD if it is the last user;
* ``caller`` -- LMKD: ``kill()``, back to user space, ``process_mrelease(fd, 0)``; or one
  ``process_mrelease(fd, REAP_KILL)`` for the REAP_KILL versions; or (``expedite``) one
  ``pidfd_send_signal(fd, SIGKILL, PIDFD_SIGNAL_PROCESS_GROUP_EXPEDITE)``;
* ``reader`` -- ``/proc/<pid>/cmdline``: ``get_task_mm()``, the read, a ``copy_to_user()``
  that faults (the read's second step), ``mmput()`` (through ``Kernel.series``:
  ``proc_mm_count`` changes it);
* ``smaps`` -- ``/proc/<pid>/smaps`` opened before the race (``mm_count``), one ``read()``:
  ``m_start()`` (``mmget_not_zero()``, read lock; ``smaps_esrch`` changes it), the VMA
  walk, ``m_stop()`` (``mmput()``), then close;
* ``sharer`` / ``vfork`` -- a CLONE_VM process or a vfork child of the victim; it does
  nothing unless killed (v3 kills it), so a sharer that survives keeps the memory.

Each finished schedule gives a :class:`RaceOutcome`: the call's return value, the pages each
actor freed, the pages still allocated when the call returned and at the end, and who ran
``exit_mmap()``.

Limitations:
- One anonymous VMA; no file pages (the alternatives differ in who frees, not in what).
- The holders do one read (or nothing); user-space work of the sharers is not modelled.
- ``caller`` reaches ``process_mrelease()`` without a syscall-entry step; time (for
  :func:`esrch_curve`) is the cost model's, plus ``wakeup_ns`` for the victim's first step.
- :func:`rerun_worlds` compares the one-PMD, one-page worlds with the invariant checker
  off (on ``Kernel.android()`` it walks 4 GiB of swap slots every step); the notebook's
  2 x 2 worlds gave the same verdicts when run once (2026-12-03).
"""

from __future__ import annotations

import dataclasses
import errno
import random
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from mrelease_ref.fs.proc.base import UserBuffer
from mrelease_ref.fs.proc.task_mmu import (
    ProcMapsPrivate,
    proc_map_release,
    proc_maps_open,
    smaps_read,
)
from mrelease_ref.include.linux.mm_types import GEOMETRIES, PAGE_SIZES, MmStruct, PageGeometry
from mrelease_ref.include.uapi.linux.mman import PROCESS_MRELEASE_REAP_KILL
from mrelease_ref.kernel.sched import KernelGen, cond_resched, schedule_timeout
from mrelease_ref.kernel.signal import SIGKILL, sys_kill
from mrelease_ref.scenarios.patch2 import Options
from mrelease_ref.sim.cost import CostModel
from mrelease_ref.sim.explore import Exploration, explore, replay, run_out, sample
from mrelease_ref.sim.kernel import Kernel, WorkResult
from mrelease_ref.sim.process import Process
from mrelease_ref.sim.sched import _advance_clock

if TYPE_CHECKING:
    from mrelease_ref.scenarios.configs import AndroidRerun

REAP_KILL: Final = PROCESS_MRELEASE_REAP_KILL
REAP_KILL_VERSIONS: Final = ("rfc", "v1", "d", "v2", "v3")
"""Versions whose caller uses one ``process_mrelease(fd, REAP_KILL)``."""

HOLDERS: Final = ("reader", "smaps", "sharer", "vfork")
"""The holders a world may have (see the module docstring)."""

COMPARED: Final = ("baseline", "v1", "v2", "v3", "linus_exit_mmap_wlock", "proc_mm_count",
                   "smaps_esrch", "exit_mm_field", "expedite")
"""The kernels notebook 04 compares: the baseline, the REAP_KILL versions and the
alternatives."""


def geometry(options: Options) -> PageGeometry:
    """The page geometry a Kernel built with ``options`` has (``page_size``, default
    4096)."""
    size = dict(options).get("page_size", 4096)
    if size not in PAGE_SIZES:
        raise ValueError(f"page_size must be one of {PAGE_SIZES} (bytes), got {size!r}")
    return GEOMETRIES[size]


@dataclass(frozen=True, slots=True)
class RaceSpec:
    """One race world: the kernel, the holders, the victim's size, the caller's flags
    (``None``: REAP_KILL for :data:`REAP_KILL_VERSIONS`, else 0) and, for sampling only,
    the caller's delay between ``kill()`` and ``process_mrelease()`` and the victim's
    wake-up latency. ``options`` are further ``Kernel()`` settings (pairs, or a mapping,
    e.g. ``tuple(ANDROID.items())``); ``pages_per_pmd`` is at most a PMD's pages
    (``PTRS_PER_PTE`` of their ``page_size``)."""

    variant: str = "baseline"
    holders: tuple[str, ...] = ()
    nr_pmds: int = 2
    pages_per_pmd: int = 2
    flags: int | None = None
    delay_ns: int = 0
    wakeup_ns: int = 0
    options: Options = ()

    def __post_init__(self) -> None:
        bad = [h for h in self.holders if h not in HOLDERS]
        if bad:
            raise ValueError(f"unknown holders {bad}; choose from {list(HOLDERS)}")
        if len(set(self.holders)) != len(self.holders):
            raise ValueError("each holder at most once")
        opts: Any = self.options
        if isinstance(opts, Mapping):
            opts = tuple(opts.items())
        if not isinstance(opts, tuple) or not all(
                isinstance(o, tuple) and len(o) == 2 and isinstance(o[0], str) for o in opts):
            raise TypeError("options must be (name, value) pairs or a mapping of Kernel() "
                            "settings, e.g. tuple(ANDROID.items())")
        object.__setattr__(self, "options", opts)
        ptrs = self.pg.PTRS_PER_PTE
        if self.nr_pmds < 1 or not 1 <= self.pages_per_pmd <= ptrs:
            raise ValueError(f"nr_pmds >= 1 and 1 <= pages_per_pmd <= {ptrs} (PTRS_PER_PTE "
                             "of the page size)")
        if self.delay_ns < 0 or self.wakeup_ns < 0:
            raise ValueError("delay_ns and wakeup_ns must be >= 0")

    @property
    def call_flags(self) -> int:
        """The flags LMKD passes."""
        if self.flags is not None:
            return self.flags
        return REAP_KILL if self.variant in REAP_KILL_VERSIONS else 0

    @property
    def pg(self) -> PageGeometry:
        """The page geometry of the world's Kernel."""
        return geometry(self.options)

    @property
    def victim_pages(self) -> int:
        """Pages of victim memory (all anonymous, all written)."""
        return self.nr_pmds * self.pages_per_pmd


@dataclass(frozen=True, slots=True)
class RaceOutcome:
    """The result of one finished schedule (see :class:`RaceWorld`)."""

    rc: str
    freed_by: tuple[tuple[str, int], ...]
    left_at_return: int
    left_at_end: int
    exit_mmap_by: str
    users_at_return: int = 0

    def freed(self, actor: str) -> int:
        """Pages ``actor`` freed."""
        return dict(self.freed_by).get(actor, 0)

    @property
    def trapped(self) -> int:
        """Pages trapped by a holder: the call returned with them allocated while the
        address space still had users (its teardown had not begun), and the last
        ``mmput()`` -- the one that ran ``exit_mmap()`` -- was a holder's, or never came."""
        if self.users_at_return > 0 and (self.exit_mmap_by in HOLDERS or self.left_at_end):
            return self.left_at_return
        return 0


def errname(ret: int) -> str:
    """``0`` or the errno name of a negative return value."""
    return "0" if ret == 0 else errno.errorcode[-ret]


def _kill_then_mrelease(k: Kernel, current: Process, pid: int, fd: int,
                        delay_ns: int) -> KernelGen[int]:
    """LMKD today: ``kill(pid, SIGKILL)``, return to user space (optionally sleep
    ``delay_ns``), ``process_mrelease(fd, 0)``."""
    ret = sys_kill(current.task, pid, SIGKILL)
    if ret:
        return ret
    if delay_ns:
        yield schedule_timeout("usleep", k.clock_ns, delay_ns, lambda: k.clock_ns)
    else:
        yield cond_resched("return to user space")
    return (yield from k.series.process_mrelease(current.task, fd, 0))


def _smaps_reader(current: Process, priv: ProcMapsPrivate) -> KernelGen[int]:
    n = yield from smaps_read(current.task, priv)
    proc_map_release(priv)
    return n


@dataclass(slots=True)
class _Holder:
    name: str
    proc: Process
    start: Callable[[], KernelGen[int]] | None = None
    buf: UserBuffer | None = None
    started: bool = False


@dataclass(slots=True, eq=False)
class RaceWorld:
    """One run of the race (a :class:`~mrelease_ref.sim.explore.World`)."""

    spec: RaceSpec
    cost_model: CostModel | None = None
    trace: bool = False
    kernel: Kernel = field(init=False)
    victim: Process = field(init=False)
    mm: MmStruct = field(init=False)
    caller: Process = field(init=False)
    result: WorkResult = field(init=False)
    holders: dict[str, _Holder] = field(init=False)
    freed_by: dict[str, int] = field(init=False)
    rc: str | None = field(init=False, default=None)
    left_at_return: int = field(init=False, default=-1)
    returned_ns: int = field(init=False, default=-1)
    users_at_return: int = field(init=False, default=0)
    exit_mmap_by: str = field(init=False, default="")
    kill_ns: int = field(init=False, default=-1)
    freed_ns: int = field(init=False, default=-1)
    _free0: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        s = self.spec
        kw: dict[str, Any] = {"seed": 0, "debug_vm": True, "large_folios": False,
                              "trace": self.trace}
        kw.update(s.options)
        k = Kernel(s.variant, **kw)
        if self.cost_model is not None:
            k.cost_model = self.cost_model
        self.kernel = k
        self.caller = k.spawn("lmkd", 0)
        self.victim = v = k.spawn("app", 10001)
        per_pmd = k.pg.PTRS_PER_PTE
        m = v.mmap(s.nr_pmds * per_pmd)
        assert v.task.mm is not None
        self.mm = v.task.mm
        for i in range(s.nr_pmds):
            v.touch(m, write=True, start=i * per_pmd, nr_pages=s.pages_per_pmd)
        self.holders = {}
        for h in s.holders:
            self.holders[h] = self._holder(h)
        k.lru_add_drain_all()
        fd = self.caller.pidfd_open(v.pid)
        k.run()  # the kernel threads go to sleep
        if s.variant == "expedite":
            from mrelease_ref.series.expedite.kernel.signal import (
                PIDFD_SIGNAL_PROCESS_GROUP_EXPEDITE as EXPEDITE,
            )

            gen = k.series.sys_pidfd_send_signal(self.caller.task, fd, SIGKILL, EXPEDITE)
        elif s.call_flags & REAP_KILL:
            gen = k.series.process_mrelease(self.caller.task, fd, s.call_flags)
        else:
            gen = _kill_then_mrelease(k, self.caller, v.pid, fd, s.delay_ns)
        self.result = k.start(self.caller.task, gen, "lmkd")
        self.freed_by = {}
        self._free0 = k.zoneinfo()["free_with_pcp"]

    def _holder(self, name: str) -> _Holder:
        k, v = self.kernel, self.victim
        if name == "sharer":
            return _Holder(name, v.clone_vm("sharer"))
        if name == "vfork":
            return _Holder(name, v.clone_vm("vfork-child", vfork=True))
        proc = k.spawn("ps" if name == "reader" else "smaps-reader", 0)
        if name == "reader":
            h = _Holder(name, proc, buf=UserBuffer(faulting=True))
            buf = h.buf
            assert buf is not None
            h.start = lambda: k.series.get_task_cmdline(proc.task, v.task, buf)
            return h
        with k.running(proc.task):
            priv = proc_maps_open(v.task)
        return _Holder(name, proc, start=lambda: _smaps_reader(proc, priv))

    # --- World -------------------------------------------------------------------------

    def _task_of(self, actor: str) -> Process:
        if actor == "victim":
            return self.victim
        if actor == "caller":
            return self.caller
        return self.holders[actor].proc

    def _can_run(self, actor: str) -> bool:
        from mrelease_ref.sim.sched import _runnable

        h = self.holders.get(actor)
        if h is not None and h.start is not None and not h.started:
            return True
        t = self._task_of(actor).task
        if h is not None and h.buf is not None and h.buf.faulting and t.waiting is not None:
            return True  # the faulting copy_to_user() resolves: the read's next step
        return _runnable(t)

    def _victim_awake(self) -> bool:
        """The victim runs only ``wakeup_ns`` after the kill (sampling's wake-up latency)."""
        k = self.kernel
        return not self.spec.wakeup_ns or (
            self.kill_ns >= 0 and k.clock_ns >= self.kill_ns + self.spec.wakeup_ns)

    def enabled(self) -> list[str]:
        """Actors that can take a step (victim, caller, then holders in spec order). When
        none can, the clock moves to the next timed sleep or the victim's wake-up."""
        k = self.kernel
        while True:
            names = [a for a in ("victim", "caller", *self.spec.holders)
                     if self._can_run(a) and (a != "victim" or self._victim_awake())]
            if names:
                return names
            wake = self.kill_ns + self.spec.wakeup_ns
            victim_waits = self.spec.wakeup_ns and self._can_run("victim") and (
                self.kill_ns >= 0 and k.clock_ns < wake)
            if victim_waits:
                timed = [t.waiting.deadline_ns for t in k.runqueue if t.waiting is not None
                         and t.waiting.deadline_ns is not None and t.waiting.deadline_ns
                         > k.clock_ns]
                k.clock_ns = min([wake, *timed])
                continue
            if not _advance_clock(k):
                return names

    def step(self, actor: str) -> None:
        """One step of ``actor``; record what it freed and what the call returned."""
        k = self.kernel
        mm = self.mm
        users = mm.mm_users
        before = k.zoneinfo()["free_with_pcp"]
        h = self.holders.get(actor)
        t = self._task_of(actor).task
        if actor == "caller" and self.kill_ns < 0:
            self.kill_ns = k.clock_ns
        if h is not None and h.start is not None and not h.started:
            h.started = True
            k.start(t, h.start(), f"{actor} read")
        elif h is not None and h.buf is not None and h.buf.faulting:
            h.buf.faulting = False
        if not k.step(t):
            raise RuntimeError(f"{actor} could not run")
        freed = k.zoneinfo()["free_with_pcp"] - before
        if freed:
            self.freed_by[actor] = self.freed_by.get(actor, 0) + freed
        if users > 0 and mm.mm_users == 0:
            self.exit_mmap_by = actor
        if self.freed_ns < 0 and self._freed_total() >= self.spec.victim_pages:
            self.freed_ns = k.clock_ns
        if self.rc is None and self.result.done:
            self.rc = errname(self.result.value)
            self.left_at_return = self.spec.victim_pages - self._freed_total()
            self.returned_ns = k.clock_ns
            self.users_at_return = mm.mm_users

    def _freed_total(self) -> int:
        return self.kernel.zoneinfo()["free_with_pcp"] - self._free0

    def observations(self) -> Hashable:
        """Path facts the outcome depends on (part of the explorer's state key)."""
        return (tuple(sorted(self.freed_by.items())), self.rc, self.left_at_return,
                self.users_at_return, self.exit_mmap_by,
                tuple(h.started for h in self.holders.values()), self.kill_ns >= 0)

    def outcome(self) -> RaceOutcome:
        """The finished schedule's :class:`RaceOutcome`."""
        if self.rc is None:
            raise RuntimeError("the schedule ended before process_mrelease() returned")
        left = self.spec.victim_pages - self._freed_total()
        return RaceOutcome(self.rc, tuple(sorted(self.freed_by.items())),
                           self.left_at_return, left, self.exit_mmap_by or "(nobody)",
                           self.users_at_return)


def world(spec: RaceSpec) -> Callable[[], RaceWorld]:
    """A builder for :func:`~mrelease_ref.sim.explore.explore` and ``replay()``."""
    return lambda: RaceWorld(spec)


# --- exhaustive tables ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    """One distinct outcome of a variant's exhaustive exploration."""

    variant: str
    holders: tuple[str, ...]
    outcome: RaceOutcome
    schedules: int
    share: float
    witness: tuple[str, ...]


def outcome_table(spec: RaceSpec) -> tuple[list[OutcomeRow], Exploration]:
    """Explore every schedule of ``spec``; one row per distinct outcome."""
    ex = explore(world(spec))
    total = ex.schedules
    rows = []
    for o, n in ex.outcomes.items():
        assert isinstance(o, RaceOutcome)
        rows.append(OutcomeRow(spec.variant, spec.holders, o, n, n / total, ex.witnesses[o]))
    rows.sort(key=lambda r: (-r.schedules, repr(r.outcome)))
    return rows, ex


def as_records(rows: list[OutcomeRow]) -> list[dict[str, object]]:
    """Rows for pandas: return code, who freed what, what was left, schedules."""
    out = []
    for r in rows:
        o = r.outcome
        out.append({
            "variant": r.variant,
            "holders": "+".join(r.holders) or "-",
            "rc": o.rc,
            "freed by caller": o.freed("caller"),
            "freed by victim": o.freed("victim"),
            "freed by holder": sum(n for a, n in o.freed_by if a in HOLDERS),
            "left at return": o.left_at_return,
            "trapped": o.trapped,
            "left at end": o.left_at_end,
            "exit_mmap() by": o.exit_mmap_by,
            "schedules": r.schedules,
            "share": round(r.share, 4),
        })
    return out


@dataclass(frozen=True, slots=True)
class Summary:
    """Per variant: can the call fail with ESRCH, can memory be trapped, who may free."""

    variant: str
    holders: tuple[str, ...]
    schedules: int
    esrch_share: float
    trapped_share: float
    rcs: tuple[str, ...]


def summarise(rows: list[OutcomeRow]) -> Summary:
    """Fold an outcome table into :class:`Summary`."""
    total = sum(r.schedules for r in rows)
    esrch = sum(r.schedules for r in rows if r.outcome.rc == "ESRCH")
    trapped = sum(r.schedules for r in rows if r.outcome.trapped)
    rcs = tuple(sorted({r.outcome.rc for r in rows}))
    return Summary(rows[0].variant, rows[0].holders, total, esrch / total, trapped / total, rcs)


def timeline(spec: RaceSpec, schedule: tuple[str, ...]) -> list[dict[str, object]]:
    """Replay ``schedule`` and list each step: who ran, where it stopped, victim ``->mm``,
    ``mm_users``, pages freed so far (for the timeline figure of notebook 04)."""
    w = RaceWorld(spec, trace=True)
    rows: list[dict[str, object]] = []
    mm = w.mm
    for i, a in enumerate(schedule):
        w.step(a)
        t = w._task_of(a).task
        rows.append({"step": i, "actor": a,
                     "stopped at": t.waiting.label if t.waiting else (
                         w.kernel.steps[-1].label if w.kernel.steps else ""),
                     "victim ->mm": "set" if w.victim.task.mm is not None else "NULL",
                     "mm_users": mm.mm_users, "freed": w._freed_total(),
                     "call": w.rc or ""})
    return rows


def compare(variants: tuple[str, ...], holders: tuple[str, ...]) -> list[Summary]:
    """:func:`summarise` of :func:`outcome_table` for each variant, same holders."""
    return [summarise(outcome_table(RaceSpec(v, holders))[0]) for v in variants]


# --- sampling --------------------------------------------------------------------------------


def distribution(spec: RaceSpec, runs: int = 100, seed: int = 0,
                 cost_model: CostModel | None = None) -> list[tuple[RaceOutcome, int]]:
    """Seeded sampling of ``spec`` (with its delay and the cost model's clock): how many of
    ``runs`` random schedules end in each outcome, most frequent first."""
    counts: dict[RaceOutcome, int] = {}
    for _s, w in sample(lambda: RaceWorld(spec, cost_model), runs, seed):
        assert isinstance(w, RaceWorld)
        o = w.outcome()
        counts[o] = counts.get(o, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], repr(kv[0])))


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """ESRCH rate and kill-to-freed time at one delay between ``kill()`` and the call."""

    delay_ns: int
    runs: int
    esrch: int
    freed_ns_median: int

    @property
    def esrch_rate(self) -> float:
        """Fraction of runs whose call returned ESRCH."""
        return self.esrch / self.runs


def esrch_curve(delays_ns: list[int], runs: int, *, variant: str = "baseline",
                cost_model: CostModel | None = None,
                wakeup: Callable[[random.Random], int] | None = None,
                nr_pmds: int = 2, pages_per_pmd: int = 64, seed: int = 0,
                options: Options = ()) -> list[CurvePoint]:
    """Seeded sampling: for each delay, ``runs`` random schedules (uniform choice among
    the runnable actors at every step, the cost model's clock) of a caller that kills,
    sleeps ``delay_ns`` and calls ``process_mrelease(fd, 0)``. ``wakeup`` draws the
    victim's wake-up latency per run (time from the kill to its first kernel step; the
    model has none of its own). ``options``: further ``Kernel()`` settings (see
    :class:`RaceSpec`)."""
    rng = random.Random(seed)
    out = []
    for d in delays_ns:
        esrch = 0
        freed: list[int] = []
        for _ in range(runs):
            spec = RaceSpec(variant, (), nr_pmds, pages_per_pmd, 0, d,
                            wakeup(rng) if wakeup is not None else 0, options)
            w = RaceWorld(spec, cost_model)
            run_out(w, (), rng.choice)
            esrch += w.rc == "ESRCH"
            freed.append(w.freed_ns - w.kill_ns)
        freed.sort()
        out.append(CurvePoint(d, runs, esrch, freed[len(freed) // 2]))
    return out


def predict_trial(do_exit_us: float, call_us: float, variant: str = "baseline",
                  cost_model: CostModel | None = None, options: Options = ()) -> str:
    """The model's return code for one live trial of ``mrelease_ref.lab.race``: the victim
    starts its exit ``do_exit_us`` after the kill (the kernel's tracepoint time), the caller
    enters ``process_mrelease(fd, 0)`` ``call_us`` after it. Where both could run at the
    same model time the victim goes first. ``options``: further ``Kernel()`` settings."""
    spec = RaceSpec(variant, (), 1, 1, 0, max(0, int(call_us * 1000)),
                    max(1, int(do_exit_us * 1000)), options)
    w = RaceWorld(spec, cost_model)
    run_out(w, (), lambda en: en[0])
    assert w.rc is not None
    return w.rc


# --- on Android ------------------------------------------------------------------------------


ALT_SPECS: Final = (RaceSpec("baseline", ("reader",)), RaceSpec("baseline", ("smaps",)),
                    RaceSpec("v1", ("reader",)), RaceSpec("v2", ("reader",)),
                    RaceSpec("v3", ("reader",)), RaceSpec("linus_exit_mmap_wlock", ("reader",)),
                    RaceSpec("proc_mm_count", ("reader",)), RaceSpec("smaps_esrch", ("smaps",)),
                    RaceSpec("exit_mm_field", ("reader",)), RaceSpec("expedite", ("reader",)))
"""The worlds of notebook 04's side-by-side table of the alternatives (section 5)."""

ANDROID_FINDINGS: Final[tuple[tuple[str, str, tuple[RaceSpec, ...]], ...]] = (
    ("v6.18 returns ESRCH while every page is still allocated",
     "outcome_table() of the baseline, no holder", (RaceSpec("baseline"),)),
    ("with a /proc reader the memory waits for the reader, and exit_mmap() runs in it",
     "outcome_table() of the baseline with a cmdline reader, and with an smaps reader",
     (RaceSpec("baseline", ("reader",)), RaceSpec("baseline", ("smaps",)))),
    ("REAP_KILL removes ESRCH and trapped memory; only v1 can bill exit_mmap() to LMKD",
     "outcome_table() of v1, v2, v3 with a cmdline reader",
     tuple(RaceSpec(v, ("reader",)) for v in ("v1", "v2", "v3"))),
    ("with sharers only v3 frees the memory, and v2 reaps a live vfork child's memory",
     "outcome_table() of baseline, v1, v2, v3 with a CLONE_VM sharer, and with a vfork "
     "child", tuple(RaceSpec(v, (h,)) for h in ("sharer", "vfork")
                    for v in ("baseline", "v1", "v2", "v3"))),
    ("of the no-new-API fixes, only the exit_mm fallback removes ESRCH and trapping [I]",
     "outcome_table() of every world of the alternatives table (section 5)", ALT_SPECS),
)
"""Notebook 04's model findings re-run on ``Kernel.android()`` (heading without
``Finding:``, what is compared, the notebook's worlds that are its evidence). The live
finding (section 7) is not here: its evidence is a timing measurement of this VM."""

_NO_CHECKER: Final[Options] = (("debug_vm", False),)

Records = tuple[dict[str, object], ...]


@dataclass(frozen=True, slots=True)
class SpecRerun:
    """One world of notebook 04 explored on the default Kernel and with other options: the
    :func:`as_records` of both outcome tables (every count is in pages)."""

    spec: RaceSpec
    default: Records
    other: Records

    @property
    def identical(self) -> bool:
        """Same outcomes, page counts and schedule counts."""
        return self.default == self.other


def rerun_worlds(options: Options, nr_pmds: int = 1, pages_per_pmd: int = 1
                 ) -> list[SpecRerun]:
    """Every world of :data:`ANDROID_FINDINGS` (each once, in order), with a victim of
    ``nr_pmds`` PMDs of ``pages_per_pmd`` written pages, explored on the default Kernel and
    with ``options`` on top (e.g. ``tuple(ANDROID.items())``).

    The default is the smallest world, one PMD with one page: each finding's check
    (:func:`android_findings`) holds in it, and it explores in seconds. The notebook's
    2 x 2 worlds give the same verdicts but take several times as long, mostly on 16 KiB
    pages, where the explorer's state digest walks 2048-entry PTE tables. Both runs have
    the invariant checker off (``debug_vm=False``: it checks, it changes no outcome;
    notebook 04 and the races tests run with it): on ``Kernel.android()`` its walk of
    4 GiB of swap slots costs tenths of a second a step."""
    out: list[SpecRerun] = []
    seen: set[RaceSpec] = set()
    for _f, _m, specs in ANDROID_FINDINGS:
        for spec in specs:
            if spec in seen:
                continue
            seen.add(spec)
            small = dataclasses.replace(spec, nr_pmds=nr_pmds, pages_per_pmd=pages_per_pmd)
            tables = [tuple(as_records(outcome_table(dataclasses.replace(
                small, options=(*spec.options, *o, *_NO_CHECKER)))[0]))
                for o in ((), options)]
            out.append(SpecRerun(small, *tables))
    return out


def _schedules(rows: Records) -> int:
    return sum(int(str(r["schedules"])) for r in rows)


def rerun_table(runs: list[SpecRerun]) -> list[dict[str, object]]:
    """Rows for pandas: per world, schedules and distinct outcomes on each configuration,
    and whether the outcome tables are identical."""
    return [{"kernel": r.spec.variant, "holders": "+".join(r.spec.holders) or "-",
             "victim pages": r.spec.victim_pages, "schedules": _schedules(r.default),
             "schedules (Android)": _schedules(r.other), "outcomes": len(r.default),
             "outcomes (Android)": len(r.other),
             "outcome tables": "identical" if r.identical else "differ"} for r in runs]


def _checks(tables: dict[tuple[str, tuple[str, ...]], Records], pages: int) -> list[bool]:
    """Each finding's claim (the notebook's checks) on one configuration's outcome tables,
    in :data:`ANDROID_FINDINGS` order."""

    def rows(v: str, *h: str) -> Records:
        return tables[v, h]

    def any_of(v: str, h: tuple[str, ...], pred: Callable[[dict[str, object]], bool]) -> bool:
        return any(pred(r) for r in rows(v, *h))

    def by(v: str, *h: str) -> set[object]:
        return {r["exit_mmap() by"] for r in rows(v, *h)}

    def share(v: str, h: str, col: str) -> float:
        n = sum(int(str(r["schedules"])) for r in rows(v, h) if (
            r["rc"] == "ESRCH" if col == "ESRCH" else r["trapped"]))
        return n / _schedules(rows(v, h))

    rk = ("v1", "v2", "v3")
    trapped_in = [any(r["rc"] == "ESRCH" and r["trapped"] == pages and r["exit_mmap() by"] == h
                      for r in rows("baseline", h)) for h in ("reader", "smaps")]
    sharers = ({v: max(int(str(r["left at end"])) for r in rows(v, "sharer"))
                for v in ("baseline", *rk)}
               == {"baseline": pages, "v1": pages, "v2": pages, "v3": 0})
    vfork_rcs = {v: {r["rc"] for r in rows(v, "vfork")} for v in ("v1", "v2")}
    return [
        any_of("baseline", (), lambda r: r["rc"] == "ESRCH" and r["left at return"] == pages),
        all(trapped_in),
        not any(r["rc"] == "ESRCH" or r["trapped"] for v in rk for r in rows(v, "reader"))
        and "caller" in by("v1", "reader") and "caller" not in by("v2", "reader") | by(
            "v3", "reader"),
        sharers and vfork_rcs == {"v1": {"EINVAL"}, "v2": {"0"}},
        share("proc_mm_count", "reader", "trapped") == 0 < share("proc_mm_count", "reader",
                                                                 "ESRCH")
        and all(r["rc"] == "ESRCH" for r in rows("exit_mm_field", "reader") if r["trapped"])
        and 0 < share("smaps_esrch", "smaps", "trapped") < share("baseline", "smaps", "trapped")
        and share("linus_exit_mmap_wlock", "reader", "ESRCH") > 0
        and share("expedite", "reader", "ESRCH") == share("expedite", "reader", "trapped") == 0,
    ]


def android_findings(runs: list[SpecRerun]) -> list[tuple[str, str, str, bool]]:
    """Per finding of :data:`ANDROID_FINDINGS`: (heading, measure, the result with the
    other options, holds). A finding holds when its claim (the notebook's checks, on the
    runs' world) holds with the other options and every world that is its evidence has
    an identical outcome table (outcomes, pages, schedules) on both."""
    pages = runs[0].spec.victim_pages
    checks = [_checks({(r.spec.variant, r.spec.holders): getattr(r, side) for r in runs},
                      pages) for side in ("default", "other")]
    by = {(r.spec.variant, r.spec.holders): r for r in runs}
    out = []
    for i, (finding, measure, specs) in enumerate(ANDROID_FINDINGS):
        same = all(by[s.variant, s.holders].identical for s in specs)
        n = sum(_schedules(by[s.variant, s.holders].other) for s in specs)
        claim = "claim holds" if checks[1][i] else "claim fails"
        world = f"{runs[0].spec.nr_pmds} PMD x {runs[0].spec.pages_per_pmd} page world"
        out.append((finding, f"{measure}; the {world}",
                    f"{len(specs)} outcome tables, {n} schedules: "
                    f"{'identical' if same else 'differ'} in pages; {claim}",
                    same and checks[0][i] and checks[1][i]))
    return out


ANDROID_RERUN: Final[tuple[str, ...]] = tuple(f for f, _m, _s in ANDROID_FINDINGS)
"""The headings :func:`android_reruns` covers, in order."""


def android_reruns() -> list[AndroidRerun]:
    """Notebook 04's model findings on ``Kernel.android()`` (:func:`android_findings` of
    :func:`rerun_worlds` with :data:`~mrelease_ref.scenarios.configs.ANDROID_OPTIONS`),
    as rows of ``configs.android_reruns()``."""
    from mrelease_ref.scenarios.configs import ANDROID_OPTIONS, AndroidRerun

    return [AndroidRerun("04", f, m, text, holds, "" if holds else
                         "the outcome tables or the claim change on Kernel.android()")
            for f, m, text, holds in android_findings(rerun_worlds(ANDROID_OPTIONS))]


__all__ = [
    "ALT_SPECS",
    "ANDROID_FINDINGS",
    "ANDROID_RERUN",
    "COMPARED",
    "HOLDERS",
    "REAP_KILL_VERSIONS",
    "CurvePoint",
    "OutcomeRow",
    "RaceOutcome",
    "RaceSpec",
    "RaceWorld",
    "SpecRerun",
    "Summary",
    "android_findings",
    "android_reruns",
    "as_records",
    "compare",
    "distribution",
    "esrch_curve",
    "geometry",
    "outcome_table",
    "predict_trial",
    "replay",
    "rerun_table",
    "rerun_worlds",
    "summarise",
    "timeline",
    "world",
]

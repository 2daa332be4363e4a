"""Parity: one scenario description, run on the model and on the running kernel.

Not kernel code. A :class:`Scenario` is data: a victim (the model's
:class:`~mrelease_ref.scenarios.victims.VictimSpec`, converted for the lab by
:func:`to_lab_spec`), a list of :class:`Step` s (freeze, kill, ``process_mrelease``,
snapshot, /proc holder, fadvise, ...) and the :class:`Measure` s read from what the steps
observed. Two runners interpret the same steps:

* :func:`run_model` on ``Kernel(variant="baseline")`` through the public model API
  (``Kernel``, ``Process``, :func:`~mrelease_ref.scenarios.victims.build_victim`);
* :func:`run_kernel` on the live kernel through :mod:`mrelease_ref.lab` (a Python victim
  process, the cgroup-v1 freezer, ``/proc/<pid>/smaps``, ``cachestat(2)``, Free+pcp).

:func:`run_parity` runs every scenario on both and returns one :class:`Row` per
(scenario, measure): model value, kernel value, agree or not; :func:`parity_frame` makes it
a pandas table. :data:`SCENARIOS` covers every fact of realkernel.md §0 (items 1-9), the
errno tables (§3), the /proc holder (§4.4), page cache after the reap (§5), memory released
(§6) and the kernel selftest's flow (§7).

Measures are chosen to be exact on both sides where possible:

* errno names (``"0"``, ``"EINVAL"``, ``"EBADF"``, ``"ESRCH"``);
* RSS of the **victim's own mappings** in kB: the model's ``Process.status()`` (its victim
  has nothing else), and on the kernel the sum over the spec's VMAs in ``/proc/<pid>/smaps``
  (the Python interpreter's own ~10 MB is left out); a zombie has no mm and reads 0 on
  both sides;
* page cache of the victim's files: ``cachestat(2)`` ``nr_cache``/``nr_dirty``/
  ``nr_evicted`` (pages);
* predicates (True/False) where the two sides share a rule but not a scale (timing).

Tolerances, only where the kernel is noisy (each with its source):

* :data:`FREED_TOL`: *pages freed* by a step, ±256 pages (1 MiB). Kernel value =
  Δ(nr_free_pages + Σ pcp ``count``) − page-table pages freed (ΔPageTables) − the
  interpreter's own anonymous pages freed (its RssAnon outside the spec's mappings, which
  realkernel.md §6 row "empty" shows as +1.0 MB). Counters are folded with
  ``/proc/sys/vm/stat_refresh`` before each read (vmstat per-CPU drift), and the window is
  the step itself (ms). What remains is noise from other work on the machine (realkernel.md
  §9: ±10-90 MB over the seconds of an experiment; here the window is milliseconds), pages
  still held by per-CPU ``lru_add`` batches (up to 31 folios per CPU, kernel.md §6.3),
  and the kernel stack and slab pages of an exiting task: -48…+32 pages in 16 runs on
  2026-11-26. Model value = Δ``zoneinfo()["free_with_pcp"]`` (its page tables are a
  counter only, never taken from the free pool). 256 pages is a quarter of the smallest
  amount compared (1024 pages).
* :data:`COUNTER_TOL`: global meminfo counters (PageTables, Mlocked), ±16 kB: they are
  global, so another process may move them within the step's window (realkernel.md §9).
* Timing predicates (``noisy=True``): compared as predicates, never as values.

A scenario whose only disagreements are noisy rows (toleranced or timing) is re-run on the
kernel, twice at most (``Row.attempts`` says how often it ran; ``ParityRun.meta["retried"]``
lists what the discarded attempts saw). On a quiet machine no retry happens in most runs;
a neighbour that allocates and frees tens of MiB per millisecond defeats the Free+pcp rows
(tried: a process churning 64 MiB buffers), CPU load alone does not (four spinners).

Limitations:
    - Kernel victims are Python processes run as the lab's user (root): the spec's ``uid``
      only reaches the model; the no-permission scenario makes the *caller* unprivileged.
    - The CLONE_VM sharer exists on x86_64 only (see ``mrelease_ref.lab._victim_main``).
    - Folio sizes differ: the model reads 2 MiB page-cache folios, the kernel's ramp up
      with readahead. Measures are chosen not to depend on it; the one that does
      (``nr_dirty`` of a shared mapping) runs with 4 KiB folios on both sides
      (``Scenario.small_file_folios``).
    - Timings are compared only as ratios (predicates): the model's prices are one
      machine's (mrelease_ref.sim.cost), see mrelease_ref.lab.calibration.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import errno as errno_mod
import json
import os
import platform
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mrelease_ref.scenarios.victims import MappingSpec, VictimSpec, build_victim
from mrelease_ref.sim.validate import bool_arg, int_arg, nonneg_int_arg

if TYPE_CHECKING:
    import pandas as pd

    from mrelease_ref.lab import victim as lab_victim
    from mrelease_ref.sim.kernel import Kernel
    from mrelease_ref.sim.process import Process, ProcRead

__all__ = (
    "COUNTER_TOL",
    "CROSS_MEASURES",
    "FREED_TOL",
    "SCENARIOS",
    "CrossMeasure",
    "Measure",
    "ParityRun",
    "Row",
    "Scenario",
    "Step",
    "Tolerance",
    "load_run",
    "machine_facts",
    "main",
    "parity_frame",
    "run_kernel",
    "run_model",
    "run_parity",
    "save_run",
    "to_lab_spec",
)

Value = int | str | bool
Obs = dict[str, Any]

KB_PER_PAGE = 4
PAGES_PER_MIB = 256
NOBODY = 65534
PIDFD_SELF_THREAD_GROUP = -10001
SELFTEST_MAX_MB = 1024
DATA_DIR = Path(__file__).resolve().parent.parent / "lab" / "data"
STORED_RUN = DATA_DIR / "parity_last.json"

# --- the description: steps, measures, scenarios -------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One action of a scenario; both runners implement every ``op``.

    ``op`` is one of: ``freeze``, ``thaw``, ``kill`` (``target`` victim or sharer),
    ``stop`` (SIGSTOP, wait until stopped), ``wait_exit`` (until the victim is a zombie;
    measured), ``waitpid``, ``mrelease`` (``target`` = which fd: victim, sharer, -1,
    regular, self, kthread; ``flags``; ``uid`` of an unprivileged caller; measured),
    ``snapshot``, ``hold`` (a /proc/<pid>/``target`` read pinning mm_users), ``release``
    (of the holder; measured), ``fadvise`` (POSIX_FADV_DONTNEED on the file of mapping
    ``target``), ``selftest`` (the flow of tools/testing/selftests/mm/mrelease_test.c).
    ``label`` names what the step records.
    """

    op: str
    label: str = ""
    target: str = "victim"
    flags: int = 0
    uid: int | None = None

    def __post_init__(self) -> None:
        if self.op not in STEP_OPS:
            raise ValueError(f"Step.op must be one of {STEP_OPS}, got {self.op!r}")
        if not isinstance(self.label, str) or not isinstance(self.target, str):
            raise TypeError("Step.label and Step.target must be str")
        int_arg("Step.flags", self.flags)
        if self.uid is not None:
            nonneg_int_arg("Step.uid", self.uid)


STEP_OPS = ("freeze", "thaw", "kill", "stop", "wait_exit", "waitpid", "mrelease", "snapshot",
            "hold", "release", "fadvise", "selftest")
"""Every ``Step.op`` both runners implement."""


def freeze() -> Step:
    """Put the victim (and its sharer) in the cgroup-v1 freezer."""
    return Step("freeze")


def thaw() -> Step:
    """Thaw the victim (and its sharer)."""
    return Step("thaw")


def kill(target: str = "victim") -> Step:
    """SIGKILL the victim or its CLONE_VM sharer."""
    return Step("kill", target=target)


def stop() -> Step:
    """SIGSTOP the victim and wait until it is stopped."""
    return Step("stop")


def wait_exit(label: str = "exit") -> Step:
    """Let the (killed, thawed) victim run its exit until it is a zombie; measured."""
    return Step("wait_exit", label)


def waitpid() -> Step:
    """Reap the zombie victim (its parent waits for it)."""
    return Step("waitpid")


def mrelease(label: str, fd: str = "victim", flags: int = 0, uid: int | None = None) -> Step:
    """``process_mrelease(fd, flags)``; records errno, time and what it freed."""
    return Step("mrelease", label, fd, flags, uid)


def snapshot(label: str) -> Step:
    """Record the victim's RSS (kB) and the page cache of its files (pages)."""
    return Step("snapshot", label)


def hold(what: str = "cmdline") -> Step:
    """Start a read of /proc/<victim>/``what`` that blocks holding ``mm_users``."""
    return Step("hold", target=what)


def release(label: str = "release") -> Step:
    """Let the holder's read finish; measured."""
    return Step("release", label)


def fadvise_dontneed(mapping: int = 0) -> Step:
    """``posix_fadvise(POSIX_FADV_DONTNEED)`` over the whole file of mapping ``mapping``."""
    return Step("fadvise", target=str(mapping))


def selftest(label: str = "selftest") -> Step:
    """The kernel selftest's flow (realkernel.md §7) on the scenario's victim."""
    return Step("selftest", label)


@dataclass(frozen=True, slots=True)
class Tolerance:
    """Largest |model − kernel| still counted as agreement, with its unit and source."""

    abs: int
    unit: str
    source: str

    def __str__(self) -> str:
        return f"±{self.abs} {self.unit}"


FREED_TOL = Tolerance(
    256,
    "pages",
    "Free+pcp over the step, net of page tables and the interpreter's own anon; residual "
    "-48..+32 pages measured, realkernel.md §6 row 'empty', §9 noise (module docstring)",
)
COUNTER_TOL = Tolerance(
    16, "kB", "global meminfo counter, folded by stat_refresh; realkernel.md §9 noise"
)


@dataclass(frozen=True, slots=True)
class Measure:
    """One comparable quantity of a scenario.

    The value is ``obs[key]`` or, for a derived quantity or predicate, ``fn(obs)``.
    ``fact`` is the realkernel.md §0 item it checks ("" if none); ``expect`` the value
    realkernel.md reports (checked by the tests against the kernel value, None = not
    given). ``noisy`` marks timing predicates.
    """

    name: str
    key: str = ""
    fact: str = ""
    tolerance: Tolerance | None = None
    fn: Callable[[Obs], Value] | None = None
    expect: Value | None = None
    noisy: bool = False

    def value(self, obs: Obs) -> Value:
        """The measure's value on one side."""
        if self.fn is not None:
            return self.fn(obs)
        value: Value = obs[self.key]
        return value

    def agrees(self, model: Value, kernel: Value) -> bool:
        """Exact equality, or within the tolerance."""
        if self.tolerance is None:
            return model == kernel
        return abs(int(model) - int(kernel)) <= self.tolerance.abs

    @property
    def rule(self) -> str:
        """How the two values are compared, as text."""
        return "exact" if self.tolerance is None else str(self.tolerance)


@dataclass(frozen=True, slots=True)
class CrossMeasure:
    """A measure over several scenarios' observations (e.g. a cost ratio)."""

    name: str
    scenarios: tuple[str, ...]
    fn: Callable[[Mapping[str, Obs]], Value]
    fact: str = ""
    source: str = ""
    expect: Value | None = None
    noisy: bool = True


@dataclass(frozen=True, slots=True)
class Scenario:
    """A victim, what is done to it, and what is measured."""

    name: str
    title: str
    source: str
    victim: VictimSpec
    steps: tuple[Step, ...]
    measures: tuple[Measure, ...]
    sharer: bool = False
    small_file_folios: bool = False

    def __post_init__(self) -> None:
        for name in ("name", "title", "source"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"Scenario.{name} must be a str")
        if not isinstance(self.victim, VictimSpec):
            raise TypeError("Scenario.victim must be a VictimSpec")
        if not isinstance(self.steps, tuple) or not all(isinstance(s, Step) for s in self.steps):
            raise TypeError("Scenario.steps must be a tuple of Step (use the step helpers)")
        if not isinstance(self.measures, tuple) or not all(
            isinstance(m, Measure) for m in self.measures
        ):
            raise TypeError("Scenario.measures must be a tuple of Measure")
        bool_arg("Scenario.sharer", self.sharer)
        bool_arg("Scenario.small_file_folios", self.small_file_folios)


# --- measure helpers ----------------------------------------------------------------------


def errno_is(label: str, expect: str, fact: str = "", what: str = "") -> Measure:
    """The errno of the ``process_mrelease`` step ``label``."""
    return Measure(f"errno: {what or label}", f"{label}.errno", fact, expect=expect)


def kb(label: str, field_: str, fact: str = "", expect: int | None = None) -> Measure:
    """An RSS field (kB) of the victim's mappings at snapshot ``label``."""
    return Measure(f"{field_} at {label} (kB)", f"{label}.{field_}", fact, expect=expect)


def cache(label: str, what: str, mapping: int = 0, fact: str = "6", expect: int | None = None
          ) -> Measure:
    """A cachestat field (pages) of mapping ``mapping``'s file at snapshot ``label``."""
    return Measure(f"{what} at {label} (pages)", f"{label}.map{mapping}.{what}", fact,
                   expect=expect)


def freed(label: str, fact: str = "", what: str = "") -> Measure:
    """Pages of the victim's memory freed during the measured step ``label`` (toleranced)."""
    return Measure(f"pages freed by {what or label}", f"{label}.freed", fact, FREED_TOL)


def _cheaper(first: str, second: str, factor: float) -> Callable[[Obs], Value]:
    def fn(obs: Obs) -> Value:
        return bool(obs[f"{second}.ns"] * factor < obs[f"{first}.ns"])

    return fn


PCP_BATCH = 63
"""``batch`` of every per-CPU pageset in /proc/zoneinfo on these machines (and the model's
``pcp_batch``): the granularity in which pages move between a pcp list and the buddy."""


def _memfree_misses(label: str) -> Callable[[Obs], Value]:
    """ΔMemFree is off from Δ(Free+pcp) by more than one pcp batch."""

    def fn(obs: Obs) -> Value:
        return bool(abs(obs[f"{label}.memfree"] - obs[f"{label}.free_raw"]) > PCP_BATCH)

    return fn


def _per_mib_ns(obs: Obs, empty: Obs, label: str = "reap") -> float:
    return float(obs[f"{label}.ns"] - empty[f"{label}.ns"]) / obs["victim_mib"]


def _costs_more_per_mib(
    big: str, small: str, factor: float
) -> Callable[[Mapping[str, Obs]], Value]:
    def fn(o: Mapping[str, Obs]) -> Value:
        return bool(_per_mib_ns(o[big], o["empty"]) > factor * _per_mib_ns(o[small], o["empty"]))

    return fn


# --- the scenarios ---------------------------------------------------------------------------


def _anon(nr_pages: int, kind: str = "anon", uid: int = 10001) -> VictimSpec:
    return VictimSpec((MappingSpec(kind, nr_pages),), uid=uid)


def _dying(label: str = "reap") -> tuple[Step, ...]:
    """freeze → SIGKILL → snapshot → process_mrelease → snapshot (realkernel.md §2)."""
    return (freeze(), kill(), snapshot("before"), mrelease(label), snapshot(f"after_{label}"))


def _exit() -> tuple[Step, ...]:
    return (thaw(), wait_exit(), snapshot("after_exit"), waitpid())


_S = "realkernel.md"

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "errno-order",
        "flags, then the fd, then the task, then 'dying?'",
        f"{_S} §0.1; §3.1 rows flags/fd, §3.2 kthreads",
        _anon(256),
        (
            mrelease("flags=1,fd=-1", fd="-1", flags=1),
            mrelease("fd=-1", fd="-1"),
            mrelease("regular-file", fd="regular"),
            mrelease("PIDFD_SELF", fd="self"),
            mrelease("kthreadd", fd="kthread"),
            freeze(),
            kill(),
            mrelease("flags=~0,dying", flags=0xFFFFFFFF),
            snapshot("after_flags"),
            mrelease("dying"),
            snapshot("after_reap"),
            *_exit(),
        ),
        (
            errno_is("flags=1,fd=-1", "EINVAL", "1"),
            errno_is("fd=-1", "EBADF", "1"),
            errno_is("regular-file", "EBADF", "1"),
            errno_is("PIDFD_SELF", "EINVAL", "1", "PIDFD_SELF_THREAD_GROUP (caller alive)"),
            errno_is("kthreadd", "ESRCH", "1", "kthreadd (no mm)"),
            errno_is("flags=~0,dying", "EINVAL", "1", "flags=0xffffffff on a dying task"),
            kb("after_flags", "RssAnon", "1", expect=1024),
            errno_is("dying", "0", "1", "flags=0 on the same dying task"),
        ),
    ),
    Scenario(
        "not-dying",
        "a live task, frozen or stopped, is not dying: EINVAL, nothing reaped",
        f"{_S} §0.1, §0.3; §3.1 rows live / SIGSTOPped / cgroup-frozen",
        _anon(1024),
        (
            mrelease("live"),
            freeze(),
            mrelease("frozen-live"),
            thaw(),
            stop(),
            mrelease("stopped"),
            snapshot("after"),
        ),
        (
            errno_is("live", "EINVAL", "1"),
            errno_is("frozen-live", "EINVAL", "3"),
            errno_is("stopped", "EINVAL", "3"),
            kb("after", "RssAnon", "1", expect=4096),
        ),
    ),
    Scenario(
        "dying-anon",
        "frozen + SIGKILL: reaped at once and in full; a repeat call does nothing",
        f"{_S} §0.2, §0.4, §0.7-9; §3.1 'dying task', §6 anon 4K 64 MB",
        _anon(16384),
        (*_dying(), mrelease("repeat"), snapshot("after_repeat"), *_exit()),
        (
            kb("before", "RssAnon", "2", expect=65536),
            errno_is("reap", "0", "4", "frozen + SIGKILL (deterministic race form)"),
            kb("after_reap", "VmRSS", "2", expect=0),
            freed("reap", "8", "the call (= N)"),
            Measure("PageTables change by the call (kB)", "reap.pagetables_kb", "7",
                    COUNTER_TOL, expect=0),
            errno_is("repeat", "0", "2", "repeat call"),
            freed("repeat", "2", "the repeat call"),
            Measure("repeat call < 1/10 of the first", fn=_cheaper("reap", "repeat", 10),
                    fact="2", expect=True, noisy=True),
        ),
    ),
    Scenario(
        "memfree-probe",
        "freed pages go to the per-CPU lists, which MemFree does not count",
        f"{_S} §0.9; §6 columns ΔMemFree vs ΔFree+pcp",
        _anon(1024),
        (*_dying(), *_exit()),
        (
            errno_is("reap", "0", "9"),
            freed("reap", "9", "the call (Free+pcp sees it)"),
            Measure("ΔMemFree misses Δ(Free+pcp) by > 1 pcp batch",
                    fn=_memfree_misses("reap"), fact="9", expect=True, noisy=True),
        ),
    ),
    Scenario(
        "zombie",
        "killed and left to exit: ESRCH as a zombie, ESRCH once reaped",
        f"{_S} §0.1, §0.4; §3.1 rows 'wait until zombie' / 'after waitpid'",
        _anon(1024),
        (kill(), wait_exit(), mrelease("zombie"), waitpid(), mrelease("reaped")),
        (
            errno_is("zombie", "ESRCH", "4", "killed, waited until zombie"),
            errno_is("reaped", "ESRCH", "1", "after waitpid"),
        ),
    ),
    Scenario(
        "no-permission-check",
        "an unprivileged caller (uid nobody, no caps) reaps a root-owned dying task",
        f"{_S} §0.3; §3.2 row 'caller uid=nobody'",
        _anon(1024, uid=0),
        (
            mrelease("live", uid=NOBODY),
            freeze(),
            kill(),
            mrelease("dying", uid=NOBODY),
            snapshot("after"),
            *_exit(),
        ),
        (
            errno_is("live", "EINVAL", "3", "nobody, live victim"),
            errno_is("dying", "0", "3", "nobody, frozen + SIGKILLed root victim"),
            kb("after", "VmRSS", "3", expect=0),
        ),
    ),
    Scenario(
        "clone-vm-owner-killed",
        "CLONE_VM sharer: killing one side is not enough; killing both is",
        f"{_S} §0.3; §3.3 clone(CLONE_VM|SIGCHLD) rows 'owner only' and 'both'",
        _anon(1024),
        (
            freeze(),
            kill(),
            mrelease("owner", fd="victim"),
            mrelease("sharer", fd="sharer"),
            snapshot("one-killed"),
            kill("sharer"),
            mrelease("owner-both", fd="victim"),
            mrelease("sharer-both", fd="sharer"),
            snapshot("both-killed"),
        ),
        (
            errno_is("owner", "EINVAL", "3", "owner pidfd, owner killed"),
            errno_is("sharer", "EINVAL", "3", "sharer pidfd, owner killed"),
            kb("one-killed", "RssAnon", "3", expect=4096),
            errno_is("owner-both", "0", "3", "owner pidfd, both killed"),
            errno_is("sharer-both", "0", "3", "sharer pidfd, both killed"),
            kb("both-killed", "VmRSS", "3", expect=0),
        ),
        sharer=True,
    ),
    Scenario(
        "clone-vm-sharer-killed",
        "CLONE_VM sharer killed, owner alive: EINVAL on both pidfds",
        f"{_S} §3.3 clone(CLONE_VM|SIGCHLD) row 'sharer only'",
        _anon(1024),
        (
            freeze(),
            kill("sharer"),
            mrelease("owner", fd="victim"),
            mrelease("sharer", fd="sharer"),
            snapshot("after"),
        ),
        (
            errno_is("owner", "EINVAL", "3", "owner pidfd, sharer killed"),
            errno_is("sharer", "EINVAL", "3", "sharer pidfd, sharer killed"),
            kb("after", "RssAnon", "3", expect=4096),
        ),
        sharer=True,
    ),
    Scenario(
        "holder-frozen-killed",
        "a /proc/<pid>/cmdline reader pins mm_users: a frozen killed victim is still reaped",
        f"{_S} §0.5; §4.4 row H2",
        _anon(4096),
        (hold("cmdline"), *_dying(), thaw(), wait_exit(), release(), waitpid()),
        (
            errno_is("reap", "0", "5", "holder pinning, frozen + SIGKILL"),
            kb("after_reap", "VmRSS", "5", expect=0),
            freed("reap", "5", "the call (all of it)"),
            freed("release", "5", "the holder's release (nothing left)"),
        ),
    ),
    Scenario(
        "holder-zombie",
        "the victim passed exit_mm with a reader pinning its mm: ESRCH, memory trapped",
        f"{_S} §0.4, §0.5; §4.4 row H1",
        _anon(4096),
        (hold("cmdline"), kill(), wait_exit(), mrelease("zombie"), release(), waitpid()),
        (
            freed("exit", "5", "the victim's exit (pinned: 0)"),
            errno_is("zombie", "ESRCH", "5", "zombie with the mm pinned"),
            freed("release", "5", "the holder's release (exit_mmap in the reader)"),
        ),
    ),
    Scenario(
        "file-private",
        "a private file mapping: unmapped and not freed; the clean page cache stays",
        f"{_S} §0.6, §0.8; §5 row A; §6 'file private, read'",
        VictimSpec((MappingSpec("file-private", 16384),)),
        (*_dying(), *_exit()),
        (
            kb("before", "RssFile", "7", expect=65536),
            errno_is("reap", "0", "7"),
            kb("after_reap", "VmRSS", "7", expect=0),
            freed("reap", "8", "the call (clean file: 0)"),
            cache("after_reap", "nr_cache", expect=16384),
            cache("after_reap", "nr_dirty", expect=0),
            cache("after_reap", "nr_evicted", expect=0),
            cache("after_exit", "nr_cache", expect=16384),
        ),
    ),
    Scenario(
        "dontneed-after-reap",
        "after the reap POSIX_FADV_DONTNEED can drop every clean page",
        f"{_S} §0.6; §5 row A'",
        VictimSpec((MappingSpec("file-private", 4096),)),
        (*_dying(), fadvise_dontneed(), snapshot("after_dontneed"), *_exit()),
        (cache("after_dontneed", "nr_cache", expect=0),),
    ),
    Scenario(
        "dontneed-without-reap",
        "without the reap the killed, frozen victim still maps them: DONTNEED drops none",
        f"{_S} §0.6; §5 rows E, E'",
        VictimSpec((MappingSpec("file-private", 4096),)),
        (freeze(), kill(), fadvise_dontneed(), snapshot("after_dontneed"), *_exit()),
        (
            cache("after_dontneed", "nr_cache", expect=4096),
            cache("after_exit", "nr_cache", expect=4096),
        ),
    ),
    Scenario(
        "file-cow",
        "a private file mapping with copy-on-write pages: COW copies freed, file cache kept",
        f"{_S} §0.6, §0.7; §5 rows D, D'",
        VictimSpec((MappingSpec("file-cow", 4096, dirty=1024),)),
        (*_dying(), fadvise_dontneed(), snapshot("after_dontneed"), *_exit()),
        (
            kb("before", "RssAnon", "7", expect=4096),
            kb("before", "RssFile", "7", expect=12288),
            kb("after_reap", "VmRSS", "7", expect=0),
            freed("reap", "7", "the call (the COW copies)"),
            cache("after_reap", "nr_cache", expect=4096),
            cache("after_reap", "nr_dirty", expect=0),
            cache("after_dontneed", "nr_cache", expect=0),
        ),
    ),
    Scenario(
        "vm-shared-skipped",
        "MAP_SHARED of an O_RDWR fd (VM_SHARED) is skipped; its dirty pages stay dirty",
        f"{_S} §0.7; §5 rows B2/B3; §6 'file MAP_SHARED of O_RDWR fd'",
        VictimSpec((MappingSpec("anon", 1024), MappingSpec("file-shared", 1024, dirty=256))),
        (*_dying(), fadvise_dontneed(1), snapshot("after_dontneed"), *_exit()),
        (
            errno_is("reap", "0", "7"),
            kb("after_reap", "RssAnon", "7", expect=0),
            kb("after_reap", "RssFile", "7", expect=4096),
            cache("after_reap", "nr_cache", 1, "7", expect=1024),
            cache("after_reap", "nr_dirty", 1, "7", expect=256),
            cache("after_dontneed", "nr_cache", 1, "7", expect=1024),
        ),
        small_file_folios=True,
    ),
    Scenario(
        "shmem-skipped",
        "MAP_SHARED|MAP_ANONYMOUS (shmem, VM_SHARED) is skipped like a shared file",
        f"{_S} §1.3 (__oom_reap_task_mm zaps vma_is_anonymous || !VM_SHARED)",
        VictimSpec((MappingSpec("shmem", 1024),)),
        (*_dying(), *_exit()),
        (
            errno_is("reap", "0", "7"),
            kb("after_reap", "RssShmem", "7", expect=4096),
            freed("reap", "7", "the call (shmem kept)"),
        ),
    ),
    Scenario(
        "anon-mlocked",
        "mlocked anonymous memory is reaped too (and munlocked)",
        f"{_S} §0.7; §6 'anon mlocked'",
        _anon(4096, "anon-mlocked"),
        (*_dying(), *_exit()),
        (
            errno_is("reap", "0", "7"),
            kb("after_reap", "VmRSS", "7", expect=0),
            freed("reap", "7", "the call"),
            Measure("Mlocked change by the call (kB)", "reap.mlocked_kb", "7", COUNTER_TOL,
                    expect=-16384),
        ),
    ),
    Scenario(
        "anon-thp",
        "THP anonymous memory: reaped, and the deposited page tables freed with it",
        f"{_S} §0.7, §0.8; §6 'anon THP'",
        _anon(16384, "anon-thp"),
        (*_dying(), *_exit()),
        (
            kb("before", "AnonHugePages", "7", expect=65536),
            errno_is("reap", "0", "7"),
            kb("after_reap", "VmRSS", "7", expect=0),
            freed("reap", "8", "the call (= N)"),
            Measure("PageTables change by the call (kB)", "reap.pagetables_kb", "7",
                    COUNTER_TOL, expect=-128),
        ),
    ),
    Scenario(
        "empty",
        "a one-page victim: the fixed cost of a reap (the Python image on the kernel)",
        f"{_S} §6 row 'empty'",
        _anon(1),
        (*_dying(), *_exit()),
        (errno_is("reap", "0", "2"),),
    ),
    Scenario(
        "selftest",
        "tools/testing/selftests/mm/mrelease_test.c: negative tests, kill, reap, retry",
        f"{_S} §7",
        _anon(256),
        (selftest(),),
        (
            errno_is("selftest.flags", "EINVAL", "1", "selftest: flags=-1, live child"),
            errno_is("selftest.live", "EINVAL", "1", "selftest: live child"),
            Measure("selftest verdict", "selftest.verdict", "", expect="PASS"),
        ),
    ),
)
"""Every scenario of the parity table (see the module docstring)."""

COST_RATIO = 2
"""Cost predicates ask for 4 KiB anon > 2x THP / clean file per MiB. realkernel.md §0.8
gives ~20x (71 vs 3 µs/MB, 1 GiB victims); with 64 MiB victims the kernel's fixed cost
(the Python image, 0.2-0.4 ms, scenario 'empty') dominates the cheap kinds, and a fresh
64 MiB file sits partly in small folios (readahead ramp-up): 2026-11-26 measured 4-40x
(THP) and ~4x (file). The per-MiB prices themselves are in mrelease_ref.lab.calibration."""

CROSS_MEASURES: tuple[CrossMeasure, ...] = (
    CrossMeasure(
        "4 KiB anon reap costs > 2x THP per MiB",
        ("dying-anon", "anon-thp", "empty"),
        _costs_more_per_mib("dying-anon", "anon-thp", COST_RATIO),
        "8",
        f"{_S} §0.8 (71 vs 3 µs/MB); fixed cost = scenario 'empty'",
        True,
    ),
    CrossMeasure(
        "4 KiB anon reap costs > 2x private clean file per MiB",
        ("dying-anon", "file-private", "empty"),
        _costs_more_per_mib("dying-anon", "file-private", COST_RATIO),
        "8",
        f"{_S} §0.8 (71 vs 3 µs/MB); fixed cost = scenario 'empty'",
        True,
    ),
)
"""Measures over several scenarios (cost ratios, fixed cost subtracted)."""


# --- spec conversion -------------------------------------------------------------------------

_LAB_KIND = {
    "anon": "anon",
    "anon-thp": "anon_thp",
    "anon-mlocked": "anon_mlock",
    "shmem": "shmem",
    "file-private": "file_private",
    "file-shared": "file_shared",
    "file-cow": "file_cow",
}


def to_lab_spec(
    spec: VictimSpec,
    paths: Mapping[int, str],
    *,
    small_file_folios: bool = False,
    sharer: bool = False,
) -> lab_victim.VictimSpec:
    """The lab's :class:`~mrelease_ref.lab.victim.VictimSpec` for the model's ``spec``.

    ``paths`` gives the file of every file mapping (by index in ``spec.mappings``).
    ``uid`` and ``name`` are not applied in the lab (see the module limitations).
    """
    from mrelease_ref.lab.victim import Kind
    from mrelease_ref.lab.victim import MappingSpec as LabMapping
    from mrelease_ref.lab.victim import VictimSpec as LabSpec

    out = []
    for i, m in enumerate(spec.mappings):
        kind = Kind(_LAB_KIND[m.kind])
        if kind.is_file:
            out.append(LabMapping(kind, m.nr_pages, m.dirty, paths[i],
                                  small_folios=small_file_folios))
        else:
            out.append(LabMapping(kind, m.nr_pages, m.dirty))
    return LabSpec(tuple(out), sharer=sharer)


def _victim_mib(sc: Scenario) -> float:
    """Size of the scenario's victim (all mappings), MiB."""
    return sum(m.nr_pages for m in sc.victim.mappings) / PAGES_PER_MIB


def _errno_name(err: int) -> str:
    return errno_mod.errorcode.get(err, str(err)) if err else "0"


# --- the model runner -------------------------------------------------------------------------


class _ModelRun:
    """Interprets the steps on a fresh ``Kernel(variant="baseline")``."""

    def __init__(self, sc: Scenario, variant: str = "baseline") -> None:
        from mrelease_ref import Kernel

        self.sc = sc
        self.obs: Obs = {"victim_mib": _victim_mib(sc)}
        self.k: Kernel = Kernel(variant=variant, seed=0, large_folios=not sc.small_file_folios)
        self.lmkd = self.k.spawn("lmkd", uid=0)
        self.v = build_victim(self.k, sc.victim, parent=self.lmkd)
        self.files = {i: self.v.files[f"{m.kind}-{i}"]
                      for i, m in enumerate(sc.victim.mappings) if m.kind.startswith("file")}
        self.sharer: Process | None = self.v.process.clone_vm("sharer") if sc.sharer else None
        self.k.lru_add_drain_all()  # as on the real machines: batches long drained
        self.fds = {"victim": self.lmkd.pidfd_open(self.v.process.pid)}
        if self.sharer is not None:
            self.fds["sharer"] = self.lmkd.pidfd_open(self.sharer.pid)
        self.holder: ProcRead | None = None
        self.callers: dict[int, Process] = {}

    def _procs(self) -> list[Process]:
        return [self.v.process] + ([self.sharer] if self.sharer is not None else [])

    def _probe(self) -> dict[str, int]:
        zone, mem = self.k.zoneinfo(), self.k.meminfo()
        return {"free": zone["free_with_pcp"], "memfree": mem["MemFree"] // KB_PER_PAGE,
                "pagetables_kb": mem["PageTables"], "mlocked_kb": mem["Mlocked"]}

    def _measured(self, label: str, action: Callable[[], object]) -> None:
        p0, t0 = self._probe(), self.k.clock_ns
        action()
        p1 = self._probe()
        self.obs[f"{label}.ns"] = self.k.clock_ns - t0
        self.obs[f"{label}.free_raw"] = p1["free"] - p0["free"]
        self.obs[f"{label}.freed"] = p1["free"] - p0["free"]  # page tables: a counter only
        self.obs[f"{label}.memfree"] = p1["memfree"] - p0["memfree"]
        for key in ("pagetables_kb", "mlocked_kb"):
            self.obs[f"{label}.{key}"] = p1[key] - p0[key]

    def _fd(self, caller: Process, step: Step) -> int:
        target = step.target
        if target in ("victim", "sharer"):
            if caller is self.lmkd:
                return self.fds[target]
            proc = self.v.process if target == "victim" else self.sharer
            assert proc is not None
            return caller.pidfd_open(proc.pid)
        if target == "-1":
            return -1
        if target == "regular":
            return caller.open(self.k.create_file(f"regular-{len(self.obs)}", 1))
        if target == "self":
            return PIDFD_SELF_THREAD_GROUP
        if target == "kthread":
            return caller.pidfd_open(self.k.kthreadd.pid)
        raise ValueError(f"unknown fd kind {target!r}")

    def _caller(self, uid: int | None) -> Process:
        if uid is None:
            return self.lmkd
        if uid not in self.callers:
            self.callers[uid] = self.k.spawn(f"caller{uid}", uid=uid,
                                             caps=frozenset() if uid else None)
        return self.callers[uid]

    @staticmethod
    def _errno(caller: Process, fd: int, flags: int) -> int:
        try:
            caller.process_mrelease(fd, flags)
        except OSError as exc:
            return exc.errno or 0
        return 0

    def do(self, step: Step) -> None:
        k, victim = self.k, self.v.process
        op = step.op
        if op == "freeze":
            for p in self._procs():
                p.freeze()
        elif op == "thaw":
            for p in self._procs():
                p.thaw()
        elif op == "kill":
            proc = victim if step.target == "victim" else self.sharer
            assert proc is not None
            self.lmkd.kill(proc.pid, signal.SIGKILL)
        elif op == "stop":
            self.lmkd.kill(victim.pid, signal.SIGSTOP)
            k.run()
            assert victim.state == "stopped", victim.state
        elif op == "wait_exit":
            self._measured(step.label, k.run)
            assert victim.state == "zombie", victim.state
        elif op == "waitpid":
            self.lmkd.waitpid(victim.pid)
        elif op == "mrelease":
            caller = self._caller(step.uid)
            fd = self._fd(caller, step)
            result: list[int] = []
            self._measured(step.label,
                           lambda: result.append(self._errno(caller, fd, step.flags)))
            self.obs[f"{step.label}.errno"] = _errno_name(result[0])
        elif op == "snapshot":
            self._snapshot(step.label)
        elif op == "hold":
            reader = k.spawn("reader", uid=0)
            self.holder = reader.read_proc(victim.pid, step.target, block=True)
        elif op == "release":
            holder = self.holder
            assert holder is not None

            def let_go() -> None:
                holder.release()
                k.run()

            self._measured(step.label, let_go)
        elif op == "fadvise":
            f = self.files[int(step.target)]
            fd = self.lmkd.open(f, write=False)
            self.lmkd.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            self.lmkd.close(fd)
        elif op == "selftest":
            self._selftest(step.label)
        else:
            raise ValueError(f"unknown step {op!r}")

    def _snapshot(self, label: str) -> None:
        status = self.v.process.status()
        for key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
            self.obs[f"{label}.{key}"] = status[key]
        # only the victim has THPs in this Kernel, so the global count is the victim's
        gone = self.v.process.state in ("zombie", "dead")
        thp = 0 if gone else self.k.meminfo()["AnonHugePages"]
        self.obs[f"{label}.AnonHugePages"] = thp
        for i, f in self.files.items():
            cs = self.k.cachestat(f)
            for what in ("nr_cache", "nr_dirty", "nr_writeback", "nr_evicted"):
                self.obs[f"{label}.map{i}.{what}"] = getattr(cs, what)

    def _selftest(self, label: str) -> None:
        """mrelease_test.c: negative tests on the live child, SIGKILL, reap; on ESRCH double
        the child's size and retry (up to 1 GiB)."""
        size_mb, attempts, child = 1, 0, self.v.process
        fd = self.fds["victim"]
        while True:
            attempts += 1
            if attempts > 1:
                child = self.lmkd.spawn_child("child")
                m = child.mmap(nr_pages=size_mb * PAGES_PER_MIB)
                child.touch(m, write=True)
                self.k.lru_add_drain_all()
                fd = self.lmkd.pidfd_open(child.pid)
            e_flags = self._errno(self.lmkd, fd, -1)
            e_live = self._errno(self.lmkd, fd, 0)
            if attempts == 1:
                self.obs[f"{label}.flags.errno"] = _errno_name(e_flags)
                self.obs[f"{label}.live.errno"] = _errno_name(e_live)
            self.lmkd.kill(child.pid, signal.SIGKILL)
            err = self._errno(self.lmkd, fd, 0)
            self.k.run()
            self.lmkd.waitpid(child.pid)
            if err == errno_mod.ESRCH and size_mb < SELFTEST_MAX_MB:
                size_mb *= 2
                continue
            break
        self.obs[f"{label}.verdict"] = "PASS" if err == 0 else f"FAIL ({_errno_name(err)})"
        self.obs[f"{label}.attempts"] = attempts


def run_model(sc: Scenario, variant: str = "baseline") -> Obs:
    """Run ``sc`` on ``Kernel(variant=variant)`` (the parity table uses the baseline; other
    variants give the model's prediction for a patched kernel); return what the steps
    observed."""
    run = _ModelRun(sc, variant)
    for step in sc.steps:
        run.do(step)
    return run.obs


# --- the live-kernel runner -------------------------------------------------------------------


def _stat_refresh() -> None:
    """Fold the per-CPU vmstat diffs into the global counters (root only; best effort)."""
    with contextlib.suppress(OSError):
        Path("/proc/sys/vm/stat_refresh").write_text("1")


def _kthreadd_pid() -> int:
    """Pid of kthreadd (2 on Linux), checked by name."""
    comm = Path("/proc/2/comm").read_text().strip()
    if comm != "kthreadd":
        raise OSError(f"pid 2 is {comm!r}, not kthreadd")
    return 2


def _mrelease_as(uid: int, pidfd: int, flags: int) -> tuple[int, int]:
    """``process_mrelease`` from a forked child that dropped to ``uid`` (no capabilities)."""
    from mrelease_ref.lab.syscalls import process_mrelease_ns

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (child)
        code = 1
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            err, ns = process_mrelease_ns(pidfd, flags)
            os.write(w, f"{err} {ns}".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    try:
        data = b""
        while chunk := os.read(r, 64):
            data += chunk
    finally:
        os.close(r)
        _, status = os.waitpid(pid, 0)
    if not data:
        raise OSError(f"unprivileged caller failed (wait status {status})")
    err, ns = (int(x) for x in data.split())
    return err, ns


class _KernelRun:
    """Interprets the steps on the live kernel; :meth:`close` always cleans up."""

    def __init__(self, sc: Scenario, file_dir: str) -> None:
        from mrelease_ref.lab.measure import ProcHolder
        from mrelease_ref.lab.victim import Victim

        self.sc = sc
        self.obs: Obs = {"victim_mib": _victim_mib(sc)}
        self.file_dir = file_dir
        self.paths: dict[int, Path] = {}
        self.extra_paths: list[Path] = []
        self.victim: Victim | None = None
        self.fz: Any = None
        self.holder: ProcHolder | None = None
        self.extra_fds: list[int] = []
        self.interp_anon: int | None = None

    def start(self) -> None:
        """Create the files and launch the victim (:meth:`close` undoes it, also partly)."""
        from mrelease_ref.lab.victim import launch_victim, make_test_file

        sc = self.sc
        for i, m in enumerate(sc.victim.mappings):
            if m.kind.startswith("file"):
                self.paths[i] = make_test_file(m.nr_pages, self.file_dir)
        spec = to_lab_spec(sc.victim, {i: str(p) for i, p in self.paths.items()},
                           small_file_folios=sc.small_file_folios, sharer=sc.sharer)
        self.victim = launch_victim(spec)
        self.interp_anon = self._interp_anon()

    # -- probes

    def _spec_rss(self) -> dict[str, int] | None:
        """RSS (kB) of the spec's mappings; None once the pid is gone."""
        from mrelease_ref.lab.victim import mapping_rss

        v = self.victim
        assert v is not None
        out = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0, "RssShmem": 0, "AnonHugePages": 0}
        by_kind: dict[str, list[tuple[int, int]]] = {}
        for m, rng in zip(self.sc.victim.mappings, v.maps, strict=True):
            by_kind.setdefault(m.kind, []).append(rng)
        try:
            for kind, ranges in by_kind.items():
                sm = mapping_rss(v.pid, ranges)
                rss, anon = sm.get("Rss", 0), sm.get("Anonymous", 0)
                out["VmRSS"] += rss
                out["AnonHugePages"] += sm.get("AnonHugePages", 0)
                if kind == "shmem":
                    out["RssShmem"] += rss
                else:
                    out["RssAnon"] += anon
                    out["RssFile"] += rss - anon
        except ProcessLookupError:
            return None
        return out

    def _whole_anon_kb(self) -> int | None:
        from mrelease_ref.lab.victim import read_status

        assert self.victim is not None
        try:
            return read_status(self.victim.pid).rss_anon_kb
        except ProcessLookupError:
            return None

    def _interp_anon(self) -> int | None:
        """The interpreter's own anonymous pages (outside the spec), None if unreadable."""
        whole, spec = self._whole_anon_kb(), self._spec_rss()
        if whole is None or spec is None:
            return None
        return (whole - spec["RssAnon"]) // KB_PER_PAGE

    def _probe(self) -> dict[str, int]:
        from mrelease_ref.lab.measure import free_pages_with_pcp, meminfo

        _stat_refresh()
        free, mem = free_pages_with_pcp(), meminfo()
        return {"free": free, "memfree": mem["MemFree"] // KB_PER_PAGE,
                "pagetables_kb": mem["PageTables"], "mlocked_kb": mem["Mlocked"],
                "anon_kb": mem["AnonPages"]}

    def _measured(self, label: str, action: Callable[[], int | None]) -> None:
        """Run ``action`` between two probes; ``action`` may return its own ns."""
        interp0 = self.interp_anon or 0
        p0 = self._probe()
        t0 = time.perf_counter_ns()
        ns = action()
        t1 = time.perf_counter_ns()
        p1 = self._probe()
        interp1 = self._interp_anon()
        if interp1 is None:  # no mm to read: was it torn down in this step?
            anon_drop = (p0["anon_kb"] - p1["anon_kb"]) // KB_PER_PAGE
            interp1 = 0 if anon_drop >= interp0 // 2 else interp0
        self.interp_anon = interp1
        pt_freed = (p0["pagetables_kb"] - p1["pagetables_kb"]) // KB_PER_PAGE
        raw = p1["free"] - p0["free"]
        self.obs[f"{label}.ns"] = ns if ns is not None else t1 - t0
        self.obs[f"{label}.free_raw"] = raw
        self.obs[f"{label}.freed"] = raw - pt_freed - (interp0 - interp1)
        self.obs[f"{label}.memfree"] = p1["memfree"] - p0["memfree"]
        for key in ("pagetables_kb", "mlocked_kb"):
            self.obs[f"{label}.{key}"] = p1[key] - p0[key]

    # -- steps

    def _fd(self, step: Step) -> int:
        from mrelease_ref.lab.syscalls import pidfd_open

        v = self.victim
        assert v is not None
        target = step.target
        if target == "victim":
            return v.pidfd
        if target == "sharer":
            return v.sharer_pidfd
        if target == "-1":
            return -1
        if target == "regular":
            from mrelease_ref.lab.victim import make_test_file

            path = make_test_file(1, self.file_dir)
            self.extra_paths.append(path)
            fd = os.open(path, os.O_RDONLY)
        elif target == "self":
            return PIDFD_SELF_THREAD_GROUP
        elif target == "kthread":
            fd = pidfd_open(_kthreadd_pid())
        else:
            raise ValueError(f"unknown fd kind {target!r}")
        self.extra_fds.append(fd)
        return fd

    def _freezer(self) -> Any:
        from mrelease_ref.lab import freezer

        if self.fz is None:
            v = self.victim
            assert v is not None
            backend, reason = freezer.find_backend()
            if backend is None or not backend.holds_sigkill:
                raise OSError(f"parity needs the cgroup-v1 freezer; have {reason}")
            self.fz = freezer.FreezerGroup(v.pid, backend)
            if v.sharer_pid is not None:
                self.fz.add(v.sharer_pid)
        return self.fz

    def do(self, step: Step) -> None:
        from mrelease_ref.lab.measure import ProcHolder, cachestat_file
        from mrelease_ref.lab.syscalls import posix_fadvise, process_mrelease_ns

        v = self.victim
        assert v is not None
        op = step.op
        if op == "freeze":
            self._freezer().freeze()
        elif op == "thaw":
            self._freezer().thaw()
        elif op == "kill":
            fd = v.pidfd if step.target == "victim" else v.sharer_pidfd
            signal.pidfd_send_signal(fd, signal.SIGKILL)
        elif op == "stop":
            v.kill(signal.SIGSTOP)
            deadline = time.monotonic() + 10
            while v.status().state != "T":
                if time.monotonic() > deadline:
                    raise TimeoutError("victim did not stop")
                time.sleep(0.001)
        elif op == "wait_exit":

            def wait() -> None:
                if not v.exited(timeout_s=30.0):
                    raise TimeoutError("victim did not exit")

            self._measured(step.label, wait)
        elif op == "waitpid":
            v.wait()
        elif op == "mrelease":
            fd = self._fd(step)
            result: list[int] = []

            def call() -> int:
                if step.uid is None:
                    err, ns = process_mrelease_ns(fd, step.flags)
                else:
                    err, ns = _mrelease_as(step.uid, fd, step.flags)
                result.append(err)
                return ns

            self._measured(step.label, call)
            self.obs[f"{step.label}.errno"] = _errno_name(result[0])
        elif op == "snapshot":
            rss = self._spec_rss() or dict.fromkeys(
                ("VmRSS", "RssAnon", "RssFile", "RssShmem", "AnonHugePages"), 0)
            for key, val in rss.items():
                self.obs[f"{step.label}.{key}"] = val
            for i, path in self.paths.items():
                cs = cachestat_file(path)
                for what in ("nr_cache", "nr_dirty", "nr_writeback", "nr_evicted"):
                    self.obs[f"{step.label}.map{i}.{what}"] = getattr(cs, what)
        elif op == "hold":
            self.holder = ProcHolder(v.pid, step.target)  # type: ignore[arg-type]
        elif op == "release":
            holder = self.holder
            assert holder is not None

            def let_go() -> None:
                holder.release()

            self._measured(step.label, let_go)
        elif op == "fadvise":
            fd = os.open(self.paths[int(step.target)], os.O_RDONLY)
            try:
                posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
        elif op == "selftest":
            self._selftest(step.label)
        else:
            raise ValueError(f"unknown step {op!r}")

    def _selftest(self, label: str) -> None:
        """The selftest's flow with Python victims (see ``_ModelRun._selftest``)."""
        from mrelease_ref.lab.syscalls import process_mrelease_ns
        from mrelease_ref.lab.victim import VictimSpec as LabSpec
        from mrelease_ref.lab.victim import launch_victim

        size_mb, attempts = 1, 0
        child = self.victim
        assert child is not None
        while True:
            attempts += 1
            if attempts > 1:
                child = launch_victim(LabSpec.of("anon", size_mb * PAGES_PER_MIB))
            try:
                e_flags, _ = process_mrelease_ns(child.pidfd, -1)
                e_live, _ = process_mrelease_ns(child.pidfd, 0)
                if attempts == 1:
                    self.obs[f"{label}.flags.errno"] = _errno_name(e_flags)
                    self.obs[f"{label}.live.errno"] = _errno_name(e_live)
                child.kill(signal.SIGKILL)
                err, _ = process_mrelease_ns(child.pidfd, 0)
                child.wait()
            finally:
                if child is not self.victim:
                    child.close()
            if err == errno_mod.ESRCH and size_mb < SELFTEST_MAX_MB:
                size_mb *= 2
                continue
            break
        self.obs[f"{label}.verdict"] = "PASS" if err == 0 else f"FAIL ({_errno_name(err)})"
        self.obs[f"{label}.attempts"] = attempts

    def close(self) -> None:
        """Kill, thaw, reap and unlink everything, whatever state the scenario left."""
        v = self.victim
        with contextlib.ExitStack() as stack:
            for path in (*self.paths.values(), *self.extra_paths):
                stack.callback(path.unlink, missing_ok=True)
            for fd in self.extra_fds:
                stack.callback(os.close, fd)
            if self.holder is not None:
                stack.callback(self.holder.close)
            if v is not None:
                stack.callback(v.close)
            if v is not None:
                for fd in (v.sharer_pidfd, v.pidfd):
                    if fd >= 0:
                        with contextlib.suppress(ProcessLookupError):
                            signal.pidfd_send_signal(fd, signal.SIGKILL)
            if self.fz is not None:
                self.fz.close()


def run_kernel(sc: Scenario, file_dir: str = "/var/tmp") -> Obs:
    """Run ``sc`` on the live kernel (needs root, see ``lab.syscalls.available()``)."""
    run = _KernelRun(sc, file_dir)
    try:
        run.start()
        for step in sc.steps:
            run.do(step)
    finally:
        run.close()
    return run.obs


# --- the table -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One (scenario, measure) of the parity table."""

    scenario: str
    measure: str
    fact: str
    model: Value
    kernel: Value
    agree: bool
    rule: str
    expect: Value | None
    source: str
    attempts: int = 1
    noisy: bool = False
    tol: int = 0
    """The tolerance in the row's unit (0 = exact)."""

    def meets(self, expected: Value | None) -> bool:
        """Whether the kernel value is ``expected`` under this row's rule (None: yes)."""
        if expected is None:
            return True
        if self.tol:
            return abs(int(self.kernel) - int(expected)) <= self.tol
        return self.kernel == expected


def _rows(sc: Scenario, model: Obs, kernel: Obs, attempts: int) -> list[Row]:
    rows = []
    for m in sc.measures:
        mv, kv = m.value(model), m.value(kernel)
        rows.append(Row(sc.name, m.name, m.fact, mv, kv, m.agrees(mv, kv), m.rule, m.expect,
                        sc.source, attempts, m.noisy or m.tolerance is not None,
                        m.tolerance.abs if m.tolerance else 0))
    return rows


def _cross_rows(model: Mapping[str, Obs], kernel: Mapping[str, Obs]) -> list[Row]:
    rows = []
    for c in CROSS_MEASURES:
        if not all(name in model and name in kernel for name in c.scenarios):
            continue
        mv, kv = c.fn(model), c.fn(kernel)
        rows.append(Row("+".join(c.scenarios), c.name, c.fact, mv, kv, mv == kv, "exact",
                        c.expect, c.source, 1, c.noisy))
    return rows


@dataclass(slots=True)
class ParityRun:
    """The rows of one parity run plus where and when it ran."""

    rows: list[Row]
    meta: dict[str, Any] = field(default_factory=dict)
    model_obs: dict[str, Obs] = field(default_factory=dict)
    kernel_obs: dict[str, Obs] = field(default_factory=dict)

    @property
    def disagreements(self) -> list[Row]:
        """Rows where model and kernel disagree."""
        return [r for r in self.rows if not r.agree]


def machine_facts(file_dir: str = "/var/tmp") -> dict[str, Any]:
    """Kernel release and build, CPUs, memory, freezer, THP mode of this machine."""
    from mrelease_ref.lab import freezer
    from mrelease_ref.lab.measure import meminfo

    uname = platform.uname()
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    _, fz = freezer.find_backend()
    return {
        "kernel": uname.release,
        "kernel_build": uname.version,
        "machine": uname.machine,
        "cpus": os.cpu_count(),
        "mem_total_kb": meminfo()["MemTotal"],
        "thp": thp.read_text().strip() if thp.exists() else "n/a",
        "freezer": fz,
        "file_dir": file_dir,
        "python": platform.python_version(),
    }


def run_parity(
    scenarios: Sequence[Scenario] = SCENARIOS,
    *,
    retries: int = 2,
    file_dir: str = "/var/tmp",
) -> ParityRun:
    """Run every scenario on the model and the live kernel and compare.

    A scenario whose only disagreements are noisy rows (tolerances, timing predicates)
    is run again on the kernel, up to ``retries`` times; ``Row.attempts`` says how often.
    Needs the lab (``mrelease_ref.lab.syscalls.available()``).
    """
    t0 = time.monotonic()
    run = ParityRun([], meta=machine_facts(file_dir))
    retried: list[str] = []
    skipped: dict[str, str] = {}
    for sc in scenarios:
        if sc.sharer and platform.machine() != "x86_64":
            skipped[sc.name] = f"the CLONE_VM sharer stub is x86_64 only ({platform.machine()})"
            continue
        model = run_model(sc)
        for attempt in range(1, retries + 2):
            kernel = run_kernel(sc, file_dir)
            rows = _rows(sc, model, kernel, attempt)
            bad = [r for r in rows if not r.agree]
            if not bad or any(not r.noisy for r in bad):
                break
            retried += [f"{r.scenario}: {r.measure}: model {r.model}, kernel {r.kernel}"
                        for r in bad]
        run.model_obs[sc.name], run.kernel_obs[sc.name] = model, kernel
        run.rows.extend(rows)
    run.rows.extend(_cross_rows(run.model_obs, run.kernel_obs))
    run.meta["retried"] = retried
    run.meta["skipped"] = skipped
    run.meta["date"] = datetime.datetime.now(datetime.UTC).date().isoformat()
    run.meta["runtime_s"] = round(time.monotonic() - t0, 1)
    return run


def parity_frame(rows: Sequence[Row], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The rows as a pandas table (``columns`` picks and orders them)."""
    import pandas as pd

    frame = pd.DataFrame([asdict(r) for r in rows])
    return frame if columns is None else frame[list(columns)]


def save_run(run: ParityRun, path: Path = STORED_RUN) -> Path:
    """Write the rows and metadata as JSON (observations are not kept)."""
    data = {"meta": run.meta, "rows": [asdict(r) for r in run.rows]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def load_run(path: Path = STORED_RUN) -> ParityRun:
    """The stored run written by :func:`save_run` (``python -m mrelease_ref.scenarios.parity``)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return ParityRun([Row(**r) for r in data["rows"]], meta=data["meta"])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the parity table live, print it, and store it (``--out``)."""
    from mrelease_ref.lab.syscalls import available

    p = argparse.ArgumentParser(prog="python -m mrelease_ref.scenarios.parity",
                                description="model vs live kernel, one row per measure")
    p.add_argument("--out", type=Path, default=STORED_RUN, help="where to store the run")
    p.add_argument("--no-save", action="store_true", help="print only")
    p.add_argument("--file-dir", default="/var/tmp", help="disk-backed dir for test files")
    p.add_argument("--only", default="", help="comma list of scenario names")
    args = p.parse_args(argv)
    ok, reason = available()
    if not ok:
        print(f"lab unavailable: {reason}", file=sys.stderr)
        return 2
    chosen = [s for s in SCENARIOS if not args.only or s.name in args.only.split(",")]
    run = run_parity(chosen, file_dir=args.file_dir)
    for r in run.rows:
        mark = "ok " if r.agree else "BAD"
        print(f"{mark} {r.scenario:24} {r.measure:58} model={r.model!s:8} kernel={r.kernel!s:8}"
              f" ({r.rule}, attempts {r.attempts})")
    print(f"{len(run.rows)} rows, {len(run.disagreements)} disagree; {run.meta}")
    if not args.no_save:
        print(f"stored in {save_run(run, args.out)}")
    return 1 if run.disagreements else 0


if __name__ == "__main__":
    sys.exit(main())

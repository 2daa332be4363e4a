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
(scenario, measure): model value, kernel value, agree or not; it then runs the page-cache
folio cases :data:`FOLIO_CASES` (:mod:`mrelease_ref.lab.folios`, one file size, access
pattern and madvise() hint each) on both and adds ``folios/<case>`` rows: the exact layout
of the file's page cache (runs of folios by order), the mapping's FilePmdMapped and its
RSS; :func:`parity_frame` makes it
a pandas table. :data:`SCENARIOS` covers every fact of docs/sources.md §M0 (items 1-9), the
errno tables (§M3), the /proc holder (§M4.4), page cache after the reap (§M5), memory released
(§M6) and the kernel selftest's flow (§M7). :data:`SIGNAL_SCENARIOS` (run with ``--signals``)
hold signals to threads and to frozen victims, per how the victim sleeps, and the OOM
killer's thaw of a frozen victim (a memcg OOM on the kernel side). :data:`CALL_SCENARIOS`
(``--calls``) hold the calls users make (madvise, mprotect, mlock, memfd, mincore, smaps).
:data:`FORK_SCENARIOS` add fork() with
copy-on-write (the lab's victim forks children that write part of its memory) and
``/proc/<pid>/mem`` of a live, killed, reaped and exited victim.

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
  docs/sources.md §M6 row "empty" shows as +1.0 MB). Counters are folded with
  ``/proc/sys/vm/stat_refresh`` before each read (vmstat per-CPU drift), and the window is
  the step itself (ms). What remains is noise from other work on the machine (docs/sources.md
  §M9: ±10-90 MB over the seconds of an experiment; here the window is milliseconds), pages
  still held by per-CPU ``lru_add`` batches (up to 31 folios per CPU, docs/sources.md §K6.3),
  and the kernel stack and slab pages of an exiting task: -48…+32 pages in 16 runs on
  2026-11-26. Model value = Δ``zoneinfo()["free_with_pcp"]`` (its page tables are a
  counter only, never taken from the free pool). 256 pages is a quarter of the smallest
  amount compared (1024 pages).
* :data:`COUNTER_TOL`: global meminfo counters (PageTables, Mlocked), ±16 kB: they are
  global, so another process may move them within the step's window (docs/sources.md §M9).
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
    - Folio sizes: both sides choose them by readahead (the model's default since the
      ``folios/*`` rows, :data:`FOLIO_CASES`); ``nr_dirty`` of a shared mapping still runs
      with 4 KiB folios on both sides (``Scenario.small_file_folios``).
    - Timings are compared only as ratios (predicates): the model's prices are one
      machine's (mrelease_ref.sim.cost), see mrelease_ref.lab.calibration.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
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
    "CALLS_STORED_RUN",
    "CALL_SCENARIOS",
    "COUNTER_TOL",
    "CROSS_MEASURES",
    "FOLIO_CASES",
    "FOLIO_RSS_TOL",
    "FREED_TOL",
    "SCENARIOS",
    "SIGNAL_SCENARIOS",
    "Change",
    "CrossMeasure",
    "Measure",
    "ParityRun",
    "Row",
    "Scenario",
    "Step",
    "Tolerance",
    "expected_changes",
    "folio_rows",
    "load_run",
    "machine_facts",
    "main",
    "parity_frame",
    "run_folio_parity",
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
PIDFD_THREAD_FLAG = os.O_EXCL  # include/uapi/linux/pidfd.h PIDFD_THREAD
PIDFD_SIGNAL_THREAD = 1 << 0
PIDFD_SIGNAL_THREAD_GROUP = 1 << 1
SELFTEST_MAX_MB = 1024
DATA_DIR = Path(__file__).resolve().parent.parent / "lab" / "data"
STORED_RUN = DATA_DIR / "parity_last.json"
CALLS_STORED_RUN = DATA_DIR / "parity_calls_last.json"
SIGNAL_STORED_RUN = DATA_DIR / "parity_signals.json"
"""The live run of :data:`SIGNAL_SCENARIOS` alone (``--only`` of their names)."""

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
    sig: int = int(signal.SIGKILL)
    """``signal`` steps: the signal sent."""
    how: str = ""
    """``signal`` steps: ``kill``, ``tgkill``, ``tgkill-wrong-tgid``, ``tgkill-zero-tgid``
    or ``pidfd`` (see :func:`send`)."""
    page: int = 0
    """``mem_read``: the page of the mapping to read."""

    def __post_init__(self) -> None:
        if self.op not in STEP_OPS:
            raise ValueError(f"Step.op must be one of {STEP_OPS}, got {self.op!r}")
        if not isinstance(self.label, str) or not isinstance(self.target, str):
            raise TypeError("Step.label and Step.target must be str")
        int_arg("Step.flags", self.flags)
        if self.uid is not None:
            nonneg_int_arg("Step.uid", self.uid)


STEP_OPS = ("freeze", "thaw", "kill", "stop", "wait_exit", "waitpid", "mrelease", "snapshot",
            "hold", "release", "fadvise", "selftest", "smaps", "mincore_file", "signal",
            "pidfd_open", "probe", "settle", "oom", "mem_open", "mem_read")
"""Every ``Step.op`` both runners implement."""


def freeze(target: str = "victim") -> Step:
    """Put the victim (and its sharer) in the cgroup-v1 freezer; ``target="child0"`` freezes
    only that fork() child (a freezer group of its own)."""
    return Step("freeze", target=target)


def thaw(target: str = "victim") -> Step:
    """Thaw the victim (and its sharer), or one fork() child."""
    return Step("thaw", target=target)


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


def snapshot(label: str, target: str = "victim") -> Step:
    """Record the victim's (or a fork() child's) RSS (kB) and the page cache of its files
    (pages)."""
    return Step("snapshot", label, target)


def hold(what: str = "cmdline") -> Step:
    """Start a read of /proc/<victim>/``what`` that blocks holding ``mm_users``."""
    return Step("hold", target=what)


def release(label: str = "release") -> Step:
    """Let the holder's read finish; measured."""
    return Step("release", label)


def mem_open(label: str = "held") -> Step:
    """Open ``/proc/<victim>/mem`` and keep it open (``mem_read`` target ``held:N``)."""
    return Step("mem_open", label)


def mem_read(label: str, target: str = "0", page: int = 0, uid: int | None = None) -> Step:
    """Read the first byte of page ``page`` of mapping ``target`` (an index, ``held:N``
    through the handle of ``mem_open``, or ``unmapped``) from ``/proc/<victim>/mem``,
    opened per read (as ``uid`` if given). Records ``data`` (what the victim stored),
    ``EOF``, ``mismatch`` or the errno name."""
    return Step("mem_read", label, target, uid=uid, page=page)


def fadvise_dontneed(mapping: int = 0) -> Step:
    """``posix_fadvise(POSIX_FADV_DONTNEED)`` over the whole file of mapping ``mapping``."""
    return Step("fadvise", target=str(mapping))


def smaps(label: str) -> Step:
    """Record the smaps fields (kB) and VMA count of every spec mapping (key
    ``{label}.map{i}.{field}``; :data:`SMAPS_KEYS`)."""
    return Step("smaps", label)


def mincore_file(label: str, mapping: int = 0) -> Step:
    """From the caller (LMKD): map the file of mapping ``mapping`` and count the pages
    ``mincore()`` reports resident (key ``{label}.map{i}.mincore``)."""
    return Step("mincore_file", label, str(mapping))


SMAPS_KEYS = ("Rss", "Anonymous", "LazyFree", "Locked", "Private_Clean", "Private_Dirty",
              "Shared_Clean", "Shared_Dirty", "AnonHugePages", "FilePmdMapped", "vmas")
"""What a ``smaps`` step records per mapping (``vmas``: VMAs overlapping the mapping)."""


def selftest(label: str = "selftest") -> Step:
    """The kernel selftest's flow (docs/sources.md §M7) on the scenario's victim."""
    return Step("selftest", label)


# --- steps for signals to threads and frozen victims (kernel/signal.c, kernel/freezer.c) ---


def send(label: str, how: str, sig: int, target: str = "victim", flags: int = 0) -> Step:
    """Send ``sig``; records its errno. ``how``: ``kill`` (of the victim's pid, or of the
    first extra thread's id with ``target="thread"``), ``tgkill`` (victim pid, ``target``'s
    id), ``tgkill-wrong-tgid`` (the caller's own pid as tgid), ``tgkill-zero-tgid``, or
    ``pidfd`` (pidfd_send_signal() through the pidfd a :func:`open_pidfd` step stored
    under ``target``, or the victim's own pidfd, with ``flags``)."""
    return Step("signal", label, target, flags, sig=int(sig), how=how)


def open_pidfd(label: str, target: str = "victim", flags: int = 0) -> Step:
    """``pidfd_open()`` of the victim (or ``target="thread"``: its first extra thread) with
    ``flags``; records the errno and keeps the fd under ``label`` (an ``mrelease`` or
    ``send`` step can name it)."""
    return Step("pidfd_open", label, target, flags)


def probe(label: str) -> Step:
    """Record whether the victim is frozen (freezer.state FROZEN), has exited, and whether
    its group exit started (SIGKILL pending for the leader: SigPnd bit 9)."""
    return Step("probe", label)


def oom(label: str = "oom") -> Step:
    """The kernel's OOM killer takes the victim: the model's ``Kernel.oom_kill()``; on the
    kernel a memcg OOM in the victim's memory group (needs ``Scenario.memcg``)."""
    return Step("oom", label)


def settle(label: str) -> Step:
    """Let the victim run (the model: ``Kernel.run()``; the kernel: up to 2 s) and record
    what it is then: ``exited``, ``stopped`` or ``alive``."""
    return Step("settle", label)


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
    "-48..+32 pages measured, docs/sources.md §M6 row 'empty', §M9 noise (module docstring)",
)
COUNTER_TOL = Tolerance(
    16, "kB", "global meminfo counter, folded by stat_refresh; docs/sources.md §M9 noise"
)


@dataclass(frozen=True, slots=True)
class Measure:
    """One comparable quantity of a scenario.

    The value is ``obs[key]`` or, for a derived quantity or predicate, ``fn(obs)``.
    ``fact`` is the docs/sources.md §M0 item it checks ("" if none); ``expect`` the value
    docs/sources.md reports (checked by the tests against the kernel value, None = not
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
    sleep: str = "pause"
    """What the victim's main thread waits in (``Process.sleep()`` / the lab victim's
    ``sleep``); the lab victim has always slept in ``pause()``."""
    threads: int = 0
    """Extra threads of the victim."""
    thread_sleep: str = ""
    """What the extra threads wait in ("" = as ``sleep``)."""
    memcg: bool = False
    """The kernel side launches the victim in a private cgroup-v1 memory group, so that an
    ``oom`` step can make the group's OOM killer pick it (:mod:`mrelease_ref.lab.memcg`)."""
    forks: tuple[tuple[int, int], ...] = ()
    """fork() children made after the victim is built: ``(mapping index, pages the child
    writes)`` each; steps name them ``child0``, ``child1``, ..."""

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


def mem(label: str, expect: str, what: str = "") -> Measure:
    """The outcome of the ``mem_read`` step ``label``."""
    return Measure(f"/proc/pid/mem: {what or label}", f"{label}.mem", "", expect=expect)


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
    """freeze → SIGKILL → snapshot → process_mrelease → snapshot (docs/sources.md §M2)."""
    return (freeze(), kill(), snapshot("before"), mrelease(label), snapshot(f"after_{label}"))


def _exit() -> tuple[Step, ...]:
    return (thaw(), wait_exit(), snapshot("after_exit"), waitpid())


_S = "docs/sources.md"
_FORK_SRC = ("mm/memory.c:copy_present_ptes(), vma_needs_copy(), wp_page_copy(); "
             "mm/rmap.c:folio_remove_rmap_ptes(); live kernel 2026-12-03")
_MEM_SRC = ("fs/proc/base.c:mem_rw(), __mem_open(); mm/memory.c:__access_remote_vm(), "
            "finish_fault(), do_fault_around(); include/linux/oom.h:"
            "check_stable_address_space(); live kernel 2026-12-03")


def _reap_child(label: str, child: str) -> tuple[Step, ...]:
    """freeze → SIGKILL → process_mrelease of one fork() child."""
    return (freeze(child), kill(child), mrelease(label, fd=child))


def _exit_parent() -> tuple[Step, ...]:
    """Thaw the (killed) victim, let it exit, wait for it."""
    return (thaw(), wait_exit(), waitpid())


_ZYGOTE = VictimSpec((MappingSpec("anon", 4096), MappingSpec("file-private", 1024),
                      MappingSpec("file-cow", 1024, dirty=256)), uid=0)
"""The zygote-like victim: a written heap, read code, and a private file it wrote part of
(so that VMA has an anon_vma and fork() copies its file PTEs too)."""

FORK_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "fork-cow-reap",
        "fork() shares anon pages copy-on-write and copies file PTEs only where the VMA has "
        "anon pages: a child's reap frees only its copies, the parent's frees nothing a "
        "sibling still maps, the last mapper's frees the rest",
        _FORK_SRC,
        _ZYGOTE,
        (
            snapshot("forked"),
            snapshot("forked.c0", "child0"),
            snapshot("forked.c1", "child1"),
            *_reap_child("reap_c1", "child1"),
            snapshot("after_reap_c1"),
            snapshot("after_reap_c1.c1", "child1"),
            thaw("child1"),
            Step("wait_exit", "exit_c1", "child1"),
            freeze(),
            kill(),
            mrelease("reap_parent"),
            snapshot("after_reap_parent.c0", "child0"),
            *_reap_child("reap_c0", "child0"),
            thaw("child0"),
            *_exit_parent(),
        ),
        (
            kb("forked", "RssAnon", expect=17408),
            kb("forked", "RssFile", expect=7168),
            kb("forked.c0", "RssAnon", expect=17408),
            kb("forked.c0", "RssFile", expect=3072),
            kb("forked.c1", "RssAnon", expect=17408),
            errno_is("reap_c1", "0", what="child that wrote 1024 pages"),
            freed("reap_c1", what="the child's reap (its 1024 copies)"),
            kb("after_reap_c1", "RssAnon", expect=17408),
            kb("after_reap_c1.c1", "VmRSS", expect=0),
            errno_is("reap_parent", "0", what="parent, a child still maps its pages"),
            freed("reap_parent", what="the parent's reap (shared with child0: 0)"),
            kb("after_reap_parent.c0", "RssAnon", expect=17408),
            freed("reap_c0", what="the last mapper's reap (all 4352)"),
        ),
        forks=((0, 0), (0, 1024)),
        small_file_folios=True,  # PTE-mapped file pages (copy_huge_pmd() never copies a
                                 # file PMD: the child would fault it in again)
    ),
    Scenario(
        "fork-thp-cow",
        "a child's write to a THP fork() shares splits only its own PMD and copies 4 KiB",
        "mm/huge_memory.c:copy_huge_pmd(), do_huge_pmd_wp_page(); live kernel 2026-12-03",
        _anon(16384, "anon-thp", uid=0),
        (
            snapshot("forked"),
            snapshot("forked.c0", "child0"),
            *_reap_child("reap_c0", "child0"),
            snapshot("after_reap_c0"),
            thaw("child0"),
            Step("wait_exit", "exit_c0", "child0"),
            freeze(),
            kill(),
            mrelease("reap"),
            *_exit_parent(),
        ),
        (
            kb("forked", "AnonHugePages", expect=65536),
            kb("forked.c0", "RssAnon", expect=65536),
            kb("forked.c0", "AnonHugePages", expect=57344),
            freed("reap_c0", what="the child's reap (its 2048 copies)"),
            kb("after_reap_c0", "AnonHugePages", expect=65536),
            freed("reap", what="the parent's reap (every THP)"),
        ),
        forks=((0, 2048),),  # 8 MiB: the child splits 4 of its 32 PMDs
    ),
    Scenario(
        "proc-pid-mem",
        "/proc/<pid>/mem of a live, killed, reaped and exited victim",
        _MEM_SRC,
        VictimSpec((MappingSpec("anon", 1024), MappingSpec("file-private", 256),
                    MappingSpec("file-shared", 256, dirty=16))),
        (
            mem_read("live.anon", "0", 5),
            mem_read("live.file", "1", 3),
            mem_read("live.unmapped", "unmapped"),
            mem_read("live.nobody", "0", uid=NOBODY),
            mem_open("held"),
            freeze(),
            kill(),
            mem_read("killed.anon", "0", 5),
            mrelease("reap"),
            mem_read("reaped.anon", "0", 5),
            mem_read("reaped.file", "1", 3),
            mem_read("reaped.shared", "2", 20),
            # 4 KiB folios (small_file_folios): DONTNEED evicts page 100 although page 3
            # was mapped again, and page 100 is outside the kernel's fault-around window
            # (fault_around_bytes, 64 KiB) of that read
            fadvise_dontneed(1),
            mem_read("reaped.file.evicted", "1", 100),
            thaw(),
            wait_exit(),
            mem_read("zombie.anon", "0", 5),
            mem_read("held.anon", "held:0", 5),
            waitpid(),
        ),
        (
            mem("live.anon", "data", "anon page of a live victim"),
            mem("live.file", "data", "private file page of a live victim"),
            mem("live.unmapped", "EIO", "an address with no VMA"),
            mem("live.nobody", "EACCES", "opened by uid nobody (PTRACE_MODE_ATTACH)"),
            mem("killed.anon", "data", "anon page, frozen + SIGKILL, not reaped"),
            errno_is("reap", "0"),
            mem("reaped.anon", "EIO", "reaped anon page (fault: SIGBUS)"),
            mem("reaped.file", "data", "reaped private file page, cached (fault-around)"),
            mem("reaped.shared", "data", "MAP_SHARED page (VM_SHARED: not reaped)"),
            mem("reaped.file.evicted", "EIO", "reaped private file page, evicted (SIGBUS)"),
            mem("zombie.anon", "ESRCH", "open after exit (no mm)"),
            mem("held.anon", "EOF", "read through a file opened before the exit"),
        ),
        small_file_folios=True,
    ),
)
"""fork() with copy-on-write and /proc/<pid>/mem (added with the fork model)."""

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "errno-order",
        "flags, then the fd, then the task, then 'dying?'",
        f"{_S} §M0.1; §M3.1 rows flags/fd, §M3.2 kthreads",
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
        f"{_S} §M0.1, §M0.3; §M3.1 rows live / SIGSTOPped / cgroup-frozen",
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
        f"{_S} §M0.2, §M0.4, §M0.7-9; §M3.1 'dying task', §M6 anon 4K 64 MB",
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
        f"{_S} §M0.9; §M6 columns ΔMemFree vs ΔFree+pcp",
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
        f"{_S} §M0.1, §M0.4; §M3.1 rows 'wait until zombie' / 'after waitpid'",
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
        f"{_S} §M0.3; §M3.2 row 'caller uid=nobody'",
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
        f"{_S} §M0.3; §M3.3 clone(CLONE_VM|SIGCHLD) rows 'owner only' and 'both'",
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
        f"{_S} §M3.3 clone(CLONE_VM|SIGCHLD) row 'sharer only'",
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
        f"{_S} §M0.5; §M4.4 row H2",
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
        f"{_S} §M0.4, §M0.5; §M4.4 row H1",
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
        f"{_S} §M0.6, §M0.8; §M5 row A; §M6 'file private, read'",
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
        f"{_S} §M0.6; §M5 row A'",
        VictimSpec((MappingSpec("file-private", 4096),)),
        (*_dying(), fadvise_dontneed(), snapshot("after_dontneed"), *_exit()),
        (cache("after_dontneed", "nr_cache", expect=0),),
    ),
    Scenario(
        "dontneed-without-reap",
        "without the reap the killed, frozen victim still maps them: DONTNEED drops none",
        f"{_S} §M0.6; §M5 rows E, E'",
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
        f"{_S} §M0.6, §M0.7; §M5 rows D, D'",
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
        f"{_S} §M0.7; §M5 rows B2/B3; §M6 'file MAP_SHARED of O_RDWR fd'",
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
        f"{_S} §M1.3 (__oom_reap_task_mm zaps vma_is_anonymous || !VM_SHARED)",
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
        f"{_S} §M0.7; §M6 'anon mlocked'",
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
        f"{_S} §M0.7, §M0.8; §M6 'anon THP'",
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
        f"{_S} §M6 row 'empty'",
        _anon(1),
        (*_dying(), *_exit()),
        (errno_is("reap", "0", "2"),),
    ),
    Scenario(
        "selftest",
        "tools/testing/selftests/mm/mrelease_test.c: negative tests, kill, reap, retry",
        f"{_S} §M7",
        _anon(256),
        (selftest(),),
        (
            errno_is("selftest.flags", "EINVAL", "1", "selftest: flags=-1, live child"),
            errno_is("selftest.live", "EINVAL", "1", "selftest: live child"),
            Measure("selftest verdict", "selftest.verdict", "", expect="PASS"),
        ),
    ),
    *FORK_SCENARIOS,
)
"""Every scenario of the parity table (see the module docstring)."""

# --- the calls users make: madvise, mprotect, mlock, memfd, mincore (mm/madvise.c, ...) ------
# Ops run in the victim after setup (MappingSpec.ops); their results are keys "ops.m{i}.{j}".
_DONTNEED, _FREE, _COLD, _PAGEOUT, _DONTNEED_LOCKED = 4, 8, 20, 21, 24
_NORMAL, _RANDOM, _SEQUENTIAL = 0, 1, 2
_PROT_NONE, _PROT_READ, _PROT_RW = 0, 1, 3
_MM = "v6.18 mm/madvise.c"


def op_result(i: int, j: int, name: str, expect: Value, fact: str = "") -> Measure:
    """The result of op ``j`` on mapping ``i`` (errno name, signal, or a count)."""
    return Measure(name, f"ops.m{i}.{j}", fact, expect=expect)


def op_delta(i: int, before: int, after: int, name: str, expect: int) -> Measure:
    """The change between the results of ops ``before`` and ``after`` on mapping ``i``."""

    def fn(obs: Obs) -> Value:
        return int(obs[f"ops.m{i}.{after}"]) - int(obs[f"ops.m{i}.{before}"])

    return Measure(name, fn=fn, expect=expect)


def smaps_kb(label: str, i: int, key: str, expect: int | None = None) -> Measure:
    """An smaps field (kB) or the VMA count of mapping ``i`` at ``smaps`` step ``label``."""
    unit = "" if key == "vmas" else " (kB)"
    return Measure(f"map{i} {key} at {label}{unit}", f"{label}.map{i}.{key}", expect=expect)


CALL_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "madvise-dontneed",
        "MADV_DONTNEED over part of an anon mapping frees it and keeps the VMA; a read "
        "refaults the zero page (no RSS)",
        f"{_MM}:madvise_dontneed_single_vma(); mm/memory.c:do_anonymous_page()",
        VictimSpec((MappingSpec("anon", 1024, ops=(
            ("madvise", _DONTNEED, 0, 256), ("touch", 0, 0, 256), ("vmas", 0, 0, 0))),)),
        (smaps("after_ops"), *_dying(), *_exit()),
        (
            op_result(0, 0, "madvise(DONTNEED) pages 0-255", "0"),
            op_result(0, 2, "VMAs after DONTNEED (not split)", 1),
            smaps_kb("after_ops", 0, "Rss", 3072),
            smaps_kb("after_ops", 0, "Anonymous", 3072),
            errno_is("reap", "0", what="reap after DONTNEED"),
            kb("after_reap", "VmRSS", expect=0),
        ),
    ),
    Scenario(
        "madvise-dontneed-file",
        "MADV_DONTNEED on a private file mapping unmaps clean pages (they stay cached) and "
        "drops COW copies; the next touch refaults the page-cache pages",
        f"{_MM}:madvise_dontneed_single_vma(); mm/memory.c:zap_present_folio_ptes()",
        VictimSpec((MappingSpec("file-private", 1024, ops=(
            ("madvise", _DONTNEED, 0, 512),)),
            MappingSpec("file-cow", 512, 256, ops=(
                ("madvise", _DONTNEED, 0, 512), ("touch", 0, 0, 512))))),
        (snapshot("after_ops"), *_dying(), *_exit()),
        (
            op_result(0, 0, "madvise(DONTNEED) of half the clean file mapping", "0"),
            kb("after_ops", "RssFile", expect=2048 + 2048),
            Measure("map0 nr_cache at after_ops (pages)", "after_ops.map0.nr_cache",
                    expect=1024),
            kb("after_ops", "RssAnon", expect=0),
            Measure("map1 nr_cache at after_ops (pages)", "after_ops.map1.nr_cache",
                    expect=512),
        ),
    ),
    Scenario(
        "range-holes",
        "a hole in the range: madvise() advises both sides and says ENOMEM; mlock() and "
        "mprotect() change the VMAs before the hole and stop with ENOMEM; mincore() ENOMEM",
        f"{_MM}:madvise_walk_vmas(); mm/mlock.c:apply_vma_lock_flags(); "
        "mm/mprotect.c:do_mprotect_pkey(); mm/mincore.c:do_mincore()",
        VictimSpec((MappingSpec("anon", 1024, ops=(
            ("munmap", 0, 256, 1), ("madvise", _DONTNEED, 0, 1024), ("touch", 1, 0, 256),
            ("mlock", 0, 0, 1024), ("mprotect", _PROT_READ, 0, 1024), ("mincore", 0, 0, 1024),
            ("vmas", 0, 0, 0))),)),
        (smaps("after_ops"), *_dying(), *_exit()),
        (
            op_result(0, 0, "munmap of page 256", "0"),
            op_result(0, 1, "madvise(DONTNEED) across the hole", "ENOMEM"),
            op_result(0, 3, "mlock across the hole", "ENOMEM"),
            op_result(0, 4, "mprotect(PROT_READ) across the hole", "ENOMEM"),
            op_result(0, 5, "mincore across the hole", "ENOMEM"),
            op_result(0, 6, "VMAs after all of it", 2),
            smaps_kb("after_ops", 0, "Rss", 1024),
            smaps_kb("after_ops", 0, "Locked", 1024),
            errno_is("reap", "0", what="reap of the mapping with a hole"),
        ),
    ),
    Scenario(
        "madvise-dontneed-mlocked",
        "MADV_DONTNEED on mlocked memory is EINVAL, MADV_DONTNEED_LOCKED zaps it; the reap "
        "munlocks and frees the rest",
        f"{_MM}:madvise_dontneed_free_valid_vma()",
        VictimSpec((MappingSpec("anon-mlocked", 1024, ops=(
            ("madvise", _DONTNEED, 0, 256), ("madvise", _DONTNEED_LOCKED, 0, 256),
            ("madvise", _FREE, 256, 256), ("madvise", _PAGEOUT, 0, 1024),
            ("drain", 0, 0, 0))),)),  # the victim's CPU holds no munlock batch at the reap
        (smaps("after_ops"), *_dying(), *_exit()),
        (
            op_result(0, 0, "madvise(DONTNEED) on VM_LOCKED", "EINVAL"),
            op_result(0, 1, "madvise(DONTNEED_LOCKED) on VM_LOCKED", "0"),
            op_result(0, 2, "madvise(FREE) on VM_LOCKED", "EINVAL"),
            op_result(0, 3, "madvise(PAGEOUT) on VM_LOCKED", "EINVAL"),
            smaps_kb("after_ops", 0, "Rss", 3072),
            smaps_kb("after_ops", 0, "Locked", 3072),
            errno_is("reap", "0", what="reap of the mlocked rest"),
            Measure("Mlocked change by the reap (kB)", "reap.mlocked_kb", "", COUNTER_TOL,
                    expect=-2976),  # 768 munlocks, 24 still in a 31-folio batch
        ),
    ),
    Scenario(
        "madvise-free-lazyfree",
        "MADV_FREE makes clean anon pages lazyfree; a write afterwards re-dirties them",
        f"{_MM}:madvise_free_pte_range(); mm/swap.c:lru_lazyfree(); fs/proc/task_mmu.c",
        VictimSpec((MappingSpec("anon", 1024, ops=(
            ("madvise", _FREE, 0, 512), ("touch", 1, 0, 128), ("drain", 0, 0, 0))),)),
        (smaps("after_ops"), *_dying(), *_exit()),
        (
            op_result(0, 0, "madvise(FREE) pages 0-511", "0"),
            smaps_kb("after_ops", 0, "LazyFree", 1536),
            smaps_kb("after_ops", 0, "Anonymous", 4096),
            kb("after_reap", "VmRSS", expect=0),
        ),
    ),
    Scenario(
        "madvise-free-pageout",
        "reclaim (MADV_PAGEOUT, no swap) discards clean lazyfree pages and keeps re-dirtied "
        "ones and ordinary anon",
        f"{_MM}:madvise_pageout(); mm/vmscan.c:shrink_folio_list(); "
        "mm/rmap.c:try_to_unmap_one()",
        VictimSpec((MappingSpec("anon", 1024, ops=(
            ("madvise", _FREE, 0, 512), ("touch", 1, 0, 128),
            ("madvise", _PAGEOUT, 0, 1024), ("madvise", _FREE, 0, 0))),)),
        (snapshot("after_ops"), *_dying(), *_exit()),
        (
            op_result(0, 2, "madvise(PAGEOUT) whole mapping", "0"),
            op_result(0, 3, "madvise(FREE) of length 0", "0"),
            kb("after_ops", "RssAnon", expect=2560),
            errno_is("reap", "0", what="reap after MADV_FREE + PAGEOUT"),
        ),
    ),
    Scenario(
        "madvise-free-thp",
        "MADV_FREE of anonymous THPs, one written again: reclaim discards the clean PMD whole "
        "and keeps the re-dirtied one",
        f"{_MM}:madvise_free_single_vma(); mm/huge_memory.c:madvise_free_huge_pmd(), "
        "__discard_anon_folio_pmd_locked()",
        VictimSpec((MappingSpec("anon-thp", 1024, ops=(
            ("madvise", _FREE, 0, 1024), ("touch", 1, 0, 1),
            ("madvise", _PAGEOUT, 0, 1024))),)),
        (smaps("after_ops"), *_dying(), *_exit()),
        (
            op_result(0, 0, "madvise(FREE) of two THPs", "0"),
            op_result(0, 2, "madvise(PAGEOUT) of both", "0"),
            smaps_kb("after_ops", 0, "Rss", 2048),
            smaps_kb("after_ops", 0, "LazyFree", 0),
        ),
    ),
    Scenario(
        "madvise-errors",
        "madvise() argument checks: unaligned start, unknown advice, FREE on a file mapping",
        f"{_MM}:is_valid_madvise(), madvise_free_single_vma()",
        VictimSpec((MappingSpec("anon", 256, ops=(
            ("madvise_unaligned", _DONTNEED, 0, 1), ("madvise", 7, 0, 1),
            ("madvise", 999, 0, 1))),
            MappingSpec("file-private", 512, ops=(
                ("madvise", _FREE, 0, 512), ("madvise", _COLD, 0, 512))))),
        (),
        (
            op_result(0, 0, "madvise(start + 1)", "EINVAL"),
            op_result(0, 1, "madvise advice 7 (unused number)", "EINVAL"),
            op_result(0, 2, "madvise advice 999", "EINVAL"),
            op_result(1, 0, "madvise(FREE) on a private file mapping", "EINVAL"),
            op_result(1, 1, "madvise(COLD) on a private file mapping", "0"),
        ),
    ),
    Scenario(
        "madvise-flags-split",
        "advices that change vm_flags split the VMA at the range's ends and merge it back",
        f"{_MM}:madvise_update_vma(); mm/vma.c:vma_modify_flags()",
        VictimSpec((MappingSpec("anon", 1024, ops=(
            ("madvise", _RANDOM, 512, 512), ("madvise", _SEQUENTIAL, 0, 256),
            ("vmas", 0, 0, 0), ("madvise", _NORMAL, 0, 1024), ("vmas", 0, 0, 0))),)),
        (),
        (
            op_result(0, 2, "VMAs after RANDOM 512-1023 + SEQUENTIAL 0-255", 3),
            op_result(0, 4, "VMAs after NORMAL over all of it", 1),
        ),
    ),
    Scenario(
        "pageout-file",
        "MADV_PAGEOUT evicts the clean private file folios the range covers whole; the rest "
        "stays mapped and cached (a fresh 4 MiB file: PMD-mapped 2 MiB folios in the model, "
        "smaller PTE-mapped folios on the live kernel; the outcome is the same)",
        f"{_MM}:madvise_cold_or_pageout_pte_range() (PMD and PTE branches)",
        VictimSpec((MappingSpec("file-private", 1024, ops=(
            ("madvise", _PAGEOUT, 512, 512),)),)),
        (snapshot("after_ops"), *_dying(), *_exit()),
        (
            op_result(0, 0, "madvise(PAGEOUT) pages 512-1023", "0"),
            kb("after_ops", "RssFile", expect=2048),
            cache("after_ops", "nr_cache", expect=512),
            cache("after_ops", "nr_evicted", expect=512),
        ),
    ),
    Scenario(
        "pageout-file-pmd",
        "MADV_PAGEOUT over one PMD-mapped 2 MiB file folio (the tail of a 64 MiB file, where "
        "readahead has reached PMD-sized folios on the live kernel) evicts it whole",
        f"{_MM}:madvise_cold_or_pageout_pte_range() (pmd_trans_huge() branch); "
        "mm/vmscan.c:shrink_folio_list() (TTU_SPLIT_HUGE_PMD)",
        VictimSpec((MappingSpec("file-private", 16384, ops=(
            ("pmdmapped", 0, 0, 0), ("madvise", _PAGEOUT, 15872, 512),
            ("pmdmapped", 0, 0, 0))),)),
        (snapshot("after_ops"), *_dying(), *_exit()),
        (
            op_result(0, 1, "madvise(PAGEOUT) of the last 2 MiB", "0"),
            op_delta(0, 0, 2, "FilePmdMapped change by the PAGEOUT (kB)", -2048),
            kb("after_ops", "RssFile", expect=63488),
            cache("after_ops", "nr_evicted", expect=512),
        ),
    ),
    Scenario(
        "pageout-file-pmd-partial",
        "MADV_PAGEOUT over half of a PMD-mapped 2 MiB file folio splits it: all of it is "
        "unmapped, nothing is evicted",
        f"{_MM}:madvise_cold_or_pageout_pte_range() (split_folio(), then no PTE table); "
        "mm/huge_memory.c:__folio_split() (unmap_folio())",
        VictimSpec((MappingSpec("file-private", 16384, ops=(
            ("pmdmapped", 0, 0, 0), ("madvise", _PAGEOUT, 15872, 256),
            ("pmdmapped", 0, 0, 0))),)),
        (snapshot("after_ops"), *_dying(), *_exit()),
        (
            op_result(0, 1, "madvise(PAGEOUT) of half the last 2 MiB", "0"),
            op_delta(0, 0, 2, "FilePmdMapped change by the partial PAGEOUT (kB)", -2048),
            kb("after_ops", "RssFile", expect=63488),
            cache("after_ops", "nr_evicted", expect=0),
            cache("after_ops", "nr_cache", expect=16384),
        ),
    ),
    Scenario(
        "pageout-file-pte",
        "the same with the file's folios mapped by PTEs (MADV_NOHUGEPAGE): each folio the "
        "range covers whole is exclusive (mapcount == nr_pages) and evicted",
        f"{_MM}:madvise_cold_or_pageout_pte_range() (PTE branch); mm/memory.c:do_set_pmd()",
        VictimSpec((MappingSpec("file-private", 1024, thp=False, ops=(
            ("madvise", _PAGEOUT, 512, 512),)),)),
        (smaps("after_ops"), snapshot("after_ops_rss"), *_dying(), *_exit()),
        (
            op_result(0, 0, "madvise(PAGEOUT) pages 512-1023 (PTE-mapped)", "0"),
            smaps_kb("after_ops", 0, "FilePmdMapped", 0),
            kb("after_ops_rss", "RssFile", expect=2048),
            cache("after_ops_rss", "nr_evicted", expect=512),
        ),
    ),
    Scenario(
        "smaps-fields",
        "smaps per mapping: private clean/dirty split of anon, clean file, COW and shmem "
        "pages mapped by one process",
        "v6.18 fs/proc/task_mmu.c:smaps_account(), smaps_page_accumulate()",
        VictimSpec((MappingSpec("anon", 256), MappingSpec("file-private", 512),
                    MappingSpec("file-cow", 512, dirty=128), MappingSpec("shmem", 256))),
        (smaps("setup"),),
        (
            smaps_kb("setup", 0, "Private_Dirty", 1024),
            smaps_kb("setup", 1, "Private_Clean", 2048),
            smaps_kb("setup", 1, "FilePmdMapped", 0),
            smaps_kb("setup", 2, "Private_Dirty", 512),
            smaps_kb("setup", 2, "Private_Clean", 1536),
            smaps_kb("setup", 2, "Anonymous", 512),
            smaps_kb("setup", 3, "Private_Dirty", 1024),
            smaps_kb("setup", 3, "Shared_Dirty", 0),
        ),
        small_file_folios=True,  # a fresh 2 MiB file is not PMD-mapped on the live kernel
    ),
    Scenario(
        "mprotect",
        "mprotect() splits and merges VMAs; writes to read-only and any access to PROT_NONE "
        "are SIGSEGV; PROT_NONE memory stays resident and is reaped",
        "v6.18 mm/mprotect.c:do_mprotect_pkey(), mprotect_fixup(); "
        "arch/x86/mm/fault.c:access_error()",
        VictimSpec((MappingSpec("anon", 1024, ops=(
            ("mprotect", _PROT_READ, 256, 256), ("vmas", 0, 0, 0), ("access", 1, 300, 1),
            ("access", 0, 300, 1), ("access", 1, 0, 1), ("mprotect", _PROT_NONE, 768, 256),
            ("access", 0, 800, 1), ("mprotect", _PROT_RW, 256, 256), ("vmas", 0, 0, 0))),)),
        (smaps("after_ops"), *_dying(), *_exit()),
        (
            op_result(0, 0, "mprotect(PROT_READ) pages 256-511", "0"),
            op_result(0, 1, "VMAs after it", 3),
            op_result(0, 2, "write to the read-only part", "SIGSEGV"),
            op_result(0, 3, "read of the read-only part", "0"),
            op_result(0, 4, "write to the writable part", "0"),
            op_result(0, 6, "read of PROT_NONE", "SIGSEGV"),
            op_result(0, 8, "VMAs after PROT_READ|WRITE again (merged)", 2),
            smaps_kb("after_ops", 0, "Rss", 4096),
            kb("after_reap", "VmRSS", expect=0),
        ),
    ),
    Scenario(
        "mprotect-private-file",
        "a MAP_PRIVATE mapping of a read-only fd may become writable (VM_MAYWRITE): writes "
        "copy the pages (anon), the page cache stays clean",
        "v6.18 mm/mprotect.c:do_mprotect_pkey(); mm/mmap.c:do_mmap() (VM_MAYWRITE)",
        VictimSpec((MappingSpec("file-private", 512, ops=(
            ("mprotect", _PROT_READ, 0, 512), ("access", 1, 0, 1),
            ("mprotect", _PROT_RW, 0, 512), ("touch", 1, 0, 128))),)),
        (snapshot("after_ops"), *_dying(), *_exit()),
        (
            op_result(0, 1, "write to the PROT_READ private file mapping", "SIGSEGV"),
            op_result(0, 2, "mprotect(PROT_READ|WRITE) of the RO-fd private mapping", "0"),
            kb("after_ops", "RssAnon", expect=512),
            kb("after_ops", "RssFile", expect=1536),
            cache("after_ops", "nr_dirty", expect=0),
        ),
        small_file_folios=True,
    ),
    Scenario(
        "mlock-range",
        "mlock() of part of a mapping splits it and locks those pages; munlock of half "
        "splits again; the reap munlocks the rest",
        "v6.18 mm/mlock.c:apply_vma_lock_flags(), mlock_fixup(), mlock_vma_pages_range()",
        VictimSpec((MappingSpec("anon", 1024, ops=(
            ("mlock", 0, 0, 256), ("munlock", 0, 0, 128), ("vmas", 0, 0, 0))),)),
        (smaps("after_ops"), *_dying(), *_exit()),
        (
            op_result(0, 0, "mlock pages 0-255", "0"),
            op_result(0, 1, "munlock pages 0-127", "0"),
            op_result(0, 2, "VMAs after both", 3),
            smaps_kb("after_ops", 0, "Locked", 512),
            Measure("Mlocked change by the reap (kB)", "reap.mlocked_kb", "", COUNTER_TOL,
                    expect=-496),  # 128 munlocks, 4 still in a 31-folio batch
            kb("after_reap", "VmRSS", expect=0),
        ),
    ),
    Scenario(
        "memfd",
        "memfd: the shared mapping is shmem and skipped by the reaper; the private one maps "
        "shmem pages and COWs written ones, and is reaped",
        "v6.18 mm/memfd.c; mm/oom_kill.c:__oom_reap_task_mm()",
        VictimSpec((MappingSpec("memfd-shared", 256), MappingSpec("memfd-private", 256, 64))),
        (smaps("before_kill"), *_dying(), *_exit()),
        (
            smaps_kb("before_kill", 0, "Rss", 1024),
            smaps_kb("before_kill", 1, "Rss", 1024),
            smaps_kb("before_kill", 1, "Anonymous", 256),
            kb("before", "RssShmem", expect=1792),
            kb("after_reap", "RssShmem", expect=1024),
            kb("after_reap", "RssAnon", expect=0),
        ),
    ),
    Scenario(
        "mincore",
        "mincore(): a reaped private file mapping's pages stay in the page cache (until "
        "POSIX_FADV_DONTNEED); DONTNEED'd anon pages are not resident",
        "v6.18 mm/mincore.c:mincore_pte_range(), __mincore_unmapped_range()",
        VictimSpec((MappingSpec("file-private", 1024, ops=(("mincore", 0, 0, 1024),)),
                    MappingSpec("anon", 1024, ops=(
                        ("madvise", _DONTNEED, 0, 512), ("mincore", 0, 0, 1024))))),
        (*_dying(), mincore_file("after_reap"), fadvise_dontneed(),
         mincore_file("after_dontneed"), *_exit()),
        (
            op_result(0, 0, "mincore of the mapped file", 1024),
            op_result(1, 1, "mincore of anon after DONTNEED of half", 512),
            Measure("file pages resident after the reap", "after_reap.map0.mincore",
                    expect=1024),
            Measure("file pages resident after POSIX_FADV_DONTNEED",
                    "after_dontneed.map0.mincore", expect=0),
        ),
    ),
)
"""Scenarios for madvise, mprotect, mlock, memfd and mincore: run and stored on their own
(``python -m mrelease_ref.scenarios.parity --calls``, :data:`CALLS_STORED_RUN`), so the
main table of :data:`SCENARIOS` and notebook 05 stay as they are."""
def flag(label: str, key: str, what: str, expect: bool) -> Measure:
    """A True/False observation ``key`` of :func:`probe` step ``label``."""
    return Measure(f"{what} ({label})", f"{label}.{key}", "", expect=expect)


def state_is(label: str, expect: str) -> Measure:
    """What :func:`settle` step ``label`` found: exited, stopped or alive."""
    return Measure(f"after the thaw: {expect}? ({label})", f"{label}.state", "", expect=expect)


_FZ = ("kernel/freezer.c:freeze_task(), __set_task_frozen(), __refrigerator(); "
       "kernel/signal.c:wants_signal(), complete_signal(); measured 2026-12-03")
_TH = ("kernel/signal.c:kill_pid_info_type(), do_send_specific(), "
       "SYSCALL_DEFINE4(pidfd_send_signal); fs/pidfs.c:pidfd_prepare(); "
       "kernel/pid.c:pidfd_get_task(); docs/sources.md §M3.2")
_IN_PLACE = ("nanosleep", "futex")
_SIG_NAME = {int(signal.SIGKILL): "SIGKILL", int(signal.SIGTERM): "SIGTERM",
             int(signal.SIGSTOP): "SIGSTOP"}


def _signal_then_reap(sent: Step) -> tuple[Step, ...]:
    """freeze -> ``sent`` -> probe -> process_mrelease -> snapshot -> thaw -> settle."""
    return (freeze(), sent, probe("signalled"), mrelease("reap"), snapshot("after_reap"),
            thaw(), settle("thawed"))


def _outcome(dying: bool, what: str, after_thaw: str = "exited") -> tuple[Measure, ...]:
    """What :func:`_signal_then_reap` shows: group exit started?, errno, RssAnon, state."""
    return (
        flag("signalled", "group_exit", "group exit started", dying),
        errno_is("reap", "0" if dying else "EINVAL", "", what),
        kb("after_reap", "RssAnon", "", 0 if dying else 4096),
        state_is("thawed", after_thaw),
    )


def _frozen_signalled(sleep: str, sig: int) -> Scenario:
    """Freeze a victim sleeping in ``sleep``, send ``sig``, look, reap, thaw, look."""
    name = _SIG_NAME[sig]
    in_place = sleep in _IN_PLACE
    dying = sig == signal.SIGKILL or (sig == signal.SIGTERM and in_place)
    how = "frozen in place" if in_place else "frozen via the fake signal"
    return Scenario(
        f"frozen-{sleep}-{name.lower()}",
        f"{name} to a victim frozen in {sleep}() ({how}): "
        + ("dying, reaped" if dying else "not dying, EINVAL"),
        _FZ,
        _anon(1024),
        _signal_then_reap(send("sig", "kill", sig)),
        (
            flag("signalled", "frozen", "still frozen", True),
            flag("signalled", "exited", "exited while frozen", False),
            *_outcome(dying, f"frozen {sleep}, {name}",
                      "stopped" if sig == signal.SIGSTOP else "exited"),
        ),
        sleep=sleep,
    )


SIGNAL_SCENARIOS: tuple[Scenario, ...] = (
    *(_frozen_signalled(sleep, int(signal.SIGKILL)) for sleep in ("nanosleep", "pause", "busy")),
    *(_frozen_signalled(sleep, int(signal.SIGTERM))
      for sleep in ("nanosleep", "futex", "pause", "select", "busy")),
    *(_frozen_signalled(sleep, int(signal.SIGSTOP)) for sleep in ("nanosleep", "pause")),
    Scenario(
        "frozen-threads-sigterm",
        "SIGTERM to a process whose leader froze via the fake signal and whose thread froze "
        "in place: complete_signal() finds the thread, the group exit starts",
        _FZ,
        _anon(1024),
        _signal_then_reap(send("sig", "kill", signal.SIGTERM)),
        _outcome(True, "leader in pause(), thread in nanosleep(), SIGTERM"),
        sleep="pause", threads=1, thread_sleep="nanosleep",
    ),
    Scenario(
        "frozen-threads-tgkill-sigterm",
        "tgkill(SIGTERM) to a thread frozen via the fake signal: thread-directed, no other "
        "thread is asked, the group is not dying; the thaw delivers it",
        _FZ,
        _anon(1024),
        _signal_then_reap(send("sig", "tgkill", signal.SIGTERM, "thread")),
        (
            errno_is("sig", "0", "", "tgkill(SIGTERM) to the frozen thread"),
            *_outcome(False, "leader in nanosleep(), thread in pause(), tgkill"),
        ),
        sleep="nanosleep", threads=1, thread_sleep="pause",
    ),
    *(Scenario(
        f"oom-frozen-{name}",
        f"the kernel's OOM killer takes a frozen victim ({what}): mark_oom_victim() thaws "
        "the whole process (thaw_process()), every thread, so it exits while its freezer "
        "group still reads FROZEN",
        "mm/oom_kill.c:__oom_kill_process(), mark_oom_victim(); kernel/freezer.c:"
        "thaw_process(), freezing_slow_path(); memcg OOM measured 2026-12-03",
        _anon(8192),
        (freeze(), oom(), settle("after_oom"), probe("after_oom_probe")),
        (
            state_is("after_oom", "exited"),
            flag("after_oom_probe", "frozen", "freezer group still FROZEN", True),
        ),
        sleep=sleep, threads=threads, thread_sleep=thread_sleep, memcg=True,
    ) for name, what, sleep, threads, thread_sleep in (
        ("nanosleep", "one thread, in nanosleep()", "nanosleep", 0, ""),
        ("threads", "leader in pause(), two threads in nanosleep()", "pause", 2, "nanosleep"),
        ("busy-threads", "leader busy, a thread in pause()", "busy", 1, "pause"),
    )),
    Scenario(
        "thread-kill-tid",
        "kill() of a thread id signals the whole group: SIGKILL to a frozen thread's id "
        "makes the process dying",
        _TH,
        _anon(1024),
        _signal_then_reap(send("kill-tid", "kill", signal.SIGKILL, "thread")),
        (
            errno_is("kill-tid", "0", "", "kill(tid, SIGKILL)"),
            *_outcome(True, "leader pidfd after kill(tid)"),
        ),
        threads=1,
    ),
    Scenario(
        "thread-tgkill",
        "tgkill(): EINVAL for tgid 0, ESRCH for the wrong tgid; SIGKILL to one thread kills "
        "the group",
        _TH,
        _anon(1024),
        (send("tgid0", "tgkill-zero-tgid", 0, "thread"),
         send("wrong-tgid", "tgkill-wrong-tgid", 0, "thread"),
         send("probe0", "tgkill", 0, "thread"),
         *_signal_then_reap(send("tgkill", "tgkill", signal.SIGKILL, "thread"))),
        (
            errno_is("tgid0", "EINVAL", "", "tgkill(0, tid, 0)"),
            errno_is("wrong-tgid", "ESRCH", "", "tgkill(other tgid, tid, 0)"),
            errno_is("probe0", "0", "", "tgkill(tgid, tid, 0)"),
            errno_is("tgkill", "0", "", "tgkill(tgid, tid, SIGKILL)"),
            *_outcome(True, "after tgkill(SIGKILL) of a thread"),
        ),
        threads=1,
    ),
    Scenario(
        "thread-pidfd",
        "PIDFD_THREAD pidfds: ENOENT without the flag; process_mrelease() through a "
        "non-leader's pidfd is ESRCH, live or dying; its SIGKILL kills the group",
        _TH,
        _anon(1024),
        (open_pidfd("plain-tid", "thread"),
         open_pidfd("tfd", "thread", PIDFD_THREAD_FLAG),
         mrelease("tfd-live", fd="tfd"),
         send("two-scopes", "pidfd", 0, "tfd", PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP),
         freeze(), send("kill", "pidfd", signal.SIGKILL, "tfd"), probe("signalled"),
         mrelease("tfd-dying", fd="tfd"), mrelease("leader-dying"), thaw(), settle("thawed")),
        (
            errno_is("plain-tid", "ENOENT", "", "pidfd_open(tid, 0)"),
            errno_is("tfd", "0", "", "pidfd_open(tid, PIDFD_THREAD)"),
            errno_is("tfd-live", "ESRCH", "", "thread pidfd, live"),
            errno_is("two-scopes", "EINVAL", "", "two PIDFD_SIGNAL_* scopes"),
            errno_is("kill", "0", "", "pidfd_send_signal(thread pidfd, SIGKILL)"),
            flag("signalled", "group_exit", "group exit started", True),
            errno_is("tfd-dying", "ESRCH", "", "thread pidfd, dying"),
            errno_is("leader-dying", "0", "", "leader pidfd, dying"),
            state_is("thawed", "exited"),
        ),
        threads=1,
    ),
    Scenario(
        "thread-pidfd-scope",
        "SIGTERM through a thread's pidfd goes to that thread only (frozen via the fake "
        "signal: no group exit); PIDFD_SIGNAL_THREAD_GROUP widens it to the group, whose "
        "leader froze in place: dying",
        _TH + "; " + _FZ,
        _anon(1024),
        (open_pidfd("tfd", "thread", PIDFD_THREAD_FLAG), freeze(),
         send("thread-scope", "pidfd", signal.SIGTERM, "tfd"), probe("thread-scope"),
         mrelease("reap-thread-scope"),
         send("group-scope", "pidfd", signal.SIGTERM, "tfd", PIDFD_SIGNAL_THREAD_GROUP),
         probe("group-scope"), mrelease("reap-group-scope"), thaw(), settle("thawed")),
        (
            flag("thread-scope", "group_exit", "SIGTERM, thread scope: group exit", False),
            errno_is("reap-thread-scope", "EINVAL", "", "after the thread-scoped SIGTERM"),
            errno_is("group-scope", "0", "", "PIDFD_SIGNAL_THREAD_GROUP"),
            flag("group-scope", "group_exit", "SIGTERM, group scope: group exit", True),
            errno_is("reap-group-scope", "0", "", "after the group-scoped SIGTERM"),
            state_is("thawed", "exited"),
        ),
        sleep="nanosleep", threads=1, thread_sleep="pause",
    ),
)
"""Signals to threads and to frozen victims, per how the victim sleeps (kernel/signal.c,
kernel/freezer.c, v6.18). Kept apart from :data:`SCENARIOS` (whose stored run notebook 05
shows): ``python -m mrelease_ref.scenarios.parity --signals`` runs them live and stores
``lab/data/parity_signals.json``; every row agreed on 2026-12-03."""


def all_scenarios() -> tuple[Scenario, ...]:
    """Every scenario of every live table (main, ``--calls``, ``--signals``), by name order of
    the tables: what a finding's ``parity`` names may refer to."""
    return SCENARIOS + CALL_SCENARIOS + SIGNAL_SCENARIOS


COST_RATIO = 2
"""Cost predicates ask for 4 KiB anon > 2x THP / clean file per MiB. docs/sources.md §M0.8
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
        f"{_S} §M0.8 (71 vs 3 µs/MB); fixed cost = scenario 'empty'",
        True,
    ),
    CrossMeasure(
        "4 KiB anon reap costs > 2x private clean file per MiB",
        ("dying-anon", "file-private", "empty"),
        _costs_more_per_mib("dying-anon", "file-private", COST_RATIO),
        "8",
        f"{_S} §M0.8 (71 vs 3 µs/MB); fixed cost = scenario 'empty'",
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
    "memfd-shared": "memfd_shared",
    "memfd-private": "memfd_private",
}


def to_lab_spec(
    spec: VictimSpec,
    paths: Mapping[int, str],
    *,
    small_file_folios: bool = False,
    sharer: bool = False,
    sleep: str = "pause",
    threads: int = 0,
    thread_sleep: str = "",
    forks: tuple[tuple[int, int], ...] = (),
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
            out.append(LabMapping(kind, m.nr_pages, m.dirty, paths[i], m.thp,
                                  small_folios=small_file_folios, ops=m.ops))
        else:
            out.append(LabMapping(kind, m.nr_pages, m.dirty, ops=m.ops))
    return LabSpec(tuple(out), sharer=sharer, sleep=sleep, threads=threads,
                   thread_sleep=thread_sleep, forks=forks)


def _victim_mib(sc: Scenario) -> float:
    """Size of the scenario's victim (all mappings), MiB."""
    return sum(m.nr_pages for m in sc.victim.mappings) / PAGES_PER_MIB


def _errno_name(err: int) -> str:
    return errno_mod.errorcode.get(err, str(err)) if err else "0"


# --- the model runner -------------------------------------------------------------------------


class _ModelRun:
    """Interprets the steps on a fresh ``Kernel(variant="baseline")`` (``options``: extra
    Kernel settings over the scenario's own, e.g. those of ``Kernel.android()``)."""

    def __init__(self, sc: Scenario, variant: str = "baseline",
                 options: Sequence[tuple[str, Any]] = ()) -> None:
        from mrelease_ref import Kernel

        self.sc = sc
        self.obs: Obs = {"victim_mib": _victim_mib(sc)}
        kw: dict[str, Any] = {"large_folios": not sc.small_file_folios, **dict(options)}
        self.k: Kernel = Kernel(variant=variant, seed=0, **kw)
        self.lmkd = self.k.spawn("lmkd", uid=0)
        self.v = build_victim(self.k, sc.victim, parent=self.lmkd)
        self.files = {i: self.v.files[f"{m.kind}-{i}"]
                      for i, m in enumerate(sc.victim.mappings) if m.kind.startswith("file")}
        for i, results in enumerate(self.v.op_results):
            for j, r in enumerate(results):
                self.obs[f"ops.m{i}.{j}"] = r
        self.sharer: Process | None = self.v.process.clone_vm("sharer") if sc.sharer else None
        self.children: dict[str, Process] = {}
        for i, (idx, pages) in enumerate(sc.forks):  # as the lab's victim forks them
            child = self.v.process.fork(f"child{i}")
            if pages:
                child.touch(self.v.mappings[idx], write=True, nr_pages=pages)
            self.children[f"child{i}"] = child
        self.stored = {i: [self.v.process.peek(m, j) for j in range(m.nr_pages)]
                       for i, m in enumerate(self.v.mappings)} if _has_mem_reads(sc) else {}
        self.k.lru_add_drain_all()  # as on the real machines: batches long drained
        self.fds = {"victim": self.lmkd.pidfd_open(self.v.process.pid)}
        if self.sharer is not None:
            self.fds["sharer"] = self.lmkd.pidfd_open(self.sharer.pid)
        for name, child in self.children.items():
            self.fds[name] = self.lmkd.pidfd_open(child.pid)
        self.holder: ProcRead | None = None
        self.callers: dict[int, Process] = {}
        # signals and the freezer: the victim's extra threads, how they sleep, stored pidfds
        self.threads = [self.v.process.clone_thread() for _ in range(sc.threads)]
        self.v.process.sleep(sc.sleep)
        for t in self.threads:
            t.sleep(sc.thread_sleep or sc.sleep)
        if self.sharer is not None:
            self.sharer.sleep("pause")  # the lab's sharer stub loops on pause()
        self.pidfds: dict[str, int] = {}
        self.mem_handles: dict[str, Any] = {}

    def _procs(self, target: str = "victim") -> list[Process]:
        if target in self.children:
            return [self.children[target]]
        return [self.v.process] + ([self.sharer] if self.sharer is not None else [])

    def _proc(self, target: str) -> Process:
        if target in self.children:
            return self.children[target]
        proc = self.v.process if target == "victim" else self.sharer
        assert proc is not None
        return proc

    def _probe(self) -> dict[str, int]:
        zone, mem = self.k.zoneinfo(), self.k.meminfo()
        return {"free": zone["free_with_pcp"],
                "memfree": mem["MemFree"] // self.k.pg.kb_per_page,
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
        if target in self.pidfds:
            return self.pidfds[target]
        if target in ("victim", "sharer") or target in self.children:
            if caller is self.lmkd:
                return self.fds[target]
            return caller.pidfd_open(self._proc(target).pid)
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
            for p in self._procs(step.target):
                p.freeze()
        elif op == "thaw":
            for p in self._procs(step.target):
                p.thaw()
        elif op == "kill":
            self.lmkd.kill(self._proc(step.target).pid, signal.SIGKILL)
        elif op == "stop":
            self.lmkd.kill(victim.pid, signal.SIGSTOP)
            k.run()
            assert victim.state == "stopped", victim.state
        elif op == "wait_exit":
            self._measured(step.label, k.run)
            state = self._proc(step.target).state
            assert state in ("zombie", "dead"), state
        elif op == "waitpid":
            self.lmkd.waitpid(victim.pid)
        elif op == "mrelease":
            caller = self._caller(step.uid)
            fd = self._fd(caller, step)
            result: list[int] = []
            self._measured(step.label,
                           lambda: result.append(self._errno(caller, fd, step.flags)))
            self.obs[f"{step.label}.errno"] = _errno_name(result[0])
        elif op == "snapshot" and step.target in self.children:
            child = self.children[step.target]
            status = child.status()
            for key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                self.obs[f"{step.label}.{key}"] = status[key]
            self.obs[f"{step.label}.AnonHugePages"] = _anon_huge_kb(child, self.k.pg.PMD_SIZE)
        elif op == "snapshot":
            self._snapshot(step.label)
        elif op == "mem_open":
            self.mem_handles[step.label] = self.lmkd.proc_mem_open(victim.pid)
        elif op == "mem_read":
            self.obs[f"{step.label}.mem"] = self._mem_read(step)
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
        elif op == "smaps":
            self._smaps(step.label)
        elif op == "mincore_file":
            f = self.files[int(step.target)]
            m = self.lmkd.mmap(f.i_size, file=f, write=False)
            self.obs[f"{step.label}.map{step.target}.mincore"] = sum(self.lmkd.mincore(m))
            self.lmkd.munmap(m)
        elif op in ("signal", "pidfd_open", "probe", "settle", "oom"):
            self._signal_step(step)
        else:
            raise ValueError(f"unknown step {op!r}")

    def _smaps(self, label: str) -> None:
        rows = self.v.process.smaps()
        for i, m in enumerate(self.v.mappings):
            mine = [r for r in rows if int(r["start"]) < m.end and int(r["end"]) > m.start]
            for key in SMAPS_KEYS:
                self.obs[f"{label}.map{i}.{key}"] = (
                    len(mine) if key == "vmas" else sum(int(r[key]) for r in mine))

    def _signal_step(self, step: Step) -> None:
        """The steps of :data:`SIGNAL_SCENARIOS` (signals, thread pidfds, probes)."""
        victim, label = self.v.process, step.label
        if step.op == "oom":
            self.k.oom_kill(victim.pid)
            return
        if step.op == "probe":
            t = victim.task
            self.obs[f"{label}.frozen"] = victim.freezer_state == "FROZEN"
            self.obs[f"{label}.exited"] = self._group_exited()
            self.obs[f"{label}.group_exit"] = bool(t.pending & (1 << (signal.SIGKILL - 1)))
            return
        if step.op == "settle":
            self.k.run()
            self.obs[f"{label}.state"] = ("exited" if self._group_exited() else
                                          "stopped" if victim.state == "stopped" else "alive")
            return
        who = self.threads[0] if step.target == "thread" else victim
        try:
            if step.op == "pidfd_open":
                self.pidfds[label] = self.lmkd.pidfd_open(who.tid, step.flags)
            else:
                self._send(step, who)
        except OSError as exc:
            self.obs[f"{label}.errno"] = _errno_name(exc.errno or 0)
        else:
            self.obs[f"{label}.errno"] = "0"

    def _group_exited(self) -> bool:
        """Every thread has exited (what a readable pidfd says on the kernel)."""
        return all(p.state in ("zombie", "dead") for p in (self.v.process, *self.threads))

    def _send(self, step: Step, who: Process) -> None:
        lmkd, victim = self.lmkd, self.v.process
        if step.how == "kill":
            lmkd.kill(who.tid, step.sig)
        elif step.how == "tgkill":
            lmkd.tgkill(victim.pid, who.tid, step.sig)
        elif step.how == "tgkill-wrong-tgid":
            lmkd.tgkill(lmkd.pid, who.tid, step.sig)
        elif step.how == "tgkill-zero-tgid":
            lmkd.tgkill(0, who.tid, step.sig)
        elif step.how == "pidfd":
            fd = self.pidfds.get(step.target, self.fds["victim"])
            lmkd.pidfd_send_signal(fd, step.sig, step.flags)
        else:
            raise ValueError(f"unknown way to send a signal {step.how!r}")
    def _mem_read(self, step: Step) -> str:
        """One page of /proc/<victim>/mem: "data" if it holds what the victim stored."""
        victim = self.v.process
        held = step.target.startswith("held:")
        idx = int(step.target.split(":")[-1]) if step.target != "unmapped" else 0
        if step.target == "unmapped":
            addr = 1 << self.k.pg.PAGE_SHIFT  # one page up, below mmap_min_addr: unmapped
        else:
            addr = self.v.mappings[idx].start + (step.page << self.k.pg.PAGE_SHIFT)
        try:
            if held:
                got = self.mem_handles["held"].read(addr, 1)
            else:
                caller = self._caller(step.uid)
                got = caller.proc_mem_read(victim.pid, addr, 1)
        except OSError as exc:
            return _errno_name(exc.errno or 0)
        if not got:
            return "EOF"
        return "data" if got[0] == self.stored[idx][step.page] else "mismatch"

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
                m = child.mmap(nr_pages=size_mb * self.k.pg.pages_per_mib)
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


def _anon_huge_kb(p: Process, pmd_size: int) -> int:
    """kB of anonymous THPs ``p`` maps with a PMD of ``pmd_size`` bytes (smaps'
    AnonHugePages of its mm)."""
    from mrelease_ref.include.linux.mm_types import Pmd
    from mrelease_ref.include.linux.page_flags import PG_anon

    mm = p.task.mm
    if mm is None:
        return 0
    return sum(pmd_size // 1024 for e in mm.pgd.values()
               if isinstance(e, Pmd) and e.folio is not None and e.folio.flags & PG_anon)


def _has_mem_reads(sc: Scenario) -> bool:
    return any(step.op == "mem_read" for step in sc.steps)


def run_model(sc: Scenario, variant: str = "baseline",
              options: Sequence[tuple[str, Any]] = ()) -> Obs:
    """Run ``sc`` on ``Kernel(variant=variant)`` (the parity table uses the baseline; other
    variants give the model's prediction for a patched kernel); return what the steps
    observed. ``options`` are extra Kernel settings over the scenario's own (the form of
    ``patch2.Options``; e.g. ``tuple(ANDROID.items())`` runs the model side on
    ``Kernel.android()``'s settings -- model only: there is no live kernel to compare)."""
    if not all(isinstance(o, tuple) and len(o) == 2 and isinstance(o[0], str)
               for o in options):
        raise TypeError("options must be (name, value) pairs of Kernel settings, e.g. "
                        "tuple(ANDROID.items())")
    run = _ModelRun(sc, variant, options)
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


PAGE_SIZE_LAB = 4096


def _pidfd_exited(pidfd: int, timeout_s: float) -> bool:
    """Whether the process behind ``pidfd`` has exited (readable pidfd), within the time."""
    import select

    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(int(timeout_s * 1000)))


def _run_as(uid: int, fn: Callable[[], bytes]) -> bytes:
    """Run ``fn`` in a forked child that dropped to ``uid`` (no groups, no capabilities);
    return what it returned (empty if it failed)."""
    r, w = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (child)
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.write(w, fn())
        finally:
            os._exit(0)
    os.close(w)
    try:
        out = b""
        while chunk := os.read(r, 64):
            out += chunk
    finally:
        os.close(r)
        os.waitpid(child, 0)
    return out


def _mem_read_as(uid: int, pid: int, addr: int) -> bytes:
    """One byte of /proc/<pid>/mem, opened by a process running as ``uid``; raises the
    OSError it got."""

    def read() -> bytes:
        try:
            fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
            return b"ok " + os.pread(fd, 1, addr).hex().encode()
        except OSError as exc:
            return f"err {exc.errno}".encode()

    kind, _, value = _run_as(uid, read).decode().partition(" ")
    if kind == "err":
        err = int(value)
        raise OSError(err, os.strerror(err))
    if kind != "ok":
        raise OSError(f"reader as uid {uid} failed")
    return bytes.fromhex(value)


def _mrelease_as(uid: int, pidfd: int, flags: int) -> tuple[int, int]:
    """``process_mrelease`` from a forked child that dropped to ``uid`` (no capabilities)."""
    from mrelease_ref.lab.syscalls import process_mrelease_ns

    def call() -> bytes:
        err, ns = process_mrelease_ns(pidfd, flags)
        return f"{err} {ns}".encode()

    data = _run_as(uid, call)
    if not data:
        raise OSError(f"unprivileged caller failed (uid {uid})")
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
        self.pidfds: dict[str, int] = {}
        self.memcg: Any = None
        self.child_fz: dict[str, Any] = {}
        self.mem_fds: dict[str, int] = {}

    def start(self) -> None:
        """Create the files and launch the victim (:meth:`close` undoes it, also partly)."""
        from mrelease_ref.lab.victim import launch_victim, make_test_file, wait_sleeping

        sc = self.sc
        for i, m in enumerate(sc.victim.mappings):
            if m.kind.startswith("file"):
                self.paths[i] = make_test_file(m.nr_pages, self.file_dir)
        spec = to_lab_spec(sc.victim, {i: str(p) for i, p in self.paths.items()},
                           small_file_folios=sc.small_file_folios, sharer=sc.sharer,
                           sleep=sc.sleep, threads=sc.threads, thread_sleep=sc.thread_sleep,
                           forks=sc.forks)
        if sc.memcg:
            from mrelease_ref.lab.memcg import MemcgGroup

            self.memcg = MemcgGroup()
            spec = dataclasses.replace(spec, cgroup_procs=self.memcg.procs)
        self.victim = launch_victim(spec)
        for i, results in enumerate(self.victim.op_results):
            for j, r in enumerate(results):
                self.obs[f"ops.m{i}.{j}"] = r
        wait_sleeping(self.victim)  # asleep where the spec says before any freeze
        self.interp_anon = self._interp_anon()

    # -- probes

    def _spec_rss(self, pid: int | None = None) -> dict[str, int] | None:
        """RSS (kB) of the spec's mappings in the victim (or ``pid``, a fork child, whose
        mappings sit at the same addresses); None once the pid is gone."""
        from mrelease_ref.lab.victim import mapping_rss

        v = self.victim
        assert v is not None
        pid = v.pid if pid is None else pid
        out = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0, "RssShmem": 0, "AnonHugePages": 0}
        by_kind: dict[str, list[tuple[int, int]]] = {}
        for m, rng in zip(self.sc.victim.mappings, v.maps, strict=True):
            by_kind.setdefault(m.kind, []).append(rng)
        try:
            for kind, ranges in by_kind.items():
                sm = mapping_rss(pid, ranges)
                rss, anon = sm.get("Rss", 0), sm.get("Anonymous", 0)
                out["VmRSS"] += rss
                out["AnonHugePages"] += sm.get("AnonHugePages", 0)
                if kind == "shmem":
                    out["RssShmem"] += rss
                elif kind.startswith("memfd"):  # shmem pages, and COW copies if private
                    out["RssAnon"] += anon
                    out["RssShmem"] += rss - anon
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

    def _child_pid(self, target: str) -> int:
        v = self.victim
        assert v is not None
        return v.children[int(target.removeprefix("child"))]

    def _private_anon(self, target: str) -> int:
        """Pages of ``target``'s anonymous memory outside the spec that no other process
        maps (what its reap frees besides the spec); 0 once it has no mm."""
        from mrelease_ref.lab.victim import private_anon_kb

        v = self.victim
        assert v is not None
        pid = self._child_pid(target) if target.startswith("child") else v.pid
        try:
            return private_anon_kb(pid, v.maps) // KB_PER_PAGE
        except ProcessLookupError:
            return 0

    def _measured(self, label: str, action: Callable[[], int | None],
                  target: str = "victim") -> None:
        """Run ``action`` between two probes; ``action`` may return its own ns."""
        if self.sc.forks:  # pages shared with a fork child are not freed: count private ones
            self._measured_forked(label, action, target)
            return
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
        self._record(label, p0, p1, ns if ns is not None else t1 - t0, interp0 - interp1)

    def _record(self, label: str, p0: dict[str, int], p1: dict[str, int], ns: int,
                interp_freed: int) -> None:
        """Store what a measured step did: time, Free+pcp change net of page tables and of
        the interpreter's own pages freed (``interp_freed``), MemFree and counters."""
        pt_freed = (p0["pagetables_kb"] - p1["pagetables_kb"]) // KB_PER_PAGE
        raw = p1["free"] - p0["free"]
        self.obs[f"{label}.ns"] = ns
        self.obs[f"{label}.free_raw"] = raw
        self.obs[f"{label}.freed"] = raw - pt_freed - interp_freed
        self.obs[f"{label}.memfree"] = p1["memfree"] - p0["memfree"]
        for key in ("pagetables_kb", "mlocked_kb"):
            self.obs[f"{label}.{key}"] = p1[key] - p0[key]

    def _measured_forked(self, label: str, action: Callable[[], int | None],
                         target: str) -> None:
        """:meth:`_measured` for scenarios with fork children: the interpreter's share of
        what the step frees is the target's *private* anonymous memory outside the spec
        (pages a sibling still maps are not freed)."""
        priv0 = self._private_anon(target)
        p0 = self._probe()
        t0 = time.perf_counter_ns()
        ns = action()
        t1 = time.perf_counter_ns()
        p1 = self._probe()
        priv1 = self._private_anon(target)
        self._record(label, p0, p1, ns if ns is not None else t1 - t0, priv0 - priv1)

    def _child_freezer(self, target: str) -> Any:
        from mrelease_ref.lab import freezer

        if target not in self.child_fz:
            backend, reason = freezer.find_backend()
            if backend is None or not backend.holds_sigkill:
                raise OSError(f"parity needs the cgroup-v1 freezer; have {reason}")
            self.child_fz[target] = freezer.FreezerGroup(self._child_pid(target), backend)
        return self.child_fz[target]

    def _mem_read(self, step: Step) -> str:
        """First byte of one page of /proc/<victim>/mem: "data" if it is what the victim
        stored (1 in written anon and shared pages, the test file's pattern otherwise)."""
        v = self.victim
        assert v is not None
        if step.target == "unmapped":
            addr, want = 0x1000, -1  # below mmap_min_addr: never mapped
        else:
            idx = int(step.target.split(":")[-1])
            addr = v.maps[idx][0] + step.page * PAGE_SIZE_LAB
            m = self.sc.victim.mappings[idx]
            written = not m.kind.startswith("file") or step.page < m.dirty
            want = 1 if written else (step.page * PAGE_SIZE_LAB) % 255 + 1
        try:
            if step.target.startswith("held:"):
                got = os.pread(self.mem_fds["held"], 1, addr)
            elif step.uid is not None:
                got = _mem_read_as(step.uid, v.pid, addr)
            else:
                fd = os.open(f"/proc/{v.pid}/mem", os.O_RDONLY)
                try:
                    got = os.pread(fd, 1, addr)
                finally:
                    os.close(fd)
        except OSError as exc:
            return _errno_name(exc.errno or 0)
        if not got:
            return "EOF"
        return "data" if got[0] == want else "mismatch"

    # -- steps

    def _fd(self, step: Step) -> int:
        from mrelease_ref.lab.syscalls import pidfd_open

        v = self.victim
        assert v is not None
        target = step.target
        if target in self.pidfds:
            return self.pidfds[target]
        if target == "victim":
            return v.pidfd
        if target == "sharer":
            return v.sharer_pidfd
        if target.startswith("child"):
            return v.child_pidfds[int(target.removeprefix("child"))]
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
        child = step.target.startswith("child")
        if op == "freeze":
            (self._child_freezer(step.target) if child else self._freezer()).freeze()
        elif op == "thaw":
            (self._child_freezer(step.target) if child else self._freezer()).thaw()
        elif op == "kill":
            fd = v.pidfd if step.target == "victim" else self._fd(step)
            signal.pidfd_send_signal(fd, signal.SIGKILL)
        elif op == "wait_exit" and child:
            cfd = self._fd(step)

            def wait_child() -> None:
                if not _pidfd_exited(cfd, 30.0):
                    raise TimeoutError(f"{step.target} did not exit")

            self._measured(step.label, wait_child, step.target)
        elif op == "snapshot" and child:
            rss = self._spec_rss(self._child_pid(step.target)) or dict.fromkeys(
                ("VmRSS", "RssAnon", "RssFile", "RssShmem", "AnonHugePages"), 0)
            for key, val in rss.items():
                self.obs[f"{step.label}.{key}"] = val
        elif op == "mem_open":
            self.mem_fds[step.label] = os.open(f"/proc/{v.pid}/mem", os.O_RDONLY)
        elif op == "mem_read":
            self.obs[f"{step.label}.mem"] = self._mem_read(step)
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

            self._measured(step.label, call, step.target)
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
        elif op == "smaps":
            self._smaps(step.label)
        elif op == "mincore_file":
            from mrelease_ref.lab.measure import mincore_file

            i = int(step.target)
            pages = self.sc.victim.mappings[i].nr_pages
            self.obs[f"{step.label}.map{i}.mincore"] = mincore_file(self.paths[i], pages)
        elif op in ("signal", "pidfd_open", "probe", "settle", "oom"):
            self._signal_step(step)
        else:
            raise ValueError(f"unknown step {op!r}")

    def _smaps(self, label: str) -> None:
        from mrelease_ref.lab.victim import mapping_rss, mapping_vmas

        v = self.victim
        assert v is not None
        for i, (start, length) in enumerate(v.maps):
            try:
                sm = mapping_rss(v.pid, [(start, length)])
                nvmas = mapping_vmas(v.pid, start, length)
            except ProcessLookupError:
                sm, nvmas = {}, 0
            for key in SMAPS_KEYS:
                self.obs[f"{label}.map{i}.{key}"] = nvmas if key == "vmas" else sm.get(key, 0)

    def _signal_step(self, step: Step) -> None:
        """The steps of :data:`SIGNAL_SCENARIOS` on the live kernel."""
        from mrelease_ref.lab.memcg import provoke_oom
        from mrelease_ref.lab.syscalls import pidfd_open
        from mrelease_ref.lab.victim import read_status

        v, label = self.victim, step.label
        assert v is not None
        if step.op == "oom":
            if self.memcg is None:
                raise ValueError("an oom step needs Scenario.memcg=True")
            provoke_oom(self.memcg, v.pid)
            return
        if step.op == "probe":
            self.obs[f"{label}.frozen"] = self.fz is not None and self.fz.state() == "FROZEN"
            self.obs[f"{label}.exited"] = v.exited(0.0)
            try:
                sig_pnd = read_status(v.pid).sig_pnd
            except ProcessLookupError:
                sig_pnd = 1 << (signal.SIGKILL - 1)
            self.obs[f"{label}.group_exit"] = bool(sig_pnd & (1 << (signal.SIGKILL - 1)))
            return
        if step.op == "settle":
            state = "exited" if v.exited(2.0) else "alive"
            if state == "alive":
                with contextlib.suppress(ProcessLookupError):
                    state = "stopped" if read_status(v.pid).state == "T" else "alive"
            self.obs[f"{label}.state"] = state
            return
        who = v.thread_tids[0] if step.target == "thread" else v.pid
        try:
            if step.op == "pidfd_open":
                fd = pidfd_open(who, step.flags)
                self.pidfds[label] = fd
                self.extra_fds.append(fd)
            else:
                self._send(step, who)
        except OSError as exc:
            self.obs[f"{label}.errno"] = _errno_name(exc.errno or 0)
        else:
            self.obs[f"{label}.errno"] = "0"

    def _send(self, step: Step, who: int) -> None:
        from mrelease_ref.lab.syscalls import tgkill

        v = self.victim
        assert v is not None
        if step.how == "kill":
            os.kill(who, step.sig)
        elif step.how == "tgkill":
            tgkill(v.pid, who, step.sig)
        elif step.how == "tgkill-wrong-tgid":
            tgkill(os.getpid(), who, step.sig)
        elif step.how == "tgkill-zero-tgid":
            tgkill(0, who, step.sig)
        elif step.how == "pidfd":
            fd = self.pidfds.get(step.target, v.pidfd)
            signal.pidfd_send_signal(fd, step.sig, None, step.flags)
        else:
            raise ValueError(f"unknown way to send a signal {step.how!r}")

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
            for fd in (*self.extra_fds, *self.mem_fds.values()):
                stack.callback(os.close, fd)
            for group in self.child_fz.values():
                stack.callback(group.close)
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
            if self.memcg is not None:
                stack.callback(self.memcg.close)


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


# --- page-cache folio sizes -----------------------------------------------------------------

FOLIO_RSS_TOL = Tolerance(
    256,
    "kB",
    "sparse touches only: fault-around skips folios whose read I/O is still in flight "
    "(next_uptodate_folio() skips locked, !uptodate folios), the model's I/O completes at "
    "once; kernel RSS 0..220 kB below the model in 4 runs on 2026-12-03",
)
_SRC_FOLIOS = "lab/folios.py; lab/data/folios.json (6.18.44, ext4, read_ahead_kb 8192)"


def _folio_cases() -> tuple[Any, ...]:
    from mrelease_ref.lab.folios import Case

    return (
        Case(16, "seq"), Case(2048, "seq"), Case(65536, "seq"), Case(1048576, "seq"),
        Case(65536, "rand"), Case(65536, "stride"), Case(2048, "read"), Case(65536, "read"),
        Case(256, "seq", "hugepage"), Case(8192, "seq", "hugepage"),
        Case(65536, "seq", "sequential"), Case(8192, "seq", "random"),
    )


FOLIO_CASES: tuple[Any, ...] = _folio_cases()
"""The :class:`mrelease_ref.lab.folios.Case` s compared by :func:`run_folio_parity`."""


def folio_rows(case: Any, model: Any, kernel: Any, attempts: int = 1) -> list[Row]:
    """Rows of one folio case (:class:`mrelease_ref.scenarios.folios.FolioObs` per side):
    the page-cache layout (exact), and for a mapping its FilePmdMapped (exact) and RSS
    (exact, or :data:`FOLIO_RSS_TOL` for the sparse ``stride`` touch)."""
    name = f"folios/{case.name}"
    rows = [Row(name, "page-cache layout (first+count x order)", "", model.layout,
                kernel.layout, model.layout == kernel.layout, "exact", None, _SRC_FOLIOS,
                attempts)]
    if case.pattern != "read":
        rows.append(Row(name, "FilePmdMapped kB", "", model.file_pmd_mapped_kb,
                        kernel.file_pmd_mapped_kb,
                        model.file_pmd_mapped_kb == kernel.file_pmd_mapped_kb, "exact", None,
                        _SRC_FOLIOS, attempts))
        tol = FOLIO_RSS_TOL if case.pattern == "stride" else None
        agree = (abs(model.rss_kb - kernel.rss_kb) <= tol.abs if tol
                 else model.rss_kb == kernel.rss_kb)
        rows.append(Row(name, "mapping RSS kB", "", model.rss_kb, kernel.rss_kb, agree,
                        str(tol) if tol else "exact", None,
                        tol.source if tol else _SRC_FOLIOS, attempts, tol is not None,
                        tol.abs if tol else 0))
    return rows


def run_folio_parity(
    cases: Sequence[Any] = FOLIO_CASES, *, retries: int = 2, file_dir: str = "/var/tmp"
) -> list[Row]:
    """Each folio case on the model and on the live kernel (root); a case whose only
    disagreements are toleranced rows is measured again, up to ``retries`` times."""
    from mrelease_ref.scenarios.folios import run_kernel_case, run_model_case

    rows: list[Row] = []
    for case in cases:
        model = run_model_case(case)
        for attempt in range(1, retries + 2):
            got = folio_rows(case, model, run_kernel_case(case, file_dir), attempt)
            bad = [r for r in got if not r.agree]
            if not bad or any(not r.noisy for r in bad):
                break
        rows.extend(got)
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
    variant: str = "baseline",
    folio_cases: Sequence[Any] = FOLIO_CASES,
) -> ParityRun:
    """Run every scenario on the model and the live kernel and compare, then the page-cache
    folio cases (``folio_cases``, :func:`run_folio_parity`).

    ``variant`` picks the model side: the baseline (the parity table), or a version of the
    series, whose prediction is then held against whatever kernel is running (a patched
    build, to test the prediction). A scenario whose only disagreements are noisy rows
    (tolerances, timing predicates) is run again on the kernel, up to ``retries`` times;
    ``Row.attempts`` says how often. Needs the lab (``mrelease_ref.lab.syscalls.available()``).
    """
    from mrelease_ref.lab.lock import realkernel_lock

    with realkernel_lock():
        return _run_parity(scenarios, retries, file_dir, variant, folio_cases)


def _run_parity(
    scenarios: Sequence[Scenario], retries: int, file_dir: str, variant: str,
    folio_cases: Sequence[Any],
) -> ParityRun:
    t0 = time.monotonic()
    run = ParityRun([], meta=machine_facts(file_dir))
    if variant != "baseline":
        run.meta["variant"] = variant
    retried: list[str] = []
    skipped: dict[str, str] = {}
    for sc in scenarios:
        if sc.sharer and platform.machine() != "x86_64":
            skipped[sc.name] = f"the CLONE_VM sharer stub is x86_64 only ({platform.machine()})"
            continue
        model = run_model(sc, variant)
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
    run.rows.extend(run_folio_parity(folio_cases, retries=retries, file_dir=file_dir))
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


@dataclass(frozen=True, slots=True)
class Change:
    """A row a patch is expected to change: the model's baseline and variant values."""

    scenario: str
    measure: str
    baseline: Value
    variant: Value


def expected_changes(variant: str, scenarios: Sequence[Scenario] = SCENARIOS) -> list[Change]:
    """The (scenario, measure) rows where ``Kernel(variant=variant)`` predicts another value
    than the baseline model: what a kernel with that patch should change in the table.
    Model only, no root needed."""
    from mrelease_ref.variants import VARIANTS

    if variant not in VARIANTS or not VARIANTS[variant].implemented:
        raise ValueError(f"unknown variant {variant!r}; choose one of "
                         f"{[v for v, x in VARIANTS.items() if x.implemented]}")
    base: dict[str, Obs] = {}
    new: dict[str, Obs] = {}
    out: list[Change] = []
    for sc in scenarios:
        base[sc.name], new[sc.name] = run_model(sc), run_model(sc, variant)
        out += [Change(sc.name, m.name, m.value(base[sc.name]), m.value(new[sc.name]))
                for m in sc.measures if m.value(base[sc.name]) != m.value(new[sc.name])]
    for c in CROSS_MEASURES:
        if all(name in base for name in c.scenarios) and c.fn(base) != c.fn(new):
            out.append(Change("+".join(c.scenarios), c.name, c.fn(base), c.fn(new)))
    return out


def _print_changes(variant: str, changes: Sequence[Change]) -> None:
    print(f"rows {variant} is expected to change (model: baseline -> {variant}):")
    for c in changes:
        print(f"  {c.scenario:24} {c.measure:58} {c.baseline!s:>8} -> {c.variant!s}")
    if not changes:
        print("  none: the scenarios (flags 0) do not reach what this version changes")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the parity table live, print it, and store it (``--out``).

    ``--variant NAME`` holds the model's prediction for a patched kernel against whatever
    kernel is running (boot a kernel with that patch to test the prediction) and first lists
    the rows the patch is expected to change; ``--model-only`` stops after that list (no
    root needed). A variant run is stored only where ``--out`` says.
    """
    from mrelease_ref.lab.syscalls import available

    p = argparse.ArgumentParser(prog="python -m mrelease_ref.scenarios.parity",
                                description="model vs live kernel, one row per measure")
    p.add_argument("--out", type=Path, default=None,
                   help=f"where to store the run (baseline default: {STORED_RUN})")
    p.add_argument("--no-save", action="store_true", help="print only")
    p.add_argument("--file-dir", default="/var/tmp", help="disk-backed dir for test files")
    p.add_argument("--only", default="", help="comma list of scenario names")
    p.add_argument("--calls", action="store_true",
                   help=f"the CALL_SCENARIOS (madvise, mprotect, ...), stored in "
                        f"{CALLS_STORED_RUN.name} unless --out says otherwise")
    p.add_argument("--signals", action="store_true",
                   help="run SIGNAL_SCENARIOS (stored in lab/data/parity_signals.json)")
    p.add_argument("--variant", default="baseline",
                   help="model side: baseline (default) or a version of the series (v1, d, ...)")
    p.add_argument("--model-only", action="store_true",
                   help="with --variant: list the rows it is expected to change, then stop")
    args = p.parse_args(argv)
    if args.calls and args.signals:
        p.error("--calls and --signals choose different tables: give one")
    pool, default_out = SCENARIOS, STORED_RUN
    if args.calls:
        pool, default_out = CALL_SCENARIOS, CALLS_STORED_RUN
    elif args.signals:
        pool, default_out = SIGNAL_SCENARIOS, SIGNAL_STORED_RUN
    chosen = [s for s in pool if not args.only or s.name in args.only.split(",")]
    expected: set[tuple[str, str]] = set()
    if args.variant != "baseline":
        try:
            changes = expected_changes(args.variant, chosen)
        except ValueError as e:
            print(e, file=sys.stderr)
            return 2
        _print_changes(args.variant, changes)
        expected = {(c.scenario, c.measure) for c in changes}
        if args.model_only:
            return 0
    ok, reason = available()
    if not ok:
        print(f"lab unavailable: {reason}", file=sys.stderr)
        return 2
    only = args.only.split(",") if args.only else None
    folio_cases = [c for c in FOLIO_CASES if pool is SCENARIOS
                   and (only is None or f"folios/{c.name}" in only)]
    run = run_parity(chosen, file_dir=args.file_dir, variant=args.variant,
                     folio_cases=folio_cases)
    for r in run.rows:
        mark = "ok " if r.agree else "BAD"
        change = " [expected to change]" if (r.scenario, r.measure) in expected else ""
        print(f"{mark} {r.scenario:24} {r.measure:58} model={r.model!s:8} kernel={r.kernel!s:8}"
              f" ({r.rule}, attempts {r.attempts}){change}")
    print(f"{len(run.rows)} rows, {len(run.disagreements)} disagree; {run.meta}")
    if expected:
        hit = sum(1 for r in run.rows if (r.scenario, r.measure) in expected and r.agree)
        verdict = "behaves" if hit == len(expected) else "does not behave"
        print(f"{hit} of {len(expected)} rows the patch changes agree with its prediction: "
              f"the running kernel {verdict} as patched")
    out = args.out if args.out is not None else (
        default_out if args.variant == "baseline" else None)
    if not args.no_save and out is not None:
        print(f"stored in {save_run(run, out)}")
    return 1 if run.disagreements else 0


if __name__ == "__main__":
    sys.exit(main())

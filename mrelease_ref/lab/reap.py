"""Timed, deterministic ``process_mrelease()`` of a frozen, SIGKILLed victim.

Kernel: mm/oom_kill.c:process_mrelease() → __oom_reap_task_mm().

:func:`timed_reap` follows docs/sources.md §M2/§M6: launch a victim, wait until every page is
touched, freeze it (cgroup v1), SIGKILL it (it stays "dying, mm attached"), time
``process_mrelease(pidfd, 0)`` with ``perf_counter_ns``, record errno, RSS before/after,
Δ(Free+pcp), a few /proc/meminfo deltas and the victim's smaps_rollup (FilePmdMapped,
AnonHugePages; read before the freeze), then thaw, wait and clean up, always, also on
error. :func:`repeat_reap` runs it N times and gives the median.

Limitations:
    - With only the cgroup-v2 freezer, SIGKILL wakes the victim: the call races
      ``exit_mm()`` and may return ESRCH (recorded in ``ReapResult.errno``).
    - The timed region includes about 1 µs of ctypes overhead.
    - Global deltas (Free+pcp, meminfo) include whatever else the machine does meanwhile.
"""

from __future__ import annotations

import errno as errno_mod
import signal
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from mrelease_ref.lab.freezer import Backend, FreezerGroup
from mrelease_ref.lab.measure import free_pages_with_pcp, meminfo, smaps_rollup
from mrelease_ref.lab.syscalls import PAGE_SIZE, process_mrelease_ns
from mrelease_ref.lab.victim import Victim, VictimSpec, VictimStatus, launch_victim, read_status

__all__ = ("MEMINFO_KEYS", "ReapResult", "ReapSeries", "repeat_reap", "timed_reap")

MEMINFO_KEYS = ("AnonPages", "Cached", "MemFree", "Mlocked", "PageTables", "AnonHugePages")


@dataclass(frozen=True, slots=True)
class ReapResult:
    """One timed reap. ``errno`` 0 means the call returned 0."""

    spec: VictimSpec
    errno: int
    reap_ns: int
    before: VictimStatus
    after: VictimStatus
    freed_pages: int
    meminfo_delta_kb: dict[str, int] = field(default_factory=dict)
    rollup_kb: dict[str, int] = field(default_factory=dict)
    freezer: str = "v1"

    @property
    def ok(self) -> bool:
        """Whether process_mrelease returned 0."""
        return self.errno == 0

    @property
    def errno_name(self) -> str:
        """``"0"`` or the errno's symbolic name (``"ESRCH"``)."""
        return errno_mod.errorcode.get(self.errno, str(self.errno)) if self.errno else "0"

    @property
    def reap_ms(self) -> float:
        """Syscall time in milliseconds."""
        return self.reap_ns / 1e6

    @property
    def freed_mib(self) -> float:
        """Δ(Free+pcp) across the call, MiB."""
        return self.freed_pages * PAGE_SIZE / 2**20


@dataclass(frozen=True, slots=True)
class ReapSeries:
    """Several :class:`ReapResult` of the same spec."""

    results: tuple[ReapResult, ...]

    @property
    def ok_ns(self) -> list[int]:
        """Times of the successful calls."""
        return [r.reap_ns for r in self.results if r.ok]

    @property
    def median_ns(self) -> int | None:
        """Median time of the successful calls (None if none succeeded)."""
        ok = self.ok_ns
        return int(statistics.median(ok)) if ok else None

    @property
    def errnos(self) -> list[str]:
        """Symbolic errno of every call, in order."""
        return [r.errno_name for r in self.results]


def _meminfo_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in MEMINFO_KEYS if k in before and k in after}


def timed_reap(
    spec: VictimSpec,
    backend: Backend | None = None,
    ready_timeout_s: float = 300.0,
    prepare: Callable[[Victim], None] | None = None,
) -> ReapResult:
    """Launch, freeze, SIGKILL, time process_mrelease, thaw, reap. Always cleans up.

    ``prepare(victim)`` runs once the victim is ready, before the freeze (e.g.
    :func:`~mrelease_ref.lab.victim.clear_refs`, or a folio-size probe).
    """
    with launch_victim(spec, ready_timeout_s) as victim, FreezerGroup(victim.pid, backend) as fz:
        if prepare is not None:
            prepare(victim)
        rollup = smaps_rollup(victim.pid)
        fz.freeze()
        before = victim.status()
        mem0, free0 = meminfo(), free_pages_with_pcp()
        victim.kill(signal.SIGKILL)
        err, reap_ns = process_mrelease_ns(victim.pidfd, 0)
        free1, mem1 = free_pages_with_pcp(), meminfo()
        try:
            after = read_status(victim.pid)
        except ProcessLookupError:  # only possible without a v1 freezer
            after = before
        fz.thaw()
        victim.wait()
    return ReapResult(
        spec=spec,
        errno=err,
        reap_ns=reap_ns,
        before=before,
        after=after,
        freed_pages=free1 - free0,
        meminfo_delta_kb=_meminfo_delta(mem0, mem1),
        rollup_kb=rollup,
        freezer=fz.backend.kind,
    )


def repeat_reap(spec: VictimSpec, reps: int = 3, backend: Backend | None = None) -> ReapSeries:
    """Run :func:`timed_reap` ``reps`` times (one fresh victim each)."""
    return ReapSeries(tuple(timed_reap(spec, backend) for _ in range(reps)))

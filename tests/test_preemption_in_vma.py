"""Preemption points inside one VMA: the zap loop and ``exit_mmap()``'s phases.

Kernel rules (v6.18): ``mm/memory.c:zap_pmd_range()`` calls ``cond_resched()`` after every
PMD (``while (pmd++, cond_resched(), addr != end)``), ``zap_pte_range()`` before it retries
after a gather-full flush, and ``unmap_vmas()`` has no preemption point of its own;
``mm/mmap.c:exit_mmap()`` zaps under ``mmap_read_lock()``, sets MMF_OOM_SKIP, takes
``mmap_write_lock()``, frees page tables and the gather, then calls ``cond_resched()``
after each ``remove_vma()``. Every test runs with the invariant checker on.
"""

from __future__ import annotations

import signal

from mrelease_ref import Kernel
from mrelease_ref.include.linux.mm_types import PMD_SIZE
from mrelease_ref.include.uapi.linux.mman import PROCESS_MRELEASE_REAP_KILL
from mrelease_ref.sim.kernel import StepRecord
from tests._support import mm_of, small_kernel

PMDS = 4
PAGES = PMDS * 512


def _victim(k: Kernel) -> tuple[int, int, int]:
    """LMKD, an app with one anonymous VMA of ``PMDS`` PMDs (all written), LMKD's pidfd."""
    lmkd = k.spawn("lmkd", 0)
    app = k.spawn("app", 10001)
    m = app.mmap(PAGES)
    app.touch(m, write=True)
    k.lru_add_drain_all()
    assert m.start % PMD_SIZE == 0
    return lmkd.pid, app.pid, lmkd.pidfd_open(app.pid)


def _zap_steps(steps: list[StepRecord], comm: str) -> int:
    return sum(1 for s in steps if s.comm == comm and s.label == "zap_pmd_range")


def test_reaper_and_exit_mmap_alternate_inside_one_vma() -> None:
    """v2's REAP_KILL pins only mm_count, so the victim's exit_mmap() runs beside the
    reaper (docs/sources.md §T4.3 #4). Stepping LMKD and the victim in turn, both are inside the
    same VMA's zap loop, one PMD per step, each taking the mmap lock for read; the checker
    holds after every step, and every page is freed exactly once."""
    k = small_kernel("v2", trace=True)
    lmkd_pid, app_pid, fd = _victim(k)
    lmkd, app = k.process(lmkd_pid), k.process(app_pid)
    k.run()
    k.steps.clear()
    free0 = k.zoneinfo()["free_with_pcp"]
    mm = mm_of(app)
    done = k.start(lmkd.task, k.series.process_mrelease(lmkd.task, fd, PROCESS_MRELEASE_REAP_KILL),
                   "process_mrelease")
    both_inside = False
    while k.step(lmkd.task) | k.step(app.task):
        inside = [s.comm for s in k.steps[-2:] if s.label == "zap_pmd_range"]
        both_inside |= inside == ["lmkd", "app"] and mm.mmap_lock.readers == 2
    k.run()
    assert done.done and done.value == 0
    assert both_inside
    order = [s.comm for s in k.steps if s.label == "zap_pmd_range"]
    assert "lmkd" in order and "app" in order
    assert k.zoneinfo()["free_with_pcp"] - free0 >= PAGES
    assert k.meminfo()["AnonPages"] == 0


def test_one_preemption_point_per_pmd_not_per_page() -> None:
    """The fast path keeps its speed: a reap of a 4-PMD anonymous VMA yields once per
    PMD (4 times), not once per page (2048), with fast paths on and off."""
    for fast in (True, False):
        k = Kernel(large_folios=False, debug_vm=True, trace=True, fast_paths=fast)
        lmkd_pid, app_pid, fd = _victim(k)
        lmkd = k.process(lmkd_pid)
        lmkd.kill(app_pid, signal.SIGKILL)
        k.steps.clear()
        lmkd.process_mrelease(fd)
        assert _zap_steps(k.steps, "lmkd") == PMDS


def test_exit_mmap_yields_per_pmd_then_per_vma_under_the_write_lock() -> None:
    """exit_mmap()'s own phases: PMD-by-PMD under the read lock, then (write lock held)
    one reschedule per remove_vma()."""
    k = small_kernel("baseline", trace=True)
    lmkd_pid, app_pid, _ = _victim(k)
    app = k.process(app_pid)
    extra = app.mmap(16)
    app.touch(extra, write=True)
    mm = mm_of(app)
    k.process(lmkd_pid).kill(app_pid, signal.SIGKILL)
    k.steps.clear()
    writer_seen = []
    while k.step(app.task):
        if k.steps[-1].label == "exit_mmap:remove_vma":
            writer_seen.append(mm.mmap_lock.writer is app.task)
    assert _zap_steps(k.steps, "app") == PMDS + 1
    assert writer_seen == [True, True]

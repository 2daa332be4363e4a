"""Litmus-style scenarios for process_mrelease(), one claim each.

In the spirit of the Linux Kernel Memory Model litmus tests
(tools/memory-model/litmus-tests): each scenario has a name such as
``mrelease+victim-dying`` (the call, then the situation it meets), a docstring whose first
line is ``Result: <expected outcome>`` followed by a one-sentence claim and the kernel rule
behind it, and a body that builds the situation step by step and checks the outcome. Where
the ordering of events *is* the claim, the body compares a golden fragment of
``k.trace_text()``.

Scenarios are registered in :data:`SCENARIOS` by :func:`litmus` and run by one
parametrized test, whose ids are the scenario names. A scenario that exposes a model bug
is registered with ``model_bug=<one line>`` and runs as a strict xfail.

Sources: docs/sources.md (§ cited per scenario) and docs/sources.md.
"""

from __future__ import annotations

import errno
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from unittest import mock

import pytest

from mrelease_ref import Kernel, Mapping, Process
from mrelease_ref.include.linux.mm_types import (
    MMF_OOM_SKIP,
    MMF_UNSTABLE,
    MmuNotifier,
    VmAreaStruct,
)
from mrelease_ref.include.linux.sched import SIGNAL_GROUP_EXIT
from mrelease_ref.kernel.sched import KernelGen
from mrelease_ref.mm import swap as swap_c
from mrelease_ref.mm.mmap import do_munmap
from mrelease_ref.mm.oom_kill import OOM_REAPER_DELAY_NS, __oom_kill_process, process_mrelease
from mrelease_ref.scenarios.stalls import stall_in_fsync

KB_PER_PAGE = 4
PAGES = 64  # per mapping: the claims do not depend on the size

Scenario = Callable[[], None]
SCENARIOS: dict[str, Scenario] = {}
MODEL_BUGS: dict[str, str] = {}


def litmus(name: str, *, model_bug: str | None = None) -> Callable[[Scenario], Scenario]:
    """Register a scenario under its litmus name (``model_bug``: run as a strict xfail)."""

    def register(fn: Scenario) -> Scenario:
        assert name not in SCENARIOS, f"duplicate scenario {name}"
        SCENARIOS[name] = fn
        if model_bug is not None:
            MODEL_BUGS[name] = model_bug
        return fn

    return register


# --- helpers -----------------------------------------------------------------------------------


def new_kernel(**overrides: object) -> Kernel:
    cfg: dict[str, object] = dict(
        variant="baseline", swap=True, arch="x86_64", large_folios=False, seed=0,
        debug_vm=True, trace=True,
    )
    cfg.update(overrides)
    return Kernel(**cfg)  # type: ignore[arg-type]


def mrelease(caller: Process, pidfd: int) -> int:
    """``process_mrelease(pidfd, 0)``: 0 or the errno."""
    try:
        caller.process_mrelease(pidfd, 0)
    except OSError as e:
        assert e.errno is not None
        return e.errno
    return 0


def anon(p: Process, nr_pages: int = PAGES) -> Mapping:
    m = p.mmap(nr_pages=nr_pages)
    assert p.touch(m, write=True) == nr_pages
    return m


def world(nr_vmas: int = 1, child: bool = True) -> tuple[Kernel, Process, Process, int]:
    """lmkd (root) and a victim with ``nr_vmas`` anon VMAs of ``PAGES`` faulted pages,
    drained to the LRU; lmkd holds a pidfd on it. ``child``: the victim is lmkd's child
    (a zombie until lmkd waits), else init's (reaped at once)."""
    k = new_kernel()
    lmkd = k.spawn("lmkd", uid=0)
    victim = lmkd.spawn_child("victim", uid=10001) if child else k.spawn("victim", uid=10001)
    for _ in range(nr_vmas):
        anon(victim)
    k.lru_add_drain_all()
    return k, lmkd, victim, lmkd.pidfd_open(victim.pid)


def free_pages(k: Kernel) -> int:
    return k.zoneinfo()["free_with_pcp"]


def counters(k: Kernel) -> dict[str, int]:
    return {n: k.vm_events.get(n, 0) for n in ("ZAP_PTE", "TLB_FLUSH", "PGFREE")}


def trace_from(k: Kernel, start: int, funcs: tuple[str, ...] | None = None) -> list[str]:
    """Trace lines recorded since index ``start``, as "comm func: detail" (no timestamps)."""
    out = []
    for e in k.trace[start:]:
        if funcs is None or e.func in funcs:
            out.append(f"{e.comm} {e.func}: {e.detail}")
    return out


def collapse(lines: list[str], key: Callable[[str], str]) -> list[str]:
    """Merge runs of lines with the same key (one entry per run)."""
    out: list[str] = []
    for ln in lines:
        if not out or key(out[-1]) != key(ln):
            out.append(ln)
    return out


@contextmanager
def trace_page_frees(k: Kernel) -> Iterator[None]:
    """Add a ``free_unref_folios`` trace event where the model returns pages to the
    allocator (mm/page_alloc.c), so that "flush before free" shows up in the trace."""
    real = swap_c.free_unref_folios

    def traced(folios: list) -> None:
        if folios and k.tracing:
            k.trace_event("free_unref_folios", f"nr={len(folios)}")
        real(folios)

    with mock.patch.object(swap_c, "free_unref_folios", traced):
        yield


def start_mrelease(k: Kernel, caller: Process, pidfd: int) -> dict[str, int]:
    """Start process_mrelease() as ``caller``'s kernel work, to be single-stepped with
    ``k.step``; the returned dict receives ``ret`` when the call returns."""
    result: dict[str, int] = {}

    def call() -> KernelGen[None]:
        result["ret"] = yield from process_mrelease(caller.task, pidfd, 0)

    k.start(caller.task, call(), "process_mrelease")
    return result


def pause_in_munmap(k: Kernel, thread: Process, vma: VmAreaStruct) -> None:
    """``thread`` starts munmap() of ``vma`` and is preempted inside it (after zapping,
    before unlocking), holding mmap_lock for write."""
    k.start(thread.task, do_munmap(vma.vm_mm, vma, thread.task), "munmap")
    assert k.step(thread.task)
    assert vma.vm_mm.mmap_lock.writer is thread.task


def oom_kill_direct(k: Kernel, pid: int) -> None:
    """What ``Kernel.oom_kill(pid)`` is documented to do, without going through it:
    ``__oom_kill_process()`` of the victim in kernel-thread context."""
    victim = k.process(pid).task
    with k.running(k.kthreadd):
        __oom_kill_process(victim)
    k.check()


# --- the scenarios ---------------------------------------------------------------------------


@litmus("mrelease+victim-live")
def mrelease_victim_live() -> None:
    """Result: EINVAL, nothing reaped.

    A live victim with no fatal signal pending is not "dying", so the call refuses it
    without taking the mmap lock (docs/sources.md §K1.1, §K1.3; §M3.1 "live task:
    EINVAL x5").
    """
    k, lmkd, victim, fd = world()
    start = len(k.trace)
    assert mrelease(lmkd, fd) == errno.EINVAL
    assert victim.status()["RssAnon"] == PAGES * KB_PER_PAGE
    assert trace_from(k, start) == [f"lmkd process_mrelease: pidfd={fd} flags=0x0"]


@litmus("mrelease+victim-dying")
def mrelease_victim_dying() -> None:
    """Result: 0; anon freed; clean file pages stay cached; top VMA first, each VMA's TLB
    flush before its pages are freed.

    A SIGKILLed victim that still has its mm is reaped in the caller, VMA by VMA from the
    highest address, each VMA with its own mmu_gather that flushes the TLB and then frees
    (docs/sources.md §K1.4, §K4; §M0.2 and 6).
    """
    file_pages = 32
    k, lmkd, victim, fd = world()
    f = k.create_file("app.apk", nr_pages=file_pages)
    code = victim.mmap(nr_pages=file_pages, file=f, write=False)
    victim.touch(code)
    k.lru_add_drain_all()
    cached = k.cachestat(f)
    assert cached.nr_cache == file_pages
    victim.freeze()
    lmkd.kill(victim.pid, signal.SIGKILL)
    free0, start = free_pages(k), len(k.trace)
    with trace_page_frees(k):
        assert mrelease(lmkd, fd) == 0
    assert victim.status()["VmRSS"] == 0
    assert free_pages(k) - free0 == PAGES
    assert k.cachestat(f) == cached
    golden = collapse(
        trace_from(k, start, ("process_mrelease", "__oom_reap_task_mm", "tlb_flush",
                              "free_unref_folios")),
        key=lambda ln: ln.split(":")[0],
    )
    shape = [ln.split(":")[0] for ln in golden]
    assert shape == [
        "lmkd process_mrelease",
        "lmkd __oom_reap_task_mm", "lmkd tlb_flush",  # the file VMA: nothing to free
        "lmkd __oom_reap_task_mm", "lmkd tlb_flush", "lmkd free_unref_folios",  # anon VMA
    ], golden
    assert "r--p ext4" in golden[1] and "rw-p anon" in golden[3]
    victim.thaw()
    k.run()
    assert k.cachestat(f) == cached


@litmus("mrelease+victim-zombie")
def mrelease_victim_zombie() -> None:
    """Result: ESRCH; the zombie's memory was already freed by its own exit.

    A zombie still resolves through the pidfd, but no thread has an mm any more, so
    find_lock_task_mm() fails (docs/sources.md §K1.2, §K7.3; §M3.1 "wait until zombie,
    not waited: ESRCH x5").
    """
    k, lmkd, victim, fd = world()
    mm_id = victim.task.mm.mm_id  # type: ignore[union-attr]
    free0 = free_pages(k)
    lmkd.kill(victim.pid, signal.SIGKILL)
    k.run()
    assert victim.state == "zombie"
    assert free_pages(k) - free0 == PAGES
    assert mrelease(lmkd, fd) == errno.ESRCH
    assert trace_from(k, 0, ("__mmput",)) == [
        f"victim __mmput: mm={mm_id} by victim:{victim.pid}"
    ]


@litmus("mrelease+victim-reaped")
def mrelease_victim_reaped() -> None:
    """Result: ESRCH.

    After waitpid() the pid has no task attached, so pidfd_get_task() fails before any mm
    is looked at (docs/sources.md §K7.3; §M3.1 "after waitpid (fully reaped): ESRCH
    x5").
    """
    k, lmkd, victim, fd = world()
    lmkd.kill(victim.pid, signal.SIGKILL)
    k.run()
    lmkd.waitpid(victim.pid)
    assert victim.state == "dead"
    assert mrelease(lmkd, fd) == errno.ESRCH


@litmus("mrelease+exit_mmap-raced")
def mrelease_exit_mmap_raced() -> None:
    """Result: 0; reaper and exit_mmap() share the read lock and the work, every page is
    zapped and freed exactly once.

    process_mrelease() takes mmap_lock for read and zaps from the top VMA down while the
    victim's exit_mmap(), also a reader, zaps from the bottom up; each finds the other's
    VMAs empty, and exit_mmap()'s write lock waits for the reaper (docs/sources.md §K1.7 (a)).
    The invariant checker runs after every step: a double free would stop the run.
    """
    vmas = 4
    k, lmkd, victim, fd = world(nr_vmas=vmas)
    mm = victim.task.mm
    assert mm is not None
    free0, ev0 = free_pages(k), counters(k)
    lmkd.kill(victim.pid, signal.SIGKILL)
    result = start_mrelease(k, lmkd, fd)
    assert k.step(lmkd.task)  # checks pass, read lock taken, the top VMA zapped
    assert "ret" not in result and mm.mmap_lock.readers == 1
    while victim.task.mm is not None or mm.mmap_lock.readers < 2:
        assert k.step(victim.task)  # do_exit → exit_mm → mmput → exit_mmap, read lock
    both_readers = mm.mmap_lock.readers == 2 and mm.mm_users == 0
    while "ret" not in result:
        assert k.step(lmkd.task)
        k.step(victim.task)
    assert both_readers and result["ret"] == 0
    k.run()
    assert victim.state == "zombie"
    ev1 = counters(k)
    assert ev1["ZAP_PTE"] - ev0["ZAP_PTE"] == vmas * PAGES
    assert ev1["PGFREE"] - ev0["PGFREE"] == vmas * PAGES
    assert free_pages(k) - free0 == vmas * PAGES
    order = trace_from(k, 0, ("__oom_reap_task_mm", "exit_mm", "__mmput"))
    assert order[0].startswith("lmkd __oom_reap_task_mm: zap")  # the reaper went first
    assert order[1].startswith("victim exit_mm:") and order[2].startswith("victim __mmput:")
    assert order[3].startswith("lmkd __oom_reap_task_mm: zap")  # ... and went on after


@litmus("mrelease+exit_mmap-done")
def mrelease_exit_mmap_done() -> None:
    """Result: 0, with nothing done: MMF_UNSTABLE never set, no VMA walked.

    When the caller passed the checks but got mmap_lock only after exit_mmap() had
    unmapped everything and set MMF_OOM_SKIP, the re-check under the lock skips the reap
    (docs/sources.md §K1.1 "re-check under the lock: serialises with exit_mmap()", §K1.7 (b)).
    Built with a second victim thread that holds the lock for write in munmap(): the caller
    queues behind it, and the victim's exit runs before the caller resumes.
    """
    k, lmkd, victim, fd = world(nr_vmas=3)
    mm = victim.task.mm
    assert mm is not None
    thread = victim.clone_thread()
    pause_in_munmap(k, thread, mm.mm_mt[0])
    lmkd.kill(victim.pid, signal.SIGKILL)
    result = start_mrelease(k, lmkd, fd)
    assert k.step(lmkd.task)  # found the mm, dying: queued for the read lock
    assert lmkd.task.waiting is not None and mm.mmap_lock.wait_list
    for _ in range(100):  # only the victim's threads run: munmap ends, both threads exit
        if mm.flags & MMF_OOM_SKIP and mm.mmap_lock.wait_list:
            break
        k.step(thread.task)
        k.step(victim.task)
    assert mm.flags & MMF_OOM_SKIP, "exit_mmap() did not get to MMF_OOM_SKIP"
    ev0, start = counters(k), len(k.trace)
    while "ret" not in result:
        assert k.step(lmkd.task)
    assert result["ret"] == 0
    assert not mm.flags & MMF_UNSTABLE
    assert counters(k) == ev0
    assert trace_from(k, start, ("__oom_reap_task_mm",)) == []
    k.run()
    assert victim.state == "zombie"


@litmus("mrelease+coredump")
def mrelease_coredump() -> None:
    """Result: EINVAL while the core dump runs, even after SIGKILL; ESRCH once it is over.

    A task whose group is dumping core (signal->core_state set) is not "dying" for
    task_will_free_mem(): the dump may hold the mm for long (docs/sources.md §K1.3).
    """
    k, lmkd, victim, fd = world()
    k.hold_coredumps = True  # the dump writes to a core pipe nobody reads
    lmkd.kill(victim.pid, signal.SIGSEGV)
    k.run()
    assert victim.task.signal.core_state is not None and victim.task.mm is not None
    assert mrelease(lmkd, fd) == errno.EINVAL
    lmkd.kill(victim.pid, signal.SIGKILL)
    assert mrelease(lmkd, fd) == errno.EINVAL
    assert victim.status()["RssAnon"] == PAGES * KB_PER_PAGE
    k.hold_coredumps = False
    k.run()
    assert victim.state == "zombie"
    assert mrelease(lmkd, fd) == errno.ESRCH


def _signalled_frozen(sig: int, prepare: Callable[[Process], None] | None = None) -> int:
    _k, lmkd, victim, fd = world()
    if prepare is not None:
        prepare(victim)
    victim.freeze()
    lmkd.kill(victim.pid, sig)
    ret = mrelease(lmkd, fd)
    reaped = victim.status()["VmRSS"] == 0
    assert reaped == (ret == 0)
    assert bool(victim.task.signal.flags & SIGNAL_GROUP_EXIT) == (ret == 0)
    return ret


@litmus("mrelease+sigterm-default")
def mrelease_sigterm_default() -> None:
    """Result: 0, the victim is reaped.

    A default-action SIGTERM to a single-threaded process starts the group exit in the
    sender's context: complete_signal() sets SIGNAL_GROUP_EXIT before kill() returns
    (kernel/signal.c; verified on the 6.18 machines, against docs/sources.md §K1.3's reading).
    """
    assert _signalled_frozen(signal.SIGTERM) == 0


@litmus("mrelease+sigterm-caught")
def mrelease_sigterm_caught() -> None:
    """Result: EINVAL.

    A SIGTERM with a handler is not fatal (sig_fatal() is false), so no group exit starts
    and the victim is not dying (docs/sources.md §K1.3).
    """
    def catch(p: Process) -> None:
        p.sigaction(signal.SIGTERM, lambda sig: None)

    assert _signalled_frozen(signal.SIGTERM, catch) == errno.EINVAL


@litmus("mrelease+sigterm-blocked")
def mrelease_sigterm_blocked() -> None:
    """Result: EINVAL.

    A blocked SIGTERM stays pending: no thread wants it, complete_signal() returns before
    the fatal-signal shortcut, so the victim is not dying (docs/sources.md §K1.3).
    """
    def block(p: Process) -> None:
        p.sigprocmask(0, [signal.SIGTERM])  # SIG_BLOCK

    assert _signalled_frozen(signal.SIGTERM, block) == errno.EINVAL


@litmus("mrelease+sigsegv-undelivered")
def mrelease_sigsegv_undelivered() -> None:
    """Result: EINVAL before the victim runs.

    A core-dumping signal never takes complete_signal()'s group-exit shortcut; the group
    exit (after the dump) starts only when the victim delivers the signal itself (docs/sources.md
    §K1.3).
    """
    _k, lmkd, victim, fd = world()
    lmkd.kill(victim.pid, signal.SIGSEGV)
    assert victim.task.signal.flags & SIGNAL_GROUP_EXIT == 0
    assert mrelease(lmkd, fd) == errno.EINVAL
    assert victim.status()["RssAnon"] == PAGES * KB_PER_PAGE


@litmus("mrelease+mm-holder-cmdline")
def mrelease_mm_holder_cmdline() -> None:
    """Result: ESRCH with the memory trapped; freed when the reader lets go, by the reader.

    A blocked /proc/<pid>/cmdline read holds mm_users, so the victim's exit_mm() is not the
    last mmput(): the victim becomes a zombie with its memory allocated, and exit_mmap()
    runs in the reader (docs/sources.md §K2.2; §M4.4 H1).
    """
    k, lmkd, victim, fd = world()
    mm_id = victim.task.mm.mm_id  # type: ignore[union-attr]
    reader = k.spawn("reader", uid=0)
    held = reader.read_proc(victim.pid, "cmdline", block=True)
    free0 = free_pages(k)
    lmkd.kill(victim.pid, signal.SIGKILL)
    k.run()
    assert victim.state == "zombie" and not held.done
    assert mrelease(lmkd, fd) == errno.ESRCH
    assert free_pages(k) == free0
    held.release()
    k.run()
    assert held.done and free_pages(k) - free0 == PAGES
    assert trace_from(k, 0, ("exit_mm", "__mmput")) == [
        f"victim exit_mm: pid={victim.pid} mm={mm_id} mm_users=2",
        f"reader __mmput: mm={mm_id} by reader:{reader.pid}",
    ]


@litmus("mrelease+clone_vm-one-killed")
def mrelease_clone_vm_one_killed() -> None:
    """Result: EINVAL on both pidfds, nothing reaped.

    The owner is dying but a CLONE_VM sharer (another process using the same mm) is not,
    so task_will_free_mem() is false for either side (docs/sources.md §K1.3; §M3.3
    "owner only: EINVAL, EINVAL, RSS unchanged").
    """
    _k, lmkd, owner, owner_fd = world()
    sharer = owner.clone_vm("sharer")
    sharer_fd = lmkd.pidfd_open(sharer.pid)
    owner.freeze()
    sharer.freeze()
    lmkd.kill(owner.pid, signal.SIGKILL)
    assert mrelease(lmkd, owner_fd) == errno.EINVAL
    assert mrelease(lmkd, sharer_fd) == errno.EINVAL
    assert owner.status()["RssAnon"] == PAGES * KB_PER_PAGE


@litmus("mrelease+vfork-both-killed")
def mrelease_vfork_both_killed() -> None:
    """Result: 0 on both pidfds; the shared mm is reaped once.

    When the vfork parent and child are both dying, every process using the mm is dying
    (docs/sources.md §K1.3; §M3.3 "vfork, both: 0, 0, 34160 → 0 kB").
    """
    k, lmkd, parent, parent_fd = world()
    child = parent.clone_vm("vfork-child", vfork=True)
    child_fd = lmkd.pidfd_open(child.pid)
    parent.freeze()
    child.freeze()
    lmkd.kill(child.pid, signal.SIGKILL)
    lmkd.kill(parent.pid, signal.SIGKILL)
    free0 = free_pages(k)
    assert mrelease(lmkd, parent_fd) == 0
    assert mrelease(lmkd, child_fd) == 0
    assert parent.status()["VmRSS"] == 0 and child.status()["VmRSS"] == 0
    assert free_pages(k) - free0 == PAGES


def _oom_reaper_already(oom_kill: Callable[[Kernel, int], None]) -> None:
    k, lmkd, victim, fd = world()
    mm = victim.task.mm
    assert mm is not None
    stall = stall_in_fsync(k, victim)  # a thread in D state keeps the mm attached
    thread = stall.thread
    oom_kill(k, victim.pid)
    t0 = k.clock_ns
    k.run()  # the OOM_REAPER_DELAY timer fires and the oom_reaper kthread reaps
    assert k.clock_ns - t0 >= OOM_REAPER_DELAY_NS
    assert mm.flags & MMF_OOM_SKIP and thread.task.mm is mm
    assert victim.status()["VmRSS"] == 0
    reaps = trace_from(k, 0, ("__oom_reap_task_mm", "oom_reap_task"))
    assert reaps[0].startswith("oom_reaper __oom_reap_task_mm: zap")
    assert reaps[-1].startswith(f"oom_reaper oom_reap_task: pid={victim.pid}")
    ev0, start = counters(k), len(k.trace)
    assert mrelease(lmkd, fd) == 0
    assert counters(k) == ev0
    assert trace_from(k, start) == [f"lmkd process_mrelease: pidfd={fd} flags=0x0"]


@litmus("mrelease+oom_reaper-already")
def mrelease_oom_reaper_already() -> None:
    """Result: 0 without reaping again.

    After the OOM killer's reaper ran, MMF_OOM_SKIP is set: task_will_free_mem() is false,
    and the call returns 0 because "the work has been done already" (docs/sources.md §K1.1, §K1.5,
    §K1.6). The victim keeps its mm (a second thread asleep in fsync() on a hung device, in
    D state; a frozen one would be thawed by mark_oom_victim()) so the call gets that far.
    """
    _oom_reaper_already(lambda k, pid: k.oom_kill(pid))


@litmus("mrelease+oom_reaper-already-direct")
def mrelease_oom_reaper_already_direct() -> None:
    """Result: 0 without reaping again.

    The same claim as ``mrelease+oom_reaper-already``, with the OOM kill done by calling
    __oom_kill_process() directly (the body Kernel.oom_kill() would run), so the
    MMF_OOM_SKIP path is checked without the API wrapper (docs/sources.md §K1.1, §K1.5).
    """
    _oom_reaper_already(oom_kill_direct)


@litmus("oom_kill+victim-frozen")
def oom_kill_victim_frozen() -> None:
    """Result: the frozen OOM victim is thawed, exits by itself and frees its memory before
    the oom_reaper's timer fires.

    mark_oom_victim() thaws the victim, so that a frozen task cannot keep the OOM killer
    from freeing memory (docs/sources.md §K1.5: mark_oom_victim() "thaws the process (thaw_process
    in new code, __thaw_task in older)"); once thawed it delivers its SIGKILL and exits,
    long before the reaper's OOM_REAPER_DELAY (docs/sources.md §K1.5: 2 s).
    """
    k, _lmkd, victim, _fd = world()
    mm_id = victim.task.mm.mm_id  # type: ignore[union-attr]
    victim.freeze()
    free0 = free_pages(k)
    oom_kill_direct(k, victim.pid)
    t0 = k.clock_ns
    while victim.state != "zombie" and k.step():  # runnable tasks only: no timer fires
        pass
    assert victim.state == "zombie"
    assert free_pages(k) - free0 == PAGES
    assert k.clock_ns - t0 < OOM_REAPER_DELAY_NS
    assert trace_from(k, 0, ("__mmput",)) == [
        f"victim __mmput: mm={mm_id} by victim:{victim.pid}"
    ]


class RefusesOneRange(MmuNotifier):
    """A subscriber whose invalidate_range_start() cannot run without blocking for the
    first range it is asked about and can for the others (a KVM-like secondary MMU with
    one busy range). The model's hook has no range, so "first" is "first asked"."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.asked = 0

    @property
    def blocks(self) -> bool:
        self.asked += 1
        return self.asked == 1

    @blocks.setter
    def blocks(self, value: bool) -> None:
        pass


@litmus("mrelease+mmu-notifier")
def mrelease_mmu_notifier() -> None:
    """Result: EAGAIN; the victim's exit then frees everything.

    If an mmu notifier refuses a non-blocking invalidate, __oom_reap_task_mm() skips that
    VMA and reports failure; exit_mmap() later tears down without that restriction
    (docs/sources.md §K1.1, §K1.4).
    """
    k, lmkd, victim, fd = world()
    mm = victim.task.mm
    assert mm is not None
    mm.notifier_subscriptions.append(MmuNotifier("kvm"))
    victim.freeze()
    lmkd.kill(victim.pid, signal.SIGKILL)
    free0 = free_pages(k)
    assert mrelease(lmkd, fd) == errno.EAGAIN
    victim.thaw()
    k.run()
    assert free_pages(k) - free0 == PAGES


@litmus("mrelease+mmu-notifier-one-range")
def mrelease_mmu_notifier_one_range() -> None:
    """Result: EAGAIN, yet every VMA but the refused one is reaped.

    A refused VMA is skipped with ``continue``: the walk goes on, so EAGAIN "does not mean
    nothing reaped" (docs/sources.md §K1.1, §K1.4).
    """
    vmas = 3
    k, lmkd, victim, fd = world(nr_vmas=vmas)
    mm = victim.task.mm
    assert mm is not None
    mm.notifier_subscriptions.append(RefusesOneRange("kvm"))
    victim.freeze()
    lmkd.kill(victim.pid, signal.SIGKILL)
    free0, start = free_pages(k), len(k.trace)
    assert mrelease(lmkd, fd) == errno.EAGAIN
    assert victim.status()["RssAnon"] == PAGES * KB_PER_PAGE  # only the refused VMA is left
    assert free_pages(k) - free0 == (vmas - 1) * PAGES
    top = max(v.vm_start for v in mm.mm_mt)
    zapped = [ln for ln in trace_from(k, start, ("__oom_reap_task_mm",)) if " zap " in ln]
    assert len(zapped) == vmas - 1 and f"{top:#x}" not in "".join(zapped)  # top refused first


@litmus("mrelease+thread-leader-exited")
def mrelease_thread_leader_exited() -> None:
    """Result: EINVAL while the other thread lives; 0 after SIGKILL, its RSS → 0.

    The pidfd still resolves to the zombie leader, and find_lock_task_mm() finds the
    remaining thread's mm; the group is dying only once killed (docs/sources.md §K1.2, §K1.3;
    docs/sources.md §M3.2 "leader already exited via SYS_exit (State Z), other thread alive:
    EINVAL / 0 (thread RSS 9832→0)").
    """
    k, lmkd, victim, fd = world()
    thread = victim.clone_thread()
    victim.thread_exit(0)  # SYS_exit of the leader only
    k.run()
    assert victim.state == "zombie" and thread.state == "sleeping"
    assert mrelease(lmkd, fd) == errno.EINVAL
    assert victim.status()["RssAnon"] == PAGES * KB_PER_PAGE
    victim.freeze()
    lmkd.kill(victim.pid, signal.SIGKILL)
    assert mrelease(lmkd, fd) == 0
    assert victim.status()["VmRSS"] == 0


@litmus("mrelease+caller-killed-while-waiting")
def mrelease_caller_killed_while_waiting() -> None:
    """Result: EINTR inside the kernel; the caller dies and never sees it; the victim's
    memory is freed by its own exit.

    The caller sleeps in mmap_read_lock_killable() behind a writer; a fatal signal ends
    the wait with -EINTR (docs/sources.md §K1.1; §M3.5 "EINTR: only when the caller
    gets a fatal signal while waiting for mmap_lock, so the caller never sees it").
    """
    k, lmkd, victim, fd = world(nr_vmas=2)
    mm = victim.task.mm
    assert mm is not None
    thread = victim.clone_thread()
    pause_in_munmap(k, thread, mm.mm_mt[0])
    killer = k.spawn("killer", uid=0)
    lmkd.kill(victim.pid, signal.SIGKILL)
    result = start_mrelease(k, lmkd, fd)
    assert k.step(lmkd.task) and lmkd.task.waiting is not None  # queued behind the writer
    free0 = free_pages(k)
    killer.kill(lmkd.pid, signal.SIGKILL)
    assert k.step(lmkd.task)
    assert result == {"ret": -errno.EINTR}
    assert all(w.task is not lmkd.task for w in mm.mmap_lock.wait_list)
    k.run()
    # the victim, lmkd's child, is orphaned by lmkd's death: re-parented to init, which
    # reaps it (kernel/exit.c:forget_original_parent(), reparent_leader())
    assert lmkd.state == "dead" and victim.state == "dead"
    assert free_pages(k) - free0 == 2 * PAGES
    assert trace_from(k, 0, ("__oom_reap_task_mm",)) == []  # the caller never reaped


# --- the runner ------------------------------------------------------------------------------


def _params() -> list:
    params = []
    for name in SCENARIOS:
        marks = []
        if name in MODEL_BUGS:
            marks.append(pytest.mark.xfail(strict=True, reason=f"model bug: {MODEL_BUGS[name]}"))
        params.append(pytest.param(name, id=name, marks=marks))
    return params


@pytest.mark.parametrize("name", _params())
def test_litmus(name: str) -> None:
    """Run one scenario; its docstring states the expected result and the kernel rule."""
    SCENARIOS[name]()


def test_every_scenario_states_a_result_and_a_claim() -> None:
    """Each scenario's docstring starts with ``Result: <expected>`` and then makes a claim;
    names follow the litmus pattern ``<call>+<situation>``."""
    assert len(SCENARIOS) >= 15
    for name, fn in SCENARIOS.items():
        doc = (fn.__doc__ or "").strip()
        first, _, rest = doc.partition("\n")
        assert first.startswith("Result: ") and len(first) > len("Result: "), name
        assert rest.strip(), f"{name}: no claim after the Result line"
        assert "+" in name and " " not in name, name

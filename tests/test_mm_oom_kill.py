"""The checks process_mrelease() shares with the OOM killer, the reap itself, and the
kernel's own OOM reaper.

Kernel: mm/oom_kill.c (find_lock_task_mm(), __task_will_free_mem(), task_will_free_mem(),
__oom_reap_task_mm(), oom_reap_task(), queue_oom_reaper(), wake_oom_reaper(),
__oom_kill_process(), SYSCALL_DEFINE2(process_mrelease)) (docs/sources.md §K1; §M0).
"""

from __future__ import annotations

import errno
import signal

import pytest

from mrelease_ref import Kernel, Mapping
from mrelease_ref.include.linux.mm_types import (
    MM_ANONPAGES,
    MMF_OOM_REAP_QUEUED,
    MMF_OOM_SKIP,
    MMF_UNSTABLE,
    PAGE_SHIFT,
    PAGE_SIZE,
    PMD_SHIFT,
    PTRS_PER_PTE,
    MmStruct,
    Pmd,
    Pte,
    PteTable,
)
from mrelease_ref.include.linux.rwsem import mmap_write_lock, mmap_write_unlock
from mrelease_ref.include.linux.sched import (
    PF_EXITING,
    SIGNAL_GROUP_EXIT,
    CoreState,
    TaskStruct,
)
from mrelease_ref.kernel.fork import get_task_mm, mmput
from mrelease_ref.kernel.sched import run_to_completion
from mrelease_ref.mm import oom_kill
from mrelease_ref.mm.oom_kill import (
    HZ,
    MAX_OOM_REAP_RETRIES,
    NSEC_PER_JIFFY,
    OOM_REAPER_DELAY_NS,
    find_lock_task_mm,
    task_will_free_mem,
)
from mrelease_ref.scenarios.stalls import stall_in_fsync
from mrelease_ref.sim.process import Process

KB_PER_PAGE = PAGE_SIZE // 1024  # /proc/meminfo and status report kB
__task_will_free_mem = oom_kill.__task_will_free_mem
__oom_kill_process = oom_kill.__oom_kill_process


def _mm(p: Process) -> MmStruct:
    mm = p.task.mm
    assert mm is not None
    return mm


def _present(p: Process, m: Mapping) -> int:
    """Present pages (PTEs of any kind, zero page and PFN entries included, and the pages
    of PMD-level entries) in ``m``."""
    n = 0
    for page in range(m.nr_pages):
        addr = m.start + (page << PAGE_SHIFT)
        table = _mm(p).pgd.get(addr >> PMD_SHIFT)
        if isinstance(table, Pmd) or (isinstance(table, PteTable) and isinstance(
            table[(addr >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)], Pte
        )):
            n += 1
    return n


def _kill_and_release(lmkd: Process, victim: Process) -> None:
    fd = lmkd.pidfd_open(victim.pid)
    lmkd.kill(victim.pid, signal.SIGKILL)
    lmkd.process_mrelease(fd, 0)


# --- find_lock_task_mm ---------------------------------------------------------------------------


def test_find_lock_task_mm_skips_threads_that_dropped_their_mm() -> None:
    """Kernel: mm/oom_kill.c:find_lock_task_mm(): the first thread of the group that still
    has ->mm; the leader may already be past exit_mm() while another thread still uses the
    mm; NULL once no thread has one (docs/sources.md §K1.2)."""
    k = Kernel(large_folios=False, debug_vm=True)
    app = k.spawn("app", uid=1000)
    worker = app.clone_thread()
    assert find_lock_task_mm(app.task) is app.task
    app.thread_exit()  # the leader alone: exit_mm() clears its ->mm
    k.run()
    assert app.task.mm is None and app.state == "zombie"
    assert find_lock_task_mm(app.task) is worker.task
    worker.thread_exit()
    k.run()
    assert find_lock_task_mm(app.task) is None


# --- __task_will_free_mem / task_will_free_mem -------------------------------------------------


def _threads(k: Kernel, n: int) -> tuple[Process, list[Process]]:
    app = k.spawn("app", uid=1000)
    return app, [app.clone_thread() for _ in range(n - 1)]


@pytest.mark.parametrize(
    ("nr_threads", "group_exit", "exiting", "core_dump", "expected"),
    [
        (1, False, False, False, False),  # alive
        (1, True, False, False, True),  # SIGNAL_GROUP_EXIT
        (3, True, False, False, True),
        (1, False, True, False, True),  # single-threaded and PF_EXITING
        (3, False, True, False, False),  # PF_EXITING in one thread of many is not enough
        (1, True, True, True, False),  # a core dump is in progress
        (3, True, False, True, False),
    ],
)
def test___task_will_free_mem_truth_table(
    nr_threads: int, group_exit: bool, exiting: bool, core_dump: bool, expected: bool
) -> None:
    """Kernel: mm/oom_kill.c:__task_will_free_mem(): signal->core_state -> false (the dump
    may sleep long with the mm); SIGNAL_GROUP_EXIT -> true; thread_group_empty() &&
    PF_EXITING -> true; otherwise false (docs/sources.md §K1.3)."""
    k = Kernel(large_folios=False)
    app, _ = _threads(k, nr_threads)
    t = app.task
    if group_exit:
        t.signal.flags |= SIGNAL_GROUP_EXIT
    if exiting:
        t.flags |= PF_EXITING
    if core_dump:
        t.signal.core_state = CoreState(dumper=t)
    assert __task_will_free_mem(t) is expected


def test_task_will_free_mem_needs_an_mm_and_no_mmf_oom_skip() -> None:
    """Kernel: mm/oom_kill.c:task_will_free_mem(): false without an mm (a kernel thread,
    or after exit_mm()), and false once MMF_OOM_SKIP says the mm was already reaped or torn
    down ("little left to free")."""
    k = Kernel(large_folios=False)
    assert not task_will_free_mem(k.kthreadd)
    app = k.spawn("app", uid=1000)
    lmkd = k.spawn("lmkd")
    lmkd.kill(app.pid, signal.SIGKILL)
    assert task_will_free_mem(app.task)
    _mm(app).flags |= MMF_OOM_SKIP
    assert not task_will_free_mem(app.task)


def test_task_will_free_mem_single_user_needs_no_walk() -> None:
    """Kernel: mm/oom_kill.c:task_will_free_mem(): ``atomic_read(&mm->mm_users) <= 1`` ->
    true without looking at other processes."""
    k = Kernel(large_folios=False)
    app = k.spawn("app", uid=1000)
    app.task.signal.flags |= SIGNAL_GROUP_EXIT
    assert _mm(app).mm_users == 1
    assert task_will_free_mem(app.task)


def test_task_will_free_mem_ignores_pins_that_are_not_processes() -> None:
    """Kernel: mm/oom_kill.c:task_will_free_mem() walks processes with
    process_shares_mm(): an mm_users reference taken by get_task_mm() (a /proc reader) is not
    a process using the mm and does not make the answer false (docs/sources.md §M1.3)."""
    k = Kernel(large_folios=False)
    app = k.spawn("app", uid=1000)
    reader = k.spawn("reader")
    mm = get_task_mm(app.task)
    assert mm is not None and mm.mm_users == 2
    app.task.signal.flags |= SIGNAL_GROUP_EXIT
    assert task_will_free_mem(app.task)
    with k.running(reader.task):
        run_to_completion(mmput(mm, reader.task))


def test_task_will_free_mem_skips_threads_of_the_same_group() -> None:
    """Kernel: mm/oom_kill.c:task_will_free_mem(): ``if (same_thread_group(task, p))
    continue``: the victim's own threads hold mm_users but are not "other" sharers."""
    k = Kernel(large_folios=False)
    app, _ = _threads(k, 3)
    assert _mm(app).mm_users == 3
    app.task.signal.flags |= SIGNAL_GROUP_EXIT
    assert task_will_free_mem(app.task)


@pytest.mark.parametrize("vfork", [False, True])
def test_task_will_free_mem_requires_every_sharer_to_die(vfork: bool) -> None:
    """Kernel: mm/oom_kill.c:task_will_free_mem(): every other process whose thread uses the
    mm (CLONE_VM child, vfork child) must pass __task_will_free_mem() too; killing one side
    alone is not enough (docs/sources.md §M0.3)."""
    k = Kernel(large_folios=False)
    parent = k.spawn("parent", uid=1000)
    child = parent.clone_vm("child", vfork=vfork)
    lmkd = k.spawn("lmkd")
    lmkd.kill(parent.pid, signal.SIGKILL)
    assert not task_will_free_mem(parent.task)
    assert not task_will_free_mem(child.task)
    lmkd.kill(child.pid, signal.SIGKILL)
    assert task_will_free_mem(parent.task) and task_will_free_mem(child.task)


# --- __oom_reap_task_mm ---------------------------------------------------------------------------


def _victim_with_every_vma_kind(k: Kernel) -> tuple[Process, dict[str, Mapping]]:
    f = k.create_file("app.apk", nr_pages=64)
    db = k.create_file("app.db", nr_pages=64)
    ro = k.create_file("fonts.ttf", nr_pages=64)
    app = k.spawn("app", uid=10001)
    maps = {
        "anon": app.mmap(16),
        "private file": app.mmap(16, file=f, shared=False),
        "mlocked anon": app.mmap(16, locked=True),
        "shared file": app.mmap(16, file=db, shared=True),
        "shared ro-fd file": app.mmap(16, file=ro, shared=True, write=False, fd_write=False),
        "shmem": app.mmap(16, shared=True),
        "pfnmap": app.mmap(16, pfnmap=True),
        "hugetlb": app.mmap(16, hugetlb=True),
    }
    for name, m in maps.items():
        app.touch(m, write=name in ("anon", "shared file", "shmem", "hugetlb"))
    return app, maps


def test_reap_zaps_private_and_anonymous_vmas_only() -> None:
    """Kernel: mm/oom_kill.c:__oom_reap_task_mm(): VM_HUGETLB and VM_PFNMAP VMAs are skipped;
    of the rest, only ``vma_is_anonymous(vma) || !(vma->vm_flags & VM_SHARED)`` are zapped:
    anonymous, private file, mlocked, and MAP_SHARED of a read-only fd (VM_MAYSHARE without
    VM_SHARED); VM_SHARED file and shmem mappings keep their pages (docs/sources.md §K1.4,
    docs/sources.md §M0.7)."""
    k = Kernel(large_folios=False, debug_vm=True, nr_hugepages=1)
    app, maps = _victim_with_every_vma_kind(k)
    lmkd = k.spawn("lmkd")
    before = {name: _present(app, m) for name, m in maps.items()}
    assert all(before[name] == m.nr_pages for name, m in maps.items())
    _kill_and_release(lmkd, app)
    after = {name: _present(app, m) for name, m in maps.items()}
    reaped = {"anon", "private file", "mlocked anon", "shared ro-fd file"}
    kept = {"shared file", "shmem", "pfnmap", "hugetlb"}
    assert {name for name in reaped if after[name] == 0} == reaped
    assert {name for name in kept if after[name] == before[name]} == kept
    status = app.status()
    assert status["RssAnon"] == 0
    assert status["RssShmem"] == maps["shmem"].nr_pages * KB_PER_PAGE
    assert status["RssFile"] == maps["shared file"].nr_pages * KB_PER_PAGE


def test_reap_munlocks_mlocked_pages_and_frees_them() -> None:
    """Kernel: mm/oom_kill.c:__oom_reap_task_mm() no longer skips VM_LOCKED VMAs; the rmap
    removal munlocks each folio (mm/rmap.c:folio_remove_rmap_ptes() -> munlock_vma_folio()),
    so once the mlock batch drains nothing stays Mlocked or allocated."""
    k = Kernel(large_folios=False, debug_vm=True)
    app = k.spawn("app", uid=10001)
    lmkd = k.spawn("lmkd")
    m = app.mmap(32, locked=True)
    k.lru_add_drain_all()
    assert k.meminfo()["Mlocked"] == m.nr_pages * KB_PER_PAGE
    assert k.meminfo()["Unevictable"] == m.nr_pages * KB_PER_PAGE
    anon = k.meminfo()["AnonPages"]
    _kill_and_release(lmkd, app)
    k.lru_add_drain_all()
    info = k.meminfo()
    assert info["Mlocked"] == 0 and info["Unevictable"] == 0
    assert info["AnonPages"] == anon - m.nr_pages * KB_PER_PAGE


def test_reap_walks_vmas_in_reverse_and_marks_the_mm_unstable() -> None:
    """Kernel: mm/oom_kill.c:__oom_reap_task_mm(): set MMF_UNSTABLE first, then walk the VMAs
    from the top of the address space down (mas_for_each_rev), one gather per VMA;
    process_mrelease() itself never sets MMF_OOM_SKIP (docs/sources.md §K1.1, §K1.4)."""
    k = Kernel(large_folios=False, debug_vm=True, trace=True, nr_hugepages=1)
    app, maps = _victim_with_every_vma_kind(k)
    lmkd = k.spawn("lmkd")
    _kill_and_release(lmkd, app)
    mm = _mm(app)
    assert mm.flags & MMF_UNSTABLE and not mm.flags & MMF_OOM_SKIP
    lines = [e.detail for e in k.trace if e.func == "__oom_reap_task_mm"]
    starts = [next(m.start for m in maps.values() if f"Vma({m.start:#x}-" in line)
              for line in lines]
    assert starts == sorted(starts, reverse=True)
    zapped = {name for name, m in maps.items()
              if any(line.startswith(f"zap Vma({m.start:#x}-") for line in lines)}
    assert zapped == {"anon", "private file", "mlocked anon", "shared ro-fd file"}
    flushes = [e for e in k.trace if e.func == "tlb_flush" and e.comm == "lmkd"]
    assert len(flushes) == len(zapped)  # one gather, one flush per zapped VMA


def test_reap_with_a_blocking_mmu_notifier_skips_and_returns_eagain() -> None:
    """Kernel: mm/oom_kill.c:__oom_reap_task_mm(): if
    mmu_notifier_invalidate_range_start_nonblock() fails the VMA is skipped and the result
    is false; SYSCALL_DEFINE2(process_mrelease) turns that into -EAGAIN (docs/sources.md §K1.1)."""
    from mrelease_ref.include.linux.mm_types import MmuNotifier

    k = Kernel(large_folios=False, debug_vm=True)
    app = k.spawn("app", uid=10001)
    lmkd = k.spawn("lmkd")
    m = app.mmap(8)
    app.touch(m, write=True)
    _mm(app).notifier_subscriptions.append(MmuNotifier("kvm", blocks=True))
    fd = lmkd.pidfd_open(app.pid)
    lmkd.kill(app.pid, signal.SIGKILL)
    with pytest.raises(OSError) as exc:
        lmkd.process_mrelease(fd, 0)
    assert exc.value.errno == errno.EAGAIN
    assert _present(app, m) == m.nr_pages and _mm(app).flags & MMF_UNSTABLE


# --- the kernel OOM reaper ----------------------------------------------------------------


def _oom_kill(k: Kernel, victim: TaskStruct) -> None:
    with k.running(k.kthreadd):
        __oom_kill_process(victim)


def test_oom_reaper_reaps_a_stuck_victim_after_the_delay() -> None:
    """Kernel: mm/oom_kill.c:__oom_kill_process() -> mark_oom_victim() (signal->oom_mm,
    mmgrab) and queue_oom_reaper() (once per mm, MMF_OOM_REAP_QUEUED, timer at
    OOM_REAPER_DELAY = 2*HZ); when the timer fires and the mm is still not torn down, the
    oom_reaper kthread reaps it and always sets MMF_OOM_SKIP (oom_reap_task()) (docs/sources.md
    §K1.5, §K1.6). The victim here cannot finish its exit: a second thread sleeps
    uninterruptibly in fsync() on a hung device (folio_wait_writeback(), TASK_UNINTERRUPTIBLE),
    keeping mm_users; a frozen thread would not do, mark_oom_victim() thaws every thread
    (thaw_process(), v6.18)."""
    k = Kernel(large_folios=False, debug_vm=True, trace=True)
    app = k.spawn("app", uid=10001)
    m = app.mmap(64)
    app.touch(m, write=True)
    stall = stall_in_fsync(k, app)
    mm = _mm(app)
    count = mm.mm_count
    _oom_kill(k, app.task)
    assert app.task.signal.oom_mm is mm and mm.mm_count == count + 1
    assert mm.flags & MMF_OOM_REAP_QUEUED and len(k.timers) == 1
    _oom_kill(k, app.task)  # queued once per mm
    assert len(k.timers) == 1
    assert app.task.signal.flags & SIGNAL_GROUP_EXIT

    k.run()
    assert k.clock_ns >= OOM_REAPER_DELAY_NS
    assert OOM_REAPER_DELAY_NS == 2 * HZ * NSEC_PER_JIFFY
    [reap] = [e for e in k.trace if e.func == "oom_reap_task"]
    assert reap.comm == "oom_reaper" and reap.ts_ns >= OOM_REAPER_DELAY_NS
    zaps = [e for e in k.trace if e.func == "__oom_reap_task_mm"]
    assert zaps and all(e.ts_ns >= OOM_REAPER_DELAY_NS and e.comm == "oom_reaper" for e in zaps)
    assert mm.rss_stat == [0, 0, 0, 0] and not mm.freed
    assert mm.flags & MMF_UNSTABLE and mm.flags & MMF_OOM_SKIP

    lmkd = k.spawn("lmkd")
    fd = lmkd.pidfd_open(app.pid)
    lmkd.process_mrelease(fd, 0)  # MMF_OOM_SKIP: nothing left to do, and no error
    assert stall.stuck  # SIGKILL did not end the uninterruptible sleep
    stall.release()
    k.run()
    assert app.state == "dead" and mm.mm_users == 0


def test_oom_kill_thaws_the_victim_task() -> None:
    """Kernel: mm/oom_kill.c:mark_oom_victim(): "Make sure that the task is woken up from
    uninterruptible sleep if it is frozen" -- __thaw_task(tsk): a frozen single-threaded
    victim runs its exit, so the reaper finds MMF_OOM_SKIP and stands down."""
    k = Kernel(large_folios=False, debug_vm=True, trace=True)
    app = k.spawn("app", uid=10001)
    m = app.mmap(16)
    app.touch(m, write=True)
    app.freeze()
    k.oom_kill(app.pid)
    k.run()
    assert app.state == "dead"
    assert not [e for e in k.trace if e.func == "__oom_reap_task_mm"]


def test_oom_reaper_stands_down_when_the_victim_exits_first() -> None:
    """Kernel: mm/oom_kill.c:wake_oom_reaper(): if MMF_OOM_SKIP is already set when the
    timer fires (exit_mmap() ran), the task is not queued and the reaper does nothing."""
    k = Kernel(large_folios=False, debug_vm=True, trace=True)
    app = k.spawn("app", uid=10001)
    m = app.mmap(16)
    app.touch(m, write=True)
    k.oom_kill(app.pid)
    assert _mm(app).flags & MMF_OOM_REAP_QUEUED
    k.run()
    assert app.state == "dead" and k.clock_ns >= OOM_REAPER_DELAY_NS  # the timer did fire
    assert not [e for e in k.trace if e.func in ("oom_reap_task", "__oom_reap_task_mm")]
    assert not k.oom_reaper_list


def test_oom_reaper_gives_up_on_a_held_mmap_lock_but_sets_mmf_oom_skip() -> None:
    """Kernel: mm/oom_kill.c:oom_reap_task(): oom_reap_task_mm() only trylocks mmap_lock;
    after MAX_OOM_REAP_RETRIES attempts HZ/10 apart the reaper gives up, and MMF_OOM_SKIP is
    set anyway so the OOM killer can move on (docs/sources.md §K1.5)."""
    k = Kernel(large_folios=False, debug_vm=True, trace=True)
    app = k.spawn("app", uid=10001)
    holder = k.spawn("holder")
    m = app.mmap(16)
    app.touch(m, write=True)
    mm = _mm(app)
    with k.running(holder.task):  # e.g. an mmap() stuck in the filesystem
        run_to_completion(mmap_write_lock(mm, holder.task))
    _oom_kill(k, app.task)
    k.run()  # the victim blocks in exit_mm() on the lock; the reaper keeps trying
    retry_ns = HZ // 10 * NSEC_PER_JIFFY
    assert k.clock_ns >= OOM_REAPER_DELAY_NS + MAX_OOM_REAP_RETRIES * retry_ns
    [reap] = [e for e in k.trace if e.func == "oom_reap_task"]
    assert reap.detail.endswith(f"attempts={MAX_OOM_REAP_RETRIES}")
    assert mm.flags & MMF_OOM_SKIP and not mm.flags & MMF_UNSTABLE
    assert mm.rss_stat[MM_ANONPAGES] == m.nr_pages  # nothing was reaped
    mmap_write_unlock(mm)
    k.run()
    assert app.state == "dead"


def test_oom_victims_mm_struct_is_freed_once_the_victim_is_gone() -> None:
    """Kernel: kernel/fork.c:free_signal_struct() does ``if (sig->oom_mm)
    mmdrop_async(sig->oom_mm)``: the reference mark_oom_victim() took lives only as long as
    the signal_struct, so after the victim is released its mm_struct goes too."""
    k = Kernel(large_folios=False, debug_vm=True)
    app = k.spawn("app", uid=10001)
    mm = _mm(app)
    _oom_kill(k, app.task)
    k.run()
    assert app.state == "dead"
    assert mm.freed and mm not in k.mms

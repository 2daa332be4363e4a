"""Regression tests for the defect classes of issue 8 §1, one group per class.

Each test states the kernel rule it holds the model to; each failed on the model before
the fix (dfded21): tasks were created past a SIGKILL, a dying task made calls, a foreign
Mapping faulted pages outside the caller's VMAs, hugetlb faults raised
NotImplementedError, a refused /proc open leaked its mm, a lock holder behind the caller
on the run queue was taken for a deadlock, bad arguments crashed deep inside, and absurd
mmap() sizes were accepted.
"""

from __future__ import annotations

import errno
import signal

import pytest
from _support import errno_of, mm_of, small_kernel

from mrelease_ref import Deadlock, Kernel, Mapping
from mrelease_ref.include.linux.mm_types import PMD_SHIFT, Pmd
from mrelease_ref.include.linux.rwsem import mmap_read_lock, mmap_read_unlock
from mrelease_ref.include.linux.sched import TaskStruct
from mrelease_ref.kernel.sched import KernelGen, cond_resched
from mrelease_ref.mm.hugetlb import HPAGE_NR
from mrelease_ref.sim.invariants import check_invariants, leaked_pages
from mrelease_ref.sim.process import WNOHANG, Process
from mrelease_ref.sim.sched import pick_next
from mrelease_ref.sim.validate import is_gated

GIB_PAGES = 1 << 18

# --- 1. a killed or exiting process makes no new tasks and no calls ---------------------------


@pytest.mark.parametrize("how", ["kill", "oom_kill", "group_exit"])
@pytest.mark.parametrize("clone", ["clone_thread", "clone_vm", "spawn_child"])
def test_no_task_slips_out_of_a_fatal_signal(how: str, clone: str) -> None:
    """Kernel: kernel/fork.c:copy_process(): "Let kill terminate clone/fork in the middle":
    with a fatal signal pending (SIGKILL, an OOM kill, or a group exit, which queues
    SIGKILL in every other thread) the clone fails (-EINTR) and nothing is created, so no
    task lives on with a reaped mm."""
    k = small_kernel("baseline")
    app = k.spawn("app", uid=10001)
    app.touch(app.mmap(8), write=True)
    caller, mm = app, mm_of(app)
    if how == "kill":
        k.spawn("lmkd").kill(app.pid, signal.SIGKILL)
    elif how == "oom_kill":
        k.oom_kill(app.pid)
    else:
        caller = app.clone_thread()
        app.exit(0)
        k.step(app)  # do_group_exit(): SIGKILL queued in the other thread
    tasks, threads = list(k.tasks), list(app.task.signal.threads)
    assert errno_of(getattr(caller, clone), *(["x"] if clone != "clone_thread" else [])) \
        == errno.EINTR
    assert k.tasks == tasks and app.task.signal.threads == threads
    k.run()
    assert app.state == "dead" and mm not in k.mms


def test_every_call_by_a_dying_task_is_refused() -> None:
    """Kernel: a task in do_exit() (PF_EXITING) never returns to user space, so it makes no
    system call and no memory access: every gated Process entry point refuses it
    (ValueError, before any argument is looked at) and nothing changes."""
    k = small_kernel("baseline")
    app = k.spawn("app")
    f = k.create_file("f", 4)
    m = app.mmap(4)
    app.exit(0)
    k.step(app)  # do_exit() up to its first preemption point: PF_EXITING is set
    gated = [n for n in dir(Process) if not n.startswith("_") and is_gated(getattr(Process, n))]
    assert {"pidfd_open", "open", "clone_thread", "mmap", "touch", "kill"} <= set(gated)
    fds = dict(app.task.files.fdt) if app.task.files else {}
    for name in gated:
        with pytest.raises(ValueError, match="exiting"):
            getattr(app, name)(m) if name in ("touch", "munmap", "madvise") else \
                getattr(app, name)(f) if name == "open" else getattr(app, name)(1)
    assert (dict(app.task.files.fdt) if app.task.files else {}) == fds
    k.run()
    assert app.state == "dead" and check_invariants(k) == []


def test_a_killed_task_waiting_for_munmap_gets_eintr() -> None:
    """Kernel: mm/vma.c:__vm_munmap() takes mmap_write_lock_killable(): a caller with a
    fatal signal pending that would have to wait for the lock gives up with -EINTR (and
    dies on its way out); the mapping stays until its exit tears it down."""
    k = small_kernel("baseline")
    app, holder = k.spawn("app"), k.spawn("holder")
    m = app.mmap(8)
    k.start(holder.task, _hold_read_lock(holder.task, app), "hold")
    k.step(holder.task)
    holder.kill(app.pid, signal.SIGKILL)
    assert errno_of(app.munmap, m) == errno.EINTR
    assert len(mm_of(app).mm_mt) == 1 and mm_of(app).mmap_lock.wait_list == []
    k.run()
    assert app.state == "dead"


# --- 2. a Mapping is resolved against the caller's own VMAs ------------------------------------


def test_a_foreign_mapping_means_the_callers_own_addresses() -> None:
    """Kernel: arch/x86/mm/fault.c:do_user_addr_fault(): an address is looked up in the
    faulting mm (find_vma()); outside every VMA it is bad_area() -> SIGSEGV. Every mm
    hands out the same addresses, so another process's 100-page Mapping covers the
    caller's own 4-page VMA and then nothing: 4 pages are faulted, then SIGSEGV; no page is
    mapped outside a VMA, and munmap() of the range removes only the caller's VMA."""
    k = small_kernel("baseline")
    a, b = k.spawn("a"), k.spawn("b")
    ma, mb = a.mmap(100), b.mmap(4)
    assert ma.start == mb.start
    assert b.touch(ma, write=True) == mb.nr_pages
    assert b.task.pending & (1 << (signal.SIGSEGV - 1))
    assert check_invariants(k) == []
    b.munmap(ma)  # unmaps the caller's VMA inside the range; nothing else is there
    assert mm_of(b).mm_mt == [] and len(mm_of(a).mm_mt) == 1
    k.run()
    assert b.state == "dead" and a.alive


def test_a_forged_mapping_gets_the_kernels_answers() -> None:
    """A Mapping nobody mmap()ed: touch() -> SIGSEGV (nothing faulted), madvise() ->
    ENOMEM ("addresses in the range are not mapped", mm/madvise.c:madvise_walk_vmas()),
    munmap() -> success with nothing to unmap (mm/vma.c:do_vmi_munmap()), peek() ->
    SIGSEGV (EFAULT); a range cutting a VMA in two splits it (mm/vma.c:__split_vma(),
    reached from do_vmi_align_munmap()) and a Mapping with a bad size cannot be built."""
    k = small_kernel("baseline")
    p = k.spawn("p")
    m = p.mmap(8)
    p.touch(m, write=True)
    forged = Mapping(m.end + (64 << 12), 4, "forged")
    assert errno_of(p.madvise, forged, 0) == errno.ENOMEM
    p.munmap(forged)
    p.munmap(Mapping(m.start, 4, "half"))
    assert [(v.vm_start, v.vm_end) for v in mm_of(p).mm_mt] == [(m.start + (4 << 12), m.end)]
    assert p.status()["RssAnon"] == 4 * 4
    with pytest.raises(ValueError, match="positive int"):
        Mapping(m.start, 0, "empty")
    assert p.touch(forged) == 0
    assert p.task.pending & (1 << (signal.SIGSEGV - 1))
    assert check_invariants(k) == []
    q = k.spawn("q")
    assert errno_of(q.peek, forged) == errno.EFAULT
    assert q.task.pending & (1 << (signal.SIGSEGV - 1))


def test_a_write_to_a_read_only_mapping_is_sigsegv() -> None:
    """Kernel: arch/x86/mm/fault.c:do_user_addr_fault(): access_error() for a write to a
    VMA without VM_WRITE -> bad_area_access_error() -> SIGSEGV (SEGV_ACCERR); nothing is
    faulted in."""
    k = small_kernel("baseline")
    p = k.spawn("p")
    f = k.create_file("ro", 8)
    m = p.mmap(8, file=f, write=False)
    assert p.touch(m, write=True) == 0
    assert p.task.pending & (1 << (signal.SIGSEGV - 1))
    assert not p.task.pending & (1 << (signal.SIGBUS - 1))


# --- 3. hugetlb ------------------------------------------------------------------------------


def test_hugetlb_mmap_without_a_pool_fails_with_enomem() -> None:
    """Kernel: mm/hugetlb.c:hugetlb_reserve_pages() -> hugetlb_acct_memory(): with
    nr_hugepages 0 (these machines) a MAP_HUGETLB mapping cannot be reserved: mmap() fails
    with ENOMEM at once (measured on the 6.18 VM, 2026-12-03, for 2 MiB and 8 TiB)."""
    k = small_kernel("baseline")
    p = k.spawn("p")
    assert errno_of(p.mmap, 16, hugetlb=True) == errno.ENOMEM
    assert mm_of(p).mm_mt == []


def test_hugetlb_pages_are_reserved_faulted_skipped_by_the_reaper_and_returned() -> None:
    """Kernel: mm/hugetlb.c: a 16-page MAP_HUGETLB map rounds up to one 2 MiB page and
    reserves it (Rsvd 1); the first touch takes it from the pool (Free 0, Rsvd 0);
    __oom_reap_task_mm() skips VM_HUGETLB VMAs; the exit zaps the page back to the pool.
    With the pool taken, a second map fails with ENOMEM (measured on the 6.18 VM with
    nr_hugepages=1 on 2026-12-03: the same sequence)."""
    k = small_kernel("baseline", nr_hugepages=1)
    h = k.hstate
    app, lmkd = k.spawn("app", uid=10001), k.spawn("lmkd")
    m = app.mmap(16, hugetlb=True)
    assert m.nr_pages == HPAGE_NR and (h.free_huge_pages, h.resv_huge_pages) == (1, 1)
    assert errno_of(app.mmap, 16, hugetlb=True) == errno.ENOMEM
    assert app.touch(m, write=True) == HPAGE_NR
    assert (h.free_huge_pages, h.resv_huge_pages) == (0, 0)
    assert isinstance(mm_of(app).pgd[m.start >> PMD_SHIFT], Pmd)
    assert app.status()["VmRSS"] == 0  # hugetlb pages are not rss
    fd = lmkd.pidfd_open(app.pid)
    lmkd.kill(app.pid, signal.SIGKILL)
    lmkd.process_mrelease(fd)
    assert mm_of(app).hugetlb_usage == HPAGE_NR  # the reaper left it alone
    k.run()
    assert app.state == "dead" and h.free_huge_pages == 1


# --- 4. a refused /proc open leaks nothing ------------------------------------------------------


@pytest.mark.parametrize("name", ["mem", "environ"])
def test_a_refused_proc_read_keeps_no_mm(name: str) -> None:
    """Kernel: fs/proc/base.c:proc_mem_open()/mem_release(): the open's mm_count goes with
    the file. A reader already busy in a read is refused before anything is opened, so
    once everyone has exited no mm is left (before the fix the refused call had opened the
    file and kept its mm_count: the mm struct leaked)."""
    k = small_kernel("baseline")
    app = k.spawn("app", uid=10001)
    app.touch(app.mmap(8), write=True)
    root = k.spawn("root")
    held = root.read_proc(app.pid, name, block=True)
    with pytest.raises(ValueError):  # busy: it must finish its read first
        root.read_proc(app.pid, name)
    held.release()
    k.run()  # the reader finishes its read
    for p in (app, root):
        p.exit(0)
    k.run()
    assert k.mms == [] and k.proc_mem_files == []


@pytest.mark.parametrize("name", ["mem", "environ"])
def test_proc_mem_needs_ptrace_access(name: str) -> None:
    """Kernel: kernel/fork.c:mm_access() -> kernel/ptrace.c:ptrace_may_access(): another
    uid without CAP_SYS_PTRACE gets EACCES and holds no reference; the same uid may read."""
    k = small_kernel("baseline")
    app = k.spawn("app", uid=10001)
    mm = mm_of(app)
    users, count = mm.mm_users, mm.mm_count
    stranger, peer = k.spawn("stranger", uid=10002), k.spawn("peer", uid=10001)
    assert errno_of(stranger.read_proc, app.pid, name) == errno.EACCES
    assert (mm.mm_users, mm.mm_count) == (users, count)
    assert peer.read_proc(app.pid, name).done


def test_a_missing_proc_entry_is_enoent() -> None:
    """Kernel: opening /proc/<pid>/cmdline for a pid that does not exist: ENOENT."""
    k = small_kernel("baseline")
    p = k.spawn("p")
    assert errno_of(p.read_proc, 4242, "cmdline") == errno.ENOENT


# --- 5. the scheduler's deadlock rule -----------------------------------------------------------


def _hold_read_lock(t: TaskStruct, p: Process) -> KernelGen[int]:
    mm = mm_of(p)
    yield from mmap_read_lock(mm, t)
    yield cond_resched("holding mmap_lock")
    yield cond_resched("still holding mmap_lock")
    mmap_read_unlock(mm)
    return 0


def test_a_runnable_lock_holder_behind_the_caller_runs() -> None:
    """A sleeping caller is deadlocked only when no other task can make progress. Here the
    caller sits first on the run queue (a signal handler is pending) and waits for the
    write lock that a runnable task behind it holds: the holder runs, lets go, and the
    munmap() completes."""
    k = small_kernel("baseline")
    app, holder = k.spawn("app"), k.spawn("holder")
    m = app.mmap(8)
    k.run()  # the kernel threads go to sleep on their queues
    app.sigaction(signal.SIGUSR1, lambda sig: None)
    holder.kill(app.pid, signal.SIGUSR1)  # app: on the run queue first, with get_signal
    k.start(holder.task, _hold_read_lock(holder.task, app), "hold")
    k.step(holder.task)
    assert mm_of(app).mmap_lock.readers == 1 and pick_next(k) is app.task
    app.munmap(m)
    assert mm_of(app).mm_mt == [] and mm_of(app).mmap_lock.readers == 0


def test_a_real_deadlock_leaves_no_waiter_behind() -> None:
    """When nothing else can run (the holder is frozen) the call raises Deadlock and its
    sleeping rwsem waiter is dequeued: after the thaw the holder finishes, the lock is free
    and nothing is granted to the abandoned call."""
    k = small_kernel("baseline")
    app, holder = k.spawn("app"), k.spawn("holder")
    m = app.mmap(8)
    k.start(holder.task, _hold_read_lock(holder.task, app), "hold")
    k.step(holder.task)
    holder.freeze()
    with pytest.raises(Deadlock):
        app.munmap(m)
    sem = mm_of(app).mmap_lock
    assert sem.wait_list == []
    holder.thaw()
    k.run()
    assert (sem.readers, sem.writer, sem.wait_list) == (0, None, [])
    app.munmap(m)
    assert mm_of(app).mm_mt == []


# --- 6. bad arguments: the errors a caller can expect --------------------------------------------


def test_bad_arguments_from_the_issue() -> None:
    """Kernel: include/linux/signal.h:valid_signal() (1..64 for sigaction -> EINVAL),
    kernel/exit.c:do_wait() with WNOHANG (0 while the child runs); the rest is API misuse
    (TypeError/ValueError saying what to pass): a signal set holds 1..64, a signal number
    is an int, ``Kernel.step`` takes a Process or a task, and waiting for a child nothing
    will make exit is refused instead of raising from the scheduler."""
    k = small_kernel("baseline")
    p = k.spawn("p")
    assert k.step(p) is False  # a Process is accepted (nothing to run)
    with pytest.raises(ValueError, match=r"out of range \[1; 64\]"):
        p.sigprocmask(0, [0])
    assert errno_of(p.sigaction, 65, "SIG_IGN") == errno.EINVAL
    with pytest.raises(TypeError, match="sig must be an int"):
        p.kill(p.pid, "9")  # type: ignore[arg-type]
    child = p.spawn_child("c")
    assert p.waitpid(child.pid, WNOHANG) == 0
    with pytest.raises(ValueError, match="would sleep forever"):
        p.waitpid(child.pid)
    child.exit(3)
    assert p.waitpid(child.pid) == child.pid
    assert check_invariants(k) == []


# --- 7. overcommit ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gib", "kw", "rc"),
    [
        (8 << 10, {}, errno.ENOMEM),  # 8 TiB private writable
        (8 << 10, {"shared": True}, errno.ENOMEM),  # shmem_acct_size()
        (8 << 10, {"write": False}, 0),  # not accountable
        (23, {}, 0),
        (24, {}, errno.ENOMEM),  # > MemTotal of 24105 MiB, no swap
    ],
)
def test_overcommit_guess_refuses_one_allocation_larger_than_ram_and_swap(
    gib: int, kw: dict[str, bool], rc: int
) -> None:
    """Kernel: mm/util.c:__vm_enough_memory() with OVERCOMMIT_GUESS (mode 0, these
    machines): a single commitment larger than totalram + total swap fails with ENOMEM at
    mmap(). Measured on the 6.18 VM (MemTotal 24,683,664 kB, no swap) on 2026-12-03: 23 GiB
    mapped, 24 GiB and 8 TiB refused, read-only 8 TiB mapped, shared 8 TiB refused."""
    k = Kernel(large_folios=False, debug_vm=True)
    p = k.spawn("p", uid=10001)
    assert errno_of(p.mmap, gib * GIB_PAGES, **kw) == rc
    assert len(mm_of(p).mm_mt) == (0 if rc else 1)


def test_overcommit_modes_always_and_never() -> None:
    """Kernel: mm/util.c:__vm_enough_memory(): OVERCOMMIT_ALWAYS never refuses;
    OVERCOMMIT_NEVER keeps the commit charge under vm_commit_limit() (overcommit_ratio of
    RAM plus swap, less the admin reserve for non-CAP_SYS_ADMIN callers), and munmap()
    gives the charge back."""
    always = Kernel(large_folios=False, overcommit_memory=1)
    assert always.spawn("p").mmap(8 << 28).nr_pages == 8 << 28
    k = Kernel(large_folios=False, debug_vm=True, overcommit_memory=2, mem_mib=1024)
    p = k.spawn("p", uid=10001)
    half = 1024 * 256 // 2
    assert errno_of(p.mmap, half) == errno.ENOMEM
    m = p.mmap(half // 2)
    assert k.vm_committed_as == half // 2
    assert errno_of(p.mmap, half // 2) == errno.ENOMEM
    p.munmap(m)
    assert k.vm_committed_as == 0
    p.mmap(half // 2)
    p.exit(0)
    k.run()
    assert k.vm_committed_as == 0


# --- found by the walk (tests/test_state_machine.py) -------------------------------------------


def test_an_orphan_goes_to_init_and_is_reaped_when_it_exits() -> None:
    """Kernel: kernel/exit.c:forget_original_parent() -> find_new_reaper(): when a parent
    exits, its children go to another live thread of its group, else to the pid
    namespace's child_reaper (init), which reaps them (here: at once, do_notify_parent()).
    Before the fix a child outlived its parent as a zombie nobody could wait for."""
    k = small_kernel("baseline")
    parent = k.spawn("parent")
    child = parent.spawn_child("child")
    parent.exit(0)
    k.run()
    assert child.task.real_parent is k.init_task
    assert child.task in k.init_task.children
    child.exit(0)
    k.run()
    assert child.task not in k.tasks and parent.task not in k.tasks
    assert check_invariants(k) == []


def test_a_zombie_orphan_is_released_by_its_new_parent() -> None:
    """Kernel: kernel/exit.c:reparent_leader(): a child that already is a zombie when its
    parent exits is notified to the new parent (do_notify_parent()); init does not keep
    it, so it is released (EXIT_DEAD, release_task()) instead of staying a zombie."""
    k = small_kernel("baseline")
    parent = k.spawn("parent")
    child = parent.spawn_child("child")
    child.exit(0)
    k.run()
    assert child.task in k.tasks  # a zombie waiting for parent.waitpid()
    parent.exit(0)
    k.run()
    assert child.task not in k.tasks and parent.task not in k.tasks


def test_an_orphan_goes_to_a_live_thread_of_its_parent() -> None:
    """Kernel: kernel/exit.c:find_new_reaper(): find_alive_thread() first: a thread of
    the exiting parent's group that is not exiting adopts the children, and can wait for
    them (a threaded reparent notifies nobody)."""
    k = small_kernel("baseline")
    parent = k.spawn("parent")
    thread = parent.clone_thread()
    child = parent.spawn_child("child")
    parent.thread_exit(0)
    k.run()
    assert child.task.real_parent is thread.task
    child.exit(0)
    k.run()
    assert child.task in k.tasks  # the thread's group still waits for it
    assert thread.waitpid(child.pid) == child.pid
    assert child.task not in k.tasks


def test_a_dying_namespace_init_ignores_sigchld_and_its_children_reap_themselves() -> None:
    """Kernel: kernel/pid_namespace.c:zap_pid_ns_processes(): the exiting init of a child
    pid namespace sets SIGCHLD to SIG_IGN and SIGKILLs the namespace; the killed children,
    re-parented to the init (find_child_reaper() returns the dying init), reap themselves
    (do_notify_parent() with SIG_IGN), so no zombie is left."""
    k = small_kernel("baseline")
    init = k.spawn("nsinit", pid_ns=k.create_pid_ns())
    mid = init.spawn_child("mid")
    grandchild = mid.spawn_child("grandchild")
    init.exit(0)
    k.run()
    left = [t for t in (init.task, mid.task, grandchild.task) if t in k.tasks]
    assert left == []
    assert check_invariants(k) == []


def test_a_memfd_charges_no_commit_and_its_eviction_uncharges_none() -> None:
    """Kernel: mm/memfd.c:memfd_create() -> shmem_file_setup(name, 0, VM_NORESERVE):
    shmem_acct_size() charges nothing for a memfd, so shmem_evict_inode() uncharges
    nothing; a private writable mapping of it is charged at mmap() (accountable_mapping())
    and uncharged at munmap(). Before the fix the memfd's eviction uncharged its size and
    vm_committed_as went negative."""
    k = small_kernel("baseline", overcommit_memory=2)
    p = k.spawn("p")
    fd = p.memfd_create("m")
    p.ftruncate(fd, 8 << 12)
    m = p.mmap_fd(fd, 8, False)
    assert k.vm_committed_as == 8
    p.close(fd)
    p.munmap(m)
    assert k.vm_committed_as == 0
    assert [i for i in k.inodes if i.kind == "shmem"] == []


@pytest.mark.parametrize("shared", [False, True])
def test_a_write_to_a_pfn_map_is_a_store_or_a_copy(shared: bool) -> None:
    """Kernel: mm/memory.c:remap_pfn_range() installs special PTEs with vm_page_prot:
    writable in a shared writable mapping; in a private one a write faults into
    do_wp_page(), which copies (wp_page_copy(): vm_normal_page() is NULL, a new anonymous
    page counted in MM_ANONPAGES). The copy is freed at munmap(). Before the fix a write to
    a PFN map stored through a read-only PTE (an assertion in the model)."""
    k = small_kernel("baseline")
    f = k.create_file("dev", 8)
    p = k.spawn("p")
    m = p.mmap(8, file=f, shared=shared, pfnmap=True)
    assert p.touch(m, True) == 8
    assert p.poke(m, 3, 77) == 77
    if not shared:  # the copy holds the store (a raw PFN's own contents are not modelled)
        assert p.peek(m, 3) == 77
    assert check_invariants(k) == []
    assert leaked_pages(k) == (0 if shared else 8)  # only a private map copies
    p.munmap(m)
    k.lru_add_drain_all()  # the copies' last references sat in the per-CPU LRU batch
    assert leaked_pages(k) == 0
    assert check_invariants(k) == []


def test_a_dying_namespace_init_reaps_the_zombies_it_had() -> None:
    """Kernel: kernel/pid_namespace.c:zap_pid_ns_processes(): after ignoring SIGCHLD the
    dying init loops on kernel_wait4() ("Reap the EXIT_ZOMBIE children we had before we
    ignored SIGCHLD"), so a child that was already a zombie does not outlive it. Before
    the fix such a zombie stayed forever (its parent was gone, nobody could wait)."""
    k = small_kernel("baseline")
    init = k.spawn("nsinit", pid_ns=k.create_pid_ns())
    child = init.spawn_child("child")
    child.exit(0)
    k.run()
    assert child.task in k.tasks  # a zombie: init has not waited
    init.exit(0)
    k.run()
    assert child.task not in k.tasks and init.task not in k.tasks


def test_fork_charges_the_childs_copy_of_an_accounted_mapping() -> None:
    """Kernel: mm/mmap.c:dup_mmap(): each VM_ACCOUNT VMA the child copies is charged again
    (security_vm_enough_memory_mm(oldmm, len)), ENOMEM when the commit limit refuses it;
    the copy is uncharged when the child unmaps it. Before the fix the copy was never
    charged and its unmap drove vm_committed_as negative."""
    k = small_kernel("baseline", overcommit_memory=2, mem_mib=64)
    p = k.spawn("p")
    p.mmap(100)
    assert k.vm_committed_as == 100
    child = p.fork()
    assert k.vm_committed_as == 200
    child.exit(0)
    k.run()
    p.waitpid(child.pid)
    assert k.vm_committed_as == 100
    big = p.mmap(5000)  # more than half of what OVERCOMMIT_NEVER allows here
    assert errno_of(p.fork) == errno.ENOMEM
    assert k.vm_committed_as == 5100
    p.munmap(big)
    p.exit(0)
    k.run()
    assert k.vm_committed_as == 0
    assert check_invariants(k) == []


def test_a_vma_merge_keeps_the_commit_charge() -> None:
    """Kernel: mm/vma.c:vma_complete(): a VMA merged into its neighbour is freed without
    vm_unacct_memory() (its range stays mapped and committed); only munmap's remove_vma()
    path uncharges. An mlock() of one page splits a private writable mapping, munlock()
    merges it back: vm_committed_as is unchanged. Before the fix the merge uncharged the
    merged-away VMA's pages (found by the walk: vm_committed_as -1 at teardown)."""
    k = small_kernel("baseline")
    f = k.create_file("f", 32)
    p = k.spawn("p")
    m = p.mmap(32, file=f)
    assert k.vm_committed_as == 32
    p.mlock(m, start=31)
    assert len(mm_of(p).mm_mt) == 2
    p.munlock(m, start=1)
    assert len(mm_of(p).mm_mt) == 1 and k.vm_committed_as == 32
    p.munmap(m)
    assert k.vm_committed_as == 0

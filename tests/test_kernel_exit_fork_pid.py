"""Process exit step by step, mm reference counts, CLONE_VM, and pidfds.

Kernel: kernel/exit.c (do_exit(), exit_mm(), exit_notify(), release_task(),
wait_task_zombie()), kernel/fork.c (mmput(), get_task_mm(), copy_mm(),
copy_oom_score_adj()), include/linux/sched/mm.h (mmgrab(), mmdrop()), kernel/pid.c
(SYSCALL_DEFINE2(pidfd_open), pidfd_get_task()) (docs/sources.md §K2, §K7.3; §M0 items
1, 5).
"""

from __future__ import annotations

import errno
import os
import signal

import pytest

from mrelease_ref import Kernel
from mrelease_ref.include.linux.mm_types import MMF_MULTIPROCESS, MmStruct
from mrelease_ref.include.linux.sched import PF_EXITING, PIDTYPE_TGID
from mrelease_ref.kernel.fork import get_task_mm, mmdrop, mmgrab, mmput
from mrelease_ref.kernel.pid import (
    PIDFD_NONBLOCK,
    PIDFD_THREAD,
    find_vpid,
    pid_task,
    pidfd_get_task,
    put_task_struct,
)
from mrelease_ref.kernel.sched import run_to_completion
from mrelease_ref.sim.process import Process


def _mm(p: Process) -> MmStruct:
    mm = p.task.mm
    assert mm is not None
    return mm


def _errno(fn: object, *args: object) -> int:
    try:
        fn(*args)  # type: ignore[operator]
    except OSError as e:
        assert e.errno is not None
        return e.errno
    return 0


def _victim(k: Kernel, nr_pages: int = 8) -> Process:
    app = k.spawn("app", uid=10001)
    m = app.mmap(nr_pages)
    app.touch(m, write=True)
    return app


# --- exit --------------------------------------------------------------------------------------


def test_exit_sets_pf_exiting_then_detaches_mm_before_mmput() -> None:
    """Kernel: kernel/exit.c:do_exit(): exit_signals() sets PF_EXITING first; exit_mm() sets
    ``current->mm = NULL`` *before* mmput(). In between, find_lock_task_mm() sees no mm, so
    process_mrelease() returns ESRCH although every page is still mapped (docs/sources.md §K2.3,
    docs/sources.md §M0.4)."""
    k = Kernel(large_folios=False, debug_vm=True)
    lmkd = k.spawn("lmkd")
    app = _victim(k)
    mm = _mm(app)
    fd = lmkd.pidfd_open(app.pid)
    app.exit(0)

    k.step(app.task)  # do_exit() up to its first preemption point
    assert app.task.flags & PF_EXITING and app.task.mm is mm
    # single-threaded and exiting: reapable, and reaped
    lmkd.process_mrelease(fd, 0)
    assert mm.rss_stat == [0, 0, 0, 0]

    app2 = _victim(k)
    mm2 = _mm(app2)
    fd2 = lmkd.pidfd_open(app2.pid)
    app2.exit(0)
    k.step(app2.task)
    k.step(app2.task)  # through exit_mm()'s ``tsk->mm = NULL``
    assert app2.task.mm is None
    assert mm2.mm_users == 1 and sum(mm2.rss_stat) > 0  # mmput() has not run yet
    assert _errno(lmkd.process_mrelease, fd2, 0) == errno.ESRCH
    k.run()
    assert mm2.rss_stat == [0, 0, 0, 0] and mm2.freed


def test_exit_mmap_runs_only_for_the_last_user() -> None:
    """Kernel: kernel/fork.c:mmput(): only the mm_users reference that reaches zero calls
    __mmput() -> exit_mmap(), in *its* caller's context; a CLONE_VM sharer keeps the
    address space alive after the first process exits (docs/sources.md §K2.1)."""
    k = Kernel(large_folios=False, debug_vm=True, trace=True)
    parent = _victim(k)
    child = parent.clone_vm("child")
    mm = _mm(parent)
    assert mm.mm_users == 2
    parent.exit(0)
    k.run()
    assert parent.state == "dead" and mm.mm_users == 1 and not mm.freed
    assert sum(mm.rss_stat) > 0
    assert not [e for e in k.trace if e.func == "__mmput"]
    child.exit(0)
    k.run()
    [mmput_event] = [e for e in k.trace if e.func == "__mmput"]
    assert mmput_event.comm == "child" and mm.freed


def test_proc_reader_pins_mm_users_and_runs_exit_mmap() -> None:
    """Kernel: fs/proc/base.c:get_task_cmdline() holds get_task_mm()'s mm_users across the
    copy; the victim's exit_mm() mmput() is then not the last, process_mrelease() gets ESRCH
    while the memory stays allocated, and exit_mmap() runs later in the reader (docs/sources.md
    §K2.2, docs/sources.md §M0.5)."""
    k = Kernel(large_folios=False, debug_vm=True, trace=True)
    lmkd = k.spawn("lmkd")
    app = _victim(k)
    reader = k.spawn("reader")
    mm = _mm(app)
    read = reader.read_proc(app.pid, "cmdline", block=True)
    assert mm.mm_users == 2 and not read.done
    fd = lmkd.pidfd_open(app.pid)
    lmkd.kill(app.pid, signal.SIGKILL)
    k.run()
    assert app.state == "dead" and mm.mm_users == 1 and sum(mm.rss_stat) > 0
    assert _errno(lmkd.process_mrelease, fd, 0) == errno.ESRCH
    read.release()
    k.run()
    assert read.done and mm.freed
    [event] = [e for e in k.trace if e.func == "__mmput"]
    assert event.comm == "reader"


def test_zombie_until_waited_for_and_autoreap_otherwise() -> None:
    """Kernel: kernel/exit.c:exit_notify(): a child whose parent will wait() stays a zombie
    (pid and TGID link kept) until wait_task_zombie() -> release_task(); a process whose
    parent does not wait is released at once."""
    k = Kernel(large_folios=False, debug_vm=True)
    parent = k.spawn("parent", uid=1000)
    child = parent.spawn_child("child")
    orphan = k.spawn("orphan", uid=1000)
    child.exit(7)
    orphan.exit(0)
    k.run()
    assert orphan.state == "dead" and find_vpid(k, orphan.pid) is None
    assert child.state == "zombie" and child.task.mm is None
    pid = find_vpid(k, child.pid)
    assert pid is not None and pid_task(pid, PIDTYPE_TGID) is child.task
    assert parent.waitpid(child.pid) == child.pid
    assert child.state == "dead" and find_vpid(k, child.pid) is None


def test_waitpid_sleeps_until_the_child_has_exited() -> None:
    """Kernel: kernel/exit.c:do_wait(): the parent sleeps until the child becomes a zombie;
    the child's exit runs meanwhile."""
    k = Kernel(large_folios=False, debug_vm=True)
    parent = k.spawn("parent", uid=1000)
    child = parent.spawn_child("child")
    parent.kill(child.pid, signal.SIGKILL)  # child exits only when it runs
    assert child.alive
    assert parent.waitpid(child.pid) == child.pid
    assert child.state == "dead"


# --- mm_users / mm_count -----------------------------------------------------------------------


def test_mm_users_and_mm_count_bookkeeping() -> None:
    """Kernel: kernel/fork.c:mm_alloc() starts at mm_users = mm_count = 1; copy_mm() with
    CLONE_VM takes mm_users (mmget); get_task_mm()/mmput() pair on mm_users; mmgrab()/
    mmdrop() pair on mm_count; all users together hold one mm_count, dropped by __mmput()
    (docs/sources.md §K2.1)."""
    # debug_vm off: the test's own raw mmgrab() below is a holder the checker cannot see,
    # so at rest it would (rightly) report the mm as leaked; it checks once it is dropped
    k = Kernel(large_folios=False)
    app = k.spawn("app", uid=1000)
    helper = k.spawn("helper")
    mm = _mm(app)
    assert (mm.mm_users, mm.mm_count) == (1, 1)
    thread = app.clone_thread()
    assert thread.task.mm is mm and (mm.mm_users, mm.mm_count) == (2, 1)
    assert get_task_mm(app.task) is mm and mm.mm_users == 3
    with k.running(helper.task):
        run_to_completion(mmput(mm, helper.task))
    assert mm.mm_users == 2
    mmgrab(mm)
    assert (mm.mm_users, mm.mm_count) == (2, 2)

    app.exit(0)
    k.run()
    assert (mm.mm_users, mm.mm_count) == (0, 1) and not mm.freed  # the grab keeps the struct
    mmdrop(mm)
    assert mm.freed and mm not in k.mms
    k.check()


def test_get_task_mm_refuses_kernel_threads() -> None:
    """Kernel: kernel/fork.c:get_task_mm(): NULL for PF_KTHREAD tasks."""
    k = Kernel(large_folios=False)
    assert get_task_mm(k.kthreadd) is None


def test_open_proc_mem_keeps_only_mm_count() -> None:
    """Kernel: fs/proc/base.c:proc_mem_open(): mm_access() then mmgrab() + mmput(): an open
    /proc/<pid>/mem pins the struct (mm_count), not the address space; mem_rw() takes
    mm_users only while a read runs (docs/sources.md §K2.2)."""
    k = Kernel(large_folios=False, debug_vm=True)
    app = _victim(k)
    reader = k.spawn("reader")
    mm = _mm(app)
    read = reader.read_proc(app.pid, "mem", block=True)
    assert (mm.mm_users, mm.mm_count) == (2, 2)  # a read in progress
    read.release()
    k.run()
    assert (mm.mm_users, mm.mm_count) == (1, 1)


@pytest.mark.parametrize(
    ("how", "multiprocess"), [("CLONE_VM", True), ("vfork", False), ("thread", False)]
)
def test_only_a_plain_clone_vm_child_marks_mmf_multiprocess(how: str, multiprocess: bool) -> None:
    """Kernel: kernel/fork.c:copy_oom_score_adj(): ``if ((clone_flags & (CLONE_VM |
    CLONE_THREAD | CLONE_VFORK)) != CLONE_VM) return;`` -- a thread or a vfork child shares
    the mm without setting MMF_MULTIPROCESS (docs/sources.md §K1.6)."""
    k = Kernel(large_folios=False, debug_vm=True)
    parent = k.spawn("parent", uid=1000)
    if how == "thread":
        parent.clone_thread()
    else:
        parent.clone_vm("child", vfork=how == "vfork")
    assert _mm(parent).mm_users == 2
    assert bool(_mm(parent).flags & MMF_MULTIPROCESS) is multiprocess


# --- pidfds --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pid", "flags", "expected"),
    [
        ("self", 1, errno.EINVAL),  # unknown flag
        ("self", PIDFD_NONBLOCK | 1 << 30, errno.EINVAL),
        (0, 0, errno.EINVAL),
        (-1, 0, errno.EINVAL),
        (99999, 0, errno.ESRCH),
        ("self", 0, 0),
        ("self", PIDFD_NONBLOCK, 0),
        ("self", PIDFD_THREAD, 0),
    ],
)
def test_pidfd_open_argument_errors(pid: object, flags: int, expected: int) -> None:
    """Kernel: kernel/pid.c:SYSCALL_DEFINE2(pidfd_open): flags outside PIDFD_NONBLOCK |
    PIDFD_THREAD -> EINVAL; pid <= 0 -> EINVAL; find_get_pid() NULL -> ESRCH (docs/sources.md
    §K7.3)."""
    k = Kernel(large_folios=False)
    app = k.spawn("app", uid=1000)
    target = app.pid if pid == "self" else pid
    assert _errno(app.pidfd_open, target, flags) == expected


def test_pidfd_open_of_a_thread_needs_pidfd_thread() -> None:
    """Kernel: kernel/pid.c:pidfd_prepare(): a pid with a PIDTYPE_PID task but no
    PIDTYPE_TGID task (a non-leader thread) gives ENOENT unless PIDFD_THREAD was passed; a
    released pid gives ESRCH."""
    k = Kernel(large_folios=False, debug_vm=True)
    app = k.spawn("app", uid=1000)
    worker = app.clone_thread()
    assert _errno(app.pidfd_open, worker.tid, 0) == errno.ENOENT
    assert app.pidfd_open(worker.tid, PIDFD_THREAD) >= 0
    gone = k.spawn("gone", uid=1000)
    gone.exit(0)
    k.run()
    assert _errno(app.pidfd_open, gone.pid, 0) == errno.ESRCH


def test_pidfd_get_task_resolves_by_thread_group() -> None:
    """Kernel: kernel/pid.c:pidfd_get_task(): the pid is looked up with PIDTYPE_TGID whatever
    the pidfd's flags: a leader's pidfd gives the leader (with a task reference), even while
    the leader is a zombie with live threads; a PIDFD_THREAD pidfd of a non-leader thread
    finds nothing -> ESRCH in process_mrelease (docs/sources.md §K7.3, §M0.1)."""
    k = Kernel(large_folios=False, debug_vm=True)
    lmkd = k.spawn("lmkd")
    app = _victim(k)
    worker = app.clone_thread()
    fd = lmkd.pidfd_open(app.pid, PIDFD_NONBLOCK)
    tfd = lmkd.pidfd_open(worker.tid, PIDFD_THREAD)
    got = pidfd_get_task(lmkd.task, fd)
    assert not isinstance(got, int)
    task, f_flags = got
    assert task is app.task and f_flags == PIDFD_NONBLOCK
    usage = task.usage
    put_task_struct(task)
    assert task.usage == usage - 1
    assert pidfd_get_task(lmkd.task, tfd) == -errno.ESRCH

    lmkd.kill(app.pid, signal.SIGKILL)
    assert _errno(lmkd.process_mrelease, tfd, 0) == errno.ESRCH
    assert _errno(lmkd.process_mrelease, fd, 0) == 0  # PIDFD_NONBLOCK changes nothing


def test_pidfd_of_a_zombie_resolves_until_released() -> None:
    """Kernel: kernel/pid.c:pidfd_get_task(): a zombie still has its TGID link (released only
    by release_task()), so pidfd_open() and the lookup succeed and process_mrelease() fails
    later at find_lock_task_mm() with ESRCH; after wait(), pidfd_get_task() itself gives
    ESRCH and pidfd_open() finds no pid."""
    k = Kernel(large_folios=False, debug_vm=True)
    parent = k.spawn("parent", uid=1000)
    child = parent.spawn_child("child")
    fd = parent.pidfd_open(child.pid)
    child.exit(0)
    k.run()
    assert child.state == "zombie"
    got = pidfd_get_task(parent.task, fd)
    assert not isinstance(got, int) and got[0] is child.task
    put_task_struct(got[0])
    assert _errno(parent.process_mrelease, fd, 0) == errno.ESRCH
    late = parent.pidfd_open(child.pid)  # a zombie can still get a pidfd
    assert _errno(parent.process_mrelease, late, 0) == errno.ESRCH
    parent.waitpid(child.pid)
    assert pidfd_get_task(parent.task, fd) == -errno.ESRCH
    assert _errno(parent.pidfd_open, child.pid, 0) == errno.ESRCH


def test_pidfd_get_task_rejects_descriptors_that_are_not_pidfds() -> None:
    """Kernel: kernel/pid.c:pidfd_get_pid(): an fd that is not open, or open on something
    other than pidfs, gives -EBADF (the selftest's process_mrelease(-1, 0) probe)."""
    k = Kernel(large_folios=False)
    app = k.spawn("app", uid=1000)
    f = k.create_file("data", nr_pages=1)
    file_fd = app.open(f)
    for fd in (-1, 0, file_fd, 1000):
        assert pidfd_get_task(app.task, fd) == -errno.EBADF, fd
    assert _errno(app.process_mrelease, -1, 0) == errno.EBADF


def test_process_mrelease_checks_flags_before_the_fd() -> None:
    """Kernel: mm/oom_kill.c:SYSCALL_DEFINE2(process_mrelease): ``if (flags) return
    -EINVAL;`` comes before pidfd_get_task(), so flags=1 with fd=-1 is EINVAL, not EBADF
    (docs/sources.md §M0.1)."""
    k = Kernel(large_folios=False)
    app = k.spawn("app", uid=1000)
    assert _errno(app.process_mrelease, -1, 1) == errno.EINVAL
    assert os.O_EXCL == PIDFD_THREAD and os.O_NONBLOCK == PIDFD_NONBLOCK

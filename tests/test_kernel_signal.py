"""Sending and delivering signals, and what that means for process_mrelease().

Kernel: kernel/signal.c (complete_signal(), prepare_signal(), sig_ignored(),
check_kill_permission(), kill_pid_info_type(), get_signal(), do_signal_stop()),
include/linux/signal.h (sig_kernel_* masks, sig_fatal()) (docs/sources.md §K1.3; §M0
item 3).
"""

from __future__ import annotations

import errno
import signal

import pytest

from mrelease_ref import Kernel
from mrelease_ref.include.linux.sched import (
    PF_SIGNALED,
    SIGNAL_GROUP_EXIT,
    SIGNAL_STOP_CONTINUED,
    SIGNAL_STOP_STOPPED,
    sigmask,
)
from mrelease_ref.mm.oom_kill import task_will_free_mem
from mrelease_ref.sim.process import SIG_BLOCK, SIG_UNBLOCK, Process


def _pair(**kw: object) -> tuple[Kernel, Process, Process]:
    k = Kernel(large_folios=False, debug_vm=True, trace=True, **kw)  # type: ignore[arg-type]
    lmkd = k.spawn("lmkd", uid=0)
    app = k.spawn("app", uid=10001)
    m = app.mmap(8)
    app.touch(m, write=True)
    return k, lmkd, app


def _mrelease_errno(lmkd: Process, app: Process) -> int:
    fd = lmkd.pidfd_open(app.pid)
    try:
        lmkd.process_mrelease(fd, 0)
    except OSError as e:
        assert e.errno is not None
        return e.errno
    finally:
        lmkd.close(fd)
    return 0


def _group_exit(p: Process) -> bool:
    return bool(p.task.signal.flags & SIGNAL_GROUP_EXIT)


# --- fatal signals start the group exit in the sender's context -----------------------------------


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1])
def test_fatal_default_signal_starts_group_exit_before_kill_returns(sig: signal.Signals) -> None:
    """Kernel: kernel/signal.c:complete_signal(): a signal that is fatal (sig_fatal():
    SIG_DFL and not ignore/stop), not a core-dump signal, and wanted by a thread starts the
    group exit in the *sender's* context: SIGNAL_GROUP_EXIT, group_exit_code = sig, SIGKILL
    queued to every thread. task_will_free_mem() is true as soon as kill() returns
    (docs/sources.md §M0.3; kernel/signal.py docstring on SIGTERM)."""
    k, lmkd, app = _pair()
    threads = [app.task] + [app.clone_thread().task for _ in range(2)]
    lmkd.kill(app.pid, sig)
    assert _group_exit(app) and app.task.signal.group_exit_code == sig
    assert all(t.pending & sigmask(signal.SIGKILL) for t in threads)
    assert app.alive  # nothing ran yet: the victim has not even seen the signal
    assert task_will_free_mem(app.task)
    assert _mrelease_errno(lmkd, app) == 0
    assert app.status()["RssAnon"] == 0
    k.run()
    assert app.state == "dead"


@pytest.mark.parametrize("sig", [signal.SIGSEGV, signal.SIGQUIT, signal.SIGABRT])
def test_core_dump_signals_do_not_start_the_group_exit_at_send(sig: signal.Signals) -> None:
    """Kernel: kernel/signal.c:complete_signal(): ``if (!sig_kernel_coredump(sig))`` -- a
    core-dumping signal only wakes a thread; the group exit starts when the victim runs
    get_signal() -> vfs_coredump(). Until then process_mrelease() says EINVAL (docs/sources.md
    §M0.3)."""
    k, lmkd, app = _pair()
    lmkd.kill(app.pid, sig)
    assert not _group_exit(app)
    assert app.task.signal.shared_pending & sigmask(sig)
    assert not task_will_free_mem(app.task)
    assert _mrelease_errno(lmkd, app) == errno.EINVAL
    k.run()
    assert app.state == "dead" and app.task.flags & PF_SIGNALED
    assert any(e.func == "coredump" for e in k.trace)


def test_caught_signal_runs_the_handler_and_does_not_kill() -> None:
    """Kernel: kernel/signal.c:sig_fatal() is false for a signal with a handler, so
    complete_signal() only wakes the thread; get_signal() then runs the handler."""
    k, lmkd, app = _pair()
    seen: list[int] = []
    app.sigaction(signal.SIGTERM, seen.append)
    lmkd.kill(app.pid, signal.SIGTERM)
    assert not _group_exit(app)
    assert _mrelease_errno(lmkd, app) == errno.EINVAL
    k.run()
    assert seen == [signal.SIGTERM] and app.alive and app.state == "sleeping"


def test_handler_that_calls_exit_group_exits_at_delivery() -> None:
    """Kernel: kernel/exit.c:do_group_exit() from the handler: the group exit starts in the
    victim's own context, when the signal is delivered, not at send."""
    k, lmkd, app = _pair()
    app.sigaction(signal.SIGTERM, "exit_group")
    lmkd.kill(app.pid, signal.SIGTERM)
    assert not _group_exit(app)
    k.run()
    assert app.state == "dead" and app.task.exit_code == 0


def test_blocked_signal_stays_pending_until_unblocked() -> None:
    """Kernel: kernel/signal.c:wants_signal() is false for a blocked signal and a
    single-threaded target gets no group exit; sig_ignored() never drops a blocked signal. It
    stays in shared_pending and kills when unblocked (docs/sources.md §M0.3)."""
    k, lmkd, app = _pair()
    app.sigprocmask(SIG_BLOCK, [signal.SIGTERM])
    lmkd.kill(app.pid, signal.SIGTERM)
    assert not _group_exit(app)
    assert app.task.signal.shared_pending & sigmask(signal.SIGTERM)
    assert _mrelease_errno(lmkd, app) == errno.EINVAL
    k.run()
    assert app.alive
    app.sigprocmask(SIG_UNBLOCK, [signal.SIGTERM])
    k.run()
    assert app.state == "dead" and app.task.signal.group_exit_code == signal.SIGTERM


def test_signal_blocked_by_one_thread_is_taken_by_another() -> None:
    """Kernel: kernel/signal.c:complete_signal(): if the suggested thread does not want the
    signal, another thread that does is chosen -- and then the fatal default action starts
    the group exit at send after all."""
    _, lmkd, app = _pair()
    app.clone_thread()
    app.sigprocmask(SIG_BLOCK, [signal.SIGTERM])  # the leader only
    lmkd.kill(app.pid, signal.SIGTERM)
    assert _group_exit(app)


def test_ignored_signals_are_dropped_at_send() -> None:
    """Kernel: kernel/signal.c:prepare_signal() -> sig_ignored(): a signal whose handler is
    SIG_IGN, or SIG_DFL with a default action of "ignore" (SIGCHLD, SIGWINCH, SIGURG), is
    never queued -- unless it is blocked, since the handler may change before unblocking."""
    k, lmkd, app = _pair()
    app.sigaction(signal.SIGTERM, "SIG_IGN")
    for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGWINCH, signal.SIGURG):
        lmkd.kill(app.pid, sig)
        assert not app.task.signal.shared_pending & sigmask(sig), sig
    assert not _group_exit(app)
    app.sigprocmask(SIG_BLOCK, [signal.SIGTERM])
    lmkd.kill(app.pid, signal.SIGTERM)
    assert app.task.signal.shared_pending & sigmask(signal.SIGTERM)
    k.run()
    assert app.alive


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSTOP, signal.SIGTERM])
def test_signals_to_the_global_init_are_dropped(sig: signal.Signals) -> None:
    """Kernel: kernel/signal.c:sig_task_ignored(): "SIGKILL and SIGSTOP may not be sent to
    the global init" (is_global_init(t) && sig_kernel_only(sig)), and a SIG_DFL signal to a
    SIGNAL_UNKILLABLE task (kernel/fork.c:copy_process() marks every child reaper, the global
    init included) is ignored: kill(1, sig) succeeds and init lives on."""
    k = Kernel(large_folios=False)
    root = k.spawn("root", uid=0)
    init = k.process(1)
    root.kill(init.pid, sig)
    assert not init.task.signal.flags & SIGNAL_GROUP_EXIT
    assert not init.task.signal.shared_pending & sigmask(sig)
    k.run()
    assert init.alive and init.state != "stopped"


# --- stop and continue --------------------------------------------------------------------------


def test_sigstop_stops_the_group_and_sigcont_resumes_it() -> None:
    """Kernel: kernel/signal.c:get_signal() -> do_signal_stop() stops every thread
    (SIGNAL_STOP_STOPPED); prepare_signal() for SIGCONT flushes pending stop signals, wakes
    the stopped threads and records SIGNAL_STOP_CONTINUED; a stop signal flushes a pending
    SIGCONT."""
    k, lmkd, app = _pair()
    worker = app.clone_thread()
    lmkd.kill(app.pid, signal.SIGSTOP)
    assert not _group_exit(app)  # stop signals are not fatal
    k.run()
    assert app.state == "stopped" and worker.state == "stopped"
    assert app.task.signal.flags & SIGNAL_STOP_STOPPED
    lmkd.kill(app.pid, signal.SIGCONT)
    assert not app.task.signal.flags & SIGNAL_STOP_STOPPED
    assert app.task.signal.flags & SIGNAL_STOP_CONTINUED
    k.run()
    assert app.alive and app.state == "sleeping" and worker.state == "sleeping"

    app.sigprocmask(SIG_BLOCK, [signal.SIGTSTP])
    worker.sigprocmask(SIG_BLOCK, [signal.SIGTSTP])
    lmkd.kill(app.pid, signal.SIGTSTP)
    assert app.task.signal.shared_pending & sigmask(signal.SIGTSTP)
    lmkd.kill(app.pid, signal.SIGCONT)  # flushes the pending stop signal
    assert not app.task.signal.shared_pending & sigmask(signal.SIGTSTP)


def test_sigkill_wakes_a_stopped_process_and_kills_it() -> None:
    """Kernel: kernel/signal.c:complete_signal() -> signal_wake_up(t, 1): a fatal signal
    wakes stopped threads too, and SIGKILL's group exit makes the stopped victim reapable
    at once."""
    k, lmkd, app = _pair()
    lmkd.kill(app.pid, signal.SIGSTOP)
    k.run()
    assert app.state == "stopped"
    lmkd.kill(app.pid, signal.SIGKILL)
    assert _group_exit(app) and _mrelease_errno(lmkd, app) == 0
    k.run()
    assert app.state == "dead"


# --- permission and lookup ------------------------------------------------------------------------


def test_kill_needs_the_same_uid_or_cap_kill() -> None:
    """Kernel: kernel/signal.c:check_kill_permission() -> kill_ok_by_cred(): the sender's
    uid must match the target's, or the sender needs CAP_KILL; otherwise -EPERM and nothing
    is queued."""
    k = Kernel(large_folios=False, debug_vm=True)
    app = k.spawn("app", uid=10001)
    stranger = k.spawn("stranger", uid=10002)
    sibling = k.spawn("sibling", uid=10001)
    killer = k.spawn("killer", uid=10002, caps={"CAP_KILL"})
    with pytest.raises(OSError) as exc:
        stranger.kill(app.pid, signal.SIGKILL)
    assert exc.value.errno == errno.EPERM and not _group_exit(app)
    sibling.kill(app.pid, 0)  # permission probe: allowed, sends nothing
    assert not app.task.signal.shared_pending
    killer.kill(app.pid, signal.SIGKILL)
    assert _group_exit(app)


def test_kill_rejects_invalid_signal_numbers() -> None:
    """Kernel: kernel/signal.c:check_kill_permission(): !valid_signal(sig) -> -EINVAL."""
    k = Kernel(large_folios=False)
    lmkd = k.spawn("lmkd")
    app = k.spawn("app", uid=10001)
    with pytest.raises(OSError) as exc:
        lmkd.kill(app.pid, signal.NSIG)  # one past _NSIG
    assert exc.value.errno == errno.EINVAL


def test_kill_of_a_zombie_succeeds_and_of_a_reaped_pid_is_esrch() -> None:
    """Kernel: kernel/signal.c:kill_pid_info_type(): pid_task() finds a zombie (the signal is
    dropped: the group is already exiting) but nothing once the task was released
    (release_task() detached the pid) -> -ESRCH."""
    k = Kernel(large_folios=False, debug_vm=True)
    parent = k.spawn("parent", uid=1000)
    child = parent.spawn_child("child")
    child.exit(3)
    k.run()
    assert child.state == "zombie"
    parent.kill(child.pid, signal.SIGKILL)  # no error
    parent.waitpid(child.pid)
    with pytest.raises(OSError) as exc:
        parent.kill(child.pid, signal.SIGKILL)
    assert exc.value.errno == errno.ESRCH


# --- pid namespaces (kernel/fork.c:copy_process(), kernel/signal.c) ----------------------


def test_clones_get_their_pid_in_the_parents_namespace() -> None:
    """copy_process() allocates the child's pid in the parent's pid_ns_for_children and a
    thread's in its leader's namespace, so both have a number in a child namespace."""
    from mrelease_ref.kernel.pid import task_active_pid_ns

    k = Kernel(large_folios=False)
    ns = k.create_pid_ns()
    init = k.spawn("nsinit", pid_ns=ns)
    child = init.spawn_child("child")
    sharer = init.clone_vm("sharer")
    thread = init.clone_thread()
    for p in (child, sharer, thread):
        assert task_active_pid_ns(p.task) is ns
    assert [n for _, n in child.task.thread_pid.numbers][1] == 2


def test_namespace_init_ignores_sigkill_from_inside_but_not_from_an_ancestor() -> None:
    """The first process of a pid namespace is its child reaper and gets
    SIGNAL_UNKILLABLE (copy_process()): a SIGKILL sent from inside its namespace is
    ignored (sig_task_ignored() without force), one sent from the parent namespace is
    forced (send_signal_locked(): the sender has no pid in the target's namespace)."""
    k = Kernel(large_folios=False)
    ns = k.create_pid_ns()
    init = k.spawn("nsinit", pid_ns=ns)
    inside = init.spawn_child("inside", uid=0)
    inside.kill(init.pid, signal.SIGKILL)
    k.run()
    assert init.alive
    root = k.spawn("root")
    root.kill(init.pid, signal.SIGKILL)
    k.run()
    assert not init.alive


def test_pidfd_send_signal_outside_the_callers_namespace_is_einval() -> None:
    """pidfd_send_signal() refuses a target whose pid namespace is neither the caller's
    nor a descendant of it with -EINVAL (access_pidfd_pidns()), before any permission
    check; kill() has no such test for a pid the caller can name."""
    k = Kernel(large_folios=False)
    ns_a, ns_b = k.create_pid_ns(), k.create_pid_ns()
    a = k.spawn("a", pid_ns=ns_a)
    b = k.spawn("b", pid_ns=ns_b)
    root = k.spawn("root")
    fd_b_from_root = root.pidfd_open(b.pid)
    # a pidfd passed to ``a`` (SCM_RIGHTS): resolve it in a's file table
    fd = a.pidfd_open(b.pid)
    with pytest.raises(OSError) as exc:
        a.pidfd_send_signal(fd, signal.SIGTERM)
    assert exc.value.errno == errno.EINVAL
    assert b.alive
    root.pidfd_send_signal(fd_b_from_root, signal.SIGKILL)  # ancestor namespace: allowed
    k.run()
    assert not b.alive


def test_sigkill_interrupts_a_stalled_core_dump() -> None:
    """A SIGKILL queued while a core dump runs is let through by prepare_signal() (the
    core_state exception) and dump_interrupted() sees fatal_signal_pending(): the dump
    ends and the group exits even though the core pipe is still stalled."""
    k, lmkd, app = _pair()
    k.hold_coredumps = True
    lmkd.kill(app.pid, signal.SIGSEGV)
    k.run()
    assert app.task.signal.core_state is not None
    lmkd.kill(app.pid, signal.SIGKILL)
    k.run()
    assert app.task.signal.core_state is None
    assert app.state in ("zombie", "dead")


def test_namespace_init_exit_kills_the_namespace() -> None:
    """When a child namespace's init exits, find_child_reaper() finds no one to take over
    and zap_pid_ns_processes() SIGKILLs every process with a pid in that namespace."""
    k = Kernel(large_folios=False)
    ns = k.create_pid_ns()
    init = k.spawn("nsinit", pid_ns=ns)
    a = init.spawn_child("a")
    b = init.spawn_child("b")
    outside = k.spawn("outside")
    k.spawn("root").kill(init.pid, signal.SIGKILL)
    k.run()
    assert not init.alive and not a.alive and not b.alive
    assert outside.alive


def test_fault_sigbus_kills_even_a_namespace_init() -> None:
    """force_sig_info_to_task() clears SIGNAL_UNKILLABLE for a default-action signal, so
    a namespace init whose access faults with SIGBUS dies like any process."""
    from mrelease_ref.include.linux.sched import SIGNAL_UNKILLABLE
    from mrelease_ref.mm.mmap import VM_FAULT_SIGBUS
    from mrelease_ref.sim.process import _deliver_fault_signal

    k = Kernel(large_folios=False)
    init = k.spawn("nsinit", pid_ns=k.create_pid_ns())
    assert init.task.signal.flags & SIGNAL_UNKILLABLE
    _deliver_fault_signal(init.task, VM_FAULT_SIGBUS)
    k.run()
    assert not init.alive

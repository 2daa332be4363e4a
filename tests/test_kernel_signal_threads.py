"""Signals to threads: kill() of a thread id, tgkill()/tkill(), PIDFD_THREAD pidfds and the
pidfd_send_signal() scopes, and process_mrelease() through a thread's pidfd.

Kernel: kernel/signal.c (kill_pid_info_type(), do_send_specific(), do_tkill(),
SYSCALL_DEFINE3(tgkill), SYSCALL_DEFINE2(tkill), SYSCALL_DEFINE4(pidfd_send_signal),
do_pidfd_send_signal(), complete_signal()), fs/pidfs.c:pidfd_prepare(),
kernel/pid.c:pidfd_get_task() (v6.18).
"""

from __future__ import annotations

import errno
import signal

import pytest

from mrelease_ref import Kernel
from mrelease_ref.include.linux.sched import SIGNAL_GROUP_EXIT, sigmask
from mrelease_ref.kernel.pid import PIDFD_THREAD
from mrelease_ref.kernel.signal import (
    PIDFD_SIGNAL_PROCESS_GROUP,
    PIDFD_SIGNAL_THREAD,
    PIDFD_SIGNAL_THREAD_GROUP,
)
from mrelease_ref.sim.process import SIG_BLOCK, Process


def _world() -> tuple[Kernel, Process, Process, Process]:
    k = Kernel(large_folios=False, debug_vm=True)
    lmkd = k.spawn("lmkd", uid=0)
    app = k.spawn("app", uid=10001)
    m = app.mmap(16)
    app.touch(m, write=True)
    thread = app.clone_thread()
    return k, lmkd, app, thread


def _errno(call: object, *args: object) -> int:
    try:
        call(*args)  # type: ignore[operator]
    except OSError as e:
        return e.errno or 0
    return 0


def test_kill_of_a_thread_id_signals_the_whole_group() -> None:
    """kill(tid): kill_pid_info_type() finds the task by PIDTYPE_PID and sends with
    PIDTYPE_TGID: a group-wide (shared-pending) signal, so SIGKILL kills the group."""
    k, lmkd, app, thread = _world()
    lmkd.kill(thread.tid, signal.SIGKILL)
    assert app.task.signal.flags & SIGNAL_GROUP_EXIT
    k.run()
    assert app.state == "dead" and thread.state == "dead"


def test_kill_of_a_thread_id_with_a_blocked_signal_is_shared_pending() -> None:
    """A PIDTYPE_TGID signal queues on signal->shared_pending, not on the thread named
    (__send_signal_locked()); any thread that does not block it may take it."""
    _k, lmkd, app, thread = _world()
    thread.sigprocmask(SIG_BLOCK, [signal.SIGUSR1])
    app.sigprocmask(SIG_BLOCK, [signal.SIGUSR1])
    lmkd.kill(thread.tid, signal.SIGUSR1)
    assert app.task.signal.shared_pending & sigmask(signal.SIGUSR1)
    assert not thread.task.pending & sigmask(signal.SIGUSR1)


def test_tgkill_is_thread_directed() -> None:
    """tgkill()/tkill() send with PIDTYPE_PID: the signal is private to the thread
    (do_send_specific() -> do_send_sig_info(..., PIDTYPE_PID))."""
    _k, lmkd, app, thread = _world()
    thread.sigprocmask(SIG_BLOCK, [signal.SIGUSR1])
    lmkd.tgkill(app.pid, thread.tid, signal.SIGUSR1)
    assert thread.task.pending & sigmask(signal.SIGUSR1)
    assert not app.task.signal.shared_pending & sigmask(signal.SIGUSR1)
    thread.sigprocmask(SIG_BLOCK, [signal.SIGUSR2])
    lmkd.tkill(thread.tid, signal.SIGUSR2)
    assert thread.task.pending & sigmask(signal.SIGUSR2)


def test_sigkill_to_one_thread_kills_the_group() -> None:
    """A thread-directed SIGKILL is still fatal to the group: complete_signal() sees
    sig_fatal() and starts the group exit for every thread."""
    k, lmkd, app, thread = _world()
    lmkd.tgkill(app.pid, thread.tid, signal.SIGKILL)
    assert app.task.signal.flags & SIGNAL_GROUP_EXIT
    assert app.task.pending & sigmask(signal.SIGKILL)
    k.run()
    assert app.state == "dead"


def test_tgkill_errnos() -> None:
    """SYSCALL_DEFINE3(tgkill): EINVAL for ids <= 0; do_send_specific(): ESRCH when the
    thread is not in that thread group or does not exist; EPERM from
    check_kill_permission(); EINVAL for an invalid signal number."""
    k, lmkd, app, thread = _world()
    other = k.spawn("other", uid=10001)
    stranger = k.spawn("stranger", uid=20000, caps=frozenset())
    assert _errno(lmkd.tgkill, 0, thread.tid, 0) == errno.EINVAL
    assert _errno(lmkd.tgkill, app.pid, 0, 0) == errno.EINVAL
    assert _errno(lmkd.tgkill, -1, thread.tid, 0) == errno.EINVAL
    assert _errno(lmkd.tgkill, other.pid, thread.tid, 0) == errno.ESRCH
    assert _errno(lmkd.tgkill, app.pid, 99999, 0) == errno.ESRCH
    assert _errno(lmkd.tgkill, app.pid, thread.tid, 0) == 0
    assert _errno(lmkd.tgkill, app.pid, thread.tid, 65) == errno.EINVAL
    assert _errno(stranger.tgkill, app.pid, thread.tid, signal.SIGKILL) == errno.EPERM
    assert _errno(lmkd.tkill, 0, 0) == errno.EINVAL
    assert _errno(lmkd.tkill, 99999, 0) == errno.ESRCH
    assert not app.task.signal.flags & SIGNAL_GROUP_EXIT


def test_pidfd_open_of_a_thread_needs_pidfd_thread() -> None:
    """pidfd_prepare(): a pid that is no thread-group leader gives ENOENT without
    PIDFD_THREAD (not EINVAL); with it, a pidfd."""
    _k, lmkd, _app, thread = _world()
    assert _errno(lmkd.pidfd_open, thread.tid) == errno.ENOENT
    assert lmkd.pidfd_open(thread.tid, PIDFD_THREAD) >= 0


def test_pidfd_thread_scope_and_flag_overrides() -> None:
    """pidfd_send_signal(): a PIDFD_THREAD pidfd signals its thread (PIDTYPE_PID), a plain
    one the group (PIDTYPE_TGID); PIDFD_SIGNAL_THREAD/THREAD_GROUP override the pidfd's
    scope (do_pidfd_send_signal())."""
    _k, lmkd, app, thread = _world()
    for t in (app, thread):
        t.sigprocmask(SIG_BLOCK, [signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP])
    tfd = lmkd.pidfd_open(thread.tid, PIDFD_THREAD)
    gfd = lmkd.pidfd_open(app.pid)
    lmkd.pidfd_send_signal(tfd, signal.SIGUSR1)
    assert thread.task.pending & sigmask(signal.SIGUSR1)
    lmkd.pidfd_send_signal(tfd, signal.SIGUSR2, PIDFD_SIGNAL_THREAD_GROUP)
    assert app.task.signal.shared_pending & sigmask(signal.SIGUSR2)
    lmkd.pidfd_send_signal(gfd, signal.SIGHUP, PIDFD_SIGNAL_THREAD)
    assert app.task.pending & sigmask(signal.SIGHUP)  # the leader, thread-directed


def test_pidfd_send_signal_flag_errnos() -> None:
    """Unknown flags, or two scope flags at once, give EINVAL before the fd is looked at."""
    _k, lmkd, app, _thread = _world()
    fd = lmkd.pidfd_open(app.pid)
    assert _errno(lmkd.pidfd_send_signal, fd, 0, 8) == errno.EINVAL
    both = PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP
    assert _errno(lmkd.pidfd_send_signal, -1, 0, both) == errno.EINVAL
    assert _errno(lmkd.pidfd_send_signal, -1, 0, PIDFD_SIGNAL_THREAD) == errno.EBADF
    with pytest.raises(ValueError, match="process groups"):
        lmkd.pidfd_send_signal(fd, 0, PIDFD_SIGNAL_PROCESS_GROUP)


def test_sigkill_through_a_thread_pidfd_kills_the_group() -> None:
    """A PIDFD_THREAD pidfd's SIGKILL is thread-directed but fatal: the group exits."""
    k, lmkd, app, thread = _world()
    fd = lmkd.pidfd_open(thread.tid, PIDFD_THREAD)
    lmkd.pidfd_send_signal(fd, signal.SIGKILL)
    k.run()
    assert app.state == "dead"


def test_process_mrelease_through_a_thread_pidfd() -> None:
    """pidfd_get_task() looks the pid up by PIDTYPE_TGID whatever the pidfd's flags: the
    PIDFD_THREAD pidfd of a non-leader finds no task (ESRCH, live or dying), that of the
    leader reaps like a plain pidfd (docs/sources.md §M3.2 rows PIDFD_THREAD)."""
    _k, lmkd, app, thread = _world()
    tfd = lmkd.pidfd_open(thread.tid, PIDFD_THREAD)
    lfd = lmkd.pidfd_open(app.pid, PIDFD_THREAD)
    assert _errno(lmkd.process_mrelease, tfd) == errno.ESRCH
    assert _errno(lmkd.process_mrelease, lfd) == errno.EINVAL
    app.freeze()
    lmkd.tgkill(app.pid, thread.tid, signal.SIGKILL)
    assert _errno(lmkd.process_mrelease, tfd) == errno.ESRCH
    assert _errno(lmkd.process_mrelease, lfd) == 0
    assert app.status()["VmRSS"] == 0


def test_kill_of_a_live_thread_after_the_leader_exited() -> None:
    """With the leader a zombie (SYS_exit), kill(leader pid) still finds the leader task
    (PIDTYPE_PID) and signals the group; kill(tid) of the live thread does too."""
    k, lmkd, app, thread = _world()
    app.thread_exit(0)
    k.run()
    assert app.state == "zombie" and thread.alive
    lmkd.kill(thread.tid, 0)
    lmkd.kill(app.pid, signal.SIGKILL)
    k.run()
    assert thread.state == "dead"


def test_pidfd_self_sentinels_signal_the_callers_thread_or_group() -> None:
    """SYSCALL_DEFINE4(pidfd_send_signal): PIDFD_SELF_THREAD (-10000) is the calling thread
    (PIDTYPE_PID), PIDFD_SELF_THREAD_GROUP (-10001) its thread group (PIDTYPE_TGID)."""
    from mrelease_ref.kernel.pid import PIDFD_SELF_THREAD, PIDFD_SELF_THREAD_GROUP

    _k, _lmkd, app, thread = _world()
    for t in (app, thread):
        t.sigprocmask(SIG_BLOCK, [signal.SIGUSR1, signal.SIGUSR2])
    thread.pidfd_send_signal(PIDFD_SELF_THREAD, signal.SIGUSR1)
    assert thread.task.pending & sigmask(signal.SIGUSR1)
    thread.pidfd_send_signal(PIDFD_SELF_THREAD_GROUP, signal.SIGUSR2)
    assert app.task.signal.shared_pending & sigmask(signal.SIGUSR2)

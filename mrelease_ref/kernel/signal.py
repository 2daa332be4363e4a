"""Sending and delivering signals: ``kill()``, ``complete_signal()``, ``get_signal()``.

Kernel: kernel/signal.c, include/linux/signal.h (sig_kernel_* masks),
include/linux/sched/signal.h

The rule that matters for ``process_mrelease()``: a signal that will kill the whole group
(SIG_DFL action that terminates without a core dump, not blocked) starts the group exit *in
the sender's context*: ``complete_signal()`` sets SIGNAL_GROUP_EXIT and queues SIGKILL to
every thread before ``kill()`` returns. So SIGKILL -- and also a default-action SIGTERM --
makes ``task_will_free_mem()`` true at once, while a core-dumping signal (SIGSEGV, SIGQUIT)
or a caught/blocked one does not. (Checked on the 6.18 machines: a frozen victim sent
default SIGTERM is reaped by process_mrelease(); with SIGSEGV, a SIGTERM handler, or SIGTERM
blocked, the call returns EINVAL. docs/sources.md §K1.3 says otherwise for SIGTERM; the model
follows the kernel source and the measurement.) The group exit starts only if
``wants_signal()`` accepts the thread: a frozen task that froze through the freezer's fake
signal (asleep in ``pause()``/``poll()``, or running) already has TIF_SIGPENDING and is
refused, so SIGTERM then stays queued and the task is not dying; SIGKILL is always accepted
(:mod:`mrelease_ref.kernel.freezer`; parity scenarios ``frozen-*``, 2026-12-03).

Scopes: ``kill(tid)`` and a pidfd without PIDFD_THREAD signal the whole thread group
(PIDTYPE_TGID, shared pending), offered first to the thread named; ``tgkill()``,
``tkill()`` and a PIDFD_THREAD pidfd (or PIDFD_SIGNAL_THREAD) signal one thread
(PIDTYPE_PID, its private pending). A fatal signal kills the group either way.

Signals are delivered when the target next runs (``get_signal()``), which the model does
when it schedules the task.

Limitations:
- No ptrace, no real-time signal queues (each signal is pending at most once), no
  siginfo contents beyond the signal number, no process-group kills (pid <= 0,
  PIDFD_SIGNAL_PROCESS_GROUP), no ``rt_sigqueueinfo()``.
- Handlers are model callables run at delivery; the special handler ``"exit_group"``
  makes the task exit as a handler calling exit_group(0) would.
"""

from __future__ import annotations

import errno
import signal as _signal
from typing import Final

from mrelease_ref.include.linux.sched import (
    __TASK_STOPPED,
    __TASK_TRACED,
    PF_EXITING,
    PF_KTHREAD,
    PF_SIGNALED,
    PIDTYPE_PID,
    PIDTYPE_TGID,
    SIG_DFL,
    SIG_IGN,
    SIGNAL_GROUP_EXIT,
    SIGNAL_STOP_CONTINUED,
    SIGNAL_STOP_STOPPED,
    SIGNAL_UNKILLABLE,
    TASK_INTERRUPTIBLE,
    TASK_WAKEKILL,
    Pid,
    PidNamespace,
    TaskStruct,
    for_each_thread,
    is_global_init,
    sigmask,
    thread_group_empty,
)
from mrelease_ref.kernel.pid import (
    PIDFD_SELF_THREAD,
    PIDFD_SELF_THREAD_GROUP,
    PIDFD_THREAD,
    find_vpid,
    ns_of_pid,
    pid_nr_ns,
    pid_task,
    pidfd_get_pid,
    put_pid,
    task_active_pid_ns,
    task_tgid,
)
from mrelease_ref.kernel.sched import KernelGen, task_curr, wake_up_state

SIGKILL: Final = int(_signal.SIGKILL)
SIGSTOP: Final = int(_signal.SIGSTOP)
SIGCONT: Final = int(_signal.SIGCONT)
SIGCHLD: Final = int(_signal.SIGCHLD)
SIGTERM: Final = int(_signal.SIGTERM)
SIGSEGV: Final = int(_signal.SIGSEGV)
SIGBUS: Final = int(_signal.SIGBUS)
_NSIG: Final = 64


def _mask(*sigs: _signal.Signals) -> int:
    m = 0
    for s in sigs:
        m |= sigmask(int(s))
    return m


S = _signal.Signals
SIG_KERNEL_ONLY_MASK: Final = _mask(S.SIGKILL, S.SIGSTOP)
SIG_KERNEL_STOP_MASK: Final = _mask(S.SIGSTOP, S.SIGTSTP, S.SIGTTIN, S.SIGTTOU)
SIG_KERNEL_COREDUMP_MASK: Final = _mask(
    S.SIGQUIT, S.SIGILL, S.SIGTRAP, S.SIGABRT, S.SIGFPE, S.SIGSEGV, S.SIGBUS, S.SIGSYS,
    S.SIGXCPU, S.SIGXFSZ,
)
SIG_KERNEL_IGNORE_MASK: Final = _mask(S.SIGCONT, S.SIGCHLD, S.SIGWINCH, S.SIGURG)
SYNCHRONOUS_MASK: Final = _mask(S.SIGSEGV, S.SIGBUS, S.SIGILL, S.SIGTRAP, S.SIGFPE, S.SIGSYS)


def valid_signal(sig: int) -> bool:
    """Kernel: include/linux/signal.h:valid_signal()"""
    return 0 <= sig <= _NSIG


def _in(mask: int, sig: int) -> bool:
    return sig <= 32 and bool(mask & sigmask(sig))


def sig_kernel_only(sig: int) -> bool:
    """Kernel: include/linux/signal.h:sig_kernel_only()"""
    return _in(SIG_KERNEL_ONLY_MASK, sig)


def sig_kernel_coredump(sig: int) -> bool:
    """Kernel: include/linux/signal.h:sig_kernel_coredump()"""
    return _in(SIG_KERNEL_COREDUMP_MASK, sig)


def sig_kernel_ignore(sig: int) -> bool:
    """Kernel: include/linux/signal.h:sig_kernel_ignore()"""
    return _in(SIG_KERNEL_IGNORE_MASK, sig)


def sig_kernel_stop(sig: int) -> bool:
    """Kernel: include/linux/signal.h:sig_kernel_stop()"""
    return _in(SIG_KERNEL_STOP_MASK, sig)


def sig_handler(t: TaskStruct, sig: int) -> object:
    """Kernel: kernel/signal.c:sig_handler()"""
    return t.sighand.action.get(sig, SIG_DFL)


def sig_fatal(t: TaskStruct, sig: int) -> bool:
    """Kernel: include/linux/signal.h:sig_fatal(): default action, and that action kills."""
    return (
        not _in(SIG_KERNEL_IGNORE_MASK | SIG_KERNEL_STOP_MASK, sig)
        and sig_handler(t, sig) == SIG_DFL
    )


def sig_task_ignored(t: TaskStruct, sig: int, force: bool) -> bool:
    """Kernel: kernel/signal.c:sig_task_ignored()"""
    handler = sig_handler(t, sig)
    if is_global_init(t) and sig_kernel_only(sig):  # init never gets SIGKILL/SIGSTOP
        return True
    if t.signal.flags & SIGNAL_UNKILLABLE and handler == SIG_DFL and not (
        force and sig_kernel_only(sig)
    ):
        return True
    if t.flags & PF_KTHREAD and handler == SIG_DFL:  # kthreads ignore SIG_DFL signals
        return True
    return handler == SIG_IGN or (handler == SIG_DFL and sig_kernel_ignore(sig))


def sig_ignored(t: TaskStruct, sig: int, force: bool) -> bool:
    """Kernel: kernel/signal.c:sig_ignored(): a blocked signal is never ignored here."""
    if t.blocked & sigmask(sig):
        return False
    return sig_task_ignored(t, sig, force)


def fatal_signal_pending(p: TaskStruct) -> bool:
    """Kernel: include/linux/sched/signal.h:fatal_signal_pending()"""
    return bool(p.pending & sigmask(SIGKILL))


def signal_wake_up_state(t: TaskStruct, state: int) -> None:
    """Kernel: kernel/signal.c:signal_wake_up_state()

    Set TIF_SIGPENDING and wake the task (``state | TASK_INTERRUPTIBLE`` sleeps) so it
    delivers the signal on its way back to user space. A frozen task is not woken: the
    wake-up only resets its ``saved_state`` when it matches (:mod:`mrelease_ref.kernel.freezer`).
    """
    t.sigpending = True
    wake_up_state(t, state | TASK_INTERRUPTIBLE)


def signal_wake_up(t: TaskStruct, fatal: bool) -> None:
    """Kernel: include/linux/sched/signal.h:signal_wake_up()

    A fatal signal also ends a group stop (JOBCTL_STOPPED cleared) and wakes TASK_WAKEKILL
    sleeps, a stopped task among them.
    """
    state = 0
    if fatal:
        t.stopped = False  # t->jobctl &= ~(JOBCTL_STOPPED | JOBCTL_TRACED)
        state = TASK_WAKEKILL | __TASK_TRACED
    signal_wake_up_state(t, state)


def prepare_signal(sig: int, p: TaskStruct, force: bool) -> bool:
    """Kernel: kernel/signal.c:prepare_signal()

    Drop signals to a dying group (except SIGKILL during a core dump), let stop and
    continue signals cancel each other, and drop ignored signals. True means "queue it".
    """
    sig_struct = p.signal
    if sig_struct.flags & SIGNAL_GROUP_EXIT:
        if sig_struct.core_state is not None:
            return sig == SIGKILL
        return False
    if sig_kernel_stop(sig):
        cont = sigmask(SIGCONT)
        sig_struct.shared_pending &= ~cont
        for t in for_each_thread(p):
            t.pending &= ~cont
    elif sig == SIGCONT:
        stops = SIG_KERNEL_STOP_MASK
        sig_struct.shared_pending &= ~stops
        for t in for_each_thread(p):
            t.pending &= ~stops
            if t.stopped:
                t.stopped = False  # t->jobctl &= ~JOBCTL_STOPPED
                wake_up_state(t, __TASK_STOPPED)
        if sig_struct.flags & SIGNAL_STOP_STOPPED:
            sig_struct.flags = (sig_struct.flags & ~SIGNAL_STOP_STOPPED) | SIGNAL_STOP_CONTINUED
    return not sig_ignored(p, sig, force)


def wants_signal(sig: int, p: TaskStruct) -> bool:
    """Kernel: kernel/signal.c:wants_signal()

    A task that is not on a CPU and already has TIF_SIGPENDING is not chosen: it will see
    the signal when it next runs. That includes a task frozen through the signal path
    (:mod:`mrelease_ref.kernel.freezer`), whose fake wake-up left TIF_SIGPENDING set.
    """
    if p.blocked & sigmask(sig):
        return False
    if p.flags & PF_EXITING:
        return False
    if sig == SIGKILL:
        return True
    if p.stopped:  # task_is_stopped_or_traced()
        return False
    return task_curr(p) or not p.sigpending


def complete_signal(sig: int, p: TaskStruct, type: int) -> None:
    """Kernel: kernel/signal.c:complete_signal()

    Pick a thread to take the signal. If the signal will kill the whole group, start the
    group exit now: SIGNAL_GROUP_EXIT, SIGKILL queued to every thread, everyone woken.
    """
    if wants_signal(sig, p):
        t = p
    elif type == PIDTYPE_PID or thread_group_empty(p):
        return
    else:
        candidates = [x for x in for_each_thread(p) if wants_signal(sig, x)]
        if not candidates:
            return
        t = candidates[0]
    signal = p.signal
    if (
        sig_fatal(p, sig)
        and (signal.core_state is not None or not signal.flags & SIGNAL_GROUP_EXIT)
        and not sig_kernel_coredump(sig)  # (t->real_blocked is empty: no sigtimedwait here)
    ):
        signal.flags = SIGNAL_GROUP_EXIT
        signal.group_exit_code = sig
        signal.group_stop_count = 0
        for thread in for_each_thread(p):
            thread.pending |= sigmask(SIGKILL)
            signal_wake_up(thread, True)
        return
    signal_wake_up(t, sig == SIGKILL)


def __send_signal_locked(sig: int, t: TaskStruct, type: int, force: bool) -> int:
    """Kernel: kernel/signal.c:__send_signal_locked()"""
    k = t.kernel
    if k.tracing:
        k.trace_event("signal_generate", f"sig={sig} pid={t.pid} comm={t.comm}")
    if not prepare_signal(sig, t, force):
        return 0
    if type == PIDTYPE_PID:
        if t.pending & sigmask(sig):
            return 0
        t.pending |= sigmask(sig)
    else:
        if t.signal.shared_pending & sigmask(sig):
            return 0
        t.signal.shared_pending |= sigmask(sig)
    complete_signal(sig, t, type)
    return 0


def kill_ok_by_cred(t: TaskStruct, current: TaskStruct) -> bool:
    """Kernel: kernel/signal.c:kill_ok_by_cred(): same uid, or CAP_KILL."""
    return current.cred.uid == t.cred.uid or "CAP_KILL" in current.cred.caps


def check_kill_permission(sig: int, t: TaskStruct, current: TaskStruct) -> int:
    """Kernel: kernel/signal.c:check_kill_permission() (for a signal "from user")"""
    if not valid_signal(sig):
        return -errno.EINVAL
    if current.signal is t.signal:  # same_thread_group()
        return 0
    if not kill_ok_by_cred(t, current):
        return -errno.EPERM
    return 0


def send_signal_locked(sig: int, t: TaskStruct, type: int, current: TaskStruct) -> int:
    """Kernel: kernel/signal.c:send_signal_locked() for a user signal (SI_USER or NOINFO)

    ``force`` (deliver SIGKILL/SIGSTOP even to a namespace init) is set only when the
    sender has no number in the target's pid namespace, i.e. sends from an ancestor one.
    """
    force = not pid_nr_ns(current.thread_pid, task_active_pid_ns(t))
    return __send_signal_locked(sig, t, type, force)


def group_send_sig_info(sig: int, p: TaskStruct, type: int, current: TaskStruct) -> int:
    """Kernel: kernel/signal.c:group_send_sig_info()"""
    ret = check_kill_permission(sig, p, current)
    if ret == 0 and sig:
        ret = send_signal_locked(sig, p, type, current)
    return ret


def kill_pid_info_type(sig: int, pid: Pid, type: int, current: TaskStruct) -> int:
    """Kernel: kernel/signal.c:kill_pid_info_type()

    The task is looked up by PIDTYPE_PID whatever the scope ``type``: a thread id finds
    that thread, and a PIDTYPE_TGID signal to it is a signal to its whole group, offered
    to that thread first (``complete_signal()``).
    """
    p = pid_task(pid, PIDTYPE_PID)
    if p is None:
        return -errno.ESRCH
    return group_send_sig_info(sig, p, type, current)


def kill_pid(pid: Pid, sig: int, priv: int, current: TaskStruct) -> int:
    """Kernel: kernel/signal.c:kill_pid() -> kill_pid_info()

    ``priv == 0`` sends a user-style signal (permission-checked against ``current``);
    otherwise a kernel signal (SEND_SIG_PRIV: no permission check, forced).
    """
    if priv:
        p = pid_task(pid, PIDTYPE_PID)
        if p is None:
            return -errno.ESRCH
        return __send_signal_locked(sig, p, PIDTYPE_TGID, force=True)
    return kill_pid_info_type(sig, pid, PIDTYPE_TGID, current)


def access_pidfd_pidns(pid: Pid, current: TaskStruct) -> bool:
    """Kernel: kernel/signal.c:access_pidfd_pidns()

    The target's pid namespace must be the caller's or a descendant of it.
    """
    active = task_active_pid_ns(current)
    p: PidNamespace | None = ns_of_pid(pid)
    while p is not None:
        if p is active:
            return True
        p = p.parent
    return False


PIDFD_SIGNAL_THREAD: Final = 1 << 0
PIDFD_SIGNAL_THREAD_GROUP: Final = 1 << 1
PIDFD_SIGNAL_PROCESS_GROUP: Final = 1 << 2
PIDFD_SEND_SIGNAL_FLAGS: Final = (
    PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP
)


def do_pidfd_send_signal(pid: Pid, sig: int, type: int, flags: int, current: TaskStruct) -> int:
    """Kernel: kernel/signal.c:do_pidfd_send_signal() (info NULL)

    A PIDFD_SIGNAL_* flag overrides the scope the pidfd implies: PIDFD_SIGNAL_THREAD makes
    it thread-directed (PIDTYPE_PID), PIDFD_SIGNAL_THREAD_GROUP group-wide (PIDTYPE_TGID).
    """
    if flags == PIDFD_SIGNAL_THREAD:
        type = PIDTYPE_PID
    elif flags == PIDFD_SIGNAL_THREAD_GROUP:
        type = PIDTYPE_TGID
    elif flags == PIDFD_SIGNAL_PROCESS_GROUP:
        raise ValueError("PIDFD_SIGNAL_PROCESS_GROUP: process groups are not modelled")
    return kill_pid_info_type(sig, pid, type, current)


def sys_pidfd_send_signal(current: TaskStruct, pidfd: int, sig: int, flags: int) -> int:
    """Kernel: kernel/signal.c:SYSCALL_DEFINE4(pidfd_send_signal) (info NULL)

    Unknown flags, or more than one PIDFD_SIGNAL_* scope, give -EINVAL. PIDFD_SELF_THREAD
    and PIDFD_SELF_THREAD_GROUP name the caller's thread and group. Otherwise the fd must
    be a pidfd (-EBADF), of a pid in the caller's pid-namespace hierarchy (-EINVAL); the
    scope is the pidfd's: PIDFD_THREAD -> that thread (PIDTYPE_PID), else its thread group
    (PIDTYPE_TGID), unless a flag overrides it. Then a user-style signal, permission-checked
    like kill(). The task is found by PIDTYPE_PID (``kill_pid_info_type()``), so a signal
    through the PIDFD_THREAD pidfd of a non-leader thread reaches it.

    Variants: the RFC adds KILL_MRELEASE (see mrelease_ref.series.rfc).
    """
    if flags & ~PIDFD_SEND_SIGNAL_FLAGS:
        return -errno.EINVAL
    if bin(flags & PIDFD_SEND_SIGNAL_FLAGS).count("1") > 1:  # hweight32()
        return -errno.EINVAL
    if pidfd in (PIDFD_SELF_THREAD, PIDFD_SELF_THREAD_GROUP):
        if pidfd == PIDFD_SELF_THREAD:
            pid, type = current.thread_pid, PIDTYPE_PID
        else:
            pid, type = task_tgid(current), PIDTYPE_TGID
        return do_pidfd_send_signal(pid, sig, type, flags, current)
    got = pidfd_get_pid(current, pidfd)
    if isinstance(got, int):
        return got
    pid, f_flags = got
    try:
        if not access_pidfd_pidns(pid, current):
            return -errno.EINVAL
        type = PIDTYPE_PID if f_flags & PIDFD_THREAD else PIDTYPE_TGID
        return do_pidfd_send_signal(pid, sig, type, flags, current)
    finally:
        put_pid(pid)


def sys_kill(current: TaskStruct, pid_nr: int, sig: int) -> int:
    """Kernel: kernel/signal.c:SYSCALL_DEFINE2(kill) via kill_something_info(),
    kill_proc_info(), kill_pid_info()

    Only ``pid > 0`` is modelled. ``pid`` may be any thread's id: the signal goes to that
    thread's whole group (PIDTYPE_TGID), offered to that thread first.
    """
    if pid_nr <= 0:
        raise ValueError("kill() of process groups (pid <= 0) is not modelled; use pid > 0")
    pid = find_vpid(current.kernel, pid_nr)
    if pid is None:
        return -errno.ESRCH
    return kill_pid_info_type(sig, pid, PIDTYPE_TGID, current)


def do_send_specific(current: TaskStruct, tgid: int, pid_nr: int, sig: int) -> int:
    """Kernel: kernel/signal.c:do_send_specific()

    A thread-directed signal (PIDTYPE_PID) to thread ``pid_nr``, which must belong to
    thread group ``tgid`` when ``tgid > 0``; otherwise -ESRCH. Permission-checked like
    kill(); signal 0 only probes.
    """
    pid = find_vpid(current.kernel, pid_nr)
    p = pid_task(pid, PIDTYPE_PID) if pid is not None else None
    if p is None or (tgid > 0 and p.tgid != tgid):
        return -errno.ESRCH
    error = check_kill_permission(sig, p, current)
    if error == 0 and sig:
        error = send_signal_locked(sig, p, PIDTYPE_PID, current)
    return error


def do_tkill(current: TaskStruct, tgid: int, pid_nr: int, sig: int) -> int:
    """Kernel: kernel/signal.c:do_tkill()"""
    return do_send_specific(current, tgid, pid_nr, sig)


def sys_tgkill(current: TaskStruct, tgid: int, pid_nr: int, sig: int) -> int:
    """Kernel: kernel/signal.c:SYSCALL_DEFINE3(tgkill): -EINVAL unless both ids are > 0."""
    if pid_nr <= 0 or tgid <= 0:
        return -errno.EINVAL
    return do_tkill(current, tgid, pid_nr, sig)


def sys_tkill(current: TaskStruct, pid_nr: int, sig: int) -> int:
    """Kernel: kernel/signal.c:SYSCALL_DEFINE2(tkill): -EINVAL unless the id is > 0."""
    if pid_nr <= 0:
        return -errno.EINVAL
    return do_tkill(current, 0, pid_nr, sig)


# --- delivery ---------------------------------------------------------------------------


def dequeue_signal(tsk: TaskStruct) -> int:
    """Kernel: kernel/signal.c:dequeue_signal(): private first, synchronous signals first."""
    for pending_owner in ("task", "shared"):
        pending = tsk.pending if pending_owner == "task" else tsk.signal.shared_pending
        avail = pending & ~tsk.blocked
        if not avail:
            continue
        sync = avail & SYNCHRONOUS_MASK
        bits = sync or avail
        sig = (bits & -bits).bit_length()
        if pending_owner == "task":
            tsk.pending &= ~sigmask(sig)
        else:
            tsk.signal.shared_pending &= ~sigmask(sig)
        return sig
    return 0


def recalc_sigpending(tsk: TaskStruct) -> None:
    """Kernel: kernel/signal.c:recalc_sigpending()"""
    tsk.sigpending = bool((tsk.pending | tsk.signal.shared_pending) & ~tsk.blocked)


def do_signal_stop(tsk: TaskStruct, sig: int) -> None:
    """Kernel: kernel/signal.c:do_signal_stop(): the whole group stops (TASK_STOPPED)."""
    sig_struct = tsk.signal
    sig_struct.flags = (sig_struct.flags & ~SIGNAL_STOP_CONTINUED) | SIGNAL_STOP_STOPPED
    sig_struct.group_exit_code = sig
    for t in for_each_thread(tsk):
        t.stopped = True


def get_signal(tsk: TaskStruct) -> KernelGen[None]:
    """Kernel: kernel/signal.c:get_signal()

    Deliver pending signals on the way back to user space (after ``try_to_freeze()``, where
    a task woken by the freezer's fake signal freezes): a dying group exits; ignored
    signals are dropped; a handler runs; a stop signal stops the group; anything else is
    fatal (with a core dump for the coredump signals).
    """
    from mrelease_ref.fs.coredump import vfs_coredump
    from mrelease_ref.kernel.exit import do_group_exit
    from mrelease_ref.kernel.freezer import try_to_freeze

    yield from try_to_freeze(tsk)  # once: a freezing task never returns to user mode
    while True:
        if tsk.signal.flags & SIGNAL_GROUP_EXIT:
            tsk.pending &= ~sigmask(SIGKILL)
            recalc_sigpending(tsk)
            signr = SIGKILL
            break
        signr = dequeue_signal(tsk)
        recalc_sigpending(tsk)
        if not signr:
            return
        handler = sig_handler(tsk, signr)
        if handler == SIG_IGN:
            continue
        if handler != SIG_DFL:
            if handler == "exit_group":
                yield from do_group_exit(tsk, 0)
                return
            assert callable(handler)
            handler(signr)
            continue
        if sig_kernel_ignore(signr):
            continue
        if tsk.signal.flags & SIGNAL_UNKILLABLE and not sig_kernel_only(signr):
            continue
        if is_global_init(tsk) and not sig_kernel_only(signr):
            continue
        if sig_kernel_stop(signr):
            do_signal_stop(tsk, signr)
            return
        break
    tsk.flags |= PF_SIGNALED
    if sig_kernel_coredump(signr):
        yield from vfs_coredump(tsk, signr)
    yield from do_group_exit(tsk, signr)


__all__ = [
    "SIGKILL",
    "check_kill_permission",
    "complete_signal",
    "dequeue_signal",
    "do_signal_stop",
    "fatal_signal_pending",
    "get_signal",
    "group_send_sig_info",
    "kill_ok_by_cred",
    "kill_pid",
    "kill_pid_info_type",
    "prepare_signal",
    "recalc_sigpending",
    "sig_fatal",
    "sig_ignored",
    "signal_wake_up",
    "signal_wake_up_state",
    "sys_kill",
    "sys_tgkill",
    "sys_tkill",
    "wants_signal",
]

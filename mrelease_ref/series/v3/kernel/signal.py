"""REAP_KILL v3: ``do_pidfd_send_signal_pidns()``, a pid-namespace-checked pidfd signal.

Kernel: kernel/signal.c as patched by <20260511214226.937793-1-minchan@kernel.org> (v3);
``pidfd_send_signal()`` is refactored to call the new helper (no behaviour change there).

Limitations:
- ``info`` is always NULL here (a user-style SIGKILL); siginfo contents are not modelled.
"""

from __future__ import annotations

import errno

from mrelease_ref.include.linux.sched import Pid, PidNamespace, TaskStruct
from mrelease_ref.kernel.signal import kill_pid_info_type


def task_active_pid_ns(tsk: TaskStruct) -> PidNamespace:
    """Kernel: kernel/pid.c:task_active_pid_ns(): the namespace of the task's own pid."""
    return tsk.thread_pid.numbers[-1][0]


def ns_of_pid(pid: Pid) -> PidNamespace:
    """Kernel: include/linux/pid.h:ns_of_pid()"""
    return pid.numbers[-1][0]


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


def do_pidfd_send_signal_pidns(
    pid: Pid, sig: int, type: int, info: None, flags: int, current: TaskStruct
) -> int:
    """Kernel: kernel/signal.c:do_pidfd_send_signal_pidns() (new in v3)

    -EINVAL outside the caller's pid-namespace hierarchy, else ``do_pidfd_send_signal()``:
    a user-originated signal, permission-checked against ``current``.
    """
    if not access_pidfd_pidns(pid, current):
        return -errno.EINVAL
    return kill_pid_info_type(sig, pid, type, current)

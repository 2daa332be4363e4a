"""The end of a pid namespace: its init exits and takes every process in it along.

Kernel: kernel/pid_namespace.c (zap_pid_ns_processes()), kernel/exit.c
(find_child_reaper())

Limitations:
- The dying init does not wait for the namespace to empty (the kernel's
  ``zap_pid_ns_processes()`` sleeps until every other pid is gone); it sends the SIGKILLs
  and reaps the zombies it already had, the others reap themselves as they die.
- No reboot(2) from inside a namespace, no ``pid_ns->pid_allocated`` accounting.
"""

from __future__ import annotations

from mrelease_ref.include.linux.sched import PIDTYPE_TGID, PidNamespace, TaskStruct
from mrelease_ref.kernel.pid import pid_nr_ns


def zap_pid_ns_processes(pid_ns: PidNamespace, current: TaskStruct) -> int:
    """Kernel: kernel/pid_namespace.c:zap_pid_ns_processes()

    Ignore SIGCHLD in the dying init (its children then reap themselves), SIGKILL
    (kernel-originated, so forced past SIGNAL_UNKILLABLE) every thread group with a pid in
    ``pid_ns`` or below, other than the exiting init's own, and reap the children that
    were zombies already (the ``kernel_wait4()`` loop; the model does not wait for the
    others, which reap themselves as they die). Returns how many were signalled.
    """
    from mrelease_ref.include.linux.sched import (
        EXIT_ZOMBIE,
        SIG_IGN,
        for_each_thread,
        thread_group_empty,
    )
    from mrelease_ref.kernel.exit import release_task
    from mrelease_ref.kernel.signal import SIGCHLD, SIGKILL, __send_signal_locked

    # ignore SIGCHLD: the namespace's children reap themselves as they die
    current.sighand.action[SIGCHLD] = SIG_IGN
    nr = 0
    for t in list(current.kernel.tasks):
        if t.signal is current.signal or t.exit_state or t is not (t.group_leader or t):
            continue
        if pid_nr_ns(t.thread_pid, pid_ns):
            __send_signal_locked(SIGKILL, t, PIDTYPE_TGID, force=True)
            nr += 1
    # "Reap the EXIT_ZOMBIE children we had before we ignored SIGCHLD"
    for th in list(for_each_thread(current)):
        for child in list(th.children):
            if child.exit_state == EXIT_ZOMBIE and thread_group_empty(child):
                release_task(child)
    return nr


__all__ = ["zap_pid_ns_processes"]

"""Creating threads and CLONE_VM sharers for the Process API (copy_process() slices).

Kernel: kernel/fork.c:copy_process() (the parts that decide what is shared)

A caller with a fatal signal pending is refused before anything is built
(:func:`copy_process_check`): the kernel does not let a new task slip out of a SIGKILL or
an OOM kill.

Limitations:
- Any *non-fatal* pending signal also makes the kernel's copy_process() restart the call
  (-ERESTARTNOINTR after the handler ran); the model lets such a clone go ahead.
- Only the sharing that matters here: mm, signal/sighand/files for threads; a CLONE_VM
  process gets its own signal state and file table.
- The new pid lives in the parent's pid namespace (``pid_ns_for_children`` is never
  changed: no ``unshare(CLONE_NEWPID)`` or ``setns()``).
"""

from __future__ import annotations

import errno

from mrelease_ref.include.linux.sched import PIDTYPE_PID, TaskStruct
from mrelease_ref.kernel.cgroup.legacy_freezer import freezer_fork
from mrelease_ref.kernel.fork import (
    CLONE_THREAD,
    CLONE_VFORK,
    CLONE_VM,
    copy_mm,
    copy_oom_score_adj,
)
from mrelease_ref.kernel.pid import alloc_pid, attach_pid, task_active_pid_ns


def copy_process_refusal(current: TaskStruct) -> int:
    """Kernel: kernel/fork.c:copy_process() ("Let kill terminate clone/fork in the middle")

    ``-EINTR`` when ``current`` has a fatal signal pending (SIGKILL, an OOM kill, or a group
    exit, which queues SIGKILL in every other thread), else 0. The caller never sees the
    errno: it dies on its way back to user space.
    """
    from mrelease_ref.kernel.signal import fatal_signal_pending

    return -errno.EINTR if fatal_signal_pending(current) else 0


def copy_process_check(current: TaskStruct, what: str) -> None:
    """Raise ``OSError(EINTR)`` where :func:`copy_process_refusal` refuses (model API)."""
    ret = copy_process_refusal(current)
    if ret:
        raise OSError(-ret, f"{what}: {current!r} has a fatal signal pending; copy_process() "
                            "refuses and the caller dies before it returns")


def clone_thread(leader: TaskStruct) -> TaskStruct:
    """Kernel: kernel/fork.c:copy_process() with CLONE_VM|CLONE_THREAD|CLONE_SIGHAND."""
    copy_process_check(leader, "clone")
    k = leader.kernel
    lead = leader.group_leader or leader
    pid = alloc_pid(k, task_active_pid_ns(lead))  # threads share the leader's namespace
    t = TaskStruct(
        kernel=k, pid=pid.nr, tgid=lead.tgid, comm=lead.comm, cred=lead.cred,
        signal=lead.signal, sighand=lead.sighand, files=lead.files, thread_pid=pid,
        cpu=pid.nr % k.config.nr_cpus,
    )
    t.group_leader = lead
    t.real_parent = lead.real_parent
    copy_mm(CLONE_VM | CLONE_THREAD, t, lead.mm)
    sig = lead.signal
    sig.threads.append(t)
    sig.nr_threads += 1
    sig.live += 1
    sig.quick_threads += 1
    sig.sigcnt += 1
    attach_pid(t, PIDTYPE_PID, pid)
    freezer_fork(t, leader)  # cgroup_post_fork(): the new thread joins the leader's group
    return t


def clone_vm(parent: TaskStruct, comm: str, vfork: bool) -> TaskStruct:
    """Kernel: kernel/fork.c:copy_process() with CLONE_VM (and CLONE_VFORK)

    A new process shares ``parent``'s mm. Only a plain CLONE_VM child marks the mm
    MMF_MULTIPROCESS (``copy_oom_score_adj()``); a vfork child does not.
    """
    copy_process_check(parent, "clone")
    k = parent.kernel
    # pid_ns_for_children: the parent's own namespace (no setns()/unshare() modelled)
    t = k.new_task(
        comm, parent.cred, parent=parent, kthread=False, pid_ns=task_active_pid_ns(parent)
    )
    flags = CLONE_VM | (CLONE_VFORK if vfork else 0)
    copy_mm(flags, t, parent.mm)
    copy_oom_score_adj(flags, t)
    freezer_fork(t, parent)  # cgroup_post_fork(): the child starts in the parent's group
    return t

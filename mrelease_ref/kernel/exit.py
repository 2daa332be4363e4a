"""Process exit as explicit steps, and reaping zombies.

Kernel: kernel/exit.c (do_exit(), do_group_exit(), exit_mm(), exit_notify(),
forget_original_parent(), find_new_reaper(), find_alive_thread(), release_task(),
wait_task_zombie()), kernel/signal.c (exit_signals(), do_notify_parent())

``do_exit()`` is a generator; each ``yield`` is a point where another task may run. The
steps that matter to ``process_mrelease()``:

1. ``synchronize_group_exit()`` + ``exit_signals()``: SIGNAL_GROUP_EXIT (if not yet set)
   and PF_EXITING.
2. ``exit_mm()``: ``task->mm = NULL`` -- from here ``find_lock_task_mm()`` no longer sees
   this thread's mm and ``process_mrelease()`` gets ESRCH once every thread got here --
   then ``mmput()``, which runs ``exit_mmap()`` only if this was the last user.
3. ``exit_files()``, then ``exit_notify()``: zombie (or released at once when autoreaped).

Limitations:
- No ptrace, no vfork completion, no child subreapers: orphans go to another thread of
  their parent's group or to the namespace's init. A namespace init's exit kills the
  namespace but does not wait for it (kernel/pid_namespace.py).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from mrelease_ref.fs.coredump import coredump_task_exit
from mrelease_ref.include.linux.rwsem import mmap_read_lock, mmap_read_unlock
from mrelease_ref.include.linux.sched import (
    EXIT_DEAD,
    EXIT_ZOMBIE,
    PF_EXITING,
    PIDTYPE_PID,
    PIDTYPE_TGID,
    SIG_IGN,
    SIGNAL_GROUP_EXIT,
    SignalStruct,
    TaskStruct,
    for_each_thread,
    sigmask,
    thread_group_empty,
    thread_group_leader,
)
from mrelease_ref.kernel.fork import mmdrop, mmput
from mrelease_ref.kernel.pid import detach_pid, put_pid, put_task_struct
from mrelease_ref.kernel.sched import KernelGen, cond_resched, wait_event
from mrelease_ref.mm.mmap import fput

if TYPE_CHECKING:
    pass


def synchronize_group_exit(tsk: TaskStruct, code: int) -> None:
    """Kernel: kernel/exit.c:synchronize_group_exit(): the last quick thread marks the group."""
    signal = tsk.signal
    signal.quick_threads -= 1
    if signal.quick_threads == 0 and not signal.flags & SIGNAL_GROUP_EXIT:
        signal.flags = SIGNAL_GROUP_EXIT
        signal.group_exit_code = code
        signal.group_stop_count = 0


def exit_signals(tsk: TaskStruct) -> None:
    """Kernel: kernel/signal.c:exit_signals(): set PF_EXITING."""
    tsk.flags |= PF_EXITING


def exit_mm(tsk: TaskStruct) -> KernelGen[None]:
    """Kernel: kernel/exit.c:exit_mm()

    Detach the mm from the task (``task->mm = NULL`` under the read lock), then drop this
    thread's ``mm_users`` reference.
    """
    mm = tsk.mm
    if mm is None:
        return
    k = tsk.kernel
    yield from mmap_read_lock(mm, tsk)
    tsk.mm = None  # under task_lock(): find_lock_task_mm() can no longer see it
    mmap_read_unlock(mm)
    if k.tracing:
        k.trace_event("exit_mm", f"pid={tsk.pid} mm={mm.mm_id} mm_users={mm.mm_users}")
    yield cond_resched("exit_mm:mm detached")
    yield from mmput(mm, tsk)


def exit_files(tsk: TaskStruct) -> None:
    """Kernel: fs/file.c:exit_files(): the last thread closes every descriptor."""
    files = tsk.files
    tsk.files = None
    if files is None or any(t.files is files for t in tsk.signal.threads if t is not tsk):
        return
    for fd in sorted(files.fdt):
        f = files.fdt.pop(fd)
        if f.private_data is not None:
            put_pid(f.private_data)
        if f.f_inode is not None:
            fput(f)


def put_signal_struct(sig: SignalStruct) -> None:
    """Kernel: kernel/fork.c:put_signal_struct(): free it with its last task struct."""
    sig.sigcnt -= 1
    if sig.sigcnt == 0:
        free_signal_struct(sig)


def free_signal_struct(sig: SignalStruct) -> None:
    """Kernel: kernel/fork.c:free_signal_struct(): the group is gone; drop the mm_count
    reference ``mark_oom_victim()`` kept in ``signal->oom_mm`` (``mmdrop_async()``)."""
    if sig.oom_mm is not None:
        mm, sig.oom_mm = sig.oom_mm, None
        mmdrop(mm)


def release_task(p: TaskStruct) -> None:
    """Kernel: kernel/exit.c:release_task()

    Unhash the thread: its pid (and for a leader, the thread-group id) stops resolving. A
    zombie leader whose last thread this was is released as well.
    """
    k = p.kernel
    signal = p.signal
    if p in signal.threads:
        signal.threads.remove(p)
        signal.nr_threads -= 1
    detach_pid(p, PIDTYPE_PID, p.thread_pid)
    leader = p.group_leader
    if thread_group_leader(p):
        detach_pid(p, PIDTYPE_TGID, p.thread_pid)
        if p.real_parent is not None and p in p.real_parent.children:
            p.real_parent.children.remove(p)
        if p in k.tasks:
            k.tasks.remove(p)
    p.exit_state = EXIT_DEAD
    if k.tracing:
        k.trace_event("release_task", f"pid={p.pid} comm={p.comm}")
    put_task_struct(p)  # delayed_put_task_struct(): the reference the task held on itself
    if (
        leader is not None
        and leader is not p
        and leader.exit_state == EXIT_ZOMBIE
        and thread_group_empty(leader)
        and do_notify_parent(leader)
    ):
        release_task(leader)


def find_child_reaper(father: TaskStruct) -> TaskStruct | None:
    """Kernel: kernel/exit.c:find_child_reaper() (from forget_original_parent())

    The pid namespace's reaper of ``father``'s orphans. When the last thread of a child
    namespace's init exits, nobody is left to reap the namespace: every process in it is
    killed (``zap_pid_ns_processes()``) and the dying init stays the reaper.
    """
    from mrelease_ref.kernel.pid import task_active_pid_ns
    from mrelease_ref.kernel.pid_namespace import zap_pid_ns_processes

    pid_ns = task_active_pid_ns(father)
    leader = father.group_leader or father
    if pid_ns.child_reaper is not leader:
        return pid_ns.child_reaper
    alive = find_alive_thread(father)
    if alive is not None:  # another thread of init takes over (the model keeps the leader)
        return pid_ns.child_reaper
    if pid_ns.parent is not None:
        zap_pid_ns_processes(pid_ns, father)
    return father


def find_alive_thread(p: TaskStruct) -> TaskStruct | None:
    """Kernel: kernel/exit.c:find_alive_thread(): a thread of ``p``'s group not exiting."""
    for t in for_each_thread(p):
        if not t.flags & PF_EXITING:
            return t
    return None


def find_new_reaper(father: TaskStruct, child_reaper: TaskStruct | None) -> TaskStruct | None:
    """Kernel: kernel/exit.c:find_new_reaper(): a live thread of the same group, else the
    namespace's reaper (no child subreapers in the model)."""
    thread = find_alive_thread(father)
    return thread if thread is not None else child_reaper


def do_notify_parent(tsk: TaskStruct) -> bool:
    """Kernel: kernel/signal.c:do_notify_parent(): whether the zombie reaps itself, because
    its parent ignores SIGCHLD (SIG_IGN, as ``zap_pid_ns_processes()`` sets for a dying
    namespace init) or is init, which the model lets reap at once."""
    from mrelease_ref.kernel.signal import SIGCHLD

    parent = tsk.real_parent
    if parent is None or parent is tsk.kernel.init_task:
        return True
    return parent.sighand.action.get(SIGCHLD) == SIG_IGN


def forget_original_parent(father: TaskStruct, dead: list[TaskStruct]) -> None:
    """Kernel: kernel/exit.c:forget_original_parent() with reparent_leader()

    ``father``'s children go to a live thread of its group, else to the namespace's reaper;
    a child that already is a zombie is released at once when its new parent does not wait
    for it (``do_notify_parent()``), else it waits for the new parent's ``wait()``.
    """
    reaper = find_child_reaper(father)
    if not father.children:
        return
    reaper = find_new_reaper(father, reaper)
    if reaper is None:
        return
    for p in list(father.children):
        for t in for_each_thread(p):
            t.real_parent = reaper
        if reaper.signal is not father.signal:  # reparent_leader()
            if p.exit_state == EXIT_ZOMBIE and thread_group_empty(p) and do_notify_parent(p):
                dead.append(p)
    reaper.children.extend(father.children)
    father.children.clear()


def exit_notify(tsk: TaskStruct, group_dead: bool) -> None:
    """Kernel: kernel/exit.c:exit_notify()

    Hand the children to a new parent (``forget_original_parent()``) and become a zombie.
    A non-leader thread reaps itself; a leader whose parent does not wait (init, or a
    parent ignoring SIGCHLD: ``do_notify_parent()``) is reaped at once when its group is
    dead; otherwise it waits for ``wait()``.
    """
    dead: list[TaskStruct] = []
    forget_original_parent(tsk, dead)
    tsk.exit_state = EXIT_ZOMBIE
    if not thread_group_leader(tsk):
        autoreap = True
    else:
        autoreap = thread_group_empty(tsk) and do_notify_parent(tsk)
    k = tsk.kernel
    if k.tracing:
        k.trace_event("exit_notify", f"pid={tsk.pid} zombie autoreap={autoreap}")
    if autoreap:
        dead.append(tsk)
    for p in dead:
        release_task(p)


def do_exit(tsk: TaskStruct, code: int) -> KernelGen[None]:
    """Kernel: kernel/exit.c:do_exit()"""
    k = tsk.kernel
    synchronize_group_exit(tsk, code)
    exit_signals(tsk)
    if k.tracing:
        k.trace_event("do_exit", f"pid={tsk.pid} code={code}")
    yield cond_resched("do_exit:PF_EXITING")
    yield from coredump_task_exit(tsk)
    tsk.signal.live -= 1
    group_dead = tsk.signal.live == 0
    tsk.exit_code = code
    yield from k.series.exit_mm(tsk)  # exit_mm(), or a variant's
    exit_files(tsk)
    yield cond_resched("do_exit:exit_files")
    exit_notify(tsk, group_dead)
    tsk.dead = True  # do_task_dead()


def zap_other_threads(p: TaskStruct) -> int:
    """Kernel: kernel/signal.c:zap_other_threads(): SIGKILL to every other thread."""
    from mrelease_ref.kernel.signal import SIGKILL, signal_wake_up

    count = 0
    for t in for_each_thread(p):
        if t is p or t.exit_state:
            continue
        count += 1
        t.pending |= sigmask(SIGKILL)
        signal_wake_up(t, True)
    return count


def do_group_exit(tsk: TaskStruct, exit_code: int) -> KernelGen[None]:
    """Kernel: kernel/exit.c:do_group_exit(): take the whole thread group down."""
    sig = tsk.signal
    if sig.flags & SIGNAL_GROUP_EXIT:
        exit_code = sig.group_exit_code
    elif not thread_group_empty(tsk):
        sig.group_exit_code = exit_code
        sig.flags = SIGNAL_GROUP_EXIT
        zap_other_threads(tsk)
    yield from do_exit(tsk, exit_code)


def wait_task_zombie(parent: TaskStruct, child: TaskStruct) -> KernelGen[int]:
    """Kernel: kernel/exit.c:do_wait() -> wait_task_zombie()

    Sleep until ``child``'s whole group has exited, then release it. Returns its pid, or
    -ECHILD when it is not our child.
    """
    if child not in parent.children:
        return -errno.ECHILD
    yield wait_event(
        "wait4", lambda: child.exit_state == EXIT_ZOMBIE and thread_group_empty(child)
    )
    pid = child.pid
    release_task(child)
    return pid

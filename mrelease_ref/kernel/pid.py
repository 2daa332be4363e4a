"""Pids, pid lookup, and pidfds: ``pidfd_open()`` and ``pidfd_get_task()``.

Kernel: kernel/pid.c, include/uapi/linux/pidfd.h, fs/pidfs.c

A pidfd refers to a ``struct pid``, not to a task. ``pidfd_get_task()`` resolves it to the
thread-group leader (PIDTYPE_TGID) every time, so a PIDFD_THREAD pidfd of a non-leader
thread finds no task (ESRCH), and a process that has been waited for (its pid detached)
gives ESRCH too (docs/sources.md §M3.1, §M3.2).

Limitations:
- Pid namespaces other than the initial one can be created; numbers passed to syscalls
  are always root-namespace numbers (``Pid.numbers`` holds the others).
- pidfds have no poll/wait semantics here; use the Process API to wait.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING, Final

from mrelease_ref.include.linux.fs import File
from mrelease_ref.include.linux.sched import (
    PIDTYPE_PID,
    PIDTYPE_TGID,
    Pid,
    PidNamespace,
    TaskStruct,
)

if TYPE_CHECKING:
    from mrelease_ref.sim.kernel import Kernel

PIDFD_NONBLOCK: Final = os.O_NONBLOCK
PIDFD_THREAD: Final = os.O_EXCL
# include/uapi/linux/pidfd.h, as accepted by 6.18 (docs/sources.md §M1.1)
PIDFD_SELF_THREAD: Final = -10000
PIDFD_SELF_THREAD_GROUP: Final = -10001


def alloc_pid(kernel: Kernel, ns: PidNamespace) -> Pid:
    """Kernel: kernel/pid.c:alloc_pid(): the next number at every level up to the root."""
    numbers: list[tuple[PidNamespace, int]] = []
    level_ns: PidNamespace | None = ns
    chain: list[PidNamespace] = []
    while level_ns is not None:
        chain.append(level_ns)
        level_ns = level_ns.parent
    for n in reversed(chain):
        n.last_pid += 1
        numbers.append((n, n.last_pid))
    pid = Pid(numbers)
    kernel.pid_hash[pid.nr] = pid
    return pid


def ns_of_pid(pid: Pid) -> PidNamespace:
    """Kernel: include/linux/pid.h:ns_of_pid(): the namespace the pid was allocated in."""
    return pid.numbers[-1][0]


def task_active_pid_ns(tsk: TaskStruct) -> PidNamespace:
    """Kernel: kernel/pid.c:task_active_pid_ns(): the namespace of the task's own pid."""
    return ns_of_pid(tsk.thread_pid)


def pid_nr_ns(pid: Pid, ns: PidNamespace) -> int:
    """Kernel: kernel/pid.c:pid_nr_ns(): the number ``pid`` has in ``ns``; 0 if none."""
    if ns.level < len(pid.numbers) and pid.numbers[ns.level][0] is ns:
        return pid.numbers[ns.level][1]
    return 0


def is_child_reaper(pid: Pid) -> bool:
    """Kernel: include/linux/pid.h:is_child_reaper(): number 1 in its own namespace."""
    return pid.numbers[-1][1] == 1


def find_vpid(kernel: Kernel, nr: int) -> Pid | None:
    """Kernel: kernel/pid.c:find_vpid() (numbers are root-namespace numbers in the model)"""
    return kernel.pid_hash.get(nr)


def find_get_pid(kernel: Kernel, nr: int) -> Pid | None:
    """Kernel: kernel/pid.c:find_get_pid()"""
    pid = find_vpid(kernel, nr)
    if pid is not None:
        pid.count += 1
    return pid


def put_pid(pid: Pid) -> None:
    """Kernel: kernel/pid.c:put_pid()"""
    pid.count -= 1


def pid_task(pid: Pid, type: int) -> TaskStruct | None:
    """Kernel: kernel/pid.c:pid_task(): the first task attached with ``type``."""
    tasks = pid.tasks.get(type)
    return tasks[0] if tasks else None


def get_pid_task(pid: Pid, type: int) -> TaskStruct | None:
    """Kernel: kernel/pid.c:get_pid_task() (takes a task reference)"""
    task = pid_task(pid, type)
    if task is not None:
        task.usage += 1
    return task


def put_task_struct(t: TaskStruct) -> None:
    """Kernel: include/linux/sched/task.h:put_task_struct()

    The last reference frees the task, which drops its hold on the signal struct
    (``__put_task_struct()`` -> ``put_signal_struct()``).
    """
    t.usage -= 1
    if t.usage == 0:
        from mrelease_ref.kernel.exit import put_signal_struct

        put_signal_struct(t.signal)
        t.kernel.series.free_task(t)


def task_tgid(task: TaskStruct) -> Pid:
    """Kernel: include/linux/sched/signal.h:task_tgid(): the thread group's pid."""
    leader = task.group_leader or task
    return leader.thread_pid


def pid_has_task(pid: Pid, type: int) -> bool:
    """Kernel: include/linux/pid.h:pid_has_task()"""
    return bool(pid.tasks.get(type))


def attach_pid(task: TaskStruct, type: int, pid: Pid) -> None:
    """Kernel: kernel/pid.c:attach_pid()"""
    pid.tasks.setdefault(type, []).append(task)


def detach_pid(task: TaskStruct, type: int, pid: Pid) -> None:
    """Kernel: kernel/pid.c:detach_pid(): once no task uses the pid, its number is freed."""
    tasks = pid.tasks.get(type, [])
    if task in tasks:
        tasks.remove(task)
    if not any(pid.tasks.values()):
        task.kernel.pid_hash.pop(pid.nr, None)


def get_unused_fd(current: TaskStruct) -> int:
    """Kernel: fs/file.c:get_unused_fd_flags(): the lowest free descriptor."""
    assert current.files is not None
    fd = 0
    while fd in current.files.fdt:
        fd += 1
    return fd


def pidfd_create(current: TaskStruct, pid: Pid, flags: int) -> int:
    """Kernel: kernel/pid.c:pidfd_create(): install a pidfs file referring to ``pid``."""
    assert current.files is not None
    fd = get_unused_fd(current)
    pid.count += 1
    current.files.fdt[fd] = File("pidfs", None, private_data=pid, f_flags=flags)
    return fd


def sys_pidfd_open(current: TaskStruct, pid_nr: int, flags: int) -> int:
    """Kernel: kernel/pid.c:SYSCALL_DEFINE2(pidfd_open)

    Returns a file descriptor, or ``-errno``: EINVAL for unknown flags or ``pid <= 0``,
    ESRCH when no such pid exists, ENOENT for a non-leader without PIDFD_THREAD.
    """
    if flags & ~(PIDFD_NONBLOCK | PIDFD_THREAD):
        return -errno.EINVAL
    if pid_nr <= 0:
        return -errno.EINVAL
    pid = find_get_pid(current.kernel, pid_nr)
    if pid is None:
        return -errno.ESRCH
    try:
        if not pid_has_task(pid, PIDTYPE_PID):
            return -errno.ESRCH
        if not flags & PIDFD_THREAD and not pid_has_task(pid, PIDTYPE_TGID):
            return -errno.ENOENT
        return pidfd_create(current, pid, flags)
    finally:
        put_pid(pid)


def pidfd_pid(file: File) -> Pid | int:
    """Kernel: fs/pidfs.c:pidfd_pid(): -EBADF unless the file is a pidfd."""
    if file.f_op != "pidfs" or file.private_data is None:
        return -errno.EBADF
    return file.private_data


def pidfd_get_pid(current: TaskStruct, fd: int) -> tuple[Pid, int] | int:
    """Kernel: kernel/pid.c:pidfd_get_pid(): the pid and the file's flags, or -EBADF."""
    files = current.files
    file = files.fdt.get(fd) if files is not None and fd >= 0 else None
    if file is None:
        return -errno.EBADF
    pid = pidfd_pid(file)
    if isinstance(pid, int):
        return pid
    pid.count += 1
    return pid, file.f_flags


def pidfd_get_task(current: TaskStruct, pidfd: int) -> tuple[TaskStruct, int] | int:
    """Kernel: kernel/pid.c:pidfd_get_task()

    Resolve a pidfd (or a PIDFD_SELF_* sentinel) to a referenced task and the pidfd's
    flags. PIDFD_THREAD is ignored: the lookup is by thread group.
    """
    if pidfd == PIDFD_SELF_THREAD:
        pid, ptype, f_flags = current.thread_pid, PIDTYPE_PID, 0
        pid.count += 1
    elif pidfd == PIDFD_SELF_THREAD_GROUP:
        leader = current.group_leader or current
        pid, ptype, f_flags = leader.thread_pid, PIDTYPE_TGID, 0
        pid.count += 1
    else:
        got = pidfd_get_pid(current, pidfd)
        if isinstance(got, int):
            return got
        pid, f_flags = got
        ptype = PIDTYPE_TGID
    task = get_pid_task(pid, ptype)
    put_pid(pid)
    if task is None:
        return -errno.ESRCH
    return task, f_flags

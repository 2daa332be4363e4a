"""Who may look into another process's memory.

Kernel: kernel/ptrace.c (__ptrace_may_access(), ptrace_may_access())

``/proc/<pid>/mem`` is opened with PTRACE_MODE_ATTACH (``mm_access()``): allowed inside the
same thread group, to a caller with the target's uid, or with CAP_SYS_PTRACE.

Limitations:
- One uid per credential (no euid/suid/fsuid split) and no user namespaces.
- Every mm is dumpable (SUID_DUMP_USER): no setuid programs, no PR_SET_DUMPABLE.
- No LSM hook (``security_ptrace_access_check()``): these machines run no Yama.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from mrelease_ref.include.linux.sched import TaskStruct

# include/linux/ptrace.h
PTRACE_MODE_READ: Final = 0x01
PTRACE_MODE_ATTACH: Final = 0x02
PTRACE_MODE_FSCREDS: Final = 0x08


def __ptrace_may_access(task: TaskStruct, mode: int, current: TaskStruct) -> int:
    """Kernel: kernel/ptrace.c:__ptrace_may_access(): 0 or -EPERM."""
    if task.tgid == current.tgid:  # same_thread_group()
        return 0
    if task.cred.uid == current.cred.uid:  # uid_eq() on every id the mode compares
        return 0
    if "CAP_SYS_PTRACE" in current.cred.caps:  # ptrace_has_cap()
        return 0
    return -errno.EPERM


def ptrace_may_access(task: TaskStruct, mode: int, current: TaskStruct) -> bool:
    """Kernel: kernel/ptrace.c:ptrace_may_access()"""
    return __ptrace_may_access(task, mode, current) == 0

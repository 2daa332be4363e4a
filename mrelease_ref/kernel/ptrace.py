"""Who may inspect another process: the access check behind ``/proc/<pid>/mem``.

Kernel: kernel/ptrace.c (ptrace_may_access(), __ptrace_may_access(), ptrace_has_cap()),
include/linux/ptrace.h (PTRACE_MODE_*)

A caller may inspect a task of its own thread group, a task whose uids all equal its own
(fsuid for the ``_FSCREDS`` modes /proc uses), or any task with CAP_SYS_PTRACE.
``/proc/<pid>/mem`` is opened with PTRACE_MODE_ATTACH, ``environ`` with PTRACE_MODE_READ
(``mm_access()``).

Limitations:
- One uid per task and no gids (the model's credentials); no user namespaces, so
  ``ptrace_has_cap()`` is CAP_SYS_PTRACE itself.
- No dumpability (``get_dumpable()``: every mm is SUID_DUMP_USER) and no LSM (Yama's
  ``ptrace_scope`` is not set on these machines: ``/proc/sys/kernel/yama`` does not exist).
"""

from __future__ import annotations

import errno
from typing import Final

from mrelease_ref.include.linux.sched import TaskStruct, same_thread_group

PTRACE_MODE_READ: Final = 0x01
PTRACE_MODE_ATTACH: Final = 0x02
PTRACE_MODE_FSCREDS: Final = 0x08
PTRACE_MODE_REALCREDS: Final = 0x10
PTRACE_MODE_READ_FSCREDS: Final = PTRACE_MODE_READ | PTRACE_MODE_FSCREDS
PTRACE_MODE_ATTACH_FSCREDS: Final = PTRACE_MODE_ATTACH | PTRACE_MODE_FSCREDS


def ptrace_has_cap(current: TaskStruct, mode: int) -> bool:
    """Kernel: kernel/ptrace.c:ptrace_has_cap(): CAP_SYS_PTRACE (no user namespaces)."""
    return "CAP_SYS_PTRACE" in current.cred.caps


def __ptrace_may_access(task: TaskStruct, mode: int, current: TaskStruct) -> int:
    """Kernel: kernel/ptrace.c:__ptrace_may_access(): 0 or -EPERM (``current`` is the
    kernel's implicit ``current``)."""
    if same_thread_group(task, current):
        return 0
    if current.cred.uid == task.cred.uid:  # uid_eq() on every id the mode compares
        return 0
    if ptrace_has_cap(current, mode):
        return 0
    return -errno.EPERM


def ptrace_may_access(task: TaskStruct, mode: int, current: TaskStruct) -> bool:
    """Kernel: kernel/ptrace.c:ptrace_may_access()"""
    return __ptrace_may_access(task, mode, current) == 0


__all__ = [
    "PTRACE_MODE_ATTACH",
    "PTRACE_MODE_ATTACH_FSCREDS",
    "PTRACE_MODE_FSCREDS",
    "PTRACE_MODE_READ",
    "PTRACE_MODE_READ_FSCREDS",
    "__ptrace_may_access",
    "ptrace_has_cap",
    "ptrace_may_access",
]

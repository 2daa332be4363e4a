"""RFC 3/3: a SIGKILL with si_code ``KILL_MRELEASE`` marks the victim's mm MMF_UNSTABLE.

Kernel: include/uapi/asm-generic/siginfo.h and kernel/signal.c as patched by
<20260413223948.556351-4-minchan@kernel.org> (RFC 3/3). The siginfo.h hunk was retrieved
(``KILL_MRELEASE`` = 1, ``NSIGKILL`` = 1); the 4 lines of kernel/signal.c were not: [I] the
model sets MMF_UNSTABLE when such a signal is queued, which is what the commit message
promises ("before either the victim's own exit path or the reaper runs", so the victim's
own teardown is optimised too).

[I] A positive ``si_code`` makes the signal look kernel-originated (``SI_FROMUSER()`` is
``si_code <= 0``), so sent through ``kill_pid_info()`` it would skip
``check_kill_permission()``: the model sends it that way, without a permission check.
v1 dropped the custom code for a plain ``kill_pid(..., 0)``.

Limitations:
- [I] Everything about the send path beyond the two constants is inferred.
"""

from __future__ import annotations

import errno
from typing import Final

from mrelease_ref.include.linux.mm_types import MMF_UNSTABLE, mm_flags_set
from mrelease_ref.include.linux.sched import PIDTYPE_PID, PIDTYPE_TGID, TaskStruct, sigmask
from mrelease_ref.kernel.pid import pid_task, task_tgid
from mrelease_ref.kernel.signal import SIGKILL, complete_signal, prepare_signal

KILL_MRELEASE: Final = 1
NSIGKILL: Final = 1


def __send_signal_locked(sig: int, si_code: int, t: TaskStruct, type: int, force: bool) -> int:
    """Kernel: kernel/signal.c:__send_signal_locked() (RFC 3/3, [I] the KILL_MRELEASE test)"""
    from mrelease_ref.mm.oom_kill import find_lock_task_mm

    k = t.kernel
    if k.tracing:
        k.trace_event("signal_generate", f"sig={sig} code={si_code} pid={t.pid} comm={t.comm}")
    if not prepare_signal(sig, t, force):
        return 0
    if sig == SIGKILL and si_code == KILL_MRELEASE:
        p = find_lock_task_mm(t)
        if p is not None and p.mm is not None:
            mm_flags_set(MMF_UNSTABLE, p.mm)
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


def kill_mrelease(task: TaskStruct) -> int:
    """Model helper ([I]): ``kill_pid_info(SIGKILL, &info, task_tgid(task))`` with
    ``info.si_code = KILL_MRELEASE`` -- kernel-originated, so no permission check."""
    p = pid_task(task_tgid(task), PIDTYPE_PID)  # kill_pid_info_type()'s lookup
    if p is None:
        return -errno.ESRCH
    return __send_signal_locked(SIGKILL, KILL_MRELEASE, p, PIDTYPE_TGID, force=False)

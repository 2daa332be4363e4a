"""REAP_KILL v3: ``do_pidfd_send_signal_pidns()``, a pid-namespace-checked pidfd signal.

Kernel: kernel/signal.c as patched by <20260511214226.937793-1-minchan@kernel.org> (v3);
``pidfd_send_signal()`` is refactored to call the new helper (no behaviour change there);
``access_pidfd_pidns()`` is the baseline's (kernel/signal.py).

Limitations:
- ``info`` is always NULL here (a user-style SIGKILL); siginfo contents are not modelled.
"""

from __future__ import annotations

import errno

from mrelease_ref.include.linux.sched import Pid, TaskStruct
from mrelease_ref.kernel.signal import access_pidfd_pidns, do_pidfd_send_signal


def do_pidfd_send_signal_pidns(
    pid: Pid, sig: int, type: int, info: None, flags: int, current: TaskStruct
) -> int:
    """Kernel: kernel/signal.c:do_pidfd_send_signal_pidns() (new in v3)

    -EINVAL outside the caller's pid-namespace hierarchy, else ``do_pidfd_send_signal()``:
    a user-originated signal, permission-checked against ``current``.
    """
    if not access_pidfd_pidns(pid, current):
        return -errno.EINVAL
    return do_pidfd_send_signal(pid, sig, type, flags, current)

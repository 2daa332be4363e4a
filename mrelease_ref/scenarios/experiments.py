"""Small experiments the notebooks run, as functions (not kernel code).

Limitations:
- Each experiment builds its own Kernel with the defaults unless told otherwise.
"""

from __future__ import annotations

import errno
import os
import signal

from mrelease_ref.scenarios.victims import OVERVIEW_VICTIM, VictimSpec, build_victim
from mrelease_ref.sim.kernel import Kernel


def dontneed_after_kill(
    reap: bool, spec: VictimSpec = OVERVIEW_VICTIM, file_key: str = "file-private-1"
) -> dict[str, int]:
    """Kill a frozen victim, optionally ``process_mrelease()`` it, then fadvise DONTNEED the
    file behind ``file_key``. Returns the cached pages before and after the fadvise."""
    k = Kernel(seed=0, debug_vm=True)
    killer = k.spawn("lmkd", uid=0)
    v = build_victim(k, spec)
    f = v.files[file_key]
    pidfd = killer.pidfd_open(v.process.pid)
    v.process.freeze()
    killer.kill(v.process.pid, signal.SIGKILL)
    if reap:
        killer.process_mrelease(pidfd, 0)
    cached = k.cachestat(f).nr_cache
    fd = killer.open(f)
    killer.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    return {"cached before fadvise": cached, "cached after fadvise": k.cachestat(f).nr_cache}


def signal_then_mrelease() -> list[dict[str, str]]:
    """Which signals make a frozen victim reapable: send each one (default action, caught,
    blocked) to a victim frozen while it waited in ``nanosleep()`` or in ``pause()``, then
    ``process_mrelease(pidfd, 0)`` at once, before the victim runs.

    Rule: ``complete_signal()`` sets SIGNAL_GROUP_EXIT in the *sender* for a fatal signal
    whose action is the default kill and that is not blocked, unless it dumps core (v6.18
    kernel/signal.c; docs/sources.md §K1.3), and that is what ``task_will_free_mem()``
    tests. It gets there only if ``wants_signal()`` accepts a thread: SIGKILL always, any
    other signal not when the thread already has TIF_SIGPENDING and is not running. A task
    frozen in place (``nanosleep()``, a TASK_FREEZABLE sleep) has no TIF_SIGPENDING; one
    frozen through the freezer's fake signal (``pause()``) has it set
    (kernel/freezer.c:freeze_task()). A caught or blocked signal, one that dumps core, or a
    SIGTERM to a victim frozen in ``pause()`` leaves the victim "not dying": EINVAL. The
    live kernel agrees (parity scenarios ``frozen-*-sigterm``).
    """
    rows: list[dict[str, str]] = []
    cases: tuple[tuple[str, int, str], ...] = (
        ("SIGKILL", signal.SIGKILL, "default"),
        ("SIGTERM", signal.SIGTERM, "default"),
        ("SIGTERM", signal.SIGTERM, "caught"),
        ("SIGTERM", signal.SIGTERM, "blocked"),
        ("SIGSEGV", signal.SIGSEGV, "default (dumps core)"),
    )
    for sleep in ("nanosleep", "pause"):
        for name, sig, how in cases:
            rows.append(_signal_then_mrelease_one(sleep, name, sig, how))
    return rows


def _signal_then_mrelease_one(sleep: str, name: str, sig: int, how: str) -> dict[str, str]:
    k = Kernel(seed=0, debug_vm=True)
    killer = k.spawn("lmkd", uid=0)
    v = k.spawn("app", uid=10001)
    v.touch(v.mmap(64), write=True)
    if how == "caught":
        v.sigaction(sig, lambda _sig: None)
    elif how == "blocked":
        v.sigprocmask(signal.SIG_BLOCK, [sig])
    v.sleep(sleep)
    pidfd = killer.pidfd_open(v.pid)
    v.freeze()
    killer.kill(v.pid, sig)
    try:
        killer.process_mrelease(pidfd, 0)
        ret = "0"
    except OSError as e:
        ret = errno.errorcode[e.errno or 0]
    return {"frozen in": sleep, "signal": name, "action": how, "process_mrelease": ret,
            "RssAnon kB after": str(v.status()["RssAnon"])}

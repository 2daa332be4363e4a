"""Core dumps, as far as they hold a dying process's memory in place.

Kernel: fs/coredump.c (vfs_coredump(), coredump_wait(), zap_threads(), zap_process(),
coredump_finish()), kernel/exit.c (coredump_task_exit())

While a core dump runs, ``signal->core_state`` is set, so ``task_will_free_mem()`` says the
task will *not* free its memory soon and ``process_mrelease()`` refuses with EINVAL. The
other threads park in ``coredump_task_exit()`` with their mm until the dump finishes.

The dump itself lasts one step, unless ``Kernel.hold_coredumps`` is set: then the dumper
waits (as if writing to a stalled core pipe) until it is cleared or a SIGKILL arrives
(``dump_interrupted()`` checks ``fatal_signal_pending()``).

Limitations:
- Nothing is written; the dump's size and duration are not modelled.
"""

from __future__ import annotations

from mrelease_ref.include.linux.sched import (
    PF_POSTCOREDUMP,
    SIGNAL_GROUP_EXIT,
    CoreState,
    TaskStruct,
    for_each_thread,
    sigmask,
)
from mrelease_ref.kernel.sched import KernelGen, cond_resched, wait_event


def zap_process(tsk: TaskStruct, exit_code: int) -> int:
    """Kernel: fs/coredump.c:zap_process(): start the group exit, kill the other threads."""
    from mrelease_ref.kernel.signal import SIGKILL, signal_wake_up

    signal = tsk.signal
    signal.flags = SIGNAL_GROUP_EXIT
    signal.group_exit_code = exit_code
    signal.group_stop_count = 0
    nr = 0
    for t in for_each_thread(tsk):
        if t is not tsk and not t.flags & PF_POSTCOREDUMP:
            t.pending |= sigmask(SIGKILL)
            signal_wake_up(t, True)
            nr += 1
    return nr


def zap_threads(tsk: TaskStruct, core_state: CoreState, exit_code: int) -> int:
    """Kernel: fs/coredump.c:zap_threads()"""
    if tsk.signal.flags & SIGNAL_GROUP_EXIT:
        return -1
    tsk.signal.core_state = core_state
    return zap_process(tsk, exit_code)


def coredump_finish(tsk: TaskStruct) -> None:
    """Kernel: fs/coredump.c:coredump_finish(): clear core_state, release parked threads."""
    tsk.signal.core_state = None
    for t in for_each_thread(tsk):
        t.flags |= PF_POSTCOREDUMP


def vfs_coredump(tsk: TaskStruct, signr: int) -> KernelGen[None]:
    """Kernel: fs/coredump.c:vfs_coredump()"""
    from mrelease_ref.kernel.signal import fatal_signal_pending

    k = tsk.kernel
    core_state = CoreState(dumper=tsk)
    if zap_threads(tsk, core_state, signr) < 0:
        return
    if k.tracing:
        k.trace_event("coredump", f"pid={tsk.pid} sig={signr}")
    yield cond_resched("vfs_coredump:dumping")
    if k.hold_coredumps:
        # dump_interrupted(): a SIGKILL queued during the dump (prepare_signal() lets it
        # through while core_state is set) ends the write early.
        yield wait_event(
            "core pipe", lambda: not k.hold_coredumps or fatal_signal_pending(tsk)
        )
    coredump_finish(tsk)


def coredump_task_exit(tsk: TaskStruct) -> KernelGen[None]:
    """Kernel: kernel/exit.c:coredump_task_exit(): wait here, mm attached, during a dump."""
    core_state = tsk.signal.core_state
    if core_state is None or core_state.dumper is tsk:
        return
    yield wait_event("coredump_task_exit", lambda: tsk.signal.core_state is None)

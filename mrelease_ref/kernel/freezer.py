"""The freezer: how a task is frozen, and what a signal does to a frozen task.

Kernel: kernel/freezer.c, include/linux/freezer.h (v6.18)

``freeze_task()`` freezes a task in one of two ways, chosen by what the task is doing:

* **In place.** A task asleep in a sleep marked TASK_FREEZABLE (``nanosleep()``,
  ``futex()`` waits, ``sigtimedwait()``, the vfork parent's wait) or stopped is switched to
  TASK_FROZEN directly by ``__set_task_frozen()``, which keeps the sleep it was in as
  ``saved_state``. Its TIF_SIGPENDING is untouched.
* **Through the signal path.** Any other task (asleep in ``pause()``, ``sigsuspend()``,
  ``poll()``/``select()``/``epoll_wait()``, or running) gets a fake signal wake-up
  (``fake_signal_wake_up()``: TIF_SIGPENDING set, task woken), runs into ``get_signal()``,
  and freezes in ``try_to_freeze()`` -> ``__refrigerator()`` with ``saved_state``
  TASK_RUNNING and TIF_SIGPENDING still set.

Why it matters for ``process_mrelease()``: a signal sent to a frozen task never wakes it
(``wake_up_state()`` only records a match against ``saved_state``), but whether the sender
starts the group exit depends on ``wants_signal()``, which says no to a task that is not
on a CPU and already has TIF_SIGPENDING. SIGKILL always passes (``wants_signal()`` takes it
first), so a frozen, SIGKILLed task is dying either way. A default-action SIGTERM starts the
group exit only for a task frozen in place; one frozen through the signal path keeps it
queued, is not dying, and ``process_mrelease()`` gives EINVAL (both measured on the 6.18
machines, parity scenarios ``frozen-*``).

Thawing (``__thaw_task()``) puts a task frozen in place back to sleep (its saved state is
restored) unless a wake-up matched that sleep meanwhile; a task in the refrigerator, or one
whose sleep was matched, is woken and goes on to deliver its signals. ``thaw_process()``
thaws every thread of a process (``mark_oom_victim()`` uses it); an OOM victim is never
``freezing()`` again.

Limitations:
- Only the cgroup-v1 freezer makes a task freezing (no system suspend, no cgroup-v2
  freezer with its JOBCTL_TRAP_FREEZE path).
- A task already in the middle of kernel work (a model generator other than its user-space
  sleep) is frozen where it is, at once, as if its wait were freezable; the model does not
  record which kernel waits are TASK_FREEZABLE.
- No timers for user-space sleeps: a ``nanosleep()`` never expires.
"""

from __future__ import annotations

from mrelease_ref.include.linux.sched import (
    __TASK_STOPPED,
    __TASK_TRACED,
    PF_KTHREAD,
    TASK_FREEZABLE,
    TASK_FROZEN,
    TASK_INTERRUPTIBLE,
    TASK_RUNNING,
    TASK_STOPPED,
    TaskStruct,
    for_each_thread,
)
from mrelease_ref.kernel.sched import KernelGen, task_curr, wait_event, wake_up_state


def tsk_is_oom_victim(tsk: TaskStruct) -> bool:
    """Kernel: include/linux/oom.h:tsk_is_oom_victim(): ``signal->oom_mm`` is set."""
    return tsk.signal.oom_mm is not None


def freezing_slow_path(p: TaskStruct) -> bool:
    """Kernel: kernel/freezer.c:freezing_slow_path()

    Kernel threads carry PF_NOFREEZE in the model; an OOM victim is never freezing; else a
    task in a freezing cgroup is.
    """
    from mrelease_ref.kernel.cgroup.legacy_freezer import cgroup_freezing

    if p.flags & PF_KTHREAD:  # PF_NOFREEZE
        return False
    if tsk_is_oom_victim(p):
        return False
    return cgroup_freezing(p)


def freezing(p: TaskStruct) -> bool:
    """Kernel: include/linux/freezer.h:freezing()"""
    return freezing_slow_path(p)


def frozen(p: TaskStruct) -> bool:
    """Kernel: kernel/freezer.c:frozen(): ``__state`` is TASK_FROZEN."""
    return p.frozen


def task_state(p: TaskStruct) -> int:
    """Model helper: ``p->__state`` as the model knows it.

    TASK_FROZEN when frozen; a task in kernel work counts as freezable (see the module
    limitations) or running; otherwise the sleep its user space waits in (TASK_STOPPED
    while stopped).
    """
    if p.frozen:
        return TASK_FROZEN
    if p.work is not None:
        w = p.waiting
        return TASK_RUNNING if w is None or w.cond() else TASK_FREEZABLE
    if p.stopped:
        return TASK_STOPPED
    return p.sleep_state


def task_is_runnable(p: TaskStruct) -> bool:
    """Kernel: include/linux/sched.h:task_is_runnable()"""
    return task_state(p) == TASK_RUNNING


def __refrigerator(current: TaskStruct) -> KernelGen[bool]:
    """Kernel: kernel/freezer.c:__refrigerator()

    Set TASK_FROZEN (``saved_state`` TASK_RUNNING, so ``__thaw_task()`` wakes us), sleep
    until woken, and leave once the task is no longer ``freezing()``.
    """
    was_frozen = False
    while True:
        current.frozen = True
        current.saved_state = TASK_RUNNING
        if not freezing(current):
            break
        was_frozen = True
        yield wait_event("__refrigerator", lambda: not current.frozen)
    current.frozen = False  # __set_current_state(TASK_RUNNING)
    return was_frozen


def try_to_freeze(current: TaskStruct) -> KernelGen[bool]:
    """Kernel: include/linux/freezer.h:try_to_freeze()"""
    if not freezing(current):
        return False
    return (yield from __refrigerator(current))


def fake_signal_wake_up(p: TaskStruct) -> None:
    """Kernel: kernel/freezer.c:fake_signal_wake_up(): TIF_SIGPENDING, no signal."""
    from mrelease_ref.kernel.signal import signal_wake_up

    if p.exit_state or p.dead:  # lock_task_sighand() fails once the task is released
        return
    signal_wake_up(p, False)


def __set_task_frozen(p: TaskStruct) -> int:
    """Kernel: kernel/freezer.c:__set_task_frozen()

    Freeze a task in place if it sleeps in a TASK_FREEZABLE sleep or is stopped: its state
    goes to ``saved_state``. A runnable or running task is left alone (returns 0).
    """
    if p.work is not None and not p.frozen:
        # model: a task inside kernel work is frozen where it is (module limitations)
        p.saved_state = TASK_RUNNING
        p.frozen = True
        return TASK_FROZEN
    state = task_state(p)
    if task_is_runnable(p):
        return 0
    if p.kernel.current is not p and task_curr(p):
        return 0
    if not state & (TASK_FREEZABLE | __TASK_STOPPED | __TASK_TRACED):
        return 0
    p.saved_state = state
    p.frozen = True
    return TASK_FROZEN


def __freeze_task(p: TaskStruct) -> bool:
    """Kernel: kernel/freezer.c:__freeze_task(): TASK_FREEZABLE|TASK_STOPPED -> TASK_FROZEN."""
    return bool(__set_task_frozen(p))


def freeze_task(p: TaskStruct) -> bool:
    """Kernel: kernel/freezer.c:freeze_task()

    False if ``p`` is not freezing, already frozen, or was frozen in place; otherwise send
    the fake signal (a user task) and return True: the task freezes when it next runs.
    """
    if not freezing(p) or frozen(p) or __freeze_task(p):
        return False
    if not p.flags & PF_KTHREAD:
        fake_signal_wake_up(p)
    return True


def __restore_freezer_state(p: TaskStruct) -> int:
    """Kernel: kernel/freezer.c:__restore_freezer_state(): back to the saved sleep."""
    state = p.saved_state
    if state != TASK_RUNNING:
        p.frozen = False  # WRITE_ONCE(p->__state, state)
        p.saved_state = TASK_RUNNING
        return 1
    return 0


def __thaw_task(p: TaskStruct) -> None:
    """Kernel: kernel/freezer.c:__thaw_task()

    Restore the saved sleep if there is one; otherwise wake the task (TASK_FROZEN).
    """
    if frozen(p) and not __restore_freezer_state(p):
        wake_up_state(p, TASK_FROZEN)


def thaw_process(p: TaskStruct) -> None:
    """Kernel: kernel/freezer.c:thaw_process(): ``__thaw_task()`` on every thread."""
    for t in for_each_thread(p):
        __thaw_task(t)


__all__ = [
    "USER_SLEEPS",
    "__refrigerator",
    "__set_task_frozen",
    "__thaw_task",
    "fake_signal_wake_up",
    "freeze_task",
    "freezing",
    "frozen",
    "task_is_runnable",
    "task_state",
    "thaw_process",
    "try_to_freeze",
    "tsk_is_oom_victim",
]


USER_SLEEPS: dict[str, int] = {
    "nanosleep": TASK_INTERRUPTIBLE | TASK_FREEZABLE,  # kernel/time/hrtimer.c:do_nanosleep()
    "futex": TASK_INTERRUPTIBLE | TASK_FREEZABLE,  # kernel/futex/waitwake.c:futex_wait_queue()
    "sigtimedwait": TASK_INTERRUPTIBLE | TASK_FREEZABLE,  # kernel/signal.c:do_sigtimedwait()
    "pause": TASK_INTERRUPTIBLE,  # kernel/signal.c:SYSCALL_DEFINE0(pause)
    "sigsuspend": TASK_INTERRUPTIBLE,  # kernel/signal.c:sigsuspend()
    "poll": TASK_INTERRUPTIBLE,  # fs/select.c:poll_schedule_timeout() (select() too)
    "select": TASK_INTERRUPTIBLE,  # fs/select.c:poll_schedule_timeout()
    "epoll_wait": TASK_INTERRUPTIBLE,  # fs/eventpoll.c:ep_poll()
    "busy": TASK_RUNNING,  # computing in user space
}
"""What a task's user space may wait in, and the ``__state`` that wait sleeps in on v6.18
(TASK_FREEZABLE or not). The first three freeze in place; the others through the signal
path. (Not a kernel table: collected from the functions named.)"""

"""How model code sleeps and yields the CPU.

Kernel: kernel/sched/core.c (schedule()), include/linux/sched.h (cond_resched()),
include/linux/wait.h

Model functions that may sleep in the kernel are Python generators. They ``yield`` one of two
markers and the scheduler in :mod:`mrelease_ref.sim.sched` decides what runs next:

* :class:`Resched` marks a preemption point (``cond_resched()``). The task stays runnable;
  another task may run before it resumes. Each one is a step the race explorer can reorder.
* :class:`Wait` puts the task to sleep until ``cond()`` is true (``wait_event()``), for
  example while another task holds ``mmap_lock`` for write.

Functions that never sleep stay ordinary functions. Reading a signature therefore tells you
whether the kernel function can sleep: ``Generator`` return type means ``might_sleep()``.

Limitations:
- No priorities, no CPU affinity, no preemption inside a step: a step between two yields is
  atomic, as if it ran with preemption disabled.
- ``wake_up_state()`` distinguishes sleep states only for frozen tasks (``saved_state``);
  a task that is not frozen is woken by any wake-up, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias, TypeVar

if TYPE_CHECKING:
    from mrelease_ref.include.linux.sched import TaskStruct

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Resched:
    """A preemption point. ``label`` names the kernel location for traces."""

    label: str


@dataclass(frozen=True, slots=True)
class Wait:
    """Sleep until ``cond()`` returns true. ``label`` names what the task waits for.

    ``deadline_ns`` marks a timed sleep: when nothing else can run, the scheduler moves the
    clock forward to the earliest deadline.
    """

    label: str
    cond: Callable[[], bool] = field(repr=False)
    deadline_ns: int | None = None


KernelGen: TypeAlias = Generator[Resched | Wait, None, T]
"""Return type of a model function that may sleep; ``T`` is the kernel function's result."""


def cond_resched(label: str) -> Resched:
    """Kernel: include/linux/sched.h:cond_resched()

    Use as ``yield cond_resched("zap_pmd_range")``.
    """
    return Resched(label)


def wait_event(label: str, cond: Callable[[], bool]) -> Wait:
    """Kernel: include/linux/wait.h:wait_event()

    Use as ``yield wait_event("mmap_lock", lambda: ...)``.
    """
    return Wait(label, cond)


def schedule_timeout(label: str, now_ns: int, timeout_ns: int, clock: Callable[[], int]) -> Wait:
    """Kernel: kernel/time/sleep_timeout.c:schedule_timeout()

    Use as ``yield schedule_timeout("oom_reaper", k.clock_ns, HZ // 10, lambda: k.clock_ns)``.
    """
    deadline = now_ns + timeout_ns
    return Wait(label, lambda: clock() >= deadline, deadline)


def run_to_completion(gen: KernelGen[T]) -> T:
    """Model helper: drive a generator that is known not to block.

    Raises RuntimeError if the generator waits on a condition that is false: that would be a
    deadlock in a context that cannot sleep.
    """
    try:
        marker = next(gen)
        while True:
            if isinstance(marker, Wait) and not marker.cond():
                raise RuntimeError(f"would sleep on {marker.label} in a non-sleeping context")
            marker = gen.send(None)
    except StopIteration as stop:
        return stop.value


# --- wake-ups as the freezer and signals see them (kernel/sched/core.c) --------------------


def task_curr(p: TaskStruct) -> bool:
    """Kernel: kernel/sched/core.c:task_curr(): is ``p`` on a CPU right now?

    In the model: ``p`` is the task whose code is running, or it is busy in user space
    (``sleep_state`` TASK_RUNNING, no kernel work, neither frozen nor stopped).
    """
    from mrelease_ref.include.linux.sched import TASK_RUNNING

    if p.kernel.current is p:
        return True
    return (p.work is None and p.sleep_state == TASK_RUNNING and not p.frozen
            and not p.stopped and not p.exit_state)


def wake_up_state(p: TaskStruct, state: int) -> bool:
    """Kernel: kernel/sched/core.c:wake_up_state() -> try_to_wake_up(), ttwu_state_match()

    A frozen task (``__state`` TASK_FROZEN) is woken only by a TASK_FROZEN wake-up
    (``__thaw_task()``). Any other wake-up that matches the sleep it was frozen in
    (``saved_state``) does not wake it: it sets ``saved_state`` to TASK_RUNNING, so that
    the thaw wakes the task instead of putting it back to sleep. A task that is not frozen
    is made to run and deliver its pending signals, as the model always did.
    """
    from mrelease_ref.include.linux.sched import TASK_FROZEN, TASK_RUNNING

    if p.frozen:
        if state & TASK_FROZEN:
            p.frozen = False
            p.kernel.wake_signal(p)
            return True
        if p.saved_state & state:
            p.saved_state = TASK_RUNNING
            return True
        return False
    p.kernel.wake_signal(p)
    return True

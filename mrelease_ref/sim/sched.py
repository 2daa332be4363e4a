"""The scheduler: drive kernel generators step by step, deterministically (not kernel code).

A task with ``work`` (a generator) is runnable unless it is frozen or waiting on a false
condition. ``run_until_idle()`` runs runnable tasks round-robin in wake-up order, one step
(generator resumption) at a time; when none can run it fires due timers or moves the clock
to the next timed sleep. Each step is priced by the Kernel's cost model.

A system call made through the API runs on the caller's behalf with ``run_syscall()``: it
keeps the CPU until it finishes, and while it sleeps the other runnable tasks run. The
caller is deadlocked only when *no other* task can make progress (none runnable, no timer,
no timed sleep): a caller that also sits on the run queue (a pending signal) is never
picked to unblock itself, so a runnable lock holder further down the queue (the OOM reaper,
say) runs first. On a real deadlock the call's generator is closed, so no waiter is left
queued on a lock (:class:`~mrelease_ref.sim.kernel.Deadlock` is raised).

Limitations:
- No preemption inside a step, no priorities, no affinity; the order is FIFO by wake-up.
"""

from __future__ import annotations

import gc
import heapq
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from mrelease_ref.kernel.sched import KernelGen, Resched, Wait
from mrelease_ref.sim.kernel import Deadlock, StepRecord

if TYPE_CHECKING:
    from mrelease_ref.include.linux.sched import TaskStruct
    from mrelease_ref.sim.kernel import Kernel


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while model code runs.

    A reap allocates a few small tuples per page; every few hundred allocations CPython's
    collector would otherwise walk the millions of long-lived model objects (folios, PTEs),
    which costs more than the reap itself. Model garbage is acyclic, so reference counting
    frees it anyway; the collector resumes when the call returns.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _runnable(t: TaskStruct) -> bool:
    if t.work is None or t.frozen or t.dead:
        return False
    w = t.waiting
    return w is None or w.cond()


def pick_next(k: Kernel, exclude: TaskStruct | None = None) -> TaskStruct | None:
    """The first runnable task in wake-up order (other than ``exclude``)."""
    for t in k.runqueue:
        if t is not exclude and _runnable(t):
            return t
    return None


def _charge(k: Kernel, before: dict[str, int], t: TaskStruct, label: str) -> None:
    after = k.vm_events
    delta = {key: v - before.get(key, 0) for key, v in after.items() if v != before.get(key, 0)}
    cost = k.cost_model.price(delta)
    k.clock_ns += cost
    if k.tracing:
        k.steps.append(StepRecord(k.clock_ns, t.pid, t.comm, label, cost))


def _finish_work(k: Kernel, t: TaskStruct) -> None:
    """The task's kernel work returned: deliver pending signals, or go back to sleep."""
    t.work = None
    t.waiting = None
    if not t.dead and t.sigpending and not t.stopped:
        from mrelease_ref.kernel.signal import get_signal

        t.work = get_signal(t)
        t.work_label = "get_signal"
        return
    if t in k.runqueue:
        k.runqueue.remove(t)


def run_step(k: Kernel, t: TaskStruct) -> bool:
    """Resume ``t`` once. Returns False if it was not runnable."""
    if not _runnable(t):
        return False
    before = dict(k.vm_events)
    label = t.work_label
    with k.running(t):
        assert t.work is not None
        try:
            try:
                marker = _marker(t.work.send(None), t.work_label)
            except TypeError:
                t.work.close()  # broken work is dropped, not left queued
                t.work, t.waiting = None, None
                if t in k.runqueue:
                    k.runqueue.remove(t)
                raise
            t.waiting = marker if isinstance(marker, Wait) else None
            label = marker.label
            if t in k.runqueue:  # round robin
                k.runqueue.remove(t)
                k.runqueue.append(t)
        except StopIteration:
            _finish_work(k, t)
    _charge(k, before, t, label)
    if k.config.debug_vm:
        k.check()
    return True


def _marker(marker: object, label: str) -> Resched | Wait:
    """What kernel work yielded must be a preemption point or a sleep."""
    if not isinstance(marker, (Resched, Wait)):
        raise TypeError(f"kernel work {label!r} yielded {marker!r}; model code yields "
                        "cond_resched(...) or wait_event(...) markers only")
    return marker


def _fire_timers(k: Kernel) -> bool:
    fired = False
    while k.timers and k.timers[0][0] <= k.clock_ns:
        _, _, fn = heapq.heappop(k.timers)
        with k.running(k.kthreadd):
            fn()
        fired = True
    return fired


def _advance_clock(k: Kernel) -> bool:
    """Nothing can run: jump to the next timer or timed sleep, if any."""
    deadlines = [
        t.waiting.deadline_ns
        for t in k.runqueue
        if t.waiting is not None and t.waiting.deadline_ns is not None and not t.frozen
    ]
    if k.timers:
        deadlines.append(k.timers[0][0])
    future = [d for d in deadlines if d > k.clock_ns]
    if not future:
        return False
    k.clock_ns = min(future)
    return True


def run_until_idle(k: Kernel, max_steps: int | None) -> int:
    """Run until no task can run and no timer or timed sleep is pending."""
    with gc_paused():
        return _run_until_idle(k, max_steps)


def _run_until_idle(k: Kernel, max_steps: int | None) -> int:
    steps = 0
    while max_steps is None or steps < max_steps:
        if _fire_timers(k):
            continue
        t = pick_next(k)
        if t is None:
            if _advance_clock(k):
                continue
            break
        run_step(k, t)
        steps += 1
    return steps


def run_syscall(k: Kernel, task: TaskStruct, gen: KernelGen[Any]) -> Any:
    """Run ``gen`` as ``task`` to completion, letting others run only while it sleeps."""
    k._syscall_tasks.append(task)
    try:
        with gc_paused():
            return _run_syscall(k, task, gen)
    finally:
        k._syscall_tasks.remove(task)


def _run_syscall(k: Kernel, task: TaskStruct, gen: KernelGen[Any]) -> Any:
    waiting: Wait | None = None
    entry = True
    while True:
        if waiting is not None and not waiting.cond():
            if _fire_timers(k):
                continue
            other = pick_next(k, exclude=task)  # the caller is busy in this syscall
            if other is None:
                if _advance_clock(k):
                    continue
                gen.close()  # unwind: a queued lock waiter removes itself (rwsem _down)
                raise Deadlock(f"{task!r} would sleep forever on {waiting.label!r}")
            run_step(k, other)
            continue
        before = dict(k.vm_events)
        if entry:  # the syscall entry/exit cost is charged with the first step
            k.vm_events["SYSCALL"] = k.vm_events.get("SYSCALL", 0) + 1
            entry = False
        with k.running(task):
            try:
                marker = _marker(gen.send(None), "syscall")
            except StopIteration as stop:
                _charge(k, before, task, "syscall")
                return stop.value
        waiting = marker if isinstance(marker, Wait) else None
        _charge(k, before, task, marker.label)

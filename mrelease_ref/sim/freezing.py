"""The user-space side of the cgroup-v1 freezer, for the Process API (not kernel code).

What a management daemon does with ``/sys/fs/cgroup/freezer``: one group per process
(created on the first freeze, every thread moved in), FROZEN written to ``freezer.state``
and the state polled until it reads FROZEN; THAWED written to thaw. Tasks that freeze
through the signal path (:mod:`mrelease_ref.kernel.freezer`) must run to reach the
refrigerator: the wait steps exactly those tasks, as the real wait lets them run.

Limitations:
- One group per process; a CLONE_VM sharer is a separate process with its own group.
- The wait gives up after a bounded number of steps per task (a task that cannot reach
  the refrigerator leaves the group FREEZING, as the vfork parent does on the real kernel).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrelease_ref.include.linux.sched import SIGNAL_GROUP_EXIT, TaskStruct, for_each_thread
from mrelease_ref.kernel.cgroup.legacy_freezer import (
    CGROUP_FREEZING_SELF,
    Freezer,
    freezer_apply_state,
    freezer_attach,
    freezer_read,
    task_freezer,
)

if TYPE_CHECKING:
    from mrelease_ref.sim.kernel import Kernel

MAX_STEPS_TO_FREEZE = 64


def process_freezer(task: TaskStruct) -> Freezer:
    """The process's freezer group; created (every thread attached) on first use."""
    fz = task_freezer(task)
    if fz is None:
        fz = Freezer()
    for t in for_each_thread(task):
        if task_freezer(t) is not fz:
            freezer_attach(fz, t)
    return fz


def freeze_process(k: Kernel, task: TaskStruct) -> str:
    """Write FROZEN and wait: returns ``freezer.state`` after the wait."""
    fz = process_freezer(task)
    freezer_apply_state(fz, True, CGROUP_FREEZING_SELF)
    for t in list(fz.tasks):
        for _ in range(MAX_STEPS_TO_FREEZE):
            if t.frozen or t.dead or t.work is None or not k.step(t):
                break
    return freezer_read(fz)


def thaw_process_group(k: Kernel, task: TaskStruct) -> str:
    """Write THAWED. A thread that froze through the signal path and has nothing real to
    deliver goes back to its user-space sleep at once (it only re-enters it); one with a
    signal to act on runs when the kernel next runs (``Kernel.run()``)."""
    fz = task_freezer(task)
    if fz is None:
        return "THAWED"
    freezer_apply_state(fz, False, CGROUP_FREEZING_SELF)
    for t in list(fz.tasks):
        nothing_real = not (t.pending | t.signal.shared_pending) and not (
            t.signal.flags & SIGNAL_GROUP_EXIT)
        for _ in range(MAX_STEPS_TO_FREEZE):
            if not nothing_real or t.frozen or t.work is None or not k.step(t):
                break
    return freezer_read(fz)

"""The cgroup-v1 freezer (``freezer.state``): a group of tasks frozen and thawed together.

Kernel: kernel/cgroup/legacy_freezer.c (v6.18)

Writing FROZEN to ``freezer.state`` sets CGROUP_FREEZING_SELF and calls ``freeze_task()``
on every task of the group (``freeze_cgroup()``); the group reads FROZEN once every task
that is ``freezing()`` is ``frozen()`` (``update_if_frozen()``). Writing THAWED clears the
freezing bits and calls ``__thaw_task()`` on every task (``unfreeze_cgroup()``). A task that
moves in (``freezer_attach()``) or is forked in (``freezer_fork()``) follows the group's
state. How each task freezes, and what a signal then does, is :mod:`mrelease_ref.kernel.freezer`.

Limitations:
- One level: groups have no parent or children (CGROUP_FREEZING_PARENT never set).
- No ``freezer.self_freezing``/``parent_freezing`` files; :func:`freezer_read` gives the
  ``freezer.state`` string.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Final

from mrelease_ref.include.linux.sched import TaskStruct
from mrelease_ref.kernel.freezer import __thaw_task, freeze_task, freezing, frozen


class FreezerState(enum.IntFlag):
    """``freezer->state``. Kernel: kernel/cgroup/legacy_freezer.c (enum freezer_state_flags)."""

    CGROUP_FREEZER_ONLINE = 1 << 0
    CGROUP_FREEZING_SELF = 1 << 1
    CGROUP_FREEZING_PARENT = 1 << 2
    CGROUP_FROZEN = 1 << 3


CGROUP_FREEZER_ONLINE: Final = int(FreezerState.CGROUP_FREEZER_ONLINE)
CGROUP_FREEZING_SELF: Final = int(FreezerState.CGROUP_FREEZING_SELF)
CGROUP_FREEZING_PARENT: Final = int(FreezerState.CGROUP_FREEZING_PARENT)
CGROUP_FROZEN: Final = int(FreezerState.CGROUP_FROZEN)
CGROUP_FREEZING: Final = CGROUP_FREEZING_SELF | CGROUP_FREEZING_PARENT


@dataclass(slots=True, eq=False)
class Freezer:
    """Kernel: kernel/cgroup/legacy_freezer.c (struct freezer) with its task list."""

    state: int = CGROUP_FREEZER_ONLINE
    tasks: list[TaskStruct] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Freezer({freezer_read(self)}, {len(self.tasks)} tasks)"


def task_freezer(task: TaskStruct) -> Freezer | None:
    """Kernel: kernel/cgroup/legacy_freezer.c:task_freezer() (None: the root group)."""
    fz = task.freezer
    return fz if isinstance(fz, Freezer) else None


def cgroup_freezing(task: TaskStruct) -> bool:
    """Kernel: kernel/cgroup/legacy_freezer.c:cgroup_freezing()"""
    fz = task_freezer(task)
    return fz is not None and bool(fz.state & CGROUP_FREEZING)


def _live_tasks(fz: Freezer) -> list[TaskStruct]:
    """css_task_iter: the tasks still in the group (released tasks leave it)."""
    fz.tasks = [t for t in fz.tasks if not t.dead and t.freezer is fz]
    return list(fz.tasks)


def freezer_attach(fz: Freezer, task: TaskStruct) -> None:
    """Kernel: kernel/cgroup/legacy_freezer.c:freezer_attach(): move ``task`` in and make it
    follow the group: thawed in a thawed group, freezing (group back to FREEZING) else."""
    old = task_freezer(task)
    if old is not None and task in old.tasks:
        old.tasks.remove(task)
    task.freezer = fz
    fz.tasks.append(task)
    if not fz.state & CGROUP_FREEZING:
        __thaw_task(task)
    else:
        fz.state &= ~CGROUP_FROZEN
        freeze_task(task)


def freezer_fork(task: TaskStruct, parent: TaskStruct) -> None:
    """Kernel: kernel/cgroup/legacy_freezer.c:freezer_fork(): a child starts in its parent's
    group and is frozen if that group is freezing."""
    fz = task_freezer(parent)
    if fz is None:
        return
    task.freezer = fz
    fz.tasks.append(task)
    if fz.state & CGROUP_FREEZING:
        freeze_task(task)


def update_if_frozen(fz: Freezer) -> None:
    """Kernel: kernel/cgroup/legacy_freezer.c:update_if_frozen(): FROZEN once every task that
    is freezing is frozen."""
    if not fz.state & CGROUP_FREEZING or fz.state & CGROUP_FROZEN:
        return
    for task in _live_tasks(fz):
        if freezing(task) and not frozen(task):
            return
    fz.state |= CGROUP_FROZEN


def freezer_read(fz: Freezer) -> str:
    """Kernel: kernel/cgroup/legacy_freezer.c:freezer_read(): ``freezer.state``."""
    update_if_frozen(fz)
    if fz.state & CGROUP_FROZEN:
        return "FROZEN"
    if fz.state & CGROUP_FREEZING:
        return "FREEZING"
    return "THAWED"


def freeze_cgroup(fz: Freezer) -> None:
    """Kernel: kernel/cgroup/legacy_freezer.c:freeze_cgroup()"""
    for task in _live_tasks(fz):
        freeze_task(task)


def unfreeze_cgroup(fz: Freezer) -> None:
    """Kernel: kernel/cgroup/legacy_freezer.c:unfreeze_cgroup()"""
    for task in _live_tasks(fz):
        __thaw_task(task)


def freezer_apply_state(fz: Freezer, freeze: bool, state: int) -> None:
    """Kernel: kernel/cgroup/legacy_freezer.c:freezer_apply_state()"""
    if not fz.state & CGROUP_FREEZER_ONLINE:
        return
    if freeze:
        fz.state |= state
        freeze_cgroup(fz)
    else:
        fz.state &= ~state
        if not fz.state & CGROUP_FREEZING:
            fz.state &= ~CGROUP_FROZEN
            unfreeze_cgroup(fz)


__all__ = [
    "CGROUP_FREEZING",
    "CGROUP_FREEZING_SELF",
    "CGROUP_FROZEN",
    "Freezer",
    "cgroup_freezing",
    "freezer_apply_state",
    "freezer_attach",
    "freezer_fork",
    "freezer_read",
    "update_if_frozen",
]

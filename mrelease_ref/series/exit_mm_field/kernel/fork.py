"""``free_task()`` dropping ``task->exit_mm`` (Christian Brauner's patch).

Kernel: kernel/fork.c:free_task() as patched by
<20260516-work-exit_mm-v1-1-76bcc7c2439d@kernel.org> (docs/sources.md §T1.4).

Limitations:
- ``mmdrop_async()`` is modelled as an immediate ``mmdrop()``.
"""

from __future__ import annotations

from mrelease_ref.include.linux.sched import TaskStruct
from mrelease_ref.kernel.fork import mmdrop


def free_task(tsk: TaskStruct) -> None:
    """Kernel: kernel/fork.c:free_task() (``exit_mm_field``): drop ``task->exit_mm``."""
    mm = tsk.exit_mm
    if mm is not None:
        tsk.exit_mm = None
        tsk.kernel.exit_mm_tasks.remove(tsk)  # model-only (the checker's list)
        mmdrop(mm)  # mmdrop_async()

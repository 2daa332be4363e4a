"""``exit_mm()`` that keeps the mm in ``task->exit_mm`` (Christian Brauner's patch).

Kernel: kernel/exit.c:exit_mm() as patched by
<20260516-work-exit_mm-v1-1-76bcc7c2439d@kernel.org> (described in docs/sources.md
§T1.4; the model follows that description).

Limitations:
- As the baseline :mod:`mrelease_ref.kernel.exit`.
"""

from __future__ import annotations

from mrelease_ref.include.linux.rwsem import mmap_read_lock, mmap_read_unlock
from mrelease_ref.include.linux.sched import TaskStruct
from mrelease_ref.kernel.fork import mmgrab, mmput
from mrelease_ref.kernel.sched import KernelGen, cond_resched


def exit_mm(tsk: TaskStruct) -> KernelGen[None]:
    """Kernel: kernel/exit.c:exit_mm() (``exit_mm_field``)

    Before ``task->mm`` is cleared, pin the mm with ``mmgrab()`` and keep it in
    ``task->exit_mm``; ``free_task()`` drops that reference.
    """
    mm = tsk.mm
    if mm is None:
        return
    k = tsk.kernel
    yield from mmap_read_lock(mm, tsk)
    mmgrab(mm)
    tsk.exit_mm = mm
    k.exit_mm_tasks.append(tsk)  # model-only: lets the checker see this holder
    tsk.mm = None  # under task_lock(): find_lock_task_mm() can no longer see it
    mmap_read_unlock(mm)
    if k.tracing:
        k.trace_event("exit_mm", f"pid={tsk.pid} mm={mm.mm_id} mm_users={mm.mm_users}")
    yield cond_resched("exit_mm:mm detached")
    yield from mmput(mm, tsk)

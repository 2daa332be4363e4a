"""``mm_struct`` reference counts and process creation.

Kernel: kernel/fork.c (mm_alloc(), mmput(), __mmput(), get_task_mm(), mm_access(),
copy_process(), copy_mm(), dup_mm(), copy_oom_score_adj()), include/linux/sched/mm.h
(mmget(), mmgrab(), mmdrop(), mmget_not_zero())

Two counters, two meanings:

* ``mm_users`` pins the *address space*: when it drops to zero, ``__mmput()`` runs
  ``exit_mmap()`` in whoever dropped it. ``process_mrelease()`` never takes it in the
  baseline; a ``/proc/<pid>/cmdline`` reader does, for the length of its read.
* ``mm_count`` pins the *struct*: all users together hold one; ``mmgrab()`` adds more.

``mmput()`` may run ``exit_mmap()`` and therefore sleep: it is a generator.

fork() (``copy_process()`` without CLONE_VM) gives the child a copy of the parent's address
space: ``dup_mm()`` -> ``dup_mmap()`` (mm/mmap.py) -> ``copy_page_range()`` (mm/memory.py),
which shares every anonymous page copy-on-write. ``copy_process()`` refuses while a signal is
pending in the caller (-ERESTARTNOINTR: the signal is delivered and the call restarted, or
the caller dies of it) and when a fatal signal arrived during the copy (-EINTR); either way
the half-built child is torn down and the caller never returns to user space with a child.

Limitations:
- ``Kernel.spawn()`` and ``Process.spawn_child()`` model fork()+execve(): an empty address
  space. ``Process.fork()`` is the copy-on-write fork.
- ``copy_process()`` models only the steps that decide memory and signals; credentials,
  files (the child shares none of the parent's descriptors), namespaces and the rest are
  as in ``Kernel.spawn()``.
- ``__mmput()`` only runs exit_mmap() and drops mm_count; aio, ksm, khugepaged, uprobes and
  the exe file are not modelled.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Final

from mrelease_ref.include.linux.mm_types import MMF_MULTIPROCESS, MmStruct
from mrelease_ref.include.linux.rwsem import RwSemaphore
from mrelease_ref.include.linux.sched import PF_KTHREAD
from mrelease_ref.kernel.sched import KernelGen
from mrelease_ref.mm.swap import KernelBug

if TYPE_CHECKING:
    from mrelease_ref.include.linux.sched import TaskStruct
    from mrelease_ref.sim.kernel import Kernel

CLONE_VM: Final = 0x00000100
CLONE_FS: Final = 0x00000200
CLONE_FILES: Final = 0x00000400
CLONE_SIGHAND: Final = 0x00000800
CLONE_VFORK: Final = 0x00004000
CLONE_THREAD: Final = 0x00010000


def mm_alloc(kernel: Kernel) -> MmStruct:
    """Kernel: kernel/fork.c:mm_alloc(): mm_users = mm_count = 1."""
    kernel.last_mm_id += 1
    mm = MmStruct(kernel=kernel, mm_id=kernel.last_mm_id, mmap_lock=RwSemaphore())
    kernel.mms.append(mm)
    return mm


def mmget(mm: MmStruct) -> None:
    """Kernel: include/linux/sched/mm.h:mmget()"""
    if mm.mm_users <= 0:
        raise KernelBug(f"mmget on a dead mm: {mm!r}")
    mm.mm_users += 1


def mmget_not_zero(mm: MmStruct) -> bool:
    """Kernel: include/linux/sched/mm.h:mmget_not_zero()"""
    if mm.mm_users == 0:
        return False
    mm.mm_users += 1
    return True


def mmgrab(mm: MmStruct) -> None:
    """Kernel: include/linux/sched/mm.h:mmgrab()"""
    mm.mm_count += 1


def __mmdrop(mm: MmStruct) -> None:
    """Kernel: kernel/fork.c:__mmdrop(): free the struct (the model marks it freed)."""
    if mm.mm_mt or mm.pgd:
        raise KernelBug(f"__mmdrop of an mm that still maps memory: {mm!r}")
    mm.freed = True
    mm.kernel.mms.remove(mm)


def mmdrop(mm: MmStruct) -> None:
    """Kernel: include/linux/sched/mm.h:mmdrop()"""
    mm.mm_count -= 1
    if mm.mm_count < 0:
        raise KernelBug(f"mm_count underflow: {mm!r}")
    if mm.mm_count == 0:
        __mmdrop(mm)


def __mmput(mm: MmStruct, current: TaskStruct) -> KernelGen[None]:
    """Kernel: kernel/fork.c:__mmput(): the last user is gone; tear down, then mmdrop."""
    k = mm.kernel
    if k.tracing:
        k.trace_event("__mmput", f"mm={mm.mm_id} by {current.comm}:{current.pid}")
    yield from k.series.exit_mmap(mm, current)  # mm/mmap.c:exit_mmap(), or a variant's
    mmdrop(mm)


def mmput(mm: MmStruct, current: TaskStruct) -> KernelGen[None]:
    """Kernel: kernel/fork.c:mmput()

    Drop a user; the last one runs ``__mmput()`` (and so ``exit_mmap()``) right here, in
    ``current``'s context.
    """
    mm.mm_users -= 1
    if mm.mm_users < 0:
        raise KernelBug(f"mm_users underflow: {mm!r}")
    if mm.mm_users == 0:
        yield from __mmput(mm, current)


def free_task(tsk: TaskStruct) -> None:
    """Kernel: kernel/fork.c:free_task(): the last reference to the task struct is gone.

    Nothing to release in the baseline model (stack, security blobs and the struct itself
    are not modelled). Variants: ``exit_mm_field`` drops the ``task->exit_mm`` reference
    here, as Christian Brauner's patch does.
    """


def get_task_mm(task: TaskStruct) -> MmStruct | None:
    """Kernel: kernel/fork.c:get_task_mm(): pin the task's address space (mm_users)."""
    if task.flags & PF_KTHREAD:
        return None
    mm = task.mm
    if mm is not None:
        mmget(mm)
    return mm


def mm_access(task: TaskStruct, mode: int, current: TaskStruct | None) -> MmStruct | int:
    """Kernel: kernel/fork.c:mm_access()

    Pin ``task``'s mm (``mm_users``) if ``current`` may inspect it (``may_access_mm()``:
    its own mm, or ``ptrace_may_access()``): ``-ESRCH`` without an mm (a zombie, a kernel
    thread), ``-EACCES`` (after dropping the pin again) when not allowed. ``current=None``
    is an in-kernel caller that skips the check.
    """
    from mrelease_ref.kernel.ptrace import ptrace_may_access

    mm = get_task_mm(task)
    if mm is None:
        return -errno.ESRCH
    if current is not None and mm is not current.mm and not ptrace_may_access(
        task, mode, current
    ):
        mm.mm_users -= 1  # mmput() of a reference that is never the last one here
        return -errno.EACCES
    return mm


def copy_oom_score_adj(clone_flags: int, tsk: TaskStruct) -> None:
    """Kernel: kernel/fork.c:copy_oom_score_adj()

    A CLONE_VM child that is neither a thread nor a vfork child marks the mm
    MMF_MULTIPROCESS (the flag v2 of REAP_KILL keys its shared-mm refusal on).
    """
    if tsk.mm is None:
        return
    if clone_flags & (CLONE_VM | CLONE_THREAD | CLONE_VFORK) != CLONE_VM:
        return
    tsk.mm.flags |= MMF_MULTIPROCESS


def copy_mm(clone_flags: int, tsk: TaskStruct, oldmm: MmStruct | None) -> None:
    """Kernel: kernel/fork.c:copy_mm(): share with CLONE_VM (mmget), else a fresh mm."""
    if oldmm is not None and clone_flags & CLONE_VM:
        mmget(oldmm)
        tsk.mm = oldmm
        return
    tsk.mm = mm_alloc(tsk.kernel)


def dup_mm(tsk: TaskStruct, oldmm: MmStruct, current: TaskStruct) -> KernelGen[MmStruct | int]:
    """Kernel: kernel/fork.c:dup_mm()

    A new mm (``mm_users`` = ``mm_count`` = 1) filled by ``dup_mmap()``. If the copy fails
    the new mm is torn down again (``mmput()`` runs ``exit_mmap()`` over what was copied)
    and the error returned.
    """
    from mrelease_ref.mm.mmap import dup_mmap

    mm = mm_alloc(tsk.kernel)
    err = yield from dup_mmap(mm, oldmm, current)
    if err:
        yield from mmput(mm, current)  # free_pt: mm->binfmt = NULL; mmput(mm)
        return err
    return mm


ERESTARTNOINTR: Final = 513
"""include/linux/errno.h: restart the system call after the signal (never seen by users)."""


def copy_process(current: TaskStruct, comm: str) -> KernelGen[TaskStruct | int]:
    """Kernel: kernel/fork.c:copy_process() for fork() (clone flags 0, exit signal SIGCHLD)

    In the kernel's order, as far as the model has the steps: a pending signal first
    (-ERESTARTNOINTR: the signal is handled before the fork, which then restarts), then
    ``copy_mm()`` -> ``dup_mm()`` (which stops with -EINTR on a fatal signal), then, under
    the sighand lock, "Let kill terminate clone/fork in the middle": a fatal signal that
    arrived meanwhile fails the fork with -EINTR and the copied mm is dropped. Only then
    is the child made visible (pid attached, linked to its parent). Returns the child's
    task or -errno.
    """
    from mrelease_ref.kernel.pid import task_active_pid_ns
    from mrelease_ref.kernel.signal import fatal_signal_pending

    if current.sigpending:  # task_sigpending(current)
        return -ERESTARTNOINTR
    oldmm = current.mm
    if oldmm is None:
        return -errno.EINVAL  # a kernel thread has nothing to fork here
    mm = yield from dup_mm(current, oldmm, current)
    if isinstance(mm, int):
        return mm
    if fatal_signal_pending(current):  # checked under current->sighand->siglock
        yield from mmput(mm, current)  # bad_fork_cleanup_mm
        return -errno.EINTR
    k = current.kernel
    t = k.new_task(comm, current.cred, parent=current.group_leader or current,
                   kthread=False, pid_ns=task_active_pid_ns(current))
    t.mm = mm
    t.signal.oom_score_adj = current.signal.oom_score_adj  # copy_signal()
    return t

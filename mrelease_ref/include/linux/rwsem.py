"""``mmap_lock``: a fair reader/writer semaphore and the mmap_* wrappers around it.

Kernel: kernel/locking/rwsem.c, include/linux/mmap_lock.h

The semaphore is fair in the way that matters here: once a writer waits, new readers queue
behind it. ``exit_mmap()`` relies on that: it takes the lock for write after unmapping under
the read lock, and must wait for a reaper (``process_mrelease()`` or the oom_reaper) that
still holds the read lock.

Limitations:
- No optimistic spinning, no reader-owned handoff timeouts: waiters are served strictly in
  arrival order, consecutive readers together.
- The owner is recorded by task for traces only; the kernel does not check it for readers.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mrelease_ref.kernel.sched import KernelGen, wait_event

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import MmStruct
    from mrelease_ref.include.linux.sched import TaskStruct


@dataclass(slots=True, eq=False)
class _Waiter:
    task: TaskStruct
    write: bool
    granted: bool = False


@dataclass(slots=True, eq=False)
class RwSemaphore:
    """Kernel: include/linux/rwsem.h (struct rw_semaphore)"""

    readers: int = 0
    writer: TaskStruct | None = None
    wait_list: list[_Waiter] = field(default_factory=list)

    def __repr__(self) -> str:
        w = self.writer.pid if self.writer else None
        return f"RwSemaphore(readers={self.readers}, writer={w}, waiters={len(self.wait_list)})"


def _wake(sem: RwSemaphore) -> None:
    """Hand the lock to the waiters at the head of the queue (rwsem_wake)."""
    while sem.wait_list and sem.writer is None:
        head = sem.wait_list[0]
        if head.write:
            if sem.readers:
                return
            sem.writer = head.task
            head.granted = True
            sem.wait_list.pop(0)
            return
        sem.readers += 1
        head.granted = True
        sem.wait_list.pop(0)


def down_read_trylock(sem: RwSemaphore) -> bool:
    """Kernel: kernel/locking/rwsem.c:down_read_trylock()"""
    if sem.writer is None and not sem.wait_list:
        sem.readers += 1
        return True
    return False


def down_write_trylock(sem: RwSemaphore, task: TaskStruct) -> bool:
    """Kernel: kernel/locking/rwsem.c:down_write_trylock()"""
    if sem.writer is None and sem.readers == 0 and not sem.wait_list:
        sem.writer = task
        return True
    return False


def _down(sem: RwSemaphore, task: TaskStruct, write: bool, killable: bool) -> KernelGen[int]:
    """Queue and sleep until granted; a killable sleeper gives up on a fatal signal."""
    from mrelease_ref.kernel.signal import fatal_signal_pending

    waiter = _Waiter(task, write)
    sem.wait_list.append(waiter)
    _wake(sem)
    try:
        while not waiter.granted:
            if killable and fatal_signal_pending(task):
                sem.wait_list.remove(waiter)
                _wake(sem)
                return -errno.EINTR
            yield wait_event(
                "mmap_lock",
                lambda: waiter.granted or (killable and fatal_signal_pending(task)),
            )
    except GeneratorExit:  # the sleeper was abandoned (model Deadlock): leave no trace
        _abandon(sem, waiter)
        raise
    return 0


def _abandon(sem: RwSemaphore, waiter: _Waiter) -> None:
    """Undo a waiter whose sleep will never resume: dequeue it, or give back what it was
    granted in the meantime, then wake whoever is next."""
    if not waiter.granted:
        sem.wait_list.remove(waiter)
    elif waiter.write:
        sem.writer = None
    else:
        sem.readers -= 1
    _wake(sem)


def mmap_read_trylock(mm: MmStruct) -> bool:
    """Kernel: include/linux/mmap_lock.h:mmap_read_trylock()"""
    return down_read_trylock(mm.mmap_lock)


def mmap_read_lock(mm: MmStruct, task: TaskStruct) -> KernelGen[None]:
    """Kernel: include/linux/mmap_lock.h:mmap_read_lock()

    ``task`` is the model's explicit ``current``.
    """
    if not down_read_trylock(mm.mmap_lock):
        yield from _down(mm.mmap_lock, task, write=False, killable=False)


def mmap_read_lock_killable(mm: MmStruct, task: TaskStruct) -> KernelGen[int]:
    """Kernel: include/linux/mmap_lock.h:mmap_read_lock_killable()

    Returns 0 with the lock held, or -EINTR when ``current`` has a fatal signal pending.
    """
    if down_read_trylock(mm.mmap_lock):
        return 0
    return (yield from _down(mm.mmap_lock, task, write=False, killable=True))


def mmap_read_unlock(mm: MmStruct) -> None:
    """Kernel: include/linux/mmap_lock.h:mmap_read_unlock()"""
    sem = mm.mmap_lock
    if sem.readers <= 0:
        raise RuntimeError("mmap_read_unlock without the read lock held")
    sem.readers -= 1
    _wake(sem)


def mmap_write_lock(mm: MmStruct, task: TaskStruct) -> KernelGen[None]:
    """Kernel: include/linux/mmap_lock.h:mmap_write_lock()"""
    if not down_write_trylock(mm.mmap_lock, task):
        yield from _down(mm.mmap_lock, task, write=True, killable=False)


def mmap_write_lock_killable(mm: MmStruct, task: TaskStruct) -> KernelGen[int]:
    """Kernel: include/linux/mmap_lock.h:mmap_write_lock_killable()

    Returns 0 with the lock held, or -EINTR when ``current`` has a fatal signal pending
    while it would have to wait (an uncontended lock is taken whatever is pending).
    """
    if down_write_trylock(mm.mmap_lock, task):
        return 0
    return (yield from _down(mm.mmap_lock, task, write=True, killable=True))


def mmap_write_unlock(mm: MmStruct) -> None:
    """Kernel: include/linux/mmap_lock.h:mmap_write_unlock()"""
    sem = mm.mmap_lock
    if sem.writer is None:
        raise RuntimeError("mmap_write_unlock without the write lock held")
    sem.writer = None
    _wake(sem)

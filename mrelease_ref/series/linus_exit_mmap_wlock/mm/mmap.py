"""``exit_mmap()`` under the write lock for the whole teardown (Linus Torvalds's proposal).

Kernel: mm/mmap.c:exit_mmap() as proposed in prose on 2026-05-16
<CAHk-=wg08=sZb=hVa22KjN2pD3aNk-diGmKQnizCgmoMMfrvwQ@mail.gmail.com> (no patch posted;
the code is the model's reading [I]).

Compared with v6.18: no read-locked zap followed by a write lock; the zap, MMF_OOM_SKIP,
``free_pgtables()``, ``tlb_finish_mmu()`` and ``remove_vma()`` all run with the lock held
for write. A reaper (``process_mrelease()`` or the OOM reaper) therefore never zaps beside
``exit_mmap()``: it either finishes before the teardown starts, or waits and then sees
MMF_OOM_SKIP. The preemption points inside the zap stay (the kernel may reschedule while
holding a sleeping lock).

Limitations:
- The write lock also excludes faults of CLONE_VM sharers and /proc readers for the whole
  teardown; the model has no lock-hold-time cost, so that price shows only as ordering.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrelease_ref.include.asm_generic.tlb import TASK_SIZE
from mrelease_ref.include.linux.mm_types import MMF_OOM_SKIP, MmStruct, mm_flags_set
from mrelease_ref.include.linux.rwsem import mmap_write_lock, mmap_write_unlock
from mrelease_ref.kernel.sched import KernelGen, cond_resched
from mrelease_ref.mm.memory import unmap_vmas
from mrelease_ref.mm.mmap import free_pgtables, remove_vma
from mrelease_ref.mm.mmu_gather import tlb_finish_mmu, tlb_gather_mmu_fullmm

if TYPE_CHECKING:
    from mrelease_ref.include.linux.sched import TaskStruct


def exit_mmap(mm: MmStruct, current: TaskStruct) -> KernelGen[None]:
    """Kernel: mm/mmap.c:exit_mmap() (Linus Torvalds's write-lock proposal, [I])

    Tear down the whole address space with ``mmap_write_lock()`` held from the first zap
    to the last ``remove_vma()``.
    """
    yield from mmap_write_lock(mm, current)
    vmas = list(mm.mm_mt)
    if vmas:
        tlb = tlb_gather_mmu_fullmm(mm)
        yield from unmap_vmas(tlb, vmas, 0, TASK_SIZE)
        # Set MMF_OOM_SKIP to hide this task from the oom killer/reaper: nothing is left.
        mm_flags_set(MMF_OOM_SKIP, mm)
        free_pgtables(mm)
        tlb_finish_mmu(tlb)
        for vma in vmas:
            remove_vma(vma)
            mm.mm_mt.remove(vma)  # vma_mark_detached()
            yield cond_resched("exit_mmap:remove_vma")
    mmap_write_unlock(mm)

"""Draft D: ``__oom_reap_task_mm(mm, try_evict_file_folios)``, its callers, and C's REAP_KILL.

Kernel: mm/oom_kill.c as changed by draft D (<afFco71vwmpQy3pk@google.com>), on top of
draft C (= v2, <20260429211359.3829683-1-minchan@kernel.org>)

The reaper now takes a bool: it sets ``tlb.try_evict_file_folios`` on each per-VMA gather
and passes ``&details`` with ``.ignore_access = try_evict_file_folios`` to
``unmap_page_range()`` instead of NULL. The kernel OOM reaper passes false;
process_mrelease() passes ``reap_kill``.

As posted, ``details`` is zero-initialised apart from ``ignore_access``, so its
``even_cows`` is false: ``should_zap_cows()`` is then false and ``should_zap_folio()``
keeps every *anonymous* folio in a PTE table. Every reap -- process_mrelease() with or
without the flag, and the kernel's OOM reaper -- stops freeing PTE-mapped anonymous memory
and swap entries (docs/sources.md §T6 #16 noticed the COW pages of private file mappings;
the rule covers all PTE-mapped anonymous memory). PMD-mapped THPs are still freed:
``zap_huge_pmd()`` does not read the details. ``Kernel(d_details="intended")`` sets
``even_cows`` as the unchanged NULL details implied.

Limitations:
- David Hildenbrand's newer base (``zap_vma_for_reaping()``, ``skip_cows``) is not modelled.
"""

from __future__ import annotations

import errno

from mrelease_ref.include.linux.mm_types import (
    MMF_MULTIPROCESS,
    MMF_OOM_SKIP,
    MMF_UNSTABLE,
    VM_HUGETLB,
    VM_PFNMAP,
    VM_SHARED,
    MmStruct,
    mm_flags_set,
    mm_flags_test,
    vma_is_anonymous,
)
from mrelease_ref.include.linux.rwsem import (
    mmap_read_lock_killable,
    mmap_read_trylock,
    mmap_read_unlock,
)
from mrelease_ref.include.linux.sched import TaskStruct
from mrelease_ref.include.uapi.linux.mman import (
    PROCESS_MRELEASE_REAP_KILL,
    PROCESS_MRELEASE_VALID_FLAGS,
)
from mrelease_ref.kernel.fork import mmdrop, mmgrab
from mrelease_ref.kernel.pid import pidfd_get_task, put_task_struct, task_tgid
from mrelease_ref.kernel.sched import KernelGen
from mrelease_ref.kernel.signal import SIGKILL, kill_pid
from mrelease_ref.mm.memory import ZapDetails, unmap_page_range
from mrelease_ref.mm.mmu_gather import tlb_finish_mmu, tlb_gather_mmu
from mrelease_ref.mm.oom_kill import (
    find_lock_task_mm,
    mmu_notifier_invalidate_range_start_nonblock,
    task_will_free_mem,
)


def __oom_reap_task_mm(mm: MmStruct, try_evict_file_folios: bool) -> KernelGen[bool]:
    """Kernel: mm/oom_kill.c:__oom_reap_task_mm() (draft D: ``try_evict_file_folios``)"""
    k = mm.kernel
    ret = True
    mm_flags_set(MMF_UNSTABLE, mm)
    vmas = list(mm.mm_mt)
    if k.config.oom_reap_reverse:
        vmas.reverse()
    for vma in vmas:
        if vma.vm_flags & (VM_HUGETLB | VM_PFNMAP):
            continue
        if vma_is_anonymous(vma) or not vma.vm_flags & VM_SHARED:
            tlb = tlb_gather_mmu(mm)
            tlb.try_evict_file_folios = try_evict_file_folios
            details = ZapDetails(ignore_access=try_evict_file_folios)
            if k.config.d_details == "intended":  # model-only: Kernel(d_details=...)
                details.even_cows = True
            if mmu_notifier_invalidate_range_start_nonblock(mm):
                tlb_finish_mmu(tlb)
                ret = False
                continue
            if k.tracing:
                k.trace_event("__oom_reap_task_mm", f"zap {vma!r}")
            yield from unmap_page_range(tlb, vma, vma.vm_start, vma.vm_end, details)
            tlb_finish_mmu(tlb)
        elif k.tracing:
            k.trace_event("__oom_reap_task_mm", f"skip {vma!r}")
    return ret


def oom_reap_task_mm(tsk: TaskStruct, mm: MmStruct) -> KernelGen[bool]:
    """Kernel: mm/oom_kill.c:oom_reap_task_mm() (draft D: the kernel reaper passes false)"""
    if not mmap_read_trylock(mm):
        return False
    ret = True
    if not mm_flags_test(MMF_OOM_SKIP, mm):
        ret = yield from __oom_reap_task_mm(mm, False)
    mmap_read_unlock(mm)
    return ret


def process_mrelease(current: TaskStruct, pidfd: int, flags: int) -> KernelGen[int]:
    """Kernel: mm/oom_kill.c:SYSCALL_DEFINE2(process_mrelease) (draft C/v2 + draft D)"""
    k = current.kernel
    if k.tracing:
        k.trace_event("process_mrelease", f"pidfd={pidfd} flags={flags:#x}")
    if flags & ~PROCESS_MRELEASE_VALID_FLAGS:
        return -errno.EINVAL
    reap_kill = bool(flags & PROCESS_MRELEASE_REAP_KILL)
    got = pidfd_get_task(current, pidfd)
    if isinstance(got, int):
        return got
    task, _f_flags = got
    p = find_lock_task_mm(task)
    if p is None:
        put_task_struct(task)
        return -errno.ESRCH
    mm = p.mm
    assert mm is not None
    ret = 0
    if reap_kill and mm_flags_test(MMF_MULTIPROCESS, mm):
        put_task_struct(task)
        return -errno.EINVAL
    if not (reap_kill or task_will_free_mem(p)):
        if not mm_flags_test(MMF_OOM_SKIP, mm):
            ret = -errno.EINVAL
        put_task_struct(task)
        return ret
    mmgrab(mm)
    if reap_kill:
        ret = kill_pid(task_tgid(task), SIGKILL, 0, current)
    if not ret:
        if (yield from mmap_read_lock_killable(mm, current)):
            ret = -errno.EINTR
        else:
            if not mm_flags_test(MMF_OOM_SKIP, mm) and not (
                yield from __oom_reap_task_mm(mm, reap_kill)
            ):
                ret = -errno.EAGAIN
            mmap_read_unlock(mm)
    mmdrop(mm)
    put_task_struct(task)
    return ret

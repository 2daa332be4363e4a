"""mlock and munlock of folios, through a per-CPU batch that holds a reference; and the
mlock(), munlock() and mlockall() system calls on existing mappings.

Kernel: mm/mlock.c (do_mlock(), apply_vma_lock_flags(), mlock_fixup(),
mlock_vma_pages_range(), mlock_pte_range(), apply_mlockall_flags(), mlock_folio(),
munlock_folio(), mlock_folio_batch()), mm/internal.h (mlock_vma_folio(),
munlock_vma_folio())

Zapping a folio from a VM_LOCKED VMA calls ``munlock_folio()``, which parks the folio in
this CPU's mlock batch with an extra reference until the batch drains. Anything that checks
the refcount in between (``mapping_evict_folio()``) sees that reference, and Mlocked in
meminfo drops only when the batch drains (31 folios at a time).

``mlock()`` rounds the range out to pages, checks RLIMIT_MEMLOCK (8 MiB) unless the caller
has CAP_IPC_LOCK, splits the VMAs at the range's ends (``vma_modify_flags()``), mlocks the
folios already mapped and faults in the rest. ``munlock()`` clears VM_LOCKED the same way
and munlocks the folios, which go back to the evictable LRU. A hole in the range is ENOMEM,
after the VMAs before it were changed.

Limitations:
- The batch records the operation per entry in a parallel list instead of tagging the folio
  pointer's low bits (LRU_FOLIO / NEW_FOLIO) as the kernel does.
- Large PTE-mapped folios are mlocked on fault like small ones; the kernel mlocks them only
  from mlock_pte_range() when fully inside the VMA.
- ``mm->locked_vm`` is derived from the VM_LOCKED VMAs instead of being kept; no
  MCL_FUTURE, no mlock2(MLOCK_ONFAULT), no munlockall(); every process has the default
  RLIMIT_MEMLOCK of 8 MiB.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from mrelease_ref.include.linux.mm_inline import lruvec_add_folio, lruvec_del_folio
from mrelease_ref.include.linux.mm_types import VM_LOCKED, VM_PFNMAP, VM_SHARED, VM_WRITE
from mrelease_ref.include.linux.mmzone import NR_MLOCK, FolioBatch, Lruvec, folio_batch_add
from mrelease_ref.include.linux.page_flags import (
    PG_active,
    PG_lru,
    PG_mlocked,
    PG_unevictable,
    folio_test_clear_lru,
)
from mrelease_ref.include.linux.vmstat import count_vm_events
from mrelease_ref.mm.swap import folio_evictable, folio_get, folios_put_refs

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio, MmStruct, VmAreaStruct
    from mrelease_ref.include.linux.sched import TaskStruct
    from mrelease_ref.sim.kernel import Kernel

_VM_IO = 0x00004000
_LRU_FOLIO = "mlock"
_NEW_FOLIO = "mlock_new"
_MUNLOCK = "munlock"


def __mlock_folio(folio: Folio, lruvec: Lruvec) -> None:
    """Kernel: mm/mlock.c:__mlock_folio(): move a now-mlocked folio to the unevictable list."""
    if not folio_test_clear_lru(folio):
        return
    if folio_evictable(folio):
        if folio.flags & PG_unevictable:
            lruvec_del_folio(lruvec, folio)
            folio.flags &= ~PG_unevictable
            lruvec_add_folio(lruvec, folio)
    elif folio.flags & PG_unevictable:
        if folio.flags & PG_mlocked:
            folio.mlock_count += 1
    else:
        lruvec_del_folio(lruvec, folio)
        folio.flags = (folio.flags & ~PG_active) | PG_unevictable
        folio.mlock_count = 1 if folio.flags & PG_mlocked else 0
        lruvec_add_folio(lruvec, folio)
        count_vm_events(folio.kernel, "UNEVICTABLE_PGCULLED", 1 << folio.order)
    folio.flags |= PG_lru


def __mlock_new_folio(folio: Folio, lruvec: Lruvec) -> None:
    """Kernel: mm/mlock.c:__mlock_new_folio(): first LRU placement of a new mlocked folio."""
    if not folio_evictable(folio):
        folio.flags |= PG_unevictable
        folio.mlock_count = 1 if folio.flags & PG_mlocked else 0
        count_vm_events(folio.kernel, "UNEVICTABLE_PGCULLED", 1 << folio.order)
    lruvec_add_folio(lruvec, folio)
    folio.flags |= PG_lru


def __munlock_folio(folio: Folio, lruvec: Lruvec) -> None:
    """Kernel: mm/mlock.c:__munlock_folio(): drop one mlock; rescue the folio when the last."""
    nr = 1 << folio.order
    isolated = folio_test_clear_lru(folio)
    if isolated and folio.flags & PG_unevictable:
        if folio.mlock_count:
            folio.mlock_count -= 1
        if folio.mlock_count:
            folio.flags |= PG_lru
            return
    if folio.flags & PG_mlocked:
        folio.flags &= ~PG_mlocked
        folio.kernel.vmstat[NR_MLOCK] -= nr
        count_vm_events(folio.kernel, "UNEVICTABLE_PGMUNLOCKED", nr)
    if isolated and folio.flags & PG_unevictable and folio_evictable(folio):
        lruvec_del_folio(lruvec, folio)
        folio.flags &= ~PG_unevictable
        lruvec_add_folio(lruvec, folio)
        count_vm_events(folio.kernel, "UNEVICTABLE_PGRESCUED", nr)
    if isolated:
        folio.flags |= PG_lru


def mlock_folio_batch(kernel: Kernel, cpu: int) -> None:
    """Kernel: mm/mlock.c:mlock_folio_batch(): apply the queued operations, drop the refs."""
    fb = kernel.cpu_fbatches[cpu]
    if not fb.mlock.folios:
        return
    lruvec = kernel.lruvec
    for folio, op in zip(fb.mlock.folios, fb.mlock_ops, strict=True):
        if op == _LRU_FOLIO:
            __mlock_folio(folio, lruvec)
        elif op == _NEW_FOLIO:
            __mlock_new_folio(folio, lruvec)
        else:
            __munlock_folio(folio, lruvec)
    batch = FolioBatch(fb.mlock.folios)
    fb.mlock.folios = []
    fb.mlock_ops.clear()
    folios_put_refs(batch, None)


def _queue(folio: Folio, op: str) -> None:
    kernel = folio.kernel
    cpu = kernel.this_cpu()
    fb = kernel.cpu_fbatches[cpu]
    folio_get(folio)
    fb.mlock_ops.append(op)
    if not folio_batch_add(fb.mlock, folio) or folio.order > 0:
        mlock_folio_batch(kernel, cpu)


def mlock_folio(folio: Folio) -> None:
    """Kernel: mm/mlock.c:mlock_folio()"""
    if not folio.flags & PG_mlocked:
        folio.flags |= PG_mlocked
        folio.kernel.vmstat[NR_MLOCK] += 1 << folio.order
        count_vm_events(folio.kernel, "UNEVICTABLE_PGMLOCKED", 1 << folio.order)
    _queue(folio, _LRU_FOLIO)


def mlock_new_folio(folio: Folio) -> None:
    """Kernel: mm/mlock.c:mlock_new_folio()"""
    folio.flags |= PG_mlocked
    folio.kernel.vmstat[NR_MLOCK] += 1 << folio.order
    count_vm_events(folio.kernel, "UNEVICTABLE_PGMLOCKED", 1 << folio.order)
    _queue(folio, _NEW_FOLIO)


def munlock_folio(folio: Folio) -> None:
    """Kernel: mm/mlock.c:munlock_folio()

    Queue the munlock; the folio keeps an extra reference until this CPU's batch drains.
    """
    _queue(folio, _MUNLOCK)


def mlock_vma_folio(folio: Folio, vma: VmAreaStruct) -> None:
    """Kernel: mm/internal.h:mlock_vma_folio()"""
    if (vma.vm_flags & (VM_LOCKED | VM_PFNMAP)) == VM_LOCKED:
        mlock_folio(folio)


def munlock_vma_folio(folio: Folio, vma: VmAreaStruct) -> None:
    """Kernel: mm/internal.h:munlock_vma_folio()"""
    if vma.vm_flags & VM_LOCKED:
        munlock_folio(folio)


def mlock_drain_local(kernel: Kernel) -> None:
    """Kernel: mm/mlock.c:mlock_drain_local()"""
    mlock_folio_batch(kernel, kernel.this_cpu())


def mlock_drain_remote(kernel: Kernel, cpu: int) -> None:
    """Kernel: mm/mlock.c:mlock_drain_remote()"""
    mlock_folio_batch(kernel, cpu)


# ---------------------------------------------------------------------------------------
# mlock(), munlock(), mlockall() on existing mappings
# ---------------------------------------------------------------------------------------

RLIMIT_MEMLOCK_DEFAULT = 8 << 20
"""RLIMIT_MEMLOCK of an unprivileged process: 8 MiB (include/uapi/linux/resource.h
MLOCK_LIMIT since v5.16; ``ulimit -l`` says 8192 on these machines)."""
MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4
VM_LOCKONFAULT = 0x00080000
VM_LOCKED_MASK = VM_LOCKED | VM_LOCKONFAULT


def _capable_ipc_lock(task: TaskStruct) -> bool:
    return "CAP_IPC_LOCK" in task.cred.caps


def can_do_mlock(task: TaskStruct) -> bool:
    """Kernel: mm/mlock.c:can_do_mlock(): a non-zero RLIMIT_MEMLOCK or CAP_IPC_LOCK."""
    return RLIMIT_MEMLOCK_DEFAULT != 0 or _capable_ipc_lock(task)


def mlock_pte_range(vma: VmAreaStruct, addr: int, end: int) -> None:
    """Kernel: mm/mlock.c:mlock_pte_range()

    mlock (VM_LOCKED set) or munlock every folio mapped in one PMD's part of the range. A
    large folio is mlocked only when it lies inside the range and is mapped whole here
    (``allow_mlock_munlock()``); munlock takes any folio.
    """
    from mrelease_ref.include.linux.mm_types import Pmd, Pte, PteTable
    from mrelease_ref.mm.memory import folio_pte_batch

    pg = vma.vm_mm.kernel.pg
    entry = vma.vm_mm.pgd.get(addr >> pg.PMD_SHIFT)
    locked = bool(vma.vm_flags & VM_LOCKED)
    if isinstance(entry, Pmd):
        if entry.folio is not None:
            (mlock_folio if locked else munlock_folio)(entry.folio)
        return
    if not isinstance(entry, PteTable):
        return
    i = pg.pte_index(addr)
    while addr < end:
        pte = entry[i]
        step = 1
        if isinstance(pte, Pte) and pte.folio is not None:
            folio = pte.folio
            if folio.order:  # folio_mlock_step()
                step = folio_pte_batch(folio, entry, i, pte, (end - addr) >> pg.PAGE_SHIFT)
            whole = not folio.order or (step == 1 << folio.order and pte.idx == 0)
            if not locked or whole:  # allow_mlock_munlock()
                (mlock_folio if locked else munlock_folio)(folio)
        i += step
        addr += step << pg.PAGE_SHIFT


def mlock_vma_pages_range(vma: VmAreaStruct, start: int, end: int, newflags: int) -> None:
    """Kernel: mm/mlock.c:mlock_vma_pages_range()

    Set the new flags, then mlock (or munlock) the folios already mapped in the range,
    draining this CPU's LRU batches before and after so they are on the LRU.
    """
    from mrelease_ref.mm.swap import lru_add_drain

    vma.vm_flags = newflags
    k = vma.vm_mm.kernel
    lru_add_drain(k)
    addr = start
    while addr < end:
        nxt = min((addr | (k.pg.PMD_SIZE - 1)) + 1, end)
        mlock_pte_range(vma, addr, nxt)
        addr = nxt
    lru_add_drain(k)


def mlock_fixup(vma: VmAreaStruct, start: int, end: int, newflags: int) -> VmAreaStruct:
    """Kernel: mm/mlock.c:mlock_fixup()

    PFN-mapped and hugetlb VMAs are left alone (no error). Otherwise split off the range
    (``vma_modify_flags()``) and mlock or munlock its folios; a VMA that was already locked
    only gets its flags. Returns the VMA that now covers the range.
    """
    from mrelease_ref.include.linux.mm_types import VM_HUGETLB
    from mrelease_ref.mm.vma import vma_modify_flags

    oldflags = vma.vm_flags
    if newflags == oldflags or oldflags & (VM_PFNMAP | _VM_IO) or oldflags & VM_HUGETLB:
        return vma
    vma = vma_modify_flags(vma, start, end, newflags)
    if not (newflags & VM_LOCKED and oldflags & VM_LOCKED):  # mlocking twice would be wrong
        mlock_vma_pages_range(vma, start, end, newflags)
    return vma


def apply_vma_lock_flags(mm: MmStruct, start: int, length: int, flags: int) -> int:
    """Kernel: mm/mlock.c:apply_vma_lock_flags()

    Give every VMA of ``[start, start + length)`` the lock flags ``flags``. A hole stops the
    walk with ENOMEM, after the VMAs before it were changed.
    """
    from mrelease_ref.mm.vma import find_vma

    end = start + length
    if end < start:
        return -errno.EINVAL
    if end == start:
        return 0
    vma = find_vma(mm, start)
    if vma is None or vma.vm_start > start:
        return -errno.ENOMEM
    nstart, tmp = start, vma.vm_start
    cur: VmAreaStruct | None = vma
    while cur is not None and cur.vm_start < end:
        if cur.vm_start != tmp:
            return -errno.ENOMEM
        newflags = (cur.vm_flags & ~VM_LOCKED_MASK) | flags
        tmp = min(cur.vm_end, end)
        cur = mlock_fixup(cur, nstart, tmp, newflags)
        tmp = nstart = max(tmp, min(cur.vm_end, end))  # vma_iter_end()
        cur = find_vma(mm, cur.vm_end)
    return -errno.ENOMEM if tmp < end else 0


def count_mm_mlocked_page_nr(mm: MmStruct, start: int, length: int) -> int:
    """Kernel: mm/mlock.c:count_mm_mlocked_page_nr(): pages of the range already locked."""
    end = start + length
    count = 0
    for vma in mm.mm_mt:
        if vma.vm_flags & VM_LOCKED and vma.vm_start < end and vma.vm_end > start:
            count += min(end, vma.vm_end) - max(start, vma.vm_start)
    return count >> mm.kernel.pg.PAGE_SHIFT


def _locked_vm(mm: MmStruct) -> int:
    """``mm->locked_vm``: pages in VM_LOCKED VMAs (the model derives it instead of
    keeping a counter)."""
    shift = mm.kernel.pg.PAGE_SHIFT
    return sum((v.vm_end - v.vm_start) >> shift for v in mm.mm_mt if v.vm_flags & VM_LOCKED)


def do_mlock(task: TaskStruct, start: int, length: int, flags: int) -> int:
    """Kernel: mm/mlock.c:do_mlock() (mlock() is flags = VM_LOCKED)

    ``start`` is rounded down and ``length`` up to pages (no EINVAL for an unaligned
    start, unlike madvise/mprotect). Over RLIMIT_MEMLOCK without CAP_IPC_LOCK: ENOMEM
    (EPERM when the limit is 0). Then lock the VMAs and fault the range in
    (``__mm_populate()``); a hole is ENOMEM and nothing is populated.
    """
    from mrelease_ref.mm.mprotect import _populate_range
    from mrelease_ref.mm.vma import vmas_in_range

    mm = task.mm
    assert mm is not None
    if not can_do_mlock(task):
        return -errno.EPERM
    pg = mm.kernel.pg
    mask = pg.PAGE_SIZE - 1
    length = (length + (start & mask) + mask) & ~mask  # PAGE_ALIGN(len + offset_in_page())
    start &= ~mask
    lock_limit = RLIMIT_MEMLOCK_DEFAULT >> pg.PAGE_SHIFT
    locked = (length >> pg.PAGE_SHIFT) + _locked_vm(mm)
    if locked > lock_limit and not _capable_ipc_lock(task):
        locked -= count_mm_mlocked_page_nr(mm, start, length)
    if locked > lock_limit and not _capable_ipc_lock(task):
        return -errno.ENOMEM
    error = apply_vma_lock_flags(mm, start, length, flags)
    if error:
        return error
    for vma in vmas_in_range(mm, start, start + length):  # __mm_populate()
        if vma.vm_flags & (VM_PFNMAP | _VM_IO) or not vma.vm_flags & VM_LOCKED:
            continue
        write = (vma.vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE
        if _populate_range(vma, max(start, vma.vm_start), min(start + length, vma.vm_end),
                           write):
            return -errno.ENOMEM  # __mlock_posix_error_return(): EFAULT/ENOMEM -> ENOMEM
    return 0


def sys_munlock(task: TaskStruct, start: int, length: int) -> int:
    """Kernel: mm/mlock.c:SYSCALL_DEFINE2(munlock): clear VM_LOCKED; the folios go back to
    the evictable LRU once no other VM_LOCKED mapping holds them."""
    mm = task.mm
    assert mm is not None
    mask = mm.kernel.pg.PAGE_SIZE - 1
    length = (length + (start & mask) + mask) & ~mask
    start &= ~mask
    return apply_vma_lock_flags(mm, start, length, 0)


def apply_mlockall_flags(task: TaskStruct, flags: int) -> int:
    """Kernel: mm/mlock.c:apply_mlockall_flags() (MCL_CURRENT; MCL_FUTURE would lock later
    mappings and is not modelled)"""
    mm = task.mm
    assert mm is not None
    to_add = VM_LOCKED if flags & MCL_CURRENT else 0
    if flags & MCL_ONFAULT:
        to_add |= VM_LOCKONFAULT
    for vma in list(mm.mm_mt):
        if vma in mm.mm_mt:  # an earlier merge may have swallowed it
            mlock_fixup(vma, vma.vm_start, vma.vm_end,
                        (vma.vm_flags & ~VM_LOCKED_MASK) | to_add)
    return 0


def sys_mlockall(task: TaskStruct, flags: int) -> int:
    """Kernel: mm/mlock.c:SYSCALL_DEFINE1(mlockall)

    EINVAL for no or unknown flags (or MCL_ONFAULT alone); the whole address space must
    fit RLIMIT_MEMLOCK without CAP_IPC_LOCK (ENOMEM); then lock and populate every VMA.
    """
    from mrelease_ref.mm.mprotect import _populate_range

    mm = task.mm
    assert mm is not None
    if not flags or flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) or flags == MCL_ONFAULT:
        return -errno.EINVAL
    if flags & MCL_FUTURE:
        raise ValueError("mlockall(MCL_FUTURE) is not modelled; use MCL_CURRENT")
    if not can_do_mlock(task):
        return -errno.EPERM
    shift = mm.kernel.pg.PAGE_SHIFT
    total = sum((v.vm_end - v.vm_start) >> shift for v in mm.mm_mt)
    if total > RLIMIT_MEMLOCK_DEFAULT >> shift and not _capable_ipc_lock(task):
        return -errno.ENOMEM
    apply_mlockall_flags(task, flags)
    if flags & MCL_CURRENT and not flags & MCL_ONFAULT:
        for vma in list(mm.mm_mt):
            if vma.vm_flags & VM_LOCKED and not vma.vm_flags & (VM_PFNMAP | _VM_IO):
                write = (vma.vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE
                _populate_range(vma, vma.vm_start, vma.vm_end, write)
    return 0

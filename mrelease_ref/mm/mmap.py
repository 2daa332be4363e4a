"""Creating and destroying VMAs, and ``exit_mmap()``.

Kernel: mm/mmap.c (do_mmap(), exit_mmap()), mm/vma.c (mmap_region(), remove_vma(),
do_vmi_munmap(), accountable_mapping()), mm/memory.c (free_pgtables()), mm/shmem.c
(shmem_zero_setup(), shmem_acct_size()), mm/gup.c (populate for mlock)

A private writable mapping, and a shared anonymous one, are charged to the commit limit
at mmap() (``__vm_enough_memory()`` in :mod:`mrelease_ref.mm.util`; ENOMEM when refused)
and uncharged when the VMA (or the shmem object) goes. A hugetlb mapping reserves pool
pages instead (:mod:`mrelease_ref.mm.hugetlb`).

``exit_mmap()`` is where a victim's own teardown meets a reaper. It zaps everything under
the *read* lock, sets MMF_OOM_SKIP, then takes the *write* lock, which waits for any reaper
still holding the read lock; a reaper that arrives later sees MMF_OOM_SKIP and backs off
(docs/sources.md §K1.7).

Limitations:
- Every mmap() is its own VMA, placed after the previous one with a one-page gap, 2
  MiB-aligned when it is at least 2 MiB long; only mprotect/mlock/madvise split and merge
  VMAs (mm/vma.py).
- munmap() only removes whole VMAs, one gather each (the kernel's ``vms_clear_ptes()``
  zaps every VMA of the range into one gather; x86_64's CONFIG_MMU_GATHER_MERGE_VMAS then
  flushes the TLB once for all of them).
- No mmu notifiers, uprobes, khugepaged; no RLIMIT_AS (``may_expand_vm()``).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from mrelease_ref.include.asm_generic.tlb import TASK_SIZE
from mrelease_ref.include.linux.fs import FMODE_WRITE, AddressSpace, File
from mrelease_ref.include.linux.mm_types import (
    MMF_OOM_SKIP,
    VM_HUGEPAGE,
    VM_HUGETLB,
    VM_LOCKED,
    VM_MAYEXEC,
    VM_MAYREAD,
    VM_MAYSHARE,
    VM_MAYWRITE,
    VM_PFNMAP,
    VM_READ,
    VM_SHARED,
    VM_WRITE,
    AnonVma,
    MmStruct,
    PteTable,
    VmAreaStruct,
    mm_flags_set,
    vma_pages,
)
from mrelease_ref.include.linux.mmzone import NR_PAGETABLE
from mrelease_ref.include.linux.rwsem import (
    mmap_read_lock,
    mmap_read_unlock,
    mmap_write_lock,
    mmap_write_lock_killable,
    mmap_write_unlock,
)
from mrelease_ref.kernel.sched import KernelGen, cond_resched
from mrelease_ref.mm.hugetlb import (
    HPAGE_NR,
    hugetlb_nr_pages,
    hugetlb_reserve_pages,
    hugetlb_vm_op_close,
    set_vma_resv_map,
)
from mrelease_ref.mm.memory import VM_FAULT_SIGBUS, handle_mm_fault, unmap_vmas
from mrelease_ref.mm.mmu_gather import tlb_finish_mmu, tlb_gather_mmu, tlb_gather_mmu_fullmm
from mrelease_ref.mm.truncate import truncate_inode_pages
from mrelease_ref.mm.util import security_vm_enough_memory_mm, vm_unacct_memory

if TYPE_CHECKING:
    from mrelease_ref.include.linux.sched import TaskStruct
    from mrelease_ref.sim.kernel import Kernel

VM_IO = 0x00004000
VM_DONTEXPAND = 0x00040000
VM_ACCOUNT = 0x00100000  # include/linux/mm.h: charged to vm_committed_as


def shmem_zero_setup(kernel: Kernel, nr_pages: int) -> File:
    """Kernel: mm/shmem.c:shmem_zero_setup(): back MAP_SHARED|MAP_ANONYMOUS with tmpfs."""
    inode = kernel.new_inode("dev/zero (deleted)", nr_pages, "shmem")
    return File("shmem", inode)


def get_unmapped_area(mm: MmStruct, length: int) -> int:
    """Kernel: mm/mmap.c:__get_unmapped_area() (model: bump allocator, THP-aligned)"""
    pg = mm.kernel.pg
    addr = mm.mmap_next
    if length >= pg.PMD_SIZE:
        addr = (addr + pg.PMD_SIZE - 1) & ~(pg.PMD_SIZE - 1)
    mm.mmap_next = addr + length + pg.PAGE_SIZE
    return addr


def do_mmap(
    mm: MmStruct,
    file: File | None,
    nr_pages: int,
    *,
    shared: bool,
    write: bool,
    locked: bool,
    hugepage: bool,
    pfnmap: bool,
    hugetlb: bool,
    pgoff: int,
) -> VmAreaStruct | int:
    """Kernel: mm/mmap.c:do_mmap() and mm/vma.c:mmap_region()

    Returns the new VMA, or ``-errno``. A MAP_SHARED mapping of a file opened without
    write access gets VM_MAYSHARE but not VM_SHARED, exactly as in the kernel, so the
    reaper treats it as private.
    """
    pg = mm.kernel.pg
    if nr_pages <= 0:
        return -errno.EINVAL
    vm_flags = VM_READ | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC
    if write:
        vm_flags |= VM_WRITE
    if shared:
        vm_flags |= VM_SHARED | VM_MAYSHARE
        if file is not None and not file.f_mode & FMODE_WRITE:
            if write:
                return -errno.EACCES
            vm_flags &= ~(VM_MAYWRITE | VM_SHARED)
    if locked:
        vm_flags |= VM_LOCKED
    if hugepage:
        vm_flags |= VM_HUGEPAGE
    if pfnmap:
        vm_flags |= VM_PFNMAP | VM_IO | VM_DONTEXPAND
    if hugetlb:
        vm_flags |= VM_HUGETLB
        nr_pages = hugetlb_nr_pages(nr_pages) * HPAGE_NR  # ALIGN(len, huge_page_size())
        if hugetlb_reserve_pages(mm.kernel, nr_pages // HPAGE_NR):
            return -errno.ENOMEM
    charged = 0
    if accountable_mapping(file, vm_flags) or (file is None and shared):
        charged = nr_pages  # accountable_mapping(), or shmem_acct_size() for shared anon
        if security_vm_enough_memory_mm(mm, charged, mm.kernel.current):
            return -errno.ENOMEM
        if not shared:
            vm_flags |= VM_ACCOUNT
    if file is None and shared:
        file = shmem_zero_setup(mm.kernel, nr_pages)
        pgoff = 0
    elif file is not None:
        file.f_count += 1  # the VMA's reference: get_file()
    start = get_unmapped_area(mm, nr_pages << pg.PAGE_SHIFT)
    vma = VmAreaStruct(mm, start, start + (nr_pages << pg.PAGE_SHIFT), vm_flags, pgoff, file)
    if hugetlb:
        set_vma_resv_map(vma, nr_pages // HPAGE_NR)
    if file is not None:
        assert file.f_inode is not None
        vma.vm_ops = "pfnmap" if pfnmap else ("hugetlb" if hugetlb else file.f_inode.kind)
        file.f_inode.i_mapping.i_mmap.append(vma)
    elif pfnmap or hugetlb:
        vma.vm_ops = "pfnmap" if pfnmap else "hugetlb"
    else:
        vma.anon_vma = AnonVma(vma)
    mm.mm_mt.append(vma)
    mm.mm_mt.sort(key=lambda v: v.vm_start)
    mm.total_vm += nr_pages
    if locked:
        populate_vma_page_range(vma)
    return vma


def accountable_mapping(file: File | None, vm_flags: int) -> bool:
    """Kernel: mm/vma.c:accountable_mapping(): private writable, not hugetlb."""
    if vm_flags & VM_HUGETLB:
        return False
    return vm_flags & (VM_SHARED | VM_WRITE) == VM_WRITE


def populate_vma_page_range(vma: VmAreaStruct) -> int:
    """Kernel: mm/gup.c:populate_vma_page_range()

    Fault in every page (mlock/MAP_POPULATE). Private writable mappings are write-faulted
    so later writes need no COW.
    """
    pg = vma.vm_mm.kernel.pg
    write = (vma.vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE
    for addr in range(vma.vm_start, vma.vm_end, pg.PAGE_SIZE):
        ret = handle_mm_fault(vma, addr, write)
        if ret:
            return ret
    return 0


def fput(file: File) -> None:
    """Kernel: fs/file_table.c:fput()

    The last reference to a shmem-backed file evicts its inode, which truncates its pages.
    """
    file.f_count -= 1
    if file.f_count or file.f_inode is None:
        return
    inode = file.f_inode
    inode.i_count -= 1
    if inode.kind == "shmem" and inode.i_count <= 0 and inode.name.endswith("(deleted)"):
        truncate_inode_pages(inode.i_mapping)
        if not inode.noreserve:  # shmem_evict_inode(): shmem_unacct_size()
            vm_unacct_memory(inode.kernel, inode.i_size)
        inode.kernel.inodes.remove(inode)  # evict() -> destroy_inode(): the inode is gone


def remove_vma(vma: VmAreaStruct) -> None:
    """Kernel: mm/vma.c:remove_vma() (with unlink_anon_vmas() and unlink_file_vma() from
    free_pgtables()), and the uncharging of ``vms_complete_munmap_vmas()``/``exit_mmap()``
    (``vm_unacct_memory()``)."""
    from mrelease_ref.mm.rmap import unlink_anon_vmas

    unlink_anon_vmas(vma)
    mm = vma.vm_mm
    nr_pages = vma_pages(vma)
    mm.total_vm -= nr_pages
    if vma.vm_flags & VM_ACCOUNT:
        vm_unacct_memory(mm.kernel, nr_pages)
    if vma.vm_flags & VM_HUGETLB:
        hugetlb_vm_op_close(vma)  # vma->vm_ops->close()
    f = vma.vm_file
    if f is not None:
        assert f.f_inode is not None
        mapping: AddressSpace = f.f_inode.i_mapping
        mapping.i_mmap.remove(vma)
        fput(f)


def free_pgtables(mm: MmStruct) -> None:
    """Kernel: mm/memory.c:free_pgtables() (the whole address space)"""
    pg = mm.kernel.pg
    mm.kernel.vmstat[NR_PAGETABLE] -= mm.pgtables_bytes // pg.PAGE_SIZE
    mm.pgd.clear()
    mm.pgtables_bytes = 0


def free_pgd_range(mm: MmStruct, addr: int, end: int, floor: int, ceiling: int) -> None:
    """Kernel: mm/memory.c:free_pgd_range() (the PTE-table level of the two modelled)

    Free the page tables covering ``addr..end`` that lie wholly between ``floor`` (end of
    the previous VMA) and ``ceiling`` (start of the next; 0 = top of the address space),
    so a table shared with a neighbouring VMA stays. The range must already be zapped.
    """
    pg = mm.kernel.pg
    first = addr >> pg.PMD_SHIFT
    if first << pg.PMD_SHIFT < floor:
        first += 1
    last = (end - 1) >> pg.PMD_SHIFT
    if ceiling and (last + 1) << pg.PMD_SHIFT > ceiling & ~(pg.PMD_SIZE - 1):
        last -= 1
    for idx in range(first, last + 1):
        table = mm.pgd.get(idx)
        if table is None:
            continue
        if not isinstance(table, PteTable) or not table.is_empty():
            raise AssertionError(f"free_pgd_range: PMD index {idx} still maps something")
        del mm.pgd[idx]
        mm.pgtables_bytes -= pg.PAGE_SIZE
        mm.kernel.vmstat[NR_PAGETABLE] -= 1


def exit_mmap(mm: MmStruct, current: TaskStruct) -> KernelGen[None]:
    """Kernel: mm/mmap.c:exit_mmap()

    Tear down the whole address space when its last user is gone, in v6.18's phases:

    1. under ``mmap_read_lock()``: ``unmap_vmas()`` zaps everything into one full-mm
       gather, rescheduling after every PMD (a reaper holding the read lock zaps beside
       it; pages batched in the gather are not freed yet);
    2. ``mmap_read_unlock()``, then MMF_OOM_SKIP: a reaper that gets the lock from now on
       backs off;
    3. ``mmap_write_lock()`` -- waits for a reaper still inside its read-side section --
       then ``free_pgtables()`` and ``tlb_finish_mmu()``, which frees what the gather holds;
    4. still under the write lock, ``remove_vma()`` for each VMA with ``cond_resched()``
       after each one.

    v6.18 no longer calls ``lru_add_drain()`` first (older kernels did), so folios the
    victim faulted in just before may still sit in its CPU's LRU batch while they are
    zapped.
    """
    yield from mmap_read_lock(mm, current)
    vmas = list(mm.mm_mt)
    if not vmas:
        mmap_read_unlock(mm)
        yield from mmap_write_lock(mm, current)
    else:
        tlb = tlb_gather_mmu_fullmm(mm)
        yield from unmap_vmas(tlb, vmas, 0, TASK_SIZE)
        mmap_read_unlock(mm)
        # Set MMF_OOM_SKIP to hide this task from the oom killer/reaper: nothing is left.
        mm_flags_set(MMF_OOM_SKIP, mm)
        yield from mmap_write_lock(mm, current)
        free_pgtables(mm)
        tlb_finish_mmu(tlb)
        for vma in vmas:
            remove_vma(vma)
            mm.mm_mt.remove(vma)  # vma_mark_detached()
            yield cond_resched("exit_mmap:remove_vma")
    mmap_write_unlock(mm)


def do_munmap(mm: MmStruct, vma: VmAreaStruct, current: TaskStruct) -> KernelGen[int]:
    """Kernel: mm/vma.c:do_vmi_munmap() (one whole VMA)

    Zap, then free the page tables no neighbouring VMA shares (``vms_clear_ptes()``;
    like ``exit_mmap()`` in v6.18, no ``lru_add_drain()`` first). The lock is taken
    killable (``__vm_munmap()``): -EINTR when a fatal signal arrives while it waits.
    """
    if (yield from mmap_write_lock_killable(mm, current)):
        return -errno.EINTR
    tlb = tlb_gather_mmu(mm)
    yield from unmap_vmas(tlb, [vma], vma.vm_start, vma.vm_end)
    i = mm.mm_mt.index(vma)  # vms_clear_ptes() -> free_pgtables() between the neighbours
    floor = mm.mm_mt[i - 1].vm_end if i > 0 else 0
    ceiling = mm.mm_mt[i + 1].vm_start if i + 1 < len(mm.mm_mt) else 0
    free_pgd_range(mm, vma.vm_start, vma.vm_end, floor, ceiling)
    tlb_finish_mmu(tlb)
    mm.mm_mt.remove(vma)
    remove_vma(vma)
    mmap_write_unlock(mm)
    return 0


def fault_in(vma: VmAreaStruct, start: int, nr_pages: int, write: bool) -> int:
    """Model helper: touch ``nr_pages`` pages from ``start`` (user-space accesses)."""
    pg = vma.vm_mm.kernel.pg
    for addr in range(start, start + (nr_pages << pg.PAGE_SHIFT), pg.PAGE_SIZE):
        ret = handle_mm_fault(vma, addr, write)
        if ret:
            return ret
    return 0


VM_LOCKONFAULT = 0x00080000
VM_LOCKED_MASK = VM_LOCKED | VM_LOCKONFAULT


def dup_mmap(mm: MmStruct, oldmm: MmStruct, current: TaskStruct) -> KernelGen[int]:
    """Kernel: mm/mmap.c:dup_mmap()

    fork()'s copy of the address space, under the parent's mmap write lock: every VMA
    except VM_DONTCOPY ones is duplicated (without VM_LOCKED: mlock is not inherited),
    linked into the parent's anon_vma chain with an anon_vma of its own
    (``anon_vma_fork()``; a VM_WIPEONFORK VMA starts empty instead), added to its file's
    i_mmap right after the parent's VMA, and its page tables copied where a fault could
    not rebuild them (``copy_page_range()``). Each VM_ACCOUNT VMA is charged again
    (``security_vm_enough_memory_mm()``, -ENOMEM when refused). A fatal signal stops the
    copy with -EINTR (the caller tears down what was copied). Returns 0 or -errno.
    """
    from mrelease_ref.include.linux.mm_types import VM_DONTCOPY, VM_WIPEONFORK
    from mrelease_ref.kernel.signal import fatal_signal_pending
    from mrelease_ref.mm.memory import copy_page_range
    from mrelease_ref.mm.rmap import anon_vma_fork

    if fatal_signal_pending(current):  # mmap_write_lock_killable(oldmm)
        return -errno.EINTR
    yield from mmap_write_lock(oldmm, current)
    mm.mmap_next = oldmm.mmap_next
    mm.total_vm = oldmm.total_vm
    retval = 0
    for mpnt in list(oldmm.mm_mt):
        nr_pages = vma_pages(mpnt)
        if mpnt.vm_flags & VM_DONTCOPY:
            mm.total_vm -= nr_pages  # vm_stat_account(mm, flags, -vma_pages(mpnt))
            continue
        if fatal_signal_pending(current):  # "Don't duplicate many vmas if we've been
            retval = -errno.EINTR          # oom-killed"
            break
        # the child's copy of a VM_ACCOUNT VMA is a commitment of its own (charged to
        # oldmm, "sic" in the kernel); the copy keeps VM_ACCOUNT and uncharges at unmap
        if mpnt.vm_flags & VM_ACCOUNT and security_vm_enough_memory_mm(oldmm, nr_pages,
                                                                       current):
            retval = -errno.ENOMEM  # fail_nomem
            break
        tmp = VmAreaStruct(mm, mpnt.vm_start, mpnt.vm_end, mpnt.vm_flags & ~VM_LOCKED_MASK,
                           mpnt.vm_pgoff, mpnt.vm_file, None, mpnt.vm_ops)  # vm_area_dup()
        if not tmp.vm_flags & VM_WIPEONFORK:
            anon_vma_fork(tmp, mpnt)
        mm.mm_mt.append(tmp)  # vma_iter_bulk_store()
        f = tmp.vm_file
        if f is not None:
            assert f.f_inode is not None
            f.f_count += 1  # get_file()
            i_mmap = f.f_inode.i_mapping.i_mmap
            i_mmap.insert(i_mmap.index(mpnt) + 1, tmp)  # vma_interval_tree_insert_after()
        if not tmp.vm_flags & VM_WIPEONFORK:
            retval = copy_page_range(tmp, mpnt)
        if retval:
            break
    mmap_write_unlock(oldmm)
    return retval


__all__ = [
    "VM_FAULT_SIGBUS",
    "do_mmap",
    "do_munmap",
    "dup_mmap",
    "exit_mmap",
    "fault_in",
    "fput",
    "free_pgd_range",
    "free_pgtables",
    "get_unmapped_area",
    "populate_vma_page_range",
    "remove_vma",
    "shmem_zero_setup",
]

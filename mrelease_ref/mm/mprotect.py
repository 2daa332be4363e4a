"""mprotect(): change the access rights of a range, splitting and merging VMAs.

Kernel: mm/mprotect.c (do_mprotect_pkey(), mprotect_fixup(), change_protection(),
change_pte_range(), can_change_pte_writable()), include/linux/mman.h
(calc_vm_prot_bits()), arch/x86/mm/fault.c (access_error())

``do_mprotect_pkey()`` checks the arguments (unaligned start: EINVAL; nothing mapped at
``start``: ENOMEM), then walks the VMAs of the range: each gets new ``VM_READ/WRITE/EXEC``
bits through ``mprotect_fixup()`` -> ``vma_modify_flags()`` (split at the ends, merge with
matching neighbours) and ``change_protection()`` rewrites its PTEs. Asking for a right the
mapping may never have (``PROT_WRITE`` on a MAP_SHARED mapping of a read-only fd: no
``VM_MAYWRITE``) is EACCES. A hole stops the walk with ENOMEM, after the VMAs before it were
changed. Taking write away write-protects the PTEs; giving it back makes exclusive
anonymous PTEs (private mappings) and dirty PTEs (shared mappings) writable at once
(``MM_CP_TRY_CHANGE_WRITABLE``); the rest take a write fault. A private mlocked mapping
that becomes writable is populated again (its COW copies made now).

An access the VMA does not allow (a write to a read-only VMA, anything to PROT_NONE) is a
SIGSEGV from the arch fault handler (``access_error()``), before ``handle_mm_fault()``.

Limitations:
- No protection keys (``pkey`` is -1), no PROT_GROWSDOWN/GROWSUP, no READ_IMPLIES_EXEC,
  no sealed VMAs, no VM_ACCOUNT bookkeeping (committed memory is not modelled).
- PROT_NONE PTEs are left as they are (the kernel makes them ``pte_protnone``): the model
  checks access rights per VMA in ``access_error()``, which gives the same signals.
- Huge PMDs keep their bits (``change_huge_pmd()`` is not modelled).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Final

from mrelease_ref.include.linux.mm_types import (
    _PAGE_DIRTY,
    _PAGE_RW,
    VM_EXEC,
    VM_LOCKED,
    VM_READ,
    VM_SHARED,
    VM_WRITE,
    MmStruct,
    Pte,
    PteTable,
    VmAreaStruct,
    folio_mapcount,
)
from mrelease_ref.include.linux.page_flags import PG_anon

if TYPE_CHECKING:
    from mrelease_ref.mm.mmu_gather import MmuGather

# include/uapi/asm-generic/mman-common.h
PROT_NONE: Final = 0x0
PROT_READ: Final = 0x1
PROT_WRITE: Final = 0x2
PROT_EXEC: Final = 0x4
PROT_GROWSDOWN: Final = 0x01000000
PROT_GROWSUP: Final = 0x02000000
VM_ACCESS_FLAGS: Final = VM_READ | VM_WRITE | VM_EXEC
MM_CP_TRY_CHANGE_WRITABLE: Final = 1 << 0


def calc_vm_prot_bits(prot: int) -> int:
    """Kernel: include/linux/mman.h:calc_vm_prot_bits(): PROT_* -> VM_READ/WRITE/EXEC."""
    return ((VM_READ if prot & PROT_READ else 0) | (VM_WRITE if prot & PROT_WRITE else 0)
            | (VM_EXEC if prot & PROT_EXEC else 0))


def can_change_pte_writable(vma: VmAreaStruct, addr: int, pte: Pte) -> bool:
    """Kernel: mm/mprotect.c:can_change_pte_writable()

    Private mappings: only a page of an exclusive anonymous folio (PageAnonExclusive; the
    model has no fork, so an anonymous folio mapped once). Shared mappings: a dirty PTE
    (the folio is already dirty, no write notification is needed).
    """
    if not vma.vm_flags & VM_WRITE:
        return False
    if not vma.vm_flags & VM_SHARED:
        folio = pte.folio
        return folio is not None and bool(folio.flags & PG_anon) and folio_mapcount(folio) == 1
    return bool(pte.bits & _PAGE_DIRTY)


def change_pte_range(
    tlb: MmuGather, vma: VmAreaStruct, table: PteTable, addr: int, end: int,
    cp_flags: int,
) -> int:
    """Kernel: mm/mprotect.c:change_pte_range()

    Rewrite the present PTEs of one table's part of ``[addr, end)`` for ``vma``'s new
    rights: write-protect them when the VMA lost VM_WRITE, or make the ones that need no
    write fault writable. Returns the number of PTEs changed.
    """
    from mrelease_ref.include.asm_generic.tlb import tlb_remove_tlb_entries

    pg = tlb.mm.kernel.pg
    pages = 0
    i = pg.pte_index(addr)
    while addr < end:
        pte = table[i]
        if isinstance(pte, Pte):
            new_bits = pte.bits & ~_PAGE_RW  # pte_modify() to vma->vm_page_prot
            if cp_flags & MM_CP_TRY_CHANGE_WRITABLE and can_change_pte_writable(vma, addr, pte):
                new_bits |= _PAGE_RW
            elif vma.vm_flags & VM_WRITE and vma.vm_flags & VM_SHARED and pte.bits & _PAGE_RW:
                new_bits |= _PAGE_RW  # a shared writable PTE stays writable
            if new_bits != pte.bits:
                table[i] = Pte(pte.folio, pte.idx, new_bits)  # ptep_modify_prot_commit()
                tlb_remove_tlb_entries(tlb, 1, addr)
                pages += 1
        i += 1
        addr += pg.PAGE_SIZE
    return pages


def change_protection(tlb: MmuGather, vma: VmAreaStruct, start: int, end: int,
                      cp_flags: int) -> int:
    """Kernel: mm/mprotect.c:change_protection() (change_protection_range() and the
    pmd/pud/p4d walk folded in; huge PMDs are left as they are)"""
    pg = tlb.mm.kernel.pg
    pgd = vma.vm_mm.pgd
    pages = 0
    addr = start
    while addr < end:
        nxt = min((addr | (pg.PMD_SIZE - 1)) + 1, end)
        table = pgd.get(addr >> pg.PMD_SHIFT)
        if isinstance(table, PteTable):
            pages += change_pte_range(tlb, vma, table, addr, nxt, cp_flags)
        addr = nxt
    return pages


def vma_wants_manual_pte_write_upgrade(vma: VmAreaStruct) -> bool:
    """Kernel: mm/vma.h:vma_wants_manual_pte_write_upgrade(): a private writable
    mapping always; a shared one when it needs write notification (every shared file and
    shmem mapping in the model: dirty tracking)."""
    return bool(vma.vm_flags & VM_WRITE)


def mprotect_fixup(tlb: MmuGather, vma: VmAreaStruct, start: int, end: int,
                   newflags: int) -> tuple[int, VmAreaStruct]:
    """Kernel: mm/mprotect.c:mprotect_fixup()

    Give ``[start, end)`` of ``vma`` the flags ``newflags`` and rewrite its PTEs. Returns
    ``(0, vma)`` with the VMA that now covers the range.
    """
    from mrelease_ref.mm.vma import vma_modify_flags

    oldflags = vma.vm_flags
    if newflags == oldflags:
        return 0, vma
    vma = vma_modify_flags(vma, start, end, newflags)
    cp_flags = MM_CP_TRY_CHANGE_WRITABLE if vma_wants_manual_pte_write_upgrade(vma) else 0
    change_protection(tlb, vma, start, end, cp_flags)
    if (oldflags & (VM_WRITE | VM_SHARED | VM_LOCKED)) == VM_LOCKED and newflags & VM_WRITE:
        _populate_range(vma, start, end, write=True)
    return 0, vma


def _populate_range(vma: VmAreaStruct, start: int, end: int, write: bool) -> int:
    """``populate_vma_page_range()`` (mm/gup.c) over ``[start, end)``: fault every page in
    (a write fault for a private writable mapping). Returns the first failing fault's code."""
    from mrelease_ref.mm.memory import handle_mm_fault

    pg = vma.vm_mm.kernel.pg
    for addr in range(start, end, pg.PAGE_SIZE):
        ret = handle_mm_fault(vma, addr, write)
        if ret:
            return ret
    return 0


def do_mprotect_pkey(mm: MmStruct, start: int, length: int, prot: int) -> int:
    """Kernel: mm/mprotect.c:do_mprotect_pkey() (pkey -1: mprotect())

    Returns 0 or ``-errno`` (EINVAL, ENOMEM, EACCES); see the module docstring.
    """
    from mrelease_ref.mm.mmu_gather import tlb_finish_mmu, tlb_gather_mmu
    from mrelease_ref.mm.vma import find_vma

    pg = mm.kernel.pg
    if prot & (PROT_GROWSDOWN | PROT_GROWSUP) == PROT_GROWSDOWN | PROT_GROWSUP:
        return -errno.EINVAL
    if start & (pg.PAGE_SIZE - 1):
        return -errno.EINVAL
    if not length:
        return 0
    length = (length + pg.PAGE_SIZE - 1) & ~(pg.PAGE_SIZE - 1)
    end = start + length
    if end <= start:
        return -errno.ENOMEM
    if prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC):  # arch_validate_prot()
        return -errno.EINVAL
    vma = find_vma(mm, start)
    if vma is None or vma.vm_start >= end or vma.vm_start > start:
        return -errno.ENOMEM
    tlb = tlb_gather_mmu(mm)
    error = 0
    nstart, tmp = start, vma.vm_start
    cur: VmAreaStruct | None = vma
    while cur is not None and cur.vm_start < end:  # for_each_vma_range()
        if cur.vm_start != tmp:
            error = -errno.ENOMEM
            break
        newflags = calc_vm_prot_bits(prot) | (cur.vm_flags & ~VM_ACCESS_FLAGS)
        if (newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS:  # a right without its VM_MAY*
            error = -errno.EACCES
            break
        tmp = min(cur.vm_end, end)
        error, cur = mprotect_fixup(tlb, cur, nstart, tmp, newflags)
        if error:
            break
        tmp = nstart = cur.vm_end  # vma_iter_end(): the end of the (merged) VMA
        cur = find_vma(mm, tmp)
    tlb_finish_mmu(tlb)
    if not error and tmp < end:
        error = -errno.ENOMEM
    return error


def access_error(write: bool, vma: VmAreaStruct) -> bool:
    """Kernel: arch/x86/mm/fault.c:access_error(): True when the VMA does not allow the
    access (a write without VM_WRITE; a read with none of VM_READ/WRITE/EXEC)."""
    if write:
        return not vma.vm_flags & VM_WRITE
    return not vma.vm_flags & VM_ACCESS_FLAGS

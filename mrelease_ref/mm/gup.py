"""get_user_pages(): find (faulting in if needed) the page behind a user address of any mm.

Kernel: mm/gup.c (check_vma_flags(), follow_page_mask() -> follow_page_pte(),
can_follow_write_pte(), faultin_page(), __get_user_pages()),
include/linux/mm.h:get_user_page_vma_remote()

What ``/proc/<pid>/mem`` and ptrace use: look the page up in the page tables; if it is not
there, or a write needs a writable page that is not, fault it in with ``handle_mm_fault()``
and look again. FOLL_FORCE lets a write reach a read-only private mapping: the fault
copies the page (COW) and GUP may write to that exclusive anonymous copy through its
read-only PTE (``can_follow_write_pte()``). A failed fault -- out of memory, or SIGBUS on
an mm the OOM reaper or ``process_mrelease()`` has reaped (``check_stable_address_space()``)
-- makes GUP fail with -EFAULT (-ENOMEM for OOM).

Limitations:
- One page per call (``get_user_page_vma_remote()``); no pinning (FOLL_PIN/FOLL_LONGTERM),
  no FOLL_DUMP, no stack expansion, no fault retry (VM_FAULT_RETRY) or fault-around.
- A GUP reference is not taken: the model's caller uses the page within the same step.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Final

from mrelease_ref.include.linux.mm_types import (
    _PAGE_RW,
    VM_MAYREAD,
    VM_MAYSHARE,
    VM_MAYWRITE,
    VM_PFNMAP,
    VM_READ,
    VM_SHARED,
    VM_WRITE,
    Folio,
    MmStruct,
    Pmd,
    Pte,
    VmAreaStruct,
    find_vma,
)
from mrelease_ref.include.linux.page_flags import PG_anon, PG_anon_exclusive

if TYPE_CHECKING:
    pass

# enum gup_flags: include/linux/mm_types.h
FOLL_WRITE: Final = 1 << 0
FOLL_GET: Final = 1 << 1
FOLL_FORCE: Final = 1 << 3
VM_IO: Final = 0x00004000

UserPage = tuple[Folio | None, int]
"""A page GUP found: ``(folio, index in folio)``; ``(None, 0)`` is the zero page."""


def check_vma_flags(vma: VmAreaStruct, gup_flags: int) -> int:
    """Kernel: mm/gup.c:check_vma_flags()

    No GUP into VM_IO/VM_PFNMAP. A write needs VM_WRITE, or FOLL_FORCE on a COW mapping
    (private, VM_MAYWRITE); a read needs VM_READ, or FOLL_FORCE and VM_MAYREAD.
    Returns 0 or -EFAULT.
    """
    from mrelease_ref.mm.memory import is_cow_mapping

    flags = vma.vm_flags
    if flags & (VM_IO | VM_PFNMAP):
        return -errno.EFAULT
    if gup_flags & FOLL_WRITE:
        if not flags & VM_WRITE:
            if not gup_flags & FOLL_FORCE or not is_cow_mapping(flags):
                return -errno.EFAULT
    elif not flags & VM_READ:
        if not gup_flags & FOLL_FORCE or not flags & VM_MAYREAD:
            return -errno.EFAULT
    return 0


def can_follow_write_pte(writable: bool, folio: Folio | None, vma: VmAreaStruct,
                         gup_flags: int) -> bool:
    """Kernel: mm/gup.c:can_follow_write_pte() (with can_follow_write_common())

    A writable entry, or -- with FOLL_FORCE in a read-only private mapping -- an exclusive
    anonymous page (the copy a forced write fault just made).
    """
    if writable:
        return True
    if not gup_flags & FOLL_FORCE:
        return False
    flags = vma.vm_flags
    if flags & (VM_MAYSHARE | VM_SHARED) or not flags & VM_MAYWRITE or flags & VM_WRITE:
        return False
    return folio is not None and bool(folio.flags & PG_anon and folio.flags & PG_anon_exclusive)


def follow_page_mask(vma: VmAreaStruct, address: int, gup_flags: int) -> UserPage | None:
    """Kernel: mm/gup.c:follow_page_mask() -> follow_pmd_mask()/follow_page_pte()

    The page mapped at ``address``, or None when a fault is needed (nothing mapped, a swap
    entry, or a write that may not go through the entry as it is).
    """
    pg = vma.vm_mm.kernel.pg
    entry = vma.vm_mm.pgd.get(address >> pg.PMD_SHIFT)
    if entry is None:
        return None
    write = bool(gup_flags & FOLL_WRITE)
    if isinstance(entry, Pmd):
        if write and not can_follow_write_pte(bool(entry.bits & _PAGE_RW), entry.folio, vma,
                                              gup_flags):
            return None
        if entry.folio is None:
            return (None, 0)  # the huge zero page
        return (entry.folio, pg.pte_index(address))
    pte = entry[pg.pte_index(address)]
    if type(pte) is not Pte:
        return None
    if write and not can_follow_write_pte(bool(pte.bits & _PAGE_RW), pte.folio, vma, gup_flags):
        return None
    return (pte.folio, pte.idx)


def faultin_page(vma: VmAreaStruct, address: int, gup_flags: int) -> int:
    """Kernel: mm/gup.c:faultin_page(): ``handle_mm_fault()`` on behalf of GUP; a failed
    fault is -ENOMEM (VM_FAULT_OOM) or -EFAULT (VM_FAULT_SIGBUS and the rest)."""
    from mrelease_ref.mm.memory import VM_FAULT_OOM, handle_mm_fault

    # get_user_page_vma_remote() passes no ``locked``: no FAULT_FLAG_ALLOW_RETRY
    ret = handle_mm_fault(vma, address, bool(gup_flags & FOLL_WRITE),
                          force=bool(gup_flags & FOLL_FORCE), allow_retry=False)
    if ret & VM_FAULT_OOM:
        return -errno.ENOMEM
    if ret:
        return -errno.EFAULT
    return 0


def get_user_page_vma_remote(
    mm: MmStruct, addr: int, gup_flags: int
) -> tuple[UserPage | int, VmAreaStruct | None]:
    """Kernel: include/linux/mm.h:get_user_page_vma_remote() -> __get_user_pages()

    One page of ``mm`` at ``addr``: the VMA must exist and allow the access
    (``check_vma_flags()``); the page is looked up, faulted in and looked up again.
    Returns ``(page or -errno, vma)``.
    """
    vma = find_vma(mm, addr)
    if vma is None:
        return -errno.EFAULT, None
    err = check_vma_flags(vma, gup_flags)
    if err:
        return err, vma
    for _ in range(3):  # a fault resolves one obstacle; the model needs at most two
        page = follow_page_mask(vma, addr, gup_flags)
        if page is not None:
            return page, vma
        err = faultin_page(vma, addr, gup_flags)
        if err:
            return err, vma
    return -errno.EFAULT, vma

"""Splitting and merging VMAs when a call changes the flags of part of a mapping.

Kernel: mm/vma.c (__split_vma(), split_vma(), vma_modify_flags(), vma_modify(),
vma_merge_existing_range(), is_mergeable_vma()), mm/huge_memory.c
(vma_adjust_trans_huge()), mm/mmap.c:find_vma()

``mprotect()``, ``mlock()``/``munlock()`` and the madvise advices that change ``vm_flags``
(MADV_HUGEPAGE, MADV_RANDOM, ...) all go through ``vma_modify_flags()``: the VMA is split at
the range's ends, the middle part gets the new flags, and then it is merged with a
neighbour whose flags, file, offset and anon_vma now match (so ``mprotect()`` back to the
old protection leaves one VMA again, as ``/proc/<pid>/smaps`` shows on the live kernel).

Limitations:
- Merging considers the two neighbours of the changed range only (the kernel's
  ``vma_merge_existing_range()`` cases); new mappings are never merged with old ones
  (``do_mmap()`` places each one after a one-page gap).
- A split inside a PMD-mapped anonymous THP is refused (``__split_huge_pmd()`` of anonymous
  THPs is not modelled); a PMD-mapped file folio is unmapped instead, as the kernel does.
- No ``vm_area_struct`` locks, no VMA count limit (``sysctl_max_map_count``), no
  anon_vma_name, userfaultfd context or mempolicy comparison when merging.
"""

from __future__ import annotations

from mrelease_ref.include.linux.mm_types import (
    MmStruct,
    Pmd,
    VmAreaStruct,
    vma_pages,
)
from mrelease_ref.include.linux.page_flags import PG_anon
from mrelease_ref.mm.rmap import anon_vma_clone


def find_vma(mm: MmStruct, addr: int) -> VmAreaStruct | None:
    """Kernel: mm/mmap.c:find_vma(): the first VMA that ends above ``addr`` (it may start
    above it: the caller checks ``vm_start``)."""
    for vma in mm.mm_mt:
        if vma.vm_end > addr:
            return vma
    return None


def vmas_in_range(mm: MmStruct, start: int, end: int) -> list[VmAreaStruct]:
    """Model helper (``for_each_vma_range()``): the VMAs that overlap ``[start, end)``."""
    return [v for v in mm.mm_mt if v.vm_start < end and v.vm_end > start]


def vma_adjust_trans_huge(vma: VmAreaStruct, addr: int) -> None:
    """Kernel: mm/huge_memory.c:vma_adjust_trans_huge() (for one split address)

    A huge PMD that a VMA boundary at ``addr`` would cut is split first. The model unmaps a
    PMD-mapped file folio (its pages fault back in with PTEs) and refuses an anonymous THP.
    """
    from mrelease_ref.mm.huge_memory import __split_huge_pmd

    pg = vma.vm_mm.kernel.pg
    if not addr & (pg.PMD_SIZE - 1):
        return
    entry = vma.vm_mm.pgd.get(addr >> pg.PMD_SHIFT)
    if isinstance(entry, Pmd):
        if entry.folio is not None and entry.folio.flags & PG_anon:
            raise ValueError(
                f"splitting the VMA at {addr:#x} would split an anonymous THP, which the "
                "model does not do: use a 2 MiB-aligned range")
        __split_huge_pmd(vma, addr >> pg.PMD_SHIFT)


def __split_vma(vma: VmAreaStruct, addr: int, new_below: bool) -> VmAreaStruct:
    """Kernel: mm/vma.c:__split_vma()

    Cut ``vma`` at ``addr``. The new VMA takes the part below ``addr`` (``new_below``) or
    the part above it, and shares the file (one more reference) and the anon_vma. Returns
    the new VMA.
    """
    pg = vma.vm_mm.kernel.pg
    mm = vma.vm_mm
    assert vma.vm_start < addr < vma.vm_end, (vma, hex(addr))
    vma_adjust_trans_huge(vma, addr)
    new = VmAreaStruct(mm, vma.vm_start, vma.vm_end, vma.vm_flags, vma.vm_pgoff,
                       vma.vm_file, vma.anon_vma, vma.vm_ops)
    if new_below:
        new.vm_end = addr
        vma.vm_pgoff += (addr - vma.vm_start) >> pg.PAGE_SHIFT
        vma.vm_start = addr
    else:
        new.vm_start = addr
        new.vm_pgoff += (addr - vma.vm_start) >> pg.PAGE_SHIFT
        vma.vm_end = addr
    anon_vma_clone(new, vma)  # the new VMA is reached by every rmap walk that reached vma
    if new.vm_file is not None:
        new.vm_file.f_count += 1  # get_file()
        assert new.vm_file.f_inode is not None
        new.vm_file.f_inode.i_mapping.i_mmap.append(new)
    mm.mm_mt.append(new)
    mm.mm_mt.sort(key=lambda v: v.vm_start)
    return new


def split_vma(vma: VmAreaStruct, addr: int, new_below: bool) -> VmAreaStruct:
    """Kernel: mm/vma.c:split_vma()"""
    return __split_vma(vma, addr, new_below)


def is_mergeable_vma(a: VmAreaStruct, b: VmAreaStruct) -> bool:
    """Kernel: mm/vma.c:is_mergeable_vma() with the anon_vma and file-offset checks of
    can_vma_merge_after(): ``b`` starts where ``a`` ends and continues it exactly."""
    if a.vm_end != b.vm_start or a.vm_flags != b.vm_flags or a.vm_ops != b.vm_ops:
        return False
    if a.vm_file is not b.vm_file:
        return False
    if a.anon_vma is not None and b.anon_vma is not None and a.anon_vma is not b.anon_vma:
        return False
    return a.vm_pgoff + ((a.vm_end - a.vm_start) >> a.vm_mm.kernel.pg.PAGE_SHIFT) == b.vm_pgoff


def _merge_into_prev(prev: VmAreaStruct, vma: VmAreaStruct) -> VmAreaStruct:
    """``prev`` grows over ``vma``, which is removed (its file reference dropped)."""
    from mrelease_ref.mm.mmap import VM_ACCOUNT, remove_vma

    prev.vm_end = vma.vm_end
    if prev.anon_vma is None and vma.anon_vma is not None:
        prev.anon_vma = vma.anon_vma
        anon_vma_clone(prev, vma)  # dup_anon_vma(): prev joins vma's anon_vma chain
        if prev.anon_vma.vma is vma:
            prev.anon_vma.vma = prev
    vma.vm_mm.mm_mt.remove(vma)
    # vma_complete() frees the merged-away VMA, but its range stays mapped: unlike
    # remove_vma() at munmap, nothing is uncharged (vm_unacct_memory()) or taken from
    # total_vm
    vma.vm_flags &= ~VM_ACCOUNT
    vma.vm_mm.total_vm += vma_pages(vma)
    remove_vma(vma)
    return prev


def vma_merge_existing_range(vma: VmAreaStruct) -> VmAreaStruct:
    """Kernel: mm/vma.c:vma_merge_existing_range()

    After ``vma``'s flags changed, merge it with the previous and/or the next VMA where they
    now match. Returns the VMA that covers ``vma``'s range afterwards.
    """
    mt = vma.vm_mm.mm_mt
    i = mt.index(vma)
    nxt = mt[i + 1] if i + 1 < len(mt) else None
    if nxt is not None and is_mergeable_vma(vma, nxt):
        vma = _merge_into_prev(vma, nxt)
    prev = mt[i - 1] if i > 0 else None
    if prev is not None and is_mergeable_vma(prev, vma):
        vma = _merge_into_prev(prev, vma)
    return vma


def vma_modify_flags(vma: VmAreaStruct, start: int, end: int, new_flags: int) -> VmAreaStruct:
    """Kernel: mm/vma.c:vma_modify_flags() (vma_modify())

    Give ``[start, end)`` of ``vma`` the flags ``new_flags``: split off what lies outside,
    set the flags, merge with matching neighbours. Returns the VMA that now covers the
    range (possibly larger than it, after a merge).
    """
    if start > vma.vm_start:
        __split_vma(vma, start, new_below=True)  # vma keeps the upper part
    if end < vma.vm_end:
        __split_vma(vma, end, new_below=False)
    vma.vm_flags = new_flags
    return vma_merge_existing_range(vma)

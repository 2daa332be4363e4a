"""mincore(): which pages of a range are resident.

Kernel: mm/mincore.c (SYSCALL_DEFINE3(mincore), do_mincore(), mincore_pte_range(),
__mincore_unmapped_range(), mincore_page(), mincore_swap(), can_do_mincore())

A present PTE or huge PMD counts as resident. Where nothing is mapped, a file VMA reports
whether the page cache holds the page (so after ``process_mrelease()`` unmapped a clean
private file mapping, the pages still read as resident while the page cache keeps them), and
an anonymous VMA reports 0. A swap entry reports whether the swap cache still holds the
page. For a file the caller could not write (and does not own), every page reads as
resident: the cache state of such files is not revealed (a side channel).

Limitations:
- The model's page cache has no !uptodate folios: a cached folio always counts.
- Hugetlb VMAs hold no pages in the model; their pages read as 0.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from mrelease_ref.include.linux.fs import FMODE_WRITE, AddressSpace
from mrelease_ref.include.linux.mm_types import (
    Pmd,
    Pte,
    PteTable,
    SwpEntry,
    VmAreaStruct,
    linear_page_index,
    vma_is_anonymous,
)

if TYPE_CHECKING:
    from mrelease_ref.include.linux.sched import TaskStruct


def mincore_swap(vma: VmAreaStruct, entry: SwpEntry) -> int:
    """Kernel: mm/mincore.c:mincore_swap(): 1 if the swap cache holds the page."""
    from mrelease_ref.mm.swap_state import swap_cache_get_folio

    folio = swap_cache_get_folio(vma.vm_mm.kernel, entry)
    return 1 if folio is not None else 0


def mincore_page(mapping: AddressSpace, index: int) -> int:
    """Kernel: mm/mincore.c:mincore_page(): 1 if the page cache holds page ``index``."""
    from mrelease_ref.mm.filemap import filemap_get_entry

    return 1 if filemap_get_entry(mapping, index) is not None else 0


def __mincore_unmapped_range(vma: VmAreaStruct, addr: int, end: int) -> list[int]:
    """Kernel: mm/mincore.c:__mincore_unmapped_range(): page cache for a file VMA, 0 for
    anonymous memory."""
    pg = vma.vm_mm.kernel.pg
    nr = (end - addr) >> pg.PAGE_SHIFT
    f = vma.vm_file
    if f is not None and f.f_mapping is not None:
        pgoff = linear_page_index(vma, addr)
        return [mincore_page(f.f_mapping, pgoff + i) for i in range(nr)]
    return [0] * nr


def mincore_pte_range(vma: VmAreaStruct, addr: int, end: int) -> list[int]:
    """Kernel: mm/mincore.c:mincore_pte_range() (with the walk's pte_hole callback): one
    PMD's part of the range."""
    pg = vma.vm_mm.kernel.pg
    entry = vma.vm_mm.pgd.get(addr >> pg.PMD_SHIFT)
    if isinstance(entry, Pmd):
        return [1] * ((end - addr) >> pg.PAGE_SHIFT)
    if not isinstance(entry, PteTable):
        return __mincore_unmapped_range(vma, addr, end)
    vec: list[int] = []
    i = pg.pte_index(addr)
    while addr < end:
        pte = entry[i]
        if pte is None:
            vec += __mincore_unmapped_range(vma, addr, addr + pg.PAGE_SIZE)
        elif isinstance(pte, Pte):
            vec.append(1)
        else:
            vec.append(mincore_swap(vma, pte))
        i += 1
        addr += pg.PAGE_SIZE
    return vec


def can_do_mincore(vma: VmAreaStruct, current: TaskStruct) -> bool:
    """Kernel: mm/mincore.c:can_do_mincore(): anonymous memory, or a file the caller owns
    (uid 0 owns every file in the model) or may write."""
    if vma_is_anonymous(vma):
        return True
    f = vma.vm_file
    if f is None:
        return False
    return current.cred.uid == 0 or bool(f.f_mode & FMODE_WRITE)


def do_mincore(current: TaskStruct, addr: int, pages: int) -> list[int] | int:
    """Kernel: mm/mincore.c:do_mincore(): the vector for the VMA at ``addr`` (up to its
    end), or -ENOMEM when nothing is mapped at ``addr``."""
    from mrelease_ref.include.linux.mm_types import find_vma

    mm = current.mm
    assert mm is not None
    pg = mm.kernel.pg
    vma = find_vma(mm, addr)
    if vma is None:
        return -errno.ENOMEM
    end = min(vma.vm_end, addr + (pages << pg.PAGE_SHIFT))
    if not can_do_mincore(vma, current):
        return [1] * ((end - addr + pg.PAGE_SIZE - 1) >> pg.PAGE_SHIFT)
    vec: list[int] = []
    while addr < end:
        nxt = min((addr | (pg.PMD_SIZE - 1)) + 1, end)
        vec += mincore_pte_range(vma, addr, nxt)
        addr = nxt
    return vec


def sys_mincore(current: TaskStruct, start: int, length: int) -> list[int] | int:
    """Kernel: mm/mincore.c:SYSCALL_DEFINE3(mincore)

    One byte per page of ``[start, start + length)`` (bit 0: resident), or -EINVAL for an
    unaligned start, -ENOMEM when part of the range is unmapped.
    """
    pg = current.kernel.pg
    if start & (pg.PAGE_SIZE - 1):
        return -errno.EINVAL
    pages = (length >> pg.PAGE_SHIFT) + (1 if length & (pg.PAGE_SIZE - 1) else 0)
    out: list[int] = []
    while pages:
        got = do_mincore(current, start, pages)
        if isinstance(got, int):
            return got
        out += got
        pages -= len(got)
        start += len(got) << pg.PAGE_SHIFT
    return out

"""The hugetlb pool: boot-time 2 MiB pages, reservations at mmap(), faults and zaps.

Kernel: mm/hugetlb.c (hugetlb_init(), hugetlb_reserve_pages(), hugetlb_acct_memory(),
gather_surplus_pages(), alloc_hugetlb_folio(), free_huge_folio(), hugetlb_fault(),
hugetlb_no_page(), __unmap_hugepage_range(), hugetlb_vm_op_close()),
include/linux/hugetlb.h (hugetlb_count_add()/hugetlb_count_sub())

``vm.nr_hugepages`` (``Kernel(nr_hugepages=...)``) pages of 2 MiB are taken from the buddy
allocator at boot and wait, with no reference, on the pool's free list. ``mmap()`` of a
MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB range rounds its length up to 2 MiB and reserves one
pool page per huge page (HugePages_Rsvd); with no surplus pages allowed
(``nr_overcommit_hugepages`` 0) a reservation the free pool cannot cover fails with ENOMEM.
These machines run with ``nr_hugepages`` 0, so there ``mmap(MAP_HUGETLB)`` fails at once
(measured on the 6.18 VM on 2026-12-03: 2 MiB and 8 TiB both ENOMEM; with a pool of one
page, a 2 MiB map reserved it, the first touch took it, munmap() gave it back, and a 4 MiB
map failed with ENOMEM).

A fault maps the whole huge page with one PMD-level entry and consumes the VMA's
reservation (HugePages_Free and HugePages_Rsvd both drop); without one it takes an
unreserved free page or fails with SIGBUS (``alloc_hugetlb_folio()`` -> -ENOSPC). Hugetlb
pages are not on any LRU and not in the rss counters (``hugetlb_usage`` instead). The OOM
reaper and ``process_mrelease()`` skip hugetlb VMAs; ``exit_mmap()``/``munmap()`` zap them
here and the pages go back to the pool; the VMA's unused reservations go back when it is
removed (``hugetlb_vm_op_close()``).

Limitations:
- Anonymous private mappings only (no hugetlbfs files, no MAP_SHARED hugetlb, no fork
  COW, no subpools, no cgroup charging, no surplus pages, no 1 GiB pages).
- A zapped page returns to the pool at once, not after the TLB flush (no mmu_gather).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from mrelease_ref.include.linux.mm_types import (
    Folio,
    Pmd,
    VmAreaStruct,
)

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import MmStruct
    from mrelease_ref.sim.kernel import Kernel

HUGETLB_PAGE_ORDER: Final = 9
HPAGE_NR: Final = 1 << HUGETLB_PAGE_ORDER  # base pages per huge page (2 MiB)


@dataclass(slots=True, eq=False)
class Hstate:
    """Kernel: include/linux/hugetlb.h (struct hstate), for the one 2 MiB size.

    Model-only: ``vma_resv`` holds each private VMA's reservations not yet consumed (the
    kernel keeps them in the VMA's ``resv_map``); ``pool`` every page the pool owns, by
    pfn (free or in use), so the invariant checker can tell hugetlb folios apart.
    """

    nr_huge_pages: int = 0
    free_huge_pages: int = 0
    resv_huge_pages: int = 0
    hugepage_freelists: list[Folio] = field(default_factory=list)
    pool: dict[int, Folio] = field(default_factory=dict)
    vma_resv: dict[VmAreaStruct, int] = field(default_factory=dict)


def hugetlb_init(k: Kernel) -> None:
    """Kernel: mm/hugetlb.c:hugetlb_init() -> hugetlb_pages_alloc_boot(): fill the pool."""
    from mrelease_ref.mm.page_alloc import folio_alloc

    h = k.hstate
    for _ in range(k.config.nr_hugepages):
        folio = folio_alloc(k, HUGETLB_PAGE_ORDER)
        if folio is None:  # a boot-time pool larger than memory stops short, like the kernel
            break
        folio._refcount = 0
        h.pool[folio.pfn] = folio
        h.hugepage_freelists.append(folio)
        h.nr_huge_pages += 1
        h.free_huge_pages += 1


def folio_test_hugetlb(folio: Folio) -> bool:
    """Kernel: include/linux/page-flags.h:folio_test_hugetlb()"""
    return folio.pfn in folio.kernel.hstate.pool


def hugetlb_nr_pages(nr_pages: int) -> int:
    """Model helper: huge pages covering ``nr_pages`` base pages (mmap()'s
    ``ALIGN(len, huge_page_size())``)."""
    return (nr_pages + HPAGE_NR - 1) // HPAGE_NR


def hugetlb_acct_memory(k: Kernel, delta: int) -> int:
    """Kernel: mm/hugetlb.c:hugetlb_acct_memory() with gather_surplus_pages()

    Reserve ``delta`` pool pages (or give back ``-delta``): 0, or -ENOMEM when the free pool
    cannot cover all reservations and no surplus page may be allocated.
    """
    import errno

    h = k.hstate
    if delta > 0 and h.resv_huge_pages + delta > h.free_huge_pages:
        return -errno.ENOMEM
    h.resv_huge_pages += delta
    return 0


def hugetlb_reserve_pages(k: Kernel, nr_huge: int) -> int:
    """Kernel: mm/hugetlb.c:hugetlb_reserve_pages() (a private mapping: ``chg = to - from``)

    Returns 0 with ``nr_huge`` pages reserved, or -ENOMEM. The mapping's VMA records them
    with :func:`set_vma_resv_map` once it exists.
    """
    return hugetlb_acct_memory(k, nr_huge)


def set_vma_resv_map(vma: VmAreaStruct, nr_huge: int) -> None:
    """Kernel: mm/hugetlb.c:set_vma_resv_map(): the private VMA owns its reservations."""
    vma.vm_mm.kernel.hstate.vma_resv[vma] = nr_huge


def hugetlb_vm_op_close(vma: VmAreaStruct) -> None:
    """Kernel: mm/hugetlb.c:hugetlb_vm_op_close(): return the VMA's unused reservations."""
    k = vma.vm_mm.kernel
    reserve = k.hstate.vma_resv.pop(vma, 0)
    if reserve:
        hugetlb_acct_memory(k, -reserve)


def alloc_hugetlb_folio(vma: VmAreaStruct) -> Folio | None:
    """Kernel: mm/hugetlb.c:alloc_hugetlb_folio() -> dequeue_hugetlb_folio_vma()

    Take a free pool page, consuming one of the VMA's reservations if it has any, else an
    unreserved one; None (the kernel's -ENOSPC) when there is neither.
    """
    h = vma.vm_mm.kernel.hstate
    left = h.vma_resv.get(vma, 0)
    if not left and h.free_huge_pages - h.resv_huge_pages <= 0:
        return None
    if left:
        h.vma_resv[vma] = left - 1
        h.resv_huge_pages -= 1
    folio = h.hugepage_freelists.pop(0)
    h.free_huge_pages -= 1
    folio._refcount = 1
    return folio


def free_huge_folio(folio: Folio) -> None:
    """Kernel: mm/hugetlb.c:free_huge_folio(): the last reference is gone; back to the pool."""
    h = folio.kernel.hstate
    folio._refcount = 0
    folio.flags = 0
    h.hugepage_freelists.append(folio)
    h.free_huge_pages += 1


def hugetlb_fault(vma: VmAreaStruct, address: int, write: bool) -> int:
    """Kernel: mm/hugetlb.c:hugetlb_fault() -> hugetlb_no_page()

    A present huge entry just gets its young/dirty bits; a missing one gets a pool page
    (VM_FAULT_SIGBUS when none can be had), mapped whole by one PMD-level entry.
    """
    from mrelease_ref.include.linux.mm_types import _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_RW
    from mrelease_ref.mm.memory import VM_FAULT_SIGBUS

    mm = vma.vm_mm
    idx = address >> mm.kernel.pg.PMD_SHIFT
    entry = mm.pgd.get(idx)
    bits = _PAGE_ACCESSED | (_PAGE_DIRTY if write else 0)
    if isinstance(entry, Pmd):
        entry.bits |= bits
        return 0
    folio = alloc_hugetlb_folio(vma)
    if folio is None:
        return VM_FAULT_SIGBUS
    folio._mapcount = 1  # hugetlb_add_new_anon_rmap(); the entry holds the reference
    mm.pgd[idx] = Pmd(folio, bits | _PAGE_RW)
    hugetlb_count_add(HPAGE_NR, mm)
    return 0


def hugetlb_count_add(nr: int, mm: MmStruct) -> None:
    """Kernel: include/linux/hugetlb.h:hugetlb_count_add() (``mm->hugetlb_usage``)"""
    mm.hugetlb_usage += nr


def hugetlb_count_sub(nr: int, mm: MmStruct) -> None:
    """Kernel: include/linux/hugetlb.h:hugetlb_count_sub()"""
    mm.hugetlb_usage -= nr


def __unmap_hugepage_range(vma: VmAreaStruct, start: int, end: int) -> None:
    """Kernel: mm/hugetlb.c:__unmap_hugepage_range(): clear each huge entry in the range
    and drop its page (back to the pool on the last reference)."""
    mm = vma.vm_mm
    shift = mm.kernel.pg.PMD_SHIFT  # 4 KiB pages only (Kernel refuses hugetlb otherwise)
    for idx in range(start >> shift, ((end - 1) >> shift) + 1):
        entry = mm.pgd.get(idx)
        if not isinstance(entry, Pmd) or entry.folio is None:
            continue
        del mm.pgd[idx]
        folio = entry.folio
        folio._mapcount -= 1
        hugetlb_count_sub(HPAGE_NR, mm)
        folio._refcount -= 1
        if folio._refcount == 0:
            free_huge_folio(folio)


__all__ = [
    "HPAGE_NR",
    "Hstate",
    "__unmap_hugepage_range",
    "alloc_hugetlb_folio",
    "folio_test_hugetlb",
    "free_huge_folio",
    "hugetlb_acct_memory",
    "hugetlb_fault",
    "hugetlb_init",
    "hugetlb_nr_pages",
    "hugetlb_reserve_pages",
    "hugetlb_vm_op_close",
    "set_vma_resv_map",
]

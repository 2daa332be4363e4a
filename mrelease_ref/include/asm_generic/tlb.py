"""``struct mmu_gather``, encoded pages, and the arch-chosen TLB/free hooks.

Kernel: include/asm-generic/tlb.h, include/linux/mm_types.h (encoded_page helpers)

The gather collects the folio references that zapped PTEs used to hold and frees them only
after the TLB has been flushed (``tlb_flush_mmu()``: flush first, then free). Each batch
entry is an *encoded page*: in the kernel, a ``struct page *`` with flag bits in its low
bits; here the tuple ``(page, flags)``. An entry with ``ENCODED_PAGE_BIT_NR_PAGES_NEXT`` is
followed by a plain ``int`` slot ``nr_pages << 2`` (``encode_nr_pages()``) saying how many
consecutive pages (and so how many references) it covers.

The hooks at the bottom (``__tlb_remove_folio_pages()``, ``__tlb_remove_page_size()``,
``tlb_delay_rmap()``) exist once per architecture in the kernel. The model builds both
x86_64 (generic gather, mm/mmu_gather.c) and s390 (CONFIG_MMU_GATHER_NO_GATHER,
arch/s390/include/asm/tlb.h) into one program and picks by ``tlb.no_gather``, which
``__tlb_gather_mmu()`` sets from the Kernel's arch.

Limitations:
- No page-table freeing (``tlb_remove_table()``): the reaper never frees page tables.
- ``tlb_change_page_size()`` is a no-op, as on x86_64 (no CONFIG_MMU_GATHER_PAGE_SIZE).
- One TLB flush counts as one event; its cost and which CPUs it reaches are not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, TypeAlias

from mrelease_ref.include.linux.mm_types import GEOMETRY_4K, Page

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import MmStruct, VmAreaStruct

ENCODED_PAGE_BITS: Final = 3
ENCODED_PAGE_BIT_DELAY_RMAP: Final = 1
ENCODED_PAGE_BIT_NR_PAGES_NEXT: Final = 2

MMU_GATHER_BUNDLE: Final = 8
# (PAGE_SIZE - sizeof(struct mmu_gather_batch)) / sizeof(void *) on 64-bit: the 4 KiB
# values; a gather sizes its batches from its kernel's geometry (``k.pg.MAX_GATHER_BATCH``)
MAX_GATHER_BATCH: Final = GEOMETRY_4K.MAX_GATHER_BATCH
MAX_GATHER_BATCH_COUNT: Final = GEOMETRY_4K.MAX_GATHER_BATCH_COUNT
MAX_NR_FOLIOS_PER_FREE: Final = 512

EncodedPage: TypeAlias = "Page | tuple[Page, int]"
"""A ``struct encoded_page *`` that points at a page: the page itself when no flag is set
(the kernel's pointer then has no tag bits either), else ``(page, flags)``. The flag-less
form saves the model a tuple per gathered page, the reap's largest transient allocation."""

EncodedSlot: TypeAlias = "EncodedPage | int"
"""One batch slot: an encoded page, or the ``nr_pages`` slot that follows one."""


def encode_page(page: Page, flags: int) -> EncodedPage:
    """Kernel: include/linux/mm_types.h:encode_page()"""
    return (page, flags) if flags else page


def encoded_page_ptr(page: EncodedPage) -> Page:
    """Kernel: include/linux/mm_types.h:encoded_page_ptr()"""
    first = page[0]
    return first if type(first) is tuple else page  # type: ignore[return-value]


def encoded_page_flags(page: EncodedPage) -> int:
    """Kernel: include/linux/mm_types.h:encoded_page_flags()"""
    return page[1] if type(page[0]) is tuple else 0


def encode_nr_pages(nr: int) -> int:
    """Kernel: include/linux/mm_types.h:encode_nr_pages() (the count, shifted by 2)"""
    return nr << 2


def encoded_nr_pages(page: int) -> int:
    """Kernel: include/linux/mm_types.h:encoded_nr_pages()"""
    return page >> 2


@dataclass(slots=True, eq=False)
class MmuGatherBatch:
    """Kernel: include/asm-generic/tlb.h (struct mmu_gather_batch)

    ``len(encoded_pages)`` is the kernel's ``nr``.
    """

    max: int
    encoded_pages: list[EncodedSlot] = field(default_factory=list)
    next: MmuGatherBatch | None = None

    @property
    def nr(self) -> int:
        """``batch->nr``"""
        return len(self.encoded_pages)


@dataclass(slots=True, eq=False)
class MmuGather:
    """Kernel: include/asm-generic/tlb.h (struct mmu_gather)

    Model-only: ``no_gather`` (the arch selects CONFIG_MMU_GATHER_NO_GATHER),
    ``merge_vmas`` (it selects CONFIG_MMU_GATHER_MERGE_VMAS: x86_64 and s390 do, arm64 does
    not; v6.18 arch/*/Kconfig), ``freed`` (folio references handed back so far, for traces
    and tests).
    """

    mm: MmStruct
    fullmm: bool
    local: MmuGatherBatch
    active: MmuGatherBatch
    no_gather: bool
    start: int = 0
    end: int = 0
    need_flush_all: bool = False
    freed_tables: bool = False
    delayed_rmap: bool = False
    cleared_ptes: bool = False
    cleared_pmds: bool = False
    vma_exec: bool = False
    vma_huge: bool = False
    vma_pfn: bool = False
    batch_count: int = 0
    try_evict_file_folios: bool = False  # draft D only: set by its __oom_reap_task_mm()
    finished: bool = False
    merge_vmas: bool = True

    def __repr__(self) -> str:
        return f"MmuGather(mm={self.mm.mm_id}, fullmm={self.fullmm})"


TASK_SIZE: Final = 1 << 47


def __tlb_reset_range(tlb: MmuGather) -> None:
    """Kernel: include/asm-generic/tlb.h:__tlb_reset_range()"""
    if tlb.fullmm:
        tlb.start = tlb.end = TASK_SIZE - 1
    else:
        tlb.start = TASK_SIZE
        tlb.end = 0
    tlb.freed_tables = False
    tlb.cleared_ptes = False
    tlb.cleared_pmds = False


def __tlb_adjust_range(tlb: MmuGather, address: int, range_size: int) -> None:
    """Kernel: include/asm-generic/tlb.h:__tlb_adjust_range()"""
    tlb.start = min(tlb.start, address)
    tlb.end = max(tlb.end, address + range_size)


def tlb_flush(tlb: MmuGather) -> None:
    """Kernel: arch/x86/include/asm/tlb.h:tlb_flush() (s390: __tlb_flush_mm_lazy())

    Counted as a ``TLB_FLUSH`` event; ``tlb.mm.tlb_flush_pending`` tells the invariant
    checker that no stale entry remains.
    """
    k = tlb.mm.kernel
    k.vm_events["TLB_FLUSH"] = k.vm_events.get("TLB_FLUSH", 0) + 1
    if k.tracing:
        k.trace_event("tlb_flush", f"mm={tlb.mm.mm_id} start={tlb.start:#x} end={tlb.end:#x}")


def tlb_flush_mmu_tlbonly(tlb: MmuGather) -> None:
    """Kernel: include/asm-generic/tlb.h:tlb_flush_mmu_tlbonly()"""
    if not (tlb.freed_tables or tlb.cleared_ptes or tlb.cleared_pmds):
        return
    tlb_flush(tlb)
    __tlb_reset_range(tlb)


def tlb_needs_flush(tlb: MmuGather) -> bool:
    """Model helper: whether cleared entries still wait for a TLB flush."""
    return tlb.freed_tables or tlb.cleared_ptes or tlb.cleared_pmds


def tlb_remove_tlb_entries(tlb: MmuGather, nr: int, address: int) -> None:
    """Kernel: include/asm-generic/tlb.h:tlb_remove_tlb_entries()

    Remember that ``nr`` PTEs from ``address`` were cleared: the range must be flushed
    before the pages they mapped are freed. (The kernel also takes the PTE pointer; the
    model does not need it.)
    """
    tlb.cleared_ptes = True
    __tlb_adjust_range(tlb, address, tlb.mm.kernel.pg.PAGE_SIZE * nr)


def tlb_remove_pmd_tlb_entry(tlb: MmuGather, address: int) -> None:
    """Kernel: include/asm-generic/tlb.h:tlb_remove_pmd_tlb_entry()"""
    tlb.cleared_pmds = True
    __tlb_adjust_range(tlb, address, tlb.mm.kernel.pg.PMD_SIZE)  # HPAGE_PMD_SIZE


def tlb_change_page_size(tlb: MmuGather, page_size: int) -> None:
    """Kernel: include/asm-generic/tlb.h:tlb_change_page_size() (no-op on x86_64 and s390)"""


def tlb_start_vma(tlb: MmuGather, vma: VmAreaStruct) -> None:
    """Kernel: include/asm-generic/tlb.h:tlb_start_vma()"""
    if tlb.fullmm:
        return
    from mrelease_ref.include.linux.mm_types import VM_EXEC, VM_HUGETLB, VM_PFNMAP

    tlb.vma_huge = bool(vma.vm_flags & VM_HUGETLB)
    tlb.vma_exec = bool(vma.vm_flags & VM_EXEC)
    tlb.vma_pfn = bool(vma.vm_flags & VM_PFNMAP)


def tlb_end_vma(tlb: MmuGather, vma: VmAreaStruct) -> None:
    """Kernel: include/asm-generic/tlb.h:tlb_end_vma()

    Flush the TLB at the VMA boundary, where the arch does not select
    CONFIG_MMU_GATHER_MERGE_VMAS (arm64); x86_64 and s390 select it and keep one range
    across VMAs. The pages stay batched either way.
    """
    if tlb.fullmm or tlb.merge_vmas:
        return
    tlb_flush_mmu_tlbonly(tlb)


def tlb_delay_rmap(tlb: MmuGather) -> bool:
    """Kernel: include/asm-generic/tlb.h:tlb_delay_rmap()

    On SMP with a gather, a dirty file folio keeps its rmap until after the TLB flush, so
    writeback cannot start while a stale writable TLB entry exists. s390 (no gather) never
    delays.
    """
    if tlb.no_gather:
        return False
    tlb.delayed_rmap = True
    return True


def __tlb_remove_folio_pages(tlb: MmuGather, page: Page, nr_pages: int, delay_rmap: bool) -> bool:
    """Kernel: mm/mmu_gather.c:__tlb_remove_folio_pages() on x86_64, or
    arch/s390/include/asm/tlb.h:__tlb_remove_folio_pages() on s390.

    Hand the ``nr_pages`` references of a zapped folio range to the gather (or, on s390,
    free them at once). Returns True when the gather is full and must be flushed.
    """
    if tlb.no_gather:
        # arch/s390's own version, or the series' version of it (patch 1): Kernel.series
        return tlb.mm.kernel.series.s390_tlb_remove_folio_pages(tlb, page, nr_pages, delay_rmap)
    return mmu_gather.__tlb_remove_folio_pages_size(tlb, page, nr_pages, delay_rmap,
                                                    tlb.mm.kernel.pg.PAGE_SIZE)


def __tlb_remove_page_size(tlb: MmuGather, page: Page, page_size: int) -> bool:
    """Kernel: mm/mmu_gather.c:__tlb_remove_page_size() on x86_64, or
    arch/s390/include/asm/tlb.h:__tlb_remove_page_size() on s390 (the PMD path).
    """
    if tlb.no_gather:
        return s390_tlb.__tlb_remove_page_size(tlb, page, page_size)
    return mmu_gather.__tlb_remove_folio_pages_size(tlb, page, 1, False, page_size)


def tlb_remove_page_size(tlb: MmuGather, page: Page, page_size: int) -> None:
    """Kernel: include/asm-generic/tlb.h:tlb_remove_page_size()"""
    if __tlb_remove_page_size(tlb, page, page_size):
        mmu_gather.tlb_flush_mmu(tlb)


# Imported last: both modules use the definitions above.
from mrelease_ref.arch.s390 import tlb as s390_tlb  # noqa: E402
from mrelease_ref.mm import mmu_gather  # noqa: E402

"""Page faults that build a victim's memory, and the zap path that tears it down.

Kernel: mm/memory.c (faults: do_anonymous_page(), do_read_fault(), do_cow_fault(),
do_shared_fault(), do_wp_page(), do_swap_page(); zap: unmap_page_range(), zap_pmd_range(),
zap_pte_range(), do_zap_pte_range(), zap_present_ptes(), zap_present_folio_ptes(),
zap_nonpresent_ptes(), unmap_single_vma(), unmap_vmas()), mm/huge_memory.c
(zap_huge_pmd(), do_huge_pmd_anonymous_page())

The zap functions keep the kernel's shape: ``zap_pte_range()`` walks one PTE table,
``do_zap_pte_range()`` skips runs of empty entries, ``zap_present_ptes()`` batches the PTEs
of a large folio (``folio_pte_batch()``) and ``zap_present_folio_ptes()`` does the per-batch
work: dirty propagation and ``folio_mark_accessed()`` for file folios, rss, rmap removal (or
delay), and handing the references to the mmu_gather. A full gather forces a flush and a
retry of the rest of the table, as in the kernel.

The kernel passes ``pte_t *`` pointers and out-parameters (``bool *force_flush``); the model
passes ``(table, index)`` and a small :class:`ZapFlags` record instead.

Variants: patch 2 of the series changes the file branch of ``zap_present_folio_ptes()``
(skip ``folio_mark_accessed()`` for exclusive folios); draft D adds
``zap_details.ignore_access``.

Limitations:
- Faults take no mmap_lock and never sleep; read I/O completes at once.
- No fault-around: each touched page is one fault.
- No PMD splitting: a huge PMD is always zapped whole (the reaper and exit zap whole VMAs,
  and anon THPs are only placed in VMA-aligned 2 MiB ranges).
- No uffd-wp markers, device-private entries, migration entries or KSM.
- No page-table reclaim (``reclaim_pt``); page tables are freed only when the mm is
  destroyed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from mrelease_ref.include.asm_generic.tlb import (
    MmuGather,
    __tlb_remove_folio_pages,
    tlb_change_page_size,
    tlb_delay_rmap,
    tlb_end_vma,
    tlb_flush_mmu_tlbonly,
    tlb_start_vma,
)
from mrelease_ref.include.linux.mm_inline import vma_has_recency
from mrelease_ref.include.linux.mm_types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_RW,
    _PAGE_SPECIAL,
    MM_ANONPAGES,
    MM_FILEPAGES,
    MM_SHMEMPAGES,
    MM_SWAPENTS,
    PAGE_SHIFT,
    PAGE_SIZE,
    PMD_SHIFT,
    PMD_SIZE,
    PTRS_PER_PTE,
    VM_HUGETLB,
    VM_LOCKED,
    VM_PFNMAP,
    VM_SHARED,
    VM_WRITE,
    AnonVma,
    Folio,
    MmStruct,
    Pmd,
    Pte,
    PteTable,
    SwpEntry,
    VmAreaStruct,
    add_mm_rss_vec,
    linear_page_index,
    mm_counter_file,
)
from mrelease_ref.include.linux.mmzone import NR_ANON_MAPPED, NR_PAGETABLE
from mrelease_ref.include.linux.oom import check_stable_address_space
from mrelease_ref.include.linux.page_flags import PG_anon, PG_locked, PG_swapbacked
from mrelease_ref.include.linux.vmstat import count_vm_events
from mrelease_ref.kernel.sched import KernelGen, cond_resched
from mrelease_ref.mm.filemap import filemap_grab_folio
from mrelease_ref.mm.huge_memory import (
    __split_huge_pmd,
    do_huge_pmd_anonymous_page,
    do_set_pmd,
    thp_vma_allowable_anon,
    zap_deposited_table,
    zap_huge_pmd,
)
from mrelease_ref.mm.mmu_gather import tlb_flush_mmu, tlb_flush_rmaps, tlb_next_batch
from mrelease_ref.mm.page_alloc import folio_alloc
from mrelease_ref.mm.page_writeback import folio_mark_dirty
from mrelease_ref.mm.rmap import (
    folio_add_anon_rmap_ptes,
    folio_add_file_rmap_ptes,
    folio_add_new_anon_rmap,
    folio_remove_rmap_ptes,
)
from mrelease_ref.mm.swap import folio_add_lru_vma, folio_mark_accessed, folio_put
from mrelease_ref.mm.swapfile import (
    folio_free_swap,
    free_swap_and_cache_nr,
    swap_free_nr,
    swapcache_prepare,
)

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Page

# vm_fault_t bits: include/linux/mm_types.h
VM_FAULT_OOM: Final = 0x000001
VM_FAULT_SIGBUS: Final = 0x000002
VM_FAULT_MAJOR: Final = 0x000004

# zap_details flags: include/linux/mm.h
ZAP_FLAG_DROP_MARKER: Final = 1 << 0
ZAP_FLAG_UNMAP: Final = 1 << 1


@dataclass(slots=True, eq=False)
class ZapDetails:
    """Kernel: include/linux/mm.h (struct zap_details)

    ``even_cows`` is v6.18's field (2026 trees invert it as ``skip_cows``).
    """

    even_cows: bool = False
    zap_flags: int = 0
    single_folio: Folio | None = None
    reclaim_pt: bool = False
    ignore_access: bool = False  # draft D only: skip folio_mark_accessed() during unmap


@dataclass(slots=True, eq=False)
class ZapFlags:
    """The out-parameters ``force_flush``, ``force_break``, ``any_skipped`` of the zap path."""

    force_flush: bool = False
    force_break: bool = False
    any_skipped: bool = False


# ---------------------------------------------------------------------------------------
# Page tables
# ---------------------------------------------------------------------------------------


def __pte_alloc(mm: MmStruct, pmd_idx: int) -> PteTable:
    """Kernel: mm/memory.c:__pte_alloc(): install an empty PTE table."""
    table: PteTable = [None] * PTRS_PER_PTE
    mm.pgd[pmd_idx] = table
    mm.pgtables_bytes += PAGE_SIZE
    mm.kernel.vmstat[NR_PAGETABLE] += 1
    return table


def pte_offset_map(mm: MmStruct, address: int, alloc: bool) -> PteTable | None:
    """Kernel: include/linux/pgtable.h:pte_offset_map() (with __pte_alloc() if asked)."""
    entry = mm.pgd.get(address >> PMD_SHIFT)
    if isinstance(entry, list):
        return entry
    if entry is None and alloc:
        return __pte_alloc(mm, address >> PMD_SHIFT)
    return None


def vm_normal_page(vma: VmAreaStruct, addr: int, pte: Pte) -> Page | None:
    """Kernel: mm/memory.c:vm_normal_page(): None for the zero page and PFN mappings."""
    if pte.folio is None:
        return None
    return (pte.folio, pte.idx)


# ---------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------


def _set_pte(table: PteTable, idx: int, folio: Folio | None, page_idx: int, bits: int) -> None:
    table[idx] = Pte(folio, page_idx, bits)


def do_anonymous_page(vma: VmAreaStruct, address: int, write: bool) -> int:
    """Kernel: mm/memory.c:do_anonymous_page()

    A read maps the shared zero page (no folio, no rss). A write allocates a folio, makes
    it anonymous, puts it on the LRU (or mlocks it) and maps it writable and dirty.
    """
    mm = vma.vm_mm
    table = pte_offset_map(mm, address, alloc=True)
    assert table is not None
    idx = (address >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)
    if not write:  # use the zero page for reads -- unless the reaper got here first
        ret = check_stable_address_space(mm)
        if ret:
            return ret
        _set_pte(table, idx, None, 0, _PAGE_ACCESSED | _PAGE_SPECIAL)
        return 0
    folio = alloc_anon_folio(vma)
    if isinstance(folio, int):
        return folio
    _map_new_anon_folio(vma, address, table, idx, folio)
    return 0


def alloc_anon_folio(vma: VmAreaStruct) -> Folio | int:
    """Kernel: mm/memory.c:alloc_anon_folio() (order 0), then the fault's
    ``check_stable_address_space()``: a new folio, or a ``VM_FAULT_*`` code."""
    mm = vma.vm_mm
    folio = folio_alloc(mm.kernel, 0)
    if folio is None:
        return VM_FAULT_OOM
    ret = check_stable_address_space(mm)
    if ret:
        folio_put(folio)
        return ret
    return folio


def _map_new_anon_folio(
    vma: VmAreaStruct, address: int, table: PteTable, idx: int, folio: Folio
) -> None:
    """Model helper: what do_anonymous_page() and wp_page_copy() both do with a new folio:
    make it anonymous, put it on the LRU, count it, map it writable and dirty."""
    folio_add_new_anon_rmap(folio, vma, address, pmd=False)
    folio_add_lru_vma(folio, vma)
    vma.vm_mm.rss_stat[MM_ANONPAGES] += 1
    _set_pte(table, idx, folio, 0, _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_RW)


def _file_folio(vma: VmAreaStruct, address: int) -> tuple[Folio | None, int]:
    """Look up or read in the page-cache folio for ``address``: (folio with a ref, idx)."""
    assert vma.vm_file is not None and vma.vm_file.f_mapping is not None
    pgoff = linear_page_index(vma, address)
    mapping = vma.vm_file.f_mapping
    folio = filemap_grab_folio(mapping, pgoff, swapbacked=mapping.a_ops == "shmem")
    if folio is None:
        return None, 0
    return folio, pgoff - folio.index


def finish_fault(vma: VmAreaStruct, address: int, folio: Folio, idx: int, bits: int) -> int:
    """Kernel: mm/memory.c:finish_fault(): map a page-cache folio's page (ref transferred)."""
    mm = vma.vm_mm
    ret = check_stable_address_space(mm)
    if ret:
        folio_put(folio)
        return ret
    table = pte_offset_map(mm, address, alloc=True)
    assert table is not None
    folio_add_file_rmap_ptes(folio, (folio, idx), 1, vma)
    mm.rss_stat[mm_counter_file(folio)] += 1
    _set_pte(table, (address >> PAGE_SHIFT) & (PTRS_PER_PTE - 1), folio, idx, bits)
    return 0


def do_read_fault(vma: VmAreaStruct, address: int) -> int:
    """Kernel: mm/memory.c:do_read_fault()

    Map the page-cache page read-only; a PMD-order folio is mapped whole with one PMD when
    the PMD is still empty (``finish_fault()`` -> ``do_set_pmd()``).
    """
    folio, idx = _file_folio(vma, address)
    if folio is None:
        return VM_FAULT_OOM
    if vma.vm_mm.pgd.get(address >> PMD_SHIFT) is None:
        ret = check_stable_address_space(vma.vm_mm)
        if ret:
            folio_put(folio)
            return ret
        if do_set_pmd(vma, address, folio, write=False):
            return 0
    return finish_fault(vma, address, folio, idx, _PAGE_ACCESSED)


def wp_page_copy(vma: VmAreaStruct, address: int, old: Pte | None) -> int:
    """Kernel: mm/memory.c:wp_page_copy()

    Copy-on-write: allocate an anonymous folio, replace the PTE, and let go of the old page
    (its rmap and the reference the PTE held).
    """
    mm = vma.vm_mm
    new = alloc_anon_folio(vma)
    if isinstance(new, int):
        return new
    if vma.anon_vma is None:
        vma.anon_vma = AnonVma(vma)
    table = pte_offset_map(mm, address, alloc=True)
    assert table is not None
    idx = (address >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)
    if old is not None and old.folio is not None:
        folio_remove_rmap_ptes(old.folio, (old.folio, old.idx), 1, vma)
        mm.rss_stat[mm_counter_file(old.folio)] -= 1
        folio_put(old.folio)
    _map_new_anon_folio(vma, address, table, idx, new)
    return 0


def do_cow_fault(vma: VmAreaStruct, address: int) -> int:
    """Kernel: mm/memory.c:do_cow_fault()

    Write to an unmapped page of a private file mapping: read the page cache, copy into a
    new anonymous folio; the page-cache folio stays cached and unmapped.
    """
    folio, _ = _file_folio(vma, address)
    if folio is None:
        return VM_FAULT_OOM
    folio_put(folio)  # the copy is done; drop the lookup reference
    return wp_page_copy(vma, address, None)


def do_shared_fault(vma: VmAreaStruct, address: int) -> int:
    """Kernel: mm/memory.c:do_shared_fault()

    Write to a shared mapping: ``page_mkwrite`` dirties the folio, the PTE is mapped
    writable and dirty.
    """
    folio, idx = _file_folio(vma, address)
    if folio is None:
        return VM_FAULT_OOM
    folio_mark_dirty(folio)  # filemap_page_mkwrite() / shmem
    return finish_fault(vma, address, folio, idx, _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_RW)


def do_wp_page(vma: VmAreaStruct, address: int, pte: Pte) -> int:
    """Kernel: mm/memory.c:do_wp_page()

    Write to a present read-only PTE: a shared mapping dirties the folio again
    (``wp_page_shared``); an exclusive anonymous folio is reused; anything else (zero page,
    page cache in a private mapping) is copied.
    """
    folio = pte.folio
    if vma.vm_flags & VM_SHARED and folio is not None:
        folio_mark_dirty(folio)
        pte.bits |= _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_RW
        return 0
    if folio is not None and folio.flags & PG_anon and folio._mapcount == 1:
        if folio.flags & PG_locked == 0 and folio.swap is not None:
            folio.flags |= PG_locked
            folio_free_swap(folio)  # a reused swapped-in page no longer needs its slot
            folio.flags &= ~PG_locked
        pte.bits |= _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_RW
        return 0
    return wp_page_copy(vma, address, pte)


def do_swap_page(vma: VmAreaStruct, address: int, entry: SwpEntry, write: bool) -> int:
    """Kernel: mm/memory.c:do_swap_page()

    Bring a swapped-out anonymous page back: from the swap cache if it is still there,
    otherwise read it into a new folio that is added to the swap cache. The folio stays in
    the swap cache after a read fault; a write fault frees the slot
    (``should_try_to_free_swap()``).
    """
    from mrelease_ref.mm.swap import folio_add_lru
    from mrelease_ref.mm.swap_state import swap_cache_add_folio, swap_cache_get_folio

    mm = vma.vm_mm
    k = mm.kernel
    folio = swap_cache_get_folio(k, entry)
    if folio is None:
        folio = folio_alloc(k, 0)
        if folio is None:
            return VM_FAULT_OOM
        folio.flags |= PG_anon | PG_swapbacked
        folio.mapping = vma.anon_vma
        folio.index = linear_page_index(vma, address)
        swapcache_prepare(k, entry, 1)  # the slot now has a cache folio: SWAP_HAS_CACHE
        swap_cache_add_folio(folio, entry)
        folio_add_lru(folio)
        folio._refcount -= 1  # the allocation reference; the cache now holds the folio
        count_vm_events(k, "PSWPIN", 1)
    ret = check_stable_address_space(mm)
    if ret:
        return ret
    table = pte_offset_map(mm, address, alloc=True)
    assert table is not None
    folio._refcount += 1  # the new PTE's reference
    folio_add_anon_rmap_ptes(folio, (folio, 0), 1, vma)
    mm.rss_stat[MM_ANONPAGES] += 1
    mm.rss_stat[MM_SWAPENTS] -= 1
    swap_free_nr(k, entry, 1)
    bits = _PAGE_ACCESSED
    if write:
        bits |= _PAGE_DIRTY | _PAGE_RW
        folio.flags |= PG_locked
        folio_free_swap(folio)
        folio.flags &= ~PG_locked
    _set_pte(table, (address >> PAGE_SHIFT) & (PTRS_PER_PTE - 1), folio, 0, bits)
    return 0


def handle_mm_fault(vma: VmAreaStruct, address: int, write: bool) -> int:
    """Kernel: mm/memory.c:handle_mm_fault()

    Resolve one access. Present entries just get their young (and, for a writable PTE,
    dirty) bit set, as the MMU would. Returns a ``VM_FAULT_*`` mask, 0 on success.
    """
    mm = vma.vm_mm
    if write and not vma.vm_flags & VM_WRITE:
        return VM_FAULT_SIGBUS
    if vma.vm_flags & VM_HUGETLB:
        from mrelease_ref.mm.hugetlb import hugetlb_fault

        return hugetlb_fault(vma, address, write)
    entry = mm.pgd.get(address >> PMD_SHIFT)
    if isinstance(entry, Pmd):
        if entry.folio is None and write:  # write to the huge zero page
            del mm.pgd[address >> PMD_SHIFT]
            zap_deposited_table(mm)
            ret = do_huge_pmd_anonymous_page(vma, address, True)
            return ret if ret is not None else handle_mm_fault(vma, address, write)
        if write and not entry.bits & _PAGE_RW:  # wp_huge_pmd(): split, retry with PTEs
            __split_huge_pmd(vma, address >> PMD_SHIFT)
            return handle_mm_fault(vma, address, write)
        entry.bits |= _PAGE_ACCESSED | (_PAGE_DIRTY if write else 0)
        return 0
    if entry is None and thp_vma_allowable_anon(vma, address):
        ret = do_huge_pmd_anonymous_page(vma, address, write)
        if ret is not None:
            return ret
    if vma.vm_flags & VM_PFNMAP:
        table = pte_offset_map(mm, address, alloc=True)
        assert table is not None
        _set_pte(table, (address >> PAGE_SHIFT) & 511, None, 0, _PAGE_SPECIAL | _PAGE_ACCESSED)
        return 0
    # pte_none() also when no PTE table exists yet: the fault handlers allocate it, which
    # leaves do_read_fault() the chance to map a PMD-sized folio with one PMD first.
    pte = entry[(address >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)] if entry is not None else None
    if pte is None:
        if vma.vm_ops is None:
            return do_anonymous_page(vma, address, write)
        if not write:
            return do_read_fault(vma, address)
        if vma.vm_flags & VM_SHARED:
            return do_shared_fault(vma, address)
        return do_cow_fault(vma, address)
    if isinstance(pte, SwpEntry):
        return do_swap_page(vma, address, pte, write)
    if write:
        if not pte.bits & _PAGE_RW:
            return do_wp_page(vma, address, pte)
        pte.bits |= _PAGE_ACCESSED | _PAGE_DIRTY
    else:
        pte.bits |= _PAGE_ACCESSED
    return 0


# ---------------------------------------------------------------------------------------
# Zap
# ---------------------------------------------------------------------------------------


def should_zap_cows(details: ZapDetails | None) -> bool:
    """Kernel: mm/memory.c:should_zap_cows(): by default, zap private COWed pages too."""
    if details is None or details.reclaim_pt:
        return True
    return details.even_cows


def should_zap_folio(details: ZapDetails | None, folio: Folio) -> bool:
    """Kernel: mm/memory.c:should_zap_folio()"""
    if should_zap_cows(details):
        return True
    return not folio.flags & PG_anon


def folio_pte_batch(folio: Folio, table: PteTable, i: int, pte: Pte, max_nr: int) -> int:
    """Kernel: mm/internal.h:folio_pte_batch()

    Count consecutive PTEs, starting at ``table[i]``, that map consecutive pages of
    ``folio`` (young/dirty/write bits are ignored, as the zap path asks).
    """
    nr = 1
    expect = pte.idx + 1
    limit = min(max_nr, (1 << folio.order) - pte.idx)
    while nr < limit:
        nxt = table[i + nr]
        if type(nxt) is not Pte or nxt.folio is not folio or nxt.idx != expect:
            break
        nr += 1
        expect += 1
    return nr


def get_and_clear_full_ptes(table: PteTable, i: int, nr: int) -> int:
    """Kernel: include/linux/pgtable.h:get_and_clear_full_ptes()

    Clear ``nr`` PTEs and return the OR of their accessed/dirty bits.
    """
    bits = 0
    for j in range(i, i + nr):
        bits |= table[j].bits  # type: ignore[union-attr]
        table[j] = None
    return bits


def zap_present_folio_ptes(
    tlb: MmuGather,
    vma: VmAreaStruct,
    folio: Folio,
    page: Page,
    table: PteTable,
    i: int,
    ptent: Pte,
    nr: int,
    addr: int,
    details: ZapDetails | None,
    rss: list[int],
    zf: ZapFlags,
) -> None:
    """Kernel: mm/memory.c:zap_present_folio_ptes()

    Zap ``nr`` PTEs mapping one folio. For a file folio: carry a dirty PTE into the folio
    (and on SMP delay the rmap removal until after the TLB flush), and feed a young PTE to
    ``folio_mark_accessed()`` unless the VMA opted out of recency. Then account rss,
    remember the TLB range, remove the rmap, and give the PTEs' references to the gather.

    Variants: patch 2 gates the ``folio_mark_accessed()`` call.
    """
    delay_rmap = False
    if not folio.flags & PG_anon:
        if nr == 1:
            bits = ptent.bits
            table[i] = None
        else:
            bits = get_and_clear_full_ptes(table, i, nr)
        if bits & _PAGE_DIRTY:
            folio_mark_dirty(folio)
            if tlb_delay_rmap(tlb):
                delay_rmap = True
                zf.force_flush = True
        if bits & _PAGE_ACCESSED and vma_has_recency(vma):
            folio_mark_accessed(folio)
        rss[MM_SHMEMPAGES if folio.flags & PG_swapbacked else MM_FILEPAGES] -= nr  # mm_counter()
    else:
        if nr == 1:
            table[i] = None
        else:
            get_and_clear_full_ptes(table, i, nr)  # clear_full_ptes(): A/D bits unneeded
        rss[MM_ANONPAGES] -= nr
    # tlb_remove_tlb_entries(tlb, pte, nr, addr), inlined: this runs for every zapped page
    tlb.cleared_ptes = True
    if addr < tlb.start:
        tlb.start = addr
    if addr + (nr << PAGE_SHIFT) > tlb.end:
        tlb.end = addr + (nr << PAGE_SHIFT)
    if not delay_rmap:
        folio_remove_rmap_ptes(folio, page, nr, vma)
    if __tlb_remove_folio_pages(tlb, page, nr, delay_rmap):
        zf.force_flush = True
        zf.force_break = True


def zap_present_ptes(
    tlb: MmuGather,
    vma: VmAreaStruct,
    table: PteTable,
    i: int,
    ptent: Pte,
    max_nr: int,
    addr: int,
    details: ZapDetails | None,
    rss: list[int],
    zf: ZapFlags,
) -> int:
    """Kernel: mm/memory.c:zap_present_ptes()

    Zero page and PFN mappings are just cleared. A folio that ``details`` says to keep is
    skipped. A large folio is zapped as one batch of consecutive PTEs.
    """
    folio = ptent.folio
    if folio is None:  # vm_normal_page() == NULL
        table[i] = None
        tlb.cleared_ptes = True
        if addr < tlb.start:
            tlb.start = addr
        if addr + PAGE_SIZE > tlb.end:
            tlb.end = addr + PAGE_SIZE
        return 1
    if details is not None and not should_zap_folio(details, folio):
        zf.any_skipped = True
        return 1
    page = (folio, ptent.idx)
    if folio.order and max_nr != 1:
        nr = folio_pte_batch(folio, table, i, ptent, max_nr)
    else:
        nr = 1
    # zap_present_folio_ptes(), or the series' version of it (patch 2): Kernel.series
    tlb.mm.kernel.series.zap_present_folio_ptes(
        tlb, vma, folio, page, table, i, ptent, nr, addr, details, rss, zf
    )
    return nr


def zap_nonpresent_ptes(
    tlb: MmuGather,
    vma: VmAreaStruct,
    table: PteTable,
    i: int,
    entry: SwpEntry,
    max_nr: int,
    addr: int,
    details: ZapDetails | None,
    rss: list[int],
    zf: ZapFlags,
) -> int:
    """Kernel: mm/memory.c:zap_nonpresent_ptes()

    A swap entry: drop its slot reference (``free_swap_and_cache_nr()``) and the swap rss,
    unless ``details`` keeps private COW content.
    """
    if not should_zap_cows(details):
        zf.any_skipped = True
        return 1
    rss[MM_SWAPENTS] -= 1
    free_swap_and_cache_nr(tlb.mm.kernel, entry, 1)
    table[i] = None
    return 1


def do_zap_pte_range(
    tlb: MmuGather,
    vma: VmAreaStruct,
    table: PteTable,
    i: int,
    addr: int,
    end: int,
    details: ZapDetails | None,
    rss: list[int],
    zf: ZapFlags,
) -> int:
    """Kernel: mm/memory.c:do_zap_pte_range()

    Skip a run of empty PTEs, then zap what follows. Returns how many PTEs were consumed.
    """
    max_nr = (end - addr) >> PAGE_SHIFT
    nr = 0
    ptent = table[i]
    if ptent is None:
        nr = 1
        while nr < max_nr and table[i + nr] is None:
            nr += 1
        max_nr -= nr
        if not max_nr:
            return nr
        i += nr
        addr += nr << PAGE_SHIFT
        ptent = table[i]
    if type(ptent) is Pte:
        return nr + zap_present_ptes(tlb, vma, table, i, ptent, max_nr, addr, details, rss, zf)
    assert isinstance(ptent, SwpEntry)
    return nr + zap_nonpresent_ptes(tlb, vma, table, i, ptent, max_nr, addr, details, rss, zf)


def _anon_fast_path_ok(tlb: MmuGather, vma: VmAreaStruct, details: ZapDetails | None) -> bool:
    """Model helper: may zap_pte_range() use :func:`_zap_small_anon_run` for this VMA?

    Only for a private anonymous VMA that is not VM_LOCKED, zapped into a batching gather,
    with COWed pages zapped too, and only when the Kernel was built with ``fast_paths``.
    """
    return (
        vma.vm_ops is None
        and not vma.vm_flags & VM_LOCKED
        and not tlb.no_gather
        and should_zap_cows(details)
        and tlb.mm.kernel.config.fast_paths
    )


def _zap_small_anon_run(
    tlb: MmuGather, table: PteTable, i: int, addr: int, end: int, rss: list[int], zf: ZapFlags
) -> int:
    """Model helper (a fast path, not a kernel function): zap a run of PTEs from ``i``.

    For empty PTEs and PTEs mapping order-0 anonymous folios this does, inline and in the
    same order, exactly what ``do_zap_pte_range()`` -> ``zap_present_ptes()`` ->
    ``zap_present_folio_ptes()`` -> ``folio_remove_rmap_ptes()`` ->
    ``__tlb_remove_folio_pages()`` do for them; counters are folded at the end of the run,
    which no other task can observe. It stops at the first other entry (returning how many
    PTEs it consumed) so the reference path handles it, or when the gather is full (setting
    the force flags as the reference path does). Equivalence with ``fast_paths=False`` is
    tested in tests/test_fast_paths.py. Reaping 4 KiB anonymous memory is the case that
    decides LMKD-scale run time; everything else always takes the reference path.
    """
    start_i = i
    end_i = i + ((end - addr) >> PAGE_SHIFT)
    zapped = unmapped = 0
    batch = tlb.active
    pages = batch.encoded_pages
    room = batch.max - 1 - len(pages)
    first = last = -1
    while i < end_i:
        pte = table[i]
        if pte is None:
            i += 1
            continue
        if type(pte) is not Pte:
            break
        folio = pte.folio
        if folio is None or folio.order or not folio.flags & PG_anon:
            break
        table[i] = None
        if first < 0:
            first = i
        last = i
        zapped += 1
        folio._mapcount -= 1
        if not folio._mapcount:
            unmapped += 1
        pages.append(((folio, 0), 0))  # encode_page((folio, 0), 0)
        i += 1
        room -= 1
        if room <= 0 and not tlb_next_batch(tlb):
            zf.force_flush = zf.force_break = True
            break
        if room <= 0:
            batch = tlb.active
            pages = batch.encoded_pages
            room = batch.max - 1 - len(pages)
    if zapped:
        rss[MM_ANONPAGES] -= zapped
        tlb.mm.kernel.vmstat[NR_ANON_MAPPED] -= unmapped
        # tlb_remove_tlb_entries() for every zapped PTE: one range covering them all
        tlb.cleared_ptes = True
        lo = addr + ((first - start_i) << PAGE_SHIFT)
        hi = addr + ((last - start_i + 1) << PAGE_SHIFT)
        if lo < tlb.start:
            tlb.start = lo
        if hi > tlb.end:
            tlb.end = hi
    return i - start_i


def zap_pte_range(
    tlb: MmuGather,
    vma: VmAreaStruct,
    table: PteTable,
    addr: int,
    end: int,
    details: ZapDetails | None,
) -> int:
    """Kernel: mm/memory.c:zap_pte_range()

    Zap one PTE table's part of ``[addr, end)``. Counters are folded into the mm once per
    pass. If a dirty file folio delayed its rmap, or the gather filled up, flush the TLB
    (and the delayed rmaps) before "dropping the PTE lock", free the batch, and retry the
    rest.
    """
    mm = tlb.mm
    zf = ZapFlags()
    while True:
        tlb_change_page_size(tlb, PAGE_SIZE)
        rss = [0, 0, 0, 0]
        i = (addr >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)
        fast = _anon_fast_path_ok(tlb, vma, details)
        while addr != end:
            if fast:
                nr = _zap_small_anon_run(tlb, table, i, addr, end, rss, zf)
                i += nr
                addr += nr << PAGE_SHIFT
                if zf.force_break or addr == end:
                    break
            nr = do_zap_pte_range(tlb, vma, table, i, addr, end, details, rss, zf)
            if zf.force_break:
                addr += nr << PAGE_SHIFT
                break
            i += nr
            addr += nr << PAGE_SHIFT
        add_mm_rss_vec(mm, rss)
        ev = mm.kernel.vm_events  # the model's cost meter: PTEs zapped in this pass
        ev["ZAP_PTE"] = ev.get("ZAP_PTE", 0) - rss[0] - rss[1] - rss[3]
        if zf.force_flush:
            tlb_flush_mmu_tlbonly(tlb)
            tlb_flush_rmaps(tlb, vma)
        # pte_unmap_unlock(): the PTE lock is dropped here
        if zf.force_flush:
            tlb_flush_mmu(tlb)
        if addr == end:
            return addr
        zf.force_flush = zf.force_break = False


def zap_pmd_range(
    tlb: MmuGather, vma: VmAreaStruct, addr: int, end: int, details: ZapDetails | None
) -> int:
    """Kernel: mm/memory.c:zap_pmd_range() (zap_p4d_range()/zap_pud_range() folded in)"""
    pgd = tlb.mm.pgd
    while addr != end:
        nxt = min((addr | (PMD_SIZE - 1)) + 1, end)
        entry = pgd.get(addr >> PMD_SHIFT)
        if type(entry) is Pmd:
            if nxt - addr != PMD_SIZE:
                __split_huge_pmd(vma, addr >> PMD_SHIFT)
            else:
                zap_huge_pmd(tlb, vma, addr >> PMD_SHIFT, addr)
        elif entry is not None:
            zap_pte_range(tlb, vma, entry, addr, nxt, details)  # type: ignore[arg-type]
        addr = nxt
    return addr


def unmap_page_range(
    tlb: MmuGather, vma: VmAreaStruct, addr: int, end: int, details: ZapDetails | None
) -> None:
    """Kernel: mm/memory.c:unmap_page_range()

    Zap ``[addr, end)`` of one VMA into ``tlb``, bracketed by ``tlb_start_vma()`` and
    ``tlb_end_vma()`` (which flushes the TLB for the VMA; the pages stay batched).
    """
    if addr >= end:
        raise ValueError("unmap_page_range: empty range")
    tlb_start_vma(tlb, vma)
    zap_pmd_range(tlb, vma, addr, end, details)
    tlb_end_vma(tlb, vma)


def unmap_single_vma(
    tlb: MmuGather, vma: VmAreaStruct, start_addr: int, end_addr: int, details: ZapDetails
) -> None:
    """Kernel: mm/memory.c:unmap_single_vma() (hugetlb VMAs: __unmap_hugepage_range())"""
    start = max(vma.vm_start, start_addr)
    if start >= vma.vm_end:
        return
    end = min(vma.vm_end, end_addr)
    if end <= vma.vm_start or start == end:
        return
    if vma.vm_flags & VM_HUGETLB:
        from mrelease_ref.mm.hugetlb import __unmap_hugepage_range

        __unmap_hugepage_range(vma, start, end)
        return
    unmap_page_range(tlb, vma, start, end, details)


def unmap_vmas(
    tlb: MmuGather, vmas: list[VmAreaStruct], start_addr: int, end_addr: int
) -> KernelGen[None]:
    """Kernel: mm/memory.c:unmap_vmas()

    Zap every VMA, COWed private pages included (``even_cows``). The kernel reschedules
    inside the walk; the model offers a preemption point after each VMA.
    """
    details = ZapDetails(even_cows=True, zap_flags=ZAP_FLAG_DROP_MARKER | ZAP_FLAG_UNMAP)
    for vma in vmas:
        unmap_single_vma(tlb, vma, start_addr, end_addr, details)
        yield cond_resched("unmap_vmas")

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
- Fault-around and whole-folio mapping (``finish_fault()``) run for ext4 read faults
  with readahead-chosen folios only; tmpfs and the fixed-order model
  (``file_folio_order=N``) map one page per fault, as the earlier model did.
- Fault-around does not check ``MMF_UNSTABLE`` (neither does the kernel's
  ``filemap_map_pages()``); the fault's own ``finish_fault()`` does.
- No PMD splitting: a huge PMD is always zapped whole (the reaper and exit zap whole VMAs,
  and anon THPs are only placed in VMA-aligned 2 MiB ranges).
- No uffd-wp markers, device-private entries, migration entries or KSM.
- No page-table reclaim (``reclaim_pt``); page tables are freed only when the mm is
  destroyed.
"""

from __future__ import annotations

from collections.abc import Callable
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
from mrelease_ref.include.linux.highmem import copy_mc_user_highpage, copy_user_highpage
from mrelease_ref.include.linux.mm_inline import lru_gen_use_mm, vma_has_recency
from mrelease_ref.include.linux.mm_types import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_RW,
    _PAGE_SPECIAL,
    MM_ANONPAGES,
    MM_FILEPAGES,
    MM_SHMEMPAGES,
    MM_SWAPENTS,
    PTE_BITS_MASK,
    PTE_IDX_SHIFT,
    VM_HUGETLB,
    VM_LOCKED,
    VM_MAYSHARE,
    VM_MAYWRITE,
    VM_MIXEDMAP,
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
    ptep_clear_bits,
    ptep_set_bits,
    vma_address,
    vma_pages,
)
from mrelease_ref.include.linux.mmzone import NR_ANON_MAPPED, NR_PAGETABLE
from mrelease_ref.include.linux.oom import check_stable_address_space
from mrelease_ref.include.linux.page_flags import (
    PG_anon,
    PG_anon_exclusive,
    PG_locked,
    PG_lru,
    PG_swapbacked,
)
from mrelease_ref.kernel.sched import KernelGen, cond_resched
from mrelease_ref.mm.filemap import filemap_fault, filemap_grab_folio, filemap_map_pages
from mrelease_ref.mm.huge_memory import (
    __split_huge_pmd,
    copy_huge_pmd,
    do_huge_pmd_anonymous_page,
    do_huge_pmd_wp_page,
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
    folio_dup_file_rmap_ptes,
    folio_move_anon_rmap,
    folio_remove_rmap_ptes,
    folio_try_dup_anon_rmap_ptes,
)
from mrelease_ref.mm.swap import folio_add_lru_vma, folio_mark_accessed, folio_put, lru_add_drain
from mrelease_ref.mm.swapfile import (
    folio_free_swap,
    free_swap_and_cache_nr,
    swap_duplicate,
    swap_free_nr,
    swapcache_prepare,
)

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Page
    from mrelease_ref.include.linux.sched import TaskStruct

# vm_fault_t bits: include/linux/mm_types.h
VM_FAULT_OOM: Final = 0x000001
VM_FAULT_SIGBUS: Final = 0x000002
VM_FAULT_MAJOR: Final = 0x000004
VM_FAULT_RETRY: Final = 0x000400
FAULT_FLAG_ALLOW_RETRY: Final = 1 << 2
FAULT_FLAG_TRIED: Final = 1 << 5

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
    pg = mm.kernel.pg
    table = PteTable(pg.PTRS_PER_PTE)
    mm.pgd[pmd_idx] = table
    mm.pgtables_bytes += pg.PAGE_SIZE
    mm.kernel.vmstat[NR_PAGETABLE] += 1
    return table


def pte_offset_map(mm: MmStruct, address: int, alloc: bool) -> PteTable | None:
    """Kernel: include/linux/mm.h:pte_offset_map() (with __pte_alloc() if asked)."""
    pg = mm.kernel.pg
    entry = mm.pgd.get(address >> pg.PMD_SHIFT)
    if type(entry) is PteTable:
        return entry
    if entry is None and alloc:
        return __pte_alloc(mm, address >> pg.PMD_SHIFT)
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
    """Model helper: ``set_pte_at()`` of a new present entry, written straight into the
    table's two stores (``table[idx] = Pte(...)`` without building the Pte)."""
    table.set_present(idx, folio, page_idx, bits)


def do_anonymous_page(vma: VmAreaStruct, address: int, write: bool) -> int:
    """Kernel: mm/memory.c:do_anonymous_page()

    A read maps the shared zero page (no folio, no rss). A write allocates a folio, makes
    it anonymous, puts it on the LRU (or mlocks it) and maps it writable and dirty.
    """
    pg = vma.vm_mm.kernel.pg
    mm = vma.vm_mm
    table = pte_offset_map(mm, address, alloc=True)
    assert table is not None
    idx = pg.pte_index(address)
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
    make it anonymous, put it on the LRU, count it, map it dirty and writable
    (``maybe_mkwrite(pte_mkdirty())``: only in a VM_WRITE VMA -- a FOLL_FORCE write into a
    read-only private mapping gets a read-only PTE)."""
    folio_add_new_anon_rmap(folio, vma, address, pmd=False)
    folio_add_lru_vma(folio, vma)
    vma.vm_mm.rss_stat[MM_ANONPAGES] += 1
    bits = _PAGE_ACCESSED | (_PAGE_DIRTY | _PAGE_RW if vma.vm_flags & VM_WRITE else 0)
    _set_pte(table, idx, folio, 0, bits)


def _fixed_order_model(vma: VmAreaStruct) -> bool:
    """Model helper: does this fault use the fixed-order model (no readahead, no
    fault-around)? tmpfs (``shmem_fault()``) and ``Kernel(file_folio_order=N)`` do."""
    assert vma.vm_file is not None and vma.vm_file.f_mapping is not None
    return (vma.vm_file.f_mapping.a_ops == "shmem"
            or vma.vm_mm.kernel.config.file_folio_order is not None)


def _file_folio(vma: VmAreaStruct, address: int, flags: int = 0) -> tuple[Folio | None, int]:
    """Kernel: mm/memory.c:__do_fault() -> ``vma->vm_ops->fault()``: the page-cache folio
    for ``address`` with a reference, and the page's index in it (``filemap_fault()``, or
    the fixed-order model's lookup for tmpfs and ``file_folio_order=N``). A folio of None
    with index ``VM_FAULT_RETRY`` asks for the fault to be retried; (None, 0) is OOM."""
    assert vma.vm_file is not None and vma.vm_file.f_mapping is not None
    pgoff = linear_page_index(vma, address)
    mapping = vma.vm_file.f_mapping
    if _fixed_order_model(vma):
        folio = filemap_grab_folio(mapping, pgoff, swapbacked=mapping.a_ops == "shmem")
    else:
        folio, ret = filemap_fault(vma, pgoff, flags)
        if ret & VM_FAULT_RETRY:
            return None, ret
    if folio is None:
        return None, 0
    return folio, pgoff - folio.index


def fault_with_retry(fault: Callable[[VmAreaStruct, int, int], int], vma: VmAreaStruct,
                     address: int, allow_retry: bool = True) -> int:
    """Kernel: arch/x86/mm/fault.c:do_user_addr_fault() (its retry loop): a fault that
    returns ``VM_FAULT_RETRY`` runs again, with ``FAULT_FLAG_TRIED`` after a major fault
    (the per-VMA-lock attempt) and after any retry under mmap_lock. ``allow_retry`` False
    is a GUP fault without a ``locked`` pointer (``get_user_pages_remote(..., NULL)``, as
    ``/proc/<pid>/mem`` makes): no FAULT_FLAG_ALLOW_RETRY, so I/O is waited for in place."""
    if not allow_retry:
        return fault(vma, address, 0) & ~VM_FAULT_MAJOR
    flags = FAULT_FLAG_ALLOW_RETRY
    ret = fault(vma, address, flags)
    if ret & VM_FAULT_RETRY:
        if ret & VM_FAULT_MAJOR:
            flags |= FAULT_FLAG_TRIED
        ret = fault(vma, address, flags)
        if ret & VM_FAULT_RETRY:
            ret = fault(vma, address, FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_TRIED)
    return ret & ~(VM_FAULT_RETRY | VM_FAULT_MAJOR)


def set_pte_range(
    vma: VmAreaStruct, folio: Folio, first: int, nr: int, address: int, bits: int
) -> None:
    """Kernel: mm/memory.c:set_pte_range(): map ``nr`` pages of ``folio`` from page index
    ``first``, starting at virtual ``address`` (one PTE table), and add their rmap. The
    caller accounts rss and references. x86_64 PTEs are made young, prefaulted ones too
    (``arch_wants_old_prefaulted_pte()`` is false; ``PAGE_READONLY`` has ``_PAGE_ACCESSED``)."""
    pg = vma.vm_mm.kernel.pg
    table = pte_offset_map(vma.vm_mm, address, alloc=False)
    assert table is not None
    folio_add_file_rmap_ptes(folio, (folio, first), nr, vma)
    base = pg.pte_index(address)
    for j in range(nr):
        _set_pte(table, base + j, folio, first + j, bits)


def map_file_ptes(
    vma: VmAreaStruct, folio: Folio, first: int, last: int, fault_pgoff: int, bits: int
) -> bool:
    """Model helper, the loop of mm/filemap.c:filemap_map_folio_range(): map the pages
    ``first..last`` (file indices) of ``folio`` whose PTEs are empty, run by run, one folio
    reference and one rss page per PTE. True when ``fault_pgoff`` was among them."""
    pg = vma.vm_mm.kernel.pg
    table = pte_offset_map(vma.vm_mm, vma_address(vma, first), alloc=False)
    assert table is not None
    hit = False
    run = 0
    pgoff = first
    total = 0
    while pgoff <= last + 1:
        addr = vma_address(vma, pgoff) if pgoff <= last else 0
        if pgoff <= last and table[pg.pte_index(addr)] is None:
            run += 1
        else:
            if run:
                start = pgoff - run
                set_pte_range(vma, folio, start - folio.index, run, vma_address(vma, start), bits)
                total += run
                hit |= start <= fault_pgoff < pgoff
            run = 0
        pgoff += 1
    folio._refcount += total
    vma.vm_mm.rss_stat[mm_counter_file(folio)] += total
    return hit


def finish_fault(vma: VmAreaStruct, address: int, folio: Folio, idx: int, bits: int) -> int:
    """Kernel: mm/memory.c:finish_fault(): map a page-cache folio (reference transferred).

    A private mapping of a reaped mm (MMF_UNSTABLE) fails with SIGBUS ("check even for read
    faults because we might have lost our CoWed page"); a VM_SHARED one is not checked.
    With an empty PMD a PMD-order folio is mapped by one PMD (``do_set_pmd()``). Otherwise
    the whole folio is mapped with PTEs when it lies inside the VMA and one PTE table and
    all its PTEs are empty, else just the faulting page. The fixed-order model
    (``file_folio_order=N``, tmpfs) maps just the page, as before.
    """
    pg = vma.vm_mm.kernel.pg
    mm = vma.vm_mm
    ret = 0 if vma.vm_flags & VM_SHARED else check_stable_address_space(mm)
    if ret:
        folio_put(folio)
        return ret
    pmd_none = mm.pgd.get(address >> pg.PMD_SHIFT) is None
    if not _fixed_order_model(vma):
        if pmd_none and folio.order >= pg.HPAGE_PMD_ORDER and do_set_pmd(
            vma, address, folio, write=bool(bits & _PAGE_RW)
        ):
            return 0
        table = pte_offset_map(mm, address, alloc=True)
        assert table is not None
        nr = 1 << folio.order
        pgoff = linear_page_index(vma, address)
        vma_off = pgoff - vma.vm_pgoff
        pte_off = pg.pte_index(address)
        if nr > 1 and not (vma_off < idx or vma_off + nr - idx > vma_pages(vma)
                           or pte_off < idx or pte_off + nr - idx > pg.PTRS_PER_PTE) \
                and all(table[pte_off - idx + j] is None for j in range(nr)):
            map_file_ptes(vma, folio, folio.index, folio.index + nr - 1, pgoff, bits)
        else:
            map_file_ptes(vma, folio, pgoff, pgoff, pgoff, bits)
        folio_put(folio)  # the fault's reference; each PTE took its own
        return 0
    table = pte_offset_map(mm, address, alloc=True)
    assert table is not None
    folio_add_file_rmap_ptes(folio, (folio, idx), 1, vma)
    mm.rss_stat[mm_counter_file(folio)] += 1
    _set_pte(table, pg.pte_index(address), folio, idx, bits)
    return 0


def _fault_around_one(vma: VmAreaStruct, address: int) -> int | None:
    """Model helper: fault-around in the fixed-order model (``file_folio_order=N``, tmpfs),
    one page wide -- what mm/memory.c:do_fault_around() -> mm/filemap.c:filemap_map_pages()
    does for the faulting page.

    Map an already cached, uptodate and unlocked page-cache page without I/O (a PMD-sized
    folio by one PMD when the PMD is empty, ``filemap_map_pmd()``). This path does not
    call ``check_stable_address_space()``: on a reaped mm a read fault on a private file
    page that is still cached succeeds (seen on the live kernel, 2026-12-03). Returns 0 when
    mapped, None to fall back to ``__do_fault()``.
    """
    from mrelease_ref.include.linux.page_flags import PG_uptodate
    from mrelease_ref.mm.filemap import filemap_get_entry

    pg = vma.vm_mm.kernel.pg
    assert vma.vm_file is not None and vma.vm_file.f_mapping is not None
    pgoff = linear_page_index(vma, address)
    folio = filemap_get_entry(vma.vm_file.f_mapping, pgoff)
    if folio is None or not folio.flags & PG_uptodate or folio.flags & PG_locked:
        return None
    mm = vma.vm_mm
    folio._refcount += 1  # the mapping's reference
    if mm.pgd.get(address >> pg.PMD_SHIFT) is None and do_set_pmd(vma, address, folio, False):
        return 0
    table = pte_offset_map(mm, address, alloc=True)
    assert table is not None
    folio_add_file_rmap_ptes(folio, (folio, pgoff - folio.index), 1, vma)
    mm.rss_stat[mm_counter_file(folio)] += 1
    _set_pte(table, pg.pte_index(address), folio, pgoff - folio.index,
             _PAGE_ACCESSED)
    return 0


def should_fault_around(vma: VmAreaStruct) -> bool:
    """Kernel: mm/memory.c:should_fault_around(): file VMAs with ``->map_pages`` (ext4;
    the model's tmpfs and fixed-order model do not fault around)."""
    return (vma.vm_file is not None and not _fixed_order_model(vma)
            and vma.vm_mm.kernel.pg.FAULT_AROUND_PAGES > 1)


def do_fault_around(vma: VmAreaStruct, address: int) -> bool:
    """Kernel: mm/memory.c:do_fault_around()

    Map the cached pages of the ``fault_around_bytes`` window (aligned, clamped to the VMA
    and the PTE table) around ``address`` with ``filemap_map_pages()``. True when the
    faulting page got mapped.
    """
    pg = vma.vm_mm.kernel.pg
    nr_pages = pg.FAULT_AROUND_PAGES  # fault_around_bytes (debugfs default 64 KiB) in pages
    pgoff = linear_page_index(vma, address)
    pte_off = pg.pte_index(address)
    vma_off = pgoff - vma.vm_pgoff
    from_pte = max(pte_off & ~(nr_pages - 1), pte_off - min(pte_off, vma_off))
    to_pte = min(from_pte + nr_pages, pg.PTRS_PER_PTE, pte_off + vma_pages(vma) - vma_off) - 1
    return filemap_map_pages(vma, address, pgoff + from_pte - pte_off, pgoff + to_pte - pte_off)


def do_read_fault(vma: VmAreaStruct, address: int, flags: int = 0) -> int:
    """Kernel: mm/memory.c:do_read_fault()

    Fault around first (no I/O); if that did not map the page, ``__do_fault()`` reads it
    (with readahead) and ``finish_fault()`` maps it: by one PMD for an aligned PMD-order
    folio, else the whole folio's PTEs where it fits. May return ``VM_FAULT_RETRY``.
    """
    pg = vma.vm_mm.kernel.pg
    if should_fault_around(vma):
        if do_fault_around(vma, address):
            return 0
    elif _fault_around_one(vma, address) == 0:
        return 0
    folio, idx = _file_folio(vma, address, flags)
    if folio is None:
        return idx if idx & VM_FAULT_RETRY else VM_FAULT_OOM
    if _fixed_order_model(vma) and vma.vm_mm.pgd.get(address >> pg.PMD_SHIFT) is None:
        ret = 0 if vma.vm_flags & VM_SHARED else check_stable_address_space(vma.vm_mm)
        if ret:
            folio_put(folio)
            return ret
        if do_set_pmd(vma, address, folio, write=False):
            return 0
    return finish_fault(vma, address, folio, idx, _PAGE_ACCESSED)


def wp_page_copy(vma: VmAreaStruct, address: int, old: Pte | None) -> int:
    """Kernel: mm/memory.c:wp_page_copy()

    Copy-on-write: allocate an anonymous folio, copy the old page into it
    (``copy_user_highpage()``; the zero page needs no copy), replace the PTE with a
    writable, dirty one, and let go of the old page: its rmap, its swap cache entry if
    nothing maps it any more (``free_swap_cache()``), and the reference the PTE held. The
    rss moves from file to anon for a page-cache page, grows by one for the zero page, and
    stays for an anonymous page.
    """
    from mrelease_ref.mm.swap_state import free_swap_cache

    pg = vma.vm_mm.kernel.pg
    mm = vma.vm_mm
    if vma.anon_vma is None:  # vmf_anon_prepare() -> __anon_vma_prepare()
        vma.anon_vma = AnonVma(vma)
    new = alloc_anon_folio(vma)
    if isinstance(new, int):
        return new
    old_folio = old.folio if old is not None else None
    if old_folio is not None:
        assert old is not None
        copy_user_highpage((new, 0), (old_folio, old.idx), address, vma)
    table = pte_offset_map(mm, address, alloc=True)
    assert table is not None
    idx = pg.pte_index(address)
    if old_folio is not None:
        assert old is not None
        if not old_folio.flags & PG_anon:
            mm.rss_stat[mm_counter_file(old_folio)] -= 1
        else:
            mm.rss_stat[MM_ANONPAGES] -= 1  # _map_new_anon_folio() counts the copy again
    table[idx] = None  # ptep_clear_flush()
    _map_new_anon_folio(vma, address, table, idx, new)
    if old_folio is not None:
        assert old is not None
        folio_remove_rmap_ptes(old_folio, (old_folio, old.idx), 1, vma)
        free_swap_cache(old_folio)
        folio_put(old_folio)
    return 0


def do_cow_fault(vma: VmAreaStruct, address: int, flags: int = 0) -> int:
    """Kernel: mm/memory.c:do_cow_fault()

    Write to an unmapped page of a private file mapping: read the page cache, copy the page
    into a new anonymous folio and map that; the page-cache folio stays cached and unmapped.
    """
    pg = vma.vm_mm.kernel.pg
    folio, idx = _file_folio(vma, address, flags)
    if folio is None:
        return idx if idx & VM_FAULT_RETRY else VM_FAULT_OOM
    if vma.anon_vma is None:  # vmf_anon_prepare()
        vma.anon_vma = AnonVma(vma)
    new = alloc_anon_folio(vma)
    if isinstance(new, int):
        folio_put(folio)
        return new
    copy_user_highpage((new, 0), (folio, idx), address, vma)
    folio_put(folio)  # the copy is done; drop the lookup reference
    table = pte_offset_map(vma.vm_mm, address, alloc=True)
    assert table is not None
    _map_new_anon_folio(vma, address, table, pg.pte_index(address), new)
    return 0


def do_shared_fault(vma: VmAreaStruct, address: int, flags: int = 0) -> int:
    """Kernel: mm/memory.c:do_shared_fault()

    Write to a shared mapping: ``page_mkwrite`` dirties the folio, the PTE is mapped
    writable and dirty.
    """
    folio, idx = _file_folio(vma, address, flags)
    if folio is None:
        return idx if idx & VM_FAULT_RETRY else VM_FAULT_OOM
    folio_mark_dirty(folio)  # filemap_page_mkwrite() / shmem
    return finish_fault(vma, address, folio, idx, _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_RW)


def wp_can_reuse_anon_folio(folio: Folio, vma: VmAreaStruct) -> bool:
    """Kernel: mm/memory.c:wp_can_reuse_anon_folio()

    May a write fault reuse an anonymous page that is not marked exclusive? Only if this
    mapping holds the only reference: no other mapping, no swap cache (dropped here if its
    slot is unused), no pin. A folio still in a per-CPU LRU batch is drained first, as the
    kernel does, so the batch's reference does not count. A large folio is reusable when
    every reference is a mapping of this mm (``__wp_can_reuse_large_anon_folio()``).
    """
    from mrelease_ref.include.linux.mm_types import folio_maybe_mapped_shared
    from mrelease_ref.include.linux.page_flags import PG_lru, PG_swapcache
    from mrelease_ref.mm.swap import lru_add_drain
    from mrelease_ref.mm.swap_state import folio_trylock, folio_unlock

    if folio.order:
        if folio_maybe_mapped_shared(folio) or folio._refcount != folio._mapcount:
            return False
        folio_move_anon_rmap(folio, vma)
        return True
    if folio._refcount > 3:
        return False
    if not folio.flags & PG_lru:
        lru_add_drain(folio.kernel)
    if folio._refcount > 1 + (1 if folio.flags & PG_swapcache else 0):
        return False
    if not folio_trylock(folio):
        return False
    if folio.flags & PG_swapcache:
        folio_free_swap(folio)
    if folio._refcount != 1:
        folio_unlock(folio)
        return False
    folio_move_anon_rmap(folio, vma)
    folio_unlock(folio)
    return True


def _pte_mkyoung_dirty_write(vma: VmAreaStruct, address: int) -> None:
    """Model helper, what wp_page_reuse() and wp_page_shared() write back:
    ``ptep_set_access_flags()`` of ``pte_mkyoung()``, ``pte_mkdirty()``, ``maybe_mkwrite()``."""
    table = pte_offset_map(vma.vm_mm, address, alloc=False)
    assert table is not None
    ptep_set_bits(table, vma.vm_mm.kernel.pg.pte_index(address),
                  _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_RW)


def do_wp_page(vma: VmAreaStruct, address: int, pte: Pte) -> int:
    """Kernel: mm/memory.c:do_wp_page()

    Write to a present read-only PTE. A shared mapping dirties the folio again and makes the
    PTE writable (``wp_page_shared()``). In a private mapping an anonymous page is reused
    (``wp_page_reuse()``) when it is PageAnonExclusive or ``wp_can_reuse_anon_folio()``
    says nobody else can see it, and then marked exclusive; anything else -- a page fork()
    left shared with another process, the zero page, a page-cache page -- is copied
    (``wp_page_copy()``).
    """
    folio = pte.folio
    if vma.vm_flags & (VM_SHARED | VM_MAYSHARE):
        if folio is not None:
            folio_mark_dirty(folio)
        _pte_mkyoung_dirty_write(vma, address)
        return 0
    if (
        folio is not None
        and folio.flags & PG_anon
        and (folio.flags & PG_anon_exclusive or wp_can_reuse_anon_folio(folio, vma))
    ):
        folio.flags |= PG_anon_exclusive
        _pte_mkyoung_dirty_write(vma, address)  # wp_page_reuse()
        return 0
    return wp_page_copy(vma, address, pte)


def should_try_to_free_swap(folio: Folio, vma: VmAreaStruct, write: bool) -> bool:
    """Kernel: mm/memory.c:should_try_to_free_swap()

    Drop a swapped-in folio from the swap cache when swap is getting full or the VMA is
    mlocked, and for a write fault when the swap cache's reference is the only other one
    (then the page can be mapped writable without a copy).
    """
    from mrelease_ref.include.linux.page_flags import PG_mlocked, PG_swapcache
    from mrelease_ref.mm.vmscan import mem_cgroup_swap_full

    if not folio.flags & PG_swapcache:
        return False
    if mem_cgroup_swap_full(folio) or vma.vm_flags & VM_LOCKED or folio.flags & PG_mlocked:
        return True
    # the kernel's folio_ref_count() == 2 counts the fault's own lookup reference, which
    # the model does not take: here only the swap cache's reference may remain
    return write and folio._refcount == 1 << folio.order


def do_swap_page(vma: VmAreaStruct, address: int, entry: SwpEntry, write: bool) -> int:
    """Kernel: mm/memory.c:do_swap_page()

    Bring a swapped-out anonymous page back: from the swap cache if it is still there,
    otherwise read it into a new folio that is added to the swap cache. The folio stays in
    the swap cache after a read fault; a write fault frees the slot
    (``should_try_to_free_swap()``).
    """
    from mrelease_ref.mm.swap import folio_add_lru
    from mrelease_ref.mm.swap_state import (
        swap_cache_add_folio,
        swap_cache_get_folio,
        swap_read_folio,
    )

    pg = vma.vm_mm.kernel.pg
    mm = vma.vm_mm
    k = mm.kernel
    folio = swap_cache_get_folio(k, entry)
    new_folio = folio is None
    if folio is None:
        folio = folio_alloc(k, 0)
        if folio is None:
            return VM_FAULT_OOM
        folio.flags |= PG_anon | PG_swapbacked
        # __folio_set_anon(): a page that may be shared gets the _oldest_ anon_vma, whose
        # walks reach every process fork() gave it to (narrowed below if exclusive)
        folio.mapping = vma.anon_vma.root if vma.anon_vma is not None else None
        folio.index = linear_page_index(vma, address)
        swapcache_prepare(k, entry, 1)  # the slot now has a cache folio: SWAP_HAS_CACHE
        swap_cache_add_folio(folio, entry)
        folio_add_lru(folio)
        folio._refcount -= 1  # the allocation reference; the cache now holds the folio
        swap_read_folio(folio, entry)
    if write and not folio.flags & PG_lru:
        lru_add_drain(k)  # the batch's reference would hide that the page is exclusive
    ret = check_stable_address_space(mm)
    if ret:
        return ret
    table = pte_offset_map(mm, address, alloc=True)
    assert table is not None
    swap_free_nr(k, entry, 1)
    mm.rss_stat[MM_SWAPENTS] -= 1
    if should_try_to_free_swap(folio, vma, write):
        folio.flags |= PG_locked
        folio_free_swap(folio)
        folio.flags &= ~PG_locked
    bits = _PAGE_ACCESSED
    # Nothing else references the folio (kernel: folio_ref_count() == 1, its own lookup
    # reference): the page is this mm's alone and can be mapped writable at once.
    exclusive = folio._refcount == 0
    if exclusive and vma.vm_flags & VM_WRITE:
        bits |= _PAGE_RW
        if write:
            bits |= _PAGE_DIRTY
            write = False
    folio._refcount += 1  # the new PTE's reference
    folio_add_anon_rmap_ptes(folio, (folio, 0), 1, vma, exclusive=exclusive)
    if exclusive and new_folio:
        folio.mapping = vma.anon_vma  # RMAP_EXCLUSIVE: __folio_set_anon() keeps our own
    mm.rss_stat[MM_ANONPAGES] += 1
    pte = Pte(folio, 0, bits)
    table[pg.pte_index(address)] = pte
    if write:  # shared with another process (fork) or still in the swap cache: copy
        return do_wp_page(vma, address, pte)
    return 0


def handle_mm_fault(vma: VmAreaStruct, address: int, write: bool, *, force: bool = False,
                    allow_retry: bool = True) -> int:
    """Kernel: mm/memory.c:handle_mm_fault()

    ``__handle_mm_fault()`` between ``lru_gen_enter_fault()`` and ``lru_gen_exit_fault()``:
    with the multi-gen LRU, the faulting task's ``in_lru_fault`` says whether this VMA has
    recency (``vma_has_recency()``) for the duration of the fault, so folios added to the
    LRU meanwhile join a young generation (``folio_add_lru()``), and the mm is marked used
    for the aging walk (``lru_gen_use_mm()``). Without the multi-gen LRU, a plain call.
    """
    k = vma.vm_mm.kernel
    cur = k.current
    if not k.config.lru_gen or cur is None:
        return __handle_mm_fault(vma, address, write, force=force, allow_retry=allow_retry)
    lru_gen_use_mm(vma.vm_mm)
    outer = cur.in_lru_fault
    cur.in_lru_fault = vma_has_recency(vma)
    try:
        return __handle_mm_fault(vma, address, write, force=force, allow_retry=allow_retry)
    finally:
        cur.in_lru_fault = outer


def __handle_mm_fault(vma: VmAreaStruct, address: int, write: bool, *, force: bool = False,
                    allow_retry: bool = True) -> int:
    """Kernel: mm/memory.c:__handle_mm_fault() (and the fault handlers it dispatches to)

    Resolve one access. Present entries just get their young (and, for a writable PTE,
    dirty) bit set, as the MMU would. Returns a ``VM_FAULT_*`` mask, 0 on success.
    ``force`` is a FOLL_FORCE write from GUP (``/proc/<pid>/mem``): the permission check
    the arch fault handler makes (``access_error()``) was replaced by GUP's
    ``check_vma_flags()``, which lets it write to a read-only private mapping (a COW).
    ``allow_retry`` False: no FAULT_FLAG_ALLOW_RETRY (see :func:`fault_with_retry`).
    """
    pg = vma.vm_mm.kernel.pg
    mm = vma.vm_mm
    if write and not vma.vm_flags & VM_WRITE and not force:
        return VM_FAULT_SIGBUS
    if vma.vm_flags & VM_HUGETLB:
        from mrelease_ref.mm.hugetlb import hugetlb_fault

        return hugetlb_fault(vma, address, write)
    entry = mm.pgd.get(address >> pg.PMD_SHIFT)
    if isinstance(entry, Pmd):
        if entry.folio is None and write:  # write to the huge zero page
            del mm.pgd[address >> pg.PMD_SHIFT]
            zap_deposited_table(mm)
            ret = do_huge_pmd_anonymous_page(vma, address, True)
            return ret if ret is not None else handle_mm_fault(vma, address, write)
        if write and not entry.bits & _PAGE_RW:  # wp_huge_pmd()
            if entry.folio is not None and entry.folio.flags & PG_anon:
                if do_huge_pmd_wp_page(vma, address, entry) == 0:
                    return 0
            else:  # a file PMD: split, retry with PTEs
                __split_huge_pmd(vma, address >> pg.PMD_SHIFT)
            return handle_mm_fault(vma, address, write, force=force, allow_retry=allow_retry)
        entry.bits |= _PAGE_ACCESSED | (_PAGE_DIRTY if write else 0)
        return 0
    if entry is None and thp_vma_allowable_anon(vma, address):
        ret = do_huge_pmd_anonymous_page(vma, address, write)
        if ret is not None:
            return ret
    if vma.vm_flags & VM_PFNMAP:
        table = pte_offset_map(mm, address, alloc=True)
        assert table is not None
        idx = pg.pte_index(address)
        if table[idx] is None:
            # the driver's remap_pfn_range(): a special PTE with vm_page_prot, writable only
            # in a shared mapping (a private one copies on write: do_wp_page() ->
            # wp_page_copy() with no old page, below)
            shared_write = write and vma.vm_flags & VM_SHARED
            _set_pte(table, idx, None, 0, _PAGE_SPECIAL | _PAGE_ACCESSED
                     | (_PAGE_RW | _PAGE_DIRTY if shared_write else 0))
            if not write or shared_write:
                return 0
        entry = table
    # pte_none() also when no PTE table exists yet: the fault handlers allocate it, which
    # leaves do_read_fault() the chance to map a PMD-sized folio with one PMD first.
    pte = entry[pg.pte_index(address)] if entry is not None else None
    if pte is None:
        if vma.vm_ops is None:
            return do_anonymous_page(vma, address, write)
        if not write:
            return fault_with_retry(do_read_fault, vma, address, allow_retry)
        if vma.vm_flags & VM_SHARED:
            return fault_with_retry(do_shared_fault, vma, address, allow_retry)
        return fault_with_retry(do_cow_fault, vma, address, allow_retry)
    if isinstance(pte, SwpEntry):
        return do_swap_page(vma, address, pte, write)
    # handle_pte_fault(): ptep_set_access_flags() of pte_mkyoung() (and pte_mkdirty())
    assert entry is not None
    if write:
        if not pte.bits & _PAGE_RW:
            return do_wp_page(vma, address, pte)
        ptep_set_bits(entry, pg.pte_index(address), _PAGE_ACCESSED | _PAGE_DIRTY)
    else:
        ptep_set_bits(entry, pg.pte_index(address), _PAGE_ACCESSED)
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
    """Kernel: mm/util.c:folio_pte_batch()

    Count consecutive PTEs, starting at ``table[i]``, that map consecutive pages of
    ``folio`` (young/dirty/write bits are ignored, as the zap path asks).
    """
    nr = 1
    expect = pte.idx + 1
    limit = min(max_nr, (1 << folio.order) - pte.idx)
    refs, vals = table.refs, table.vals  # ptep_get() of each, without building Ptes
    while nr < limit:
        # the slot maps ``folio`` (so it is present) at the next page index
        if refs[i + nr] is not folio or vals[i + nr] >> PTE_IDX_SHIFT != expect:
            break
        nr += 1
        expect += 1
    return nr


def get_and_clear_full_ptes(table: PteTable, i: int, nr: int) -> int:
    """Kernel: include/linux/pgtable.h:get_and_clear_full_ptes()

    Clear ``nr`` PTEs and return the OR of their accessed/dirty bits.
    """
    bits = 0
    refs, vals = table.refs, table.vals
    for j in range(i, i + nr):
        bits |= vals[j]
        refs[j] = None
        vals[j] = 0
    return bits & PTE_BITS_MASK


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
    end = addr + (nr << tlb.mm.kernel.pg.PAGE_SHIFT)
    if end > tlb.end:
        tlb.end = end
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
        end = addr + tlb.mm.kernel.pg.PAGE_SIZE
        if end > tlb.end:
            tlb.end = end
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
    pg = tlb.mm.kernel.pg
    max_nr = (end - addr) >> pg.PAGE_SHIFT
    nr = 0
    ptent = table[i]
    if ptent is None:
        nr = 1
        refs, vals = table.refs, table.vals  # pte_none() of each, without building Ptes
        while nr < max_nr and refs[i + nr] is None and not vals[i + nr]:
            nr += 1
        max_nr -= nr
        if not max_nr:
            return nr
        i += nr
        addr += nr << pg.PAGE_SHIFT
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
    pg = tlb.mm.kernel.pg
    start_i = i
    end_i = i + ((end - addr) >> pg.PAGE_SHIFT)
    zapped = unmapped = 0
    batch = tlb.active
    pages = batch.encoded_pages
    room = batch.max - 1 - len(pages)
    first = last = -1
    append = pages.append
    refs, vals = table.refs, table.vals  # the slots' two stores, read without building Ptes
    small = tlb.mm.kernel.folio_types[Folio]  # this Kernel's order-0 folio class
    while i < end_i:
        folio = refs[i]
        if folio is None:
            if vals[i]:  # the zero page or a PFN mapping
                break
            i += 1
            continue
        if type(folio) is not small or not folio.flags & PG_anon:
            break
        refs[i] = None
        vals[i] = 0
        if first < 0:
            first = i
        last = i
        zapped += 1
        mapcount = folio._mapcount - 1
        folio._mapcount = mapcount
        if not mapcount:
            unmapped += 1
        append((folio, 0))  # encode_page((folio, 0), 0): no flag, so the page itself
        i += 1
        room -= 1
        if room <= 0:
            if not tlb_next_batch(tlb):
                zf.force_flush = zf.force_break = True
                break
            batch = tlb.active
            pages = batch.encoded_pages
            append = pages.append
            room = batch.max - 1 - len(pages)
    if zapped:
        rss[MM_ANONPAGES] -= zapped
        tlb.mm.kernel.vmstat[NR_ANON_MAPPED] -= unmapped
        # tlb_remove_tlb_entries() for every zapped PTE: one range covering them all
        tlb.cleared_ptes = True
        lo = addr + ((first - start_i) << pg.PAGE_SHIFT)
        hi = addr + ((last - start_i + 1) << pg.PAGE_SHIFT)
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
) -> KernelGen[int]:
    """Kernel: mm/memory.c:zap_pte_range()

    Zap one PTE table's part of ``[addr, end)``. Counters are folded into the mm once per
    pass. If a dirty file folio delayed its rmap, or the gather filled up, flush the TLB
    (and the delayed rmaps) before "dropping the PTE lock", free the batch, reschedule
    (``cond_resched()``, a preemption point) and retry the rest.
    """
    pg = tlb.mm.kernel.pg
    mm = tlb.mm
    zf = ZapFlags()
    while True:
        tlb_change_page_size(tlb, pg.PAGE_SIZE)
        rss = [0, 0, 0, 0]
        i = pg.pte_index(addr)
        fast = _anon_fast_path_ok(tlb, vma, details)
        while addr != end:
            if fast:
                nr = _zap_small_anon_run(tlb, table, i, addr, end, rss, zf)
                i += nr
                addr += nr << pg.PAGE_SHIFT
                if zf.force_break or addr == end:
                    break
            nr = do_zap_pte_range(tlb, vma, table, i, addr, end, details, rss, zf)
            if zf.force_break:
                addr += nr << pg.PAGE_SHIFT
                break
            i += nr
            addr += nr << pg.PAGE_SHIFT
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
        yield cond_resched("zap_pte_range")
        zf.force_flush = zf.force_break = False


def zap_pmd_range(
    tlb: MmuGather, vma: VmAreaStruct, addr: int, end: int, details: ZapDetails | None
) -> KernelGen[int]:
    """Kernel: mm/memory.c:zap_pmd_range() (zap_p4d_range()/zap_pud_range() folded in)

    One PMD-sized step at a time: a huge PMD is zapped whole (a partly covered one is
    split, which unmaps it in the model), a PTE table goes to ``zap_pte_range()``, an empty
    entry is skipped. After every step v6.18 calls ``cond_resched()`` (the loop condition
    ``pmd++, cond_resched(), addr != end``); the model yields there, so a reaper,
    ``exit_mmap()`` and faulting threads interleave inside one large VMA -- once per 2 MiB
    of address range, never per page.
    """
    pg = tlb.mm.kernel.pg
    pgd = tlb.mm.pgd
    while addr != end:
        nxt = min((addr | (pg.PMD_SIZE - 1)) + 1, end)
        entry = pgd.get(addr >> pg.PMD_SHIFT)
        if type(entry) is Pmd:
            if nxt - addr != pg.PMD_SIZE:
                __split_huge_pmd(vma, addr >> pg.PMD_SHIFT)
            else:
                zap_huge_pmd(tlb, vma, addr >> pg.PMD_SHIFT, addr)
        elif entry is not None:
            yield from zap_pte_range(tlb, vma, entry, addr, nxt, details)  # type: ignore[arg-type]
        addr = nxt
        yield cond_resched("zap_pmd_range")
    return addr


def unmap_page_range(
    tlb: MmuGather, vma: VmAreaStruct, addr: int, end: int, details: ZapDetails | None
) -> KernelGen[None]:
    """Kernel: mm/memory.c:unmap_page_range()

    Zap ``[addr, end)`` of one VMA into ``tlb``, bracketed by ``tlb_start_vma()`` and
    ``tlb_end_vma()`` (which flushes the TLB for the VMA; the pages stay batched). It may
    sleep (``zap_pmd_range()`` reschedules after every PMD): callers ``yield from`` it, or
    drive it with ``kernel.sched.run_to_completion()`` where nothing else may run.
    """
    if addr >= end:
        raise ValueError("unmap_page_range: empty range")
    tlb_start_vma(tlb, vma)
    yield from zap_pmd_range(tlb, vma, addr, end, details)
    tlb_end_vma(tlb, vma)


def unmap_single_vma(
    tlb: MmuGather, vma: VmAreaStruct, start_addr: int, end_addr: int, details: ZapDetails
) -> KernelGen[None]:
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
    yield from unmap_page_range(tlb, vma, start, end, details)


def unmap_vmas(
    tlb: MmuGather, vmas: list[VmAreaStruct], start_addr: int, end_addr: int
) -> KernelGen[None]:
    """Kernel: mm/memory.c:unmap_vmas()

    Zap every VMA, COWed private pages included (``even_cows``). The VMA walk itself has
    no preemption point in v6.18: the kernel reschedules per PMD inside
    ``zap_pmd_range()`` (and before a gather-full retry in ``zap_pte_range()``).
    """
    details = ZapDetails(even_cows=True, zap_flags=ZAP_FLAG_DROP_MARKER | ZAP_FLAG_UNMAP)
    for vma in vmas:
        yield from unmap_single_vma(tlb, vma, start_addr, end_addr, details)


# ---------------------------------------------------------------------------------------
# fork(): copying the page tables
# ---------------------------------------------------------------------------------------


def is_cow_mapping(flags: int) -> bool:
    """Kernel: include/linux/mm.h:is_cow_mapping(): private and possibly writable."""
    return flags & (VM_SHARED | VM_MAYWRITE) == VM_MAYWRITE


def vma_needs_copy(dst_vma: VmAreaStruct, src_vma: VmAreaStruct) -> bool:
    """Kernel: mm/memory.c:vma_needs_copy()

    fork() copies page tables only where a fault could not rebuild them: PFN mappings and
    VMAs with an anon_vma (they may hold anonymous pages). A file VMA without anonymous
    pages -- shared, or private and never written -- is left for the child to fault in.
    """
    if src_vma.vm_flags & (VM_PFNMAP | VM_MIXEDMAP):
        return True
    return src_vma.anon_vma is not None


def copy_nonpresent_pte(
    dst_table: PteTable, src_table: PteTable, i: int, dst_vma: VmAreaStruct, rss: list[int]
) -> int:
    """Kernel: mm/memory.c:copy_nonpresent_pte() (swap entries)

    The child's PTE gets the same swap entry; the slot gains a reference
    (``swap_duplicate()``) and the entry is no longer exclusive to the parent.
    """
    entry = src_table[i]
    assert isinstance(entry, SwpEntry)
    swap_duplicate(dst_vma.vm_mm.kernel, entry)
    rss[MM_SWAPENTS] += 1
    dst_table[i] = entry
    return 0


def copy_present_page(
    dst_vma: VmAreaStruct, src_vma: VmAreaStruct, dst_table: PteTable, i: int, addr: int,
    rss: list[int], page: Page,
) -> int:
    """Kernel: mm/memory.c:copy_present_page()

    The parent's page may be pinned (GUP) and is exclusive: give the child its own copy
    now, mapped writable and dirty, instead of sharing it. Returns 0 or -ENOMEM.
    """
    import errno

    new = folio_alloc(dst_vma.vm_mm.kernel, 0)  # folio_prealloc()
    if new is None:
        return -errno.ENOMEM
    copy_mc_user_highpage((new, 0), page, addr, src_vma)
    folio_add_new_anon_rmap(new, dst_vma, addr, pmd=False)
    folio_add_lru_vma(new, dst_vma)
    rss[MM_ANONPAGES] += 1
    bits = _PAGE_ACCESSED | _PAGE_DIRTY | (_PAGE_RW if dst_vma.vm_flags & VM_WRITE else 0)
    _set_pte(dst_table, i, new, 0, bits)  # maybe_mkwrite(pte_mkdirty(pte))
    return 0


def __copy_present_ptes(
    dst_vma: VmAreaStruct, src_vma: VmAreaStruct, dst_table: PteTable, src_table: PteTable,
    i: int, nr: int,
) -> None:
    """Kernel: mm/memory.c:__copy_present_ptes()

    In a COW mapping a writable PTE is write-protected in the parent and the child alike,
    so the first write on either side faults. A shared mapping's child PTE starts clean;
    every child PTE starts old.
    """
    cow = is_cow_mapping(src_vma.vm_flags)
    clean = bool(src_vma.vm_flags & VM_SHARED)
    for j in range(i, i + nr):
        src = src_table[j]
        assert isinstance(src, Pte)
        bits = src.bits
        if cow and bits & _PAGE_RW:
            ptep_clear_bits(src_table, j, _PAGE_RW)  # wrprotect_ptes()
            bits &= ~_PAGE_RW
        if clean:
            bits &= ~_PAGE_DIRTY  # pte_mkclean()
        bits &= ~_PAGE_ACCESSED  # pte_mkold()
        dst_table[j] = Pte(src.folio, src.idx, bits)


def copy_present_ptes(
    dst_vma: VmAreaStruct, src_vma: VmAreaStruct, dst_table: PteTable, src_table: PteTable,
    i: int, pte: Pte, addr: int, max_nr: int, rss: list[int],
) -> int:
    """Kernel: mm/memory.c:copy_present_ptes()

    Share one present PTE (or a batch of PTEs mapping consecutive pages of one large
    folio) with the child: one more reference and mapping per PTE, the rss of the child,
    then ``__copy_present_ptes()``. A pinned exclusive anonymous page is copied instead
    (``copy_present_page()``). Returns the number of PTEs done, or -ENOMEM.
    """
    folio = pte.folio
    if folio is None:  # vm_normal_page() == NULL: the zero page or a PFN mapping
        __copy_present_ptes(dst_vma, src_vma, dst_table, src_table, i, 1)
        return 1
    nr = folio_pte_batch(folio, src_table, i, pte, max_nr) if folio.order and max_nr != 1 else 1
    page = (folio, pte.idx)
    folio._refcount += nr  # folio_ref_add()
    if folio.flags & PG_anon:
        if folio_try_dup_anon_rmap_ptes(folio, page, nr, dst_vma, src_vma):
            folio._refcount -= nr
            if folio.order:
                raise NotImplementedError("fork of a pinned large anonymous folio")
            ret = copy_present_page(dst_vma, src_vma, dst_table, i, addr, rss, page)
            return ret if ret else 1
        rss[MM_ANONPAGES] += nr
    else:
        folio_dup_file_rmap_ptes(folio, page, nr, dst_vma)
        rss[mm_counter_file(folio)] += nr
    __copy_present_ptes(dst_vma, src_vma, dst_table, src_table, i, nr)
    return nr


def copy_pte_range(
    dst_vma: VmAreaStruct, src_vma: VmAreaStruct, src_table: PteTable, addr: int, end: int
) -> int:
    """Kernel: mm/memory.c:copy_pte_range(): copy one PTE table's part of the range into a
    new table of the child; rss is added once at the end. Returns 0 or -ENOMEM."""
    import errno

    pg = dst_vma.vm_mm.kernel.pg
    dst_mm = dst_vma.vm_mm
    dst_table = pte_offset_map(dst_mm, addr, alloc=True)
    if dst_table is None:
        return -errno.ENOMEM
    rss = [0] * 4
    i = start_i = pg.pte_index(addr)
    end_i = i + ((end - addr) >> pg.PAGE_SHIFT)
    ret = 0
    while i < end_i:
        ent = src_table[i]
        if ent is None:
            i += 1
            continue
        if type(ent) is SwpEntry:
            copy_nonpresent_pte(dst_table, src_table, i, dst_vma, rss)
            i += 1
            continue
        assert isinstance(ent, Pte)
        nr = copy_present_ptes(dst_vma, src_vma, dst_table, src_table, i, ent,
                               addr + ((i - start_i) << pg.PAGE_SHIFT), end_i - i, rss)
        if nr < 0:
            ret = nr
            break
        i += nr
    add_mm_rss_vec(dst_mm, rss)
    return ret


def copy_pmd_range(dst_vma: VmAreaStruct, src_vma: VmAreaStruct, addr: int, end: int) -> int:
    """Kernel: mm/memory.c:copy_pmd_range() (copy_p4d_range()/copy_pud_range() folded in):
    a huge PMD goes to ``copy_huge_pmd()`` (-EAGAIN: it split the PMD, copy the PTEs), a PTE
    table to ``copy_pte_range()``."""
    import errno

    pg = dst_vma.vm_mm.kernel.pg
    src_pgd = src_vma.vm_mm.pgd
    while addr != end:
        nxt = min((addr | (pg.PMD_SIZE - 1)) + 1, end)
        entry = src_pgd.get(addr >> pg.PMD_SHIFT)
        if type(entry) is Pmd:
            err = copy_huge_pmd(dst_vma.vm_mm, src_vma.vm_mm, addr, dst_vma, src_vma)
            if err and err != -errno.EAGAIN:
                return err
            if not err:
                addr = nxt
                continue
            entry = src_pgd.get(addr >> pg.PMD_SHIFT)
        if type(entry) is PteTable:
            err = copy_pte_range(dst_vma, src_vma, entry, addr, nxt)
            if err:
                return err
        addr = nxt
    return 0


def copy_page_range(dst_vma: VmAreaStruct, src_vma: VmAreaStruct) -> int:
    """Kernel: mm/memory.c:copy_page_range()

    fork()'s copy of one VMA's page tables into the child, when ``vma_needs_copy()`` says
    a fault could not rebuild them. Returns 0 or -ENOMEM.
    """
    if not vma_needs_copy(dst_vma, src_vma):
        return 0
    if src_vma.vm_flags & VM_HUGETLB:
        return 0  # copy_hugetlb_page_range(): hugetlb VMAs hold no pages in the model
    return copy_pmd_range(dst_vma, src_vma, src_vma.vm_start, src_vma.vm_end)


# ---------------------------------------------------------------------------------------
# Access to another process's memory (/proc/<pid>/mem, ptrace)
# ---------------------------------------------------------------------------------------


def __access_remote_vm(
    mm: MmStruct, addr: int, buf: list[int], nr_pages: int, gup_flags: int,
    current: TaskStruct,
) -> KernelGen[int]:
    """Kernel: mm/memory.c:__access_remote_vm()

    Copy ``nr_pages`` whole pages from (or, with FOLL_WRITE, the tokens in ``buf`` to)
    ``mm`` at ``addr``, under its mmap read lock, one ``get_user_page_vma_remote()`` at a
    time. No VMA at ``addr`` returns 0 at once; a page GUP cannot get (no VMA, a refused
    access, a failed fault such as SIGBUS on a reaped mm) ends the copy. A write dirties
    the page's folio (``folio_mark_dirty_lock()``). Returns the pages copied; a read
    appends their tokens to ``buf``.
    """
    from mrelease_ref.include.linux.highmem import ZERO_TOKEN, memcpy_from_page, memcpy_to_page
    from mrelease_ref.include.linux.mm_types import find_vma
    from mrelease_ref.include.linux.rwsem import mmap_read_lock_killable, mmap_read_unlock
    from mrelease_ref.mm.gup import FOLL_WRITE, get_user_page_vma_remote

    pg = mm.kernel.pg
    if (yield from mmap_read_lock_killable(mm, current)):
        return 0
    if find_vma(mm, addr) is None:  # vma_lookup() (and no stack to expand)
        mmap_read_unlock(mm)
        return 0
    write = bool(gup_flags & FOLL_WRITE)
    done = 0
    while done < nr_pages:
        page, _vma = get_user_page_vma_remote(mm, addr + (done << pg.PAGE_SHIFT), gup_flags)
        if isinstance(page, int):
            break  # no vm_ops->access in the model: stop here
        folio, idx = page
        if write:
            if folio is None:
                break  # the zero page is never written (GUP would have faulted)
            memcpy_to_page((folio, idx), buf[done])
            folio_mark_dirty(folio)
        else:
            buf.append(ZERO_TOKEN if folio is None else memcpy_from_page((folio, idx)))
        done += 1
    mmap_read_unlock(mm)
    return done

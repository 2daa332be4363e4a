"""Reverse mapping: mapcounts, CONFIG_MM_ID ownership, and walks from a folio to its PTEs.

Kernel: mm/rmap.c, include/linux/rmap.h (folio_add_return_large_mapcount(),
folio_sub_return_large_mapcount())

Mapped-page statistics follow CONFIG_NO_PAGE_MAPCOUNT: a folio counts in full towards
AnonPages/Mapped from its first mapping until its last mapping goes away.

After fork(), an anonymous folio is mapped by the parent's VMA and by the child's copy of
it: ``anon_vma_fork()`` links the child's VMA into every anon_vma of the parent's chain
and gives it an anon_vma of its own (whose ``parent`` is the parent VMA's), so an rmap walk
from the folio's anon_vma visits both. ``folio_try_dup_anon_rmap_ptes()`` is how fork adds
the child's mappings; it clears PageAnonExclusive, and refuses (the caller copies the page
instead) when the page may be pinned.

Limitations:
- No deferred split queue for partially unmapped anonymous large folios.
- ``anon_vma_clone()``'s reuse of an anon_vma without VMAs and the ``num_children`` /
  ``num_active_vmas`` degree counts are not modelled: every forked VMA gets a new anon_vma.
- The anon_vma interval tree is a list of VMAs; a walk visits each and looks for the folio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrelease_ref.include.linux.fs import AddressSpace
from mrelease_ref.include.linux.mm_types import (
    _PAGE_DIRTY,
    _PAGE_RW,
    VM_LOCKED,
    AnonVma,
    MmIds,
    Pte,
    PteTable,
    linear_page_index,
    ptep_clear_bits,
    ptep_test_and_clear_young,
    vma_address,
)
from mrelease_ref.include.linux.mmzone import (
    NR_ANON_MAPPED,
    NR_ANON_THPS,
    NR_FILE_MAPPED,
    NR_FILE_PMDMAPPED,
    NR_SHMEM_PMDMAPPED,
)
from mrelease_ref.include.linux.page_flags import (
    PG_anon,
    PG_anon_exclusive,
    PG_dirty,
    PG_swapbacked,
)
from mrelease_ref.mm.mlock import mlock_vma_folio, munlock_folio, munlock_vma_folio

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio, Page, VmAreaStruct

MM_ID_DUMMY = 0


def folio_add_return_large_mapcount(folio: Folio, diff: int, vma: VmAreaStruct) -> int:
    """Kernel: include/linux/rmap.h:folio_add_return_large_mapcount() (CONFIG_MM_ID)

    Add ``diff`` mappings owned by ``vma``'s mm and update the two owner slots; a third
    owner, or a slot taken while other mappings exist, sets the "maybe shared" bit.
    """
    ids = folio._mm_ids
    if ids is None:
        ids = folio._mm_ids = MmIds(mapcount=[-1, -1])
    mm_id = vma.vm_mm.mm_id
    folio._mapcount += diff
    new_val = folio._mapcount - 1  # the kernel's -1-biased _large_mapcount
    if ids.mm_id[0] == mm_id:
        ids.mapcount[0] += diff
    elif ids.mm_id[1] == mm_id:
        ids.mapcount[1] += diff
    elif ids.mm_id[0] == MM_ID_DUMMY:
        ids.mm_id[0] = mm_id
        ids.mapcount[0] = diff - 1
        if new_val != diff - 1:
            ids.shared = True
    elif ids.mm_id[1] == MM_ID_DUMMY:
        ids.mm_id[1] = mm_id
        ids.mapcount[1] = diff - 1
        ids.shared = True
    else:
        ids.shared = True  # more than two MMs: no slot, and sharing is certain
    return folio._mapcount


def folio_sub_return_large_mapcount(folio: Folio, diff: int, vma: VmAreaStruct) -> int:
    """Kernel: include/linux/rmap.h:folio_sub_return_large_mapcount() (CONFIG_MM_ID)

    Remove ``diff`` mappings; when one slot owns every remaining mapping, the folio counts
    as exclusive again.
    """
    ids = folio._mm_ids
    assert ids is not None
    mm_id = vma.vm_mm.mm_id
    folio._mapcount -= diff
    new_val = folio._mapcount - 1
    for slot in (0, 1):
        if ids.mm_id[slot] == mm_id:
            ids.mapcount[slot] -= diff
            if ids.mapcount[slot] >= 0:
                return folio._mapcount
            ids.mapcount[slot] = -1
            ids.mm_id[slot] = MM_ID_DUMMY
            break
    if ids.mapcount[0] == new_val or ids.mapcount[1] == new_val:
        ids.shared = False
    return folio._mapcount


def _add_mapcount(folio: Folio, nr: int, vma: VmAreaStruct) -> bool:
    """Add ``nr`` mappings; return True if the folio was unmapped before."""
    was_unmapped = folio._mapcount == 0
    if folio.order > 0 and folio.kernel.config.mm_id:
        folio_add_return_large_mapcount(folio, nr, vma)
    else:
        folio._mapcount += nr
    return was_unmapped


def _sub_mapcount(folio: Folio, nr: int, vma: VmAreaStruct) -> bool:
    """Remove ``nr`` mappings; return True if the folio is now unmapped."""
    if folio.order > 0 and folio.kernel.config.mm_id:
        folio_sub_return_large_mapcount(folio, nr, vma)
    else:
        folio._mapcount -= nr
    return folio._mapcount == 0


def folio_add_new_anon_rmap(folio: Folio, vma: VmAreaStruct, address: int, pmd: bool) -> None:
    """Kernel: mm/rmap.c:folio_add_new_anon_rmap()

    Make a freshly allocated folio anonymous and exclusive to this mm, and map it once (by
    one PTE, or by a PMD when ``pmd``).
    """
    assert vma.anon_vma is not None
    folio.flags |= PG_anon | PG_swapbacked | PG_anon_exclusive  # RMAP_EXCLUSIVE
    folio.mapping = vma.anon_vma
    folio.index = linear_page_index(vma, address)
    nr = 1 << folio.order
    if pmd:
        folio._entire_mapcount = 1
        folio.kernel.vmstat[NR_ANON_THPS] += nr
    _add_mapcount(folio, 1, vma)
    folio.kernel.vmstat[NR_ANON_MAPPED] += nr


def folio_add_anon_rmap_ptes(
    folio: Folio, page: Page, nr: int, vma: VmAreaStruct, exclusive: bool = False
) -> None:
    """Kernel: mm/rmap.c:folio_add_anon_rmap_ptes() (an existing anon folio, e.g. swap-in)

    ``exclusive`` is RMAP_EXCLUSIVE: the pages are known to be this mm's alone.
    """
    if _add_mapcount(folio, nr, vma):
        folio.kernel.vmstat[NR_ANON_MAPPED] += 1 << folio.order
    if exclusive:
        folio.flags |= PG_anon_exclusive


def folio_add_file_rmap_ptes(folio: Folio, page: Page, nr: int, vma: VmAreaStruct) -> None:
    """Kernel: mm/rmap.c:folio_add_file_rmap_ptes()"""
    if _add_mapcount(folio, nr, vma):
        folio.kernel.vmstat[NR_FILE_MAPPED] += 1 << folio.order
    mlock_vma_folio(folio, vma)


def folio_add_file_rmap_pmd(folio: Folio, vma: VmAreaStruct) -> None:
    """Kernel: mm/rmap.c:folio_add_file_rmap_pmd(): one PMD mapping of a PMD-sized folio
    (the first one counts the folio in FilePmdMapped or ShmemPmdMapped)."""
    folio._entire_mapcount += 1
    if folio._entire_mapcount == 1:
        idx = NR_SHMEM_PMDMAPPED if folio.flags & PG_swapbacked else NR_FILE_PMDMAPPED
        folio.kernel.vmstat[idx] += 1 << folio.order
    if _add_mapcount(folio, 1, vma):
        folio.kernel.vmstat[NR_FILE_MAPPED] += 1 << folio.order
    mlock_vma_folio(folio, vma)


def folio_remove_rmap_ptes(folio: Folio, page: Page, nr: int, vma: VmAreaStruct) -> None:
    """Kernel: mm/rmap.c:folio_remove_rmap_ptes()

    Drop ``nr`` PTE mappings. The last one takes the folio out of AnonPages/Mapped. A folio
    leaving a VM_LOCKED VMA is munlocked (through the mlock batch).
    """
    if folio.order and folio.kernel.config.mm_id:
        folio_sub_return_large_mapcount(folio, nr, vma)
    else:
        folio._mapcount -= nr
    if not folio._mapcount:
        idx = NR_ANON_MAPPED if folio.flags & PG_anon else NR_FILE_MAPPED
        folio.kernel.vmstat[idx] -= 1 << folio.order
    if vma.vm_flags & VM_LOCKED:  # munlock_vma_folio(), an inline helper
        munlock_folio(folio)


def folio_remove_rmap_pmd(folio: Folio, page: Page, vma: VmAreaStruct) -> None:
    """Kernel: mm/rmap.c:folio_remove_rmap_pmd()"""
    folio._entire_mapcount -= 1
    nr = 1 << folio.order
    if _sub_mapcount(folio, 1, vma):
        idx = NR_ANON_MAPPED if folio.flags & PG_anon else NR_FILE_MAPPED
        folio.kernel.vmstat[idx] -= nr
    if folio.flags & PG_anon and folio._entire_mapcount == 0:
        folio.kernel.vmstat[NR_ANON_THPS] -= nr
    elif folio._entire_mapcount == 0:
        idx = NR_SHMEM_PMDMAPPED if folio.flags & PG_swapbacked else NR_FILE_PMDMAPPED
        folio.kernel.vmstat[idx] -= nr
    munlock_vma_folio(folio, vma)


def rmap_vmas(folio: Folio) -> list[VmAreaStruct]:
    """Model helper: the VMAs an rmap walk visits (what rmap_walk() iterates): for an
    anonymous folio every VMA linked to its anon_vma (``rmap_walk_anon()``), for a file
    folio the mapping's i_mmap."""
    mapping = folio.mapping
    if isinstance(mapping, AnonVma):
        return list(mapping.vmas)
    if isinstance(mapping, AddressSpace):
        return list(mapping.i_mmap)
    return []


def folio_ptes(folio: Folio, vma: VmAreaStruct) -> list[tuple[PteTable, int]]:
    """Model helper standing in for page_vma_mapped_walk(): every PTE slot in ``vma`` that
    maps a page of ``folio``, as (table, index) pairs."""
    pg = vma.vm_mm.kernel.pg
    found: list[tuple[PteTable, int]] = []
    for i in range(1 << folio.order):
        pgoff = folio.index + i
        if pgoff < vma.vm_pgoff:
            continue
        addr = vma_address(vma, pgoff)
        if addr >= vma.vm_end:
            break
        table = vma.vm_mm.pgd.get(addr >> pg.PMD_SHIFT)
        if not isinstance(table, PteTable):
            continue
        idx = pg.pte_index(addr)
        if table.refs[idx] is folio:  # a present PTE mapping this folio
            found.append((table, idx))
    return found


def folio_mkclean(folio: Folio) -> int:
    """Kernel: mm/rmap.c:folio_mkclean()

    Write-protect and clean every PTE that maps the file folio, so the next write faults and
    dirties the folio again. Returns how many PTEs were dirty.
    """
    cleaned = 0
    for vma in rmap_vmas(folio):
        for table, idx in folio_ptes(folio, vma):
            pte = table[idx]
            assert isinstance(pte, Pte)
            if pte.bits & _PAGE_DIRTY:
                cleaned += 1
            ptep_clear_bits(table, idx, _PAGE_DIRTY | _PAGE_RW)  # pte_wrprotect(pte_mkclean())
    return cleaned


# --- try_to_unmap(): reclaim's unmap (MADV_PAGEOUT) ------------------------------------
# enum ttu_flags: include/linux/rmap.h
TTU_SPLIT_HUGE_PMD = 0x4
TTU_IGNORE_MLOCK = 0x8
TTU_SYNC = 0x10
TTU_HWPOISON = 0x20
TTU_BATCH_FLUSH = 0x40
TTU_RMAP_LOCKED = 0x80


def try_to_unmap_one(folio: Folio, vma: VmAreaStruct, flags: int) -> bool:
    """Kernel: mm/rmap.c:try_to_unmap_one()

    Unmap the folio from every PTE of ``vma``. A dirty PTE dirties the folio first. An
    anonymous folio's PTE becomes the swap entry of its page (one more swap count,
    MM_ANONPAGES -> MM_SWAPENTS); a file folio's PTE is cleared. Each PTE's rmap and
    reference go. Returns False to stop the walk: a VM_LOCKED VMA (the mlock is restored)
    or an anonymous folio that is not in the swap cache.
    """
    from mrelease_ref.include.linux.mm_types import (
        _PAGE_DIRTY,
        MM_ANONPAGES,
        MM_SWAPENTS,
        SwpEntry,
        add_mm_counter,
        mm_counter_file,
    )
    from mrelease_ref.include.linux.mmzone import FolioBatch
    from mrelease_ref.mm.page_writeback import folio_mark_dirty
    from mrelease_ref.mm.swap import folios_put_refs
    from mrelease_ref.mm.swapfile import swap_duplicate

    if not flags & TTU_IGNORE_MLOCK and vma.vm_flags & VM_LOCKED:
        if not folio.order:
            mlock_vma_folio(folio, vma)  # restore the mlock which got missed
        return False
    anon = bool(folio.flags & PG_anon)
    if flags & TTU_SPLIT_HUGE_PMD:
        _split_folio_pmd(folio, vma)
    if anon and not folio.flags & PG_swapbacked:
        return _unmap_lazyfree(folio, vma)
    if anon and folio.swap is None:  # swapbacked but not in the swap cache: WARN_ON_ONCE
        return False
    mm = vma.vm_mm
    for table, idx in folio_ptes(folio, vma):
        pte = table[idx]
        assert isinstance(pte, Pte)
        table[idx] = None  # ptep_get_and_clear() (TLB flush batched: TTU_BATCH_FLUSH)
        if pte.bits & _PAGE_DIRTY:
            folio_mark_dirty(folio)
        if anon:
            assert folio.swap is not None
            entry = SwpEntry(folio.swap.type, folio.swap.offset + pte.idx)  # page_swap_entry()
            swap_duplicate(mm.kernel, entry)
            table[idx] = entry
            add_mm_counter(mm, MM_ANONPAGES, -1)
            add_mm_counter(mm, MM_SWAPENTS, 1)
        else:
            add_mm_counter(mm, mm_counter_file(folio), -1)
        folio_remove_rmap_ptes(folio, (folio, pte.idx), 1, vma)
        folios_put_refs(FolioBatch([folio]), [1])  # folio_put_refs(folio, nr_pages)
    return True


def _folio_pmd_addr(folio: Folio, vma: VmAreaStruct) -> int | None:
    """The address of a PMD of ``vma`` that maps ``folio`` (page_vma_mapped_walk() finding
    ``pvmw.pmd``), or None."""
    from mrelease_ref.include.linux.mm_types import Pmd

    pg = vma.vm_mm.kernel.pg
    if folio.index < vma.vm_pgoff:
        return None
    addr = vma_address(vma, folio.index)
    if addr >= vma.vm_end:
        return None
    entry = vma.vm_mm.pgd.get(addr >> pg.PMD_SHIFT)
    return addr if isinstance(entry, Pmd) and entry.folio is folio else None


def _split_folio_pmd(folio: Folio, vma: VmAreaStruct) -> None:
    """try_to_unmap_one() with TTU_SPLIT_HUGE_PMD: a PMD of ``vma`` that maps a file
    ``folio`` is split first (``split_huge_pmd_locked()``), which in the model unmaps it."""
    from mrelease_ref.mm.huge_memory import __split_huge_pmd

    pg = vma.vm_mm.kernel.pg
    addr = _folio_pmd_addr(folio, vma)
    if addr is not None and not folio.flags & PG_anon:
        __split_huge_pmd(vma, addr >> pg.PMD_SHIFT)


def _unmap_lazyfree(folio: Folio, vma: VmAreaStruct) -> bool:
    """try_to_unmap_one() for a lazyfree (MADV_FREE) anonymous folio: each PTE is dropped
    without a swap entry while the folio is clean and nobody else holds a reference; a
    dirty PTE (written after MADV_FREE) puts it back and makes the folio swapbacked again."""
    from mrelease_ref.include.linux.mm_types import _PAGE_DIRTY, MM_ANONPAGES, add_mm_counter
    from mrelease_ref.mm.huge_memory import unmap_huge_pmd_locked
    from mrelease_ref.mm.page_writeback import folio_mark_dirty
    from mrelease_ref.mm.swap import folio_put

    addr = _folio_pmd_addr(folio, vma)
    if addr is not None:  # a PMD-mapped lazyfree THP is discarded (or kept) whole
        return unmap_huge_pmd_locked(vma, addr, folio)
    for table, idx in folio_ptes(folio, vma):
        pte = table[idx]
        assert isinstance(pte, Pte)
        if pte.bits & _PAGE_DIRTY:
            folio_mark_dirty(folio)
        if folio.flags & PG_dirty:
            folio.flags |= PG_swapbacked  # folio_set_swapbacked(): keep it
            return False
        if folio._refcount != 1 + folio._mapcount:  # someone else holds it: not now
            return False
        table[idx] = None  # discard
        add_mm_counter(vma.vm_mm, MM_ANONPAGES, -1)
        folio_remove_rmap_ptes(folio, (folio, pte.idx), 1, vma)
        folio_put(folio)
    return True


def try_to_unmap(folio: Folio, flags: int) -> None:
    """Kernel: mm/rmap.c:try_to_unmap()

    Walk the folio's reverse map with ``try_to_unmap_one()`` until it is no longer mapped
    (``folio_not_mapped()``) or a VMA stops the walk. The caller checks ``folio_mapped()``.
    """
    for vma in rmap_vmas(folio):
        if not try_to_unmap_one(folio, vma, flags):
            break
        if not folio._mapcount:  # rwc.done = folio_not_mapped
            break


# --- folio_referenced(): LRU reclaim's aging walk -------------------------------------


def folio_referenced_one(folio: Folio, vma: VmAreaStruct, pra: list[int]) -> bool:
    """Kernel: mm/rmap.c:folio_referenced_one()

    Harvest and clear the young bits of every PTE (or the PMD) of ``vma`` that maps
    ``folio``. ``pra`` is the walk's ``struct folio_referenced_arg`` as
    ``[mapcount, referenced, vm_flags]``: a VMA with at least one young entry adds one to
    ``referenced`` and its flags to ``vm_flags``. A VM_LOCKED VMA mapping the whole folio
    restores the mlock and stops the walk (``vm_flags`` gets VM_LOCKED); a non-shared
    anonymous folio of an exiting or OOM-reaped mm stops it with ``referenced = -1``.
    Returns False to stop the walk. With the multi-gen LRU each PTE goes through
    ``lru_gen_look_around()`` (mm/vmscan.py), which also promotes young neighbours.
    """
    from mrelease_ref.include.linux.mm_types import _PAGE_ACCESSED, Pmd, folio_maybe_mapped_shared
    from mrelease_ref.include.linux.oom import check_stable_address_space

    pg = vma.vm_mm.kernel.pg
    mm = vma.vm_mm
    entries: list[Pte | Pmd] = []
    slots: list[tuple[PteTable, int]] = []
    pmd = None
    if vma.vm_pgoff <= folio.index:  # page_vma_mapped_walk(): a PMD mapping of the folio?
        pmd = mm.pgd.get(vma_address(vma, folio.index) >> pg.PMD_SHIFT)
    if isinstance(pmd, Pmd) and pmd.folio is folio:
        entries.append(pmd)
    else:
        slots = folio_ptes(folio, vma)
        for table, idx in slots:
            pte = table[idx]
            assert isinstance(pte, Pte)
            entries.append(pte)
    if not entries:
        return True
    if vma.vm_flags & VM_LOCKED:
        pra[0] -= len(entries)
        if isinstance(entries[0], Pmd) or len(entries) == 1 << folio.order:
            mlock_vma_folio(folio, vma)  # restore the mlock which got missed
            pra[2] |= VM_LOCKED
            return False
        return True
    if (
        (mm.mm_users == 0 or check_stable_address_space(mm))
        and folio.flags & PG_anon
        and folio.flags & PG_swapbacked
        and not folio_maybe_mapped_shared(folio)
    ):
        pra[1] = -1  # skip the folio of an exiting or OOM-reaped process
        return False
    referenced = 0
    if mm.kernel.config.lru_gen and not isinstance(entries[0], Pmd):  # lru_gen_enabled()
        from mrelease_ref.mm.vmscan import lru_gen_look_around

        for table, idx in folio_ptes(folio, vma):
            referenced += lru_gen_look_around(vma, table, idx)
    elif isinstance(pmd, Pmd) and entries[0] is pmd:  # pmdp_clear_flush_young_notify()
        if pmd.bits & _PAGE_ACCESSED:
            pmd.bits &= ~_PAGE_ACCESSED
            referenced += 1
    else:
        for table, idx in slots:  # ptep_clear_flush_young_notify()
            referenced += ptep_test_and_clear_young(table, idx)
    if referenced:
        pra[1] += 1
        pra[2] |= vma.vm_flags & ~VM_LOCKED
    pra[0] -= len(entries)
    return pra[0] > 0


def folio_referenced(folio: Folio, is_locked: bool) -> tuple[int, int]:
    """Kernel: mm/rmap.c:folio_referenced()

    Walk the reverse map and test-and-clear the young bit of every PTE/PMD mapping
    ``folio``. Returns ``(referenced, vm_flags)`` (the kernel returns the first and stores
    the second through a pointer): the number of VMAs that found the folio young, or -1
    when the folio lock was contended (an unlocked file folio) or the walk bailed out for
    an exiting mm's anonymous folio; ``vm_flags`` ORs the flags of the referencing VMAs
    (VM_LOCKED if a locked VMA was found). An unmapped folio returns ``(0, 0)``.
    """
    from mrelease_ref.mm.swap_state import folio_trylock, folio_unlock

    pra = [folio._mapcount, 0, 0]
    if not pra[0] or folio.mapping is None:
        return 0, 0
    we_locked = False
    if not is_locked and not folio.flags & PG_anon:
        we_locked = folio_trylock(folio)
        if not we_locked:
            return 1, 0
    for vma in rmap_vmas(folio):
        if not folio_referenced_one(folio, vma, pra):
            break
    if we_locked:
        folio_unlock(folio)
    return pra[1], pra[2]


# --- fork(): anon_vma chains and duplicated mappings ----------------------------------


def anon_vma_clone(dst: VmAreaStruct, src: VmAreaStruct) -> None:
    """Kernel: mm/rmap.c:anon_vma_clone()

    Link ``dst`` into every anon_vma ``src`` is linked to (one ``anon_vma_chain`` each),
    so rmap walks from folios of any of them reach ``dst`` too.
    """
    for av in src.anon_vma_chain:
        av.vmas.append(dst)  # anon_vma_chain_link() + anon_vma_interval_tree_insert()
        dst.anon_vma_chain.append(av)


def anon_vma_fork(vma: VmAreaStruct, pvma: VmAreaStruct) -> int:
    """Kernel: mm/rmap.c:anon_vma_fork()

    Give the child's ``vma`` the parent's anon_vma chain and an anon_vma of its own, whose
    parent is ``pvma``'s. New anonymous folios of the child (its COW copies) point there,
    so the parent's walks never visit them. Returns 0.
    """
    if pvma.anon_vma is None:  # nothing to copy: the child gets one at its first fault
        return 0
    vma.anon_vma = None
    anon_vma_clone(vma, pvma)
    parent = pvma.anon_vma
    av = AnonVma(vma, parent=parent, root=parent.root)
    vma.anon_vma = av
    return 0


def unlink_anon_vmas(vma: VmAreaStruct) -> None:
    """Kernel: mm/rmap.c:unlink_anon_vmas(): take the VMA out of every anon_vma it is
    linked to (the VMA is going away)."""
    for av in vma.anon_vma_chain:
        av.vmas.remove(vma)
    vma.anon_vma_chain.clear()


def folio_try_dup_anon_rmap_ptes(
    folio: Folio, page: Page, nr: int, dst_vma: VmAreaStruct, src_vma: VmAreaStruct
) -> int:
    """Kernel: include/linux/rmap.h:folio_try_dup_anon_rmap_ptes()

    Fork duplicates ``nr`` PTE mappings of an anonymous folio into the child. An exclusive
    page that may be pinned cannot be shared (the pin's user would see the parent's later
    writes go elsewhere): -EBUSY, and the caller copies it. Otherwise PageAnonExclusive is
    cleared -- both mms now map the page -- and the mapcount grows. Returns 0 or -EBUSY.
    """
    ret = _dup_anon_exclusive(folio)
    if not ret:
        _add_mapcount(folio, nr, dst_vma)
    return ret


def _dup_anon_exclusive(folio: Folio) -> int:
    """__folio_try_dup_anon_rmap()'s exclusivity rule: -EBUSY for an exclusive page that
    may be pinned, else clear PageAnonExclusive (the page becomes shared) and return 0."""
    import errno

    if folio.flags & PG_anon_exclusive:
        if folio._pincount > 0:  # folio_maybe_dma_pinned()
            return -errno.EBUSY
        folio.flags &= ~PG_anon_exclusive
    return 0


def folio_try_dup_anon_rmap_pmd(
    folio: Folio, page: Page, dst_vma: VmAreaStruct, src_vma: VmAreaStruct
) -> int:
    """Kernel: include/linux/rmap.h:folio_try_dup_anon_rmap_pmd(): the same for a PMD
    mapping of a THP (one more entire mapping)."""
    ret = _dup_anon_exclusive(folio)
    if ret:
        return ret
    folio._entire_mapcount += 1
    _add_mapcount(folio, 1, dst_vma)
    return 0


def folio_dup_file_rmap_ptes(folio: Folio, page: Page, nr: int, dst_vma: VmAreaStruct) -> None:
    """Kernel: include/linux/rmap.h:folio_dup_file_rmap_ptes(): fork adds the child's
    mappings of a page-cache folio (no mlock: the child's VMA is never VM_LOCKED)."""
    _add_mapcount(folio, nr, dst_vma)


def folio_move_anon_rmap(folio: Folio, vma: VmAreaStruct) -> None:
    """Kernel: mm/rmap.c:folio_move_anon_rmap()

    A write fault reuses a page only this VMA maps: point the folio at the VMA's own
    anon_vma, so later walks need not visit the other processes' VMAs.
    """
    assert vma.anon_vma is not None
    folio.mapping = vma.anon_vma

"""The page cache: lookup, insertion, removal, the mmap fault paths that read ahead, and
``cachestat()``.

Kernel: mm/filemap.c (filemap_fault(), do_sync_mmap_readahead(), do_async_mmap_readahead(),
filemap_map_pages(), filemap_get_pages(), page_cache_next_miss(), ...), mm/workingset.c
(workingset_refault(), workingset_test_recent())

Which folio order a cache miss reads is chosen by readahead (:mod:`mrelease_ref.mm.readahead`):

* a fault with no folio cached runs ``do_sync_mmap_readahead()``: MADV_HUGEPAGE reads two
  PMD-order folios around the fault (one with MADV_RANDOM); MADV_RANDOM alone reads
  nothing ahead (the fault then reads one order-0 folio); MADV_SEQUENTIAL opens a
  ``page_cache_sync_ra()`` window; otherwise the *read-around* reads ``ra_pages`` order-0
  pages centred on the fault, unless the file misses much more than it hits
  (``mmap_miss`` > ``MMAP_LOTSAMISS``);
* a fault that finds the folio marked PG_readahead runs ``do_async_mmap_readahead()``,
  which pushes the window on and raises its order by 2;
* ``filemap_map_pages()`` (fault-around, called by ``do_read_fault()``) maps the cached,
  uptodate folios of a 16-page window without I/O, skipping PG_readahead folios so that
  the fault on them starts the next window; an aligned PMD-order folio is mapped by one PMD
  (``filemap_map_pmd()`` -> ``do_set_pmd()``).

With ``Kernel(file_folio_order=N)`` (the earlier fixed-order model) none of this runs: a
miss reads one folio of order N (shrunk to be aligned and inside the file), see
:func:`filemap_grab_folio`. tmpfs (``shmem_fault()``) always reads order-0 folios there
(``shmem_enabled`` is never on these machines).

The page cache holds ``folio_nr_pages()`` references on each folio it contains.

``read()`` and ``write()`` on a file go through the page cache (``filemap_read()``,
``generic_perform_write()``) and carry page contents
(:mod:`mrelease_ref.include.linux.highmem`): a folio read in holds the backing store's
contents, a write changes the page's token and dirties the folio.

Limitations:
- Reads complete at once: no folio is ever found locked or !uptodate, so the kernel's
  waits, retries (VM_FAULT_RETRY) and ``page_not_uptodate`` re-reads do not occur.
- ``read()``/``write()`` are page granular; a write that misses the cache reads in an
  order-0 folio (as a partial-page write would; ``write_begin`` picks no larger order),
  and a write past the end grows ``i_size`` page by page.
- ``read()`` of a tmpfs hole allocates a folio (``shmem_file_read_iter()`` would copy the
  zero page instead).
- ``i_pages`` holds each folio once, at its first index; lookups try each order in use.
- ``nr_recently_evicted`` uses ``workingset_test_recent()`` (mm/workingset.py).
- No hardware-poisoned pages, no ``VM_EXEC`` read-around variant (``exec_folio_order()``
  is 0 on x86_64, the window is the VMA-clamped ``ra_pages``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from mrelease_ref.include.linux.fs import AddressSpace
from mrelease_ref.include.linux.highmem import (
    backing_token,
    folio_page_token,
    folio_set_tokens,
    memcpy_from_page,
    memcpy_to_page,
)
from mrelease_ref.include.linux.mmzone import (
    NR_FILE_DIRTY,
    NR_FILE_PAGES,
    NR_SHMEM,
    FolioBatch,
)
from mrelease_ref.include.linux.page_flags import (
    PG_dirty,
    PG_private,
    PG_readahead,
    PG_swapbacked,
    PG_uptodate,
    PG_workingset,
    PG_writeback,
)
from mrelease_ref.include.linux.vmstat import count_vm_events
from mrelease_ref.mm.page_alloc import folio_alloc
from mrelease_ref.mm.swap import folio_add_lru, folio_put, folios_put_refs
from mrelease_ref.mm.workingset import workingset_refault, workingset_test_recent

if TYPE_CHECKING:
    from mrelease_ref.include.linux.fs import File
    from mrelease_ref.include.linux.mm_types import Folio, VmAreaStruct
    from mrelease_ref.sim.kernel import Kernel

MMAP_LOTSAMISS: Final = 100  # mm/filemap.c
# include/linux/mm_types.h: vm_fault_t bits and fault flags used here
VM_FAULT_MAJOR: Final = 0x000004
VM_FAULT_RETRY: Final = 0x000400
FAULT_FLAG_ALLOW_RETRY: Final = 1 << 2
FAULT_FLAG_TRIED: Final = 1 << 5
ULONG_MAX: Final = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class Cachestat:
    """Kernel: include/uapi/linux/mman.h (struct cachestat), in pages."""

    nr_cache: int
    nr_dirty: int
    nr_writeback: int
    nr_evicted: int
    nr_recently_evicted: int


def filemap_get_entry(mapping: AddressSpace, index: int) -> Folio | None:
    """Kernel: mm/filemap.c:filemap_get_entry() (folios only; shadows are not returned)"""
    i_pages = mapping.i_pages
    for order in mapping.orders:
        folio = i_pages.get(index & ~((1 << order) - 1))
        if folio is not None and folio.order == order:
            return folio
    return None


def __filemap_add_folio(mapping: AddressSpace, folio: Folio, index: int) -> int | None:
    """Kernel: mm/filemap.c:__filemap_add_folio()

    Insert the folio, taking the page cache's references. Returns the shadow entry it
    replaced, if any.
    """
    nr = 1 << folio.order
    folio._refcount += nr
    folio.mapping = mapping
    folio.index = index
    mapping.i_pages[index] = folio
    if folio.order not in mapping.orders:
        mapping.orders.append(folio.order)
        mapping.orders.sort()
    mapping.nrpages += nr
    k = folio.kernel
    k.vmstat[NR_FILE_PAGES] += nr
    if folio.flags & PG_swapbacked:
        k.vmstat[NR_SHMEM] += nr
    shadow = None
    for i in range(index, index + nr):
        s = mapping.shadows.pop(i, None)
        if s is not None and shadow is None:
            shadow = s
    return shadow


def filemap_read_contents(mapping: AddressSpace, folio: Folio) -> None:
    """Model helper for the read I/O (``mapping->a_ops->read_folio()``): a folio entering
    the page cache holds what the backing store holds. Left at None (initial content)
    unless a page of its range was written back; tmpfs starts with zeros."""
    host = mapping.host
    if host is None or not host.i_disk:
        return
    disk = host.i_disk
    start = folio.index
    nr = 1 << folio.order
    if any(start + i in disk for i in range(nr)):
        folio_set_tokens(folio, [backing_token(host, start + i) for i in range(nr)])


def filemap_add_folio(mapping: AddressSpace, folio: Folio, index: int) -> int:
    """Kernel: mm/filemap.c:filemap_add_folio(): add to the page cache and to the LRU.

    The model's read I/O completes here: the folio gets the backing store's contents
    (:func:`filemap_read_contents`).
    """
    shadow = __filemap_add_folio(mapping, folio, index)
    filemap_read_contents(mapping, folio)
    if shadow is not None:
        workingset_refault(folio, shadow)
    folio_add_lru(folio)
    return 0


def __filemap_remove_folio(folio: Folio, shadow: int | None) -> None:
    """Kernel: mm/filemap.c:__filemap_remove_folio()

    Delete from the page cache (leaving a shadow entry if given). The page cache's
    references are dropped by the caller. Removing a dirty folio from a mapping that can
    write back is the kernel's ``WARN_ON_ONCE`` in ``filemap_unaccount_folio()``: the
    model records it as lost data.
    """
    mapping = folio.mapping
    assert isinstance(mapping, AddressSpace)
    nr = 1 << folio.order
    k = folio.kernel
    if folio.flags & PG_dirty and mapping.a_ops != "shmem":
        k.data_loss.append(f"dirty {folio!r} dropped from {mapping!r}")
        folio.flags &= ~PG_dirty
        k.vmstat[NR_FILE_DIRTY] -= nr
    elif folio._data is not None and mapping.a_ops != "shmem" and mapping.host is not None:
        host = mapping.host  # a clean folio must hold what the disk holds
        if any(folio_page_token(folio, i) != backing_token(host, folio.index + i)
               for i in range(nr)):
            k.data_loss.append(f"clean {folio!r} with unwritten contents dropped from "
                               f"{mapping!r}")
    del mapping.i_pages[folio.index]
    if shadow is not None:  # a multi-index entry: every page of the folio was evicted
        for i in range(folio.index, folio.index + nr):
            mapping.shadows[i] = shadow
    mapping.nrpages -= nr
    k.vmstat[NR_FILE_PAGES] -= nr
    if folio.flags & PG_swapbacked:
        k.vmstat[NR_SHMEM] -= nr
    folio.mapping = None


def filemap_free_folio(mapping: AddressSpace, folio: Folio) -> None:
    """Kernel: mm/filemap.c:filemap_free_folio(): drop the page cache's references."""
    folios_put_refs(FolioBatch([folio]), [1 << folio.order])


def filemap_release_folio(folio: Folio, gfp: int) -> bool:
    """Kernel: mm/filemap.c:filemap_release_folio()

    Drop filesystem private data (buffer heads); refused while dirty or under writeback.
    Releasing private data drops the reference it held.
    """
    if not folio.flags & PG_private:
        return True
    if folio.flags & (PG_dirty | PG_writeback):
        return False
    folio.flags &= ~PG_private
    folio.private = None
    folio._refcount -= 1  # folio_detach_private()
    return True


def folio_attach_private(folio: Folio, data: object) -> None:
    """Kernel: include/linux/pagemap.h:folio_attach_private(): private data takes a ref."""
    folio._refcount += 1
    folio.private = data
    folio.flags |= PG_private


def filemap_read_folio(folio: Folio) -> None:
    """Kernel: mm/filemap.c:filemap_read_folio() (and ``->readahead()``): the read completes
    at once: the folio is uptodate, and ext4 attaches its buffer heads if the inode asks."""
    folio.flags |= PG_uptodate
    mapping = folio.mapping
    host = mapping.host if isinstance(mapping, AddressSpace) else None
    if host is not None and host.private_data_on_read:
        folio_attach_private(folio, "buffer_heads")


def _fixed_order(mapping: AddressSpace, index: int) -> int:
    """Model helper (``file_folio_order=N``): the largest order <= N whose aligned folio
    around ``index`` lies inside the file and overlaps nothing cached."""
    k = mapping.kernel
    host = mapping.host
    if mapping.a_ops == "shmem":  # shmem_enabled=never: tmpfs folios stay small
        return 0
    cfg = k.config  # no large folios at all, or none on this file system (ext4 encrypt)
    order = cfg.file_folio_order or 0 if cfg.large_folios and cfg.file_large_folios else 0
    size = host.i_size if host is not None else index + 1
    while order > 0:
        start = index & ~((1 << order) - 1)
        if start + (1 << order) <= size and all(
            filemap_get_entry(mapping, i) is None for i in range(start, start + (1 << order))
        ):
            return order
        order -= 1
    return 0


def _fixed_order_read(mapping: AddressSpace, index: int, swapbacked: bool) -> Folio | None:
    """Model helper: read the one folio covering ``index`` (order from :func:`_fixed_order`)
    into the page cache and onto the LRU: ``shmem_get_folio()`` for tmpfs, the whole of the
    fixed-order model's readahead otherwise. None when memory is exhausted."""
    order = _fixed_order(mapping, index)
    folio = folio_alloc(mapping.kernel, order)
    if folio is None:
        return None
    if swapbacked:
        folio.flags |= PG_swapbacked
    start = index & ~((1 << order) - 1)
    filemap_add_folio(mapping, folio, start)
    filemap_read_folio(folio)
    folios_put_refs(FolioBatch([folio]), None)  # read-ahead drops its allocation reference
    return folio


def filemap_grab_folio(mapping: AddressSpace, index: int, swapbacked: bool) -> Folio | None:
    """Kernel: mm/filemap.c:filemap_fault() (the lookup-or-read part), for tmpfs and for
    the fixed-order model (``Kernel(file_folio_order=N)``)

    Return the folio covering ``index`` with one extra reference for the caller, reading it
    in on a miss. None means out of memory.
    """
    folio = filemap_get_entry(mapping, index)
    if folio is None:
        folio = _fixed_order_read(mapping, index, swapbacked)
        if folio is None:
            return None
        count_vm_events(mapping.kernel, "PGMAJFAULT", 1)
    folio._refcount += 1
    return folio


def page_cache_next_miss(mapping: AddressSpace, index: int, max_scan: int) -> int:
    """Kernel: mm/filemap.c:page_cache_next_miss(): the first uncached index in
    ``[index, index + max_scan)``, else ``index + max_scan`` (0 on wrap-around)."""
    for i in range(index, index + max_scan):
        if filemap_get_entry(mapping, i) is None:
            return i
    return index + max_scan


def page_cache_prev_miss(mapping: AddressSpace, index: int, max_scan: int) -> int:
    """Kernel: mm/filemap.c:page_cache_prev_miss(): the highest uncached index in
    ``[index - max_scan + 1, index]``; if all are cached, the lowest index looked at;
    ``ULONG_MAX`` when the scan runs below index 0 (cached from the file's start)."""
    i = index
    for _ in range(max_scan):
        if i < 0:
            return ULONG_MAX
        if filemap_get_entry(mapping, i) is None:
            return i
        i -= 1
    return i + 1


def _file_rsize(file: File) -> int:
    host = file.f_inode
    return host.i_size if host is not None else 0


def maybe_unlock_mmap_for_io(flags: int) -> bool:
    """Kernel: mm/internal.h:maybe_unlock_mmap_for_io(): a first attempt that may retry
    (``fault_flag_allow_retry_first()``: FAULT_FLAG_ALLOW_RETRY without FAULT_FLAG_TRIED)
    drops the fault lock before I/O, and the fault will be retried; a retried one, or a GUP
    fault without a ``locked`` pointer (``/proc/<pid>/mem``), keeps it."""
    return bool(flags & FAULT_FLAG_ALLOW_RETRY) and not flags & FAULT_FLAG_TRIED


def exec_folio_order(k: Kernel) -> int:
    """Kernel: arch/arm64/include/asm/pgtable.h:exec_folio_order(): ``ilog2(SZ_64K >>
    PAGE_SHIFT)`` on arm64 (64 KiB folios for executable mappings, which arm64 can map
    with contiguous PTEs: order 4 with 4 KiB pages, 2 with 16 KiB); elsewhere the generic
    include/linux/pgtable.h:exec_folio_order(), 0."""
    if k.config.arch != "arm64":
        return 0
    return ((1 << 16) >> k.pg.PAGE_SHIFT).bit_length() - 1


def do_sync_mmap_readahead(vma: VmAreaStruct, pgoff: int, flags: int = 0) -> bool:
    """Kernel: mm/filemap.c:do_sync_mmap_readahead()

    No folio is cached at ``pgoff``. MADV_HUGEPAGE: read PMD-order folios from the aligned
    index (two unless MADV_RANDOM). MADV_RANDOM (without VM_EXEC): nothing. MADV_SEQUENTIAL:
    a sync readahead window of ``ra_pages``. Otherwise count a miss and, unless misses
    outnumber hits by ``MMAP_LOTSAMISS``, read a VM_EXEC mapping's window from the fault
    in folios of :func:`exec_folio_order` (64 KiB on arm64), else read around: ``ra_pages``
    order-0 pages starting ``ra_pages / 2`` before the fault, the last quarter
    asynchronous. True when it dropped
    the fault lock for the I/O (``fpin``).
    """
    from mrelease_ref.include.linux.mm_types import (
        VM_EXEC,
        VM_HUGEPAGE,
        VM_RAND_READ,
        VM_SEQ_READ,
        vma_pages,
    )

    pg = vma.vm_mm.kernel.pg
    file = vma.vm_file
    assert file is not None and file.f_mapping is not None
    ractl = readahead.DEFINE_READAHEAD(file, file.f_mapping, pgoff)
    ra = ractl.ra
    vm_flags = vma.vm_flags
    if vm_flags & VM_HUGEPAGE:  # CONFIG_TRANSPARENT_HUGEPAGE, HPAGE_PMD_ORDER <= 9
        ractl._index &= ~(pg.HPAGE_PMD_NR - 1)
        ra.size = pg.HPAGE_PMD_NR
        if not vm_flags & VM_RAND_READ:
            ra.size *= 2
        ra.async_size = pg.HPAGE_PMD_NR
        ra.order = pg.HPAGE_PMD_ORDER
        readahead.page_cache_ra_order(ractl, ra)
        return maybe_unlock_mmap_for_io(flags)
    if vm_flags & (VM_RAND_READ | VM_EXEC) == VM_RAND_READ:
        return False
    if not ra.ra_pages:
        return False
    if vm_flags & VM_SEQ_READ:
        readahead.page_cache_sync_ra(ractl, ra.ra_pages)
        return maybe_unlock_mmap_for_io(flags)
    if ra.mmap_miss < MMAP_LOTSAMISS * 10:
        ra.mmap_miss += 1
    if ra.mmap_miss > MMAP_LOTSAMISS:
        return False
    if vm_flags & VM_EXEC:  # folios of exec_folio_order(), no async part, inside the VMA
        start, end = vma.vm_pgoff, vma.vm_pgoff + vma_pages(vma)
        ra.order = exec_folio_order(vma.vm_mm.kernel)
        ra.start = max(pgoff & ~((1 << ra.order) - 1), start)  # round_down()
        ra_end = -(-(ra.start + ra.ra_pages) >> ra.order) << ra.order  # round_up()
        ra.size = min(ra_end, end) - ra.start
        ra.async_size = 0
    else:
        ra.start = max(0, pgoff - ra.ra_pages // 2)
        ra.size = ra.ra_pages
        ra.async_size = ra.ra_pages // 4
        ra.order = 0
    ractl._index = ra.start
    readahead.page_cache_ra_order(ractl, ra)
    return maybe_unlock_mmap_for_io(flags)


def do_async_mmap_readahead(vma: VmAreaStruct, pgoff: int, folio: Folio, flags: int = 0) -> bool:
    """Kernel: mm/filemap.c:do_async_mmap_readahead()

    A fault found ``folio`` cached: count a hit (``mmap_miss``) and, if the folio is marked
    PG_readahead, push the window on (``page_cache_async_ra()``), dropping the fault lock
    for it (True). Not under MADV_RANDOM.
    """
    from mrelease_ref.include.linux.mm_types import VM_RAND_READ

    file = vma.vm_file
    assert file is not None and file.f_mapping is not None
    ractl = readahead.DEFINE_READAHEAD(file, file.f_mapping, pgoff)
    ra = ractl.ra
    if vma.vm_flags & VM_RAND_READ or not ra.ra_pages:
        return False
    if ra.mmap_miss:  # the folio is never found locked here
        ra.mmap_miss -= 1
    if folio.flags & PG_readahead:
        dropped = maybe_unlock_mmap_for_io(flags)
        readahead.page_cache_async_ra(ractl, folio, ra.ra_pages)
        return dropped
    return False


def __filemap_get_folio(mapping: AddressSpace, index: int) -> Folio | None:
    """Kernel: mm/filemap.c:__filemap_get_folio()

    Only the miss with ``FGP_CREAT | FGP_FOR_MMAP``, followed by the fault's
    ``page_not_uptodate`` read: an order-0 folio for the one page readahead did not read.
    """
    folio = folio_alloc(mapping.kernel, 0)
    if folio is None:
        return None
    filemap_add_folio(mapping, folio, index)
    filemap_read_folio(folio)  # filemap_fault(): page_not_uptodate -> filemap_read_folio()
    return folio  # the allocation reference is the caller's


def filemap_fault(vma: VmAreaStruct, pgoff: int, flags: int = 0) -> tuple[Folio | None, int]:
    """Kernel: mm/filemap.c:filemap_fault()

    The page-cache folio covering ``pgoff``, with a reference for the caller, and the
    ``VM_FAULT_*`` bits. A hit may start async readahead; a miss is a major fault that
    reads ahead synchronously and, if readahead left the page out (MADV_RANDOM, no
    memory), reads that one page. Whenever the I/O dropped the fault lock (a first
    attempt), the folio is let go and ``VM_FAULT_RETRY`` returned: the fault is run again
    (with ``FAULT_FLAG_TRIED`` after a major fault), and that retry's fault-around maps
    what the I/O brought in. (None, 0) means out of memory.
    """
    file = vma.vm_file
    assert file is not None and file.f_mapping is not None
    mapping = file.f_mapping
    folio = filemap_get_entry(mapping, pgoff)
    if folio is not None:
        if not flags & FAULT_FLAG_TRIED and do_async_mmap_readahead(vma, pgoff, folio, flags):
            return None, VM_FAULT_RETRY
        folio._refcount += 1
        return folio, 0
    count_vm_events(mapping.kernel, "PGMAJFAULT", 1)
    dropped = do_sync_mmap_readahead(vma, pgoff, flags)
    folio = filemap_get_entry(mapping, pgoff)
    if folio is not None:
        folio._refcount += 1
    else:  # page_not_uptodate: read it, dropping the lock on a first attempt
        dropped = dropped or maybe_unlock_mmap_for_io(flags)
        folio = __filemap_get_folio(mapping, pgoff)
        if folio is None:
            return None, 0
    if dropped:
        folio_put(folio)  # out_retry
        return None, VM_FAULT_MAJOR | VM_FAULT_RETRY
    return folio, VM_FAULT_MAJOR


def next_uptodate_folio(mapping: AddressSpace, index: int, end_pgoff: int) -> Folio | None:
    """Kernel: mm/filemap.c:next_uptodate_folio(): the next cached folio at or after
    ``index`` (up to ``end_pgoff``) that fault-around may map: uptodate, not PG_readahead,
    inside i_size. No reference is taken (the caller takes what it maps)."""
    host = mapping.host
    max_idx = host.i_size if host is not None else 0
    i = index
    while i <= end_pgoff:
        folio = filemap_get_entry(mapping, i)
        if folio is None:
            i += 1
            continue
        nxt = folio.index + (1 << folio.order)
        if folio.flags & PG_uptodate and not folio.flags & PG_readahead and i < max_idx:
            return folio
        i = nxt
    return None


def filemap_map_pmd(vma: VmAreaStruct, address: int, folio: Folio) -> bool:
    """Kernel: mm/filemap.c:filemap_map_pmd()

    True when the PMD already maps a huge page, or now maps ``folio`` (a PMD-order folio
    and an empty PMD: ``do_set_pmd()``, which keeps the reference taken here). Otherwise
    install the PTE table fault-around pre-allocated and return False.
    """
    from mrelease_ref.include.linux.mm_types import Pmd
    from mrelease_ref.mm.huge_memory import do_set_pmd
    from mrelease_ref.mm.memory import pte_offset_map

    pg = vma.vm_mm.kernel.pg
    mm = vma.vm_mm
    entry = mm.pgd.get(address >> pg.PMD_SHIFT)
    if isinstance(entry, Pmd):
        return True
    if entry is None and folio.order >= pg.HPAGE_PMD_ORDER:
        folio._refcount += 1
        if do_set_pmd(vma, address, folio, write=False):
            return True
        folio._refcount -= 1
    if entry is None:
        pte_offset_map(mm, address, alloc=True)  # pmd_install(vmf->prealloc_pte)
    return False


def _folio_maps_whole(vma: VmAreaStruct, folio: Folio, file_end: int) -> bool:
    """filemap_map_folio_range()'s test for mapping a large folio whole: it ends before the
    file's last page, lies inside the VMA (``folio_within_vma()``) and inside one PTE
    table."""

    pg = vma.vm_mm.kernel.pg
    nr = 1 << folio.order
    if file_end < folio.index + nr:
        return False
    addr0 = vma.vm_start + ((folio.index - vma.vm_pgoff) << pg.PAGE_SHIFT)
    if addr0 < vma.vm_start or addr0 + (nr << pg.PAGE_SHIFT) > vma.vm_end:
        return False
    return addr0 & ~(pg.PMD_SIZE - 1) == (addr0 + (nr << pg.PAGE_SHIFT) - 1) & ~(pg.PMD_SIZE - 1)


def filemap_map_pages(vma: VmAreaStruct, address: int, start_pgoff: int, end_pgoff: int) -> bool:
    """Kernel: mm/filemap.c:filemap_map_pages() (with filemap_map_folio_range() and
    filemap_map_order0_folio())

    Fault-around: map the cached, uptodate pages of ``[start_pgoff, end_pgoff]`` whose PTEs
    are empty, without I/O. The first folio found may be mapped by one PMD instead
    (:func:`filemap_map_pmd`) -- but not when it reaches the file's last page (the
    ``file_end >= folio_next_index()`` test); with no PTE table then, nothing is mapped and
    the fault maps it. A large folio is mapped whole when it fits (file, VMA, one PTE
    table), else only its pages inside the window. Each page looked at, of a folio not
    marked PG_workingset, counts as a hit against ``mmap_miss``. True when the faulting
    page got mapped (``VM_FAULT_NOPAGE``).
    """
    from mrelease_ref.include.linux.mm_types import _PAGE_ACCESSED, PteTable
    from mrelease_ref.mm.memory import linear_page_index, map_file_ptes

    pg = vma.vm_mm.kernel.pg
    file = vma.vm_file
    assert file is not None and file.f_mapping is not None
    mapping = file.f_mapping
    ra = file.f_ra
    folio = next_uptodate_folio(mapping, start_pgoff, end_pgoff)
    if folio is None:
        return False
    file_end = _file_rsize(file) - 1
    end_pgoff = min(end_pgoff, file_end)
    if file_end >= folio.index + (1 << folio.order) and filemap_map_pmd(vma, address, folio):
        return True
    if not isinstance(vma.vm_mm.pgd.get(address >> pg.PMD_SHIFT), PteTable):
        return False  # pte_offset_map_lock() found no PTE table
    fault_pgoff = linear_page_index(vma, address)
    mapped_fault = False
    mmap_miss = 0
    while folio is not None:
        if folio.order and _folio_maps_whole(vma, folio, file_end):
            first, last = folio.index, folio.index + (1 << folio.order) - 1
        else:
            first = max(folio.index, start_pgoff)
            last = min(folio.index + (1 << folio.order) - 1, end_pgoff)
        mapped_fault |= map_file_ptes(vma, folio, first, last, fault_pgoff, _PAGE_ACCESSED)
        if not folio.flags & PG_workingset:
            mmap_miss += last - first + 1
        folio = next_uptodate_folio(mapping, folio.index + (1 << folio.order), end_pgoff)
    ra.mmap_miss = 0 if mmap_miss >= ra.mmap_miss else ra.mmap_miss - mmap_miss
    return mapped_fault


def filemap_get_read_batch(mapping: AddressSpace, index: int, max_index: int) -> list[Folio]:
    """Kernel: mm/filemap.c:filemap_get_read_batch(): the cached folios from ``index`` on,
    up to the first gap or ``max_index``, stopping after a folio that is !uptodate or marked
    PG_readahead. No references are taken (the model's reads complete at once)."""
    batch: list[Folio] = []
    i = index
    while i <= max_index:
        folio = filemap_get_entry(mapping, i)
        if folio is None:
            break
        batch.append(folio)
        if not folio.flags & PG_uptodate or folio.flags & PG_readahead:
            break
        i = folio.index + (1 << folio.order)
    return batch


def filemap_get_pages(file: File, pos: int, count: int) -> list[Folio]:
    """Kernel: mm/filemap.c:filemap_get_pages() (with filemap_readahead() and
    filemap_create_folio())

    The page-cache side of ``read()`` at byte ``pos`` for ``count`` bytes: look up a batch;
    on a miss, ``page_cache_sync_ra()`` for the request and look again, else read one
    order-0 folio; when the batch ends at a PG_readahead folio, ``page_cache_async_ra()``.
    Returns the batch (the caller copies from it and advances ``f_ra.prev_pos``).
    """
    mapping = file.f_mapping
    assert mapping is not None
    pg = mapping.kernel.pg
    index = pos >> pg.PAGE_SHIFT
    last_index = (pos + count + pg.PAGE_SIZE - 1) >> pg.PAGE_SHIFT
    batch = filemap_get_read_batch(mapping, index, last_index - 1)
    if not batch:
        ractl = readahead.DEFINE_READAHEAD(file, mapping, index)
        readahead.page_cache_sync_ra(ractl, last_index - index)
        batch = filemap_get_read_batch(mapping, index, last_index - 1)
    if not batch:
        folio = __filemap_get_folio(mapping, index)
        if folio is None:
            return []
        folio_put(folio)  # the model's batch holds no references
        return [folio]
    folio = batch[-1]
    if folio.flags & PG_readahead:
        ractl = readahead.DEFINE_READAHEAD(file, mapping, folio.index)
        readahead.page_cache_async_ra(ractl, folio, last_index - folio.index)
    return batch


def filemap_cachestat(mapping: AddressSpace, first: int, last: int) -> Cachestat:
    """Kernel: mm/filemap.c:filemap_cachestat(), over page indices ``first..last``."""
    nr_cache = nr_dirty = nr_wb = 0
    for folio in list(mapping.i_pages.values()):
        if folio.index + (1 << folio.order) <= first or folio.index > last:
            continue
        lo = max(first, folio.index)
        hi = min(last + 1, folio.index + (1 << folio.order))
        n = hi - lo
        nr_cache += n
        if folio.flags & PG_dirty:
            nr_dirty += n
        if folio.flags & PG_writeback:
            nr_wb += n
    evicted = recent = 0
    for index, shadow in mapping.shadows.items():
        if first <= index <= last:
            evicted += 1
            if workingset_test_recent(mapping.kernel, shadow, True)[0]:
                recent += 1
    return Cachestat(nr_cache, nr_dirty, nr_wb, evicted, recent)


def _readahead_reads(mapping: AddressSpace) -> bool:
    """Model helper: does a cache miss go through readahead (ext4 with readahead-chosen
    orders), or read one folio (tmpfs, the fixed-order model ``file_folio_order=N``)?"""
    return mapping.a_ops != "shmem" and mapping.kernel.config.file_folio_order is None


def _read_batch(file: File, index: int, end: int) -> list[Folio]:
    """The folios ``read()`` copies from next, starting at page ``index``."""
    mapping = file.f_mapping
    assert mapping is not None
    if _readahead_reads(mapping):
        shift = mapping.kernel.pg.PAGE_SHIFT
        return filemap_get_pages(file, index << shift, (end - index) << shift)
    folio = filemap_get_entry(mapping, index)
    if folio is None:
        folio = _fixed_order_read(mapping, index, swapbacked=mapping.a_ops == "shmem")
    return [] if folio is None else [folio]


def filemap_read(file: File, index: int, nr_pages: int) -> list[int] | None:
    """Kernel: mm/filemap.c:filemap_read()

    ``read()`` of ``nr_pages`` pages from page ``index``: batches of folios are looked up
    or read in with readahead (``filemap_get_pages()``), each folio marked accessed once,
    and its pages copied out (``copy_folio_to_iter()``); then ``ra->prev_pos`` records where
    the read ended. Stops at the end of the file. Returns the pages' tokens, None if memory
    ran out before anything was read.
    """
    from mrelease_ref.mm.swap import folio_mark_accessed

    mapping = file.f_mapping
    assert mapping is not None
    host = mapping.host
    end = min(index + nr_pages, host.i_size if host is not None else index + nr_pages)
    out: list[int] = []
    last: Folio | None = None
    pos = index
    while pos < end:
        batch = _read_batch(file, pos, end)
        if not batch:
            break
        for folio in batch:
            folio_end = folio.index + (1 << folio.order)
            if folio_end <= pos or folio.index > pos or pos >= end:
                break
            if folio is not last:  # "mark the folio accessed if we read the beginning"
                folio_mark_accessed(folio)
                last = folio
            while pos < min(folio_end, end):
                out.append(memcpy_from_page((folio, pos - folio.index)))
                pos += 1
    file.f_ra.prev_pos = pos << mapping.kernel.pg.PAGE_SHIFT
    if not out and nr_pages and index < end:
        return None
    return out


def _write_begin(mapping: AddressSpace, index: int) -> Folio | None:
    """The folio ``write_begin`` writes into: cached, or read in (order 0 under
    readahead-chosen orders, ``__filemap_get_folio()``; the fixed-order model's folio
    otherwise). No extra reference is kept."""
    folio = filemap_get_entry(mapping, index)
    if folio is not None:
        return folio
    if _readahead_reads(mapping):
        folio = __filemap_get_folio(mapping, index)
        if folio is not None:
            folio_put(folio)  # write_end's folio_put(): the cache holds it
        return folio
    return _fixed_order_read(mapping, index, swapbacked=mapping.a_ops == "shmem")


def generic_perform_write(mapping: AddressSpace, index: int, tokens: list[int]) -> int:
    """Kernel: mm/filemap.c:generic_perform_write()

    ``write()`` of one page per token from page ``index``: ``write_begin`` finds or reads in
    the folio, the data is copied in
    (``copy_folio_from_iter_atomic()``), ``write_end`` dirties the folio; a write past the
    end grows the file (``i_size_write()``). Returns the pages written (fewer when memory
    runs out).
    """
    from mrelease_ref.mm.page_writeback import folio_mark_dirty

    host = mapping.host
    done = 0
    for i, token in enumerate(tokens):
        pgoff = index + i
        if host is not None and pgoff >= host.i_size:
            host.i_size = pgoff + 1  # i_size_write() in write_end
        folio = _write_begin(mapping, pgoff)
        if folio is None:
            break
        memcpy_to_page((folio, pgoff - folio.index), token)
        folio_mark_dirty(folio)  # write_end
        done += 1
    return done


from mrelease_ref.mm import readahead  # noqa: E402  (readahead.py imports this module)

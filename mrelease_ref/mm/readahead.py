"""Readahead: how big a window to read and in which folio order.

Kernel: mm/readahead.c (v6.18), include/linux/pagemap.h (struct readahead_control,
mapping_max_folio_order(), mapping_large_folio_support()), fs/ext4/inode.c
(ext4_set_inode_mapping_order())

The window lives in the open file's :class:`~mrelease_ref.include.linux.fs.FileRaState`.
``page_cache_sync_ra()`` opens a window on a cache miss (order 0); ``page_cache_async_ra()``
runs when a reader reaches the folio marked ``PG_readahead`` and pushes the window forward,
growing it (``get_next_ra_size()``) and raising ``ra->order`` by two each time, so a
sequential stream ramps 0, 2, 4, 6, 8, 9. ``page_cache_ra_order()`` allocates the window in
folios of that order, each naturally aligned (``__ffs(index)``), never past EOF, and falls
back to order 0 (``do_page_cache_ra()``) after the first collision with cached pages. The
mmap fault paths that call these (read-around, MADV_HUGEPAGE, MADV_SEQUENTIAL/RANDOM) are
in :mod:`mrelease_ref.mm.filemap`.

Which mappings can hold large folios (``mapping_max_folio_order()``): ext4 regular files
set 0..``EXT4_MAX_PAGECACHE_ORDER`` = min(``MAX_PAGECACHE_ORDER`` 9, 11 + blkbits −
PAGE_SHIFT) = 9 for 4 KiB blocks (``ext4_set_inode_mapping_order()``); the model's
``Kernel(large_folios=False)`` is a mapping without large folio support (order 0).

Variants: none of the series touches readahead.

Limitations:
- Reads complete inside ``read_pages()``: no folio is ever locked or !uptodate afterwards,
  so no reader waits and ``ractl->_workingset`` has no PSI effect.
- ``bdi->io_pages`` is :data:`BDI_IO_PAGES` (``max_sectors_kb`` 4096 of vda); it only
  matters when a request exceeds ``ra_pages``.
- No ``blk_cgroup_congested()``, no dropbehind (RWF_DONTCACHE) reads.
- ``mapping_min_folio_order()`` is 0 (4 KiB blocks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from mrelease_ref.include.linux.fs import FMODE_RANDOM, AddressSpace, File, FileRaState
from mrelease_ref.include.linux.page_flags import PG_readahead, PG_writeback
from mrelease_ref.mm.filemap import (
    filemap_add_folio,
    filemap_get_entry,
    filemap_read_folio,
    page_cache_next_miss,
    page_cache_prev_miss,
)
from mrelease_ref.mm.page_alloc import folio_alloc
from mrelease_ref.mm.swap import folio_put

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio

MAX_PAGECACHE_ORDER: Final = 9  # min(MAX_XAS_ORDER, HPAGE_PMD_ORDER), 4 KiB pages (k.pg's)
BDI_IO_KB: Final = 4096  # /sys/block/vda/queue/max_sectors_kb
BDI_IO_PAGES: Final = 1024  # bdi->io_pages with 4 KiB pages; a kernel's own: _io_pages()
ULONG_MAX: Final = (1 << 64) - 1
_ENOMEM: Final = -12
_EEXIST: Final = -17


@dataclass(slots=True, eq=False)
class ReadaheadControl:
    """Kernel: include/linux/pagemap.h (struct readahead_control)

    ``_folios`` are the folios added since the last ``read_pages()``, which reads them.
    """

    file: File | None
    mapping: AddressSpace
    ra: FileRaState
    _index: int
    _nr_pages: int = 0
    _folios: list[Folio] = field(default_factory=list)


def readahead_index(ractl: ReadaheadControl) -> int:
    """Kernel: include/linux/pagemap.h:readahead_index()"""
    return ractl._index


def DEFINE_READAHEAD(file: File, mapping: AddressSpace, index: int) -> ReadaheadControl:
    """Kernel: include/linux/pagemap.h:DEFINE_READAHEAD() (``ra`` is ``&file->f_ra``)"""
    ra = file.f_ra
    if ra.ra_pages < 0:
        file_ra_state_init(ra, mapping)
    return ReadaheadControl(file, mapping, ra, index)


def file_ra_state_init(ra: FileRaState, mapping: AddressSpace) -> None:
    """Kernel: mm/readahead.c:file_ra_state_init(): the device's window, no history."""
    k = mapping.kernel
    ra.ra_pages = k.config.read_ahead_kb // k.pg.kb_per_page  # inode_to_bdi()->ra_pages
    ra.prev_pos = -1


def mapping_max_folio_order(mapping: AddressSpace) -> int:
    """Kernel: include/linux/pagemap.h:mapping_max_folio_order()

    ext4 regular files: ``EXT4_MAX_PAGECACHE_ORDER`` when large folios are on
    (fs/ext4/inode.c: ``umin(MAX_PAGECACHE_ORDER, 11 + i_blkbits - PAGE_SHIFT)``, folios of
    at most 2048 blocks: 9 with 4 KiB pages and 4 KiB blocks, also 9 with 16 KiB pages
    and 4 KiB blocks, 11 with 16 KiB blocks); tmpfs reads no ahead (shmem_fault()), so the
    model never asks for it.
    """
    k = mapping.kernel
    cfg = k.config
    if mapping.a_ops == "shmem" or not cfg.large_folios or not cfg.file_large_folios:
        return 0  # also f2fs, and ext4 with encryption (ext4_should_enable_large_folio())
    pg = k.pg
    return min(pg.MAX_PAGECACHE_ORDER, 11 + k.config.fs_block_size.bit_length() - 1 - pg.PAGE_SHIFT)


def mapping_large_folio_support(mapping: AddressSpace) -> bool:
    """Kernel: include/linux/pagemap.h:mapping_large_folio_support()"""
    return mapping_max_folio_order(mapping) > 0


def _i_size(mapping: AddressSpace) -> int:
    """i_size_read() in pages (the model's files are whole pages)."""
    return mapping.host.i_size if mapping.host is not None else 0


def read_pages(ractl: ReadaheadControl) -> None:
    """Kernel: mm/readahead.c:read_pages(): ``->readahead()`` reads the batch; each folio
    becomes uptodate and unlocked, and the allocation reference is dropped
    (``readahead_folio()``)."""
    folios, ractl._folios = ractl._folios, []
    for folio in folios:
        filemap_read_folio(folio)
        folio_put(folio)
    ractl._index += ractl._nr_pages
    ractl._nr_pages = 0


def _range_has_entry(mapping: AddressSpace, index: int, nr: int) -> bool:
    """Does any folio cover a page of ``[index, index + nr)``? (``xas_find_conflict()``)"""
    i_pages = mapping.i_pages
    for order in mapping.orders:
        step = 1 << order
        first = index & ~(step - 1)
        for start in range(first, index + nr, step):
            folio = i_pages.get(start)
            if folio is not None and folio.order == order:
                return True
    return False


def ra_alloc_folio(ractl: ReadaheadControl, index: int, mark: int, order: int) -> int:
    """Kernel: mm/readahead.c:ra_alloc_folio(): allocate, mark PG_readahead if it holds
    ``mark``, add to the page cache. 0, -ENOMEM, or -EEXIST (a page already cached)."""
    mapping = ractl.mapping
    if _range_has_entry(mapping, index, 1 << order):
        return _EEXIST  # filemap_add_folio() finds an entry in the range
    folio = folio_alloc(mapping.kernel, order)
    if folio is None:
        return _ENOMEM
    if index == mark & ~((1 << order) - 1):
        folio.flags |= PG_readahead
    filemap_add_folio(mapping, folio, index)
    ractl._folios.append(folio)
    ractl._nr_pages += 1 << order
    return 0


def page_cache_ra_unbounded(ractl: ReadaheadControl, nr_to_read: int, lookahead_size: int) -> None:
    """Kernel: mm/readahead.c:page_cache_ra_unbounded()

    Read ``nr_to_read`` pages from ``_index`` in order-0 folios, skipping pages already
    cached; mark the one at ``nr_to_read - lookahead_size`` PG_readahead.
    """
    mapping = ractl.mapping
    index = readahead_index(ractl)
    mark = ULONG_MAX
    if lookahead_size <= nr_to_read:
        mark = nr_to_read - lookahead_size
    i = 0
    while i < nr_to_read:
        if filemap_get_entry(mapping, index + i) is not None:
            read_pages(ractl)  # kick off the batch so far, skip the cached page
            ractl._index += 1
            i = ractl._index + ractl._nr_pages - index
            continue
        folio = folio_alloc(mapping.kernel, 0)
        if folio is None:
            break
        if i == mark:
            folio.flags |= PG_readahead
        filemap_add_folio(mapping, folio, index + i)
        ractl._folios.append(folio)
        ractl._nr_pages += 1
        i += 1
    read_pages(ractl)


def do_page_cache_ra(ractl: ReadaheadControl, nr_to_read: int, lookahead_size: int) -> None:
    """Kernel: mm/readahead.c:do_page_cache_ra(): clamp to the page holding the last byte."""
    isize = _i_size(ractl.mapping)
    index = readahead_index(ractl)
    if isize == 0:
        return
    end_index = isize - 1
    if index > end_index:
        return
    if nr_to_read > end_index - index:
        nr_to_read = end_index - index + 1
    page_cache_ra_unbounded(ractl, nr_to_read, lookahead_size)


def force_page_cache_ra(ractl: ReadaheadControl, nr_to_read: int) -> None:
    """Kernel: mm/readahead.c:force_page_cache_ra(): read as asked, in 2 MiB chunks."""
    max_pages = max(_io_pages(ractl.mapping), ractl.ra.ra_pages)
    nr_to_read = min(nr_to_read, max_pages)
    chunk = (2 << 20) >> ractl.mapping.kernel.pg.PAGE_SHIFT  # 2 MiB / PAGE_SIZE
    while nr_to_read:
        this_chunk = min(chunk, nr_to_read)
        do_page_cache_ra(ractl, this_chunk, 0)
        nr_to_read -= this_chunk


def roundup_pow_of_two(n: int) -> int:
    """Kernel: include/linux/log2.h:roundup_pow_of_two()"""
    return 1 << (n - 1).bit_length()


def get_init_ra_size(size: int, max_pages: int) -> int:
    """Kernel: mm/readahead.c:get_init_ra_size(): ×4 for small requests, ×2 for medium,
    else the maximum."""
    newsize = roundup_pow_of_two(size)
    if newsize <= max_pages // 32:
        return newsize * 4
    if newsize <= max_pages // 4:
        return newsize * 2
    return max_pages


def get_next_ra_size(ra: FileRaState, max_pages: int) -> int:
    """Kernel: mm/readahead.c:get_next_ra_size(): ×4 while small, ×2, then the maximum."""
    cur = ra.size
    if cur < max_pages // 16:
        return 4 * cur
    if cur <= max_pages // 2:
        return 2 * cur
    return max_pages


def page_cache_ra_order(ractl: ReadaheadControl, ra: FileRaState) -> None:
    """Kernel: mm/readahead.c:page_cache_ra_order()

    Read the window ``[start, start + ra->size)`` in folios of ``ra->order`` (capped by the
    mapping and by the window), each shrunk to be aligned to its index and to end inside
    the file. The folio holding ``start + size - async_size`` gets PG_readahead. A page
    already cached (or no memory) stops the large-folio loop; the rest of the window is
    then read in order-0 folios around the cached pages.
    """
    mapping = ractl.mapping
    start = readahead_index(ractl)
    index = start
    limit = _i_size(mapping) - 1
    mark = index + ra.size - ra.async_size
    err = 0
    if not mapping_large_folio_support(mapping):
        ra.order = 0
    else:
        limit = min(limit, index + ra.size - 1)
        new_order = min(mapping_max_folio_order(mapping), ra.order)
        new_order = min(new_order, ra.size.bit_length() - 1)  # ilog2(ra->size)
        ra.order = new_order
        while index <= limit:
            order = new_order
            if index & ((1 << order) - 1):
                order = (index & -index).bit_length() - 1  # __ffs(index)
            while order > 0 and index + (1 << order) - 1 > limit:
                order -= 1
            err = ra_alloc_folio(ractl, index, mark, order)
            if err:
                break
            index += 1 << order
        read_pages(ractl)
        if not err:
            return
    # fallback (read_pages() left _index at ``index``): read the rest of the window, order 0
    if ra.size > index - start:
        do_page_cache_ra(ractl, ra.size - (index - start), ra.async_size)


def ractl_max_pages(ractl: ReadaheadControl, req_size: int) -> int:
    """Kernel: mm/readahead.c:ractl_max_pages(): ``ra_pages``, or up to ``io_pages`` for a
    larger request."""
    max_pages = ractl.ra.ra_pages
    io_pages = _io_pages(ractl.mapping)
    if req_size > max_pages and max_pages < io_pages:
        max_pages = min(req_size, io_pages)
    return max_pages


def _io_pages(mapping: AddressSpace) -> int:
    """``bdi->io_pages``: ``max_sectors_kb`` in pages (block/blk-settings.c)."""
    return BDI_IO_KB // mapping.kernel.pg.kb_per_page


def page_cache_sync_ra(ractl: ReadaheadControl, req_count: int) -> None:
    """Kernel: mm/readahead.c:page_cache_sync_ra()

    A cache miss. At the start of the file, for an oversized request or a sequential miss,
    open a fresh window (``get_init_ra_size()``); otherwise look back for a cached run that
    a stream would have left (``page_cache_prev_miss()``): none means a small random read,
    read just ``req_count``. Windows opened here are read in order 0.
    """
    index = readahead_index(ractl)
    ra = ractl.ra
    do_forced_ra = ractl.file is not None and bool(ractl.file.f_mode & FMODE_RANDOM)
    if not ra.ra_pages:
        if ractl.file is None:
            return
        req_count = 1
        do_forced_ra = True
    if do_forced_ra:
        force_page_cache_ra(ractl, req_count)
        return
    max_pages = ractl_max_pages(ractl, req_count)
    # (unsigned long long)ra->prev_pos >> PAGE_SHIFT
    prev_index = (ra.prev_pos & ULONG_MAX) >> ractl.mapping.kernel.pg.PAGE_SHIFT
    if not index or req_count > max_pages or (index - prev_index) & ULONG_MAX <= 1:
        ra.start = index
        ra.size = get_init_ra_size(req_count, max_pages)
        ra.async_size = ra.size - req_count if ra.size > req_count else ra.size >> 1
    else:
        miss = page_cache_prev_miss(ractl.mapping, index - 1, max_pages)
        contig_count = (index - miss - 1) & ULONG_MAX
        if contig_count <= req_count:
            do_page_cache_ra(ractl, req_count, 0)
            return
        if miss == ULONG_MAX:
            contig_count *= 2
        ra.start = index
        ra.size = min(contig_count + req_count, max_pages)
        ra.async_size = 1
    ra.order = 0
    ractl._index = ra.start
    page_cache_ra_order(ractl, ra)


def page_cache_async_ra(ractl: ReadaheadControl, folio: Folio, req_count: int) -> None:
    """Kernel: mm/readahead.c:page_cache_async_ra()

    A reader reached ``folio`` (marked PG_readahead). At the expected index the window moves
    on by its size and grows; otherwise (an interleaved stream) the window restarts at the
    next gap. Either way ``ra->order`` rises by 2 and the window end is aligned to it.
    """
    ra = ractl.ra
    index = readahead_index(ractl)
    if not ra.ra_pages:
        return
    if folio.flags & PG_writeback:  # the bit is PG_reclaim here
        return
    folio.flags &= ~PG_readahead
    max_pages = ractl_max_pages(ractl, req_count)
    nr = 1 << folio.order
    expected = (ra.start + ra.size - ra.async_size) & ~(nr - 1)
    if index == expected:
        ra.start += ra.size
        ra.size = max(ra.size, get_next_ra_size(ra, max_pages))
    else:
        start = page_cache_next_miss(ractl.mapping, index + 1, max_pages)
        if not start or start - index > max_pages:
            return
        ra.start = start
        ra.size = start - index + req_count
        ra.size = get_next_ra_size(ra, max_pages)
    ra.order += 2
    align = 1 << min(ra.order, (max_pages & -max_pages).bit_length() - 1)  # ffs() - 1
    end = ra.start + ra.size
    aligned_end = end & ~(align - 1)
    if aligned_end > ra.start:
        ra.size -= end - aligned_end
    ra.async_size = ra.size
    ractl._index = ra.start
    page_cache_ra_order(ractl, ra)


__all__ = (
    "BDI_IO_PAGES",
    "DEFINE_READAHEAD",
    "MAX_PAGECACHE_ORDER",
    "ReadaheadControl",
    "do_page_cache_ra",
    "file_ra_state_init",
    "force_page_cache_ra",
    "get_init_ra_size",
    "get_next_ra_size",
    "mapping_large_folio_support",
    "mapping_max_folio_order",
    "page_cache_async_ra",
    "page_cache_ra_order",
    "page_cache_ra_unbounded",
    "page_cache_sync_ra",
    "ra_alloc_folio",
    "ractl_max_pages",
    "read_pages",
)

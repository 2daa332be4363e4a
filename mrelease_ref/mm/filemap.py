"""The page cache: lookup, insertion with read-ahead, removal, and ``cachestat()``.

Kernel: mm/filemap.c, mm/readahead.c (page_cache_ra_order()), mm/workingset.c
(workingset_refault(), workingset_test_recent())

A cache miss reads the missing range in one folio. With large folios on, the folio has the
Kernel's ``file_folio_order``, shrunk until it is naturally aligned and inside the file, as
the page cache requires; otherwise it is order 0. Reads complete at once.

The page cache holds ``folio_nr_pages()`` references on each folio it contains.

``read()`` and ``write()`` on a file go through the page cache (``filemap_read()``,
``generic_perform_write()``) and carry page contents
(:mod:`mrelease_ref.include.linux.highmem`): a folio read in holds the backing store's
contents, a write changes the page's token and dirties the folio.

Limitations:
- No read-ahead window or async read-ahead: one fault reads exactly one folio.
- ``read()``/``write()`` are page granular; a write reads in the folio it writes to (as a
  partial-page write would), and a write past the end grows ``i_size`` page by page.
- ``read()`` of a tmpfs hole allocates a folio (``shmem_file_read_iter()`` would copy the
  zero page instead).
- ``i_pages`` holds each folio once, at its first index; lookups try each order in use.
- ``nr_recently_evicted`` uses ``workingset_test_recent()`` (mm/workingset.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

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
    PG_swapbacked,
    PG_uptodate,
    PG_writeback,
)
from mrelease_ref.include.linux.vmstat import count_vm_events
from mrelease_ref.mm.page_alloc import folio_alloc
from mrelease_ref.mm.swap import folio_add_lru, folios_put_refs
from mrelease_ref.mm.workingset import workingset_refault, workingset_test_recent

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio


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


def _ra_order(mapping: AddressSpace, index: int) -> int:
    """The order the model's read-ahead uses for ``index`` (aligned, inside the file)."""
    k = mapping.kernel
    host = mapping.host
    if mapping.a_ops == "shmem":  # shmem_enabled=never: tmpfs folios stay small
        return 0
    order = k.config.file_folio_order if k.config.large_folios else 0
    size = host.i_size if host is not None else index + 1
    while order > 0:
        start = index & ~((1 << order) - 1)
        if start + (1 << order) <= size and all(
            filemap_get_entry(mapping, i) is None for i in range(start, start + (1 << order))
        ):
            return order
        order -= 1
    return 0


def page_cache_ra_order(mapping: AddressSpace, index: int, swapbacked: bool) -> Folio | None:
    """Kernel: mm/readahead.c:page_cache_ra_order()

    Read the folio that covers ``index`` into the page cache (I/O completes at once) and
    put it on the LRU. Returns None when memory is exhausted.
    """
    order = _ra_order(mapping, index)
    folio = folio_alloc(mapping.kernel, order)
    if folio is None:
        return None
    if swapbacked:
        folio.flags |= PG_swapbacked
    start = index & ~((1 << order) - 1)
    filemap_add_folio(mapping, folio, start)
    folio.flags |= PG_uptodate
    host = mapping.host
    if host is not None and host.private_data_on_read:
        folio_attach_private(folio, "buffer_heads")
    folios_put_refs(FolioBatch([folio]), None)  # read-ahead drops its allocation reference
    return folio


def filemap_grab_folio(mapping: AddressSpace, index: int, swapbacked: bool) -> Folio | None:
    """Kernel: mm/filemap.c:filemap_fault() (the lookup-or-read part)

    Return the folio covering ``index`` with one extra reference for the caller, reading it
    in on a miss. None means out of memory.
    """
    folio = filemap_get_entry(mapping, index)
    if folio is None:
        folio = page_cache_ra_order(mapping, index, swapbacked)
        if folio is None:
            return None
        count_vm_events(mapping.kernel, "PGMAJFAULT", 1)
    folio._refcount += 1
    return folio


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


def filemap_read(mapping: AddressSpace, index: int, nr_pages: int) -> list[int] | None:
    """Kernel: mm/filemap.c:filemap_read()

    ``read()`` of ``nr_pages`` pages from page ``index``: each folio is looked up or read
    in (``filemap_get_pages()``), marked accessed once, and its pages copied out
    (``copy_folio_to_iter()``). Stops at the end of the file. Returns the pages' tokens,
    None if memory ran out before anything was read.
    """
    from mrelease_ref.mm.swap import folio_mark_accessed

    host = mapping.host
    size = host.i_size if host is not None else index + nr_pages
    out: list[int] = []
    last: Folio | None = None
    for i in range(index, min(index + nr_pages, size)):
        folio = filemap_get_entry(mapping, i)
        if folio is None:
            folio = page_cache_ra_order(mapping, i, swapbacked=mapping.a_ops == "shmem")
            if folio is None:
                break
        if folio is not last:  # "mark the folio accessed if we read the beginning"
            folio_mark_accessed(folio)
            last = folio
        out.append(memcpy_from_page((folio, i - folio.index)))
    if not out and nr_pages and index < size:
        return None
    return out


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
        folio = filemap_get_entry(mapping, pgoff)  # write_begin: __filemap_get_folio()
        if folio is None:
            folio = page_cache_ra_order(mapping, pgoff, swapbacked=mapping.a_ops == "shmem")
            if folio is None:
                break
        memcpy_to_page((folio, pgoff - folio.index), token)
        folio_mark_dirty(folio)  # write_end
        done += 1
    return done

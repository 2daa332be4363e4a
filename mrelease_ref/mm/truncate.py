"""Evicting and invalidating clean page-cache folios.

Kernel: mm/truncate.c

``mapping_evict_folio()`` is the rule the series builds patch 1 on: a clean folio leaves the
page cache only if nothing but the page cache, its private data, and *one* caller holds a
reference (docs/sources.md §T2.6). ``mapping_try_invalidate()`` is what
``posix_fadvise(POSIX_FADV_DONTNEED)`` runs, holding one reference per folio while it
looks.

Limitations:
- No truncation of dirty data except through ``truncate_inode_pages()`` on inode eviction.
- ``deactivate_file_folio()`` on a failed invalidation is not modelled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrelease_ref.include.linux.fs import AddressSpace
from mrelease_ref.include.linux.mmzone import NR_FILE_DIRTY, FolioBatch
from mrelease_ref.include.linux.page_flags import PG_dirty, PG_private, PG_private_2, PG_writeback
from mrelease_ref.mm.filemap import (
    __filemap_remove_folio,
    filemap_free_folio,
    filemap_release_folio,
)
from mrelease_ref.mm.swap import folios_put_refs
from mrelease_ref.mm.swap_state import folio_trylock, folio_unlock
from mrelease_ref.mm.vmscan import remove_mapping

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio


def mapping_evict_folio(mapping: AddressSpace | object | None, folio: Folio) -> int:
    """Kernel: mm/truncate.c:mapping_evict_folio()

    With the folio locked: refuse if truncated (no mapping), dirty or under writeback, or
    if ``refcount > folio_nr_pages() + folio_has_private() + 1``; otherwise release private
    data and remove the folio from the page cache. Returns pages removed (0 = refused).
    """
    if mapping is None:
        return 0
    if folio.flags & (PG_dirty | PG_writeback):
        return 0
    has_private = 1 if folio.flags & (PG_private | PG_private_2) else 0
    if folio._refcount > (1 << folio.order) + has_private + 1:
        return 0
    if not filemap_release_folio(folio, 0):
        return 0
    if not isinstance(mapping, AddressSpace):  # not a page-cache mapping (e.g. an anon_vma)
        return 0
    return remove_mapping(mapping, folio)


def mapping_try_invalidate(mapping: AddressSpace, start: int, end: int) -> tuple[int, int]:
    """Kernel: mm/truncate.c:mapping_try_invalidate()

    Try to evict every folio in ``start..end`` (page indices). Returns ``(count,
    nr_failed)``. As ``find_lock_entries()`` does, a large folio that begins before
    ``start`` or ends after ``end`` is left alone, and so are locked folios and folios under
    writeback; none of these count as failures.
    """
    count = failed = 0
    candidates = [
        f for f in list(mapping.i_pages.values())
        if f.index >= start and f.index + (1 << f.order) - 1 <= end
    ]
    for folio in candidates:
        if not folio_trylock(folio):
            continue
        if folio.flags & PG_writeback:
            folio_unlock(folio)
            continue
        folio._refcount += 1  # find_lock_entries() holds a reference while we look
        ret = mapping_evict_folio(mapping, folio)
        folio_unlock(folio)
        if not ret:
            failed += 1
        count += ret
        folios_put_refs(FolioBatch([folio]), None)
    return count, failed


def invalidate_mapping_pages(mapping: AddressSpace, start: int, end: int) -> int:
    """Kernel: mm/truncate.c:invalidate_mapping_pages()"""
    return mapping_try_invalidate(mapping, start, end)[0]


def truncate_inode_pages(mapping: AddressSpace) -> None:
    """Kernel: mm/truncate.c:truncate_inode_pages()

    Drop every folio, dirty or not: the file is going away (shmem inode eviction).
    """
    for folio in list(mapping.i_pages.values()):
        if folio.flags & PG_dirty:  # folio_cancel_dirty()
            folio.flags &= ~PG_dirty
            if mapping.a_ops != "shmem":
                folio.kernel.vmstat[NR_FILE_DIRTY] -= 1 << folio.order
        filemap_release_folio(folio, 0)
        __filemap_remove_folio(folio, None)
        filemap_free_folio(mapping, folio)
    mapping.shadows.clear()

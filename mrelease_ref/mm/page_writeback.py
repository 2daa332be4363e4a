"""Dirtying and writing back page-cache folios.

Kernel: mm/page-writeback.c, mm/filemap.c (__filemap_fdatawrite_range(),
folio_end_writeback(), file_write_and_wait_range())

Writeback is asynchronous, as in the kernel: starting it clears PG_dirty (after
``folio_mkclean()`` write-protects the PTEs) and sets PG_writeback; the I/O completes when
the Kernel's block-I/O worker next runs (see :mod:`mrelease_ref.sim.sched`). That is how
``posix_fadvise(POSIX_FADV_DONTNEED)`` on a dirty file leaves pages cached but under
writeback (docs/sources.md §M5, row B3).

Writeback carries the folio's page contents (:mod:`mrelease_ref.include.linux.highmem`)
to the file's backing store, or to swap for a swap-cache folio.

Limitations:
- No dirty throttling (balance_dirty_pages), no periodic flusher: only explicit writeback
  (fadvise DONTNEED, fsync) cleans file folios.
- shmem folios are never written back (they would go to swap, which only MADV_PAGEOUT
  triggers here).
- ``file_write_and_wait_range()`` has no error reporting (no errseq, no -EIO).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrelease_ref.include.linux.fs import AddressSpace
from mrelease_ref.include.linux.mmzone import NR_FILE_DIRTY, NR_WRITEBACK
from mrelease_ref.include.linux.page_flags import PG_dirty, PG_writeback
from mrelease_ref.kernel.sched import KernelGen, wait_event
from mrelease_ref.mm.rmap import folio_mkclean

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio


def mapping_can_writeback(mapping: AddressSpace) -> bool:
    """Kernel: include/linux/backing-dev.h:mapping_can_writeback() (false for shmem here)"""
    return mapping.a_ops == "ext4"


def __folio_mark_dirty(folio: Folio, mapping: AddressSpace) -> None:
    """Kernel: mm/page-writeback.c:__folio_mark_dirty(): account a newly dirty folio."""
    if mapping_can_writeback(mapping):
        folio.kernel.vmstat[NR_FILE_DIRTY] += 1 << folio.order


def folio_mark_dirty(folio: Folio) -> bool:
    """Kernel: mm/page-writeback.c:folio_mark_dirty()

    Returns True if the folio was clean before. Anonymous folios only get the flag.
    """
    if folio.flags & PG_dirty:
        return False
    folio.flags |= PG_dirty
    mapping = folio.mapping
    if isinstance(mapping, AddressSpace):
        __folio_mark_dirty(folio, mapping)
    return True


def folio_clear_dirty_for_io(folio: Folio) -> bool:
    """Kernel: mm/page-writeback.c:folio_clear_dirty_for_io()

    Write-protect the folio's PTEs, then clear PG_dirty for the I/O about to start.
    """
    mapping = folio.mapping
    folio_mkclean(folio)
    if not folio.flags & PG_dirty:
        return False
    folio.flags &= ~PG_dirty
    if isinstance(mapping, AddressSpace) and mapping_can_writeback(mapping):
        folio.kernel.vmstat[NR_FILE_DIRTY] -= 1 << folio.order
    return True


def folio_write_contents(folio: Folio) -> None:
    """Model helper: what the I/O that writeback starts stores -- the folio's page tokens,
    into the file's backing store (``Inode.i_disk``) or, for a swap-cache folio, into its
    swap slots (``SwapInfoStruct.swap_data``). The model stores them when the I/O is
    submitted: the folio is clean from then on, and a later write dirties it again."""
    from mrelease_ref.include.linux.highmem import folio_page_token
    from mrelease_ref.include.linux.page_flags import PG_swapcache

    k = folio.kernel
    nr = 1 << folio.order
    if folio.flags & PG_swapcache:
        si, entry = k.swap_info, folio.swap
        assert si is not None and entry is not None
        for i in range(nr):
            si.swap_data[entry.offset + i] = folio_page_token(folio, i)
        return
    mapping = folio.mapping
    if folio._data is None or not isinstance(mapping, AddressSpace) or mapping.host is None:
        return  # initial contents: the backing store holds them already
    disk = mapping.host.i_disk
    for i in range(nr):
        disk[folio.index + i] = folio_page_token(folio, i)


def folio_start_writeback(folio: Folio) -> None:
    """Kernel: mm/page-writeback.c:__folio_start_writeback()

    The folio's contents go to its backing store (:func:`folio_write_contents`).
    """
    folio_write_contents(folio)
    folio.flags |= PG_writeback
    folio.kernel.vmstat[NR_WRITEBACK] += 1 << folio.order
    # No reference for the I/O: whoever could free the folio waits for PG_writeback
    # (truncation) or skips it (reclaim, eviction).
    folio.kernel.io_pending.append(folio)


def folio_end_writeback(folio: Folio) -> None:
    """Kernel: mm/filemap.c:folio_end_writeback()

    (The kernel's folio_get()/folio_put() pair around the wake-up nets to nothing here.)
    """
    folio.flags &= ~PG_writeback
    folio.kernel.vmstat[NR_WRITEBACK] -= 1 << folio.order


def __filemap_fdatawrite_range(mapping: AddressSpace, start: int, end: int) -> int:
    """Kernel: mm/filemap.c:__filemap_fdatawrite_range() (WB_SYNC_NONE)

    Start writeback of every dirty folio in ``start..end`` (page indices). Returns how many
    folios were submitted.
    """
    if not mapping_can_writeback(mapping):
        return 0
    submitted = 0
    for folio in list(mapping.i_pages.values()):
        if not start <= folio.index <= end or folio.flags & PG_writeback:
            continue
        if folio_clear_dirty_for_io(folio):
            folio_start_writeback(folio)
            submitted += 1
    return submitted


def folio_wait_writeback(folio: Folio) -> KernelGen[None]:
    """Kernel: mm/page-writeback.c:folio_wait_writeback()

    Sleep until PG_writeback clears. The sleep is TASK_UNINTERRUPTIBLE
    (``folio_wait_bit()``): neither a signal -- SIGKILL included -- nor the freezer ends it,
    only the I/O completing (``Kernel.hold_io`` models a device that does not complete).
    """
    yield wait_event("folio_wait_writeback", lambda: not folio.flags & PG_writeback)


def file_write_and_wait_range(mapping: AddressSpace, start: int, end: int) -> KernelGen[int]:
    """Kernel: mm/filemap.c:file_write_and_wait_range() (``fsync()`` of a plain file, as
    ext4_sync_file() starts it), with __filemap_fdatawait_range()

    Start writeback of the dirty folios in ``start..end`` (page indices), then wait for
    every folio of the range under writeback. Returns 0.
    """
    __filemap_fdatawrite_range(mapping, start, end)
    for folio in list(mapping.i_pages.values()):
        if start <= folio.index <= end and folio.flags & PG_writeback:
            yield from folio_wait_writeback(folio)
    return 0

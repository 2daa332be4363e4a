"""``posix_fadvise()``: the DONTNEED path that drops clean, unmapped page cache.

Kernel: mm/fadvise.c:generic_fadvise()

Limitations:
- Only POSIX_FADV_DONTNEED and POSIX_FADV_NOREUSE/NORMAL are modelled; WILLNEED, RANDOM
  and SEQUENTIAL only validate.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING

from mrelease_ref.include.linux.fs import FMODE_NOREUSE
from mrelease_ref.mm.page_writeback import __filemap_fdatawrite_range
from mrelease_ref.mm.swap import lru_add_drain, lru_add_drain_all
from mrelease_ref.mm.truncate import invalidate_mapping_pages, mapping_try_invalidate

if TYPE_CHECKING:
    from mrelease_ref.include.linux.fs import File

LLONG_MAX = (1 << 63) - 1
POSIX_FADV_NORMAL = os.POSIX_FADV_NORMAL
POSIX_FADV_RANDOM = os.POSIX_FADV_RANDOM
POSIX_FADV_SEQUENTIAL = os.POSIX_FADV_SEQUENTIAL
POSIX_FADV_WILLNEED = os.POSIX_FADV_WILLNEED
POSIX_FADV_DONTNEED = os.POSIX_FADV_DONTNEED
POSIX_FADV_NOREUSE = os.POSIX_FADV_NOREUSE

_VALID = {
    POSIX_FADV_NORMAL,
    POSIX_FADV_RANDOM,
    POSIX_FADV_SEQUENTIAL,
    POSIX_FADV_WILLNEED,
    POSIX_FADV_DONTNEED,
    POSIX_FADV_NOREUSE,
}


def generic_fadvise(file: File, offset: int, length: int, advice: int) -> int:
    """Kernel: mm/fadvise.c:generic_fadvise()

    Offsets are in bytes; ``length == 0`` means to the end of the file. DONTNEED first
    starts writeback of dirty folios, drains this CPU's LRU batches, tries to invalidate,
    and on failures drains every CPU and tries once more.
    """
    mapping = file.f_mapping
    if mapping is None or file.f_inode is None or file.f_inode.kind != "ext4":
        return -errno.ESPIPE if mapping is None else 0
    if advice not in _VALID or offset < 0 or length < 0:
        return -errno.EINVAL
    k = mapping.kernel
    pg = k.pg
    i_size = file.f_inode.i_size << pg.PAGE_SHIFT  # bytes
    endbyte = LLONG_MAX if length == 0 else offset + length - 1
    if advice == POSIX_FADV_NOREUSE:
        file.f_mode |= FMODE_NOREUSE
    elif advice == POSIX_FADV_NORMAL:
        file.f_mode &= ~FMODE_NOREUSE
    elif advice == POSIX_FADV_DONTNEED:
        __filemap_fdatawrite_range(mapping, offset >> pg.PAGE_SHIFT, endbyte >> pg.PAGE_SHIFT)
        # First and last FULL page: partial pages are deliberately preserved.
        start_index = (offset + pg.PAGE_SIZE - 1) >> pg.PAGE_SHIFT
        end_index = endbyte >> pg.PAGE_SHIFT
        if endbyte & (pg.PAGE_SIZE - 1) != pg.PAGE_SIZE - 1 and endbyte != i_size - 1:
            if end_index == 0:
                return 0
            end_index -= 1
        if end_index >= start_index:
            lru_add_drain(k)
            _, nr_failed = mapping_try_invalidate(mapping, start_index, end_index)
            if nr_failed:
                lru_add_drain_all(k)
                invalidate_mapping_pages(mapping, start_index, end_index)
    return 0

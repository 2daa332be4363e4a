"""LRU list placement of a folio.

Kernel: include/linux/mm_inline.h

Limitations:
- No MGLRU (lru_gen) paths; the classic two-list LRU only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrelease_ref.include.linux.fs import FMODE_NOREUSE
from mrelease_ref.include.linux.mm_types import VM_RAND_READ, VM_SEQ_READ
from mrelease_ref.include.linux.mmzone import NR_LRU_BASE, LruList, Lruvec
from mrelease_ref.include.linux.page_flags import (
    PG_active,
    PG_lru,
    PG_swapbacked,
    PG_unevictable,
)

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio, VmAreaStruct

_INACTIVE_ANON = int(LruList.LRU_INACTIVE_ANON)
_INACTIVE_FILE = int(LruList.LRU_INACTIVE_FILE)
_UNEVICTABLE = int(LruList.LRU_UNEVICTABLE)


def folio_is_file_lru(folio: Folio) -> bool:
    """Kernel: include/linux/mm_inline.h:folio_is_file_lru()"""
    return not folio.flags & PG_swapbacked


def folio_lru_list(folio: Folio) -> int:
    """Kernel: include/linux/mm_inline.h:folio_lru_list()"""
    flags = folio.flags
    if flags & PG_unevictable:
        return _UNEVICTABLE
    lru = _INACTIVE_ANON if flags & PG_swapbacked else _INACTIVE_FILE
    if flags & PG_active:
        lru += 1
    return lru


def lruvec_add_folio(lruvec: Lruvec, folio: Folio) -> None:
    """Kernel: include/linux/mm_inline.h:lruvec_add_folio() (adds at the list head)."""
    lru = folio_lru_list(folio)
    lruvec.lists[lru][folio] = None
    folio.kernel.vmstat[NR_LRU_BASE + lru] += 1 << folio.order


def lruvec_del_folio(lruvec: Lruvec, folio: Folio) -> None:
    """Kernel: include/linux/mm_inline.h:lruvec_del_folio()"""
    flags = folio.flags  # folio_lru_list(folio), inlined: this runs for every freed folio
    if flags & PG_unevictable:
        lru = _UNEVICTABLE
    else:
        lru = (_INACTIVE_ANON if flags & PG_swapbacked else _INACTIVE_FILE) + (
            1 if flags & PG_active else 0
        )
    del lruvec.lists[lru][folio]
    folio.kernel.vmstat[NR_LRU_BASE + lru] -= 1 << folio.order


def __folio_clear_lru_flags(folio: Folio) -> None:
    """Kernel: include/linux/mm_inline.h:__folio_clear_lru_flags()"""
    folio.flags &= ~(PG_lru | PG_active | PG_unevictable)


def vma_has_recency(vma: VmAreaStruct) -> bool:
    """Kernel: include/linux/mm_inline.h:vma_has_recency()

    False after madvise(MADV_SEQUENTIAL/MADV_RANDOM) or fadvise(POSIX_FADV_NOREUSE): such
    mappings do not feed LRU aging.
    """
    if vma.vm_flags & (VM_SEQ_READ | VM_RAND_READ):
        return False
    f = vma.vm_file
    return not (f is not None and f.f_mode & FMODE_NOREUSE)

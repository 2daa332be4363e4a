"""Folio flags and their test/set/clear accessors.

Kernel: include/linux/page-flags.h

The kernel keeps these bits in ``folio->flags``. The model does the same: ``Folio.flags`` is a
plain ``int`` so that the zap loop can test bits cheaply, and :class:`PageFlags` names the bits
for reprs and for readers. The module-level ``PG_*`` names are plain ints with the same values.

Two bits are not page flags in the kernel and are marked as such:

* ``PG_anon``: the kernel encodes "anonymous" in bit 0 of ``folio->mapping``
  (``PAGE_MAPPING_ANON``); the model keeps it as a flag so ``folio->mapping`` can stay ``None``.
* ``PG_freed``: model-only; set when the folio has gone back to the page allocator, so the
  invariant checker can prove that no freed folio is still reachable.
* ``PG_anon_exclusive``: the kernel's ``PageAnonExclusive()`` is a *page* flag (aliasing
  PG_mappedtodisk); the model keeps one bit per folio. That is exact for small folios and
  for PMD-mapped THPs (the flag lives on the head page); for a PTE-mapped THP it says
  "every page", which is enough because the model sets it only while a single mm maps
  the folio (new anonymous folios, reuse on a write fault) and fork clears it.

Limitations:
- Bits that nothing in the process_mrelease() path reads (PG_error, PG_arch_*, PG_hwpoison,
  PG_young/PG_idle of page_idle) are not modelled.
- ``PG_swapcache`` is its own bit; the kernel aliases it to PG_owner_priv_1 and also requires
  PG_swapbacked in ``folio_test_swapcache()``. The model sets both together, so the result agrees.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio


class PageFlags(enum.IntFlag):
    """Names of the ``folio->flags`` bits that the model uses."""

    PG_locked = 1 << 0
    PG_referenced = 1 << 1
    PG_uptodate = 1 << 2
    PG_dirty = 1 << 3
    PG_lru = 1 << 4
    PG_head = 1 << 5
    PG_waiters = 1 << 6
    PG_active = 1 << 7
    PG_workingset = 1 << 8
    PG_private = 1 << 9
    PG_private_2 = 1 << 10
    PG_writeback = 1 << 11
    PG_reclaim = 1 << 12
    PG_swapbacked = 1 << 13
    PG_unevictable = 1 << 14
    PG_mlocked = 1 << 15
    PG_swapcache = 1 << 16
    PG_dropbehind = 1 << 17
    PG_anon = 1 << 18
    PG_freed = 1 << 19
    PG_anon_exclusive = 1 << 20


PG_locked: Final = int(PageFlags.PG_locked)
PG_referenced: Final = int(PageFlags.PG_referenced)
PG_uptodate: Final = int(PageFlags.PG_uptodate)
PG_dirty: Final = int(PageFlags.PG_dirty)
PG_lru: Final = int(PageFlags.PG_lru)
PG_head: Final = int(PageFlags.PG_head)
PG_active: Final = int(PageFlags.PG_active)
PG_workingset: Final = int(PageFlags.PG_workingset)
PG_private: Final = int(PageFlags.PG_private)
PG_private_2: Final = int(PageFlags.PG_private_2)
PG_writeback: Final = int(PageFlags.PG_writeback)
PG_reclaim: Final = int(PageFlags.PG_reclaim)
PG_readahead: Final = PG_reclaim  # one bit: reads use it as PG_readahead, writes as PG_reclaim
PG_swapbacked: Final = int(PageFlags.PG_swapbacked)
PG_unevictable: Final = int(PageFlags.PG_unevictable)
PG_mlocked: Final = int(PageFlags.PG_mlocked)
PG_swapcache: Final = int(PageFlags.PG_swapcache)
PG_dropbehind: Final = int(PageFlags.PG_dropbehind)
PG_anon: Final = int(PageFlags.PG_anon)
PG_freed: Final = int(PageFlags.PG_freed)
PG_anon_exclusive: Final = int(PageFlags.PG_anon_exclusive)


def flags_str(flags: int) -> str:
    """Model helper: render a flags word the way ``%pGp`` does: ``locked|dirty|lru``."""
    names = [f.name[3:] for f in PageFlags if f.name and flags & f.value]
    return "|".join(names) if names else "0"


# --- accessors: Kernel: include/linux/page-flags.h:folio_test_*() -----------------------
# One-liners on purpose: they are the kernel's vocabulary, and the zap loop calls only a few.


def folio_test_locked(folio: Folio) -> bool:
    """Kernel: include/linux/page-flags.h:folio_test_locked()"""
    return bool(folio.flags & PG_locked)


def folio_test_dirty(folio: Folio) -> bool:
    """Kernel: include/linux/page-flags.h:folio_test_dirty()"""
    return bool(folio.flags & PG_dirty)


def folio_test_writeback(folio: Folio) -> bool:
    """Kernel: include/linux/page-flags.h:folio_test_writeback()"""
    return bool(folio.flags & PG_writeback)


def folio_test_referenced(folio: Folio) -> bool:
    """Kernel: include/linux/page-flags.h:folio_test_referenced()"""
    return bool(folio.flags & PG_referenced)


def folio_test_active(folio: Folio) -> bool:
    """Kernel: include/linux/page-flags.h:folio_test_active()"""
    return bool(folio.flags & PG_active)


def folio_test_lru(folio: Folio) -> bool:
    """Kernel: include/linux/page-flags.h:folio_test_lru()"""
    return bool(folio.flags & PG_lru)


def folio_test_unevictable(folio: Folio) -> bool:
    """Kernel: include/linux/page-flags.h:folio_test_unevictable()"""
    return bool(folio.flags & PG_unevictable)


def folio_test_mlocked(folio: Folio) -> bool:
    """Kernel: include/linux/page-flags.h:folio_test_mlocked()"""
    return bool(folio.flags & PG_mlocked)


def folio_test_swapbacked(folio: Folio) -> bool:
    """Kernel: include/linux/page-flags.h:folio_test_swapbacked()"""
    return bool(folio.flags & PG_swapbacked)


def folio_test_swapcache(folio: Folio) -> bool:
    """Kernel: include/linux/page-flags.h:folio_test_swapcache()"""
    return bool(folio.flags & PG_swapcache)


def folio_test_anon(folio: Folio) -> bool:
    """Kernel: include/linux/page-flags.h:folio_test_anon()

    The kernel tests bit 0 of ``folio->mapping``; the model keeps that bit as ``PG_anon``.
    """
    return bool(folio.flags & PG_anon)


def folio_test_large(folio: Folio) -> bool:
    """Kernel: include/linux/page-flags.h:folio_test_large()"""
    return folio.order > 0


def folio_test_private(folio: Folio) -> bool:
    """Kernel: include/linux/page-flags.h:folio_test_private()"""
    return bool(folio.flags & PG_private)


def folio_test_dropbehind(folio: Folio) -> bool:
    """Kernel: include/linux/page-flags.h:folio_test_dropbehind()"""
    return bool(folio.flags & PG_dropbehind)


def folio_test_uptodate(folio: Folio) -> bool:
    """Kernel: include/linux/page-flags.h:folio_test_uptodate()"""
    return bool(folio.flags & PG_uptodate)


def folio_set_flag(folio: Folio, flag: int) -> None:
    """Model helper behind the kernel's ``folio_set_*()`` family (non-atomic here)."""
    folio.flags |= flag


def folio_clear_flag(folio: Folio, flag: int) -> None:
    """Model helper behind the kernel's ``folio_clear_*()`` family (non-atomic here)."""
    folio.flags &= ~flag


def folio_test_clear_lru(folio: Folio) -> bool:
    """Kernel: include/linux/page-flags.h:folio_test_clear_lru()

    Atomically clear PG_lru and say whether it was set: whoever clears it owns the
    isolation of the folio from its LRU list.
    """
    was = bool(folio.flags & PG_lru)
    folio.flags &= ~PG_lru
    return was


def folio_has_private(folio: Folio) -> bool:
    """Kernel: include/linux/page-flags.h:folio_has_private()

    True when PG_private or PG_private_2 is set (filesystem data such as buffer heads).
    """
    return bool(folio.flags & (PG_private | PG_private_2))

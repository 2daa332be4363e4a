"""Workingset aging: the non-resident age clock behind refault detection.

Kernel: mm/workingset.c

Limitations:
- Shadow entries store the eviction-time age only; refault distance is compared against the
  size of the file LRU lists, without the kernel's memcg and anon/file balancing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio


def workingset_age_nonresident(folio: Folio, nr_pages: int) -> None:
    """Kernel: mm/workingset.c:workingset_age_nonresident()"""
    folio.kernel.lruvec.nonresident_age += nr_pages


def workingset_activation(folio: Folio) -> None:
    """Kernel: mm/workingset.c:workingset_activation()

    An activation ages the non-resident clock like an eviction would.
    """
    workingset_age_nonresident(folio, 1 << folio.order)


def workingset_eviction(folio: Folio) -> int:
    """Kernel: mm/workingset.c:workingset_eviction(): return the shadow value to store."""
    workingset_age_nonresident(folio, 1 << folio.order)
    return folio.kernel.lruvec.nonresident_age

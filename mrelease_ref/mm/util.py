"""Small mm helpers that live in mm/util.c.

Kernel: mm/util.c

Limitations:
- Only ``folio_mapping()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrelease_ref.include.linux.fs import AddressSpace
from mrelease_ref.include.linux.page_flags import PG_swapcache

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio


def folio_mapping(folio: Folio) -> AddressSpace | None:
    """Kernel: mm/util.c:folio_mapping()

    The swap address space for a swap-cache folio, the page cache for a file folio, and
    None for an anonymous folio outside the swap cache.
    """
    if folio.flags & PG_swapcache:
        return folio.kernel.swapper_space  # swap_address_space() of the folio's swap entry
    mapping = folio.mapping
    return mapping if isinstance(mapping, AddressSpace) else None

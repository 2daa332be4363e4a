"""RFC 1/3: ``free_pages_and_caches(pages, nr, try_evict_file_folios)`` in mm/swap_state.c.

Kernel: mm/swap_state.c and include/linux/swap.h as patched by
<20260413223948.556351-2-minchan@kernel.org> (RFC 1/3) -- [I] reconstructed: only the s390
hunk and the diffstat were retrieved (docs/sources.md §T3.1).

The RFC extended the batch free in place, in mm/swap_state.c, which is built only with
CONFIG_SWAP; without it, include/linux/swap.h kept mapping the call to
``release_pages()``, so the RFC never evicts on a !CONFIG_SWAP kernel. v1's change list
("Unified ... free_pages_and_caches() in mm/swap.c to handle both CONFIG_SWAP and
!CONFIG_SWAP") is the evidence. The loop is taken to be v1's.

Limitations:
- [I] The per-folio loop, ``free_file_cache()`` and the gate are inferred from v1.
"""

from __future__ import annotations

from collections.abc import Sequence

from mrelease_ref.include.asm_generic.tlb import encoded_page_ptr
from mrelease_ref.mm.swap import release_pages
from mrelease_ref.series.v1.mm.swap import free_file_cache, free_pages_and_caches_loop


def free_pages_and_caches(pages: Sequence[object], nr: int, try_evict_file_folios: bool) -> None:
    """Kernel: mm/swap_state.c:free_pages_and_caches() (RFC 1/3, [I]); without CONFIG_SWAP
    the include/linux/swap.h stub, ``release_pages(pages, nr)``."""
    if not nr:
        return
    first = encoded_page_ptr(pages[0])  # type: ignore[arg-type]  # model-only
    if not first[0].kernel.config.swap:  # model-only: the stub
        release_pages(pages, nr)
        return
    free_pages_and_caches_loop(pages, nr, try_evict_file_folios, free_file_cache)

"""Swap-cache entry points as ``include/linux/swap.h`` declares them, with and without swap.

Kernel: include/linux/swap.h

With CONFIG_SWAP the functions live in mm/swap_state.c; without it swap.h turns them into
stubs: ``free_swap_cache()`` does nothing, ``free_folio_and_swap_cache()`` is
``folio_put()`` and ``free_pages_and_swap_cache()`` is ``release_pages()``. The model
compiles both and picks by the Kernel's ``swap`` option.

Limitations:
- Only the entry points on the zap/free path are switched here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mrelease_ref.include.asm_generic.tlb import encoded_page_ptr

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio


def free_swap_cache(folio: Folio) -> None:
    """Kernel: mm/swap_state.c:free_swap_cache() (an empty stub without CONFIG_SWAP)"""
    if folio.kernel.config.swap:
        swap_state.free_swap_cache(folio)


def free_folio_and_swap_cache(folio: Folio) -> None:
    """Kernel: mm/swap_state.c:free_folio_and_swap_cache() (folio_put() without CONFIG_SWAP)"""
    if folio.kernel.config.swap:
        swap_state.free_folio_and_swap_cache(folio)
    else:
        swap.folio_put(folio)


def free_pages_and_swap_cache(pages: Sequence[object], nr: int) -> None:
    """Kernel: mm/swap_state.c:free_pages_and_swap_cache() (release_pages() without
    CONFIG_SWAP)"""
    if not nr:
        return
    first = pages[0]
    assert isinstance(first, tuple)
    if encoded_page_ptr(first)[0].kernel.config.swap:
        swap_state.free_pages_and_swap_cache(pages, nr)
    else:
        swap.release_pages(pages, nr)


from mrelease_ref.mm import swap, swap_state  # noqa: E402

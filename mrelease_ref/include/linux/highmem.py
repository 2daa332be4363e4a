"""Page contents: what a page holds, and the copies the kernel makes of it.

Kernel: include/linux/highmem.h (copy_user_highpage(), copy_mc_user_highpage(),
copy_highpage(), memcpy_from_page(), memcpy_to_page()), mm/util.c (folio_copy())

The model does not store bytes. Each page holds a *token*, an int that names its content:

* ``0``: zeros (a fresh anonymous page, the zero page, a fresh tmpfs page);
* a negative token: the initial on-disk content of page ``index`` of a disk-backed file
  (:func:`file_initial_token`), so a copy of a file page can be told from a zero page;
* a positive token: something a program wrote (``Kernel.next_token()`` hands them out).

Where contents live: ``Folio._data`` for memory (None while every page of the folio holds
its initial content: zeros for anonymous and tmpfs folios, the backing store for a file
folio; one int when every page holds the same token; a list with one token per page
otherwise), ``Inode.i_disk`` for a disk-backed file's written-back pages, and
``SwapInfoStruct.swap_data`` for pages written to swap. Writes change a page's token,
writeback copies it to ``i_disk``, a read from disk copies ``i_disk`` into a new folio,
swap-out and swap-in copy it through ``swap_data``, copy-on-write copies it into the new
folio. The invariant checker (``mrelease_ref.sim.invariants``) checks that a clean
page-cache folio holds what its backing store holds.

A store of a whole page gives the page the stored token (``Process.poke()``). A store to
*part* of a page -- ``Process.touch(write=True)`` writes one byte per page, as the lab's
victim does -- leaves the rest of the page as it was, so the new content depends on the
old: :func:`partial_write_token`. That is what makes a copy-on-write copy observable: a
copy that forgot the old content reads back differently. One ``touch()`` call computes the
new token once per distinct old content (fresh anonymous pages all share one int: eight
bytes per folio).

Limitations:
- Page granular: no partial-page writes, no byte offsets inside a page.
- Tokens say *which* write a page holds, not what it says; two pages written by the same
  ``touch()`` hold the same token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrelease_ref.include.linux.fs import AddressSpace
from mrelease_ref.include.linux.page_flags import PG_anon

if TYPE_CHECKING:
    from mrelease_ref.include.linux.fs import Inode
    from mrelease_ref.include.linux.mm_types import Folio, Page, VmAreaStruct

ZERO_TOKEN = 0
"""The content of a zeroed page."""


def file_initial_token(ino: int, index: int) -> int:
    """Model helper: the initial content of page ``index`` of disk-backed inode ``ino``
    (negative, never handed out for writes)."""
    return -((ino << 32) | index) - 1


def backing_token(inode: Inode, index: int) -> int:
    """Model helper: what the inode's backing store holds for page ``index``: the last
    written-back token, else the file's initial content (zeros for tmpfs)."""
    if inode.kind != "ext4":
        return ZERO_TOKEN
    token = inode.i_disk.get(index)
    return file_initial_token(inode.i_ino, index) if token is None else token


def _initial_token(folio: Folio, idx: int) -> int:
    mapping = folio.mapping
    if folio.flags & PG_anon or not isinstance(mapping, AddressSpace):
        return ZERO_TOKEN
    host = mapping.host
    return ZERO_TOKEN if host is None else backing_token(host, folio.index + idx)


def folio_page_token(folio: Folio, idx: int) -> int:
    """Model helper: the token page ``idx`` of ``folio`` holds."""
    data = folio._data
    if data is None:
        return _initial_token(folio, idx)
    if type(data) is int:
        return data
    return data[idx]  # type: ignore[index]


def folio_tokens(folio: Folio) -> list[int]:
    """Model helper: the tokens of every page of ``folio``."""
    return [folio_page_token(folio, i) for i in range(1 << folio.order)]


def folio_set_tokens(folio: Folio, tokens: list[int]) -> None:
    """Model helper: give the folio's pages ``tokens`` (one per page), stored compactly."""
    first = tokens[0]
    folio._data = first if all(t == first for t in tokens) else list(tokens)


TOKEN_MOD = (1 << 61) - 1
"""Tokens made by partial writes are kept below this (a Mersenne prime)."""


def partial_write_token(old: int, token: int) -> int:
    """Model helper: the content of a page that held ``old`` after a write of ``token`` to
    part of it (deterministic; distinct old contents give distinct results)."""
    return (old * 1_000_003 + token) % TOKEN_MOD


def memcpy_from_page(page: Page) -> int:
    """Kernel: include/linux/highmem.h:memcpy_from_page(): read a (whole) page."""
    return folio_page_token(page[0], page[1])


def memcpy_to_page(page: Page, token: int) -> None:
    """Kernel: include/linux/highmem.h:memcpy_to_page(): write a (whole) page."""
    folio, idx = page
    if not folio.order:
        folio._data = token
        return
    data = folio._data
    if type(data) is not list:
        if data == token:
            return
        data = folio._data = folio_tokens(folio)
    data[idx] = token


def copy_highpage(to: Page, frm: Page) -> None:
    """Kernel: include/linux/highmem.h:copy_highpage()"""
    memcpy_to_page(to, memcpy_from_page(frm))


def copy_user_highpage(to: Page, frm: Page, vaddr: int, vma: VmAreaStruct) -> None:
    """Kernel: include/linux/highmem.h:copy_user_highpage(): the copy of a COW fault."""
    copy_highpage(to, frm)


def copy_mc_user_highpage(to: Page, frm: Page, vaddr: int, vma: VmAreaStruct) -> int:
    """Kernel: include/linux/highmem.h:copy_mc_user_highpage(): the copy fork() makes of a
    possibly pinned page. Returns 0 (no machine check in the model)."""
    copy_highpage(to, frm)
    return 0


def folio_copy(dst: Folio, src: Folio) -> None:
    """Kernel: mm/util.c:folio_copy(): copy every page of ``src`` into ``dst``."""
    data = src._data
    if data is None:
        folio_set_tokens(dst, folio_tokens(src))
    else:
        dst._data = list(data) if type(data) is list else data


__all__ = [
    "ZERO_TOKEN",
    "backing_token",
    "copy_highpage",
    "copy_mc_user_highpage",
    "copy_user_highpage",
    "file_initial_token",
    "folio_copy",
    "folio_page_token",
    "folio_set_tokens",
    "folio_tokens",
    "memcpy_from_page",
    "memcpy_to_page",
    "partial_write_token",
]

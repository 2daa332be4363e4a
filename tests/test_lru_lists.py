"""The LRU lists as intrusive lists through ``folio->lru``, and ``folio_order()``.

Kernel: include/linux/list.h (list_add(), list_add_tail(), list_del(), list_move(),
list_move_tail()), include/linux/mm_inline.h:lruvec_add_folio() (adds at the list head),
mm/vmscan.c:isolate_lru_folios() (takes from the tail, lru_to_folio()),
include/linux/mm.h:folio_order() (0 for a small folio, else folio_large_order()).
"""

from __future__ import annotations

import pytest

from mrelease_ref import Kernel
from mrelease_ref.include.linux.mm_types import Folio, LargeFolio
from mrelease_ref.include.linux.mmzone import ListHead, LruList, list_del
from mrelease_ref.include.linux.page_flags import folio_test_large
from mrelease_ref.mm.page_alloc import folio_alloc, free_unref_folios
from mrelease_ref.mm.swap import lru_add_drain_all
from mrelease_ref.sim.invariants import check_invariants


def _folios(k: Kernel, n: int) -> list[Folio]:
    return [Folio(k, 0x1000 + i) for i in range(n)]


def test_list_add_goes_to_the_head_list_add_tail_to_the_tail() -> None:
    """list_add() inserts right after the head, list_add_tail() right before it; a walk
    from the head (list_for_each_entry) meets the newest list_add() first, a reverse walk
    meets the tail first, and lru_to_folio() is the tail. Kernel: include/linux/list.h."""
    k = Kernel(seed=0)
    a, b, c, d = _folios(k, 4)
    head = ListHead()
    assert not head and len(head) == 0
    head.add(a)
    head.add(b)  # b is now the head entry
    head.add_tail(c)  # c is now the tail
    assert list(head) == [b, a, c] and list(reversed(head)) == [c, a, b]
    assert head.first() is b and head.last() is c and len(head) == 3 and head
    assert a in head and d not in head and head.check() == []
    head.move(c)  # list_move(): c back to the head
    assert list(head) == [c, b, a]
    head.move_tail(c)  # list_move_tail()
    assert list(head) == [b, a, c]


def test_list_del_needs_no_list_and_unlinks_the_folio() -> None:
    """list_del() unlinks an entry through its own prev/next links, without being told the
    list (lru_gen_del_folio() relies on it: the generation in the flags may be ahead of
    the list the folio sits on). Kernel: include/linux/list.h:list_del()."""
    k = Kernel(seed=0)
    a, b, c = _folios(k, 3)
    one, two = ListHead(), ListHead()
    one.add_tail(a)
    one.add_tail(b)
    two.add(c)
    list_del(b)
    assert list(one) == [a] and b._lru_next is None and b._lru_prev is None
    assert b not in one and c in two and c not in one
    with pytest.raises(ValueError, match="on no LRU list"):
        list_del(b)
    with pytest.raises(ValueError, match="already on an LRU list"):
        two.add(a)  # one folio->lru, one list at a time
    with pytest.raises(ValueError, match="not on this list"):
        one.remove(c)
    with pytest.raises(IndexError):
        ListHead().last()


def test_lruvec_lists_keep_the_kernels_order() -> None:
    """lruvec_add_folio() adds at the head of the list folio_lru_list() names, so the
    first-faulted folio of a mapping is the tail, the one reclaim takes first (the per-CPU
    batch adds them in fault order).
    Kernel: include/linux/mm_inline.h:lruvec_add_folio(), mm/vmscan.c:isolate_lru_folios()."""
    k = Kernel(variant="baseline", swap=True, arch="x86_64", large_folios=False, seed=0)
    app = k.spawn("app", uid=10001)
    vma = app.mmap(nr_pages=8)
    app.touch(vma, write=True)
    lru_add_drain_all(k)  # the faults left the folios in the per-CPU lru_add batch
    lst = k.lruvec.lists[int(LruList.LRU_ACTIVE_ANON)] or k.lruvec.lists[
        int(LruList.LRU_INACTIVE_ANON)]
    pfns = [f.pfn for f in reversed(lst)]  # from the tail
    assert len(pfns) == 8 and pfns == sorted(pfns)  # faulted in address order
    assert check_invariants(k) == []


def test_the_checker_reports_a_broken_link() -> None:
    """CONFIG_DEBUG_LIST in spirit (__list_del_entry_valid()): an entry whose neighbour does
    not link back to it is a corrupted list, reported before any walk of the lists.
    Kernel: lib/list_debug.c."""
    k = Kernel(variant="baseline", swap=True, arch="x86_64", large_folios=False, seed=0)
    app = k.spawn("app", uid=10001)
    vma = app.mmap(nr_pages=4)
    app.touch(vma, write=True)
    lru_add_drain_all(k)  # the faults left the folios in the per-CPU lru_add batch
    assert check_invariants(k) == []
    lst = next(lst for lst in k.lruvec.lists if len(lst) >= 3)
    first = lst.first()
    first._lru_next._lru_prev = lst  # type: ignore[union-attr]
    assert any("LRU list corrupted" in m for m in check_invariants(k))


def test_folio_order_of_a_small_folio_is_zero_without_a_stored_order() -> None:
    """folio_order() is 0 for a folio that is not large and folio_large_order() otherwise;
    folio_alloc() makes an order-0 Folio (no stored order) or a LargeFolio.
    Kernel: include/linux/mm.h:folio_order(), include/linux/page-flags.h:folio_test_large()."""
    k = Kernel(seed=0)
    small = folio_alloc(k, 0)
    large = folio_alloc(k, 4)
    assert small is not None and large is not None
    assert type(small) is k.folio_types[Folio] and small.order == 0
    assert not folio_test_large(small) and not isinstance(small, LargeFolio)
    assert isinstance(large, LargeFolio) and large.order == 4 and folio_test_large(large)
    assert "order" not in Folio.__slots__ and "order" not in type(small).__slots__
    assert repr(large).startswith(f"Folio(pfn={large.pfn}, order=4,")
    with pytest.raises(ValueError, match="LargeFolio"):
        Folio(k, 1, order=2)
    with pytest.raises(ValueError, match="order >= 1"):
        LargeFolio(k, 1, 0)


def test_a_folio_stores_no_kernel_pointer_and_a_small_one_no_tail_slot() -> None:
    """struct page has no pointer to its machine, and a small folio has no tail pages: the
    model keeps ``Folio.kernel`` on each Kernel's own folio classes and a small folio's rare
    fields (FolioTail, with ``private``) in ``Kernel.small_folio_tails``, dropped at free.
    Kernel: include/linux/mm_types.h (struct folio), mm/page_alloc.c:free_unref_folios()."""
    k1, k2 = Kernel(seed=0), Kernel(seed=0)
    a, b = folio_alloc(k1, 0), folio_alloc(k2, 0)
    assert a is not None and b is not None
    assert a.kernel is k1 and b.kernel is k2 and type(a) is not type(b)
    assert "kernel" not in Folio.__slots__ and "_tail" not in Folio.__slots__
    assert Folio(k1, 7).kernel is k1  # Folio(kernel, pfn) picks the kernel's own class
    with pytest.raises(TypeError, match="Kernel"):
        Folio(object(), 7)  # type: ignore[arg-type]
    a.private = "buffer_heads"
    assert k1.small_folio_tails[a].private == "buffer_heads" and not k2.small_folio_tails
    a.flags = 0
    a._refcount = 0
    free_unref_folios([a])
    assert a not in k1.small_folio_tails and a.private is None


def test_invariants_catch_a_freed_folio_left_in_small_folio_tails() -> None:
    """The checker's rule: a freed folio's rare fields leave ``small_folio_tails`` with it
    (mm/page_alloc.c:free_unref_folios() resets what the next user must not see)."""
    k = Kernel(seed=0)
    f = folio_alloc(k, 0)
    assert f is not None
    f.private = "buffer_heads"
    f._refcount = 0
    free_unref_folios([f])
    assert not [e for e in check_invariants(k) if "small_folio_tails" in e]
    f._folio_tail()  # a stale entry, as a free path that forgot to drop it would leave
    assert any("small_folio_tails" in e and "freed" in e for e in check_invariants(k))

"""LRU list placement of a folio.

Kernel: include/linux/mm_inline.h

With ``Kernel(lru_gen=True)`` (CONFIG_LRU_GEN, enabled), ``lruvec_add_folio()`` and
``lruvec_del_folio()`` first offer the folio to ``lru_gen_add_folio()`` and
``lru_gen_del_folio()``, as v6.18 does: an evictable folio then goes onto a generation list
of ``lruvec.lrugen`` (the generation number plus one is kept in the folio's flags,
LRU_GEN_MASK), and PG_active is cleared while it is there. Which generation a folio joins
is ``lru_gen_folio_seq()``'s table: PG_active (set by a fault with recency, a refault of
recent working set, or an activation) puts it in one of the two youngest generations,
otherwise a file folio joins the oldest. The classic lists' vmstat counters
(NR_ACTIVE_FILE ...) stay meaningful: the two youngest generations count as "active"
(``lru_gen_is_active()``).

Limitations:
- One zone, so ``lrugen.folios[gen][type]`` has no zone index.
- ``folio_migrate_refs()`` and the memcg parts are not modelled.
- Unevictable folios sit on ``lruvec.lists[LRU_UNEVICTABLE]``; v6.18's
  ``lruvec_add_folio()`` only counts them (their ``folio->lru`` holds ``mlock_count``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrelease_ref.include.linux.fs import FMODE_NOREUSE
from mrelease_ref.include.linux.mm_types import VM_RAND_READ, VM_SEQ_READ
from mrelease_ref.include.linux.mmzone import (
    LRU_GEN_MASK,
    LRU_GEN_PGOFF,
    LRU_REFS_MASK,
    LRU_REFS_PGOFF,
    MAX_NR_GENS,
    MAX_NR_TIERS,
    MIN_NR_GENS,
    NR_LRU_BASE,
    LruList,
    Lruvec,
    list_del,
)
from mrelease_ref.include.linux.page_flags import (
    PG_active,
    PG_dirty,
    PG_lru,
    PG_reclaim,
    PG_referenced,
    PG_swapbacked,
    PG_swapcache,
    PG_unevictable,
    PG_workingset,
    PG_writeback,
)

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio, MmStruct, VmAreaStruct
    from mrelease_ref.sim.kernel import Kernel

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
    if lruvec.lrugen is not None and lru_gen_add_folio(lruvec, folio, False):
        return
    lru = folio_lru_list(folio)
    lruvec.lists[lru].add(folio)  # list_add(&folio->lru, &lruvec->lists[lru])
    folio.kernel.vmstat[NR_LRU_BASE + lru] += 1 << folio.order


def lruvec_del_folio(lruvec: Lruvec, folio: Folio) -> None:
    """Kernel: include/linux/mm_inline.h:lruvec_del_folio()"""
    if lruvec.lrugen is not None and lru_gen_del_folio(lruvec, folio, False):
        return
    flags = folio.flags  # folio_lru_list(folio), inlined: this runs for every freed folio
    if flags & PG_unevictable:
        lru = _UNEVICTABLE
    else:
        lru = (_INACTIVE_ANON if flags & PG_swapbacked else _INACTIVE_FILE) + (
            1 if flags & PG_active else 0
        )
    list_del(folio)  # list_del(&folio->lru)
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


# ---------------------------------------------------------------------------------------
# The multi-gen LRU (CONFIG_LRU_GEN)
# ---------------------------------------------------------------------------------------

_LRU_ACTIVE = 1  # LRU_ACTIVE: enum lru_list's offset of an active list


def lru_gen_enabled(kernel: Kernel) -> bool:
    """Kernel: include/linux/mm_inline.h:lru_gen_enabled() (the LRU_GEN_CORE capability:
    ``Kernel(lru_gen=True)``)"""
    return kernel.config.lru_gen


def lru_gen_in_fault(kernel: Kernel) -> bool:
    """Kernel: include/linux/mm_inline.h:lru_gen_in_fault(): ``current->in_lru_fault``"""
    cur = kernel.current
    return cur is not None and cur.in_lru_fault


def lru_gen_from_seq(seq: int) -> int:
    """Kernel: include/linux/mm_inline.h:lru_gen_from_seq()"""
    return seq % MAX_NR_GENS


def lru_hist_from_seq(seq: int) -> int:
    """Kernel: include/linux/mm_inline.h:lru_hist_from_seq() (NR_HIST_GENS is 1)"""
    return 0


def order_base_2(n: int) -> int:
    """Kernel: include/linux/log2.h:order_base_2(): ceil(log2(n)), 0 for n <= 1."""
    return (n - 1).bit_length() if n > 1 else 0


def lru_tier_from_refs(refs: int, workingset: bool) -> int:
    """Kernel: include/linux/mm_inline.h:lru_tier_from_refs(): tier order_base_2(refs);
    PG_workingset is the last tier."""
    return MAX_NR_TIERS - 1 if workingset else order_base_2(refs)


def folio_lru_refs(folio: Folio) -> int:
    """Kernel: include/linux/mm_inline.h:folio_lru_refs()

    Accesses through file descriptors counted so far: 0 without PG_referenced, else the
    LRU_REFS counter plus one (PG_referenced is the first access).
    """
    flags = folio.flags
    if not flags & PG_referenced:
        return 0
    return ((flags & LRU_REFS_MASK) >> LRU_REFS_PGOFF) + 1


def folio_lru_gen(folio: Folio) -> int:
    """Kernel: include/linux/mm_inline.h:folio_lru_gen(): the generation, -1 if none."""
    return ((folio.flags & LRU_GEN_MASK) >> LRU_GEN_PGOFF) - 1


def lru_gen_is_active(lruvec: Lruvec, gen: int) -> bool:
    """Kernel: include/linux/mm_inline.h:lru_gen_is_active(): the two youngest
    generations (MIN_NR_GENS) count as active for /proc/vmstat and meminfo."""
    assert lruvec.lrugen is not None
    max_seq = lruvec.lrugen.max_seq
    return gen in (lru_gen_from_seq(max_seq), lru_gen_from_seq(max_seq - 1))


def __update_lru_size(folio: Folio, lru: int, delta: int) -> None:
    """Kernel: include/linux/mm_inline.h:__update_lru_size() (node counter only)"""
    folio.kernel.vmstat[NR_LRU_BASE + lru] += delta


def lru_gen_update_size(lruvec: Lruvec, folio: Folio, old_gen: int, new_gen: int) -> None:
    """Kernel: include/linux/mm_inline.h:lru_gen_update_size()

    Move the folio's pages between the generation sizes, and keep the classic
    active/inactive counters in step: addition, deletion, or promotion from an inactive
    to an active generation. (Demotion needs isolation: never here.)
    """
    lrugen = lruvec.lrugen
    assert lrugen is not None
    type_ = int(folio_is_file_lru(folio))
    delta = 1 << folio.order
    lru = type_ * int(LruList.LRU_INACTIVE_FILE)
    if old_gen >= 0:
        lrugen.nr_pages[old_gen][type_] -= delta
    if new_gen >= 0:
        lrugen.nr_pages[new_gen][type_] += delta
    if old_gen < 0:  # addition
        __update_lru_size(folio, lru + (_LRU_ACTIVE if lru_gen_is_active(lruvec, new_gen)
                                        else 0), delta)
        return
    if new_gen < 0:  # deletion
        __update_lru_size(folio, lru + (_LRU_ACTIVE if lru_gen_is_active(lruvec, old_gen)
                                        else 0), -delta)
        return
    if not lru_gen_is_active(lruvec, old_gen) and lru_gen_is_active(lruvec, new_gen):
        __update_lru_size(folio, lru, -delta)  # promotion
        __update_lru_size(folio, lru + _LRU_ACTIVE, delta)


def lru_gen_folio_seq(lruvec: Lruvec, folio: Folio, reclaiming: bool) -> int:
    """Kernel: include/linux/mm_inline.h:lru_gen_folio_seq()

    The generation a folio joins: PG_active (a fault with recency, a recent refault, an
    activation) -> one of the two youngest (the youngest if also PG_workingset);
    ``reclaiming`` (rotated to the tail) -> the oldest; an anonymous folio not in the swap
    cache, or a dirty/writeback folio being reclaimed -> the second youngest; any other
    (file) folio -> the oldest, or the second oldest with PG_workingset. Never older than
    ``min_seq`` of its type.
    """
    lrugen = lruvec.lrugen
    assert lrugen is not None
    flags = folio.flags
    type_ = int(folio_is_file_lru(folio))
    if flags & PG_active:
        gen = MIN_NR_GENS - bool(flags & PG_workingset)
    elif reclaiming:
        gen = MAX_NR_GENS
    elif (type_ == 0 and not flags & PG_swapcache) or (
        flags & PG_reclaim and flags & (PG_dirty | PG_writeback)
    ):
        gen = MIN_NR_GENS
    else:
        gen = MAX_NR_GENS - bool(flags & PG_workingset)
    return max(lrugen.max_seq - gen + 1, lrugen.min_seq[type_])


def lru_gen_add_folio(lruvec: Lruvec, folio: Folio, reclaiming: bool) -> bool:
    """Kernel: include/linux/mm_inline.h:lru_gen_add_folio()

    Put an evictable folio on the generation ``lru_gen_folio_seq()`` picks (at the list
    head; at the tail when ``reclaiming``), storing gen + 1 in its flags and clearing
    PG_active. Returns False for an unevictable folio (it takes the classic list).
    """
    lrugen = lruvec.lrugen
    if lrugen is None or not lrugen.enabled or folio.flags & PG_unevictable:
        return False
    if folio_lru_gen(folio) != -1:
        raise AssertionError(f"lru_gen_add_folio: {folio!r} already has a generation")
    seq = lru_gen_folio_seq(lruvec, folio, reclaiming)
    gen = lru_gen_from_seq(seq)
    folio.flags = (folio.flags & ~(LRU_GEN_MASK | PG_active)) | ((gen + 1) << LRU_GEN_PGOFF)
    lru_gen_update_size(lruvec, folio, -1, gen)
    lst = lrugen.folios[gen][int(folio_is_file_lru(folio))]
    if reclaiming:
        lst.add_tail(folio)
    else:
        lst.add(folio)
    return True


def lru_gen_del_folio(lruvec: Lruvec, folio: Folio, reclaiming: bool) -> bool:
    """Kernel: include/linux/mm_inline.h:lru_gen_del_folio()

    Take a folio off its generation list and clear its generation. A folio leaving one of
    the two youngest generations for any purpose but reclaim gets PG_active back (so an
    activation or a putback keeps it young). Returns False if it had no generation.
    """
    gen = folio_lru_gen(folio)
    if gen < 0:
        return False
    lrugen = lruvec.lrugen
    assert lrugen is not None
    active = not reclaiming and lru_gen_is_active(lruvec, gen)
    folio.flags = (folio.flags & ~LRU_GEN_MASK) | (PG_active if active else 0)
    lru_gen_update_size(lruvec, folio, gen, -1)
    list_del(folio)  # list_del(&folio->lru): off the list it sits on, whatever its flags say
    return True


def lru_gen_use_mm(mm: MmStruct) -> None:
    """Kernel: include/linux/mm_types.h:lru_gen_use_mm()

    Mark the mm as used since the last page-table walk, so the next aging walks it. The
    kernel calls it when a task with this mm is switched in; the model calls it when the
    mm takes a page fault or touches a page (``handle_mm_fault()``), the only way its
    page tables gain young bits here.
    """
    state = mm.kernel.lruvec.mm_state
    if state is not None:
        state.used.add(mm.mm_id)


def folio_test_active_lru(folio: Folio) -> bool:
    """Model helper: is the folio on an *active* LRU list? Classic LRU: PG_active; multi-gen
    LRU: in one of the two youngest generations (PG_active is clear there)."""
    lruvec = folio.kernel.lruvec
    gen = folio_lru_gen(folio)
    if lruvec.lrugen is not None and gen >= 0:
        return lru_gen_is_active(lruvec, gen)
    return bool(folio.flags & PG_active)

"""Zone, per-CPU page lists, LRU lists, folio batches and vmstat counters.

Kernel: include/linux/mmzone.h (struct zone, struct per_cpu_pages, struct lruvec,
enum lru_list, enum node_stat_item, enum zone_stat_item), include/linux/pagevec.h
(struct folio_batch), mm/swap.c (struct cpu_fbatches), include/linux/list.h (struct
list_head, list_add(), list_add_tail(), list_del()).

LRU lists are intrusive, as the kernel's ``folio->lru``: a :class:`ListHead` is the list's
sentinel and each folio carries its two links (``Folio._lru_prev``/``_lru_next``), so a folio
on a list costs 16 bytes and no table entry. ``lruvec_add_folio()`` adds at the head; reclaim
scans from the tail.

Limitations:
- One zone, one node, one lruvec (no memcg). These machines run the classic
  active/inactive LRU (CONFIG_LRU_GEN is not set, docs/sources.md §M1.1);
  ``Kernel(lru_gen=True)`` adds the multi-gen LRU's ``struct lru_gen_folio``
  (:class:`LruGenFolio`) with one zone per generation and type, NR_HIST_GENS 1
  (CONFIG_LRU_GEN_STATS off), and a ``lru_gen_mm_state`` (:class:`LruGenMmState`) whose
  Bloom filters are exact sets and whose mm list is the Kernel's list of mms.
- A :class:`ListHead`, like ``struct list_head``, keeps no count: ``len()`` and ``in`` walk
  the list (tests and checks only; the page counts are vmstat's and ``lrugen.nr_pages``).
  Unevictable folios are linked on ``lists[LRU_UNEVICTABLE]``, which v6.18 only counts.
- Per-CPU page lists hold a page count, not page lists; ``high`` is fixed, the kernel adapts
  it between high_min and high_max.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from mrelease_ref.include.linux.page_flags import PG_referenced

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio

# PAGEVEC_SIZE (renamed FOLIO_BATCH_SIZE in 2026): include/linux/pagevec.h
PAGEVEC_SIZE: Final = 31
# PAGE_ALLOC_COSTLY_ORDER: include/linux/mmzone.h
PAGE_ALLOC_COSTLY_ORDER: Final = 3


class LruList(enum.IntEnum):
    """Kernel: include/linux/mmzone.h (enum lru_list)"""

    LRU_INACTIVE_ANON = 0
    LRU_ACTIVE_ANON = 1
    LRU_INACTIVE_FILE = 2
    LRU_ACTIVE_FILE = 3
    LRU_UNEVICTABLE = 4


NR_LRU_LISTS: Final = 5


class NodeStat(enum.IntEnum):
    """The vmstat items the model keeps. Kernel: include/linux/mmzone.h (node/zone stats)."""

    NR_FREE_PAGES = 0
    NR_LRU_BASE = 1  # NR_LRU_BASE + lru for each of the five lists
    NR_ANON_MAPPED = 6
    NR_FILE_MAPPED = 7
    NR_FILE_PAGES = 8
    NR_FILE_DIRTY = 9
    NR_WRITEBACK = 10
    NR_SHMEM = 11
    NR_ANON_THPS = 12
    NR_SWAPCACHE = 13
    NR_MLOCK = 14
    NR_PAGETABLE = 15
    NR_FREE_PCP = 16  # model-only: sum of per-CPU list counts (the kernel sums pcp->count)
    WORKINGSET_NODERECLAIM = 17
    NR_SHMEM_PMDMAPPED = 18
    NR_FILE_PMDMAPPED = 19
    NR_STAT_ITEMS = 20


NR_FREE_PAGES: Final = int(NodeStat.NR_FREE_PAGES)
NR_LRU_BASE: Final = int(NodeStat.NR_LRU_BASE)
NR_ANON_MAPPED: Final = int(NodeStat.NR_ANON_MAPPED)
NR_FILE_MAPPED: Final = int(NodeStat.NR_FILE_MAPPED)
NR_FILE_PAGES: Final = int(NodeStat.NR_FILE_PAGES)
NR_FILE_DIRTY: Final = int(NodeStat.NR_FILE_DIRTY)
NR_WRITEBACK: Final = int(NodeStat.NR_WRITEBACK)
NR_SHMEM: Final = int(NodeStat.NR_SHMEM)
NR_ANON_THPS: Final = int(NodeStat.NR_ANON_THPS)
NR_SWAPCACHE: Final = int(NodeStat.NR_SWAPCACHE)
NR_MLOCK: Final = int(NodeStat.NR_MLOCK)
NR_PAGETABLE: Final = int(NodeStat.NR_PAGETABLE)
NR_FREE_PCP: Final = int(NodeStat.NR_FREE_PCP)
NR_SHMEM_PMDMAPPED: Final = int(NodeStat.NR_SHMEM_PMDMAPPED)
NR_FILE_PMDMAPPED: Final = int(NodeStat.NR_FILE_PMDMAPPED)


@dataclass(slots=True, eq=False)
class FolioBatch:
    """Kernel: include/linux/pagevec.h (struct folio_batch)"""

    folios: list[Folio] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.folios)


def folio_batch_add(fbatch: FolioBatch, folio: Folio) -> int:
    """Kernel: include/linux/pagevec.h:folio_batch_add()

    Returns the number of slots left; 0 means the batch is now full.
    """
    fbatch.folios.append(folio)
    return PAGEVEC_SIZE - len(fbatch.folios)


@dataclass(slots=True, eq=False)
class CpuFbatches:
    """Kernel: mm/swap.c (struct cpu_fbatches), plus mm/mlock.c's mlock_fbatch.

    Every folio in one of these batches holds one reference, taken by
    ``__folio_batch_add_and_move()`` (or ``mlock_folio()``), until the batch is drained.
    The folio keeps PG_lru meanwhile; the drain clears and sets it around the move.
    """

    lru_add: FolioBatch = field(default_factory=FolioBatch)
    lru_activate: FolioBatch = field(default_factory=FolioBatch)
    mlock: FolioBatch = field(default_factory=FolioBatch)
    mlock_ops: list[str] = field(default_factory=list)

    def all_batches(self) -> list[FolioBatch]:
        """Model helper: every batch of this CPU, for draining and invariants."""
        return [self.lru_add, self.lru_activate, self.mlock]


# ---------------------------------------------------------------------------------------
# The multi-gen LRU (CONFIG_LRU_GEN): include/linux/mmzone.h, kernel/bounds.c
# ---------------------------------------------------------------------------------------

MIN_NR_GENS: Final = 2
MAX_NR_GENS: Final = 4
MAX_NR_TIERS: Final = 4
NR_HIST_GENS: Final = 1  # CONFIG_LRU_GEN_STATS off
LRU_GEN_ANON: Final = 0
LRU_GEN_FILE: Final = 1
ANON_AND_FILE: Final = 2
MIN_LRU_BATCH: Final = 64  # BITS_PER_LONG
MAX_LRU_BATCH: Final = MIN_LRU_BATCH * 64
# kernel/bounds.c: LRU_GEN_WIDTH = order_base_2(MAX_NR_GENS + 1), __LRU_REFS_WIDTH =
# MAX_NR_TIERS - 2. Where the fields sit in folio->flags is the model's choice (above the
# page-flag bits of include/linux/page_flags.py), as page-flags-layout.h chooses for the
# kernel.
LRU_GEN_WIDTH: Final = 3
LRU_REFS_WIDTH: Final = 2
LRU_GEN_PGOFF: Final = 24
LRU_REFS_PGOFF: Final = LRU_GEN_PGOFF + LRU_GEN_WIDTH
LRU_GEN_MASK: Final = ((1 << LRU_GEN_WIDTH) - 1) << LRU_GEN_PGOFF
LRU_REFS_MASK: Final = ((1 << LRU_REFS_WIDTH) - 1) << LRU_REFS_PGOFF
LRU_REFS_FLAGS: Final = LRU_REFS_MASK | PG_referenced


class ListHead:
    """Kernel: include/linux/list.h (a ``struct list_head`` of folios threaded through
    ``folio->lru``): every LRU list, classic and multi-gen.

    An intrusive circular doubly linked list: the folios' own ``_lru_prev``/``_lru_next``
    slots are the links and this object is the sentinel (the list head), so a folio on a
    list costs two pointers and no table entry. ``add()`` is ``list_add()`` (at the head:
    the newest end), ``add_tail()`` is ``list_add_tail()``; ``last()`` is
    ``lru_to_folio(head)`` (the tail, where reclaim and eviction start). Iteration runs from
    the head to the tail (``list_for_each_entry()``), ``reversed()`` from the tail to the
    head (``list_for_each_entry_reverse()``). A folio leaves its list by :func:`list_del`,
    which, as in the kernel, does not need to know the list.

    Like the kernel's list_head it keeps no count: ``len()`` and ``in`` walk the list (the
    generation a folio's flags name may be ahead of the list it sits on, see
    ``folio_update_gen()``, so a count could not be kept on ``list_del()``); the page counts
    live in vmstat and ``lrugen.nr_pages``.
    """

    __slots__ = ("_lru_next", "_lru_prev")

    def __init__(self) -> None:
        self._lru_next: Folio | ListHead = self
        self._lru_prev: Folio | ListHead = self

    @staticmethod
    def _link(folio: Folio, prev: Folio | ListHead, nxt: Folio | ListHead) -> None:
        """``__list_add()``: link the folio between two neighbours."""
        if folio._lru_next is not None:
            raise ValueError(f"{folio!r} is already on an LRU list")
        folio._lru_prev = prev
        folio._lru_next = nxt
        prev._lru_next = folio
        nxt._lru_prev = folio

    def add(self, folio: Folio) -> None:
        """``list_add()``: insert at the head."""
        self._link(folio, self, self._lru_next)

    def add_tail(self, folio: Folio) -> None:
        """``list_add_tail()``: insert at the tail."""
        self._link(folio, self._lru_prev, self)

    def move(self, folio: Folio) -> None:
        """``list_move()``: off whatever list the folio is on, onto this one's head."""
        list_del(folio)
        self.add(folio)

    def move_tail(self, folio: Folio) -> None:
        """``list_move_tail()``: off whatever list the folio is on, onto this one's tail."""
        list_del(folio)
        self.add_tail(folio)

    def remove(self, folio: Folio) -> None:
        """``list_del()`` of a folio the caller knows to be on this list."""
        if folio not in self:
            raise ValueError(f"{folio!r} is not on this list")
        list_del(folio)

    def first(self) -> Folio:
        """``list_first_entry()``: the head entry. Raises IndexError on an empty list."""
        head = self._lru_next
        if head is self:
            raise IndexError("empty list")
        return head  # type: ignore[return-value]

    def last(self) -> Folio:
        """``lru_to_folio(head)``: the tail entry. Raises IndexError on an empty list."""
        tail = self._lru_prev
        if tail is self:
            raise IndexError("empty list")
        return tail  # type: ignore[return-value]

    def __contains__(self, folio: object) -> bool:
        # Walk from the folio to the sentinel it belongs to (the list it sits on).
        node = getattr(folio, "_lru_next", None)
        if node is None or isinstance(folio, ListHead):
            return False
        while node is not None and not isinstance(node, ListHead):
            node = node._lru_next
        return node is self

    def __len__(self) -> int:
        n = 0
        node: Folio | ListHead | None = self._lru_next
        while node is not self and node is not None:
            n += 1
            node = node._lru_next
        return n

    def __repr__(self) -> str:
        return f"ListHead({len(self)} folios)"

    def __bool__(self) -> bool:
        return self._lru_next is not self

    def _walk(self, link: str) -> Iterator[Folio]:
        node: Folio | ListHead | None = getattr(self, link)
        while node is not self and node is not None:
            step = getattr(node, link)  # the caller may take the folio off the list
            yield node  # type: ignore[misc]
            node = step

    def __iter__(self) -> Iterator[Folio]:
        return self._walk("_lru_next")

    def __reversed__(self) -> Iterator[Folio]:
        return self._walk("_lru_prev")

    def check(self) -> list[str]:
        """Model helper (CONFIG_DEBUG_LIST in spirit, ``__list_del_entry_valid()``): every
        link's neighbour links back, and the walk ends at this head."""
        errors: list[str] = []
        node: Folio | ListHead = self
        while True:  # ends: each node's prev link is checked, so no cycle avoids the head
            nxt = node._lru_next
            if nxt is None or nxt._lru_prev is not node:
                errors.append(f"LRU list corrupted after {node!r}")
                break
            if nxt is self:
                break
            node = nxt
        return errors


def list_del(folio: Folio) -> None:
    """Kernel: include/linux/list.h:list_del() of ``folio->lru``: unlink the folio from
    whatever list it is on and poison its links (here: None, "on no list")."""
    prev = folio._lru_prev
    nxt = folio._lru_next
    if prev is None or nxt is None:
        raise ValueError(f"{folio!r} is on no LRU list")
    prev._lru_next = nxt
    nxt._lru_prev = prev
    folio._lru_prev = folio._lru_next = None


@dataclass(slots=True, eq=False)
class LruGenFolio:
    """Kernel: include/linux/mmzone.h (struct lru_gen_folio), for one zone.

    ``folios[gen][type]`` are the per-generation lists, ``nr_pages[gen][type]`` their
    sizes; ``max_seq`` is the youngest generation's sequence number, ``min_seq[type]`` the
    oldest's per type. The PID controller's counters are indexed ``[type][tier]`` (and
    ``[hist]`` first for the current-generation ones, NR_HIST_GENS of them).
    """

    max_seq: int = MIN_NR_GENS + 1  # lru_gen_init_lruvec()
    min_seq: list[int] = field(default_factory=lambda: [0, 0])
    timestamps: list[int] = field(default_factory=lambda: [0] * MAX_NR_GENS)
    folios: list[list[ListHead]] = field(
        default_factory=lambda: [[ListHead() for _ in range(ANON_AND_FILE)]
                                 for _ in range(MAX_NR_GENS)])
    nr_pages: list[list[int]] = field(
        default_factory=lambda: [[0] * ANON_AND_FILE for _ in range(MAX_NR_GENS)])
    avg_refaulted: list[list[int]] = field(
        default_factory=lambda: [[0] * MAX_NR_TIERS for _ in range(ANON_AND_FILE)])
    avg_total: list[list[int]] = field(
        default_factory=lambda: [[0] * MAX_NR_TIERS for _ in range(ANON_AND_FILE)])
    protected: list[list[list[int]]] = field(
        default_factory=lambda: [[[0] * MAX_NR_TIERS for _ in range(ANON_AND_FILE)]
                                 for _ in range(NR_HIST_GENS)])
    evicted: list[list[list[int]]] = field(
        default_factory=lambda: [[[0] * MAX_NR_TIERS for _ in range(ANON_AND_FILE)]
                                 for _ in range(NR_HIST_GENS)])
    refaulted: list[list[list[int]]] = field(
        default_factory=lambda: [[[0] * MAX_NR_TIERS for _ in range(ANON_AND_FILE)]
                                 for _ in range(NR_HIST_GENS)])
    enabled: bool = True


@dataclass(slots=True, eq=False)
class LruGenMmState:
    """Kernel: include/linux/mmzone.h (struct lru_gen_mm_state), plus what the kernel keeps
    per mm in ``mm->lru_gen`` (one node).

    ``seq`` is synced with ``max_seq`` after each walk of the mm list; ``filters[seq]`` is
    the set of PTE tables (by (mm_id, PMD index)) the walk for ``seq`` visits: the model's
    Bloom filters are exact sets (no false positives), two of them as in the kernel
    (NR_BLOOM_FILTERS), and no filter means "walk every table". ``used`` stands in for
    the bitmap in the mm_struct's lru_gen member (lru_gen_use_mm() sets it when the mm is
    switched to; a walk that takes the mm clears it);
    ``walked`` marks mms a walk has taken before (a new mm is force-scanned once).
    """

    seq: int = MIN_NR_GENS
    filters: dict[int, set[tuple[int, int]]] = field(default_factory=dict)
    used: set[int] = field(default_factory=set)
    walked: set[int] = field(default_factory=set)


@dataclass(slots=True, eq=False)
class Lruvec:
    """Kernel: include/linux/mmzone.h (struct lruvec)

    ``lrugen`` exists only on a ``Kernel(lru_gen=True)`` (CONFIG_LRU_GEN with the multi-gen
    LRU enabled); then evictable folios sit on its generation lists and ``lists`` holds only
    the unevictable ones.
    """

    lists: list[ListHead] = field(
        default_factory=lambda: [ListHead() for _ in range(NR_LRU_LISTS)]
    )
    nonresident_age: int = 0
    lrugen: LruGenFolio | None = None
    mm_state: LruGenMmState | None = None


@dataclass(slots=True, eq=False)
class PerCpuPages:
    """Kernel: include/linux/mmzone.h (struct per_cpu_pages): pages freed on this CPU.

    Pages here are free but not counted in NR_FREE_PAGES, which is why MemFree undercounts
    freshly freed memory (docs/sources.md §M0.9).
    """

    count: int = 0
    high: int = 0
    batch: int = 0
    free_count: int = 0


@dataclass(slots=True, eq=False)
class Zone:
    """Kernel: include/linux/mmzone.h (struct zone): one zone holds all memory here."""

    managed_pages: int
    per_cpu_pageset: list[PerCpuPages]

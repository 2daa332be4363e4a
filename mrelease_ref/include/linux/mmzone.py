"""Zone, per-CPU page lists, LRU lists, folio batches and vmstat counters.

Kernel: include/linux/mmzone.h (struct zone, struct per_cpu_pages, struct lruvec,
enum lru_list, enum node_stat_item, enum zone_stat_item), include/linux/pagevec.h
(struct folio_batch), mm/swap.c (struct cpu_fbatches).

LRU lists are insertion-ordered dicts used as sets: the *last* key is the list head (most
recently added, ``lruvec_add_folio()`` adds at the head) and the *first* key is the tail that
reclaim scans. Dicts give O(1) add/remove and a deterministic order.

Limitations:
- One zone, one node, one lruvec (no memcg). No MGLRU: these machines run the classic
  active/inactive LRU (CONFIG_LRU_GEN is not set, docs/sources.md §M1.1).
- Per-CPU page lists hold a page count, not page lists; ``high`` is fixed, the kernel adapts
  it between high_min and high_max.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

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


@dataclass(slots=True, eq=False)
class Lruvec:
    """Kernel: include/linux/mmzone.h (struct lruvec)"""

    lists: list[dict[Folio, None]] = field(
        default_factory=lambda: [{} for _ in range(NR_LRU_LISTS)]
    )
    nonresident_age: int = 0


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

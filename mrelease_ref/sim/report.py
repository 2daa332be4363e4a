"""What ``/proc`` would show: meminfo, zoneinfo free counts, per-process status.

Not kernel code: formatting of model state in the units and names of fs/proc/meminfo.c
and fs/proc/task_mmu.c (``task_mem()``).

Limitations:
- Only the fields the model keeps; no MemAvailable, Slab, Buffers, Committed_AS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrelease_ref.include.linux.mm_types import (
    MM_ANONPAGES,
    MM_FILEPAGES,
    MM_SHMEMPAGES,
    MM_SWAPENTS,
    MmStruct,
)
from mrelease_ref.include.linux.mmzone import (
    NR_ANON_MAPPED,
    NR_ANON_THPS,
    NR_FILE_DIRTY,
    NR_FILE_MAPPED,
    NR_FILE_PAGES,
    NR_FILE_PMDMAPPED,
    NR_FREE_PAGES,
    NR_FREE_PCP,
    NR_LRU_BASE,
    NR_MLOCK,
    NR_PAGETABLE,
    NR_SHMEM,
    NR_SHMEM_PMDMAPPED,
    NR_SWAPCACHE,
    NR_WRITEBACK,
    LruList,
)

if TYPE_CHECKING:
    from mrelease_ref.sim.kernel import Kernel

KB_PER_PAGE = 4
"""kB per 4 KiB page (the default); a kernel's own is ``k.pg.kb_per_page``."""


def meminfo(k: Kernel) -> dict[str, int]:
    """``/proc/meminfo`` fields in kB. MemFree counts the buddy pool only."""
    v = k.vmstat

    def lru(x: LruList) -> int:
        return v[NR_LRU_BASE + int(x)]

    swap_total = swap_free = 0
    if k.swap_info is not None:
        swap_total = k.swap_info.max - 1
        swap_free = swap_total - k.swap_info.inuse_pages
    pages = {
        "MemTotal": k.zone.managed_pages,
        "MemFree": v[NR_FREE_PAGES],
        "Cached": v[NR_FILE_PAGES] - v[NR_SWAPCACHE],
        "SwapCached": v[NR_SWAPCACHE],
        "Active": lru(LruList.LRU_ACTIVE_ANON) + lru(LruList.LRU_ACTIVE_FILE),
        "Inactive": lru(LruList.LRU_INACTIVE_ANON) + lru(LruList.LRU_INACTIVE_FILE),
        "Active(anon)": lru(LruList.LRU_ACTIVE_ANON),
        "Inactive(anon)": lru(LruList.LRU_INACTIVE_ANON),
        "Active(file)": lru(LruList.LRU_ACTIVE_FILE),
        "Inactive(file)": lru(LruList.LRU_INACTIVE_FILE),
        "Unevictable": lru(LruList.LRU_UNEVICTABLE),
        "Mlocked": v[NR_MLOCK],
        "SwapTotal": swap_total,
        "SwapFree": swap_free,
        "Dirty": v[NR_FILE_DIRTY],
        "Writeback": v[NR_WRITEBACK],
        "AnonPages": v[NR_ANON_MAPPED],
        "Mapped": v[NR_FILE_MAPPED],
        "Shmem": v[NR_SHMEM],
        "PageTables": v[NR_PAGETABLE],
        "AnonHugePages": v[NR_ANON_THPS],
        "ShmemPmdMapped": v[NR_SHMEM_PMDMAPPED],
        "FilePmdMapped": v[NR_FILE_PMDMAPPED],
    }
    kb = k.pg.kb_per_page  # K(x): x << (PAGE_SHIFT - 10)
    return {key: n * kb for key, n in pages.items()}


def zoneinfo(k: Kernel) -> dict[str, int]:
    """Free pages: buddy (``nr_free_pages``), per-CPU lists, and their sum (pages)."""
    pcp = [p.count for p in k.zone.per_cpu_pageset]
    out = {"nr_free_pages": k.vmstat[NR_FREE_PAGES], "pcp_count": sum(pcp)}
    out["free_with_pcp"] = out["nr_free_pages"] + out["pcp_count"]
    assert out["pcp_count"] == k.vmstat[NR_FREE_PCP]
    return out


def task_mem(mm: MmStruct | None) -> dict[str, int]:
    """Kernel: fs/proc/task_mmu.c:task_mem(): the Rss* lines of /proc/<pid>/status, in kB."""
    if mm is None:
        return {"VmRSS": 0, "RssAnon": 0, "RssFile": 0, "RssShmem": 0, "VmSwap": 0}
    s = mm.rss_stat
    kb = mm.kernel.pg.kb_per_page  # the << (PAGE_SHIFT - 10) of task_mem()
    anon, file, shmem = s[MM_ANONPAGES], s[MM_FILEPAGES], s[MM_SHMEMPAGES]
    return {
        "VmRSS": (anon + file + shmem) * kb,
        "RssAnon": anon * kb,
        "RssFile": file * kb,
        "RssShmem": shmem * kb,
        "VmSwap": s[MM_SWAPENTS] * kb,
    }

"""v1 of the series (2026-04-21), three patches.

"[PATCH v1 0/3] mm: process_mrelease: expedite clean file folio reclaim and add
auto-kill", Message-ID <20260421230239.172582-1-minchan@kernel.org>
(https://lore.kernel.org/all/20260421230239.172582-1-minchan@kernel.org/).

* 1/3 <20260421230239.172582-2-minchan@kernel.org> "expedite clean file folio reclaim via
  mmu_gather": :mod:`.mm.swap` (new ``free_pages_and_caches()``, ``free_file_cache()``),
  :mod:`.mm.mmu_gather`, :mod:`.arch.s390.tlb`.
* 2/3 <20260421230239.172582-3-minchan@kernel.org> "skip LRU movement for exclusive file
  folios": :mod:`.mm.memory`.
* 3/3 <20260421230239.172582-4-minchan@kernel.org> "introduce PROCESS_MRELEASE_REAP_KILL
  flag": :mod:`.mm.oom_kill`.

Every function here is a patched copy of the baseline function of the same name (or new
code of the patch), so a diff against the baseline module shows the hunk.
"""

# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Patch 1: evicting clean file folios from the mmu_gather
#
# **The question.** Patch 1 of "mm: process_mrelease: expedite clean file folio reclaim and
# add auto-kill" (Minchan Kim, 2026) makes the reaper drop clean page-cache folios at the
# moment it frees the victim's pages. *Which folios does each version actually evict? What
# stops the others? And who, besides `process_mrelease()`, gets the new behaviour?*
#
# **Why it matters.** [Notebook 00](00_overview.ipynb) showed that v6.18 leaves a reaped
# victim's clean file pages cached: LMKD must kill more to get memory back. Patch 1 exists
# in three shapes: RFC 1/3 [20260413223948.556351-2-minchan@kernel.org], v1 1/3
# [20260421230239.172582-2-minchan@kernel.org] and the file half of draft D
# [afFco71vwmpQy3pk@google.com]. They differ in *where* the decision is made, *who*
# turns it on, and on which configurations it works. The kernel's eviction rule underneath
# (`mapping_evict_folio()`) decides more than any of them, and it has some surprises.
#
# Every experiment below is a function in `mrelease_ref.scenarios.patch1`; its docstring
# says how it builds its state. Cells only call them and show what they return.
#
# **Contents.** [Vocabulary](#vocabulary) · [Patch 1, hunk by hunk](#patch-1-hunk-by-hunk) ·
# [What each version frees, evicts and keeps](#what-each-version-frees-evicts-and-keeps) ·
# [The eviction predicate](#the-eviction-predicate-one-condition-at-a-time) ·
# [The gate: who zaps, and does that zap evict?](#the-gate-who-zaps-and-does-that-zap-evict) ·
# [Findings](#findings) ·
# [Review points for patch 1](#review-points-for-patch-1-docssourcesmd-t41) ·
# [Under MGLRU](#under-mglru) · [Try it](#try-it) · [Limitations](#limitations) ·
# [Checks](#checks)
#
# [20260413223948.556351-2-minchan@kernel.org]: https://lore.kernel.org/r/20260413223948.556351-2-minchan@kernel.org
# [20260421230239.172582-2-minchan@kernel.org]: https://lore.kernel.org/r/20260421230239.172582-2-minchan@kernel.org
# [afFco71vwmpQy3pk@google.com]: https://lore.kernel.org/r/afFco71vwmpQy3pk@google.com

# %% tags=["hide-input"]

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

import mrelease_ref
from mrelease_ref.arch.s390 import tlb as s390_tlb
from mrelease_ref.include.linux import swap as swap_h
from mrelease_ref.mm import mmu_gather, oom_kill, swap_state, truncate
from mrelease_ref.mm import swap as swap_mod
from mrelease_ref.scenarios import configs as lru_configs
from mrelease_ref.scenarios import patch1
from mrelease_ref.series.d.mm import mmu_gather as d_gather
from mrelease_ref.series.d.mm import oom_kill as d_oom_kill
from mrelease_ref.series.d.mm import swap as d_swap
from mrelease_ref.series.rfc.arch.s390 import tlb as rfc_s390_tlb
from mrelease_ref.series.rfc.mm import mmu_gather as rfc_gather
from mrelease_ref.series.rfc.mm import swap_state as rfc_swap_state
from mrelease_ref.series.v1.arch.s390 import tlb as v1_s390_tlb
from mrelease_ref.series.v1.mm import mmu_gather as v1_gather
from mrelease_ref.series.v1.mm import swap as v1_swap
from mrelease_ref.variants import changes_table
from mrelease_ref.viz import figures, tables
from mrelease_ref.viz.diff import source_diff

pd.set_option("display.max_colwidth", None)
mrelease_ref.KERNEL_VERSION

# %% [markdown]
# ## Vocabulary
#
# Kernel term → model name (kernel file):
#
# - mmu_gather batch free → `mm.mmu_gather.tlb_batch_pages_flush`,
#   `__tlb_batch_free_encoded_pages` (mm/mmu_gather.c)
# - free zapped pages, baseline → `mm.swap_state.free_pages_and_swap_cache` (mm/swap_state.c)
# - free zapped pages, patch 1 → `series.<version>.mm.swap.free_pages_and_caches`,
#   `free_file_cache` (mm/swap.c)
# - the eviction rule → `mm.truncate.mapping_evict_folio` (mm/truncate.c)
# - drop a swap-cache folio → `mm.swap_state.free_swap_cache`, `mm.swapfile.folio_free_swap`
#   (mm/swap_state.c, mm/swapfile.c)
# - s390 immediate free → `arch.s390.tlb.__tlb_remove_folio_pages`, `__tlb_remove_page_size`
#   (arch/s390/include/asm/tlb.h)
# - "being reaped" → `MMF_UNSTABLE` in `include.linux.mm_types.MmFlags`
#   (include/linux/mm_types.h)
# - per-CPU LRU batches → `include.linux.mmzone.CpuFbatches`: `lru_add`, `lru_activate`,
#   `mlock` (mm/swap.c, mm/mlock.c)
#
# The versions, as the variant table records them (patch 1 column):

# %%
pd.DataFrame(changes_table())[["variant", "free path (patch 1)"]]

# %% [markdown]
# ## Patch 1, hunk by hunk
#
# The baseline path: the reaper zaps a VMA into an `mmu_gather`; `tlb_finish_mmu()` flushes
# the TLB and only then frees the gathered pages, in chunks, through
# `free_pages_and_swap_cache()`. That function first offers *every* folio to
# `free_swap_cache()` (which drops an unmapped folio from the swap cache when nobody else
# uses its slot), then drops the gather's references. Patch 1 hooks exactly this loop: the
# folios are already unmapped and the TLB is flushed, so a clean page-cache folio whose only
# remaining users are the page cache and this gather entry can be removed from the page cache
# right there, with the gather's reference as "the caller's" reference. The diffs below are
# of the model's functions, which keep the kernel's names and shapes.
#
# ### mm/mmu_gather.c: the flush tells the free path who is being torn down
#
# v1 gives `__tlb_batch_free_encoded_pages()` the mm as a new first argument and
# `tlb_batch_pages_flush()` passes the gather's mm. Nothing about chunking or ordering
# changes: freeing still happens after the TLB flush.

# %%
print(source_diff(mmu_gather.tlb_batch_pages_flush, v1_gather.tlb_batch_pages_flush))
print(source_diff(mmu_gather.__tlb_batch_free_encoded_pages,
                  v1_gather.__tlb_batch_free_encoded_pages))

# %% [markdown]
# The RFC (only its diffstat and s390 hunk were retrieved, so the model infers the rest,
# docs/sources.md §T3.1) read MMF_UNSTABLE once per flush and passed a plain bool down. Draft D
# reads a new one-bit field of the gather, `try_evict_file_folios`, which only its
# reaper sets:

# %%
print(source_diff(mmu_gather.tlb_batch_pages_flush, rfc_gather.tlb_batch_pages_flush))
print(source_diff(v1_gather.tlb_batch_pages_flush, d_gather.tlb_batch_pages_flush))

# %% [markdown]
# ### mm/swap_state.c → mm/swap.c: `free_pages_and_caches()`
#
# v1 deletes `free_pages_and_swap_cache()` and writes its loop again in mm/swap.c, which is
# built with or without CONFIG_SWAP (mm/swap_state.c is not). Per folio: an anonymous one
# still goes to `free_swap_cache()`; any other folio goes, *if the mm has MMF_UNSTABLE*, to
# the new `free_file_cache()`, and otherwise to nothing at all. That last "nothing" is new:
# the baseline offered non-anonymous folios to `free_swap_cache()` too (see the shmem finding
# below). The model keeps the loop in one helper, `free_pages_and_caches_loop()`, because the
# RFC and D share it; its `swapcache_fix` branch is the model's switch for the fix proposed
# on 2026-05-08 (off by default, so the loop is v1 as posted):

# %%
print(source_diff(swap_state.free_pages_and_swap_cache, v1_swap.free_pages_and_caches_loop))

# %% [markdown]
# The gate and the eviction attempt. `free_file_cache()` only *tries*: if the folio lock is
# taken it gives up, and it ignores what `mapping_evict_folio()` returns.

# %%
tables.source(v1_swap.free_pages_and_caches, v1_swap.free_file_cache)

# %% [markdown]
# The rule that really decides is the kernel's, untouched by the series. A folio leaves the
# page cache only if it still has a mapping, is neither dirty nor under writeback, holds no
# more references than its pages, its private data and **one** caller, and its private data
# can be released:

# %%
tables.source(truncate.mapping_evict_folio)

# %% [markdown]
# ### include/linux/swap.h: one prototype for both configurations
#
# Without CONFIG_SWAP, swap.h used to turn `free_pages_and_swap_cache()` into
# `release_pages()`. v1 removes that stub and declares `free_pages_and_caches(mm, ...)`
# unconditionally, so the eviction also works on a kernel without swap. The RFC kept the
# function in mm/swap_state.c, so without CONFIG_SWAP the stub still applied and nothing
# was evicted (docs/sources.md §T3.1 [I]); the model's RFC says so explicitly:

# %%
print(source_diff(swap_h.free_pages_and_swap_cache, rfc_swap_state.free_pages_and_caches))

# %% [markdown]
# ### arch/s390/include/asm/tlb.h: the architecture without a gather
#
# s390 has no batching mmu_gather: its PTE invalidation already purges every TLB, so
# `__tlb_remove_folio_pages()` frees each zapped range at once, inside the zap. v1 passes
# the mm there too, so s390 evicts, *inside `zap_present_folio_ptes()`* (under the PTE lock).
# The RFC passed a literal `false`: no eviction on s390. Neither version touches s390's PMD
# path, `__tlb_remove_page_size()`, which keeps calling `free_folio_and_swap_cache()`.

# %%
print(source_diff(s390_tlb.__tlb_remove_folio_pages, v1_s390_tlb.__tlb_remove_folio_pages))
print(source_diff(v1_s390_tlb.__tlb_remove_folio_pages, rfc_s390_tlb.__tlb_remove_folio_pages))

# %% [markdown]
# ### Draft D: the same loop behind an explicit bool
#
# D ([afFco71vwmpQy3pk@google.com], posted inline as a sketch of intent) took two review
# suggestions: David Hildenbrand's bool instead of the mm
# ([7b4bf980-4ff3-4f53-8c64-1ba2d85cf1b8@kernel.org]) and Matthew Wilcox's
# `folio->mapping` instead of `folio_mapping()` ([aevFb-ZemUo4nB3I@casper.infradead.org]).
# The bool starts in `process_mrelease()` as "was PROCESS_MRELEASE_REAP_KILL given" and
# travels through `__oom_reap_task_mm()` into each per-VMA gather; the kernel's OOM reaper
# passes false. D has no s390 hunk, so it does not build there (the model refuses
# `Kernel(variant="d", arch="s390")`). Each diff starts with the lore link of the posting it
# reproduces; the model's own lines (here D's `count_vm_event` instrumentation) are listed
# below the diff, not in it. Rows and columns marked **[I]** rest on RFC code that was not
# retrieved.
#
# [afFco71vwmpQy3pk@google.com]: https://lore.kernel.org/r/afFco71vwmpQy3pk@google.com
# [7b4bf980-4ff3-4f53-8c64-1ba2d85cf1b8@kernel.org]: https://lore.kernel.org/r/7b4bf980-4ff3-4f53-8c64-1ba2d85cf1b8@kernel.org
# [aevFb-ZemUo4nB3I@casper.infradead.org]: https://lore.kernel.org/r/aevFb-ZemUo4nB3I@casper.infradead.org

# %%
print(source_diff(v1_swap.free_file_cache, d_swap.free_file_cache))
print(source_diff(oom_kill.__oom_reap_task_mm, d_oom_kill.__oom_reap_task_mm))

# %% [markdown]
# D's reaper hands `unmap_page_range()` a `zap_details` whose other fields are zero. On
# this base that includes `even_cows`, and with it false the PTE-level zap skips *every
# anonymous folio* (PMD-mapped THPs excepted, see the last finding). The experiments
# therefore run D twice: as posted, and with the details its author evidently meant
# (`d_details="intended"`).
#
# ## What each version frees, evicts and keeps
#
# The victim of notebook 00 (`OVERVIEW_VICTIM`): 2048 anonymous pages, a 1024-page private
# read-only file mapping, a 512-page private file mapping with 128 pages written
# (copy-on-write), and a 256-page `MAP_SHARED` file mapping with 32 dirty pages. Each kernel
# builds it, drains the per-CPU LRU batches (a running app's pages have long left them:
# other LRU additions on its CPU fill and flush them), SIGKILLs it, calls
# `process_mrelease()` (D with REAP_KILL: without it D evicts nothing), then lets the
# victim finish exiting. Nothing on that path drains the batches itself: v6.18's reaper,
# `exit_mmap()` and `munmap()` do not call `lru_add_drain()`, and neither does the model.
# Pages, first with 4 KiB folios only:

# %%
small = patch1.reap_outcomes(large_folios=False)
tables.collapsed(
    tables.mark_inferred(pd.DataFrame(patch1.fate_rows(small)).set_index(["kernel", "memory"])),
    "pages freed, evicted and kept, per kernel and mapping (4 KiB folios)",
    "patch1.fate_rows(patch1.reap_outcomes(large_folios=False))")

# %% [markdown]
# The same, summed over the three files the victim maps:

# %%
tables.mark_inferred(pd.DataFrame(patch1.fate_totals(small)).set_index("kernel"))

# %% [markdown]
# Read it row by row:
#
# - **Baseline** frees all anonymous memory and evicts nothing: every file page stays
#   cached.
# - **RFC, v1, D** evict the whole private read-only mapping and the unwritten pages of the
#   COW mapping. The written pages' page-cache folios stay: the victim stopped mapping them
#   at copy-on-write time, so they never reach the gather.
# - **`MAP_SHARED`** is never reaped (all versions keep the reaper's rule, as David asked
#   on the RFC). But look at "after exit": RFC and v1 evict its clean pages anyway (all but
#   the 32 the victim dirtied), in the victim's *own* `exit_mmap()`, because MMF_UNSTABLE is
#   still set when the victim tears itself down. D's bool lives only in the reaper's
#   gathers, so D keeps them.
# - **D as posted** frees none of this victim's anonymous memory during the reap (the
#   `even_cows` problem: all of it sits in 4 KiB folios in PTE tables); the victim's exit
#   frees it later.
#
# With these machines' defaults (large folios on, folio sizes as v6.18's readahead makes
# them) the table is the same: this victim's files are 1-4 MiB, and a file that small, read
# through mmap, is read around in 4 KiB folios (2048 order-0 pages from the first fault; the
# live kernel does exactly this for files up to 8 MiB, `lab/data/folios.json`):

# %%
default = patch1.reap_outcomes(large_folios=True)
{"fates identical to the 4 KiB table": patch1.fate_rows(default) == patch1.fate_rows(small)}

# %% [markdown]
# Large folios reach a victim's files when a stream has ramped up (beyond the first 40 MiB
# of a file read in order) or under MADV_HUGEPAGE. To see what 2 MiB folios change, put
# *every* file of the same victim in them (`file_folio_order=9`, the fixed-order model:
# one 2 MiB folio per cache miss, PMD-mapped where aligned):

# %%
large = patch1.reap_outcomes(large_folios=True, file_folio_order=9)
large_totals = tables.mark_inferred(pd.DataFrame(patch1.fate_totals(large)).set_index("kernel"))
display(tables.collapsed(
    tables.mark_inferred(pd.DataFrame(patch1.fate_rows(large)).set_index(["kernel", "memory"])),
    "pages freed, evicted and kept, per kernel and mapping (every file in 2 MiB folios)",
    "patch1.fate_rows(patch1.reap_outcomes(large_folios=True, file_folio_order=9))"))
large_totals

# %% [markdown]
# The private mapping (two PMD-mapped 2 MiB folios) is still evicted; the COW mapping is
# not evicted at all any more, nor are the shared pages after exit. Why is the subject of
# the first finding below. The figure puts the two configurations side by side:

# %% tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
for ax, (title, outs) in zip(axes, [("these machines' default (4 KiB folios here)", small),
                                    ("every file in 2 MiB folios", large)],
                              strict=True):
    table = pd.DataFrame(patch1.cached_after_reap(outs)).set_index("kernel")
    table.plot.bar(stacked=True, ax=ax, title=title, rot=15, ylabel="pages cached after reap")
fig.tight_layout()
_ = figures.save(fig, "01_patch1_cached_after_reap")
plt.show()

# %% [markdown]
# ## The eviction predicate, one condition at a time
#
# docs/sources.md §T3.2 lists what must hold for a folio to be evicted: (a) MMF_UNSTABLE on the
# mm, (b) not anonymous, (c) the trylock succeeds, (d) still in a mapping, (e) clean and not
# under writeback, (f) refcount ≤ nr_pages + private + 1, (g) private data releasable, (h)
# `remove_mapping()` succeeds. Each row below starts from the control (a 16-page private file
# mapping, v1 1/3, batches drained) and makes one condition false. "refcount at attempt" is
# the first folio's count read after the zap and before the flush, which is when the generic
# gather tries the eviction (`zap_pause_probe()`).

# %%
pd.DataFrame(patch1.predicate_table()).set_index("case")

# %% [markdown]
# Every buildable condition bites, and (f) bites in more ways than the thread discussed.
# Besides another mapper, any per-CPU batch that holds the folio at the flush counts as a
# user: freshly faulted pages still in the victim CPU's `lru_add` batch, mlocked pages that
# the zap munlocks through the `mlock` batch, and pages that were already PG_referenced,
# which the zap activates through the `lru_activate` batch (the second finding). The
# writeback row's refcount is the control's: writeback takes no folio reference of its own
# (PG_writeback keeps the folio in the page cache), so the writeback test alone refuses it.
# (g) is not a refusal: clean buffer heads are released and the folio goes. (d) and (h)
# cannot be built in this model.
#
# ## The gate: who zaps, and does that zap evict?
#
# 64 clean, exclusively mapped 4 KiB file pages, zapped by different actors. For the OOM
# reaper, the victim needs a thread that cannot finish its exit, or its own `exit_mmap()`
# frees everything (and sets MMF_OOM_SKIP) before the reaper's OOM_REAPER_DELAY (2 s) is
# up. A *frozen* thread does not do that on v6.18: `mark_oom_victim()` thaws the whole
# process (`thaw_process()`), and an OOM victim is never `freezing()` again. So the victim
# has a second thread blocked in `fsync()` on a device that does not complete the write
# (`scenarios.stalls.stall_in_fsync()`): it sleeps in `folio_wait_writeback()`,
# TASK_UNINTERRUPTIBLE, which neither the OOM kill's SIGKILL nor the thaw ends, holds no
# mmap_lock, and keeps the mm while the leader exits -- the "uninterruptible sleep" the
# reaper was made for. The function asserts MMF_OOM_SKIP while that thread still holds the
# mm, then lets the write complete. The rows are what they were with the frozen thread of
# earlier versions of this notebook: the reaper's zap is the same; only the stall changed.

# %%
tables.mark_inferred(pd.DataFrame(patch1.gate_table()).set_index("who zaps"))

# %% [markdown]
# Per architecture and CONFIG_SWAP (`process_mrelease()` after SIGKILL; D's call passes
# REAP_KILL, without which it evicts nothing anywhere):

# %%
tables.mark_inferred(pd.DataFrame(patch1.arch_swap_table()).set_index("kernel"))

# %% [markdown]
# And *where* the eviction happens: the reaper's per-VMA step run by hand and paused between
# the zap and the flush. On x86_64 the pages are still cached at the pause and evicted by
# the flush; on s390 v1 has already evicted them inside the zap.

# %%
tables.mark_inferred(pd.DataFrame(patch1.zap_pause_table()).set_index(["kernel", "arch"]))

# %% [markdown]
# ## Findings
#
# ### Finding: large folios are evicted only when one entry maps them
#
# `mapping_evict_folio()` allows exactly one reference beyond the page cache's. A PTE-mapped
# large folio hands the free path one reference *per mapped page*, all in one gather entry
# (or one s390 call), so with two or more pages mapped it can never be evicted. A PMD mapping
# holds one reference for the whole 2 MiB: evicted on x86_64. On s390 the PMD path is
# `__tlb_remove_page_size()`, which no version changed: never evicted. Nobody raised this in
# the thread (docs/sources.md §T6 #5); Baolin Wang's PMD remark
# ([b6a6eead-cfd2-4459-9c6d-384dc6cd72d8@linux.alibaba.com]) was about patch 2's aging.
# Evidence: model (v1/RFC/D are not on the live kernel); the folio sizes below are the live
# kernel's.
#
# [b6a6eead-cfd2-4459-9c6d-384dc6cd72d8@linux.alibaba.com]: https://lore.kernel.org/r/b6a6eead-cfd2-4459-9c6d-384dc6cd72d8@linux.alibaba.com
#
# The mechanism, one folio shape at a time (fixed-order model: `file_folio_order=9`, `6`;
# the shapes occur on these machines: 2 MiB folios PMD-mapped, or PTE-mapped under
# MADV_NOHUGEPAGE; the 64-page folio is a readahead ramp folio):

# %%
pd.DataFrame(patch1.large_folio_table())

# %% [markdown]
# A written-to private file mapping loses its PMD (copy-on-write splits it), and smaller
# files get smaller folios; both end up PTE-mapped and stay cached. That is why, with every
# file in 2 MiB folios, the COW mapping above kept every page, and so did the shared mapping
# after exit.
#
# With the folio sizes the kernel actually makes, the rule bites where readahead ramps up.
# Folio distribution assumed: a 64 MiB file read in order through a private mapping, laid
# out as on the live kernel (`lab/data/folios.json` case `65536KiB/seq`, parity rows
# `folios/65536KiB/seq`): 8 MiB of 4 KiB folios, then one 8 MiB window each of order 2, 4,
# 6 and 8, then 24 MiB of PMD-mapped 2 MiB folios. Fault-around and `finish_fault()` map
# each ramp folio whole with PTEs:

# %%
ramp = pd.DataFrame(patch1.readahead_file_rows()).set_index(["arch", "kernel", "folio order"])
ramp

# %% [markdown]
# On x86_64 v1 evicts the 4 KiB and the PMD-mapped folios and keeps the whole ramp: 32 MiB
# of every file read in order that is larger than 40 MiB (any file above 8 MiB keeps
# its ramp folios of order 2 and up). On s390 it evicts only the first 8 MiB. Files up to
# 8 MiB read through mmap (4 KiB folios) are evicted whole on both.
#
# ### Finding: patch 1 needs patch 2 for pages that were referenced before
#
# A folio that is already PG_referenced and gets a young PTE zapped is *activated*:
# `folio_mark_accessed()` queues it on this CPU's `lru_activate` batch, which takes a
# reference until the batch drains (every 31 folios). At the flush, the folios still in the
# batch have one reference too many and stay cached. Patch 2 (v1 2/3
# [20260421230239.172582-3-minchan@kernel.org]) skips `folio_mark_accessed()` for exclusive
# folios while reaping, which removes that reference.
#
# **Construction.** PG_referenced must be set on folios the victim maps. The model sets it
# where the kernel does on this path: when a zap sees a young PTE. So an *earlier instance*
# of the app maps and reads the same files and exits (its exit zaps set PG_referenced); then
# the app is started again, maps and reads the files, and is killed. This is the Android
# relaunch case; a victim that unmaps and re-maps a file would do the same.
#
# [20260421230239.172582-3-minchan@kernel.org]: https://lore.kernel.org/r/20260421230239.172582-3-minchan@kernel.org

# %%
pd.DataFrame(patch1.referenced_table())

# %% [markdown]
# The loss (last column) is at most 30 folios per flush, since a batch that reaches 31
# drains itself, so one big mapping hardly notices, but a victim made of many small
# mappings, as app processes are (libraries, resources), loses most of them: each
# reaped VMA gets its own gather and flush, and the batch carries over. The reference
# itself, read between zap and flush:

# %%
pd.DataFrame(patch1.referenced_probe())

# %% [markdown]
# Michal Hocko's objections to patch 2 (aging, docs/sources.md §T4.2) therefore have a cost on the
# patch 1 side: without patch 2, or a drain of the `lru_activate` batches before the flush,
# patch 1 evicts less for exactly the pages the victim's earlier life used most.
#
# ### Finding: the shmem swap-cache miss changes nothing the zap path can reach
#
# Alexander Gordeev asked what happens to non-anonymous folios that are not evicted
# ([20260505145318.97692A14-agordeev@linux.ibm.com]); Minchan Kim answered that shmem folios
# in the swap cache no longer reach `free_swap_cache()` and proposed testing the swap cache
# first ([af5cEycgIu2GUicn@google.com], [agJOy1vnvYGipnku@google.com]). Does the baseline
# actually free such a folio's swap? `free_swap_cache()` only drops a folio whose slot nobody
# else uses (`folio_free_swap()` refuses while `folio_swapped()`), and shmem keeps its swapped
# page as a swap entry in its own mapping, which counts as a user of the slot.
#
# **Construction.** No modelled path puts a *zapped* shmem folio in the swap cache (the model
# has no `shmem_writeout()`), so `shmem_swapcache_outcome()` does it by hand: it zaps one
# shmem page into a gather, then, before the flush, moves the folio from the shmem page cache
# to the swap cache as a writeout would, clean. State A: shmem's entry counts the slot (what
# a writeout leaves). State B: only the swap cache holds the slot.
#
# [20260505145318.97692A14-agordeev@linux.ibm.com]: https://lore.kernel.org/r/20260505145318.97692A14-agordeev@linux.ibm.com
# [af5cEycgIu2GUicn@google.com]: https://lore.kernel.org/r/af5cEycgIu2GUicn@google.com
# [agJOy1vnvYGipnku@google.com]: https://lore.kernel.org/r/agJOy1vnvYGipnku@google.com

# %%
tables.mark_inferred(pd.DataFrame(patch1.shmem_swapcache_table()).set_index("kernel"))

# %% [markdown]
# What the model shows:
#
# - **State A:** the baseline keeps the folio in the swap cache too (`folio_swapped()`), so
#   v1's missing call changes nothing. While *reaping*, v1 even does better than the
#   baseline: `folio_mapping()` of a swap-cache folio is the swap address space, so
#   `free_file_cache()` → `mapping_evict_folio()` drops the clean folio from the swap cache
#   (the slot keeps shmem's count). The proposed fix sends the folio back to
#   `free_swap_cache()` and loses that. D reads `folio->mapping`, which is NULL here.
# - **State B:** here the miss is real when not reaping: the baseline frees folio and slot;
#   the RFC, v1 and D leave the folio in the swap cache for reclaim to find later; the fix
#   restores the baseline. While reaping, the RFC and v1 evict it anyway (as in A); D,
#   reading a NULL `folio->mapping`, does not.
#
# Whether the kernel can reach either state on this path is a question the model cannot
# settle, since it does not model shmem writeout. Our reading of the kernel [K, not checked
# against a running system]: writeout requires the folio unmapped, and reclaim's
# `pageout()` refuses a folio with an extra reference (the gather's) before writeout;
# shmem swap-in takes the folio out of the swap cache before it can be mapped again. If
# that holds, the "regression" is a missing call on a path no shmem swap-cache folio takes.
#
# ### Finding: draft D hands an anon_vma to mapping_evict_folio() once the fix is applied
#
# The swap-cache-first fix sends every folio *not* in the swap cache (anonymous ones
# included) to `free_file_cache()` when evicting. v1's `free_file_cache()` asks
# `folio_mapping()`, which is NULL for an anonymous folio, so nothing happens. D's reads
# `folio->mapping`, which for an anonymous folio is its anon_vma (tagged pointer), and passes
# it to `mapping_evict_folio()` as if it were an address_space (docs/sources.md §T6 #4). The model
# counts those calls (`EVICT_ANON_MAPPING`) and refuses them; the last column counts the
# anonymous folios that would pass every test before `remove_mapping()` (clean, no
# writeback, one reference), i.e. that would have it operate on an anon_vma.

# %%
pd.DataFrame(patch1.anon_mapping_table()).set_index("kernel")

# %% [markdown]
# As posted, D frees no PTE-mapped anonymous memory during the reap (the `even_cows`
# problem), which happens to hide this; with the intended details and the fix, every
# anonymous folio the reap frees reaches `mapping_evict_folio()` with its anon_vma (the two
# counts are equal).
#
# ### Finding: v1 evicts for the kernel's OOM reaper and in the victim's own exit
#
# v1's gate is MMF_UNSTABLE, read at every free. `__oom_reap_task_mm()` sets it for
# *every* reaper: the gate table shows the kernel's OOM reaper evicting all 64 pages on
# v1 (and the RFC), which David Hildenbrand pointed out for patch 2
# ([7f98f461-62a7-455d-a7a8-cb8928465946@kernel.org]) and said he would want for any OOM
# reaping anyway ([af21185c-3390-4566-bf28-ce79e13182dc@kernel.org]). The flag also stays
# set when the victim runs its own `exit_mmap()` after a reap, which then evicts even the
# `MAP_SHARED` pages the reaper deliberately skipped (the "exit after reap" row, and
# "evicted by the exit" in the totals above). A plain exit or a `munmap()` never evicts.
# D confines both effects to `process_mrelease(..., PROCESS_MRELEASE_REAP_KILL)`, and only
# for the VMAs its reaper zaps (Minchan Kim, [afJ7FPkNK6cxUxSe@google.com]).
#
# ### Finding: draft D as posted frees anonymous THPs but no other anonymous memory
#
# D's zero-initialised `zap_details` turns off `even_cows`, and `should_zap_folio()` then
# keeps every anonymous folio that `zap_present_ptes()` meets: 4 KiB folios and PTE-mapped
# large ones survive every reap that goes through D's `__oom_reap_task_mm()` (with or
# without REAP_KILL, and the kernel OOM reaper's). A PMD-mapped THP never gets there:
# `zap_pmd_range()` hands a fully covered huge PMD to `zap_huge_pmd()`, which does not read
# the details at all, and the THP is freed as on the baseline (docs/sources.md §K3.6,
# §T3.5). So "D frees no anonymous memory" holds only for memory outside THPs; with THP
# `[madvise]` (these machines) that is every anonymous region that did not ask for
# `MADV_HUGEPAGE`. 1024 pages each, one reap:
#
# [7f98f461-62a7-455d-a7a8-cb8928465946@kernel.org]: https://lore.kernel.org/r/7f98f461-62a7-455d-a7a8-cb8928465946@kernel.org
# [af21185c-3390-4566-bf28-ce79e13182dc@kernel.org]: https://lore.kernel.org/r/af21185c-3390-4566-bf28-ce79e13182dc@kernel.org
# [afJ7FPkNK6cxUxSe@google.com]: https://lore.kernel.org/r/afJ7FPkNK6cxUxSe@google.com

# %%
d_anon = pd.DataFrame(patch1.d_anon_table()).set_index("kernel")
d_anon

# %% [markdown]
# ## Review points for patch 1 (docs/sources.md §T4.1)
#
# Who said what, the answer, whether it was settled, and where this notebook answers it with
# the model (paraphrased; Message-IDs in the table, docs/sources.md §T1.3):

# %%
tables.collapsed(pd.DataFrame(patch1.REVIEW_POINTS).set_index("#"),
                 "review points on patch 1, one row each", "patch1.REVIEW_POINTS")

# %% [markdown]
# Point 6, mlocked pages: they are munlocked during the zap, but through the per-CPU
# `mlock` batch, which holds a reference until it drains. With 100 mlocked pages, the last
# partial batch (100 mod 31 = 7 pages) stays cached:

# %%
mlocked = next(c for c in patch1.PREDICATE_CASES if c.case == "(f) mlocked")
pd.DataFrame([patch1.predicate_outcome(mlocked, nr_pages=n) for n in (16, 100)])

# %% [markdown]
# ## Under MGLRU
#
# Android kernels run the multi-gen LRU (CONFIG_LRU_GEN, enabled at run time); these
# machines do not, so everything above is the classic two-list LRU. `Kernel(lru_gen=True)`
# models v6.18's multi-gen paths (`mm/swap.py`, `mm/vmscan.py`, `mm/workingset.py`,
# `include/linux/mm_inline.py`). On the zap path one thing changes: `folio_mark_accessed()`
# ends in `lru_gen_inc_refs()`, which counts the access in the folio's flags and returns --
# no activation, no `lru_activate` batch, no reference held until a drain
# (v6.18 `mm/swap.c:folio_mark_accessed()`):

# %%
tables.source(swap_mod.lru_gen_inc_refs)

# %% [markdown]
# So the reference that kept pages "referenced before" cached under patch 1 alone never
# exists. The referenced-before experiment again, classic LRU and multi-gen LRU side by
# side (pages evicted by the reap):

# %%
classic = pd.DataFrame(patch1.referenced_table()).set_index("files x pages")
multigen = pd.DataFrame(patch1.referenced_table(lru_gen=True)).set_index("files x pages")
side = pd.concat({"classic LRU": classic.drop(columns="mapped"),
                  "MGLRU": multigen.drop(columns="mapped")}, axis=1)
side

# %% [markdown]
# Under MGLRU, v1 1/3 alone evicts every page whether or not an earlier instance used
# them: the "lost by 1/3 alone" column is 0 for every layout. The reference read between
# zap and flush confirms it: `refcount after zap` is 2 (the page cache's and the
# gather's), at `mapping_evict_folio()`'s limit, for v1 1/3 as for v1 1/3+2/3 -- where
# the classic LRU showed 3 for v1 1/3 (the batch's reference, earlier in this notebook):

# %%
probe = pd.DataFrame(patch1.referenced_probe(lru_gen=True))
probe

# %%
assert (probe["refcount after zap"] == probe["limit"]).all()
assert (probe["cached after flush"] == 0).all()
assert (multigen["lost by 1/3 alone"] == 0).all()
assert (multigen["v1 1/3, referenced before"] == multigen["mapped"]).all()
assert (classic["lost by 1/3 alone"] > 0).all()

# %% [markdown]
# ### This notebook's findings by configuration
#
# Each finding re-run on three configurations (`mrelease_ref.scenarios.configs`; the
# README's "on Android" column is tested against it): the default, MGLRU alone, and
# `Kernel.android()` (arm64, 16 KiB pages, MGLRU, order-0 page cache as on an encrypted ext4
# or f2fs `/data`). Findings whose evidence runs no LRU code are tested by re-running their
# evidence table; the rest by the finding's own claim.

# %%
by_config = lru_configs.finding_by_config("01")
pd.DataFrame(lru_configs.as_table(by_config)).set_index("finding")

# %% [markdown]
# - **Holds on both:** the large-folio rule (a refcount test on the gather's references),
#   the shmem swap-cache result, draft D's anon_vma hand-off and v1's gate reaching the OOM
#   reaper and the victim's exit: none of them goes through LRU code, and their evidence
#   tables are identical under MGLRU.
# - **Classic LRU only:** "patch 1 needs patch 2 for pages that were referenced before".
#   On the device the series targets, patch 1 alone evicts those pages; patch 2 is not
#   needed for patch 1's eviction there. (Patch 2's own effect under MGLRU is in notebook
#   02, "Under MGLRU".)
# - **arm64** changes nothing here: it takes the same generic `mmu_gather` path as x86_64
#   (no `__tlb_remove_folio_pages()` hook as on s390; only `tlb_flush()` differs, which
#   frees nothing), so `Kernel(arch="arm64")` evicts and keeps exactly what x86_64 does
#   (`tests/test_mm_lru_gen.py`).
# - **On Android** (`Kernel.android()`) the same finding fails, for the same reason (MGLRU).
#   The large-folio rule is moot on `/data`: its page cache is order 0, so the reap evicts
#   every page it unmaps; on erofs (large folios) the rule holds, but with 16 KiB pages a
#   PMD maps 32 MiB, so a 512-page folio is PTE-mapped and kept. Draft D as posted still
#   frees THPs (now 32 MiB each) and no other anonymous memory.

# %%
assert [r.finding for r in by_config if not r.holds_mglru] == [
    "patch 1 needs patch 2 for pages that were referenced before"]
assert [r.finding for r in by_config if not r.holds_android] == [
    "patch 1 needs patch 2 for pages that were referenced before"]
assert all(r.holds_default for r in by_config)

# %% [markdown]
# ## Try it

# %%
# Try it: the overview victim reaped by another kernel, with 4 KiB or large page-cache folios
# (mrelease_ref.widgets.reap.patch1_panel: each change is one fresh model run, shown as a table).
from mrelease_ref.widgets.reap import patch1_panel

patch1_panel().box

# %% [markdown]
# ## Limitations
#
# - The RFC's free path is inferred from v1 (only its s390 hunk was retrieved); D is an
#   intention-only draft, modelled as posted except where noted (`d_details`)
#   (`tests/test_limitations.py::test_posted_code_not_retrieved_is_marked_inferred`).
# - Conditions (d) and (h) of the predicate are not buildable here: no truncate(2) of a
#   disk-backed file, and a step-atomic model leaves no gap between `mapping_evict_folio()`'s
#   checks and its refcount freeze. GUP pins are not tried. The shmem swap-cache state is
#   put together by hand; the model has no `shmem_writeout()`, so it cannot say whether the
#   kernel reaches it (`tests/test_limitations.py::test_no_truncate_or_shmem_writeout`).
# - Experiments drain the per-CPU batches after building the victim: they stand for a
#   victim that has been running for a while. A victim killed right after faulting keeps
#   up to 30 folios per CPU in the `lru_add` batch, which the reap then cannot evict (the
#   "(f) lru_add batch" row); how often LMKD kills such a victim is not modelled
#   (`tests/test_scenarios_patch1.py::test_mlock_batch_only_blocks_the_folios_still_in_it`).
# - The multi-gen LRU is modelled from v6.18's source only (these machines run the classic
#   LRU), so "Under MGLRU" has no live-kernel check
#   (`tests/test_limitations.py::test_mglru_is_source_only_with_exact_filters`).
#
# ## Checks
#
# Every experiment that follows a modelled path ran with `debug_vm=True`: the invariant
# checker verified refcounts, mapcounts, rss counters, LRU lists and page conservation
# after every call. The hand-built shmem state runs without it (its swap count has no
# owner the checker knows). `tests/test_scenarios_patch1.py` checks each number narrated
# here against the kernel rule it comes from. The assertions below fail the notebook if a
# claim of its findings drifts from what the model computes.

# %%
lf = pd.DataFrame(patch1.large_folio_table()).set_index(["arch", "mapping"])
one_ref = lf["refs handed to the free path"] == 1
assert (lf[one_ref & (lf["refcount at attempt"] != "no attempt")].evicted
        == lf[one_ref & (lf["refcount at attempt"] != "no attempt")]["cached before"]).all()
assert (lf[lf["refs handed to the free path"] > 1].evicted == 0).all()  # finding 1
assert lf.loc[("s390", "2 MiB folio, PMD-mapped (the default)"), "evicted"] == 0
ref = pd.DataFrame(patch1.referenced_table())
assert (ref["v1 1/3+2/3, referenced before"] == ref.mapped).all()  # finding 2
assert (ref["lost by 1/3 alone"] > 0).all()
gate = pd.DataFrame(patch1.gate_table()).set_index("who zaps")
assert (gate.iloc[[2, 3]][["rfc 1/3", "v1 1/3"]] == 64).all().all()  # finding 5: OOM reaper, exit
assert (gate.iloc[[2, 3]]["d, REAP_KILL"] == 0).all()
assert d_anon.loc["d, REAP_KILL", "4 KiB anon pages freed"] == 0  # finding 6
assert d_anon.loc["d, REAP_KILL", "THP anon pages freed"] == \
    d_anon.loc["baseline", "THP anon pages freed"] > 0

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
# # 02 · Patch 2: skipping LRU movement while reaping
#
# **The question.** When the reaper zaps a PTE of a page-cache folio and finds it young, v6.18
# calls `folio_mark_accessed()`: the folio climbs one step of the LRU ladder, possibly onto
# the active list. Patch 2 of "mm: process_mrelease: expedite clean file folio reclaim and
# add auto-kill" (Minchan Kim, 2026) drops that call for folios nobody else maps, because the
# address space is being torn down anyway. *Which folios lose their aging in each version,
# what does that save, and what does it cost a workload later?*
#
# **Why it matters.** The patch's justification is a profile: `folio_mark_accessed()` took
# 55.75% of an exit-path unmap (docs/sources.md §T5). Its objection, from Michal Hocko, is that the
# young bits the reaper throws away are real information: a page the app used just before
# it was killed loses the activation that would have kept it cached, and the next launch
# refaults it (docs/sources.md §T4.2 #3-#6). Both are questions about numbers the model can count.
#
# The versions: RFC 2/3 [20260413223948.556351-3-minchan@kernel.org], v1 2/3
# [20260421230239.172582-3-minchan@kernel.org], and the aging half of draft D
# [afFco71vwmpQy3pk@google.com]. Reviews quoted below are paraphrased; their Message-IDs
# are in docs/sources.md §T1.3. Every experiment is a function in `mrelease_ref.scenarios.patch2`;
# cells only call them and show what they return.
#
# **Contents.** [Vocabulary](#vocabulary) · [Patch 2, hunk by hunk](#patch-2-hunk-by-hunk) ·
# [The kernels this notebook compares](#the-kernels-this-notebook-compares) ·
# [Where the skip applies](#where-the-skip-applies) ·
# [The exclusivity test, version by version](#the-exclusivity-test-version-by-version) ·
# [The cost saved](#the-cost-saved) ·
# [The side effect, measured: a relaunched app](#the-side-effect-measured-a-relaunched-app) ·
# [The gate's scope](#the-gates-scope) ·
# [kswapd's reclaim in the model](#kswapds-reclaim-in-the-model) ·
# [Review points for patch 2](#review-points-for-patch-2-docssourcesmd-t42) ·
# [Under MGLRU](#under-mglru) · [Try it](#try-it) · [Limitations](#limitations) ·
# [Checks](#checks)
#
# [20260413223948.556351-3-minchan@kernel.org]: https://lore.kernel.org/r/20260413223948.556351-3-minchan@kernel.org
# [20260421230239.172582-3-minchan@kernel.org]: https://lore.kernel.org/r/20260421230239.172582-3-minchan@kernel.org
# [afFco71vwmpQy3pk@google.com]: https://lore.kernel.org/r/afFco71vwmpQy3pk@google.com

# %% tags=["hide-input"]
import dataclasses

import matplotlib.pyplot as plt
import pandas as pd

import mrelease_ref
from mrelease_ref.lab.calibration import calibrated_cost_model, load_calibration
from mrelease_ref.mm import memory, oom_kill, swap, vmscan
from mrelease_ref.scenarios import configs as lru_configs
from mrelease_ref.scenarios import patch2 as p2
from mrelease_ref.series import hooks
from mrelease_ref.series.d.mm import memory as d_memory
from mrelease_ref.series.d.mm import oom_kill as d_oom_kill
from mrelease_ref.series.rfc.mm import memory as rfc_memory
from mrelease_ref.series.v1.mm import memory as v1_memory
from mrelease_ref.sim.cost import ESTIMATED_PRICES_NS, cost_model_for
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
# - per-batch zap of one folio's PTEs → `mm.memory.zap_present_folio_ptes` (mm/memory.c)
# - the PMD-mapped case → `mm.huge_memory.zap_huge_pmd` (mm/huge_memory.c)
# - LRU aging on access → `mm.swap.folio_mark_accessed`, `folio_activate`, the per-CPU
#   `lru_activate` batch (mm/swap.c)
# - "mapped by someone else?" → `include.linux.mm_types.folio_maybe_mapped_shared`,
#   `folio_mapcount` (include/linux/mm.h); CONFIG_MM_ID → `Kernel(mm_id=...)`
# - kswapd's reclaim → `mm.vmscan.shrink_node` → `shrink_lruvec` → `shrink_active_list` /
#   `shrink_inactive_list` → `folio_check_references` (mm/vmscan.c), young-bit harvest
#   `mm.rmap.folio_referenced` (mm/rmap.c); `Kernel.reclaim(nr_pages)` runs it
# - refault detection → `mm.workingset.workingset_eviction`, `workingset_test_recent`,
#   `workingset_refault` (mm/workingset.c), counted as WORKINGSET_REFAULT_FILE (every
#   refault), WORKINGSET_ACTIVATE_FILE (a recent one: activated at once) and
#   WORKINGSET_RESTORE_FILE (a recent one whose shadow carried PG_workingset: the page had
#   been active before it was evicted)
# - "being reaped" → `MMF_UNSTABLE`; draft D's gate → `mm.memory.ZapDetails.ignore_access`
#
# The versions, as the variant table records them (patch 2 column):

# %%
pd.DataFrame(changes_table())[["variant", "skip folio_mark_accessed() (patch 2)"]]

# %% [markdown]
# What the skipped call does. On the classic LRU (these machines run without MGLRU), a young
# PTE moves a folio one rung: inactive and unreferenced → PG_referenced; inactive and
# referenced → queued for activation on this CPU's `lru_activate` batch (a reference held
# until the batch drains, PGACTIVATE when it does) plus a tick of the workingset clock;
# active → PG_referenced. Only the middle rung moves the folio.

# %%
tables.source(swap.folio_mark_accessed)

# %% [markdown]
# ## Patch 2, hunk by hunk
#
# All versions patch one function, the file branch of `zap_present_folio_ptes()`, and nothing
# else on the aging side. The diffs below are of the model's functions, which keep the
# kernel's names and shapes (`mm = tlb.mm` is the model's spelling of `tlb->mm`).
#
# ### RFC 2/3: a skip flag, then a gated call
#
# The RFC adds one local decision and one extra term. After the PTEs are cleared (their
# young and dirty bits collected) and a dirty PTE has been carried into the folio, it
# computes "skip": the mm has MMF_UNSTABLE (a reaper has started on it) *and* the folio has
# fewer than two mappings. The existing "young and the VMA wants recency" test then also
# requires "not skip". Everything after -- rss, TLB range, rmap removal, handing the
# references to the gather -- is unchanged, so the test sees the folio *before* this
# mapping's rmap is removed: the mapping being zapped always counts as one.

# %%
print(source_diff(memory.zap_present_folio_ptes, rfc_memory.zap_present_folio_ptes))

# %% [markdown]
# ### v1 2/3: a different meaning of "exclusive"
#
# David Hildenbrand pointed out that `folio_mapcount()` counts page-table entries, so a large
# folio mapped by several PTEs of one process already has a mapcount above one. v1 replaces
# the test with `!folio_maybe_mapped_shared()`, and that is the only change from the RFC:

# %%
print(source_diff(rfc_memory.zap_present_folio_ptes, v1_memory.zap_present_folio_ptes))

# %% [markdown]
# ### Draft D: the same test behind a different gate
#
# D (combined with patch 1, gated by `PROCESS_MRELEASE_REAP_KILL`) keeps v1's test but
# replaces the mm flag with a new `zap_details.ignore_access` bit...

# %%
print(source_diff(v1_memory.zap_present_folio_ptes, d_memory.zap_present_folio_ptes))

# %% [markdown]
# ...which only D's reaper sets, from a new bool argument: `process_mrelease()` passes its
# REAP_KILL flag, the kernel's OOM reaper passes false. (The details D passes are otherwise
# zero, which on the v6.18 base also turns off `even_cows`; notebook 01 and the D module
# cover that side effect.)

# %%
print(source_diff(oom_kill.__oom_reap_task_mm, d_oom_kill.__oom_reap_task_mm))

# %% [markdown]
# Which model functions each version replaces (`hooks.PATCHED_BY`: the patch of that version
# that replaces the hook, 0 = unchanged). There is no hook for `zap_huge_pmd()`: no version
# touches the PMD path, which still marks accessed -- Baolin Wang
# asked for it (04-22, [b6a6eead-cfd2-4459-9c6d-384dc6cd72d8@linux.alibaba.com]), the
# author agreed, and no posted code did it.
#
# [b6a6eead-cfd2-4459-9c6d-384dc6cd72d8@linux.alibaba.com]: https://lore.kernel.org/r/b6a6eead-cfd2-4459-9c6d-384dc6cd72d8@linux.alibaba.com

# %%
pd.DataFrame(hooks.PATCHED_BY).fillna(0).astype(int).T

# %% [markdown]
# ## The kernels this notebook compares
#
# Patch 1 (evict clean file folios from the gather) acts on the same folios, so two extra
# configurations separate the patches: `"v1 1"` is the prefix the series allows, `"2 alone"`
# is the baseline with only v1's `zap_present_folio_ptes()` swapped in -- never posted, built
# to measure patch 2 by itself. D's reaps pass `PROCESS_MRELEASE_REAP_KILL`.

# %%
pd.Series(p2.CONFIGS, name="what it is").to_frame()

# %% [markdown]
# ## Where the skip applies
#
# One victim per mapping kind, every page touched once (so every page-table entry is young),
# frozen, killed and reaped. The table counts the reap's `folio_mark_accessed()` calls (one
# per zapped batch of PTEs of one folio); the `folios` column says how many there were.

# %%
scope = pd.DataFrame(p2.as_rows(
    p2.skip_scope(c, kind) for c in ("baseline", "rfc 1-2", "v1 1-2", "v1 1-2, no MM_ID", "d")
    for kind in p2.MAPPING_KINDS))
tables.mark_inferred(scope.pivot(
    index=["mapping", "folios"], columns="config", values="mark_accessed")[
    ["baseline", "rfc 1-2", "v1 1-2", "v1 1-2, no MM_ID", "d"]])

# %% [markdown]
# ### Finding: only PTE-mapped file folios lose their aging
#
# - **Anonymous memory is never aged on zap**, patched or not: the anonymous branch of
#   `zap_present_folio_ptes()` ignores the young bit. The patch cannot save anything there.
# - **`MAP_SHARED` file mappings are not reaped at all** (`__oom_reap_task_mm()` skips them),
#   so the reap neither marks nor skips; their fate is decided by the victim's own exit (see
#   the gate's scope below).
# - **A PMD-mapped 2 MiB folio is still marked by every version**: only the PTE path is
#   patched. But with the folio sizes the kernel makes (last row: a 64 MiB file read in
#   order, laid out as the live kernel lays it out, `lab/data/folios.json`), only the 24 MiB
#   past the readahead ramp is PMD-mapped and keeps its aging (12 calls); v1 and D skip the
#   other 2728 folios (40 MiB), the RFC the 2048 4 KiB ones. Files up to 8 MiB read through
#   mmap are 4 KiB folios throughout.
# - **4 KiB folios** are skipped by every version; **64-page folios** (PTE-mapped) only by v1
#   and D, and only with CONFIG_MM_ID -- next section.

# %%
assert scope[scope.mapping.str.startswith("anon")].mark_accessed.eq(0).all()
assert scope[scope.mapping.str.contains("PMD")].mark_accessed.eq(1).all()

# %% [markdown]
# ## The exclusivity test, version by version
#
# Who else maps the victim's folios when it is reaped decides whether the patch skips them.
# The table shows, per case, how many young batches the reap still aged; the baseline column
# is the number of young batches (the baseline ages them all).

# %%
configs = ["baseline", "rfc 1-2", "v1 1-2", "v1 1-2, no MM_ID", "d"]
excl = pd.DataFrame(p2.as_rows(
    p2.exclusivity(c, case) for c in configs for case in p2.EXCLUSIVITY_CASES))
tables.mark_inferred(excl.pivot(index="case", columns="config", values="aged").loc[
    list(p2.EXCLUSIVITY_CASES), configs])

# %% [markdown]
# ### Finding: v1 skips exactly the folios no other address space maps -- with CONFIG_MM_ID
#
# - **A folio another live process maps is aged by every version.** v1's test runs while the
#   victim's own mapping still counts, so "maybe mapped shared" is true as soon as anyone else
#   maps it; the RFC's `mapcount < 2` agrees for 4 KiB folios.
# - **The RFC ages every large folio**, exclusive or not: 64 PTEs of one 64-page folio give a
#   mapcount of 64 (David Hildenbrand's RFC review). v1 with CONFIG_MM_ID tracks which *mm*
#   maps a large folio and skips all four; without CONFIG_MM_ID `folio_maybe_mapped_shared()`
#   answers "shared" for every large folio, so v1 then behaves like the RFC (and the baseline)
#   for them.
# - **A 4 KiB folio the victim maps twice** (two VMAs of the same file) is "shared" when the
#   first VMA is zapped -- the second mapping still exists -- and exclusive at the second: half
#   the batches are aged. With CONFIG_MM_ID, a large folio mapped twice by the same mm is
#   exclusive both times. (The 9 batches for 8 folio mappings: the second VMA is not
#   64-page aligned within a page table, so one folio is zapped in two batches.)

# %%
shared = excl[excl.case.str.contains("live process")]
assert (shared.aged == shared.young_batches).all()

# %% [markdown]
# ## The cost saved
#
# The profile in the commit message (docs/sources.md §T5): in an exit-path unmap of a synthetic
# `mmap_exit_test`, `folio_mark_accessed()` took 55.75% -- 48.79% in
# `__folio_batch_add_and_move()` (the activation batch) and 4.23% in
# `workingset_activation()` -- against 12.94% for rmap removal, 9.86% for page-table
# checking and 3.34% for the TLB flush. So most of the measured cost is the *activation*
# rung, not the call.
#
# The model counts the same events exactly and prices them per event. The prices are the
# **calibrated** ones (the default, `Kernel(cost="calibrated")`): fitted in notebook 05 to
# this machine's live reap times, young against cleared PTEs and cold against referenced
# 4 KiB folios, so `MARK_ACCESSED` and `PGACTIVATE` are what the call and the activation
# cost *in a reap* on this kernel. The round-number estimates the model used before stay
# available as `Kernel(cost="estimated")`; both lists, ns per event:

# %%
EVENTS = ("ZAP_PTE", "MARK_ACCESSED", "PGACTIVATE", "FOLIO_FREE", "PGFREE", "SYSCALL")
prices = pd.DataFrame({"calibrated (used below)": cost_model_for("calibrated").prices_ns,
                       "estimated": ESTIMATED_PRICES_NS}).loc[list(EVENTS)]
prices

# %% [markdown]
# One reap of a 16 MiB private file mapping (4096 pages of 4 KiB, each touched once), for
# three histories of its folios: read in by the victim itself (*first use*); used and
# unmapped by an earlier process, whose zap set PG_referenced (*used before* -- an app
# relaunched after a previous run); or already active. Model time is the clock around the
# `process_mrelease()` call.

# %%
cost = pd.DataFrame(p2.as_rows(
    p2.reap_cost(c, h) for c in ("baseline", "2 alone", "v1 1-2") for h in p2.HISTORIES))
cost.set_index(["config", "history"])

# %% [markdown]
# ### Finding: the saving is the activation rung, and its size is the cost model's assumption
#
# - Patch 2 removes exactly the MARK_ACCESSED and PGACTIVATE events from the reap: the
#   baseline's model time minus patch 2's is exactly their price (`aging_ns`), for every
#   history.
# - What it saves depends on the folios' history, not on the patch: one flag update per
#   page for folios in their first use or already active; one flag update *plus* an
#   activation per page for folios an earlier process used (`pgactivate`: all but the last
#   partial `lru_activate` batch, which drains after the call). Only the second case
#   exercises `__folio_batch_add_and_move()`, the 48.79% of the profile, which suggests the
#   profiled test's folios were mostly in that state.
# - The model's shares (`aging_pct`, printed below) are **not evidence about the 55.75%**: they
#   follow from this machine's reap prices (an x86 VM, a `process_mrelease()` reap, folding
#   rmap removal, page-table checks and TLB work into one price per PTE), while the 55.75% is
#   a perf profile of an Android exit path. The model has no lock contention and no cache
#   misses; it can say *which* work disappears and how often, not how long it took on a
#   phone.
# - With patch 1 in the same kernel (`v1 1-2`) the reap also *frees* the clean folios it
#   evicts: the reaper does reclaim's work up front. Against the baseline's reap that is
#   slower for folios in their first use and faster for folios used before (whose
#   activation the baseline pays), by the ratios printed below.

# %%
c = cost.set_index(["config", "history"])
assert (c.prices == "calibrated").all()
assert (c.loc["baseline"].reap_ns - c.loc["2 alone"].reap_ns).equals(c.loc["baseline"].aging_ns)
ratio = (c.loc["v1 1-2"].reap_ns / c.loc["baseline"].reap_ns).round(1)
assert ratio["first use"] > 1 > ratio["used before"]
c.loc["baseline", ["pages", "mark_accessed", "pgactivate", "aging_pct"]].assign(
    **{"v1 1-2 reap / baseline reap": ratio})

# %% [markdown]
# ## The side effect, measured: a relaunched app
#
# Michal Hocko's objection (docs/sources.md §T4.2 #4, #5) as an experiment. Parameters:

# %%
params = p2.RelaunchParams()
params

# %% [markdown]
# An app maps its 1024-page code file and reads it all at launch. For 12 pressure rounds it
# uses its 768 hot pages; each round another process streams 128 pages of a media file
# through the page cache (mapped, read once, unmapped, like `read()`), and kswapd-style
# reclaim (`Kernel.reclaim(128)`) takes back as many. Reclaim harvests the hot pages' young
# bits: a second reference activates them, and since the hot set is larger than half of
# the file LRU, `shrink_active_list()` keeps deactivating some (only executable mappings
# are protected for being referenced), so at any moment part of the hot set sits on the
# inactive list with PG_referenced. Then the app is frozen, killed and reaped; 2 more
# pressure rounds run; the app is relaunched and touches its hot pages again. 4 KiB
# folios (as the kernel reads a 4 MiB file through mmap), in the fixed-order model
# (`file_folio_order`: no read-around, so each round reads exactly its 128 pages); every
# CPU's LRU batches are drained just before the kill.

# %%
runs = [p2.relaunch(c, params) for c in ("baseline", "2 alone", "v1 1", "v1 1-2")]
pd.DataFrame(p2.as_rows(runs)).set_index("config").drop(
    columns=["idle_rounds", "post_rounds", "folio_order"]).T

# %%
base, alone, v1_only, v1_both = runs
print(f"hot pages at the kill: {base.young_at_kill} of {base.hot_pages} young, "
      f"{base.active_at_kill} active, {base.activatable_at_kill} young, inactive and "
      f"PG_referenced, {base.workingset_at_kill} with PG_workingset")
print(f"activated by the reap: baseline {base.activated_at_reap}, "
      f"patch 2 alone {alone.activated_at_reap}")
print(f"relaunch after {params.post_rounds} pressure rounds: baseline {base.refaults} refaults "
      f"({base.refault_restores} restores), patch 2 alone {alone.refaults} refaults "
      f"({alone.refault_restores} restores)")
print(f"hot pages read again with patch 1: v1 1 {v1_only.pages_read}, v1 1-2 "
      f"{v1_both.pages_read}; refaults counted: {v1_only.refaults}, {v1_both.refaults}")

# %% [markdown]
# How to read it (numbers above): at the kill most hot pages have a young PTE (used since
# reclaim last looked) and part of them are active; nearly all carry PG_workingset, which
# `shrink_active_list()` set when it deactivated them during the pressure rounds. The
# baseline's reap marks the young ones and *activates* those that were inactive with
# PG_referenced (`activated_at_reap` equals `activatable_at_kill`), so they sit at the head
# of the active list when the app is gone. Patch 2 alone leaves them on the inactive list
# as unmapped page cache, where reclaim takes them at the first scan (PG_referenced alone
# does not save an unmapped folio). Two rounds later the baseline's relaunch refaults the
# hot pages its reap left inactive, patch 2's as many pages as the baseline's reap
# activated -- every refault a page read again (`pages_read`).
#
# Every refault here is *recent* (`refault_activations`): its distance is within the
# active file list, the workingset size v6.18 uses for a file refault without swap, so the
# page is activated at once. Because the shadow also carries PG_workingset, a recent
# refault of a page that had been active before its eviction is a **restore**
# (`refault_restores`, WORKINGSET_RESTORE_FILE; the kernel also charges it to the file
# LRU's reclaim cost, `lru_note_cost_refault()`, which the model leaves out). Every page
# patch 2 alone costs the relaunch is a restore: by the kernel's own accounting it was
# working set. The baseline's refaults that are not restores are as many as the hot pages
# that were never active (`hot_pages - workingset_at_kill`).
#
# With patch 1 (`v1 1`, `v1 1-2`) the question changes: the reap itself evicts every
# exclusive clean 4 KiB folio, so the relaunch reads (nearly) the whole hot set again
# (`v1 1` keeps the few still held by an `lru_activate` batch). And `refaults` is 0: patch 1
# removes the folios with `remove_mapping()`, which leaves no shadow entry, so the
# workingset code never learns these pages were evicted.

# %%
assert all(r.refault_activations == r.refaults == r.pages_read for r in (base, alone))
assert base.activated_at_reap == base.activatable_at_kill and alone.activated_at_reap == 0
assert base.refaults == base.hot_pages - base.active_at_kill - base.activated_at_reap
assert alone.refault_restores == alone.refaults
assert base.refaults - base.refault_restores == base.hot_pages - base.workingset_at_kill
assert v1_both.pages_read == v1_both.hot_pages and v1_only.refaults == v1_both.refaults == 0

# %% [markdown]
# The same run with v6.18's readahead and fault paths (`readahead=True`; the streamer reads
# under MADV_RANDOM so a round still brings exactly 128 pages). The 4 MiB app file is 4 KiB
# folios either way (read-around reads it whole at launch), so the state at the kill is the
# same. What changes is the relaunch: its first miss reads around, 2048 pages, so it reads
# the whole file again -- also the 256 pages the app does not use, which reclaim had taken
# with shadow entries during the pressure rounds -- and every config counts those as extra
# refaults. The hot pages cached at the relaunch are the same as above, so patch 2 alone
# still costs the relaunch the same hot pages; only one of its 256 cold pages happened to
# be still cached. v1 1-2 reads all 1024 pages, and the refaults it counts are cold pages
# reclaim evicted before the kill, none of the hot pages patch 1 evicted.

# %%
ra_runs = [p2.relaunch(c, dataclasses.replace(params, readahead=True))
           for c in ("baseline", "2 alone", "v1 1", "v1 1-2")]
ra = pd.DataFrame(p2.as_rows(ra_runs)).set_index("config")
ra_base, ra_alone, _, ra_v1 = ra_runs
kill_state = ["young_at_kill", "active_at_kill", "activatable_at_kill", "workingset_at_kill",
              "marked_at_reap", "activated_at_reap", "cached_after_reap"]
assert all(getattr(a, f) == getattr(b, f) for a, b in zip(runs, ra_runs, strict=True)
           for f in kill_state)
assert ra_v1.pages_read == params.app_pages and ra_v1.refault_activations == 0
cold = params.app_pages - params.hot_pages
assert ra_base.cached_at_relaunch == base.cached_at_relaunch
assert ra_alone.cached_at_relaunch == alone.cached_at_relaunch
assert ra_base.refaults - base.refaults == cold and ra_alone.refaults - alone.refaults == cold - 1
ra.drop(columns=["idle_rounds", "post_rounds", "folio_order", "readahead"],
        errors="ignore").T

# %% [markdown]
# Now the same experiment over the amount of pressure after the kill (0-6 rounds), and with
# one pressure round between the app's last use and the kill (`idle_rounds=1`: the app sat
# in the background while reclaim ran once).

# %%
sweep = pd.DataFrame(p2.as_rows(p2.relaunch_sweep(
    ["baseline", "2 alone", "v1 1-2"], post_rounds=range(7), idle_rounds=(0, 1), base=params)))
sweep.pivot(index=["idle_rounds", "post_rounds"], columns="config",
            values=["refaults", "refault_activations", "pages_read"])

# %% tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
markers = {"baseline": "o", "2 alone": "x", "v1 1-2": "s"}
for ax, (idle, runs_idle) in zip(axes, sweep.groupby("idle_rounds"), strict=True):
    for config, g in runs_idle.groupby("config", sort=False):
        ax.plot(g.post_rounds, g.pages_read, marker=markers[config], label=f"{config}: pages read")
    v1 = runs_idle[runs_idle.config == "v1 1-2"]
    ax.plot(v1.post_rounds, v1.refaults, ls="--", color="grey", label="v1 1-2: refaults counted")
    ax.set_title(f"{idle} reclaim round(s) between last use and kill", fontsize=9)
    ax.set_xlabel("pressure rounds after the kill")
axes[0].set_ylabel("hot pages read again at relaunch")
axes[1].legend(frameon=False, fontsize=7)
fig.tight_layout()
_ = figures.save(fig, "02_relaunch_refaults")
plt.show()

# %% [markdown]
# ### Finding: lost activations turn into refaults only when the kill beats reclaim
#
# Measured before/after, 4 KiB folios, killed right after use (`idle_rounds=0`): refaults
# at relaunch for each amount of pressure after the kill, and the refaults patch 2 alone
# adds (`extra`):

# %%
kill_after_use = sweep[sweep.idle_rounds == 0].pivot(
    index="post_rounds", columns="config", values="refaults")[["baseline", "2 alone"]]
kill_after_use["extra"] = kill_after_use["2 alone"] - kill_after_use["baseline"]
assert kill_after_use.loc[params.post_rounds, "2 alone"] == base.activated_at_reap
assert kill_after_use["2 alone"].max() == base.hot_pages - base.active_at_kill
kill_after_use.T

# %% [markdown]
# At the default two rounds, patch 2 alone refaults as many pages as the baseline's reap
# activated, all of them restores (relaunch table above). With less pressure after the kill
# the gap is smaller, and there is none without pressure; with much more, reclaim works
# through the active list too and the two converge: patch 2 alone then refaults every hot
# page that was inactive at the kill, the baseline nearly as many.
#
# With **one reclaim round between the app's last use and the kill**, the curves are
# identical: that round's `folio_referenced()` already harvested the young bits the reaper
# would have read, and made the activation decisions itself; only a few PTEs are young
# again at the kill and none of their folios is inactive with PG_referenced, so no reap
# activates anything (printed below). This is Michal Hocko's "reclaim has likely aged these
# pages already" (docs/sources.md §T4.2 #5) made concrete: patch 2 changes the outcome only for
# pages used after the last reclaim pass that reached them -- the foreground-to-killed
# case, not a long-cached background app.

# %%
idle1 = sweep[sweep.idle_rounds == 1]
idle1_read = idle1.pivot(index="post_rounds", columns="config", values="pages_read")
assert (idle1_read["baseline"] == idle1_read["2 alone"]).all()
print(f"one idle round: young at the kill {sorted(set(idle1.young_at_kill))}, "
      f"young+inactive+PG_referenced {sorted(set(idle1.activatable_at_kill))}, "
      f"activated by the reap {sorted(set(idle1.activated_at_reap))} "
      f"(of {params.hot_pages} hot pages)")

# %% [markdown]
# ### Finding: with patch 1, the relaunch reads everything and no refault is counted
#
# In the series as posted (v1 1-2, or D with REAP_KILL), patch 2's aging question is moot
# for 4 KiB folios: patch 1 evicts them at the reap, hot or not, so the relaunch reads the
# whole hot set again in every row of the sweep -- more than the baseline after any amount
# of pressure tried. And because eviction goes through `remove_mapping()` without a shadow
# entry, `WORKINGSET_REFAULT_FILE` counts none of these pages: refault-based monitoring
# (and the kernel's own refault-driven deactivation) cannot see this cost. The only refault
# v1 1-2 counts (with `idle_rounds=1`) is a hot page reclaim had already evicted, with a
# shadow, before the kill -- every config counts it (the sweep at 0 rounds after the kill).
# It is not even *recent* (`refault_activations` 0): v6.18 measures the workingset of a
# file refault by the active file list, and patch 1 evicted the app's active pages too.
# With the kernel's read-around at the relaunch (the `readahead=True` run above) the
# relaunch also reads back the app's cold pages, and those that reclaim evicted before the
# kill are counted -- still none of the pages patch 1 evicted.

# %%
by_run = sweep.set_index(["config", "idle_rounds", "post_rounds"])
v1_sweep, base_sweep = by_run.loc["v1 1-2"], by_run.loc["baseline"]
assert (v1_sweep.pages_read == params.hot_pages).all()
# the refaults v1 1-2 counts are exactly the hot pages lost before the kill (baseline view)
assert (v1_sweep.refaults == params.hot_pages - base_sweep.cached_after_reap).all()
v1_sweep[["pages_read", "refaults", "refault_activations"]].unstack("idle_rounds")

# %% [markdown]
# ### Large folios keep patch 2's side effect under v1
#
# The same experiment with 64-page page-cache folios (the ~80-page average docs/sources.md
# §M1.1 saw on an earlier 6.18 build; on these machines 64-page folios are one window of the
# readahead ramp of a file read in order, see the scope table's last row). A 64-page folio
# is zapped as one batch of 64 PTEs, which hands the gather 64 references; patch 1's
# `mapping_evict_folio()` allows only one extra reference, so it evicts none of them
# (docs/sources.md §T6 #5). Patch 2 still skips their aging (with CONFIG_MM_ID).

# %%
large = pd.DataFrame(p2.as_rows(p2.relaunch_sweep(
    ["baseline", "2 alone", "v1 1-2", "v1 1-2, no MM_ID"], post_rounds=range(2, 6),
    base=p2.RelaunchParams(folio_order=6))))
large.pivot(index="post_rounds", columns="config", values="refaults")

# %% [markdown]
# ### Finding: with large folios, v1 keeps the pages cached but loses their activation
#
# With 64-page folios, `v1 1-2` gives exactly the numbers of patch 2 alone: nothing is
# evicted at the reap, and the folios that the baseline's reap would have activated are not
# (`activated_at_reap` below: one 64-page folio here), so after four pressure rounds the
# relaunch refaults that folio's pages on top of the baseline's -- as restores, like every
# refault in this run. Without CONFIG_MM_ID, v1 matches the baseline: every large folio
# counts as shared and keeps its aging. So for PTE-mapped large folios the side effect
# Michal Hocko described is what v1 delivers, while the speed-up it buys is per folio batch
# rather than per page. The granularity is coarse (a 64-page folio is one LRU entry), so the
# size of the effect here is one folio; its direction is the point.
#
# Folio distribution assumed: every folio of the 4 MiB app file is a 64-page folio (the
# fixed-order model, `file_folio_order=6`). The kernel reads a file that small through
# mmap in 4 KiB folios (`lab/data/folios.json`: up to 8 MiB), which is the first relaunch
# experiment: there patch 1 evicts the pages (previous finding). Where the kernel does make
# PTE-mapped large folios -- the readahead ramp of a file read in order beyond its first
# 8 MiB, orders 2 to 8, 32 MiB of every file above 40 MiB -- this finding holds for them:
# v1 keeps them cached (notebook 01, "large folios are evicted only when one entry maps
# them") and skips their aging (the scope table's last row). Evidence: model, on folio
# sizes measured on the live kernel.

# %%
four = large[large.post_rounds == 4].set_index("config")[
    ["activated_at_reap", "refaults", "refault_restores", "pages_read"]]
assert (four.loc["2 alone"] == four.loc["v1 1-2"]).all()
assert (four.loc["baseline"] == four.loc["v1 1-2, no MM_ID"]).all()
assert (four.loc["2 alone", "refaults"] - four.loc["baseline", "refaults"]
        == four.loc["baseline", "activated_at_reap"] == 1 << 6)
assert (four.refault_restores == four.refaults).all()
four

# %% [markdown]
# ## The gate's scope
#
# Which teardowns skip the aging? One victim per row with 64 young 4 KiB file pages: reaped
# by `process_mrelease()` after `kill()`; by `process_mrelease(PROCESS_MRELEASE_REAP_KILL)`
# (where the version has it); by the kernel's OOM killer and its `oom_reaper` thread (a
# second thread blocked in `fsync()` on a hung device, in uninterruptible sleep, keeps the
# mm alive so the reaper, not the exit, zaps it -- a frozen thread would not: v6.18's
# `mark_oom_victim()` thaws the whole process, see notebook 01's gate table; the counts are
# the ones the frozen thread gave: the reaper's zap is unchanged); by a plain
# exit; and -- a `MAP_SHARED` mapping the reaper skips -- by the victim's own `exit_mmap()`
# after a `process_mrelease()`. The cells count `folio_mark_accessed()` calls (64 = all
# aged, 0 = all skipped, `<NA>` = the version has no such call).

# %%
gate = pd.DataFrame(p2.as_rows(
    p2.gate_scope(c, e) for c in ("baseline", "rfc 1-3", "v1 1-3", "d") for e in p2.GATE_EVENTS))
tables.mark_inferred(gate.pivot(index="event", columns="config", values="aged").astype("Int64").loc[
    list(p2.GATE_EVENTS), ["baseline", "rfc 1-3", "v1 1-3", "d"]])

# %% [markdown]
# ### Finding: v1's gate also covers the kernel's OOM reaper and the victim's own exit
#
# v1 (and the RFC) key the skip on MMF_UNSTABLE, which `__oom_reap_task_mm()` sets for
# *every* caller: the kernel's OOM reaper skips the aging exactly like `process_mrelease()`,
# as David Hildenbrand pointed out ([7f98f461-62a7-455d-a7a8-cb8928465946@kernel.org]; he
# later said he would want it for any OOM reaping,
# [af21185c-3390-4566-bf28-ce79e13182dc@kernel.org]). The flag also stays set when the
# victim's own `exit_mmap()` later zaps what the reaper left: its `MAP_SHARED` pages -- which
# the reaper deliberately does not touch -- lose their aging too. Only a normal exit ages.
# Draft D confines the skip to the REAP_KILL reap itself (Minchan Kim,
# [afJ7FPkNK6cxUxSe@google.com]): OOM reaper, plain `process_mrelease()` and the later exit
# all age as in v6.18.
#
# [7f98f461-62a7-455d-a7a8-cb8928465946@kernel.org]: https://lore.kernel.org/r/7f98f461-62a7-455d-a7a8-cb8928465946@kernel.org
# [af21185c-3390-4566-bf28-ce79e13182dc@kernel.org]: https://lore.kernel.org/r/af21185c-3390-4566-bf28-ce79e13182dc@kernel.org
# [afJ7FPkNK6cxUxSe@google.com]: https://lore.kernel.org/r/afJ7FPkNK6cxUxSe@google.com

# %% [markdown]
# ## kswapd's reclaim in the model
#
# The side-effect experiments rest on `mm/vmscan.c`'s classic LRU rules, added to the model
# for this notebook. The decision that matters most here, in the model's code:

# %%
tables.source(vmscan.folio_check_references)

# %% [markdown]
# ## Review points for patch 2 (docs/sources.md §T4.2)
#
# Who raised what, the answer, whether it was settled, and the experiment above that speaks
# to it (paraphrased; Message-IDs in docs/sources.md §T1.3):

# %%
tables.collapsed(pd.DataFrame(p2.as_rows(p2.REVIEW_POINTS)).set_index("number"),
                 "review points on patch 2, one row each", "p2.REVIEW_POINTS")

# %% [markdown]
# What the model adds to each point:
#
# 1. *mapcount vs large folios (David Hildenbrand):* confirmed -- the RFC ages every
#    PTE-mapped large folio, v1 skips exactly the unshared ones, given CONFIG_MM_ID.
# 2. *PMD-mapped folios (Baolin Wang):* still aged in every version, D included.
# 3. *why only for reaping (Michal Hocko):* the model can say what the aging costs a reap
#    (one call per folio batch, plus an activation for folios with PG_referenced) but not
#    whether a normal exit should pay it; that is a policy question.
# 4. *refaults (Michal Hocko):* measured -- in the default relaunch, patch 2 alone refaults
#    as many pages as the baseline's reap activated, on top of what the baseline refaults,
#    and every one of them is a restore (WORKINGSET_RESTORE_FILE: the page had been
#    active); with patch 1 in the series the whole hot set is read again and no refault is
#    counted for it.
# 5. *reclaim already aged them (Michal Hocko):* measured -- one reclaim pass between the
#    last use and the kill makes baseline and patch 2 identical.
# 6. *side effects for every caller (Michal Hocko):* D's gate limits them to REAP_KILL reaps
#    (gate table); v1's reach the OOM reaper and later exits.
# 7. *not process_mrelease-specific (David Hildenbrand):* confirmed for v1 and the RFC (gate
#    table); the interaction with reclaim is the previous two points.
# 8. *details through `zap_vma_for_reaping()` (David Hildenbrand):* an API question on a
#    newer base the model does not have.
# 9. *meaning of MMF_UNSTABLE:* the model sets it where v6.18 does (reaper, not fork failure,
#    which the model has no path for); the gate table shows what keying on it implies.

# %% [markdown]
# ## Under MGLRU
#
# Android kernels run the multi-gen LRU (CONFIG_LRU_GEN, enabled at run time); these
# machines and every result above use the classic two-list LRU. `Kernel(lru_gen=True)`
# models v6.18's multi-gen paths. Three of them matter for patch 2:
#
# - the call patch 2 skips, `folio_mark_accessed()`, ends in `lru_gen_inc_refs()`: it counts
#   the access in the folio's flags (PG_referenced, then a two-bit counter, then
#   PG_workingset) and activates nothing;
# - kswapd reclaims by generation (`lru_gen_shrink_node()`): faulted pages join a young
#   generation, the aging walks the page tables (clearing young bits, promoting what it
#   finds young on its second sighting), and eviction takes the oldest generation, protecting
#   folios whose access count puts them in a tier the refault statistics say is hot;
# - a refault is "recent" when its generation is within four of the youngest
#   (`lru_gen_test_recent()`), not by the classic refault distance.
#
# Who calls `folio_mark_accessed()` does not depend on the LRU: the scope, exclusivity and
# gate tables are identical under MGLRU (the table at the end of this section re-runs
# them). What the skipped call would have done is what changes:

# %%
tables.source(swap.folio_mark_accessed)

# %% [markdown]
# ### The cost saved, with calibrated prices
#
# The reap of 4096 private file pages again, for each folio history, on both LRUs, priced
# with the lab's calibrated prices (`calibrated_cost_model()`, fitted on this machine):

# %%
cal = calibrated_cost_model()
{k: cal.prices_ns[k] for k in ("ZAP_PTE", "MARK_ACCESSED", "PGACTIVATE")}

# %%
lru_cost = pd.DataFrame([
    {"LRU": "MGLRU" if lg else "classic", **dataclasses.asdict(r)}
    for lg in (False, True)
    for r in (p2.reap_cost(c, h, lru_gen=lg, cost_model=cal)
              for c in ("baseline", "2 alone") for h in p2.HISTORIES)])
saving = lru_cost.pivot(index=["LRU", "history"], columns="config", values="reap_ns")
saving["saved by patch 2 (ns)"] = saving["baseline"] - saving["2 alone"]
saving["saved (% of the baseline reap)"] = (
    100 * saving["saved by patch 2 (ns)"] // saving["baseline"])
saving.join(lru_cost[lru_cost.config == "baseline"].set_index(["LRU", "history"])[
    ["mark_accessed", "pgactivate"]])

# %% [markdown]
# Under MGLRU the baseline's reap activates nothing in any history: every folio pays one
# flag update, so patch 2 saves the same for every history -- in the model, with these
# prices, the classic LRU's *first use* share, about half of the reap, instead of about
# nine tenths for folios an earlier process used. (The calibrated `MARK_ACCESSED` price was
# fitted on this machine's classic LRU, where it is the flag-only rung; that
# `lru_gen_inc_refs()` costs the same -- one atomic update of `folio->flags` either way --
# is an assumption [I].)
#
# This also says something about the profile in the commit message: it puts 48.79% of the
# unmap in `__folio_batch_add_and_move()` under `folio_mark_accessed()`. With the multi-gen
# LRU enabled, v6.18's `folio_mark_accessed()` returns after `lru_gen_inc_refs()` and never
# reaches `folio_activate()` (`mm/swap.c`), so that call graph was recorded on the classic
# path, with MGLRU off on the profiled kernel [I: read from the source; the thread does not
# give the profiled kernel's configuration].

# %% [markdown]
# Baolin Wang's PMD-mapped folios (review point 2) are aged by every version, on both LRUs
# (the scope table). On this machine the lab measured what that aging costs a reap of
# PMD-mapped private file pages, read first so the folios are PG_referenced (notebook 05,
# young minus cleared):

# %%
pmd_share = load_calibration().mark_accessed_share("file_pmd")
f"folio_mark_accessed() share of a PMD-mapped file reap, this machine: {pmd_share:.0%}"

# %% [markdown]
# That share is the classic LRU's activation of a referenced 2 MiB folio (a large folio
# skips the per-CPU batch and is moved under the LRU lock at once). Under MGLRU the same
# call is one flag update per 2 MiB folio, so on the device the series targets the
# PMD-mapped case that patch 2 leaves alone costs the reap far less than this measurement
# suggests [I: from the v6.18 source; MGLRU cannot be measured on this machine].

# %%
mg = saving.loc["MGLRU"]
assert (lru_cost[lru_cost.LRU == "MGLRU"].pgactivate == 0).all()
assert mg["saved by patch 2 (ns)"].nunique() == 1
assert (mg["saved by patch 2 (ns)"] == saving.loc[("classic", "first use"),
                                                  "saved by patch 2 (ns)"]).all()
assert saving.loc[("classic", "used before"), "saved by patch 2 (ns)"] > mg[
    "saved by patch 2 (ns)"].max()

# %% [markdown]
# ### The relaunch under MGLRU
#
# The same relaunch experiment (same parameters) on multi-gen LRU kernels, beside the
# classic runs above:

# %%
mg_runs = [p2.relaunch(c, params, lru_gen=True) for c in ("baseline", "2 alone", "v1 1",
                                                          "v1 1-2")]
both = pd.concat({
    "classic": pd.DataFrame(p2.as_rows(runs)).set_index("config"),
    "MGLRU": pd.DataFrame(p2.as_rows(mg_runs)).set_index("config"),
}).drop(columns=["idle_rounds", "post_rounds", "folio_order", "hot_pages"])
both.T

# %% [markdown]
# How to read it:
#
# - **Few young PTEs at the kill.** Each pressure round needs the aging (the streamer's
#   faulted pages join a young generation, so reclaim must open new generations to evict
#   them), and the aging's page-table walk clears every young bit it finds. The hot pages'
#   use is harvested by the aging before the kill, not by the reaper; "active" here means
#   the two youngest generations.
# - **Patch 2 alone changes nothing at the relaunch:** the baseline's reap marks the few
#   young pages accessed, which only counts accesses (no activation: `activated_at_reap`
#   is 0). Baseline and patch 2 alone refault exactly the same pages -- here and, run
#   separately, for 0 to 6 pressure rounds after the kill with 0 or 1 idle rounds before
#   it. Michal Hocko's objection -- lost activations come back as refaults -- has nothing
#   to act on in this workload.
# - **Where a difference could remain:** the access count the reap adds can move a folio
#   up a *tier* (two accesses: tier 1). Eviction protects the tiers whose refault rate the
#   PID controller finds above the first tier's (`get_tier_idx()`), which needs at least
#   MIN_LRU_BATCH (64) refaults per tier; this workload never gets there (every eviction
#   here ran with no tier protected), a busy device may. Then a hot page the reap marked
#   would survive one more eviction pass without patch 2 [I: from the v6.18 rules; not
#   produced by this experiment].
# - **Patch 1 still evicts the whole hot set** (`pages_read` is every hot page), and the
#   refaults counted are only the hot pages reclaim had evicted before the kill, as on the
#   classic LRU: patch 1's evictions leave no shadow. Unlike the classic LRU, v1 1/3 alone
#   also evicts all of it (no batch reference, see notebook 01 "Under MGLRU").
# - A caveat on the workload: the streamer maps its file, so its pages enter a young
#   generation. A `read(2)` stream would enter the oldest generation instead and be evicted
#   with less aging; this section does not model that variant.

# %%
fig, ax = plt.subplots(figsize=(7, 3.2))
labels = [r.config for r in runs]
width = 0.38
for i, (lru, rs) in enumerate((("classic LRU", runs), ("MGLRU", mg_runs))):
    xs = [j + (i - 0.5) * width for j in range(len(rs))]
    ax.bar(xs, [r.pages_read for r in rs], width, label=f"{lru}: hot pages read again",
           color=("tab:blue", "tab:orange")[i])
    ax.scatter(xs, [r.refaults for r in rs], marker="_", s=400, color="black",
               label="refaults counted" if i else None, zorder=3)
ax.set_xticks(range(len(labels)), labels)
ax.set_ylabel(f"pages (of {params.hot_pages} hot)")
ax.set_title("Relaunch after 2 pressure rounds, classic LRU vs MGLRU", fontsize=9)
ax.legend(frameon=False, fontsize=7)
fig.tight_layout()
_ = figures.save(fig, "02_relaunch_mglru")
plt.show()

# %%
mg_base, mg_alone, mg_v1_only, mg_v1_both = mg_runs
assert mg_base.activated_at_reap == mg_alone.activated_at_reap == 0
assert (mg_base.refaults, mg_base.pages_read) == (mg_alone.refaults, mg_alone.pages_read)
assert mg_v1_only.pages_read == mg_v1_both.pages_read == params.hot_pages
assert mg_v1_both.refaults == params.hot_pages - mg_base.cached_after_reap

# %% [markdown]
# ### This notebook's findings by configuration
#
# Each finding re-run on three configurations (`mrelease_ref.scenarios.configs`; the
# README's "on Android" column is tested against it): the default, MGLRU alone, and
# `Kernel.android()` (arm64, 16 KiB pages, MGLRU, order-0 page cache as on `/data`).
# Findings about *who* calls `folio_mark_accessed()` re-run their evidence table; the
# others their own claim. Patch 2's saving is priced with the lab's calibrated prices
# (`calibrated_cost_model()`) in every column.

# %%
by_config = lru_configs.finding_by_config("02")
pd.DataFrame(lru_configs.as_table(by_config)).set_index("finding")

# %% [markdown]
# - **Holds on both:** the scope of the skip (PTE-mapped file folios only; Baolin Wang's
#   PMD-mapped folios are still aged), v1's exclusivity test, the gate's reach to the OOM
#   reaper and the victim's own exit, and "with patch 1 the relaunch reads everything".
# - **Classic LRU only:** the saving as the activation rung, lost activations as refaults,
#   and large folios losing their activation. On the device the series is for, patch 2
#   saves one flag update per young PTE batch and, in this workload, costs no refaults;
#   what remains of its trade-off is patch 1's.
# - **arm64** changes nothing in these results: the model's zap and gather path is the
#   generic one on both (`sim/kernel.py`, `arch=`).
# - **On Android** (`Kernel.android()`) the same three fail as under MGLRU. With an order-0
#   page cache there is no PMD-mapped file folio left, so patch 2 removes *all* file aging
#   in the reap, and `CONFIG_MM_ID` no longer matters to v1's exclusivity test; the
#   large-folio finding is moot (no 64-page folios on `/data`).

# %%
assert all(r.holds_default for r in by_config)
assert [r.finding for r in by_config if not r.holds_android] == [
    r.finding for r in by_config if not r.holds_mglru]
assert [r.finding for r in by_config if not r.holds_mglru] == [
    "the saving is the activation rung, and its size is the cost model's assumption",
    "lost activations turn into refaults only when the kill beats reclaim",
    "with large folios, v1 keeps the pages cached but loses their activation",
]

# %% [markdown]
# ## Try it

# %%
# Try it: the relaunch under another kernel or pressure schedule
# (mrelease_ref.widgets.reap.relaunch_panel: each change is one fresh model run, shown as a table).
from mrelease_ref.widgets.reap import relaunch_panel

relaunch_panel().box

# %% [markdown]
# ## Limitations
#
# - The LRU is small (about a thousand pages), one node, no memcg
#   (`tests/test_limitations.py::test_no_memcg_numa_options`). The multi-gen LRU is
#   modelled from v6.18's source only ("Under MGLRU"; no live-kernel check here)
#   (`tests/test_limitations.py::test_mglru_is_source_only_with_exact_filters`).
# - Pressure is explicit (`Kernel.reclaim()` after a streaming reader) rather than
#   watermark-driven, and the reclaim model leaves out the anon/file cost balancing, the
#   restore's `lru_note_cost_refault()` and the "deactivate when refaults were seen" rule
#   (`tests/test_limitations.py::test_no_lru_cost_balancing`). Refault detection follows
#   v6.18's `workingset_test_recent()` for one node without memcg: a file refault is recent
#   if its distance is within the active file list (plus the anon lists when swap has room;
#   there is no swap here).
# - The relaunch is one parameter set and a sweep of two knobs; the numbers are orderings and
#   counts of pages for that workload, not a forecast for any device. Model time is a price
#   per kernel event (calibrated on this machine), with no lock contention or cache misses
#   (`tests/test_limitations.py::test_cost_model_prices_events`).
# - "2 alone" and "v1 1-2, no MM_ID" are constructions for measurement; the RFC's patch 1 is
#   inferred; D is an intention-only draft, reaped here with REAP_KILL
#   (`tests/test_limitations.py::test_posted_code_not_retrieved_is_marked_inferred`).
# - Reads complete at once (no fault-around skip of a folio under I/O), so the relaunch's
#   reads are the model's readahead windows without the kernel's timing
#   (`tests/test_limitations.py::test_reads_complete_at_once`).
#
# ## Checks
#
# `tests/test_scenarios_patch2.py` runs every experiment with the invariant checker on
# (`debug_vm=True`: refcounts, mapcounts, rss, LRU lists, page conservation after every call)
# and checks each relationship narrated here, with expected counts derived from the
# experiments' parameters; the cells above assert the claims the prose makes about the
# printed numbers. `tests/test_mm_vmscan_reclaim.py` and `tests/test_mm_workingset.py`
# check the reclaim and workingset rules one by one. The assertions below restate the
# findings' claims against the numbers above.

# %%
assert scope[scope.mapping.str.startswith("anon")].mark_accessed.eq(0).all()  # PTE-only
assert scope[scope.mapping.str.contains("PMD")].mark_accessed.eq(1).all()
assert (c.prices == "calibrated").all()  # the cost table's prices
assert (c.loc["baseline"].reap_ns - c.loc["2 alone"].reap_ns).equals(c.loc["baseline"].aging_ns)
assert kill_after_use["extra"].max() > 0  # lost activations can turn into refaults
assert (v1_sweep.pages_read == params.hot_pages).all()  # patch 1: everything read again
assert (four.loc["2 alone"] == four.loc["v1 1-2"]).all()  # large folios: v1 = patch 2 alone

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
# # 06 · LMKD on an Android-like device: kills saved, memory recovered, relaunch cost
#
# **The question.** The series exists because Android's low memory killer kills more apps
# than it needs to: `process_mrelease()` unmaps a victim's clean file pages but leaves them
# in the page cache, so free memory stays under LMKD's watermark and LMKD kills again
# (the cover letters of [RFC][rfc0] and [v1][v10]). Michal Hocko asked for data. User-space
# killers report the same symptom (earlyoom issues rfjakob/earlyoom#309 and #121: it "kills
# more than required when RAM isn't cleaned fast enough"). *On a phone-like device, how
# many kills does each version of the series save, how fast is memory back, and what does
# a killed app pay when it is launched again?*
#
# **What is modelled and what is assumed.** Every kill, reap, fault and reclaim runs through
# the reference model: LMKD's reaper thread calls `pidfd_send_signal()` and
# `process_mrelease()` on a `Kernel` of the variant, victims exit through `do_exit()`, kswapd
# is `shrink_node()`, and the time a reap takes is the model's clock priced by the live
# kernel's calibration. The device around it -- sizes, rates, LMKD's policy, the workload --
# is a set of parameters: sourced where a source exists, estimated otherwise
# (docs/sources.md §L7 gives the scenario the defaults follow). Findings below say which.
# Evidence for every finding: **model**.
#
# **Contents.** [The device](#the-device) · [A kill, as LMKD makes it](#a-kill-as-lmkd-makes-it) ·
# [The default scenario](#the-default-scenario-kernel-by-kernel) ·
# [Redundant kills](#redundant-kills-kill-by-kill) ·
# [How fast memory comes back](#how-fast-memory-comes-back) ·
# [What a killed app pays](#what-a-killed-app-pays-when-it-comes-back) · [Sweeps](#sweeps) ·
# [On Android](#on-android) · [Calibrated or estimated](#what-is-calibrated-what-is-estimated) ·
# [Try it](#try-it-the-panel) · [Limitations](#limitations) · [Checks](#checks)
#
# [rfc0]: https://lore.kernel.org/r/20260413223948.556351-1-minchan@kernel.org
# [v10]: https://lore.kernel.org/r/20260421230239.172582-1-minchan@kernel.org

# %%
import inspect
import statistics

import matplotlib.pyplot as plt
import pandas as pd

from mrelease_ref.include.linux.mm_types import MM_ANONPAGES
from mrelease_ref.lab.calibration import calibrated_cost_model, load_calibration
from mrelease_ref.lmkd import policy, sim, stats, sweeps, zygote
from mrelease_ref.lmkd.device import DeviceConfig, build_device, folio_layout
from mrelease_ref.lmkd.sim import VARIANTS, Scenario
from mrelease_ref.scenarios import configs
from mrelease_ref.viz import figures
from mrelease_ref.viz import lmkd as lmkd_viz
from mrelease_ref.widgets.lmkd import lmkd_panel

pd.set_option("display.max_colwidth", None)
pd.set_option("display.width", 200)

# %% [markdown]
# ## The device
#
# A "4 GB" phone (3700 MiB usable): an unkillable base of 1600 MiB (kernel, native daemons,
# system_server, systemui, and the zygote's 16 MiB heap), the zygote with 300 MiB of
# preloaded framework files, apps in ActivityManager's oom_score_adj bands, about 250 MiB
# of other page cache, and free memory at the high watermark (8/41/74 MiB min/low/high,
# derived for a 4 GB 1080p device). Each app holds anonymous memory (plus its zram
# footprint as anonymous pages: there is no swap device), 70 MiB of the zygote's files, an
# exclusive APK of its own (12.5 % of its file RSS by default), and 1 MiB of dirty pages in
# a MAP_SHARED database file. The kernel is arm64 (the same generic `mmu_gather` path as
# x86_64) with the classic two-list LRU unless a result says "MGLRU", and every page-cache
# page is a single-page folio unless a result says "readahead's folios" (next section).
#
# One model page stands for 16 device pages (64 KiB): `tests/test_lmkd.py` checks this
# aggregation against the full model (every 4 KiB page modelled) on a small device -- same
# victims, reap outcomes and MiB evicted, kill times within 100 ms.

# %%
cfg = DeviceConfig()
dev = build_device(cfg, "baseline", seed=0)
apps = pd.DataFrame([
    {"app": a.spec.name, "role": a.spec.role, "adj": a.adj,
     "anon + zram MiB": round(a.spec.anon_mb + a.spec.swapped_mb / cfg.zram_ratio, 1),
     "exclusive file MiB": round(a.spec.excl_mb, 1), "zygote files MiB": a.spec.shared_mb}
    for a in dev.apps
])
apps

# %%
mem = {k: round(v * cfg.scale / 1024) for k, v in dev.kernel.meminfo().items()
       if k in ("MemTotal", "MemFree", "Cached", "AnonPages", "Unevictable", "Mapped")}
mem

# %% [markdown]
# ### Which page-cache folios: two layouts
#
# What a v1 reap can evict depends on the folio a page sits in: a folio that one gather
# entry holds alone (a single page, or a PMD-mapped 2 MiB folio on x86_64 and arm64) is
# evicted, a PTE-mapped large folio never is (notebook 01, "large folios are evicted only
# when one entry maps them"). Every result below says which of two layouts it assumes:
#
# - **single-page folios** (the default, `DeviceConfig(file_folio_order=0)`): every
#   page-cache page its own folio, as v6.18 gives a phone's `/data` (below);
# - **readahead's folios** (`DeviceConfig(file_folio_order=None)`): v6.18's
#   readahead chooses each folio as an app first reads its files through mmap. The first
#   8 MiB window of a file (`read_ahead_kb` 8192, this VM's value) is read around at order
#   0 -- 4 KiB folios --, and each further window at an order two higher (16 KiB, 64 KiB,
#   256 KiB, 1 MiB), 2 MiB only past the first 40 MiB. Aggregated, the first window is
#   single model pages (evicted like 4 KiB folios) and the rest PTE-mapped large model
#   folios (kept, like the device's). The device's 2 MiB folios, PMD-mapped and so
#   evictable, become PTE-mapped model folios: only APKs over 40 MiB have any, at most
#   5 MiB each (`tests/test_lmkd.py::test_aggregation_holds_2mib_folios_as_pte_mapped_folios`).
#
# **Which layout a phone has depends on the filesystem that holds the APKs.** Readahead
# builds large folios only in a mapping that supports them (mm/readahead.c:
# `page_cache_ra_order()` falls back to order 0 when `mapping_large_folio_support()` is
# false). At v6.18 f2fs never enables them (nothing under fs/f2fs/ calls
# `mapping_set_large_folios()` or `mapping_set_folio_order_range()`), and ext4 enables
# them only without data journalling, encryption or verity on the filesystem
# (fs/ext4/inode.c: `ext4_should_enable_large_folio()`, called by
# `ext4_set_inode_mapping_order()`). Android keeps installed APKs on `/data`, which is
# f2fs or ext4 with file-based encryption [inference from the Android platform's
# userdata set-up, not checked on a device], so on a phone with a v6.18 kernel every APK
# page is a 4 KiB folio: the **single-page** layout is the phone's; readahead's layout is
# that of a filesystem with large folios (ext4 without encryption, xfs), this VM's, and
# the "beyond Android" case. **The judgement call:** the device models a phone, so its
# default is the single-page layout; readahead's layout stays a named option and a sweep
# axis, and every result below is given for both where they differ. (The model's fixed
# layout reads one model page per miss where f2fs would read a readahead window of single
# pages; that changes only when the launching app's own file pages arrive, not what a
# reap can evict.)
#
# The apps' APKs by folio kind (device MiB, `folio_layout()`), on the default device and
# with readahead's folios:

# %%
READAHEAD = DeviceConfig(file_folio_order=None)
dev_ra = build_device(READAHEAD, "baseline", seed=0)
layout = pd.DataFrame([
    {"app": a.spec.name, "APK MiB": round(a.spec.excl_mb, 1),
     **{f"{k} (default)": round(v, 1) for k, v in folio_layout(cfg, a.excl_file).items()
        if k != "PMD-sized"},
     **{f"{k} (readahead)": round(v, 1)
        for k, v in folio_layout(READAHEAD, b.excl_file).items()}}
    for a, b in zip(dev.apps, dev_ra.apps, strict=True)])
layout.set_index("app")

# %%
assert all(abs(r["single page (default)"] - r["APK MiB"]) < 0.1
           and abs(r["single page (readahead)"] - min(8.0, r["APK MiB"])) < 0.1
           for r in layout.to_dict("records"))
assert layout["PMD-sized (readahead)"].sum() == 0

# %% [markdown]
# ### Apps are forked from the zygote
#
# Every app is `fork()`ed from the zygote (`Process.fork()`: the model's `copy_process()`
# and `dup_mmap()`), which has mapped its preloaded files and written a 16 MiB heap
# (launcher3's boot-image "shared dirty" is 16 MB, docs/sources.md §L3.1). The child
# shares the heap copy-on-write and, by assumption, writes a quarter of it, copying 4 MiB;
# it maps the framework pages it touches as it faults them. A kill frees the app's own
# memory and its copies; the 12 MiB of heap it still shares stay, mapped by the zygote:

# %%
print(inspect.getsource(zygote.zygote_fork))
print(inspect.getsource(zygote.exclusive_anon_pages))

# %%
shares = pd.DataFrame([{
    "app": a.spec.name, "RssAnon MiB": cfg.mb(a.process.task.mm.rss_stat[MM_ANONPAGES]),
    "freed by a kill MiB": cfg.mb(zygote.exclusive_anon_pages(a.process.task.mm)),
    "shared with the zygote MiB": cfg.mb(a.process.task.mm.rss_stat[MM_ANONPAGES]
                                         - zygote.exclusive_anon_pages(a.process.task.mm))}
    for a in dev.apps[:4]])
shares.set_index("app")

# %%
assert (shares["shared with the zygote MiB"] == 12.0).all()

# %% [markdown]
# **What changed with `fork()`.** The first version of this notebook built each app as a
# fresh process that mapped the zygote's files, and had no zygote heap. With `fork()` and
# single-page folios (that version's layout, the default again) the run kills the same
# apps as before
# -- baseline 11, v1 9 -- and v1 evicts the same 159 MiB: the heap moved out of the
# unkillable base, so the RAM the apps hold is unchanged. What changed is what RssAnon
# says. Each victim's RssAnon now includes 12 MiB that its kill does not free: the kill
# tables below count as "anon freed" only the pages the victim maps alone (smaps
# Private), and so does "given up" in the redundant-kill test. LMKD, which picks
# perceptible victims by RSS, sees the 12 MiB too; every app shares the same amount, so no
# choice changes.

# %% [markdown]
# ## A kill, as LMKD makes it
#
# LMKD (AOSP's PSI "new strategy", reduced to the two reasons the redundant-kill story is
# about) polls every 10 ms after a PSI event. Below the **high** watermark it kills a
# cached app (`LOW_MEM`, adj >= 701); on the first poll after a kill, below **low**, it
# kills down to adj 0 (`PRESSURE_AFTER_KILL`). Between kills it waits for the victim's
# pidfd or 100 ms. The kill itself runs on a reaper thread through the model's system
# calls:

# %%
print(inspect.getsource(sim._Run.reaper_start))

# %% [markdown]
# The victim is frozen (Android freezes cached apps) until the reaper has entered
# `process_mrelease()`, unless it wins the race: with probability `p_esrch` (0.2 by
# default; no public number exists, docs/sources.md §L0.4) it runs its exit up to
# `exit_mm()` first, and the call fails with ESRCH. Of those, 40 % had a
# `/proc/<pid>/cmdline` reader holding `mm_users` for 5-500 ms, which then runs
# `exit_mmap()` itself. With a REAP_KILL variant the reaper makes one
# `process_mrelease(pidfd, PROCESS_MRELEASE_REAP_KILL)` instead, which grabs the mm before
# it sends SIGKILL.
#
# The policy's decision:

# %%
print(inspect.getsource(policy.decide))

# %% [markdown]
# ## The default scenario, kernel by kernel
#
# At t = 0.5 s the user launches a game: 800 MiB of anonymous memory and 150 MiB of files
# (30 % of it its own APK) over 1.5 s. Reclaim runs at 200 MiB/s (kswapd; direct reclaim
# 240 MiB/s): the model has no refault-driven stall, so pressure -- and LMKD's PSI trigger --
# arises when reclaim cannot keep up with the launch, and these rates put the device there
# (the sweeps below show where it stops). At t = 5 s the first victim is launched again.
#
# The six kernels: v6.18 (`baseline`); v1's patches 1 and 2 without REAP_KILL (`v1 1+2`,
# `Kernel(variant="v1", patches=2)`); all of v1, draft D, v2 and v3, whose LMKD uses
# `PROCESS_MRELEASE_REAP_KILL`. Seed 0, single-page folios, classic LRU:

# %%
runs = stats.run_all(Scenario(), VARIANTS)
summary = pd.DataFrame([r.summary() for r in runs.values()]).drop(columns="seed")
summary.set_index("variant")

# %% [markdown]
# The same run with readahead's folios (this VM's ext4):

# %%
runs_ra = stats.run_all(Scenario(device=READAHEAD), ("baseline", "v1"))
pd.DataFrame([r.summary() for r in runs_ra.values()]).drop(columns="seed").set_index(
    "variant")

# %%
fig = lmkd_viz.free_memory(
    {"baseline": runs["baseline"], "v1": runs["v1"], "v3": runs["v3"],
     "v1, readahead's folios": runs_ra["v1"]}, t_max_ms=2500,
    title="free memory during the launch (default scenario, seed 0)")
_ = figures.save(fig, "06_lmkd_free_memory")
plt.show()

# %% [markdown]
# Every drop under the high line during the launch is answered by a kill (the ticks above
# the curves). With single-page folios v1 evicts each victim's whole APK at its reap
# (159 MiB over the run) and kills 9 apps where the baseline, v2 and v3 kill 11. With
# readahead's folios v1 evicts 81.5 MiB -- the first 8 MiB window of each victim's APK --,
# which delays its later kills but saves none of them in this run: the same eleven apps
# die. The answer depends on the filesystem's folio layout.
#
# Over ten seeds, for both layouts and both LRUs (the cached apps' sizes and the race
# draws change with the seed; stored sweep, see "Sweeps"). `MGLRU` is
# `DeviceConfig(lru_gen=True)`: the device's kernel runs the multi-gen LRU
# (`Kernel(lru_gen=True)`), as Android kernels do:

# %%
stored = sweeps.load_sweeps()
LAYOUTS = {None: "readahead's folios", 0: "single-page folios"}


def config_label(row: dict) -> str:
    return f"{'MGLRU' if row['x'] else 'classic LRU'}, {LAYOUTS[row['y']]}"


by_config = [{**r, "config": config_label(r)} for r in stats.summarise(
    stored["sweeps"]["variants"], ["x", "y", "variant"])]
CONFIGS = [config_label({"x": x, "y": y}) for x in (False, True) for y in (0, None)]
pd.DataFrame(by_config).pivot(index="variant", columns="config", values="kills").loc[
    list(VARIANTS), CONFIGS]

# %%
fig = lmkd_viz.kills_by_config(by_config, title="kills per run, 10 seeds, 95 % t-interval")
_ = figures.save(fig, "06_lmkd_kills")
plt.show()

# %% [markdown]
# Kills saved against the baseline, paired by seed (mean and 95 % half-width):

# %%
saved_rows = []
for lru in (False, True):
    for order in (0, None):
        part = [r for r in stored["sweeps"]["variants"] if r["x"] == lru and r["y"] == order]
        for kernel in ("v1", "v1 1+2", "d", "v3"):
            ps = stats.paired_saving(part, [], "baseline", kernel)[0]
            saved_rows.append({"config": config_label({"x": lru, "y": order}),
                               "kernel": kernel, "saved": ps["saved"], "±": ps["±"]})
saved = pd.DataFrame(saved_rows)
saved.pivot(index="kernel", columns="config", values=["saved", "±"]).reindex(
    columns=CONFIGS, level=1)

# %%
seed0 = {(r["x"], r["y"], r["variant"]): r["kills"] for r in stored["sweeps"]["variants"]
         if r["seed"] == 0}
assert {v: r.n_kills for v, r in runs.items()} == {v: seed0[(False, 0, v)] for v in VARIANTS}
assert {v: r.n_kills for v, r in runs_ra.items()} == {
    v: seed0[(False, None, v)] for v in runs_ra}
sv = {(r["config"], r["kernel"]): (r["saved"], r["±"]) for r in saved_rows}
ra, sp = "classic LRU, readahead's folios", "classic LRU, single-page folios"
assert sv[(sp, "v1")][0] - sv[(sp, "v1")][1] > 0  # single-page folios: a saving
assert sv[(ra, "v1")][0] - sv[(ra, "v1")][1] <= 0 < sv[(ra, "v1")][0]  # readahead: not shown
assert sv[(sp, "v3")] == sv[(ra, "v3")] == (0.0, 0.0)
assert runs["v1"].n_kills < runs["baseline"].n_kills
assert runs_ra["v1"].n_kills == runs_ra["baseline"].n_kills

# %% [markdown]
# ### Finding: v1 saves kills only as far as its reaps can evict the victims' files
#
# *Evidence: model. Scope: the default device and workload (reclaim at 200 MiB/s, 12.5 %
# exclusive file share), v1 and draft D; each layout as stated.* On the default device --
# every page-cache page a single-page folio, as v6.18 gives APKs on f2fs or on encrypted
# ext4, a phone's `/data` -- v1 evicts each victim's whole APK at the reap: the baseline
# kills 11 apps in the default run and v1 9, and over ten seeds v1 saves 1.6 kills per
# launch (95 % interval 1.2-2.0). With the folios v6.18's readahead gives an APK read once
# through mmap on a filesystem with large folios (this VM's ext4), only each APK's first
# 8 MiB window is single pages; the rest sits in PTE-mapped large folios that the reap
# unmaps and keeps. v1 then evicts about half as much (81.5 of 171 MiB in the default
# run), kills the same eleven apps in the default run, and saves 0.4 kills per launch over
# ten seeds, an interval (-0.1 to 0.9) that includes none. So the answer depends on the
# filesystem's folio layout ("Which page-cache folios"), not on the LRU (next finding). The
# saving is patch 1's: v2 and v3 (REAP_KILL without eviction) save none in either layout,
# and `v1 1+2` (eviction without REAP_KILL) saves less (1.1 with single-page folios),
# because a victim that wins the race tears itself down without a reap, and nothing is
# evicted then.

# %% [markdown]
# ### Finding: under the multi-gen LRU v1 saves the same kills as on the classic LRU
#
# *Evidence: model (the multi-gen LRU is modelled from v6.18's source only; the live kernel
# here does not run it). Scope: the default device, both layouts, every version.* With
# `lru_gen=True` every version kills as many apps as on the classic LRU, seed by seed, in
# both layouts -- one seed of `v1 1+2` with readahead's folios aside (13 kills instead of
# 12) -- so "v1 needs fewer kills" holds under MGLRU exactly where it holds on the classic
# LRU: 1.6 kills saved with single-page folios, 0.4 (not distinguishable from none) with
# readahead's. The LRU decides which unmapped clean pages kswapd takes, not how many it
# takes at its rate, and the reap's eviction does not look at the LRU; what patch 2 changes
# in aging would show as refaults, and the relaunch counts none in either.

# %%
mg = {(r["y"], r["variant"], r["seed"]): r["kills"] for r in stored["sweeps"]["variants"]
      if r["x"]}
cl = {(r["y"], r["variant"], r["seed"]): r["kills"] for r in stored["sweeps"]["variants"]
      if not r["x"]}
differ = sorted((str(k), cl[k], mg[k]) for k in cl if cl[k] != mg[k])
differ

# %%
assert differ == [("(None, 'v1 1+2', 2)", 12, 13)]
assert sv[("MGLRU, single-page folios", "v1")] == sv[(sp, "v1")]
assert sv[("MGLRU, readahead's folios", "v1")] == sv[(ra, "v1")]

# %% [markdown]
# ## Redundant kills, kill by kill
#
# A kill is **redundant** when, at the decision, free memory plus what earlier victims had
# already given up but the kernel had not returned -- anonymous pages only they still map,
# and clean page-cache pages of their exclusive files that no live process maps -- reached
# the threshold of the kill's reason. A perfect accountant, counting that memory as free,
# would not have killed. (Single-page folios, unless the table says otherwise; "anon freed"
# is what the kill frees, "anon shared" the zygote heap pages the victim still shares.)

# %%
def kill_table(r: sim.RunResult) -> pd.DataFrame:
    return pd.DataFrame([{
        "t ms": k.t_ms, "victim": k.victim, "adj": k.adj, "reason": k.reason,
        "outcome": k.outcome, "free MiB": round(k.free_mb, 1),
        "given up MiB": round(k.recoverable_mb, 1), "redundant": k.redundant,
        "anon freed MiB": round(k.anon_mb, 1), "anon shared MiB": round(k.shared_anon_mb, 1),
        "APK cached MiB": round(k.excl_cached_mb, 1),
        "left cached MiB": None if k.excl_left_cached_mb is None
        else round(k.excl_left_cached_mb, 1),
        "teardown ms": k.teardown_ms} for k in r.kills])


kill_table(runs["baseline"])

# %%
kill_table(runs["v1"])

# %% [markdown]
# v1 with readahead's folios:

# %%
kill_table(runs_ra["v1"])

# %%
base_kills, v1_kills = runs["baseline"].kills, runs["v1"].kills
assert runs["baseline"].n_redundant == 10 and runs_ra["baseline"].n_redundant == 10
assert runs_ra["v1"].n_redundant == 9 and runs["v1"].n_redundant == 0
assert all(k.excl_left_cached_mb == 0.0 for k in v1_kills)
assert all(abs(k.excl_left_cached_mb - max(0.0, k.excl_cached_mb - 8.0)) < 0.1
           for k in runs_ra["v1"].kills)
assert all(k.excl_left_cached_mb == k.excl_cached_mb for k in base_kills)

# %% [markdown]
# ### Finding: under the baseline almost every kill after the first is redundant
#
# *Evidence: model. Scope: default scenario, either layout; the definition above.* Ten of
# the baseline's eleven kills were made while earlier victims' APKs -- 6 to 42 MiB each,
# unmapped and clean -- sat in the page cache, enough to stay over the watermark had they
# been free. With single-page folios (the default) every v1 reap evicts them (left
# cached: 0) and none of its 9 kills is redundant; with readahead's folios v1 evicts only
# their first 8 MiB and nine of its eleven kills stay redundant. The first kill is never
# redundant: nothing was given up before it.

# %% [markdown]
# ## How fast memory comes back
#
# Per kill, "teardown" is the time from LMKD's decision to the victim's address space being
# empty (every page unmapped and its own anonymous memory freed). Its kernel part is the
# model's clock for the reap and the victim's exit, priced by the live kernel's calibration
# (`calibrated_cost_model()`: µs per MiB measured on this machine's 6.18 kernel), times the
# aggregation factor:

# %%
cal = load_calibration()
prices = calibrated_cost_model().prices_ns
{"kernel": cal.kernel, "date": cal.date, **{k: prices[k] for k in
 ("ZAP_PTE", "FOLIO_FREE", "PGFREE", "MARK_ACCESSED", "PGACTIVATE", "SYSCALL")}}

# %%
def teardowns(r: sim.RunResult) -> list[int]:
    return sorted(k.teardown_ms for k in r.kills if k.teardown_ms is not None)


teardown = pd.DataFrame([{
    "variant": v, "median teardown ms": statistics.median(teardowns(r)),
    "max teardown ms": max(teardowns(r)), "pressure onset ms": r.onset_ms,
    "recovered ms": r.recovered_ms, "recovery ms": r.recovery_ms, "stall ms": r.stall_ms}
    for v, r in runs.items()])
teardown.set_index("variant")

# %%
pinned = [k for k in base_kills if k.pinned]
assert pinned and all(k.teardown_ms > max(x.teardown_ms for x in v1_kills) for k in pinned)
assert all(2 <= t <= 5 for v in ("v1", "d", "v2", "v3") for t in teardowns(runs[v]))
assert [k.teardown_ms for k in pinned] == [43]
assert (runs["v1"].recovery_ms, runs["baseline"].recovery_ms) == (1436, 1623)

# %% [markdown]
# ### Finding: REAP_KILL bounds the teardown at a few milliseconds; a pinned ESRCH victim takes tens
#
# *Evidence: model; reap and exit time calibrated (live 6.18 prices), everything around it
# estimated. Scope: default scenario (single-page folios), P(ESRCH) 0.2, pins of
# 5-500 ms.* With REAP_KILL every teardown took 2-5 ms of device time, the calibrated cost
# of unmapping a cached app and freeing what it alone maps. Without it, a victim that won
# the race while a `/proc` reader held its mm kept its memory until the reader let go
# (43 ms in the default run). Pressure ends sooner with v1 (recovery: onset to free memory
# back at the high watermark once the launch has its memory; 1436 against 1623 ms), with
# two fewer kills: its reaps hand back the victims' whole APKs at once.

# %% [markdown]
# ## What a killed app pays when it comes back
#
# At t = 5 s the first victim is forked from the zygote again: it maps the same APK (same
# inode, so the page cache still holds what was not evicted or reclaimed), reads it at
# 300 MiB/s, and rebuilds its anonymous memory.

# %%
relaunch = pd.DataFrame([{
    "layout": layout_name, "variant": v, "app": r.relaunch.app, "APK MiB": r.relaunch.excl_mb,
    "cached at relaunch MiB": r.relaunch.cached_at_start_mb,
    "read MiB": r.relaunch.read_mb, "refaults MiB": r.relaunch.refault_mb,
    "read time ms (300 MiB/s)": round(r.relaunch.read_ms, 1)}
    for layout_name, group in (("single-page folios", runs), ("readahead's folios", runs_ra))
    for v, r in group.items() if r.relaunch is not None])
relaunch.set_index(["layout", "variant"])

# %%
rb, rv, rs = runs["baseline"].relaunch, runs_ra["v1"].relaunch, runs["v1"].relaunch
assert rb is not None and rv is not None and rs is not None
assert rb.read_mb == 0.0 and rv.read_mb == 8.0 and rs.read_mb == rs.excl_mb == 24.5
assert rv.refault_mb == rs.refault_mb == 0.0

# %% [markdown]
# ### Finding: v1's evictions are paid at relaunch, and the cost is invisible to refault counters
#
# *Evidence: model; read time estimated (300 MiB/s [E]). Scope: default scenario, the first
# victim relaunched 3 s after the pressure ended.* Under the baseline the relaunched app
# found its whole APK (24.5 MiB) still cached and read nothing; under v1 it read again
# exactly what the reap had evicted -- all 24.5 MiB (about 80 ms at 300 MiB/s) with
# single-page folios, 8 MiB with readahead's -- and the kernel counted no refault, because
# pages evicted by the reap leave no shadow entry (the same result as notebook 02's
# relaunch). A workingset-based heuristic would not see this cost.

# %% [markdown]
# ## Sweeps
#
# Stored runs (`python -m mrelease_ref.lmkd.sweeps` wrote them; launch phase only, five
# seeds per point, paired by seed; `tests/test_lmkd.py` re-runs one point of each and fails
# if the model no longer gives the stored numbers). Single-page folios (the default) and
# the classic LRU, unless the sweep varies them; the readahead-window sweep runs readahead's
# folios (`DeviceConfig(file_folio_order=None)`, its stored base, unchanged):

# %%
{"date": stored["date"], "commit": stored["commit"],
 "runs": {name: len(rows) for name, rows in stored["sweeps"].items()}}

# %% [markdown]
# **Page-cache layout**: readahead's folios (`None`), every page a single-page folio (`0`),
# or every page in a PTE-mapped large folio of 2, 4 or 16 model pages (128 KiB, 256 KiB,
# 1 MiB on the device); and **readahead window** (`read_ahead_kb`, readahead's folios) --
# kills v1 saves, and MiB its reaps evict:

# %%
folio = stats.paired_saving(stored["sweeps"]["folio"], ["value"], "baseline", "v1")
window = stats.paired_saving(stored["sweeps"]["readahead"], ["value"], "baseline", "v1")
evicted = {(name, r["value"]): r["evicted at reap MiB"]
           for name in ("folio", "readahead") for r in stats.summarise(
               stored["sweeps"][name], ["value", "variant"], ("evicted at reap MiB",))
           if r["variant"] == "v1"}
pd.DataFrame([{"sweep": "file_folio_order" if name == "folio" else "read_ahead_kb",
               "value": "readahead" if r["value"] is None else str(r["value"]),
               "saved": r["saved"], "±": r["±"], "seeds": r["seeds"],
               "v1 evicts MiB": evicted[(name, r["value"])]}
              for name, rows in (("folio", folio), ("readahead", window)) for r in rows]
             ).set_index(["sweep", "value"])

# %%
by_folio = {r["value"]: r["saved"] for r in folio}
by_window = {r["value"]: r["saved"] for r in window}
assert by_folio[0] > 1 and all(by_folio[o] == 0 for o in (1, 2, 4))
assert by_folio[None] == by_window[8192] < 0.5
assert all(by_window[w] == 0 for w in (256, 1024, 4096)) and by_window[32768] > 1
assert [evicted[("readahead", w)] for w in (256, 1024, 4096, 8192, 32768)] == sorted(
    evicted[("readahead", w)] for w in (256, 1024, 4096, 8192, 32768))

# %% [markdown]
# **Exclusive file share × reclaim rate** -- kills v1 saves over the baseline, and
# milliseconds of allocation stall it saves the launching app:

# %%
grid = stats.paired_saving(stored["sweeps"]["excl_kswapd"], ["x", "y"], "baseline", "v1")
fig = lmkd_viz.heatmap(grid, "x", "y", "saved", xlabel="exclusive share of file RSS",
                       ylabel="kswapd MiB/s", title="kills saved by v1 (mean of 5 seeds)")
_ = figures.save(fig, "06_lmkd_sweep_excl_kswapd")
plt.show()

# %%
stall = stats.paired_saving(stored["sweeps"]["excl_kswapd"], ["x", "y"], "baseline", "v1",
                            metric="stall ms")
fig = lmkd_viz.heatmap(stall, "x", "y", "saved", xlabel="exclusive share of file RSS",
                       ylabel="kswapd MiB/s", title="stall ms saved by v1 (mean of 5 seeds)")
_ = figures.save(fig, "06_lmkd_sweep_stall")
plt.show()

# %%
kills_grid = pd.DataFrame(stats.summarise(stored["sweeps"]["excl_kswapd"],
                                          ["y", "x", "variant"], ("kills",)))
kills_grid.pivot(index=["y", "x"], columns="variant", values="kills")

# %% [markdown]
# **Race probability** (P(victim wins), i.e. ESRCH without REAP_KILL) and **RAM** -- kills:

# %%
esrch = pd.DataFrame(stats.summarise(stored["sweeps"]["esrch"], ["value", "variant"],
                                     ("kills", "redundant", "recovery ms")))
esrch.pivot(index="value", columns="variant", values=["kills", "redundant"])

# %%
ram = stats.paired_saving(stored["sweeps"]["ram"], ["value"], "baseline", "v1")
pd.DataFrame(ram).set_index("value")

# %%
by_cell = {(r["x"], r["y"]): r["saved"] for r in grid}
assert by_cell[(0.125, 200)] == max(by_cell.values()) == 1.8
assert all(by_cell[(x, y)] <= 0.2 for x in (0.3, 0.4) for y in (200, 400, 600, 1000))
stall_cell = {(r["x"], r["y"]): r["saved"] for r in stall}
assert stall_cell[(0.3, 200)] > 500 and stall_cell[(0.4, 200)] > 700
race = {(r["value"], r["variant"]): r["kills"] for r in stats.summarise(
    stored["sweeps"]["esrch"], ["value", "variant"], ("kills",))}
assert race[(1.0, "v1 1+2")] == race[(1.0, "baseline")]
assert race[(0.0, "v1")] == race[(1.0, "v1")] < race[(0.0, "baseline")]
race_saved = {r["value"]: r["saved"] for r in stats.paired_saving(
    stored["sweeps"]["esrch"], ["value"], "baseline", "v1 1+2")}
assert [race_saved[p] for p in (0.0, 0.2, 0.4, 0.6, 1.0)] == [1.8, 1.2, 0.4, 0.2, 0.0]
by_ram = {r["value"]: r["saved"] for r in ram}
assert (by_ram[3700], by_ram[5600], by_ram[7600]) == (1.8, 2.8, 2.8)

# %% [markdown]
# ### Finding: the saving needs single-page folios, which readahead gives a file's first window
#
# *Evidence: model. Scope: the default device with one parameter varied at a time (plus the
# share × rate grid); five seeds per point.* v1 saves kills only where most of what its
# reaps unmap sits in folios one gather entry holds:
#
# - **folios.** Every page a single-page folio: 1.8 kills saved (the reaps evict 158 MiB).
#   Every page in a PTE-mapped large folio: none (0.2 MiB):
#   `mapping_evict_folio()` refuses a folio that the gather hands over with one reference
#   per mapped page (notebook 01, "large folios are evicted only when one entry maps
#   them"). Readahead's folios lie between and close to the second: with the 8 MiB window
#   v1 evicts 81 MiB and saves 0.2; with windows of 256 KiB to 4 MiB, 3-47 MiB and none;
#   a 32 MiB window (146 MiB evicted) brings back 1.6. A PMD-mapped 2 MiB folio would be
#   evicted on x86_64 and arm64, but readahead builds them only past a file's first 40 MiB,
#   and the aggregated device holds them as PTE-mapped folios (see "Which page-cache
#   folios");
# - **reclaim slower than the launch and a modest exclusive share.** With single-page
#   folios the share × rate grid saves most at the default, 12.5 % and 200 MiB/s (1.8
#   kills), 1.2 at 400 MiB/s, and at 600 MiB/s and above nothing beyond one seed's noise;
#   at a 2 % share the APKs are too small to matter (0.6 at 200 MiB/s). At 30-40 % the
#   bigger apps leave room for fewer cached apps and v1 saves at most 0.2 kills -- but the
#   launching app then stalls up to 716 ms less in allocation at 200 MiB/s (581 ms at
#   30 %), because each reap hands it the victim's whole APK at once;
# - **the reap has to happen.** Without REAP_KILL (`v1 1+2`) the saving fades as the
#   victim wins the race more often -- 1.8 kills at P(ESRCH) = 0, 1.2 at 0.2, 0.4 at 0.4,
#   0.2 at 0.6, and at P(ESRCH) = 1 it kills as many as the baseline --, since a victim
#   that tears itself down is never marked MMF_UNSTABLE by a reap and evicts nothing; v1
#   with REAP_KILL saves 1.8 whatever the race does.
#
# A larger phone holds more cached apps; both kernels kill more of them there, and v1
# saves 2.8 kills at 5600 and 7600 MiB against 1.8 at 3700 (wide intervals, ±1.8).

# %% [markdown]
# ## On Android
#
# The device already runs arm64 and Android's order-0 `/data` page cache;
# `configs.android_device()` adds the rest of `Kernel.android()`: the multi-gen LRU and
# 16 KiB pages (`DeviceConfig(page_kb=16)`; at `scale=4` a model page is still 64 KiB, so
# both devices hold the same model pages). The default scenario at seed 0 for the
# baseline, v1 and v3:

# %%
android_runs = configs.lmkd_android_runs()
pd.DataFrame([r.summary() for r in android_runs.values()]).drop(columns="seed").set_index(
    "variant")

# %% [markdown]
# Each finding above, checked with its own claim on those runs (the sweep finding is not
# re-run: it takes five to ten seeds per point). The REAP_KILL teardowns are shorter: a
# 16 KiB page has a quarter of the PTEs of 4 KiB pages, each priced as on this x86_64
# kernel -- an estimate, no 16 KiB kernel was calibrated.

# %%
on_android = configs.lmkd_reruns(android_runs)
pd.DataFrame(configs.android_table(on_android)).set_index("finding")

# %% [markdown]
# ## What is calibrated, what is estimated
#
# | part | source |
# |---|---|
# | what a reap frees, evicts, leaves cached; ESRCH; REAP_KILL; refaults; fork, COW | model |
# | page-cache folio sizes (readahead's folios) | model: v6.18 readahead (live layouts: nb 05) |
# | single-page APK folios on a phone (default) | v6.18 f2fs, ext4 (`/data` on them: [I]) |
# | time of a reap and of a victim's own exit | model clock, `calibrated_cost_model()` |
# | LMKD's reasons, thresholds, polling, kill timeout, 2 reapers | AOSP lmkd [S] (§L1) |
# | watermarks 8/41/74 MiB | derived for a 4 GB 1080p phone [D] (§L1.6) |
# | zygote heap 16 MiB; the quarter an app copies | launcher3 `.art` shared dirty [S] (§L3.1); [E] |
# | app sizes, zygote and exclusive shares, base, other cache | estimated [E] (§L3.3, §L7.2) |
# | readahead window 8 MiB | this VM's `read_ahead_kb` [S]; a phone's may differ (swept) |
# | kswapd/direct reclaim rates, read rate, launch size and rate | estimated [E] (§L4.2, §L7.3) |
# | P(ESRCH), pin share and hold time | estimated [E]; no public number (§L0.4) |
#
# (§ numbers are sections of docs/sources.md.)
#
# Where the answer depends on configuration: the page-cache layout (and with readahead its
# window) decides first whether v1 saves anything -- and the filesystem decides the layout
# (single-page folios on f2fs or encrypted ext4, Android's `/data`, the default here;
# readahead's where the filesystem supports large folios); the reclaim rate, the exclusive share
# and (without REAP_KILL) the race decide how much (previous findings); the LRU
# (classic or multi-gen) changes no count; P(ESRCH) also decides how many kills of the
# kernels without REAP_KILL are redundant.

# %% [markdown]
# ## Try it: the panel
#
# The panel re-runs the launch phase for one kernel whenever a control changes (one run per
# change, at 1 model page = 128 KiB to stay near a second): the kernel, the LRU, the
# page-cache layout and four sliders. Its widget code is in `mrelease_ref.widgets.lmkd`;
# `tests/test_browser_lmkd.py` serves it with Voila and moves a slider in Chromium.
#
# The next cell is tagged `nbval-ignore-output`: its output is the widget's text
# representation, which holds the plot's PNG bytes -- stable, but thousands of characters
# that say nothing a reader could check. The cell after it checks the panel instead.

# %% tags=["nbval-ignore-output"]
panel = lmkd_panel()
panel.box

# %%
before = panel.result.value
panel.sliders["launch_anon_mb"].value = 900
after = panel.result.value
panel.sliders["launch_anon_mb"].value = 800
assert after != before and panel.result.value == before
panel.choices["device.file_folio_order"].value = None
ra_result = panel.result.value
panel.choices["device.file_folio_order"].value = 0
assert ra_result != before and panel.result.value == before
panel.runs

# %% [markdown]
# ## Limitations
#
# - The device is a parameter set, not a measured phone: app sizes, rates, the launch and
#   the race probability are estimates; only the reap and exit times are calibrated, and
#   on a 2-vCPU x86 VM, not a phone
#   (`tests/test_lmkd.py::test_device_matches_the_scenario_defaults`).
# - No zram: compressed anonymous memory is held as plain anonymous pages, and reclaim
#   never swaps. No refault-driven stall or thrashing reason, so LMKD fires only when
#   reclaim cannot keep up; the zygote's files are pinned (MAP_LOCKED) as the hot working
#   set (`tests/test_limitations.py::test_lmkd_device_has_no_swap_and_a_race_probability`).
# - One CPU's worth of kernel work per millisecond for all tasks; the victim's exit and the
#   reaper do not run in parallel. The race is a probability, not timing
#   (`tests/test_limitations.py::test_lmkd_device_has_no_swap_and_a_race_probability`).
# - 1 model page = 64 KiB: readahead's folio kinds are kept (single pages in the first
#   window, PTE-mapped large folios after it), but their orders are in model pages and the
#   device's PMD-mapped 2 MiB folios are PTE-mapped model folios
#   (`tests/test_lmkd.py::test_aggregation_holds_2mib_folios_as_pte_mapped_folios`); the
#   aggregation is checked against the full model on a small device only
#   (`tests/test_lmkd.py::test_aggregated_readahead_gives_the_full_models_kills`).
# - The default single-page layout is the model's fixed-order layout: no readahead window
#   and no fault-around, so a relaunch reads page by page where f2fs would read ahead in
#   single pages (`tests/test_limitations.py::test_fixed_order_model_faults_around_one_page`).
#   That APKs on a phone's `/data` sit in single-page folios is an inference from the
#   filesystems' code at v6.18, not checked on a device
#   (`tests/test_lmkd.py::test_default_layout_is_single_page_folios`).
# - Readahead's layout is that of one sequential first read through mmap at t = 0; an app
#   that faults its APK in another order gets other folios (the model's readahead follows
#   the faults it is given)
#   (`tests/test_lmkd.py::test_readahead_layout_kill_counts`).
# - One zygote (no zygote32, app zygotes or USAP pool), and every app copies the same
#   quarter of its heap
#   (`tests/test_limitations.py::test_lmkd_has_one_zygote_whose_apps_write_the_same_heap_pages`).
# - The relaunch measures one app, 3 s after the pressure; its read time is the MiB read
#   at an assumed rate (`tests/test_limitations.py::test_lmkd_relaunch_measures_one_app`).
#
# ## Checks
#
# The assertions above fail the notebook run if the model stops giving what the text says.
# `tests/test_lmkd.py` pins the default-seed counts (single-page folios, the default:
# baseline 11, v1 9, on both LRUs; readahead's folios: 11 kills for every kernel), the
# eviction, fork and
# ESRCH rules the kills go through, the relaunch reads, the aggregation against the full
# model, and one point of every stored sweep. `tests/test_browser_lmkd.py` checks
# the panel in a real browser.

# %%
# The findings' numbers, restated in one place (the cells above assert each one as it is shown).
assert (runs["baseline"].n_kills, runs["v1"].n_kills) == (11, 9)  # single pages (default)
assert {r.n_kills for r in runs_ra.values()} == {11}  # readahead's folios: none saved at seed 0
assert (sv[(sp, "v1")], sv[(ra, "v1")]) == ((1.6, 0.37), (0.4, 0.5))  # ten seeds
assert differ == [("(None, 'v1 1+2', 2)", 12, 13)]  # MGLRU: the same counts
assert runs["baseline"].n_redundant == 10 and runs["v1"].n_redundant == 0  # redundant
assert [k.teardown_ms for k in pinned] == [43]  # pinned ESRCH victim
assert rv.refault_mb == 0.0 < rv.read_mb == 8.0  # relaunch: the evicted part, no refault
assert all(by_folio[o] == 0 for o in (1, 2, 4)) and by_folio[None] < 0.5  # large folios
assert all(r.holds_android for r in on_android)  # Android's settings, seed 0

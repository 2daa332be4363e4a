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
# # 00 · A reviewer's tour of `process_mrelease()` on Linux v6.18
#
# **The question.** When user space (Android's LMKD, earlyoom) kills a process to get memory
# back, it calls `process_mrelease(pidfd, 0)` to free the victim's memory at once instead of
# waiting for the victim to tear itself down. *What exactly does the unpatched kernel free, when
# does the call fail, and what does it leave behind?*
#
# **Why it matters.** The 2026 series "mm: process_mrelease: expedite clean file folio reclaim
# and add auto-kill" (Minchan Kim) changes two of the answers: what happens to the victim's clean
# file pages, and the `ESRCH` race. Reviewing it needs the baseline first.
#
# This notebook builds a victim in the model (`mrelease_ref`, pinned to v6.18), kills it, reaps
# it, and looks at every number a reviewer would ask about. All logic lives in the package;
# cells only build scenarios and show results.
#
# **Contents.** [Vocabulary](#vocabulary) ·
# [The victim](#a-victim-with-anonymous-private-file-copy-on-write-and-shared-file-memory) ·
# [Live vs dying](#the-call-fails-on-a-live-process-succeeds-on-a-dying-one) ·
# [SIGTERM](#finding-a-default-action-sigterm-is-enough-only-for-a-victim-frozen-in-place) ·
# [What was freed](#what-was-freed-and-what-stayed) ·
# [ESRCH](#the-esrch-outcome-the-victim-detaches-its-mm-first) ·
# [DONTNEED after the reap](#what-posix_fadv_dontneed-can-drop-after-the-reap) ·
# [On Android](#on-android) · [Limitations](#limitations) · [Checks](#checks)

# %% tags=["hide-input"]
import signal

import matplotlib.pyplot as plt
import pandas as pd

import mrelease_ref
from mrelease_ref import Kernel
from mrelease_ref.mm import oom_kill
from mrelease_ref.scenarios import configs, experiments
from mrelease_ref.scenarios.victims import OVERVIEW_VICTIM, build_victim
from mrelease_ref.viz import figures, plots, tables

mrelease_ref.KERNEL_VERSION

# %% [markdown]
# ## Vocabulary
# Every modelled kernel function keeps its name; the package mirrors the kernel tree. The
# table (kernel term, Python name, kernel file) is folded; `tables.glossary()` returns it.

# %%
tables.collapsed(tables.glossary(), "kernel term → Python name → kernel file",
                 "tables.glossary()")

# %% [markdown]
# ## A victim with anonymous, private-file, copy-on-write and shared-file memory
# `OVERVIEW_VICTIM` is data: 2048 pages of anonymous memory, a 1024-page private read-only file
# mapping, a 512-page private file mapping of which 128 pages were written (copy-on-write), and
# a 256-page `MAP_SHARED` mapping of a read-write file with 32 dirtied pages. The Kernel uses
# these machines' defaults (x86_64, 2 CPUs, CONFIG_SWAP, page-cache folio sizes as v6.18's
# readahead makes them). Folio distribution: these 1-4 MiB files, read through mmap, are all
# 4 KiB folios (the first fault reads around it, 2048 order-0 pages: the live kernel does
# the same for files up to 8 MiB, `lab/data/folios.json`), so the 32 dirtied pages are
# 128 kB of `Dirty`, and every file page is PTE-mapped.

# %%
k = Kernel(variant="baseline", seed=0, trace=True, debug_vm=True)
lmkd = k.spawn("lmkd", uid=0)
victim = build_victim(k, OVERVIEW_VICTIM)
app = victim.process
tables.maps(app)

# %%
pd.Series(app.status(), name="kB").to_frame().T

# %% [markdown]
# ## The call fails on a live process, succeeds on a dying one
# `process_mrelease()` only reaps a process that is already on its way out
# (`task_will_free_mem()`). LMKD therefore kills first. `kill(SIGKILL)` marks the whole thread
# group `SIGNAL_GROUP_EXIT` *in the sender's context*, before the victim runs again, so the
# reap can start at once.

# %%
fd = lmkd.pidfd_open(app.pid)
try:
    lmkd.process_mrelease(fd, 0)
except OSError as e:
    print("live victim:", e)

# %%
before = {"before kill": k.meminfo()}
free_before_kill = k.zoneinfo()["free_with_pcp"]
cache_before = {name: k.cachestat(f) for name, f in victim.files.items()}
lmkd.kill(app.pid, signal.SIGKILL)
lmkd.process_mrelease(fd, 0)
after_reap = k.meminfo()
free_after_reap = k.zoneinfo()["free_with_pcp"]
pd.Series(app.status(), name="kB after the reap").to_frame().T

# %% [markdown]
# The reaper walked the VMAs last-to-first and skipped only the `MAP_SHARED` file mapping:

# %%
tables.trace_frame(k, ["process_mrelease", "__oom_reap_task_mm", "tlb_flush"])

# %% [markdown]
# The decisions, read from the model's code (kernel order: flags, pidfd, mm, dying?, lock,
# already reaped?, reap):

# %%
tables.source(oom_kill.process_mrelease)

# %%
tables.source(oom_kill.__oom_reap_task_mm)

# %% [markdown]
# ### Finding: a default-action SIGTERM is enough only for a victim frozen in place
# `task_will_free_mem()` asks whether the group exit has started. `complete_signal()` starts
# it *in the sender*, for any fatal signal whose action is the default kill and that is not
# blocked, except those that dump core (v6.18 kernel/signal.c; docs/sources.md §K1.3) --
# but only after `wants_signal()` has accepted a thread, and it turns down a thread that is
# not running and already has TIF_SIGPENDING. SIGKILL skips that test. How the freezer froze
# the victim decides the rest (kernel/freezer.c:freeze_task()): a victim asleep in
# `nanosleep()` or a futex (TASK_FREEZABLE sleeps) is frozen in place, without
# TIF_SIGPENDING, and a default SIGTERM makes it reapable at once, like SIGKILL; a victim in
# `pause()`, `select()`/`epoll_wait()` or running froze through the freezer's fake signal,
# keeps TIF_SIGPENDING, and the same SIGTERM stays queued: `EINVAL`. A caught or blocked
# SIGTERM, or a core-dumping SIGSEGV, gives `EINVAL` either way. The live kernel agrees row
# for row (parity scenarios `frozen-*-sigterm`, `python -m mrelease_ref.scenarios.parity
# --signals`). earlyoom calls `process_mrelease()` after its first SIGTERM
# (docs/sources.md §K9.2): whether that reaps depends on where its victim sleeps.

# %%
signals = pd.DataFrame(experiments.signal_then_mrelease())
signals

# %% [markdown]
# ## What was freed, and what stayed
# Anonymous memory (including the 128 copy-on-write pages) is gone. Clean file pages are
# *unmapped* but stay in the page cache: nothing on this path evicts them. The dirty shared
# pages were not even unmapped (shared mappings are skipped). `MemFree` does not move: the
# freed pages go to the per-CPU page lists, which hold up to `pcp_high` (48307) pages per
# CPU before anything reaches the free lists that `MemFree` counts. The live kernel does the
# same (docs/sources.md §M0.9; parity scenario `memfree-probe`); free memory is
# `zoneinfo()["free_with_pcp"]`.

# %%
k.run()  # the victim now runs its own exit path
snapshots = {**before, "after reap": after_reap, "after exit": k.meminfo()}
tables.meminfo_table(snapshots)

# %%
cache_after = {name: k.cachestat(f) for name, f in victim.files.items()}
tables.cachestat_table({f"{n} before": cache_before[n] for n in cache_before}
                       | {f"{n} after": cache_after[n] for n in cache_after})

# %% tags=["hide-input"]
fig = plots.memory_bars(snapshots, title="baseline: anon freed, file cache kept")
_ = figures.save(fig, "00_overview_meminfo")
plt.show()

# %% [markdown]
# ## The `ESRCH` outcome: the victim detaches its mm first
# `exit_mm()` clears `task->mm` *before* it drops the mm. From then on `find_lock_task_mm()`
# finds nothing and the call fails with `ESRCH` -- even though no memory has been freed yet.
# Here the victim is single-stepped until its mm is detached, and a `/proc/<pid>/cmdline` reader
# holds `mm_users`, so the memory stays trapped until the reader lets go.

# %%
k2 = Kernel(seed=0, trace=True, debug_vm=True)
lmkd2 = k2.spawn("lmkd", uid=0)
reader = k2.spawn("ps", uid=0)
v2 = build_victim(k2, OVERVIEW_VICTIM)
fd2 = lmkd2.pidfd_open(v2.process.pid)
hold = reader.read_proc(v2.process.pid, "cmdline", block=True)
lmkd2.kill(v2.process.pid, signal.SIGKILL)
k2.run_until(lambda: v2.process.task.mm is None, v2.process.task)
try:
    lmkd2.process_mrelease(fd2, 0)
except OSError as e:
    print("after exit_mm:", e)
k2.run()
trapped = k2.meminfo()["AnonPages"]
hold.release()
k2.run()
released = k2.meminfo()["AnonPages"]
pd.Series({"while the reader holds the mm": trapped, "after the reader lets go": released},
          name="AnonPages kB")

# %%
tables.trace_frame(k2, ["exit_mm", "process_mrelease", "__mmput", "release_task"])

# %% [markdown]
# ## What `POSIX_FADV_DONTNEED` can drop after the reap
# The reap leaves the clean file pages unmapped, so an fadvise `DONTNEED` can drop them. Without
# the reap (a killed but frozen victim still maps them), it can drop nothing.

# %%
dontneed = pd.DataFrame({"with process_mrelease": experiments.dontneed_after_kill(reap=True),
                         "frozen, no reap": experiments.dontneed_after_kill(reap=False)})
dontneed

# %% [markdown]
# ## On Android
# The three findings above rest on parity rows against this x86_64 kernel with 4 KiB pages,
# and there is no Android kernel to hold them against. The model side of the same parity
# scenarios, run with `Kernel.android()`'s settings (arm64, 16 KiB pages, the multi-gen
# LRU, an order-0 page cache), gives every measure the default run gives, counted in pages:
# the errnos, what the reap frees and unmaps, what stays cached. Model only.

# %%
on_android = configs.parity_reruns("00")
pd.DataFrame(configs.android_table(on_android)).set_index("finding")

# %% [markdown]
# ## Limitations
# - The model is single-clock and step-atomic: real races are explored by choosing step
#   orders, not by timing (`tests/test_limitations.py::test_one_clock_steps_are_atomic`).
# - No memcg or NUMA; mmu notifiers only as "refuses to start"
#   (`tests/test_limitations.py::test_no_memcg_numa_options`). The overview runs the classic
#   LRU these machines run; `Kernel(lru_gen=True)` is the multi-gen LRU (notebooks 01, 02).
# - Each module lists its own limitations in its docstring
#   (`tests/test_docstrings.py::test_module_docstring_ends_with_limitations`).
#
# ## Checks
# The cells above ran with `debug_vm=True`: the invariant checker verified refcounts,
# mapcounts, rss counters, LRU lists, data loss and page conservation after every call and
# step. The assertions below fail the notebook if a number the text states drifts.

# %%
after = snapshots["after reap"]
assert app.status()["RssAnon"] == 0 and after["AnonPages"] == 0  # anonymous memory freed
assert all(r.holds_android for r in on_android)  # model only, in pages
assert {n: c.nr_cache for n, c in cache_after.items()} == \
    {n: c.nr_cache for n, c in cache_before.items()}  # nothing evicted
assert cache_before["file-shared-3"].nr_dirty == 32  # 4 KiB folios: the 32 written pages
assert snapshots["before kill"]["MemFree"] == after["MemFree"]  # the per-CPU lists took it
freed_pages = (snapshots["before kill"]["AnonPages"] - after["AnonPages"]) // 4
assert free_after_reap - free_before_kill == freed_pages  # ... where free_with_pcp sees it
_by_case = signals.set_index(["frozen in", "signal", "action"]).process_mrelease.to_dict()
for _sleep, _sigterm in (("nanosleep", "0"), ("pause", "EINVAL")):  # frozen in place or not
    assert {key[1:]: v for key, v in _by_case.items() if key[0] == _sleep} == {
        ("SIGKILL", "default"): "0", ("SIGTERM", "default"): _sigterm,
        ("SIGTERM", "caught"): "EINVAL", ("SIGTERM", "blocked"): "EINVAL",
        ("SIGSEGV", "default (dumps core)"): "EINVAL"}
assert trapped == snapshots["before kill"]["AnonPages"] and released == 0  # ESRCH, then freed
assert dontneed.loc["cached after fadvise"].to_dict() == {
    "with process_mrelease": 0, "frozen, no reap": 1024}

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

# %%
import inspect
import signal

import matplotlib.pyplot as plt

import mrelease_ref
from mrelease_ref import Kernel
from mrelease_ref.mm import oom_kill
from mrelease_ref.scenarios import experiments
from mrelease_ref.scenarios.victims import OVERVIEW_VICTIM, build_victim
from mrelease_ref.viz import figures, plots, tables

mrelease_ref.KERNEL_VERSION

# %% [markdown]
# ## Vocabulary
# Every modelled kernel function keeps its name; the package mirrors the kernel tree.

# %%
tables.glossary()

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
app.status()

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
cache_before = {name: k.cachestat(f) for name, f in victim.files.items()}
lmkd.kill(app.pid, signal.SIGKILL)
lmkd.process_mrelease(fd, 0)
after_reap = k.meminfo()
app.status()

# %% [markdown]
# The reaper walked the VMAs last-to-first and skipped only the `MAP_SHARED` file mapping:

# %%
tables.trace_frame(k, ["process_mrelease", "__oom_reap_task_mm", "tlb_flush"])

# %% [markdown]
# The decisions, read from the model's code (kernel order: flags, pidfd, mm, dying?, lock,
# already reaped?, reap):

# %%
print(inspect.getsource(oom_kill.process_mrelease))

# %%
print(inspect.getsource(oom_kill.__oom_reap_task_mm))

# %% [markdown]
# ## What was freed, and what stayed
# Anonymous memory (including the 128 copy-on-write pages) is gone. Clean file pages are
# *unmapped* but stay in the page cache: nothing on this path evicts them. The dirty shared
# pages were not even unmapped (shared mappings are skipped).

# %%
k.run()  # the victim now runs its own exit path
snapshots = {**before, "after reap": after_reap, "after exit": k.meminfo()}
tables.meminfo_table(snapshots)

# %%
cache_after = {name: k.cachestat(f) for name, f in victim.files.items()}
tables.cachestat_table({f"{n} before": cache_before[n] for n in cache_before}
                       | {f"{n} after": cache_after[n] for n in cache_after})

# %%
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
{"AnonPages kB while the reader holds the mm": trapped,
 "AnonPages kB after the reader lets go": k2.meminfo()["AnonPages"]}

# %%
tables.trace_frame(k2, ["exit_mm", "process_mrelease", "__mmput", "release_task"])

# %% [markdown]
# ## What `POSIX_FADV_DONTNEED` can drop after the reap
# The reap leaves the clean file pages unmapped, so an fadvise `DONTNEED` can drop them. Without
# the reap (a killed but frozen victim still maps them), it can drop nothing.

# %%
{"with process_mrelease": experiments.dontneed_after_kill(reap=True),
 "frozen, no reap": experiments.dontneed_after_kill(reap=False)}

# %% [markdown]
# ## Limitations
# - The model is single-clock and step-atomic: real races are explored by choosing step
#   orders, not by timing (see `mrelease_ref.sim.sched`).
# - No memcg, NUMA, MGLRU, mmu notifiers beyond "refuses to start", or hugetlb contents.
# - Each module lists its own limitations in its docstring.
#
# ## Checks
# The cells above ran with `debug_vm=True`: the invariant checker verified refcounts, mapcounts,
# rss counters, LRU lists, data loss and page conservation after every call and step.

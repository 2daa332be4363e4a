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
# # 07 · fork() with copy-on-write: what a reap frees when memory is shared
#
# **The question.** Android starts every app by forking the zygote, so most of an app's
# anonymous memory is, at first, the zygote's, shared copy-on-write. *When LMKD kills and
# reaps such an app with `process_mrelease()`, what does it get back? And what can still be
# read from a reaped victim through `/proc/<pid>/mem`?*
#
# The model (v6.18) forks with `copy_process()` → `dup_mm()` → `dup_mmap()` →
# `copy_page_range()`, breaks the sharing in `do_wp_page()` → `wp_page_copy()`, and carries
# page contents (tokens, `include/linux/highmem.py`) through every copy, writeback and swap.
# The live-kernel rows below are the stored parity run (`lab/data/parity_last.json`); the
# lab's Python victim forks children that write part of its memory.
#
# **Contents.** [A zygote and two apps](#a-zygote-and-two-apps-in-the-model) ·
# [The same on the live kernel](#the-same-on-the-live-kernel) ·
# [`/proc/<pid>/mem` of a reaped victim](#procpidmem-of-a-reaped-victim) ·
# [Page contents](#page-contents-survive-every-copy) · [Limitations](#limitations) ·
# [Checks](#checks)

# %%
import inspect

import pandas as pd

from mrelease_ref import Kernel
from mrelease_ref.mm import memory
from mrelease_ref.scenarios import configs, parity
from mrelease_ref.scenarios.zygote import walkthrough

pd.set_option("display.max_colwidth", 90)
stored = parity.load_run()
COLUMNS = ["measure", "model", "kernel", "agree", "rule"]


def stored_rows(name: str) -> pd.DataFrame:
    """The stored parity rows of one scenario."""
    return parity.parity_frame([r for r in stored.rows if r.scenario == name], COLUMNS)


# %% [markdown]
# ## A zygote and two apps, in the model
# The zygote has 1024 written heap pages and a 512-page private file mapping it read (4 KiB
# folios). `app0` writes nothing after the fork, `app1` writes 256 heap pages. Then each app
# is frozen, killed and reaped, and finally the zygote. RSS in kB; "pages freed" is the change
# of free pages (per-CPU lists included) over the step.

# %%
zygote = pd.DataFrame(walkthrough())
zygote.fillna("")

# %% [markdown]
# - The fork allocates nothing, and the apps' RssAnon equals the zygote's: every anonymous
#   page is shared. Their RssFile starts at 0: fork copies no page tables of a file VMA that
#   holds no anonymous pages (`vma_needs_copy()`), the app faults them in when it runs.
# - A write copies one page; the writer's RssAnon does not change (its shared page is
#   replaced by its copy).
# - A reap frees only what no other process maps: `app0`'s reap frees nothing, `app1`'s its
#   256 copies, the zygote's (now the only mapper) all of its heap.

# %%
print(inspect.getsource(memory.vma_needs_copy))

# %%
print(inspect.getsource(memory.__copy_present_ptes))

# %% [markdown]
# ## The same on the live kernel
# `fork-cow-reap`: a victim with a 4096-page heap, a read-only private file mapping and a
# private file mapping it wrote 256 pages of; `child0` writes nothing, `child1` writes 1024
# heap pages. `child1` is reaped, then the parent (while `child0` still maps everything),
# then `child0`. The file PTEs are copied only for the mapping with anonymous pages (RssFile
# 3072 kB = the 768 unwritten pages of the written mapping). *Pages freed* carry the lab's
# tolerance (the Python interpreter's own pages are netted out).

# %%
stored_rows("fork-cow-reap")

# %% [markdown]
# `fork-thp-cow`: a 64 MiB THP victim forks a child that writes 8 MiB. Each write to a
# shared THP splits only the writer's PMD (`do_huge_pmd_wp_page()` → `__split_huge_pmd()`)
# and copies one 4 KiB page: the child loses 2 MiB of AnonHugePages per THP it wrote, the
# parent keeps all of its THPs.

# %%
stored_rows("fork-thp-cow")

# %% [markdown]
# ## `/proc/<pid>/mem` of a reaped victim
# `mem_rw()` reads page by page through `access_remote_vm()`: GUP looks the page up and
# faults it in if it is not mapped. After `process_mrelease()` the victim's mm is
# MMF_UNSTABLE, so a fault that has to *create* a page fails with SIGBUS
# (`check_stable_address_space()`) and the read with `EIO`. Stored rows, model and kernel:

# %%
stored_rows("proc-pid-mem")

# %% [markdown]
# ### Finding: reaped private file pages stay readable while they are cached
# The reaper zaps a private file mapping like an anonymous one, but a read fault on a page
# that is still in the page cache is mapped by fault-around (`do_fault_around()` →
# `filemap_map_pages()`), which never calls `check_stable_address_space()`; only the path
# that reads a page in (`finish_fault()`) checks, and only for private mappings. So after a
# reap, `/proc/<pid>/mem` (and anything else that faults the victim's mm) still gets the
# clean file pages -- mapping them again, which pins them against a later
# `POSIX_FADV_DONTNEED` -- while every anonymous page is gone (`EIO`), and evicted pages fail.
# Evidence: live kernel (6.18.44, 2026-12-03, rows `reaped.file` and `reaped.file.evicted`)
# and the model; baseline v6.18, every variant (the series does not touch the fault path).

# %%
print(inspect.getsource(memory.do_fault_around))

# %% [markdown]
# On Android there is no kernel to compare with; the model side of `proc-pid-mem`, run
# with `Kernel.android()`'s settings (arm64, 16 KiB pages: fault-around's 64 KiB is four
# pages there, the multi-gen LRU, an order-0 page cache), reads what it reads by default.
# Model only:

# %%
on_android = configs.parity_reruns("07")
pd.DataFrame(configs.android_table(on_android)).set_index("finding")

# %% [markdown]
# ## Page contents survive every copy
# Writes carry tokens; `write()` dirties the page cache, writeback stores the tokens in the
# file's backing store, and a read after eviction gets them back. A partial store after fork
# builds on the parent's content, which is why the COW copy must copy. (Hypothesis tests in
# `tests/test_page_contents.py` check this for random sequences of reaps, exits, reclaim,
# swap, fadvise and writeback.)

# %%
k = Kernel(large_folios=False, debug_vm=True, swap_mib=4)
f = k.create_file("db", 4)
proc = k.spawn("db", uid=0)
fd = proc.open(f)
proc.write(fd, 0, data=[11, 12, 13, 14])
k.sync()
k.drop_caches()
heap = proc.mmap(1)
base = proc.poke(heap, 0, 41)
child = proc.fork("child")
contents = {
    "read() after writeback and eviction": proc.read(fd, 0, 4),
    "child's partial store after fork": child.poke(heap, 0, 5, partial=True),
    "parent's page afterwards": proc.peek(heap, 0),
}
contents

# %% [markdown]
# ## Limitations
# - Contents are page-granular tokens, not bytes; `touch(write=True)` is a one-byte store
#   (`tests/test_limitations.py::test_page_contents_are_page_tokens`).
# - In the fixed-order model (`file_folio_order=N`, used by the parity scenarios with
#   `small_file_folios`), fault-around maps only the faulting page; with readahead-chosen
#   folios it maps the 64 KiB window
#   (`tests/test_limitations.py::test_fixed_order_model_faults_around_one_page`).
# - The lab's victims are Python processes: children copy some interpreter pages of their
#   own, netted out of *pages freed* through their private anonymous memory
#   (`tests/test_limitations.py::test_lab_victims_are_python_processes`).
# - Pinned large anonymous folios at fork, `anon_vma` reuse and per-page PageAnonExclusive
#   of PTE-mapped THPs are not modelled
#   (`tests/test_limitations.py::test_fork_of_a_pinned_large_anon_folio_is_not_modelled`).
#
# ## Checks

# %%
assert list(zygote["pages freed (-: allocated)"]) == [0, 0, -256, 0, 256, 1024]
assert all(r.agree for r in stored.rows if r.scenario.startswith(("fork", "proc-pid-mem")))
assert contents["read() after writeback and eviction"] == [11, 12, 13, 14]
assert contents["parent's page afterwards"] == base
assert all(r.holds_android for r in on_android)  # model only, in pages
print("checks passed")

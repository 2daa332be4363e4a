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
# # 03 · Patch 3: `PROCESS_MRELEASE_REAP_KILL`, version by version
#
# **The question.** LMKD kills a process and then calls `process_mrelease()` on it. If the
# victim gets to `exit_mm()` first, the call fails with `ESRCH` even though nothing has been
# freed yet, and a `/proc` reader that holds `mm_users` can keep the memory allocated for as
# long as it likes. Patch 3 of Minchan Kim's 2026 series adds a flag,
# `PROCESS_MRELEASE_REAP_KILL`, that makes the call do the kill itself, so that it can pin the
# address space *before* the victim starts to exit. *What does each version of that flag
# actually do, for every kind of target, and what did the reviewers object to?*
#
# **Why it matters.** The flag went through four shapes in a month: RFC 3/3, v1 3/3, draft C
# (posted as v2 and applied to mm-new) and concept F (posted as v3). Each one answered a review
# comment and opened a new question: who may be killed, what happens to other processes
# that share the mm, and whether `process_mrelease()` should send signals at all.
#
# All logic lives in `mrelease_ref.scenarios.patch3`; the cells below only call it and show
# the results. Every experiment runs on `Kernel(debug_vm=True)` (the invariant checker runs
# after every step), with seed 0 and model time only.
#
# **Contents.** [The patch, hunk by hunk](#the-patch-hunk-by-hunk) ·
# [Every return code, every version](#every-return-code-every-version) ·
# [The race REAP_KILL closes](#the-race-reap_kill-closes) ·
# [Who runs exit_mmap()](#who-runs-exit_mmap-mmget-v1-against-mmgrab-v2-v3) ·
# [Findings](#findings) · [On Android](#on-android) ·
# [Review points for patch 3](#review-points-for-patch-3) ·
# [Try it](#try-it) · [Limitations](#limitations) · [Checks](#checks)

# %% tags=["hide-input"]
import dataclasses

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

import mrelease_ref
from mrelease_ref import PROCESS_MRELEASE_REAP_KILL, Kernel
from mrelease_ref.kernel import signal as base_signal
from mrelease_ref.mm import oom_kill as base
from mrelease_ref.scenarios import configs, patch3
from mrelease_ref.series.rfc.kernel import signal as rfc_signal
from mrelease_ref.series.v1.mm import oom_kill as v1
from mrelease_ref.series.v3.kernel import signal as v3_signal
from mrelease_ref.series.v3.mm import oom_kill as v3
from mrelease_ref.viz import figures, tables
from mrelease_ref.viz.diff import source_diff

pd.set_option("display.max_colwidth", 120)
mrelease_ref.KERNEL_VERSION, PROCESS_MRELEASE_REAP_KILL

# %% [markdown]
# Each Kernel resolves its own `process_mrelease()`; the flag mask it accepts comes with it.
# RFC and v1 run with all three of their patches; draft D carries draft C's REAP_KILL.

# %%
pd.DataFrame(
    [{"version": v, "valid flags": f"{Kernel(v).series.valid_flags:#x}",
      "process_mrelease": patch3.syscall_of(v).__module__.replace("mrelease_ref.", "")}
     for v in patch3.VERSIONS]
)

# %% [markdown]
# ## The patch, hunk by hunk
#
# ### RFC 3/3 (2026-04-13) — a SIGKILL that marks the mm
# [20260413223948.556351-4-minchan@kernel.org], "introduce PROCESS_MRELEASE_REAP_KILL flag".
# Only the commit message, the diffstat and the siginfo hunk were retrieved (docs/sources.md §T3.1).
#
# - **uapi.** A new flag bit for `process_mrelease()`, and a new `si_code` family for SIGKILL:
#   `KILL_MRELEASE` = 1, "sent by process_mrelease".
# - **kernel/signal.c** (4 lines, not retrieved). Per the commit message, when a SIGKILL with
#   that code is sent, the victim's mm gets MMF_UNSTABLE. The point was ordering: patches 1
#   and 2 of the RFC key their optimisations (evict clean file pages, skip LRU aging) on
#   MMF_UNSTABLE, and the flag must be set before *either* the victim's own exit or the reaper
#   touches the page tables.
# - **mm/oom_kill.c** (+19/−1, not retrieved). The model infers **[I]**: accept the flag,
#   send the special SIGKILL, then decide as before with `task_will_free_mem()`, which the
#   group exit the signal started now satisfies.
#
# The model's reading of the signal hunk **[I]**: the flag is set where the signal is queued,
# once `prepare_signal()` has accepted it. The rest of `__send_signal_locked()` is the
# baseline's, so the diff shows only the `si_code` argument and that test.
#
# [20260413223948.556351-4-minchan@kernel.org]: https://lore.kernel.org/r/20260413223948.556351-4-minchan@kernel.org

# %%
print(source_diff(base_signal.__send_signal_locked, rfc_signal.__send_signal_locked))

# %%
display(tables.source(rfc_signal.kill_mrelease))
print(source_diff(patch3.syscall_of("baseline"), patch3.syscall_of("rfc")))

# %% [markdown]
# Christian Brauner answered RFC 3/3 on 2026-04-16
# ([20260416-planktont-abwinken-b9499483b939@brauner]); only the quotes in Minchan's reply
# survive. v1 dropped the custom `si_code` and the
# signal.c/siginfo.h changes for a plain `kill_pid()`.
#
# ### v1 3/3 (2026-04-21) — `ignore_exit`, `mmget()`, `kill_pid()`
# [20260421230239.172582-4-minchan@kernel.org] (docs/sources.md §T3.2). Three hunks:
#
# 1. **`__task_will_free_mem(task, ignore_exit)`.** A core dump in progress still says no;
#    right after that test, `ignore_exit` says yes and skips the "is it exiting?" tests.
# 2. **`task_will_free_mem(task, ignore_exit)`** passes the bit for the *target only*. The loop
#    over other processes sharing the mm still asks the plain question, so every other sharer
#    must already be dying. MMF_OOM_SKIP and the `mm_users <= 1` shortcut are unchanged.
#
# [20260416-planktont-abwinken-b9499483b939@brauner]: https://lore.kernel.org/r/20260416-planktont-abwinken-b9499483b939@brauner
# [20260421230239.172582-4-minchan@kernel.org]: https://lore.kernel.org/r/20260421230239.172582-4-minchan@kernel.org

# %%
print(source_diff(base.__task_will_free_mem, v1.__task_will_free_mem))
print(source_diff(base.task_will_free_mem, v1.task_will_free_mem))

# %% [markdown]
# 3. **`process_mrelease()`.** Flags are checked against a mask instead of `!= 0`. A refusal
#    now returns before any mm reference is taken, and with the flag an already-reaped mm is an
#    error (-EINVAL) rather than 0. With the flag, the mm is pinned with **`mmget()`**
#    (`mm_users`), the task lock dropped, and a user-style SIGKILL sent to the thread group
#    (`kill_pid(task_tgid(task), SIGKILL, 0)`): its error is the call's error. The reap is the
#    baseline's; at the end a **`mmput()`** replaces `mmdrop()`, so when the caller holds the
#    last user reference it runs `__mmput()` → `exit_mmap()` itself. The cover letter gives
#    the reason: reclamation "synchronously and deterministically by the reaper". The commit
#    message also says MMF_UNSTABLE is set before the SIGKILL; the code sets it only in
#    `__oom_reap_task_mm()` (see the first finding below).

# %%
print(source_diff(patch3.syscall_of("baseline"), patch3.syscall_of("v1")))

# %% [markdown]
# Review of v1 3/3:
# - **Michal Hocko** (04-24, [aesiYAumkLCyedf0@tiehlicka]): why `mmget()` — the address space
#   can be torn down from several contexts and the reap is synchronous anyway; and why the
#   `task_will_free_mem()` detour instead of "kill if it is not dying". Minchan
#   ([aevzbx_Pk5Cu5exa@google.com]): the detour exists for shared mms, where every sharer must
#   die before anything is freed.
# - **Suren Baghdasaryan** (04-27,
#   [CAJuCfpFK+qatN_vHArEKOYe+LRHQG0e3inJrzVdz-mABi-BSTg@mail.gmail.com]): `mmgrab()` is
#   enough; letting `exit_mmap()` run beside the reaper is even welcome, as the reverse VMA
#   walk makes them meet in the middle. Minchan agreed ([ae_oul_xgD5Kgnqi@google.com]).
# - **Michal** (04-27, [ae8KD_Tq0t7RvUy1@tiehlicka]): for a shared mm either bail out or kill
#   every sharer; then (04-28, [afBbRUaGnE8WZIkY@tiehlicka]) test MMF_MULTIPROCESS, after
#   Minchan ([ae_dRZ95dCDTTxaQ@google.com]) found `mm_users` against `nr_threads` too racy.
#
# ### Draft C = v2 (2026-04-28/29) — MMF_MULTIPROCESS, `mmgrab()`
# Draft C was inline in [afE2xchFRh2xARBn@google.com]; the same code was posted as v2,
# [20260429211359.3829683-1-minchan@kernel.org], and Andrew Morton applied it to mm-new
# (ee1440e4568f) on 04-30 (docs/sources.md §T3.4, §T1.4). Compared with v1:
#
# - `__task_will_free_mem()`/`task_will_free_mem()` are untouched: `ignore_exit` is gone.
# - With the flag, an mm marked **MMF_MULTIPROCESS** is refused with -EINVAL before anything
#   is sent.
# - With the flag, `task_will_free_mem()` is **not evaluated at all** (`reap_kill or ...`
#   short-circuits): a core-dumping target is killed and reaped, and an already-reaped mm
#   returns 0 after the kill.
# - The pin is back to **`mmgrab()`**/`mmdrop()`, taken before the kill.
#
# [aesiYAumkLCyedf0@tiehlicka]: https://lore.kernel.org/r/aesiYAumkLCyedf0@tiehlicka
# [aevzbx_Pk5Cu5exa@google.com]: https://lore.kernel.org/r/aevzbx_Pk5Cu5exa@google.com
# [CAJuCfpFK+qatN_vHArEKOYe+LRHQG0e3inJrzVdz-mABi-BSTg@mail.gmail.com]: https://lore.kernel.org/r/CAJuCfpFK+qatN_vHArEKOYe+LRHQG0e3inJrzVdz-mABi-BSTg@mail.gmail.com
# [ae_oul_xgD5Kgnqi@google.com]: https://lore.kernel.org/r/ae_oul_xgD5Kgnqi@google.com
# [ae8KD_Tq0t7RvUy1@tiehlicka]: https://lore.kernel.org/r/ae8KD_Tq0t7RvUy1@tiehlicka
# [afBbRUaGnE8WZIkY@tiehlicka]: https://lore.kernel.org/r/afBbRUaGnE8WZIkY@tiehlicka
# [ae_dRZ95dCDTTxaQ@google.com]: https://lore.kernel.org/r/ae_dRZ95dCDTTxaQ@google.com
# [afE2xchFRh2xARBn@google.com]: https://lore.kernel.org/r/afE2xchFRh2xARBn@google.com
# [20260429211359.3829683-1-minchan@kernel.org]: https://lore.kernel.org/r/20260429211359.3829683-1-minchan@kernel.org

# %%
print(source_diff(patch3.syscall_of("v1"), patch3.syscall_of("v2")))

# %% [markdown]
# ### Draft D (2026-04-29) — the same syscall, one more argument
# Draft D ([afFco71vwmpQy3pk@google.com]) folds patches 1 and 2 into one patch gated on
# REAP_KILL; its only change to `process_mrelease()` is to tell the reaper whether to apply
# them. Everything else of D is the subject of the notebooks on patches 1 and 2.
#
# [afFco71vwmpQy3pk@google.com]: https://lore.kernel.org/r/afFco71vwmpQy3pk@google.com

# %%
print(source_diff(patch3.syscall_of("v2"), patch3.syscall_of("d")))

# %% [markdown]
# Michal (04-29, [afHAi0E11D5sg_9y@tiehlicka]) asked v2 to explain why it differs from the
# global OOM killer; Suren ([CAJuCfpFxtbSXKabKd0G1i4WXWs2M4c4aDs4xTA0BNJB2e0P7Lw@mail.gmail.com])
# gave his Reviewed-by. On v2 itself Michal (04-30, [afMnKrYT0xG_a-b3@tiehlicka]) argued that
# both the global and the memcg OOM killers kill every sharer, and that refusing shared mms
# lets a process escape the low-memory killer; he wanted the call to fail only where the
# caller may not kill some sharer (05-04, [afhQB0CWEcflXpOi@tiehlicka]). Christian Brauner
# (05-05, [20260505-wegbleiben-deshalb-f929089dbdab@brauner]) objected to a syscall that
# sends signals with an mm-wide scope: user space must not kill across permission or
# pid-namespace boundaries; he suggested a `pidfd_send_signal()` flag instead. Michal
# ([afoUt3te1k2TNao-@tiehlicka]) listed three options; Minchan implemented the third.
#
# ### Concept F = v3 (2026-05-05/11) — kill everyone who shares the mm
# Concept F was inline in [afowD31YsGVdVUBP@google.com]; v3 is
# [20260511214226.937793-1-minchan@kernel.org] (docs/sources.md §T3.6).
#
# - **kernel/signal.c**: `do_pidfd_send_signal_pidns()` — the pid-namespace test of
#   `pidfd_send_signal()` (target must be in the caller's namespace or below, else -EINVAL)
#   followed by the existing pidfd signal path. `pidfd_send_signal()` is refactored to use it.
# - **mm/oom_kill.c**: `kill_all_shared_mm()` walks every process; for each one sharing the mm
#   (the target included) the global init counts as a failure, kernel threads are skipped, and
#   everyone else gets that helper's SIGKILL. It keeps going after a failure and returns
#   **-EBUSY** if anything failed.
# - **`process_mrelease()`**: v2 without the MMF_MULTIPROCESS refusal, with `kill_pid()`
#   replaced by `kill_all_shared_mm()`; on -EBUSY nothing is reaped.
#
# [afHAi0E11D5sg_9y@tiehlicka]: https://lore.kernel.org/r/afHAi0E11D5sg_9y@tiehlicka
# [CAJuCfpFxtbSXKabKd0G1i4WXWs2M4c4aDs4xTA0BNJB2e0P7Lw@mail.gmail.com]: https://lore.kernel.org/r/CAJuCfpFxtbSXKabKd0G1i4WXWs2M4c4aDs4xTA0BNJB2e0P7Lw@mail.gmail.com
# [afMnKrYT0xG_a-b3@tiehlicka]: https://lore.kernel.org/r/afMnKrYT0xG_a-b3@tiehlicka
# [afhQB0CWEcflXpOi@tiehlicka]: https://lore.kernel.org/r/afhQB0CWEcflXpOi@tiehlicka
# [20260505-wegbleiben-deshalb-f929089dbdab@brauner]: https://lore.kernel.org/r/20260505-wegbleiben-deshalb-f929089dbdab@brauner
# [afoUt3te1k2TNao-@tiehlicka]: https://lore.kernel.org/r/afoUt3te1k2TNao-@tiehlicka
# [afowD31YsGVdVUBP@google.com]: https://lore.kernel.org/r/afowD31YsGVdVUBP@google.com
# [20260511214226.937793-1-minchan@kernel.org]: https://lore.kernel.org/r/20260511214226.937793-1-minchan@kernel.org

# %%
tables.source(v3_signal.do_pidfd_send_signal_pidns, v3_signal.access_pidfd_pidns)

# %%
display(tables.source(v3.kill_all_shared_mm))
print(source_diff(patch3.syscall_of("v2"), patch3.syscall_of("v3")))

# %% [markdown]
# ## Every return code, every version
# Each case below is built on a fresh Kernel; one call is made with flags 0 and one with
# REAP_KILL. The cases:

# %%
pd.DataFrame([{"case": c.name, "situation": c.description} for c in patch3.CASES])

# %%
matrix = patch3.outcome_matrix()
outcomes = pd.DataFrame([dataclasses.asdict(o) for o in matrix])
outcomes["cell"] = [patch3.outcome_cell(o) for o in matrix]
flags0 = outcomes[outcomes["flags"] == 0]
assert (flags0.groupby("case").ret.nunique() == 1).all()  # without the flag: the baseline
pd.Series({"same return code in every version": True,
           "anything killed": bool(flags0.target_killed.any())}, name="flags 0")

# %% [markdown]
# Without the flag every version returns the baseline's code. With it (cells: return code,
# then `K` = the call killed the target, `+name` = it killed another process, `R<kB>` = RSS it
# reaped; the victim has 256 kB of anonymous and 128 kB of private file memory):

# %%
order = [c.name for c in patch3.CASES]
table = outcomes[outcomes["flags"] == PROCESS_MRELEASE_REAP_KILL].pivot(
    index="case", columns="version", values="cell")
table.insert(0, "baseline, flags 0", flags0[flags0.version == "baseline"].set_index("case").cell)
tables.mark_inferred(table.loc[order, ["baseline, flags 0", *patch3.REAP_KILL_VERSIONS]])

# %% [markdown]
# Reading the table row by row:
#
# - **live.** Every REAP_KILL version kills and reaps. Draft D reaps only the 128 kB of file
#   pages: as posted it hands the zap a zero-initialised `zap_details`, which keeps every
#   PTE-mapped anonymous folio (docs/sources.md §T6 #16; notebook 01 shows that PMD-mapped
#   THPs are still freed).
# - **dying.** The flag changes nothing, except that a second SIGKILL is sent (and dropped:
#   the group is already exiting).
# - **exited.** -ESRCH everywhere: with no thread holding an mm there is nothing to pin. The
#   flag narrows the window; it cannot reach back past `exit_mm()`.
# - **coredumping.** v1 keeps the core-dump refusal (its `ignore_exit` comes after the
#   `core_state` test) and sends nothing, so the stalled dump goes on. v2/v3 skip
#   `task_will_free_mem()`, so the dumping process is reaped; their SIGKILL, which
#   `prepare_signal()` lets through to a dumping group, also cuts the dump short
#   (`dump_interrupted()`) and the process exits. (No `K`: the dump had already set
#   SIGNAL_GROUP_EXIT.) The RFC **[I]** sends its SIGKILL but then refuses, since `core_state`
#   is still set when it decides: the dump ends and the process exits unreaped.
# - **already reaped.** v1 turns the baseline's 0 into -EINVAL; v2/v3 send the kill and
#   return 0 without reaping. (To reach this state the kernel's OOM reaper must run before
#   the victim's own exit: a second thread sleeps uninterruptibly in `fsync()` on a hung
#   device and keeps the mm. Earlier versions parked a *frozen* thread there, which v6.18's
#   `mark_oom_victim()` would thaw -- `thaw_process()` -- letting the exit win. The
#   outcomes are the same with the faithful stall.)
# - **shared mm.** v1 requires the other sharers to be dying; v2 refuses any MMF_MULTIPROCESS
#   mm; v3 kills all of them. The RFC **[I]** kills the target first and refuses afterwards,
#   leaving a dead target and nothing reaped. A **vfork** child's mm is not
#   MMF_MULTIPROCESS, and neither is one a **kernel thread** borrowed: v2 kills the target
#   and reaps memory another task is still using (second finding). v3 skips the kernel
#   thread and reaps too, as the kernel's own OOM killer does.
# - **permission.** v1/v2 return the `kill_pid()` error (-EPERM) and reap nothing, even for
#   a target that someone else already killed, where the flag-less call would have reaped.
#   v3 reports the same refusal as -EBUSY. The RFC **[I]** kills without asking (fifth
#   finding).
# - **pid namespaces.** v1/v2 signal a target outside the caller's pid namespace, the
#   boundary `pidfd_send_signal()` enforces (below); v3 refuses it (-EBUSY, nothing killed),
#   but where only a *sharer* is outside, v3 kills the target and then fails (third
#   finding).
# - **namespace init.** When the *target* is the init of a pid namespace and the caller is
#   inside that namespace, the init ignores the SIGKILL, and v1, v2 and v3 all return 0 and
#   reap it anyway. When the init only *shares* the target's mm, v1 and v2 refuse as for
#   any live sharer, and v3 behaves as with the init as target (fourth finding).
#
# The same caller, in a child pid namespace, against the "target outside pid ns" victim:
# `pidfd_send_signal()` refuses with -EINVAL (`access_pidfd_pidns()`); REAP_KILL in v1/v2
# kills and reaps; v3 applies the same test (reported as -EBUSY).

# %%
tables.mark_inferred(pd.DataFrame([dataclasses.asdict(r) for r in patch3.pidns_check()]))

# %% [markdown]
# ## The race REAP_KILL closes
# The setting of the v1 cover letter (docs/sources.md §T4.4, §M4.4): a victim with 8 MiB
# of anonymous memory in four VMAs; a `ps` process blocked in a read of
# `/proc/<pid>/cmdline`, holding the victim's `mm_users` until 2 ms of model time have
# passed. LMKD either kills and then calls `process_mrelease(fd, 0)` (baseline), or calls it
# with REAP_KILL. The victim gets the CPU whenever it can run.

# %%
runs = [patch3.race(v) for v in patch3.VERSIONS]
pd.DataFrame([{"version": r.version, "returns": r.ret, "at µs": r.returned_us,
               "anon kB still mapped then": r.trapped_kb, "freed by (kB)": r.freed_by_kb}
              for r in runs])

# %% [markdown]
# In the baseline the victim reaches `exit_mm()` before the call: `task->mm` is gone, the
# call returns -ESRCH at once, and all 8 MiB stay allocated until the reader lets go and runs
# `exit_mmap()` itself:

# %%
print("\n".join(runs[0].trace))

# %% [markdown]
# With REAP_KILL (v1 here) the kill is sent by the call, after the mm was pinned; the victim's
# `exit_mm()` runs while the caller is between two VMAs, and the caller reaps every VMA. The
# reader's `__mmput()` at 2 ms finds the VMAs empty.

# %%
print("\n".join(runs[2].trace))

# %% [markdown]
# Draft D's call returns 0 but frees nothing (as posted it keeps anonymous folios, see
# above), so its memory stays trapped like the baseline's.

# %% tags=["hide-input"]
curves = patch3.race_curves(runs)
interleavings = [patch3.interleaving(v) for v in patch3.REAP_KILL_VERSIONS]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6), width_ratios=[3, 2])
for c, style, lw in zip(curves, ["-", "--", ":", "-."], [4, 2, 1.5, 1], strict=False):
    ax1.step(c.t_ms, c.freed_mib, style, lw=lw, where="post", label=c.label)
ax1.axvline(patch3.HOLDER_RELEASE_NS / 1e6, color="grey", lw=0.8)
ax1.text(patch3.HOLDER_RELEASE_NS / 1e6, 1, " /proc reader lets go", fontsize=8)
ax1.set(xlabel="model time (ms)", ylabel="victim memory freed (MiB)",
        title="kill+mrelease vs REAP_KILL, victim first, /proc reader")
ax1.legend(frameon=False, fontsize=8)
names = [r.version for r in interleavings]
bottom = [0.0] * len(names)
for task in ("lmkd", "app"):
    vals = [r.freed_by_kb.get(task, 0) / 1024 for r in interleavings]
    label = {"lmkd": "by the caller", "app": "by the victim"}[task]
    ax2.bar(names, vals, bottom=bottom, label=label)
    bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
ax2.set(ylabel="MiB freed", ylim=(0, 10), title="REAP_KILL, no reader: who frees")
ax2.legend(frameon=False, fontsize=8, ncols=2, loc="upper center")
fig.tight_layout()
_ = figures.save(fig, "03_patch3_race")
plt.show()

# %% [markdown]
# ## Who runs `exit_mmap()`: `mmget()` (v1) against `mmgrab()` (v2, v3)
# Without a reader, and with the caller and the victim taking turns (the model's FIFO order),
# the pin decides who tears the address space down (right panel above). v1 holds a user
# reference, so the victim's `exit_mm()` cannot be the last one: the **caller** runs
# `__mmput()` and with it `exit_mmap()` — extra work billed to LMKD, which is what Michal
# questioned.

# %%
print("\n".join(patch3.interleaving("v1").trace))

# %% [markdown]
# v2 and v3 hold only `mm_count`. The victim's `exit_mm()` drops the last user reference
# and its `exit_mmap()` runs beside the reaper: both hold the mmap lock for read, the reaper
# walks from the top VMA down and `exit_mmap()` from the bottom up, each finding the other's
# VMAs already empty (Suren's point). `exit_mmap()` then waits for the reaper at the write
# lock; the pages it unmapped go back to the allocator only after that, when its one
# whole-mm gather is finished (the jump in `freed_kb` at `do_exit:exit_files` below; model
# time, calibrated prices).

# %%
v2_steps = patch3.interleaving("v2")
print("\n".join(v2_steps.trace))
pd.DataFrame([dataclasses.asdict(s) for s in v2_steps.samples])

# %% [markdown]
# The other order: the caller is held up at the mmap lock (a second victim thread is inside
# `munmap()`, holding it for write) while the victim exits. Under v2 the victim's
# `exit_mmap()` finishes first and sets MMF_OOM_SKIP; when the reaper finally gets the lock
# it re-checks the flag and zaps nothing. Under v1 the victim cannot run `exit_mmap()` at
# all, so the reaper does the work and the caller runs `exit_mmap()` afterwards.

# %%
delayed = {v: patch3.delayed_caller(v) for v in ("v1", "v2", "v3")}
pd.DataFrame([{"version": v, "returns": r.ret, "VMAs the reaper zapped": r.reaper_zapped,
               "__mmput() by": r.mmput_by} for v, r in delayed.items()])

# %%
print("\n".join(delayed["v2"].trace))

# %% [markdown]
# ## Findings
#
# ### Finding: v1 3/3 sets MMF_UNSTABLE after the SIGKILL, not before it
# The v1 3/3 commit message says the reap-kill path sets MMF_UNSTABLE before it sends the
# SIGKILL, so that the victim's own teardown also gets patches 1 and 2 (evict clean file
# pages, skip LRU aging). The code does not: MMF_UNSTABLE is set only in
# `__oom_reap_task_mm()`, after the kill (docs/sources.md §T3.2, §T6 #15; never discussed in the
# thread). The RFC did set it at send time, through KILL_MRELEASE **[I]**.
#
# Setup (`delayed_caller`): the victim maps a 32-page file privately and has read it twice
# (its folios are referenced); LMKD's SIGKILL is out and LMKD waits for the mmap lock, which a
# second victim thread holds in `munmap()`; then the victim runs. "unstable while waiting"
# probes the flag at that moment. Three schedules: the classic kill-then-mrelease (flags 0),
# REAP_KILL, and REAP_KILL where LMKD itself gets a SIGKILL while it waits (-EINTR).

# %%
unstable = [patch3.delayed_caller(v, f, i) for v in ("rfc", "v1", "d")
            for f, i in ((0, False), (PROCESS_MRELEASE_REAP_KILL, False),
                         (PROCESS_MRELEASE_REAP_KILL, True))]
pd.DataFrame([{"version": r.version, "call": "REAP_KILL" if r.flags else "kill, then flags 0",
               "LMKD interrupted": r.interrupted, "returns": r.ret,
               "unstable while waiting": r.unstable_while_waiting,
               "reaper zapped VMAs": r.reaper_zapped, "exit_mmap() by": r.mmput_by,
               "file pages still cached": r.file_cached,
               "folio_mark_accessed() calls": r.mark_accessed} for r in unstable])

# %% [markdown]
# What the model shows:
#
# - **The flag is not set before the kill.** While v1's LMKD waits, the victim is already
#   dying and its mm has no MMF_UNSTABLE; the RFC's has.
# - **In v1 the gap is mostly hidden by `mmget()`.** The victim cannot run `exit_mmap()`
#   while the caller holds a user reference, so every page is torn down either by the reaper
#   or by the caller's own `exit_mmap()` after it — both with the flag set: the file pages are
#   evicted and never marked accessed.
# - **It shows when the reap is abandoned.** If LMKD is interrupted at the lock (-EINTR), its
#   `mmput()` is no longer the last; the victim's `exit_mmap()` runs without MMF_UNSTABLE: all
#   32 file pages stay cached and get `folio_mark_accessed()`. The RFC, under the same
#   schedule, evicts them: its flag was set when the signal was sent.
# - **Without the flag** (kill, then `process_mrelease(fd, 0)`) the victim's `exit_mmap()`
#   beats the reaper and runs unoptimised in both RFC and v1: the race the RFC's KILL_MRELEASE
#   was for.
# - **Draft D** moves the gate from the mm flag to an argument of the reaper only; a victim
#   `exit_mmap()` that runs first (v2's `mmgrab()` allows it) is never optimised.
#
# So the text overstates v1: what it promises for the victim's own exit path only the RFC
# delivered. A fix would set the flag where the commit message says, before `kill_pid()`.
#
# ### Finding: v2's MMF_MULTIPROCESS refusal misses vfork sharers
# v2 refuses shared mms by testing MMF_MULTIPROCESS. That flag is set by
# `copy_oom_score_adj()` only for a CLONE_VM child that is neither a thread nor a vfork child
# (kernel/fork.c). A vfork child shares its parent's mm without it, so v2 kills the child and
# reaps the mm the parent still runs in. When the parent runs on (in the kernel: when the
# vfork completes), its faults hit MMF_UNSTABLE and it dies of SIGBUS. v1 refuses (the parent
# is not dying); v3 kills the parent explicitly. The same hole covers kernel threads that
# borrowed the mm (the "kthread user" row).

# %%
pd.DataFrame([dataclasses.asdict(patch3.vfork_sharer(v)) for v in patch3.VERSIONS])

# %% [markdown]
# (Draft D "reaps" without freeing the anonymous pages, see above, so the parent survives.)
#
# ### Finding: v3 returns -EBUSY after killing part of the sharers
# `kill_all_shared_mm()` does not stop at the first failure and checks nothing up front: a
# target inside the caller's pid namespace (or with the caller's uid) is killed, a sharer
# outside it (or owned by root) is not, and the call returns -EBUSY without reaping. The
# memory stays with the surviving sharer; a retry fails the same way. The commit message
# concedes partial kills; Christian Brauner found -EBUSY meaningless
# (docs/sources.md §T4.3 #12), and
# Michal had asked for the call to *fail* where the caller may not kill some sharer (#7),
# which needs a check before any kill.

# %%
pd.DataFrame([dataclasses.asdict(patch3.partial_kill(v, c)) for v in ("v1", "v2", "v3")
              for c in ("pid ns", "uid")])

# %% [markdown]
# ### Finding: REAP_KILL reaps a namespace init its SIGKILL did not kill
# The init of a pid namespace is SIGNAL_UNKILLABLE: a SIGKILL sent from inside its namespace
# is dropped (`sig_task_ignored()`; only a signal from an ancestor namespace is forced), and
# the send still returns 0. No version checks that its kill took effect. So when the
# REAP_KILL target *is* a namespace init and the caller runs inside that namespace, v1
# (`kill_pid()`), v2 (`kill_pid()`) and v3 (`kill_all_shared_mm()`) all return 0 and reap
# the memory of a task that is not dying. v3 does the same when the init only shares the
# target's mm: it counts the *global* init as a failure, but a namespace init is treated like
# any other sharer. From the parent namespace the SIGKILL is forced and the init dies with
# the call, as under the kernel's OOM killer, whose SIGKILL is always forced. Christian
# Brauner asked why v3 reports init as a failure when init cannot be signalled anyway
# (docs/sources.md §T4.3 #12); for a namespace init the outcome depends on where the caller
# runs, and from inside every REAP_KILL version reports success although nothing was killed.
#
# Setup: cases "ns init target, caller inside/outside" (the namespace's first process, uid
# 10001, with the usual anonymous and file memory, is the target) and "ns init sharer,
# caller inside/outside" (it clones a CLONE_VM helper, the target); the caller is root,
# inside that namespace or in the parent one.

# %%
ns_init = outcomes[outcomes["case"].str.startswith("ns init")
                   & (outcomes["flags"] == PROCESS_MRELEASE_REAP_KILL)
                   & outcomes["version"].isin(patch3.REAP_KILL_VERSIONS)]
tables.mark_inferred(ns_init.pivot(index="case", columns="version", values="cell")[
    list(patch3.REAP_KILL_VERSIONS)])

# %% [markdown]
# What the reaped init does next: its next write fault meets MMF_UNSTABLE and gets SIGBUS;
# that fault-time signal is forced (`force_sig_info_to_task()` clears SIGNAL_UNKILLABLE), so
# the init dies, and an init's exit kills every other process of its namespace
# (`zap_pid_ns_processes()`). The namespace ends after all, through a fault instead of the
# kill the call reported. Draft D's reap kept the init's anonymous pages mapped, so its
# init does not fault and survives.

# %%
ns_after = pd.DataFrame([dataclasses.asdict(patch3.ns_init_after_reap(v, inside))
                         for v in patch3.REAP_KILL_VERSIONS for inside in (True, False)])
tables.mark_inferred(ns_after)

# %% [markdown]
# ### Finding: the RFC's KILL_MRELEASE would skip the kill permission check [I]
# **This is an inference.** The RFC's oom_kill.c and signal.c hunks were not retrieved. A
# SIGKILL carrying `si_code` KILL_MRELEASE = 1 has a positive code, and the kernel treats
# positive codes as kernel-generated (`SI_FROMUSER()` is false), which is why
# `check_kill_permission()` would not run if the RFC sent it through the usual
# `kill_pid_info()` path with that siginfo. The model sends it that way: an unprivileged caller
# that `kill(2)` refuses could kill and reap any process it has a pidfd for (and a pidfd needs
# no privilege to open). v1 dropped the custom code for `kill_pid(..., 0)`, which is checked.

# %%
tables.mark_inferred(pd.DataFrame([dataclasses.asdict(r) for r in patch3.permission_check()]))

# %% [markdown]
# ## On Android
# The five findings above, re-run on `Kernel.android()` (arm64, 16 KiB pages, the multi-gen
# LRU, an order-0 page cache; `mrelease_ref.scenarios.configs.android_reruns("03")`): each
# finding's experiments, on the same cases and versions, compared with the runs above with
# sizes counted in pages. Model only: there is no Android kernel here to compare with.

# %%
on_android = configs.android_reruns("03")
pd.DataFrame(configs.android_table(on_android)).set_index("finding")

# %% [markdown]
# ## Review points for patch 3
# From docs/sources.md §T4.3, in order. Each row: who, the point, the answer, how it ended, and the
# experiment of this notebook that speaks to it, where the model can (`patch3.REVIEW_POINTS`).

# %%
tables.collapsed(
    pd.DataFrame([dataclasses.asdict(r) for r in patch3.REVIEW_POINTS]).set_index("number"),
    "review points on patch 3, one row each", "patch3.REVIEW_POINTS")

# %% [markdown]
# Messages: Michal [aesiYAumkLCyedf0@tiehlicka], [ae8KD_Tq0t7RvUy1@tiehlicka],
# [afBbRUaGnE8WZIkY@tiehlicka], [afHAi0E11D5sg_9y@tiehlicka], [afMnKrYT0xG_a-b3@tiehlicka],
# [afhQB0CWEcflXpOi@tiehlicka], [afoUt3te1k2TNao-@tiehlicka], [agQeABD0W7wn4pCt@tiehlicka];
# Suren [CAJuCfpFK+qatN_vHArEKOYe+LRHQG0e3inJrzVdz-mABi-BSTg@mail.gmail.com],
# [CAJuCfpE_Kew9+umy2=7hzPdAe6yT23y=sk0BB=4BQpMZCJUvpA@mail.gmail.com]; Christian
# [20260505-wegbleiben-deshalb-f929089dbdab@brauner],
# [20260515-nachdenken-umbenannt-a90006a46e14@brauner]; Oleg [agdAmAfXKXX9Nzcf@redhat.com],
# [agd--WZpeTq2iKFW@redhat.com]; Linus
# [CAHk-=wiHfzbufXD2nuc9BhOVp-pYEmnVUYeThKmfZRXLU0kJ7w@mail.gmail.com],
# [CAHk-=wg08=sZb=hVa22KjN2pD3aNk-diGmKQnizCgmoMMfrvwQ@mail.gmail.com],
# [CAHk-=whMQsyjB6DOyWB73jPR4wrtcc++kZy4=hGQiRE+GxKh=A@mail.gmail.com]; Andrew
# [20260430074305.9d3389ed71af040acfe222de@linux-foundation.org].
#
# [aesiYAumkLCyedf0@tiehlicka]: https://lore.kernel.org/r/aesiYAumkLCyedf0@tiehlicka
# [ae8KD_Tq0t7RvUy1@tiehlicka]: https://lore.kernel.org/r/ae8KD_Tq0t7RvUy1@tiehlicka
# [afBbRUaGnE8WZIkY@tiehlicka]: https://lore.kernel.org/r/afBbRUaGnE8WZIkY@tiehlicka
# [afHAi0E11D5sg_9y@tiehlicka]: https://lore.kernel.org/r/afHAi0E11D5sg_9y@tiehlicka
# [afMnKrYT0xG_a-b3@tiehlicka]: https://lore.kernel.org/r/afMnKrYT0xG_a-b3@tiehlicka
# [afhQB0CWEcflXpOi@tiehlicka]: https://lore.kernel.org/r/afhQB0CWEcflXpOi@tiehlicka
# [afoUt3te1k2TNao-@tiehlicka]: https://lore.kernel.org/r/afoUt3te1k2TNao-@tiehlicka
# [agQeABD0W7wn4pCt@tiehlicka]: https://lore.kernel.org/r/agQeABD0W7wn4pCt@tiehlicka
# [CAJuCfpFK+qatN_vHArEKOYe+LRHQG0e3inJrzVdz-mABi-BSTg@mail.gmail.com]: https://lore.kernel.org/r/CAJuCfpFK+qatN_vHArEKOYe+LRHQG0e3inJrzVdz-mABi-BSTg@mail.gmail.com
# [CAJuCfpE_Kew9+umy2=7hzPdAe6yT23y=sk0BB=4BQpMZCJUvpA@mail.gmail.com]: https://lore.kernel.org/r/CAJuCfpE_Kew9+umy2=7hzPdAe6yT23y=sk0BB=4BQpMZCJUvpA@mail.gmail.com
# [20260505-wegbleiben-deshalb-f929089dbdab@brauner]: https://lore.kernel.org/r/20260505-wegbleiben-deshalb-f929089dbdab@brauner
# [20260515-nachdenken-umbenannt-a90006a46e14@brauner]: https://lore.kernel.org/r/20260515-nachdenken-umbenannt-a90006a46e14@brauner
# [agdAmAfXKXX9Nzcf@redhat.com]: https://lore.kernel.org/r/agdAmAfXKXX9Nzcf@redhat.com
# [agd--WZpeTq2iKFW@redhat.com]: https://lore.kernel.org/r/agd--WZpeTq2iKFW@redhat.com
# [CAHk-=wiHfzbufXD2nuc9BhOVp-pYEmnVUYeThKmfZRXLU0kJ7w@mail.gmail.com]: https://lore.kernel.org/r/CAHk-=wiHfzbufXD2nuc9BhOVp-pYEmnVUYeThKmfZRXLU0kJ7w@mail.gmail.com
# [CAHk-=wg08=sZb=hVa22KjN2pD3aNk-diGmKQnizCgmoMMfrvwQ@mail.gmail.com]: https://lore.kernel.org/r/CAHk-=wg08=sZb=hVa22KjN2pD3aNk-diGmKQnizCgmoMMfrvwQ@mail.gmail.com
# [CAHk-=whMQsyjB6DOyWB73jPR4wrtcc++kZy4=hGQiRE+GxKh=A@mail.gmail.com]: https://lore.kernel.org/r/CAHk-=whMQsyjB6DOyWB73jPR4wrtcc++kZy4=hGQiRE+GxKh=A@mail.gmail.com
# [20260430074305.9d3389ed71af040acfe222de@linux-foundation.org]: https://lore.kernel.org/r/20260430074305.9d3389ed71af040acfe222de@linux-foundation.org

# %% [markdown]
# ## Try it

# %%
# Try it: one process_mrelease() call of any case, version and flags
# (mrelease_ref.widgets.reap.reap_kill_panel: each change is one fresh model run, shown as a table).
from mrelease_ref.widgets.reap import reap_kill_panel

reap_kill_panel().box

# %% [markdown]
# ## Limitations
# - The RFC's oom_kill.c and signal.c hunks were not retrieved: its control flow, the moment
#   MMF_UNSTABLE is set and the missing permission check are the model's inference **[I]**
#   (`tests/test_limitations.py::test_posted_code_not_retrieved_is_marked_inferred`).
# - Schedules are chosen, not measured: "victim first", round robin and "a writer holds the
#   mmap lock" are possible orders; the model says what happens in each, not how often
#   (`tests/test_limitations.py::test_one_clock_steps_are_atomic`).
# - A step between two `yield`s is atomic; the reaper and `exit_mmap()` can be overtaken
#   at the kernel's preemption points: after every PMD of the zap (`zap_pmd_range()`), at
#   their locks, and after each `remove_vma()`
#   (`tests/test_preemption_in_vma.py::test_one_preemption_point_per_pmd_not_per_page`).
# - pidfds across pid namespaces are opened by root-namespace number (standing in for
#   SCM_RIGHTS). CLONE_VM sharers in one namespace come from the model's own `clone_vm()`,
#   which puts the child in its parent's pid namespace. The model has no `setns()` or
#   `unshare()`, so a sharer in *another* namespace (`setns()` + `clone(CLONE_VM)`) is built
#   from model primitives in `scenarios/patch3.py`, as are `setuid()` and `kthread_use_mm()`.
#   The model's vfork parent is not blocked
#   (`tests/test_limitations.py::test_no_setns_unshare_and_a_vfork_parent_runs`).
# - The global init sharing an mm (v3 counts it as a failure;
#   `tests/test_findings.py::test_global_init_has_no_mm_in_the_model`) is not modelled;
#   `task->exit_mm` (Suren's and Christian's proposal) is, as the `exit_mm_field`
#   alternative of notebook 04.
# - Single-page folios throughout, so that patch 1's refcount rule does not hide eviction
#   (docs/sources.md §T6 #5); draft D runs as posted (`d_details="as_posted"`)
#   (`tests/test_limitations.py::test_patch3_experiments_use_single_page_folios`).
#
# ## Checks
# Every experiment ran with `debug_vm=True`: refcounts, mapcounts, rss counters, LRU lists,
# mm reference counts and page conservation were verified after every call and scheduler
# step. `tests/test_scenarios_patch3.py` pins each number quoted above. The assertions
# below restate the findings' claims against the tables above.

# %%
V123 = ["v1", "v2", "v3"]
assert (flags0.groupby("case").ret.nunique() == 1).all()  # no flag: the baseline everywhere
target_inside = outcomes[(outcomes.case == "ns init target, caller inside")
                         & (outcomes["flags"] == PROCESS_MRELEASE_REAP_KILL)].set_index("version")
assert (target_inside.loc[V123, "ret"] == "0").all()  # returns 0 ...
assert not target_inside.loc[V123, "target_killed"].any()  # ... without killing the init
assert (target_inside.loc[V123, "reaped_kb"] > 0).all()  # ... and reaps it
inside = ns_after[ns_after.caller.str.startswith("inside")].set_index("version")
assert (inside.loc[V123, "init_fault"] == "SIGBUS").all() and inside.loc[V123].init_exited.all()
assert inside.loc[V123, "ns_worker_exited"].all()  # zap_pid_ns_processes()
v1_abandoned = next(r for r in unstable if r.version == "v1" and r.interrupted)
assert not v1_abandoned.unstable_while_waiting and v1_abandoned.file_cached == 32
assert [r.finding for r in on_android] == list(configs.ANDROID_RERUN[:5])  # every finding
assert all(r.holds_android for r in on_android)  # each holds page for page on Android

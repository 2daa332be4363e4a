"""The kernels the model can be: the v6.18 baseline and the versions of the 2026 series.

Not kernel code: a table, as data, of what each variant is, where it comes from and what
it changes, so notebooks and the README can render it and ``Kernel(variant=...)`` can
validate its argument. The code of each version lives under :mod:`mrelease_ref.series`.

The series is "mm: process_mrelease: expedite clean file folio reclaim and add auto-kill"
(Minchan Kim, 2026; docs/sources.md §T1). "[I]" marks behaviour the model had
to infer because the code was not retrieved (the RFC's oom_kill.c and signal.c hunks).

Limitations:
- A variant is a name plus the functions it replaces (``series.hooks.PATCHED_BY``, and
  ``ALTERNATIVES_PATCH`` for the alternatives); there is no patch-application machinery.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Patch:
    """One patch of a version: its number, subject and Message-ID."""

    number: int
    subject: str
    message_id: str


@dataclass(frozen=True, slots=True)
class Variant:
    """One kernel the model can run, and what it changes relative to the baseline."""

    name: str
    title: str
    message_id: str
    date: str
    implemented: bool
    patches: tuple[Patch, ...]
    free_path: str
    skip_mark_accessed: str
    reap_kill: str
    kind: str = "series"
    posted: bool = True
    changes: str = ""


_NO_FLAGS = "no flags: flags != 0 -> EINVAL"
_LINUS_WLOCK = "CAHk-=wg08=sZb=hVa22KjN2pD3aNk-diGmKQnizCgmoMMfrvwQ@mail.gmail.com"
_BASE_FREE = "free_pages_and_swap_cache(): free_swap_cache() on every folio; nothing evicted"

VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant(
            "baseline", "Linux v6.18, unpatched", "", "2025-11-30", True, (),
            _BASE_FREE, "never", _NO_FLAGS,
        ),
        Variant(
            "rfc",
            "[RFC 0/3] mm: process_mrelease: expedited reclaim and auto-kill support",
            "20260413223948.556351-1-minchan@kernel.org",
            "2026-04-13",
            True,
            (
                Patch(1, "expedite clean file folio reclaim via mmu_gather",
                      "20260413223948.556351-2-minchan@kernel.org"),
                Patch(2, "skip LRU movement for exclusive file folios",
                      "20260413223948.556351-3-minchan@kernel.org"),
                Patch(3, "introduce PROCESS_MRELEASE_REAP_KILL flag",
                      "20260413223948.556351-4-minchan@kernel.org"),
            ),
            "free_pages_and_caches(pages, nr, bool) in swap_state.c; bool = MMF_UNSTABLE per "
            "flush [I]; s390 passes false; !CONFIG_SWAP: release_pages(), no eviction",
            "MMF_UNSTABLE && folio_mapcount() < 2",
            "SIGKILL with si_code KILL_MRELEASE, which sets MMF_UNSTABLE when sent [I]; "
            "then the baseline reap",
        ),
        Variant(
            "v1",
            "[PATCH v1 0/3] mm: process_mrelease: expedite clean file folio reclaim and "
            "add auto-kill",
            "20260421230239.172582-1-minchan@kernel.org",
            "2026-04-21",
            True,
            (
                Patch(1, "expedite clean file folio reclaim via mmu_gather",
                      "20260421230239.172582-2-minchan@kernel.org"),
                Patch(2, "skip LRU movement for exclusive file folios",
                      "20260421230239.172582-3-minchan@kernel.org"),
                Patch(3, "introduce PROCESS_MRELEASE_REAP_KILL flag",
                      "20260421230239.172582-4-minchan@kernel.org"),
            ),
            "free_pages_and_caches(mm, ...) in swap.c; gate: MMF_UNSTABLE at each call (also "
            "the OOM reaper, and exit_mmap() after a reap); s390 passes tlb->mm; "
            "free_swap_cache() for anon only",
            "MMF_UNSTABLE && !folio_maybe_mapped_shared()",
            "task_will_free_mem(p, ignore_exit); mmget(); kill_pid(SIGKILL, priv=0); reap; "
            "mmput() (may run exit_mmap() in the caller); MMF_OOM_SKIP -> EINVAL",
        ),
        Variant(
            "d",
            "draft D: skip LRU movement and expedite clean file folio reclaim "
            "(REAP_KILL-gated)",
            "afFco71vwmpQy3pk@google.com",
            "2026-04-29",
            True,
            (
                Patch(1, "skip LRU movement and expedite clean file folio reclaim (on draft C)",
                      "afFco71vwmpQy3pk@google.com"),
            ),
            "free_pages_and_caches(pages, nr, bool) in swap.c; bool = "
            "tlb->try_evict_file_folios, set only by process_mrelease() with REAP_KILL; "
            "folio->mapping; no s390 hunk (does not build there)",
            "details->ignore_access && !folio_maybe_mapped_shared(); as posted, the "
            "zero-initialised details stop every reap from freeing anonymous memory",
            "as v2, passing reap_kill to __oom_reap_task_mm()",
        ),
        Variant(
            "v2",
            "[PATCH v2] mm: process_mrelease: introduce PROCESS_MRELEASE_REAP_KILL flag",
            "20260429211359.3829683-1-minchan@kernel.org",
            "2026-04-29",
            True,
            (
                Patch(1, "introduce PROCESS_MRELEASE_REAP_KILL flag",
                      "20260429211359.3829683-1-minchan@kernel.org"),
            ),
            _BASE_FREE,
            "never",
            "MMF_MULTIPROCESS -> EINVAL (no kill); task_will_free_mem() skipped; mmgrab(); "
            "kill_pid(SIGKILL, priv=0); reap; MMF_OOM_SKIP -> 0 after the kill",
        ),
        Variant(
            "v3",
            "[PATCH v3] mm: process_mrelease: introduce PROCESS_MRELEASE_REAP_KILL flag",
            "20260511214226.937793-1-minchan@kernel.org",
            "2026-05-11",
            True,
            (
                Patch(1, "introduce PROCESS_MRELEASE_REAP_KILL flag",
                      "20260511214226.937793-1-minchan@kernel.org"),
            ),
            _BASE_FREE,
            "never",
            "kill_all_shared_mm(): pidns- and permission-checked SIGKILL to every sharer; "
            "init counts as a failure; any failure -> EBUSY (partial kills), no reap",
        ),
        # --- the thread's alternatives to REAP_KILL (docs/sources.md §T3.7, §T4.3) ---
        Variant(
            "linus_exit_mmap_wlock",
            "exit_mmap() under mmap_write_lock() for the whole teardown (Linus Torvalds, "
            "proposal in prose)",
            _LINUS_WLOCK, "2026-05-16", True, (), _BASE_FREE, "never", _NO_FLAGS,
            kind="alternative", posted=False,
            changes="mm/mmap.c exit_mmap(): zap, MMF_OOM_SKIP, free_pgtables() and "
                    "remove_vma() all under the write lock [I]; a reaper never runs beside it",
        ),
        Variant(
            "proc_mm_count",
            "/proc readers hold only mm_count, exit_mmap() write-locked (Linus Torvalds, "
            "proposal in prose)",
            _LINUS_WLOCK, "2026-05-16", True, (), _BASE_FREE, "never", _NO_FLAGS,
            kind="alternative", posted=False,
            changes="fs/proc/base.c get_task_cmdline(): mmgrab() + read lock, no mm_users "
                    "[I]; plus linus_exit_mmap_wlock's exit_mmap()",
        ),
        Variant(
            "smaps_esrch",
            "smaps m_start() returns ESRCH once task->mm is gone (Linus Torvalds, proposal "
            "in prose)",
            "CAHk-=whqfr-M9ip9OWAUR1X6aOEy2P4gSWYDkbkTCc3E=jCz_A@mail.gmail.com",
            "2026-05-22", True, (), _BASE_FREE, "never", _NO_FLAGS,
            kind="alternative", posted=False,
            changes="fs/proc/task_mmu.c m_start(): task->mm == NULL -> ESRCH before "
                    "mmget_not_zero() [I]",
        ),
        Variant(
            "exit_mm_field",
            "task->exit_mm (Christian Brauner's posted patch) + process_mrelease() "
            "fallback (Suren Baghdasaryan, prose)",
            "20260516-work-exit_mm-v1-1-76bcc7c2439d@kernel.org", "2026-05-16", True,
            (Patch(1, "ptrace: keep task's mm around in separate exit_mm field post-exit",
                   "20260516-work-exit_mm-v1-1-76bcc7c2439d@kernel.org"),),
            _BASE_FREE, "never", _NO_FLAGS,
            kind="alternative", posted=True,
            changes="kernel/exit.c exit_mm(): mmgrab() into task->exit_mm; free_task() "
                    "drops it; process_mrelease(): no task->mm -> task->exit_mm, with "
                    "task_will_free_mem()'s tests (fallback from "
                    "CAJuCfpE_Kew9+umy2=7hzPdAe6yT23y=sk0BB=4BQpMZCJUvpA@mail.gmail.com, [I])",
        ),
        Variant(
            "expedite",
            "PIDFD_SIGNAL_PROCESS_GROUP_EXPEDITE: SIGKILL and reap in one pidfd_send_signal() "
            "(Minchan Kim, idea in prose) [I]",
            "agzNyXKIirm1zOob@google.com", "2026-05-19", True, (), _BASE_FREE, "never",
            _NO_FLAGS, kind="alternative", posted=False,
            changes="kernel/signal.c pidfd_send_signal(): new flag [I]: mmgrab() the mm, "
                    "SIGKILL as usual, then reap if task_will_free_mem() [I]",
        ),
    )
}

SERIES: tuple[str, ...] = tuple(v.name for v in VARIANTS.values() if v.kind == "series")
"""The versions of the series itself (the README's variant table)."""

ALTERNATIVES: tuple[str, ...] = tuple(
    v.name for v in VARIANTS.values() if v.kind == "alternative"
)
"""The thread's alternatives to REAP_KILL, modelled as variants (proposals, mostly in
prose: ``Variant.posted`` says which were posted as patches)."""


def variant_table() -> list[dict[str, str]]:
    """The versions of the series as rows (for pandas or the README); the alternatives
    have :func:`alternatives_table`."""
    return [
        {
            "variant": v.name,
            "title": v.title,
            "date": v.date,
            "Message-ID": v.message_id or "-",
            "status in the model": "implemented" if v.implemented else "planned",
        }
        for v in VARIANTS.values()
        if v.kind == "series"
    ]


def alternatives_table() -> list[dict[str, str]]:
    """The thread's alternatives to REAP_KILL as rows: what each changes, where it was
    proposed (Message-ID, lore link) and whether code was posted."""
    return [
        {
            "variant": v.name,
            "title": v.title,
            "date": v.date,
            "Message-ID": v.message_id,
            "posted as a patch": "yes" if v.posted else "no (prose; model's reading [I])",
            "changes": v.changes,
            "lore": f"https://lore.kernel.org/r/{v.message_id}",
        }
        for v in VARIANTS.values()
        if v.kind == "alternative"
    ]


def changes_table() -> list[dict[str, str]]:
    """What each variant changes, one column per part of the series."""
    return [
        {
            "variant": v.name,
            "free path (patch 1)": v.free_path,
            "skip folio_mark_accessed() (patch 2)": v.skip_mark_accessed,
            "PROCESS_MRELEASE_REAP_KILL (patch 3)": v.reap_kill,
        }
        for v in VARIANTS.values()
        if v.kind == "series"
    ]

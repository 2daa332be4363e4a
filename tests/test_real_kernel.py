"""The model held to the running kernel: every parity row must agree.

One module-scoped run of :func:`mrelease_ref.scenarios.parity.run_parity` drives every
scenario of :data:`~mrelease_ref.scenarios.parity.SCENARIOS` through
``Kernel(variant="baseline")`` and through the live kernel (small Python victims of
4 KiB-64 MiB, the cgroup-v1 freezer, a /proc holder, test files under /var/tmp). Each test
below looks at the rows of its scenarios and fails on any disagreement between model and
kernel, and on any kernel value that differs from what docs/sources.md reports (the row's
``expect``). Sources are docs/sources.md (§M0 items, §M3-§M7 tables) and
docs/sources.md for the kernel logic.

The whole module needs root; it skips only when ``mrelease_ref.lab.syscalls.available()``
says the lab cannot run here (its reason is the skip message) or no cgroup-v1 freezer can
hold a SIGKILLed task.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _support import require_parity_lab

from mrelease_ref.lab import freezer
from mrelease_ref.scenarios.parity import (
    FOLIO_CASES,
    SCENARIOS,
    SIGNAL_SCENARIOS,
    ParityRun,
    Row,
    parity_frame,
    run_parity,
)

pytestmark = pytest.mark.realkernel


def _children() -> set[str]:
    """Pids of this process's children (all threads), from /proc/self/task/*/children."""
    out: set[str] = set()
    for tid in os.listdir("/proc/self/task"):
        path = Path(f"/proc/self/task/{tid}/children")
        out.update(path.read_text().split() if path.exists() else ())
    return out


@pytest.fixture(scope="module")
def children_before() -> set[str]:
    """Child processes that existed before the parity run (not ours to check)."""
    return _children()


@pytest.fixture(scope="module")
def parity(children_before: set[str]) -> ParityRun:
    """One parity run of every scenario (model and live kernel)."""
    require_parity_lab()
    return run_parity()


def _show(rows: list[Row]) -> str:
    cols = ["scenario", "measure", "model", "kernel", "agree", "expect", "rule", "attempts"]
    return "\n" + parity_frame(rows, cols).to_string()


def check(run: ParityRun, *scenarios: str) -> list[Row]:
    """Every row of ``scenarios`` agrees and the kernel shows what docs/sources.md reports."""
    for name in scenarios:
        if name in run.meta.get("skipped", {}):
            pytest.skip(f"{name}: {run.meta['skipped'][name]}")
    rows = [r for r in run.rows if r.scenario in scenarios]
    assert rows, f"no rows for {scenarios}"
    assert all(r.agree for r in rows), _show([r for r in rows if not r.agree])
    unexpected = [r for r in rows if not r.meets(r.expect)]
    assert not unexpected, _show(unexpected)
    return rows


def kernel(rows: list[Row], measure: str) -> object:
    """The kernel value of the row named ``measure``."""
    (row,) = [r for r in rows if r.measure == measure]
    return row.kernel


def test_table_covers_every_fact_with_enough_rows(parity: ParityRun) -> None:
    """The table has >= 25 distinct (scenario, measure) rows, covers docs/sources.md §M0 items
    1-9, and ran every scenario; no row disagrees anywhere.

    Rule: the issue's acceptance for the lab (one row per scenario and measure). Source:
    docs/sources.md §M0 "Key facts a model of the baseline must reproduce".
    """
    keys = {(r.scenario, r.measure) for r in parity.rows}
    assert len(keys) == len(parity.rows) >= 25
    assert {str(i) for i in range(1, 10)} <= {r.fact for r in parity.rows}
    ran = {r.scenario for r in parity.rows}
    assert {s.name for s in SCENARIOS} - set(parity.meta["skipped"]) <= ran
    assert parity.disagreements == [], _show(parity.disagreements)


def test_errno_order(parity: ParityRun) -> None:
    """flags != 0 is EINVAL before the fd is looked at; a non-pidfd is EBADF; a task without
    mm (kthreadd) is ESRCH; a live task (the caller via PIDFD_SELF) is EINVAL; nonzero flags
    on a dying task are EINVAL and reap nothing; flags 0 then reaps (0).

    Kernel: mm/oom_kill.c:process_mrelease(): ``if (flags) return -EINVAL;`` →
    pidfd_get_task() (EBADF) → find_lock_task_mm() (ESRCH) → task_will_free_mem()
    (EINVAL). Source: docs/sources.md §M0.1; §M3.1 rows "flags = 1, fd = -1", "fd = -1;
    regular file", "PIDFD_SELF_THREAD_GROUP", "the same flags, dying task"; §M3.2 kthreads.
    """
    check(parity, "errno-order")


def test_a_task_that_is_not_dying_gives_einval(parity: ParityRun) -> None:
    """Live, cgroup-frozen (not killed) and SIGSTOPped tasks are not dying: EINVAL, and their
    memory stays.

    Kernel: task_will_free_mem() is false without SIGNAL_GROUP_EXIT / PF_EXITING
    (mm/oom_kill.c). Source: docs/sources.md §M0.1, 3; §M3.1 rows "flags = 0, live task",
    "SIGSTOPped live task", "cgroup-frozen live task (not killed)".
    """
    check(parity, "not-dying")


def test_a_dying_task_is_reaped_at_once_and_in_full(parity: ParityRun) -> None:
    """Frozen + SIGKILL: the call returns 0, VmRSS is 0 before it returns, the anon memory
    (N pages) is freed, page tables stay; a repeat call returns 0, frees nothing and is
    cheap. This is also the deterministic form of the race's win (the call before exit_mm).

    Kernel: SIGKILL sets SIGNAL_GROUP_EXIT in the sender (complete_signal()); the reap runs
    __oom_reap_task_mm() in the caller, which never frees page tables
    (unmap_page_range()); MMF_OOM_SKIP is not set, so a repeat call reaps an empty range.
    Source: docs/sources.md §M0.2, 4, 7, 8; §M3.1 "dying task (frozen+SIGKILL)"; §M6
    "anon 4K", "repeat call on an already reaped dying task".
    """
    rows = check(parity, "dying-anon")
    assert kernel(rows, "VmRSS at after_reap (kB)") == 0


def test_memfree_is_a_poor_probe(parity: ParityRun) -> None:
    """Freed pages go to the per-CPU page lists first; MemFree (buddy only) misses them, or
    jumps when a list spills, so its change is off from Δ(nr_free_pages + pcp) by more than
    one pcp batch; Free+pcp sees the freed anon memory.

    Kernel: mm/page_alloc.c:free_unref_folios() → free_frozen_page_commit() keeps pages on
    the pcp list up to ``high`` (auto-tuned on the kernel, ~5300 pages at rest on
    2026-11-26; a constant 48307 in the model). Source: docs/sources.md §M0.9; §M6
    columns ΔMemFree vs ΔFree+pcp.
    """
    check(parity, "memfree-probe")


def test_esrch_once_the_victim_has_detached_its_mm(parity: ParityRun) -> None:
    """Killed and left to exit (pidfd readable, zombie): ESRCH; after waitpid: ESRCH. This
    is the deterministic form of losing the race.

    Kernel: exit_mm() clears task->mm before exit_mmap(); find_lock_task_mm() then finds no
    thread with an mm; after release_task() get_pid_task() is NULL. Source: docs/sources.md
    §M0.1, 4; §M3.1 rows "SIGKILL, wait until zombie" and "after waitpid".
    """
    check(parity, "zombie")


def test_there_is_no_permission_check(parity: ParityRun) -> None:
    """A caller with uid nobody and no capabilities reaps a root-owned dying task (0, RSS 0);
    on the live task it gets EINVAL like anyone.

    Kernel: process_mrelease() checks no credentials; holding the pidfd is enough. Source:
    docs/sources.md §M0.3; §M3.2 row "caller uid=nobody, no caps, victim root".
    """
    check(parity, "no-permission-check")


def test_every_process_sharing_the_mm_must_be_dying(parity: ParityRun) -> None:
    """A CLONE_VM sharer (a second process on the same mm): killing the owner only, or the
    sharer only, gives EINVAL on both pidfds and reaps nothing; killing both gives 0, 0.

    Kernel: task_will_free_mem() with mm_users > 1 requires every process using the mm to
    pass __task_will_free_mem() (mm/oom_kill.c). Source: docs/sources.md §M0.3; §M3.3
    clone(CLONE_VM|SIGCHLD) rows "owner only", "sharer only", "both".
    """
    check(parity, "clone-vm-owner-killed", "clone-vm-sharer-killed")


def test_proc_reader_on_a_frozen_killed_victim_changes_nothing(parity: ParityRun) -> None:
    """With a /proc/<pid>/cmdline read blocked holding mm_users, a frozen killed victim is
    still reaped in full (0, RSS 0, all anon freed); the reader's release frees nothing more.

    Kernel: a reader pins mm_users but is not a process using the mm, so
    task_will_free_mem() ignores it; the reap needs no mm_users reference
    (fs/proc/base.c get_task_cmdline() → get_task_mm()). Source: docs/sources.md §M0.5;
    §M4.4 row H2.
    """
    check(parity, "holder-frozen-killed")


def test_proc_reader_traps_memory_after_exit_mm(parity: ParityRun) -> None:
    """With the reader holding mm_users, the victim's exit frees nothing; the call gives
    ESRCH while all of the memory is still allocated; the reader's release frees it
    (exit_mmap runs in the reader).

    Kernel: exit_mm() drops its mm_users reference, which is not the last; mmput() in the
    reader runs __mmput() → exit_mmap() (kernel/fork.c). Source: docs/sources.md §M0.4
    and 5; §M4.4 row H1.
    """
    rows = check(parity, "holder-zombie")
    assert kernel(rows, "errno: zombie with the mm pinned") == "ESRCH"


def test_clean_file_pages_survive_the_reap_and_the_exit(parity: ParityRun) -> None:
    """A private read-only file mapping: unmapped by the reap (RSS 0), nothing freed, and
    every page stays cached (nr_cache = N, nr_dirty 0, nr_evicted 0), after the exit too.

    Kernel: the zap drops the PTEs' folio references only; the page cache keeps its own
    (mm/memory.c zap_present_folio_ptes(), mm/huge_memory.c zap_huge_pmd()). Source:
    docs/sources.md §M0 items 6-8; §M5 row A; §M6 "file private, read" (ΔCached 0).
    """
    check(parity, "file-private")


def test_dontneed_drops_everything_after_the_reap_and_nothing_without(
    parity: ParityRun,
) -> None:
    """After the reap POSIX_FADV_DONTNEED drops every clean page (nr_cache 0); on a frozen
    killed victim that was not reaped it drops none, and the plain exit keeps them too.

    Kernel: mapping_evict_folio() refuses folios with references beyond the page cache's,
    and every PTE/PMD mapping holds one (mm/truncate.c). Source: docs/sources.md §M0.6;
    §M5 rows A', E, E'.
    """
    check(parity, "dontneed-after-reap", "dontneed-without-reap")


def test_cow_copies_are_freed_and_the_file_stays_clean(parity: ParityRun) -> None:
    """A private file mapping with copy-on-write pages: the COW copies (anon) are freed,
    the file's pages stay cached and clean, and DONTNEED can drop them after the reap.

    Kernel: a COW copy is an anon folio (freed at the TLB flush); the file folio under it
    was never written. Source: docs/sources.md §M0.6, 7; §M5 rows D, D'.
    """
    check(parity, "file-cow")


def test_vm_shared_mappings_are_skipped(parity: ParityRun) -> None:
    """MAP_SHARED of an O_RDWR file (VM_SHARED) and shmem are skipped: their RSS stays, the
    dirty shared pages stay dirty and mapped (DONTNEED drops none); anon memory goes.

    Kernel: __oom_reap_task_mm() zaps only ``vma_is_anonymous(vma) || !(vm_flags &
    VM_SHARED)``. Source: docs/sources.md §M0.7; §M1.3; §M5 rows B2, B3; §M6 "file
    MAP_SHARED of O_RDWR fd".
    """
    check(parity, "vm-shared-skipped", "shmem-skipped")


def test_mlocked_anon_memory_is_reaped_and_munlocked(parity: ParityRun) -> None:
    """mlocked anonymous memory is reaped (RSS 0, freed) and Mlocked drops with it.

    Kernel: current kernels no longer skip VM_LOCKED VMAs in the reaper;
    folio_remove_rmap_ptes() munlocks (through the per-CPU mlock batch). Source:
    docs/sources.md §M0.7; §M6 "anon mlocked: 0, RSS after 0".
    """
    check(parity, "anon-mlocked")


def test_thp_is_reaped_with_its_deposited_page_tables(parity: ParityRun) -> None:
    """THP anonymous memory (MADV_HUGEPAGE): PMD-mapped, reaped in full, and the page table
    deposited for every THP is freed (PageTables -4 kB per 2 MiB).

    Kernel: mm/huge_memory.c zap_huge_pmd() → zap_deposited_table(). Source: docs/sources.md
    §M0.7, 8; §M6 "anon THP ... PageTables -464 kB: deposited tables".
    """
    check(parity, "anon-thp")


def test_reap_cost_scales_with_pages_zapped_or_freed(parity: ParityRun) -> None:
    """4 KiB anon costs more per MiB than THP and than clean private file pages (fixed cost
    of a one-page victim subtracted).

    Kernel: one PTE clear + one folio free per 4 KiB page, against one PMD per 2 MiB or
    batched PTEs of a large file folio with nothing freed. Source: docs/sources.md §M0.8
    (71 vs 3 µs/MB); the per-MiB prices are mrelease_ref.lab.calibration's.
    """
    check(parity, "empty")
    cross = [r for r in parity.rows if "+" in r.scenario]
    assert len(cross) == 2
    assert all(r.agree and r.meets(r.expect) for r in cross), _show(cross)


def test_the_kernel_selftest_flow_passes(parity: ParityRun) -> None:
    """mrelease_test.c's flow: flags=-1 and a live child give EINVAL; SIGKILL then an
    immediate call reaps (ESRCH would double the size and retry); verdict PASS.

    Kernel: the errno order above and the SIGKILL race (docs/sources.md §M4). Source:
    docs/sources.md §M7 ("60/60 runs PASS"; strace shows EINVAL, EINVAL, kill, 0).
    """
    check(parity, "selftest")


def test_signals_to_frozen_victims_and_threads(parity: ParityRun) -> None:
    # ``parity`` only for its skip rules; SIGNAL_SCENARIOS run here, apart from SCENARIOS
    """SIGKILL to a frozen victim always starts the group exit; SIGTERM only when it froze
    in place (a TASK_FREEZABLE sleep: nanosleep, futex), not when it froze through the
    fake signal (pause, select, busy); kill(tid), tgkill(), PIDFD_THREAD pidfds and the
    PIDFD_SIGNAL_* scopes; process_mrelease() through a non-leader's pidfd is ESRCH; the
    OOM killer thaws every thread of a frozen victim (memcg OOM).

    Kernel: kernel/signal.c:wants_signal(), complete_signal(), kill_pid_info_type(),
    do_send_specific(), SYSCALL_DEFINE4(pidfd_send_signal); kernel/freezer.c:freeze_task();
    kernel/pid.c:pidfd_get_task() (v6.18).
    """
    from mrelease_ref.lab.memcg import find_memcg_root

    run = run_parity(SIGNAL_SCENARIOS)
    rows = check(run, *(s.name for s in SIGNAL_SCENARIOS))
    assert len(rows) >= 15
    root, _ = find_memcg_root()  # the oom-* scenarios' memory groups are gone again
    prefix = f"mrelease_lab.{os.getpid()}."
    assert root is None or not [p for p in root.iterdir() if p.name.startswith(prefix)]


def test_nothing_is_left_behind(parity: ParityRun, children_before: set[str]) -> None:
    """After the run no victim, sharer or holder process and no freezer group of ours is
    left (every scenario cleans up, also on error).

    Rule: the lab's cleanup contract (mrelease_ref.lab.freezer, .victim, .measure).
    Source: docs/sources.md §M9 (a shared machine: leave nothing running).
    """
    backend, _ = freezer.find_backend()
    assert backend is not None
    prefix = f"{freezer.GROUP_PREFIX}.{os.getpid()}."
    assert [p.name for p in backend.root.iterdir() if p.name.startswith(prefix)] == []
    assert _children() <= children_before


def test_fork_shares_anon_memory_and_reaps_free_only_private_pages(parity: ParityRun) -> None:
    """fork() shares every anonymous page and copies no file PTEs; a child's reap frees only
    the pages it wrote (its copies), the parent's reap frees nothing a sibling still maps,
    the last mapper's reap frees the rest; RSS of the others never changes.

    Kernel: mm/memory.c:copy_present_ptes(), vma_needs_copy(), wp_page_copy();
    mm/rmap.c:folio_remove_rmap_ptes(). Source: the scenario's parity rows (live kernel).
    """
    check(parity, "fork-cow-reap")


def test_proc_pid_mem_before_and_after_the_reap(parity: ParityRun) -> None:
    """/proc/<pid>/mem: data from a live or killed victim; EIO for an address without a
    VMA and for a reaped anonymous page (its fault gets SIGBUS on an MMF_UNSTABLE mm);
    data from a reaped private file page still cached (fault-around does not check) and
    from a MAP_SHARED page (not reaped); EIO for a reaped private file page that must be
    read in; EACCES for uid nobody; ESRCH opening it after the exit; EOF through a file
    opened before.

    Kernel: fs/proc/base.c:mem_rw(), __mem_open(); kernel/fork.c:mm_access();
    mm/memory.c:__access_remote_vm(), do_fault_around(), finish_fault().
    """
    check(parity, "proc-pid-mem")


def test_a_write_to_a_shared_thp_splits_one_pmd_and_copies_4k(parity: ParityRun) -> None:
    """fork() shares each anonymous THP by a PMD; a child's write splits only the child's
    PMD and copies one 4 KiB page (AnonHugePages of the child drops by 2 MiB per THP
    written, the parent keeps all of its THPs); the child's reap frees its copies.

    Kernel: mm/huge_memory.c:copy_huge_pmd(), do_huge_pmd_wp_page() (split, then
    VM_FAULT_FALLBACK to the PTE's wp_page_copy()).
    """
    check(parity, "fork-thp-cow")


def test_page_cache_folio_sizes_match_the_kernel(parity: ParityRun) -> None:
    """Every folio case (file size x access pattern x madvise() hint) leaves the same
    page-cache layout, FilePmdMapped and mapping RSS on the model as on the live kernel.

    Rule: v6.18 readahead (mm/readahead.c: page_cache_sync_ra(), page_cache_async_ra(),
    page_cache_ra_order()) and the mmap fault paths (mm/filemap.c:
    do_sync_mmap_readahead(), filemap_map_pages(); mm/memory.c: finish_fault(),
    do_set_pmd()). Source: the kernel itself, measured by mrelease_ref.lab.folios.
    """
    names = tuple(f"folios/{c.name}" for c in FOLIO_CASES)
    rows = check(parity, *names)
    assert len(rows) >= 30

"""Acceptance: every schedule of the kill/``process_mrelease()`` race, per variant.

Each row of :data:`TABLE` names a kernel (the v6.18 baseline, a REAP_KILL version, or one
of the thread's alternatives), the holders of the victim's address space, and what the
rules say must be reachable over *all* schedules the explorer finds
(``mrelease_ref.scenarios.races``, invariant checker on after every step): the return codes
of the call, whether ESRCH is reachable, whether memory can be trapped (left allocated by
the call and freed only by a holder's ``mmput()``, or never), and who may run
``exit_mmap()``. Every row cites its source: docs/sources.md sections (§T = the thread,
§K = the kernel) and lore links. Schedule *counts* are not pinned: they depend on the
model's step granularity, not on a rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pytest

from mrelease_ref.include.linux.mm_types import PteTable
from mrelease_ref.scenarios.races import (
    OutcomeRow,
    RaceSpec,
    RaceWorld,
    outcome_table,
    replay,
    world,
)
from mrelease_ref.sim.kernel import ANDROID

LORE = "https://lore.kernel.org/r/"
V1_COVER = LORE + "20260421230239.172582-1-minchan@kernel.org"
V2 = LORE + "20260429211359.3829683-1-minchan@kernel.org"
V3 = LORE + "20260511214226.937793-1-minchan@kernel.org"
LINUS_WLOCK = LORE + "CAHk-=wg08=sZb=hVa22KjN2pD3aNk-diGmKQnizCgmoMMfrvwQ@mail.gmail.com"
LINUS_ESRCH = LORE + "CAHk-=whqfr-M9ip9OWAUR1X6aOEy2P4gSWYDkbkTCc3E=jCz_A@mail.gmail.com"
MINCHAN_0519 = LORE + "agzNyXKIirm1zOob@google.com"
BRAUNER = LORE + "20260516-work-exit_mm-v1-1-76bcc7c2439d@kernel.org"
SUREN = LORE + "CAJuCfpE_Kew9+umy2=7hzPdAe6yT23y=sk0BB=4BQpMZCJUvpA@mail.gmail.com"
EXPEDITE = LORE + "agzNyXKIirm1zOob@google.com"


@dataclass(frozen=True, slots=True)
class Row:
    """What must hold over every schedule of one world, and why."""

    variant: str
    holders: tuple[str, ...]
    rcs: frozenset[str]
    esrch: bool
    trapped: bool
    exit_mmap_by: frozenset[str]
    source: str


TABLE = (
    Row("baseline", (), frozenset({"0", "ESRCH"}), True, False, frozenset({"victim"}),
        "§T4.4 steps 1-5: exit_mm() clears ->mm, find_lock_task_mm() finds none -> ESRCH; "
        "without a holder the victim's own mmput() runs exit_mmap() (§K1.7). " + V1_COVER),
    Row("baseline", ("reader",), frozenset({"0", "ESRCH"}), True, True,
        frozenset({"victim", "reader"}),
        "§T4.4 steps 3-6: a /proc/<pid>/cmdline reader holding mm_users makes the victim's "
        "mmput() not the last; memory stays until the reader's mmput(). " + V1_COVER),
    Row("baseline", ("smaps",), frozenset({"0", "ESRCH"}), True, True,
        frozenset({"victim", "smaps"}),
        "§T4.3 #13: an smaps reader's m_start() mmget()s the mm until m_stop(). "
        + LORE + "agefLhQeWpvil14M@google.com"),
    Row("baseline", ("sharer",), frozenset({"EINVAL", "ESRCH"}), True, True,
        frozenset(),
        "§K1.1: task_will_free_mem() is false while a CLONE_VM sharer lives (EINVAL); the "
        "sharer's mm_users keep everything allocated."),
    Row("v1", ("reader",), frozenset({"0"}), False, False, frozenset({"victim", "reader",
                                                                       "caller"}),
        "§T3.2 v1 3/3 and §T4.4: REAP_KILL pins the mm (mmget()) before the kill, so the "
        "task still has its mm at call time; the reaper frees all anonymous memory. "
        + LORE + "20260421230239.172582-4-minchan@kernel.org"),
    Row("v2", ("reader",), frozenset({"0"}), False, False, frozenset({"victim", "reader"}),
        "§T3.4, §T4.3 #4: mmgrab() before the kill; the victim's exit_mmap() may run beside "
        "the reaper. " + V2),
    Row("v2", ("sharer",), frozenset({"EINVAL"}), False, True, frozenset(),
        "§T3.4: an MMF_MULTIPROCESS mm is refused with EINVAL before any kill; the live "
        "sharer keeps the memory. " + V2),
    Row("v2", ("vfork",), frozenset({"0"}), False, False, frozenset(),
        "§T3.4 and kernel/fork.c:copy_oom_score_adj(): a vfork child does not set "
        "MMF_MULTIPROCESS, so v2 kills the parent and reaps the memory the live child "
        "shares. " + V2),
    Row("v3", ("reader", "sharer"), frozenset({"0"}), False, False,
        frozenset({"victim", "reader", "sharer"}),
        "§T3.6: kill_all_shared_mm() kills every process sharing the mm, then reaps. " + V3),
    Row("linus_exit_mmap_wlock", ("reader",), frozenset({"0", "ESRCH"}), True, True,
        frozenset({"victim", "reader"}),
        "§T3.7, §T4.3 #15 (Linus, prose): exit_mmap() under the write lock changes who "
        "overlaps whom, not ->mm clearing or mm_users. " + LINUS_WLOCK),
    Row("proc_mm_count", ("reader",), frozenset({"0", "ESRCH"}), True, False,
        frozenset({"victim"}),
        "§T4.3 #15: readers hold only mm_count, so the victim's mmput() is the last and "
        "nothing is trapped (Linus); ESRCH remains because ->mm is still cleared early "
        "(Minchan's roadblock (a)). " + LINUS_WLOCK + " " + MINCHAN_0519),
    Row("smaps_esrch", ("smaps",), frozenset({"0", "ESRCH"}), True, True,
        frozenset({"victim", "smaps"}),
        "§T3.7 (Linus, prose): m_start() refuses a task without ->mm, but a read that took "
        "mm_users before exit_mm() still pins it until m_stop(). " + LINUS_ESRCH),
    Row("exit_mm_field", ("reader",), frozenset({"0", "ESRCH"}), True, True,
        frozenset({"victim", "reader"}),
        "§T1.4 (Brauner's patch) and §T4.3 #14 (Suren's fallback): process_mrelease() uses "
        "task->exit_mm after exit_mm(); ESRCH only once the task is released. "
        + BRAUNER + " " + SUREN),
    Row("expedite", ("reader",), frozenset({"0"}), False, False,
        frozenset({"victim", "reader"}),
        "§T3.7 (Minchan, prose): SIGKILL and the zap in one pidfd_send_signal() while "
        "task->mm is valid: the mm is pinned before the kill, as with REAP_KILL. " + EXPEDITE),
    Row("expedite", ("sharer",), frozenset({"0"}), False, True, frozenset(),
        "§T3.7 [I]: only the target is killed; task_will_free_mem() forbids reaping the mm a "
        "live sharer runs in, so the sharer keeps the memory. " + EXPEDITE),
)


@cache
def _rows(variant: str, holders: tuple[str, ...]) -> tuple[OutcomeRow, ...]:
    rows, _ = outcome_table(RaceSpec(variant, holders))
    return tuple(rows)


@pytest.mark.parametrize("row", TABLE, ids=lambda r: f"{r.variant}-{'+'.join(r.holders) or 'none'}")
def test_reachable_outcomes(row: Row) -> None:
    """The row's rule (see ``row.source``): the return codes, ESRCH, trapped memory and
    the tasks that run exit_mmap() over every schedule of the world."""
    rows = _rows(row.variant, row.holders)
    outcomes = [r.outcome for r in rows]
    assert {o.rc for o in outcomes} == row.rcs, row.source
    assert any(o.rc == "ESRCH" for o in outcomes) == row.esrch, row.source
    assert any(o.trapped for o in outcomes) == row.trapped, row.source
    ran = {o.exit_mmap_by for o in outcomes} - {"(nobody)"}
    assert ran == row.exit_mmap_by, row.source


@pytest.mark.parametrize("variant", ["v1", "v2", "v3"])
def test_reap_kill_never_esrch_when_the_task_has_its_mm(variant: str) -> None:
    """§T4.4: REAP_KILL looks the mm up *before* it sends the SIGKILL, so when the
    pidfd's task still has its mm at call time (it is not even dying yet), no schedule
    returns ESRCH -- with or without a /proc reader."""
    for holders in ((), ("reader",)):
        assert all(r.outcome.rc != "ESRCH" for r in _rows(variant, holders))


def test_write_locked_exit_mmap_never_overlaps_the_reaper() -> None:
    """Linus's proposal (§T3.7, LINUS_WLOCK): with exit_mmap() write-locked, a reaper
    either finishes before the teardown or waits and finds MMF_OOM_SKIP after it, so a
    call that returns 0 never leaves pages in a half-done teardown -- unlike v6.18, where
    MMF_OOM_SKIP is set before exit_mmap() frees its gather (mm/mmap.c:exit_mmap())."""
    base = _rows("baseline", ("reader",))
    wlock = _rows("linus_exit_mmap_wlock", ("reader",))
    assert any(r.outcome.rc == "0" and r.outcome.left_at_return for r in base)
    assert all(r.outcome.left_at_return == 0 for r in wlock if r.outcome.rc == "0")


def test_exit_mm_fallback_traps_memory_only_after_the_task_is_released() -> None:
    """Suren's fallback (§T4.3 #14, SUREN) on Brauner's task->exit_mm (§T1.4, BRAUNER):
    while the pidfd still resolves to the task, the call reaps through task->exit_mm, so
    memory is trapped by the reader only in schedules where the call came after the victim
    was released (pidfd_get_task() -> ESRCH), and in fewer schedules than on v6.18."""
    fallback = _rows("exit_mm_field", ("reader",))
    assert all(r.outcome.rc == "ESRCH" for r in fallback if r.outcome.trapped)
    trapped = sum(r.schedules for r in fallback if r.outcome.trapped)
    base = sum(r.schedules for r in _rows("baseline", ("reader",)) if r.outcome.trapped)
    assert 0 < trapped < base


def test_smaps_esrch_closes_only_the_window_after_exit_mm() -> None:
    """Linus's m_start() test (§T3.7, LINUS_ESRCH) refuses readers that start after the
    victim's exit_mm(): fewer schedules trap memory than on v6.18, but a read that pinned
    mm_users before exit_mm() still does."""
    def trapped(variant: str) -> int:
        return sum(r.schedules for r in _rows(variant, ("smaps",)) if r.outcome.trapped)

    assert 0 < trapped("smaps_esrch") < trapped("baseline")


ANDROID_OPTS = tuple(ANDROID.items())


def test_a_pmd_of_the_race_world_spans_ptrs_per_pte_pages() -> None:
    """A PTE table holds PTRS_PER_PTE entries, so a PMD spans 512 pages of 4 KiB
    (arch/x86/include/asm/pgtable_64_types.h) and 2048 of 16 KiB (arm64
    pgtable-hwdef.h: PTRS_PER_PTE = 1 << (PAGE_SHIFT - 3)): the victim's VMA is
    ``nr_pmds`` PMDs of that size, its written pages start each PMD, and
    ``pages_per_pmd`` may not exceed it."""
    for options, per_pmd in (((), 512), ((*ANDROID_OPTS, ("debug_vm", False)), 2048)):
        w = RaceWorld(RaceSpec("baseline", (), 2, 2, options=options))
        assert w.kernel.pg.PTRS_PER_PTE == w.spec.pg.PTRS_PER_PTE == per_pmd
        vma = next(v for v in w.mm.mm_mt if v.anon_vma is not None)
        pmd_size = per_pmd * w.kernel.pg.PAGE_SIZE
        assert vma.vm_end - vma.vm_start == 2 * pmd_size
        tables = [e for e in w.mm.pgd.values() if isinstance(e, PteTable)]
        assert [len(t) for t in tables] == [per_pmd, per_pmd]  # one PTE table per PMD
        RaceSpec(pages_per_pmd=per_pmd, options=options)
        with pytest.raises(ValueError, match=f"pages_per_pmd <= {per_pmd}"):
            RaceSpec(pages_per_pmd=per_pmd + 1, options=options)


def test_race_spec_options_are_kernel_settings() -> None:
    """``options`` are ``Kernel()`` settings, as pairs or a mapping (stored as pairs, so
    the spec stays hashable); anything else, or a page size no architecture has, is
    refused with a message that says what to give."""
    assert RaceSpec(options=dict(ANDROID)) == RaceSpec(  # type: ignore[arg-type]
        options=ANDROID_OPTS)
    assert RaceSpec(options=()) == RaceSpec()
    with pytest.raises(TypeError, match="pairs"):
        RaceSpec(options=["page_size"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="page_size must be one of"):
        RaceSpec(options=(("arch", "arm64"), ("page_size", 8192)))


def test_the_android_race_world_keeps_the_invariants() -> None:
    """With the invariant checker on (``debug_vm``, every step), the schedule where
    v6.18's call returns ESRCH with the victim's page still allocated (exit_mm() has
    cleared ->mm, exit_mmap() has freed nothing: §T4.4) replays on Kernel.android() to
    the same outcome as on the default kernel."""
    default = {r.outcome: r.witness for r in outcome_table(RaceSpec("baseline", (), 1, 1))[0]}
    o, witness = next((o, w) for o, w in default.items() if o.rc == "ESRCH" and o.left_at_return)
    assert replay(world(RaceSpec("baseline", (), 1, 1, options=ANDROID_OPTS)),
                  witness).outcome() == o

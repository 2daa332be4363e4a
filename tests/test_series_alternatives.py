"""The thread's alternatives to REAP_KILL, hunk by hunk (``mrelease_ref/series/<name>/``).

Sources (docs/sources.md §T1.4, §T3.7, §T4.3 #14-#15): Linus Torvalds 2026-05-16
<CAHk-=wg08=sZb=hVa22KjN2pD3aNk-diGmKQnizCgmoMMfrvwQ@mail.gmail.com> (exit_mmap() under
the write lock; readers with mm_count only) and 2026-05-22
<CAHk-=whqfr-M9ip9OWAUR1X6aOEy2P4gSWYDkbkTCc3E=jCz_A@mail.gmail.com> (smaps m_start()
ESRCH); Christian Brauner's posted <20260516-work-exit_mm-v1-1-76bcc7c2439d@kernel.org>
(task->exit_mm); Suren Baghdasaryan's fallback
<CAJuCfpE_Kew9+umy2=7hzPdAe6yT23y=sk0BB=4BQpMZCJUvpA@mail.gmail.com>. The prose proposals
are the model's readings [I]; these tests pin what each reading does.
"""

from __future__ import annotations

import errno
import signal

import pytest

from mrelease_ref import Kernel
from mrelease_ref.fs.proc.task_mmu import proc_maps_open
from mrelease_ref.kernel.sched import run_to_completion
from mrelease_ref.variants import ALTERNATIVES, SERIES, VARIANTS, alternatives_table, variant_table
from tests._support import mm_of, small_kernel


def _app(k: Kernel) -> tuple[int, int]:
    lmkd = k.spawn("lmkd", 0)
    app = k.spawn("app", 10001)
    m = app.mmap(64)
    app.touch(m, write=True)
    k.lru_add_drain_all()
    return lmkd.pid, app.pid


def test_alternatives_are_registered_and_kept_out_of_the_series_table() -> None:
    """Each alternative is a Kernel variant with a Message-ID and a lore link; the README's
    variant table (variant_table()) lists only the versions of the series."""
    assert set(ALTERNATIVES) == {"linus_exit_mmap_wlock", "proc_mm_count", "smaps_esrch",
                                 "exit_mm_field", "expedite"}
    assert [r["variant"] for r in variant_table()] == list(SERIES)
    rows = alternatives_table()
    assert [r["variant"] for r in rows] == list(ALTERNATIVES)
    assert all(r["lore"] == f"https://lore.kernel.org/r/{r['Message-ID']}" for r in rows)
    assert [v for v in ALTERNATIVES if VARIANTS[v].posted] == ["exit_mm_field"]
    for v in ALTERNATIVES:
        assert Kernel(v).series.valid_flags == 0  # no UAPI change in any of them


def test_write_locked_exit_mmap_holds_the_lock_from_the_first_zap() -> None:
    """linus_exit_mmap_wlock: the teardown never takes the read lock; the write lock is
    held at every preemption point of exit_mmap()."""
    k = small_kernel("linus_exit_mmap_wlock", trace=True)
    lmkd_pid, app_pid = _app(k)
    app = k.process(app_pid)
    mm = mm_of(app)
    k.process(lmkd_pid).kill(app_pid, signal.SIGKILL)
    seen = []
    while k.step(app.task):
        if k.steps[-1].label in ("zap_pmd_range", "exit_mmap:remove_vma"):
            seen.append((mm.mmap_lock.writer is app.task, mm.mmap_lock.readers))
    assert seen and all(w and r == 0 for w, r in seen)


def test_proc_mm_count_reader_never_holds_mm_users() -> None:
    """proc_mm_count: the cmdline reader pins mm_count only, so the victim's own mmput()
    is the last and exit_mmap() runs in the victim even while the read is blocked."""
    k = small_kernel("proc_mm_count", trace=True)
    lmkd_pid, app_pid = _app(k)
    app = k.process(app_pid)
    mm = mm_of(app)
    users, count = mm.mm_users, mm.mm_count
    held = k.spawn("ps", 0).read_proc(app_pid, "cmdline", block=True)
    assert (mm.mm_users, mm.mm_count) == (users, count + 1)
    k.process(lmkd_pid).kill(app_pid, signal.SIGKILL)
    k.run()
    assert k.meminfo()["AnonPages"] == 0 and not held.done
    assert any(e.func == "__mmput" and "by app" in e.detail for e in k.trace)
    held.release()
    k.run()
    assert held.done


@pytest.mark.parametrize(("variant", "want"), [("baseline", 1), ("smaps_esrch", -errno.ESRCH)])
def test_smaps_m_start_after_exit_mm(variant: str, want: int) -> None:
    """A zombie (->mm NULL, not yet reaped by its parent): v6.18's m_start() finds the
    task, tries mmget_not_zero() on the mm it opened -- no user is left, so it shows
    nothing (1) --, while smaps_esrch refuses with ESRCH before looking at the mm."""
    k = small_kernel(variant)
    parent = k.spawn("zygote", 10001)
    app = k.spawn("app", 10001, parent=parent)  # stays a zombie: still found by its pid
    app.touch(app.mmap(8), write=True)
    reader = k.spawn("smaps", 0)
    with k.running(reader.task):
        priv = proc_maps_open(app.task)
    app.exit()
    k.run()
    with k.running(reader.task):
        ret = run_to_completion(k.series.m_start(reader.task, priv))
    assert ret == want


def test_exit_mm_field_keeps_and_drops_the_mm() -> None:
    """exit_mm_field: exit_mm() stores the mm in task->exit_mm with an mm_count reference;
    free_task() drops it, and the mm struct is freed then."""
    k = small_kernel("exit_mm_field")
    _, app_pid = _app(k)
    app = k.process(app_pid)
    mm = mm_of(app)
    task = app.task
    task.usage += 1  # a pidfd-like reference, so the task outlives its release
    app.exit()
    k.run()
    assert task.exit_mm is mm and not mm.freed and mm.mm_users == 0
    from mrelease_ref.kernel.pid import put_task_struct

    put_task_struct(task)
    assert task.exit_mm is None and mm.freed

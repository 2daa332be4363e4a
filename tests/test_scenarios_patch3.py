"""Patch 3 (PROCESS_MRELEASE_REAP_KILL) experiments: ``mrelease_ref.scenarios.patch3``.

Each test states the kernel rule it checks and where it comes from: the baseline
(docs/sources.md §K1–§K2, §M4) or a version of the series
(docs/sources.md §T3.1 RFC 3/3, §T3.2 v1 3/3, §T3.4 draft C = v2, §T3.5 draft D, §T3.6 concept F =
v3, §T4.3, §T4.4, §T6 #10–#15). Every experiment runs on ``Kernel(debug_vm=True)``: the
invariant checker runs after every call and scheduler step.
"""

from __future__ import annotations

from typing import Literal

import pytest

from mrelease_ref.mm import oom_kill
from mrelease_ref.scenarios import patch3
from mrelease_ref.scenarios.patch3 import (
    ANON_PAGES,
    FILE_PAGES,
    RACE_PAGES_PER_VMA,
    RACE_VMAS,
    REAP_KILL,
    REAP_KILL_VERSIONS,
    VERSIONS,
    call_outcome,
    case,
)
from mrelease_ref.series.v1.mm import oom_kill as v1_oom_kill
from mrelease_ref.series.v3.mm import oom_kill as v3_oom_kill
from mrelease_ref.sim.report import KB_PER_PAGE

RSS_KB = (ANON_PAGES + FILE_PAGES) * KB_PER_PAGE
FILE_KB = FILE_PAGES * KB_PER_PAGE
VICTIM_KB = RACE_VMAS * RACE_PAGES_PER_VMA * KB_PER_PAGE


def outcome(name: str, version: str, flags: int = REAP_KILL) -> patch3.CallOutcome:
    return call_outcome(case(name), version, flags)


def test_experiments_run_with_the_invariant_checker() -> None:
    """House style: experiments run on Kernel(debug_vm=True) (CONFIG_DEBUG_VM-like checks
    after every step), with tracing, seed 0 and single-page folios."""
    k = patch3.new_kernel("v2")
    assert k.config.debug_vm and k.config.trace and k.config.seed == 0
    assert not k.config.large_folios


def test_syscall_of_is_the_variants_process_mrelease() -> None:
    """Each version replaces SYSCALL_DEFINE2(process_mrelease) (series/hooks.py)."""
    assert patch3.syscall_of("baseline") is oom_kill.process_mrelease
    assert patch3.syscall_of("v1") is v1_oom_kill.process_mrelease
    assert patch3.syscall_of("v3") is v3_oom_kill.process_mrelease


def test_without_the_flag_every_version_returns_the_baselines_code() -> None:
    """docs/sources.md §T6 #12: without PROCESS_MRELEASE_REAP_KILL every version keeps the base
    behaviour (docs/sources.md §K1.1: -EINVAL unless dying, 0 if MMF_OOM_SKIP, -ESRCH without an
    mm)."""
    rows = patch3.outcome_matrix(flags=(0,))
    by_case: dict[str, set[str]] = {}
    for o in rows:
        by_case.setdefault(o.case, set()).add(o.ret)
    assert all(len(rets) == 1 for rets in by_case.values()), by_case
    assert not any(o.target_killed or o.others_killed for o in rows)


def test_baseline_rejects_the_flag() -> None:
    """docs/sources.md §K1.1: v6.18 returns -EINVAL for any flags != 0, before the pidfd."""
    for c in patch3.CASES:
        o = call_outcome(c, "baseline", REAP_KILL)
        assert o.ret == "EINVAL" and not o.target_killed and o.reaped_kb == 0


def test_unknown_flag_bits_are_rejected_by_every_version() -> None:
    """v1/v2/v3 uapi: ``flags & ~PROCESS_MRELEASE_VALID_FLAGS`` -> -EINVAL, nothing done."""
    for v in VERSIONS:
        o = outcome("bad flags", v)
        assert o.ret == "EINVAL" and o.reaped_kb == 0, o


@pytest.mark.parametrize("version", ["rfc", "v1", "v2", "v3"])
def test_reap_kill_kills_and_reaps_a_live_target(version: str) -> None:
    """docs/sources.md §T3.1–§T3.6: with REAP_KILL the target need not be dying; the call sends
    SIGKILL and reaps the anonymous and private-file RSS."""
    o = outcome("live", version)
    assert o.ret == "0" and o.target_killed and o.reaped_kb == RSS_KB


def test_draft_d_as_posted_reaps_no_anonymous_memory() -> None:
    """docs/sources.md §T3.5 / §T6 #16: draft D passes a zero-initialised zap_details
    (``even_cows`` false), so should_zap_folio() keeps anonymous folios: the reap only
    unmaps private file pages."""
    o = outcome("live", "d")
    assert o.ret == "0" and o.target_killed and o.reaped_kb == FILE_KB


def test_an_exited_target_gives_esrch_everywhere() -> None:
    """docs/sources.md §K1.2: find_lock_task_mm() finds no thread with an mm -> -ESRCH; no version
    changes that (docs/sources.md §T6 #12)."""
    for v in REAP_KILL_VERSIONS:
        assert outcome("exited", v).ret == "ESRCH"


def test_coredumping_target() -> None:
    """v1 keeps the core_state test before ``ignore_exit`` (docs/sources.md §T3.2) -> -EINVAL;
    v2/v3 skip task_will_free_mem() with REAP_KILL, so the dumping target is reaped
    (docs/sources.md §T3.4)."""
    assert outcome("coredumping", "v1").ret == "EINVAL"
    for v in ("v2", "v3"):
        o = outcome("coredumping", v)
        assert o.ret == "0" and o.reaped_kb == RSS_KB


@pytest.mark.parametrize("version", ["baseline", "rfc", "v1", "v2", "v3"])
def test_a_reap_kill_sigkill_ends_a_stalled_core_dump(version: str) -> None:
    """prepare_signal() lets SIGKILL through to a group whose core_state is set, and
    fs/coredump.c:dump_interrupted() stops the dump on fatal_signal_pending(): after the
    SIGKILL of v2/v3 (and of the RFC, which then refuses [I]) the dumper exits although
    the core pipe is still stalled. v1 refuses before it sends anything, and the baseline
    sends nothing, so the dump stays stuck."""
    k = patch3.new_kernel(version)
    s = case("coredumping").build(k)
    patch3._call(s.caller, s.pidfd, 0 if version == "baseline" else REAP_KILL)
    k.run()
    assert k.hold_coredumps
    stuck = version in ("baseline", "v1")
    assert (s.target.task.signal.core_state is not None) is stuck
    assert s.target.alive is stuck


def test_already_reaped_mm() -> None:
    """MMF_OOM_SKIP: base returns 0 (docs/sources.md §K1.1); v1 with REAP_KILL returns -EINVAL
    (docs/sources.md §T3.2); v2/v3 send the kill and return 0 without reaping (§T3.4)."""
    assert outcome("already reaped", "baseline", 0).ret == "0"
    assert outcome("already reaped", "v1").ret == "EINVAL"
    for v in ("v2", "v3"):
        o = outcome("already reaped", v)
        assert o.ret == "0" and o.reaped_kb == 0


def test_clone_vm_sharer() -> None:
    """A live CLONE_VM sharer: v1 requires every other sharer to be dying -> -EINVAL; v2
    refuses an MMF_MULTIPROCESS mm before any kill -> -EINVAL; v3 kills every sharer and
    reaps (docs/sources.md §T6 #13)."""
    for v in ("v1", "v2"):
        o = outcome("clone_vm sharer", v)
        assert o.ret == "EINVAL" and not o.target_killed and o.others_alive == ("helper",)
    o = outcome("clone_vm sharer", "v3")
    assert o.ret == "0" and o.target_killed and o.others_killed == ("helper",)
    assert o.reaped_kb == RSS_KB


def test_rfc_kills_before_it_decides() -> None:
    """[I] RFC 3/3 as the model infers it: KILL_MRELEASE is sent before
    task_will_free_mem(), so a target whose mm has a live sharer is killed and then
    refused (docs/sources.md §T3.1)."""
    o = outcome("clone_vm sharer", "rfc")
    assert o.ret == "EINVAL" and o.target_killed and o.reaped_kb == 0


def test_vfork_sharer_escapes_v2s_refusal() -> None:
    """kernel/fork.c:copy_oom_score_adj() sets MMF_MULTIPROCESS only for CLONE_VM without
    CLONE_VFORK, so v2 kills the vfork child and reaps the mm its live parent uses; v1
    refuses (the parent is not dying); v3 kills the parent too."""
    o = outcome("vfork sharer", "v2")
    assert o.ret == "0" and o.target_killed and o.others_alive == ("parent",)
    assert o.reaped_kb == RSS_KB
    assert outcome("vfork sharer", "v1").ret == "EINVAL"
    assert outcome("vfork sharer", "v3").others_killed == ("parent",)


def test_kernel_threads_are_skipped_by_v3() -> None:
    """v3 kill_all_shared_mm(): PF_KTHREAD sharers are skipped silently (docs/sources.md §T3.6);
    v1's task_will_free_mem() loop sees a non-dying process and refuses."""
    o = outcome("kthread user", "v3")
    assert o.ret == "0" and o.target_killed and o.others_alive == ("vhost-worker",)
    assert outcome("kthread user", "v1").ret == "EINVAL"


def test_permission() -> None:
    """kill_pid(..., 0) is a user signal: check_kill_permission() -> -EPERM in v1/v2,
    nothing reaped; v3 turns the helper's failure into -EBUSY; the RFC's positive si_code
    skips the check ([I], docs/sources.md §T3.1)."""
    for v in ("v1", "v2"):
        o = outcome("no permission, live", v)
        assert o.ret == "EPERM" and not o.target_killed and o.reaped_kb == 0
    assert outcome("no permission, live", "v3").ret == "EBUSY"
    o = outcome("no permission, live", "rfc")
    assert o.ret == "0" and o.target_killed and o.reaped_kb == RSS_KB


def test_flag_costs_an_unprivileged_caller_the_reap() -> None:
    """Base process_mrelease() has no permission check (docs/sources.md §K1.1); with REAP_KILL
    v1/v2 send a permission-checked SIGKILL first and fail with -EPERM even on a target
    that is already dying."""
    assert outcome("no permission, dying", "v2", 0).reaped_kb == RSS_KB
    for v in ("v1", "v2"):
        assert outcome("no permission, dying", v).ret == "EPERM"


def test_v3_pid_namespace_check() -> None:
    """v3 do_pidfd_send_signal_pidns(): -EINVAL outside the caller's pid-namespace
    hierarchy, surfacing as -EBUSY; v1/v2 kill_pid() has no such check (Christian
    Brauner, docs/sources.md §T4.3 #9)."""
    o = outcome("target outside pid ns", "v3")
    assert o.ret == "EBUSY" and not o.target_killed and o.reaped_kb == 0
    for v in ("v1", "v2"):
        o = outcome("target outside pid ns", v)
        assert o.ret == "0" and o.target_killed
    o = outcome("sharer outside pid ns", "v3")
    assert o.ret == "EBUSY" and o.target_killed and o.others_alive == ("host-app",)


def test_pidfd_send_signal_and_v3_respect_the_pid_namespace_boundary() -> None:
    """kernel/signal.c:pidfd_send_signal() returns -EINVAL for a target outside the
    caller's pid-namespace hierarchy (access_pidfd_pidns()); v1/v2 kill_pid() has no such
    test and kills; v3's do_pidfd_send_signal_pidns() applies it (-EBUSY from the call),
    Christian Brauner's boundary (docs/sources.md §T4.3 #9)."""
    rows = {r.call.split(":")[0]: r for r in patch3.pidns_check()}
    first = rows["pidfd_send_signal() (any version)"]
    assert first.ret == "EINVAL" and not first.target_killed
    for v in ("rfc", "v1", "v2"):
        assert rows[v].ret == "0" and rows[v].target_killed and rows[v].reaped_kb == RSS_KB
    assert rows["v3"].ret == "EBUSY" and not rows["v3"].target_killed


def test_v3_reaps_a_namespace_init_that_ignored_its_sigkill() -> None:
    """A namespace's first process is SIGNAL_UNKILLABLE: a user SIGKILL from inside the
    namespace is dropped by sig_task_ignored() and the send still returns 0, while one
    from an ancestor namespace is forced (send_signal_locked()). v3 kill_all_shared_mm()
    counts only is_global_init() as a failure, so with the caller inside it returns 0 and
    reaps the mm the init still runs in; from outside it kills the init too. v1 (init not
    dying) and v2 (MMF_MULTIPROCESS) refuse either way (docs/sources.md §T3.6, §T4.3 #12)."""
    o = outcome("ns init sharer, caller inside", "v3")
    assert o.ret == "0" and o.target_killed and o.others_alive == ("ns-init",)
    assert o.others_killed == () and o.reaped_kb == RSS_KB
    o = outcome("ns init sharer, caller outside", "v3")
    assert o.ret == "0" and o.others_killed == ("ns-init",) and o.reaped_kb == RSS_KB
    for name in ("ns init sharer, caller inside", "ns init sharer, caller outside"):
        for v in ("v1", "v2"):
            o = outcome(name, v)
            assert o.ret == "EINVAL" and not o.target_killed and o.reaped_kb == 0


def test_clone_vm_stays_in_the_parents_pid_namespace() -> None:
    """kernel/fork.c:copy_process() allocates a CLONE_VM child's pid in the parent's
    pid_ns_for_children; without setns(CLONE_NEWPID) that is the parent's own namespace,
    which is why the cross-namespace sharer needs patch3.clone_vm_into_pid_ns()."""
    from mrelease_ref.kernel.pid import task_active_pid_ns

    k = patch3.new_kernel("baseline")
    ns = k.create_pid_ns()
    owner = k.spawn("owner", 10001)
    assert task_active_pid_ns(owner.clone_vm("same").task) is k.init_pid_ns
    assert task_active_pid_ns(patch3.clone_vm_into_pid_ns(owner, "other", ns).task) is ns


def test_race_baseline_loses_and_reap_kill_wins() -> None:
    """v1 cover letter / docs/sources.md §T4.4: after kill(), the victim's exit_mm() clears
    task->mm before its memory goes; a /proc reader holding mm_users keeps it allocated and
    process_mrelease() gets -ESRCH (docs/sources.md §M4.4 H1). REAP_KILL pins the mm before
    the kill, so the call reaps everything."""
    base = patch3.race("baseline")
    assert base.ret == "ESRCH" and base.trapped_kb == VICTIM_KB
    assert base.freed_by_kb == {"ps": VICTIM_KB}
    for v in ("rfc", "v1", "v2", "v3"):
        r = patch3.race(v)
        assert r.ret == "0" and r.trapped_kb == 0 and r.freed_by_kb == {"lmkd": VICTIM_KB}, v


def test_race_curves_group_identical_runs() -> None:
    """Presentation helper: versions whose runs free the same pages at the same times
    share one curve; every curve starts at the origin."""
    runs = [patch3.race(v) for v in ("baseline", "v2", "v3")]
    curves = patch3.race_curves(runs)
    assert [c.label for c in curves] == ["baseline", "v2, v3"]
    assert all(c.t_ms[0] == 0 and c.freed_mib[0] == 0 for c in curves)
    assert curves[0].freed_mib[-1] == VICTIM_KB / 1024


def test_v1_mmget_runs_exit_mmap_in_the_caller() -> None:
    """v1 3/3 pins mm_users (mmget()): the victim's exit_mm() is not the last user, so the
    caller's final mmput() runs __mmput()/exit_mmap() (docs/sources.md §T6 #10)."""
    r = patch3.interleaving("v1")
    assert r.ret == "0" and r.mmput_by == "lmkd"
    assert r.freed_by_kb == {"lmkd": VICTIM_KB}


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_mmgrab_lets_exit_mmap_run_beside_the_reaper(version: str) -> None:
    """v2/v3 pin only mm_count (mmgrab(), Suren Baghdasaryan, docs/sources.md §T4.3 #4): the
    victim's exit_mmap() runs in the victim while the reaper still works; both free
    pages."""
    r = patch3.interleaving(version)
    assert r.ret == "0" and r.mmput_by == "app"
    assert set(r.freed_by_kb) == {"lmkd", "app"}
    assert sum(r.freed_by_kb.values()) == VICTIM_KB


def test_v1_sets_mmf_unstable_only_when_it_reaps() -> None:
    """docs/sources.md §T3.2 / §T6 #15: v1 3/3's message says MMF_UNSTABLE is set before the
    SIGKILL; the code sets it in __oom_reap_task_mm(). The RFC set it when KILL_MRELEASE
    was sent (§T3.1)."""
    assert not patch3.delayed_caller("v1").unstable_while_waiting
    assert patch3.delayed_caller("rfc").unstable_while_waiting


def test_v1_mmget_masks_the_timing_until_the_reap_is_abandoned() -> None:
    """With mmget() the victim cannot run exit_mmap(): the reaper (MMF_UNSTABLE set) and
    the caller's exit_mmap() tear down, patches 1/2 apply (clean file pages evicted, no
    folio_mark_accessed()). If the caller gets a fatal signal while it waits for the mmap
    lock (EINTR), the victim's exit_mmap() runs without MMF_UNSTABLE: pages stay cached and
    are aged. The RFC evicts either way."""
    ok = patch3.delayed_caller("v1")
    assert ok.ret == "0" and ok.mmput_by == "lmkd" and ok.file_cached == 0
    assert ok.mark_accessed == 0
    intr = patch3.delayed_caller("v1", interrupt=True)
    assert intr.ret == "EINTR" and intr.mmput_by == "app"
    assert intr.file_cached == FILE_PAGES and intr.mark_accessed == FILE_PAGES
    rfc = patch3.delayed_caller("rfc", interrupt=True)
    assert rfc.ret == "EINTR" and rfc.file_cached == 0 and rfc.mark_accessed == 0


def test_kill_then_mrelease_exit_first_is_unoptimised() -> None:
    """The RFC's scheduling race (docs/sources.md §T4.4): kill() then process_mrelease(fd, 0) and
    the victim's exit_mmap() runs first, before any reap set MMF_UNSTABLE."""
    for v in ("rfc", "v1"):
        r = patch3.delayed_caller(v, flags=0)
        assert r.mmput_by == "app" and r.file_cached == FILE_PAGES and r.reaper_zapped == 0


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_mmf_oom_skip_stops_double_work(version: str) -> None:
    """docs/sources.md §K1.1, §K1.7 (b): a reaper that gets the mmap lock after exit_mmap() set
    MMF_OOM_SKIP re-checks it under the lock and zaps nothing."""
    r = patch3.delayed_caller(version)
    assert r.ret == "0" and r.reaper_zapped == 0 and r.mmput_by == "app"


def test_draft_d_gates_only_the_reapers_own_zap() -> None:
    """docs/sources.md §T3.5: draft D passes try_evict_file_folios to the reaper's zap only; a
    victim exit_mmap() that runs first is not optimised."""
    r = patch3.delayed_caller("d")
    assert r.reaper_zapped == 0 and r.file_cached == FILE_PAGES


def test_vfork_parent_dies_of_sigbus_under_v2() -> None:
    """v2 reaps the mm of a live vfork parent; the reaper set MMF_UNSTABLE, so the
    parent's next faults fail with SIGBUS (check_stable_address_space(),
    include/linux/oom.h)."""
    r = patch3.vfork_sharer("v2")
    assert r.ret == "0" and not r.multiprocess and r.parent_rss_after_kb == 0
    assert r.parent_touched == 0 and r.parent_end.endswith("(SIGBUS)")
    base = patch3.vfork_sharer("v1")
    assert base.ret == "EINVAL" and base.parent_end == "alive"
    assert base.parent_touched == ANON_PAGES


@pytest.mark.parametrize("cause", ["pid ns", "uid"])
def test_v3_partial_kill_returns_ebusy_and_reaps_nothing(cause: Literal["pid ns", "uid"]) -> None:
    """v3 kill_all_shared_mm() keeps going after a failed kill, then returns -EBUSY and
    process_mrelease() skips the reap (docs/sources.md §T3.6); the memory stays with the
    surviving sharer, and a retry fails the same way."""
    r = patch3.partial_kill("v3", cause)
    assert (r.first, r.retry) == ("EBUSY", "EBUSY")
    assert r.fates["app"] == "zombie" and list(r.fates.values())[1] == "alive"
    assert r.rss_end_kb == r.rss_before_kb == RSS_KB


def test_permission_check_rows() -> None:
    """kill(2) by an unprivileged caller -> -EPERM (check_kill_permission()); REAP_KILL
    matches it in v1/d/v2, reports -EBUSY in v3, and bypasses it in the RFC ([I])."""
    rows = {r.call.split(":")[0]: r for r in patch3.permission_check()}
    assert rows["kill(2) (any version)"].ret == "EPERM"
    assert [rows[v].ret for v in REAP_KILL_VERSIONS] == ["0", "EPERM", "EPERM", "EPERM",
                                                          "EBUSY"]
    assert rows["rfc"].target_killed and rows["rfc"].reaped_kb == RSS_KB


def test_experiments_are_deterministic() -> None:
    """Same seed, same schedule: same samples, model times and traces."""
    assert patch3.race("v2") == patch3.race("v2")
    assert patch3.delayed_caller("v1", interrupt=True) == patch3.delayed_caller(
        "v1", interrupt=True)


def test_module_docstring_ends_with_limitations() -> None:
    """docs/conventions.md §C1: every module docstring ends with a Limitations list."""
    doc = patch3.__doc__ or ""
    tail = doc.rsplit("\nLimitations:\n", 1)
    assert len(tail) == 2 and tail[1].lstrip().startswith("- ")

"""Patch 3 of the series: PROCESS_MRELEASE_REAP_KILL, version by version.

Kernel: mm/oom_kill.c:SYSCALL_DEFINE2(process_mrelease), __task_will_free_mem() and
task_will_free_mem() as patched by RFC 3/3 ([I]), v1 3/3, REAP_KILL v2 (= draft C, and
draft D on top of it) and v3 (kill_all_shared_mm()); kernel/signal.c
(do_pidfd_send_signal_pidns(), v3; KILL_MRELEASE, RFC [I]); include/uapi/linux/mman.h
(docs/sources.md §T2.1, §T2.2, §T3.1-§T3.6, §T4.3, §T4.4, §T6 #10-#15;
docs/sources.md §K1.1, §K1.3, §K2, §K7.3).

The return codes of the common situations (live, dying, exited, coredumping, MMF_OOM_SKIP,
shared mm, no permission, bad flags) are pinned for every version in
tests/test_variant_table.py; the tests here pin the mechanisms behind them: which checks
run before the kill, who sends what to whom, which mm reference the call holds and who
ends up running exit_mmap().

States the model cannot reach through its API (init sharing an mm, a kernel thread using
one, a setuid() in a CLONE_VM parent, a pidfd received over SCM_RIGHTS) are constructed;
each test says how.
"""

from __future__ import annotations

import errno
import signal
from typing import Any

import pytest
from _support import mm_of as _mm
from _support import small_kernel as _kernel

from mrelease_ref import PROCESS_MRELEASE_REAP_KILL, Kernel, Mapping
from mrelease_ref.include.linux.mm_types import (
    MM_ANONPAGES,
    MMF_MULTIPROCESS,
    MMF_UNSTABLE,
    MmuNotifier,
)
from mrelease_ref.include.linux.rwsem import mmap_write_lock, mmap_write_unlock
from mrelease_ref.include.linux.sched import SIGNAL_GROUP_EXIT, Cred, sigmask
from mrelease_ref.kernel.fork import mm_alloc, mmget
from mrelease_ref.kernel.pid import PIDFD_THREAD
from mrelease_ref.kernel.sched import run_to_completion
from mrelease_ref.kernel.signal import SIGBUS, SIGKILL
from mrelease_ref.sim.kernel import ALL_CAPS
from mrelease_ref.sim.process import Process

RK = PROCESS_MRELEASE_REAP_KILL
N = 8
REAP_KILL_VARIANTS = ["rfc", "v1", "d", "v2", "v3"]


def _errno(fn: Any, *args: Any) -> int | str:
    """0, or the errno name ``fn(*args)`` raised."""
    try:
        fn(*args)
    except OSError as e:
        return errno.errorcode[e.errno or 0]
    return 0


def _anon(p: Process, nr: int = N) -> Mapping:
    m = p.mmap(nr)
    p.touch(m, write=True)
    return m


def _dying(p: Process) -> bool:
    return bool(p.task.signal.flags & SIGNAL_GROUP_EXIT)


def _kill_queued(p: Process) -> bool:
    """A SIGKILL was queued for the group (``__send_signal_locked()`` got past
    ``prepare_signal()``)."""
    return bool(p.task.signal.shared_pending & sigmask(SIGKILL))


# --- flags -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "kw", "valid"),
    [("baseline", {}, 0), ("rfc", {"patches": 2}, 0), ("rfc", {}, RK), ("v1", {"patches": 1}, 0),
     ("v1", {"patches": 2}, 0), ("v1", {}, RK), ("d", {}, RK), ("v2", {}, RK), ("v3", {}, RK)],
)
def test_valid_flags_per_variant(variant: str, kw: dict[str, Any], valid: int) -> None:
    """``PROCESS_MRELEASE_VALID_FLAGS`` (= REAP_KILL = 1 << 0) is accepted once patch 3 (or
    the single REAP_KILL patch, or draft D on draft C) is applied (docs/sources.md §T3.1, §T3.2 v1
    3/3 uapi, §T3.4, §T3.5, §T3.6, §T5 "uapi value")."""
    assert RK == 1
    assert _kernel(variant, **kw).series.valid_flags == valid


@pytest.mark.parametrize("variant", ["baseline", "rfc", "v1", "d", "v2", "v3"])
@pytest.mark.parametrize("flags", [2, 0xFFFFFFFF, RK])
@pytest.mark.parametrize("pidfd", [-1, 0, 999])
def test_bad_flags_are_einval_before_the_fd_is_looked_at(
    variant: str, flags: int, pidfd: int
) -> None:
    """``if (flags & ~PROCESS_MRELEASE_VALID_FLAGS) return -EINVAL`` (``flags != 0`` in the
    baseline) comes first: a negative fd, a non-pidfd (0, the tty) or an unused fd still
    gives EINVAL, not EBADF (docs/sources.md §K1.1; §T3.2, §T3.4, §T3.6). With valid flags
    the same fds give EBADF."""
    k = _kernel(variant)
    lmkd = k.spawn("lmkd")
    valid = k.series.valid_flags
    want = "EINVAL" if flags & ~valid else "EBADF"
    assert _errno(lmkd.process_mrelease, pidfd, flags) == want


# --- v1: ignore_exit, mmget, and who runs exit_mmap() -------------------------------------------


@pytest.mark.parametrize(
    ("variant", "users_during", "count_during", "exit_mmap_by"),
    [("v1", 2, 1, "lmkd"), ("v2", 1, 2, "app"), ("v3", 1, 2, "app"), ("d", 1, 2, "app")],
)
def test_mm_reference_and_who_runs_exit_mmap(
    variant: str, users_during: int, count_during: int, exit_mmap_by: str
) -> None:
    """v1 3/3 pins the address space with ``mmget()`` before the kill and drops it with
    ``mmput()``: if the victim's own ``exit_mm()`` -> ``mmput()`` came first, it was not the
    last user, and ``__mmput()`` -> ``exit_mmap()`` runs synchronously in the caller
    (docs/sources.md §T3.2 "may run __mmput/exit_mmap synchronously in the caller", §T6 #10).
    v2/v3 (and D on C) take ``mmgrab()`` only (Suren, §T4.3 #4): the victim's own exit runs
    ``exit_mmap()``, beside the reaper. Interleaving: the call is stopped after its first
    VMA, the victim runs its whole exit, then the call finishes."""
    k = _kernel(variant, trace=True)
    lmkd = k.spawn("lmkd")
    app = k.spawn("app", uid=10001)
    _anon(app)
    _anon(app)
    k.lru_add_drain_all()
    mm = _mm(app)
    fd = lmkd.pidfd_open(app.pid)
    call = k.start(lmkd.task, k.series.process_mrelease(lmkd.task, fd, RK), "process_mrelease")
    k.step(lmkd.task)  # flags, pidfd, the kill, the lock, the first VMA; then cond_resched()
    assert not call.done and _dying(app)
    assert (mm.mm_users, mm.mm_count) == (users_during, count_during)
    while app.state not in ("zombie", "dead") and k.step(app.task):
        pass
    k.run_until(lambda: call.done, task=lmkd.task)
    k.run()
    assert call.value == 0 and app.state == "dead" and mm.freed
    [mmput] = [e for e in k.trace if e.func == "__mmput"]
    assert mmput.comm == exit_mmap_by


def test_v1_refuses_a_coredumping_target_without_killing() -> None:
    """v1 3/3: ``__task_will_free_mem(task, ignore_exit)`` still tests ``core_state`` first,
    so a coredumping target is refused with EINVAL before any kill (docs/sources.md §T3.2, §T6
    #12); v2/v3 skip ``task_will_free_mem()``, queue the SIGKILL (``prepare_signal()`` lets
    SIGKILL through during a dump) and reap; the RFC ([I]) kills first, then refuses."""
    results = {}
    for variant in ("rfc", "v1", "v2", "v3"):
        k = _kernel(variant)
        lmkd = k.spawn("lmkd")
        app = k.spawn("app", uid=10001)
        _anon(app)
        k.lru_add_drain_all()
        fd = lmkd.pidfd_open(app.pid)
        k.hold_coredumps = True
        lmkd.kill(app.pid, signal.SIGSEGV)
        k.run()
        assert app.task.signal.core_state is not None
        rc = _errno(lmkd.process_mrelease, fd, RK)
        results[variant] = (rc, _kill_queued(app), _mm(app).rss_stat[MM_ANONPAGES])
        k.hold_coredumps = False
        k.run()
    assert results == {
        "rfc": ("EINVAL", True, N),
        "v1": ("EINVAL", False, N),
        "v2": (0, True, 0),
        "v3": (0, True, 0),
    }


@pytest.mark.parametrize("vfork", [False, True])
def test_v1_other_sharers_must_already_be_dying(vfork: bool) -> None:
    """v1 3/3: ``ignore_exit`` is passed for the target only; every *other* process sharing
    the mm still has to pass ``__task_will_free_mem(p, false)`` (docs/sources.md §T3.2, §T3.3 04-24,
    §T6 #13). A live sharer (CLONE_VM or vfork) gives EINVAL and no kill; once the sharer is
    dying, REAP_KILL kills the live target and reaps."""
    k = _kernel("v1")
    lmkd = k.spawn("lmkd")
    app = k.spawn("app", uid=10001)
    _anon(app)
    sharer = app.clone_vm("sharer", vfork=vfork)
    k.lru_add_drain_all()
    fd = lmkd.pidfd_open(app.pid)
    assert _errno(lmkd.process_mrelease, fd, RK) == "EINVAL"
    assert not _dying(app) and not _kill_queued(app)
    lmkd.kill(sharer.pid, signal.SIGKILL)
    assert _errno(lmkd.process_mrelease, fd, RK) == 0
    assert _dying(app) and _mm(app).rss_stat[MM_ANONPAGES] == 0
    k.run()


# --- v2: MMF_MULTIPROCESS ---------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["v2", "d"])
def test_v2_refuses_multiprocess_mms_before_killing_and_the_flag_is_sticky(variant: str) -> None:
    """v2 (= draft C, under D too): ``if (reap_kill && mm_flags_test(MMF_MULTIPROCESS, mm))
    return -EINVAL``, before the kill (docs/sources.md §T3.4). ``copy_oom_score_adj()`` sets the
    flag for a CLONE_VM child and never clears it: after the sharer is gone the mm is
    still refused ("a sticky per-mm flag", §T3.4)."""
    k = _kernel(variant)
    lmkd = k.spawn("lmkd")
    app = k.spawn("app", uid=10001)
    _anon(app)
    sharer = app.clone_vm("sharer")
    assert _mm(app).flags & MMF_MULTIPROCESS
    fd = lmkd.pidfd_open(app.pid)
    assert _errno(lmkd.process_mrelease, fd, RK) == "EINVAL"
    assert not _dying(app) and not _dying(sharer)
    sharer.exit()
    k.run()
    app.waitpid(sharer.pid)
    assert _mm(app).mm_users == 1
    assert _errno(lmkd.process_mrelease, fd, RK) == "EINVAL"
    assert not _dying(app)


@pytest.mark.parametrize(("variant", "rc", "child_killed"),
                         [("v1", "EINVAL", False), ("v2", 0, False), ("v3", 0, True)])
def test_vfork_child_is_not_multiprocess(variant: str, rc: int | str, child_killed: bool) -> None:
    """A vfork child shares the mm without MMF_MULTIPROCESS (``copy_oom_score_adj()`` skips
    CLONE_VFORK). v2 therefore kills the parent's thread group only and reaps the address
    space the live child still runs on: MMF_UNSTABLE makes the child's next fault fail
    with SIGBUS (docs/sources.md §K1.4). v1 refuses (the child is not dying); v3 kills both."""
    k = _kernel(variant)
    lmkd = k.spawn("lmkd")
    app = k.spawn("app", uid=10001)
    m = _anon(app)
    child = app.clone_vm("child", vfork=True)
    assert not _mm(app).flags & MMF_MULTIPROCESS
    fd = lmkd.pidfd_open(app.pid)
    assert _errno(lmkd.process_mrelease, fd, RK) == rc
    assert _dying(child) is child_killed
    if variant == "v2":
        assert _dying(app) and _mm(child).flags & MMF_UNSTABLE
        assert child.touch(m, nr_pages=1) == 0
        assert child.task.pending & sigmask(SIGBUS)
    k.run()


# --- v3: kill_all_shared_mm() -------------------------------------------------------------------


def _ns_victim(k: Kernel, ns: Any) -> Process:
    app = k.spawn("app", uid=0, pid_ns=ns)
    _anon(app)
    return app


@pytest.mark.parametrize(
    ("variant", "where", "rc"),
    [("v3", "sibling", "EBUSY"), ("v3", "child", 0), ("v2", "sibling", 0), ("v1", "sibling", 0)],
)
def test_v3_refuses_targets_outside_the_callers_pid_namespace(
    variant: str, where: str, rc: int | str
) -> None:
    """v3's ``do_pidfd_send_signal_pidns()`` returns -EINVAL unless the target's pid
    namespace is the caller's or a descendant (``access_pidfd_pidns()``), which
    ``kill_all_shared_mm()`` turns into EBUSY: no kill, no reap (docs/sources.md §T3.6, §T4.3 #9,
    §T6 #14). v1/v2 use ``kill_pid()``, which has no such check. The caller (root) sits in
    a child namespace; the target in a sibling one, or in a child of the caller's.
    Constructed: the caller holds a pidfd it could only have received over SCM_RIGHTS (the
    model's pid lookup is by global number)."""
    k = _kernel(variant)
    ns_caller = k.create_pid_ns()
    lmkd = k.spawn("lmkd", uid=0, pid_ns=ns_caller)
    target_ns = k.create_pid_ns() if where == "sibling" else k.create_pid_ns(ns_caller)
    app = _ns_victim(k, target_ns)
    k.lru_add_drain_all()
    fd = lmkd.pidfd_open(app.pid)
    assert _errno(lmkd.process_mrelease, fd, RK) == rc
    assert _dying(app) is (rc == 0)
    assert _mm(app).rss_stat[MM_ANONPAGES] == (0 if rc == 0 else N)
    k.run()


def test_v3_counts_init_as_a_failure_after_killing_the_rest() -> None:
    """v3's ``kill_all_shared_mm()``: a sharer that ``is_global_init()`` sets ``failed``
    and is skipped; the loop goes on and kills the others; any failure -> EBUSY and no
    reap (docs/sources.md §T3.6; Christian Brauner: "init can't be signalled anyway, so why
    report failure", §T4.3 #12). Constructed: the model's init has no address space, so the
    test gives it one and makes the target init's CLONE_VM child."""
    k = _kernel("v3")
    k.init_task.mm = mm_alloc(k)
    init = Process(k, k.init_task)
    app = init.clone_vm("app")
    _anon(app)
    k.lru_add_drain_all()
    lmkd = k.spawn("lmkd")
    fd = lmkd.pidfd_open(app.pid)
    assert _errno(lmkd.process_mrelease, fd, RK) == "EBUSY"
    assert _dying(app) and not _dying(init)
    assert _mm(app).rss_stat[MM_ANONPAGES] == N and not _mm(app).flags & MMF_UNSTABLE
    k.run()
    assert app.state in ("zombie", "dead") and k.init_task.mm is not None


def test_v3_partial_kills_then_ebusy() -> None:
    """v3: permission is checked per sharer against the caller (user-style SIGKILL from
    ``do_pidfd_send_signal()``); a refused one makes the call EBUSY after the others were
    killed, and nothing is reaped (docs/sources.md §T3.6 "partial kills are possible", §T4.3 #8,
    §T6 #13). Constructed: a root process starts a CLONE_VM sharer, then drops to uid 1000
    (``setuid(1000)``: the test replaces its cred); the caller, uid 1000 without
    capabilities, may kill the target but not the root sharer."""
    k = _kernel("v3")
    app = k.spawn("app", uid=0)
    _anon(app)
    sharer = app.clone_vm("sharer")
    app.task.cred = Cred(1000, frozenset())
    lmkd = k.spawn("lmkd", uid=1000, caps=frozenset())
    fd = lmkd.pidfd_open(app.pid)
    assert _errno(lmkd.process_mrelease, fd, RK) == "EBUSY"
    assert _dying(app) and not _dying(sharer)
    assert _mm(sharer).rss_stat[MM_ANONPAGES] == N
    k.run()
    assert app.state == "dead" and sharer.alive


@pytest.mark.parametrize(("variant", "rc"), [("v3", 0), ("v2", 0), ("v1", "EINVAL")])
def test_kernel_threads_using_the_mm(variant: str, rc: int | str) -> None:
    """A kernel thread that adopted the mm (``kthread_use_mm()``) matches
    ``process_shares_mm()``. v3 skips PF_KTHREAD sharers silently and reaps (docs/sources.md
    §T3.6); v1's ``task_will_free_mem()`` sees a sharer that is not dying: EINVAL (docs/sources.md
    §K1.3 "Kernel threads that borrowed the mm ... make task_will_free_mem false"); v2 never
    asks (no MMF_MULTIPROCESS either). Constructed: a kernel thread with the mm and an
    ``mmget()`` reference, as its user would hold."""
    k = _kernel(variant)
    app = k.spawn("app", uid=10001)
    _anon(app)
    kt = k.new_task("kworker/u4:use_mm", Cred(0, ALL_CAPS), parent=k.kthreadd, kthread=True)
    kt.mm = _mm(app)
    mmget(kt.mm)
    k.lru_add_drain_all()
    lmkd = k.spawn("lmkd")
    fd = lmkd.pidfd_open(app.pid)
    assert _errno(lmkd.process_mrelease, fd, RK) == rc
    assert not kt.signal.flags & SIGNAL_GROUP_EXIT and not kt.signal.shared_pending
    assert kt.mm.rss_stat[MM_ANONPAGES] == (0 if rc == 0 else N)
    k.run()


# --- RFC: KILL_MRELEASE sets MMF_UNSTABLE when sent ([I]) --------------------------------------


@pytest.mark.parametrize(("variant", "flag_at_send", "exit_evicts"),
                         [("rfc", True, True), ("v1", False, False)])
def test_rfc_marks_the_mm_at_send_time_so_the_victims_own_exit_is_optimised(
    variant: str, flag_at_send: bool, exit_evicts: bool
) -> None:
    """RFC 3/3: the KILL_MRELEASE SIGKILL sets MMF_UNSTABLE when it is sent, "before either
    the victim's own exit path or the reaper runs", so patches 1 and 2 apply to the
    victim's own exit_mmap() too (docs/sources.md §T3.1, §T4.4, §T6 #15). v1 sets the flag only in
    ``__oom_reap_task_mm()``. Shown on a coredumping target, where neither version reaps:
    after the dump, the RFC victim's own exit evicts its clean file pages (private and
    shared), v1's evicts nothing."""
    k = _kernel(variant)
    f = k.create_file("app.apk", N)
    g = k.create_file("shared.db", N)
    app = k.spawn("app", uid=10001)
    app.touch(app.mmap(N, file=f))
    app.touch(app.mmap(N, file=g, shared=True))
    k.lru_add_drain_all()
    lmkd = k.spawn("lmkd")
    fd = lmkd.pidfd_open(app.pid)
    k.hold_coredumps = True
    lmkd.kill(app.pid, signal.SIGSEGV)
    k.run()
    assert _errno(lmkd.process_mrelease, fd, RK) == "EINVAL"
    assert bool(_mm(app).flags & MMF_UNSTABLE) is flag_at_send
    assert k.cachestat(f).nr_cache == k.cachestat(g).nr_cache == N
    k.hold_coredumps = False
    k.run()
    assert app.state == "dead"
    left = 0 if exit_evicts else N
    assert (k.cachestat(f).nr_cache, k.cachestat(g).nr_cache) == (left, left)


def test_rfc_marks_a_shared_mm_unstable_under_a_live_sharer() -> None:
    """A consequence of the [I] reconstruction (MMF_UNSTABLE set at send, before
    ``task_will_free_mem()``): REAP_KILL on a target whose mm a live CLONE_VM sharer also
    uses kills the target's group, then fails with EINVAL -- and leaves the shared mm
    marked unstable, so the live sharer's next fault fails with SIGBUS (docs/sources.md §K1.4)
    although nothing was reaped. v1 refuses before anything is sent."""
    k = _kernel("rfc")
    app = k.spawn("app", uid=10001)
    m = _anon(app)
    sharer = app.clone_vm("sharer")
    more = sharer.mmap(1)
    lmkd = k.spawn("lmkd")
    fd = lmkd.pidfd_open(app.pid)
    assert _errno(lmkd.process_mrelease, fd, RK) == "EINVAL"
    assert _dying(app) and not _dying(sharer)
    assert _mm(sharer).flags & MMF_UNSTABLE and _mm(sharer).rss_stat[MM_ANONPAGES] == N
    assert sharer.touch(more) == 0 and sharer.task.pending & sigmask(SIGBUS)
    assert app.status()["RssAnon"] == m.nr_pages * 4
    k.run()


# --- permissions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "rc"),
    [("v1", "EPERM"), ("v2", "EPERM"), ("d", "EPERM"), ("v3", "EBUSY"), ("rfc", 0)],
)
@pytest.mark.parametrize("already_dying", [False, True])
def test_caller_that_may_not_signal_the_target(
    variant: str, rc: int | str, already_dying: bool
) -> None:
    """v1/v2 (and D on C) send ``kill_pid(task_tgid(task), SIGKILL, 0)``: a user-originated
    signal, checked against the caller's credentials (``check_kill_permission()``); the
    error is returned before any reap and the mm reference is dropped again (docs/sources.md
    §T3.2 "Kill permission", §T6 #13, #14). v3 reports the failed kill as EBUSY. The check
    runs even when someone else already killed the target: REAP_KILL then refuses a reap
    that flags=0 would do (no permission check for reaping, docs/sources.md §K1.1). The RFC's
    KILL_MRELEASE has a positive si_code, so ``SI_FROMUSER()`` is false and no permission
    check runs: the model's reading of a hunk that was not retrieved ([I], §T3.1). (Draft D
    with ``d_details="intended"``, so that its flags=0 reap frees anonymous memory.)"""
    k = _kernel(variant, d_details="intended")
    app = k.spawn("app", uid=0)
    _anon(app)
    k.lru_add_drain_all()
    mm = _mm(app)
    refs = (mm.mm_users, mm.mm_count)
    lmkd = k.spawn("lmkd", uid=1000, caps=frozenset())
    fd = lmkd.pidfd_open(app.pid)
    if already_dying:
        k.spawn("root").kill(app.pid, signal.SIGKILL)
    assert _errno(lmkd.process_mrelease, fd, RK) == rc
    assert _dying(app) is (already_dying or rc == 0)
    assert mm.rss_stat[MM_ANONPAGES] == (0 if rc == 0 else N)
    assert (mm.mm_users, mm.mm_count) == refs
    if already_dying:
        assert _errno(lmkd.process_mrelease, fd, 0) == 0
        assert mm.rss_stat[MM_ANONPAGES] == 0
    k.run()


@pytest.mark.parametrize("variant", ["baseline", *REAP_KILL_VARIANTS])
def test_pidfd_thread_of_a_non_leader_thread_is_esrch_before_any_kill(variant: str) -> None:
    """``pidfd_get_task()`` ignores PIDFD_THREAD and looks the pid up as a thread-group id
    (docs/sources.md §K7.3): a PIDFD_THREAD pidfd of a non-leader thread gives ESRCH before any
    kill. docs/sources.md §T6 #14 expects such pidfds to "still produce a thread-group kill";
    they never get that far. The leader's PIDFD_THREAD pidfd resolves, and the kill
    targets the whole group (``task_tgid()``)."""
    k = _kernel(variant)
    lmkd = k.spawn("lmkd")
    app = k.spawn("app", uid=10001)
    _anon(app)
    thread = app.clone_thread()
    flags = k.series.valid_flags
    if not flags:
        lmkd.kill(app.pid, signal.SIGKILL)
    fd = lmkd.pidfd_open(thread.tid, PIDFD_THREAD)
    assert _errno(lmkd.process_mrelease, fd, flags) == "ESRCH"
    assert _dying(app) is not bool(flags)
    fd = lmkd.pidfd_open(app.pid, PIDFD_THREAD)
    assert _errno(lmkd.process_mrelease, fd, flags) == 0
    assert _dying(app) and thread.task.pending & sigmask(SIGKILL)
    k.run()


@pytest.mark.parametrize("variant", REAP_KILL_VARIANTS)
def test_target_already_dying_is_killed_again_harmlessly(variant: str) -> None:
    """With REAP_KILL, a target that is already dying still gets SIGKILL (v1: ``ignore_exit``
    makes its exit state irrelevant; v2/v3 never ask): the signal is dropped by
    ``prepare_signal()`` and the reap proceeds (docs/sources.md §T3.2 "Target already dying", §T3.4
    consequences, §T6 #12)."""
    k = _kernel(variant, d_details="intended")
    lmkd = k.spawn("lmkd")
    app = k.spawn("app", uid=10001)
    _anon(app)
    k.lru_add_drain_all()
    fd = lmkd.pidfd_open(app.pid)
    lmkd.kill(app.pid, signal.SIGKILL)
    assert _errno(lmkd.process_mrelease, fd, RK) == 0
    assert _mm(app).rss_stat[MM_ANONPAGES] == 0
    k.run()


# --- EINTR and EAGAIN: unchanged by every version ------------------------------------------------


ALL_FLAGS = [("baseline", 0), ("rfc", 0), ("rfc", RK), ("v1", 0), ("v1", RK), ("d", 0),
             ("d", RK), ("v2", 0), ("v2", RK), ("v3", 0), ("v3", RK)]


@pytest.mark.parametrize(("variant", "flags"), ALL_FLAGS)
def test_fatal_signal_while_waiting_for_the_mmap_lock_is_eintr(variant: str, flags: int) -> None:
    """``if (mmap_read_lock_killable(mm)) { ret = -EINTR; goto drop_mm; }``: the caller
    sleeps on the lock (held for write here, e.g. by an mmap() stuck in the filesystem),
    gets SIGKILL and gives up; with REAP_KILL the target was killed already, and v1's
    ``mmput()`` / the others' ``mmdrop()`` leave the mm's counts as they were (docs/sources.md
    §K1.1; docs/sources.md §T3.2, §T3.4, §T3.6 flows)."""
    k = _kernel(variant)
    lmkd = k.spawn("lmkd")
    app = k.spawn("app", uid=10001)
    _anon(app)
    mm = _mm(app)
    holder = k.spawn("holder")
    with k.running(holder.task):
        run_to_completion(mmap_write_lock(mm, holder.task))
    fd = lmkd.pidfd_open(app.pid)
    if not flags:
        lmkd.kill(app.pid, signal.SIGKILL)
    refs = (mm.mm_users, mm.mm_count)
    call = k.start(lmkd.task, k.series.process_mrelease(lmkd.task, fd, flags), "mrelease")
    k.step(lmkd.task)
    assert not call.done and _dying(app)
    k.spawn("root").kill(lmkd.pid, signal.SIGKILL)
    k.run_until(lambda: call.done, task=lmkd.task)
    assert call.value == -errno.EINTR
    assert (mm.mm_users, mm.mm_count) == refs and mm.rss_stat[MM_ANONPAGES] == N
    mmap_write_unlock(mm)
    k.run()
    assert app.state == "dead" and lmkd.state == "dead"


@pytest.mark.parametrize(("variant", "flags"), ALL_FLAGS)
def test_a_refusing_mmu_notifier_is_eagain_after_the_rest_was_reaped(
    variant: str, flags: int
) -> None:
    """``__oom_reap_task_mm()`` skips a VMA whose non-blocking mmu-notifier start fails,
    goes on with the others and returns false: EAGAIN, in every version (docs/sources.md §K1.1
    "-EAGAIN does not mean nothing reaped", §K1.4). The model's notifier refuses for every
    VMA of the mm, so only MMF_UNSTABLE is left behind."""
    k = _kernel(variant)
    lmkd = k.spawn("lmkd")
    app = k.spawn("app", uid=10001)
    _anon(app)
    _mm(app).notifier_subscriptions.append(MmuNotifier("kvm", blocks=True))
    fd = lmkd.pidfd_open(app.pid)
    if not flags:
        lmkd.kill(app.pid, signal.SIGKILL)
    assert _errno(lmkd.process_mrelease, fd, flags) == "EAGAIN"
    assert _dying(app) and _mm(app).flags & MMF_UNSTABLE
    assert _mm(app).rss_stat[MM_ANONPAGES] == N
    k.run()

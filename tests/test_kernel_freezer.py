"""The v6.18 freezer: how a task freezes decides what a signal does to it; the OOM killer
thaws the whole victim process.

Kernel: kernel/freezer.c (freeze_task(), __set_task_frozen(), fake_signal_wake_up(),
__refrigerator(), __thaw_task(), thaw_process(), freezing_slow_path()),
kernel/sched/core.c:ttwu_state_match(), kernel/signal.c (wants_signal(),
complete_signal(), signal_wake_up_state(), get_signal() -> try_to_freeze()),
kernel/cgroup/legacy_freezer.c, mm/oom_kill.c (mark_oom_victim(), __oom_kill_process(),
oom_kill_process()) (v6.18). Live counterparts: parity scenarios ``frozen-*``.
"""

from __future__ import annotations

import errno
import signal

import pytest

from mrelease_ref import Kernel
from mrelease_ref.include.linux.mm_types import MMF_OOM_SKIP
from mrelease_ref.include.linux.sched import (
    SIGNAL_GROUP_EXIT,
    TASK_FREEZABLE,
    TASK_INTERRUPTIBLE,
    TASK_RUNNING,
    sigmask,
)
from mrelease_ref.scenarios.stalls import stall_in_fsync
from mrelease_ref.sim.process import Process

FREEZABLE = ("nanosleep", "futex", "sigtimedwait")
SIGNAL_PATH = ("pause", "sigsuspend", "poll", "select", "epoll_wait", "busy")


def _victim(how: str, threads: int = 0) -> tuple[Kernel, Process, Process, list[Process]]:
    k = Kernel(large_folios=False, debug_vm=True, trace=True)
    lmkd = k.spawn("lmkd", uid=0)
    app = k.spawn("app", uid=10001)
    m = app.mmap(32)
    app.touch(m, write=True)
    extra = [app.clone_thread() for _ in range(threads)]
    for p in (app, *extra):
        p.sleep(how)
    return k, lmkd, app, extra


def _mrelease(lmkd: Process, app: Process) -> int:
    fd = lmkd.pidfd_open(app.pid)
    try:
        lmkd.process_mrelease(fd)
    except OSError as e:
        return e.errno or 0
    finally:
        lmkd.close(fd)
    return 0


@pytest.mark.parametrize("how", FREEZABLE)
def test_a_task_in_a_freezable_sleep_is_frozen_in_place(how: str) -> None:
    """__set_task_frozen(): TASK_FREEZABLE sleep -> TASK_FROZEN, the sleep kept in
    saved_state; no fake signal (TIF_SIGPENDING stays clear), nothing runs."""
    _k, _lmkd, app, _ = _victim(how)
    app.freeze()
    t = app.task
    assert app.state == "frozen" and app.freezer_state == "FROZEN"
    assert t.saved_state == TASK_INTERRUPTIBLE | TASK_FREEZABLE
    assert not t.sigpending and t.work is None


@pytest.mark.parametrize("how", SIGNAL_PATH)
def test_any_other_task_freezes_through_the_signal_path(how: str) -> None:
    """freeze_task(): not freezable in place -> fake_signal_wake_up(); the task runs into
    get_signal() -> try_to_freeze() -> __refrigerator(): saved_state TASK_RUNNING and
    TIF_SIGPENDING left set."""
    _k, _lmkd, app, _ = _victim(how)
    app.freeze()
    t = app.task
    assert app.state == "frozen" and app.freezer_state == "FROZEN"
    assert t.saved_state == TASK_RUNNING and t.sigpending
    assert t.waiting is not None and t.waiting.label == "__refrigerator"


@pytest.mark.parametrize("how", FREEZABLE + SIGNAL_PATH)
def test_sigkill_to_a_frozen_task_starts_the_group_exit_but_does_not_wake_it(how: str) -> None:
    """wants_signal() takes SIGKILL whatever TIF_SIGPENDING says, so complete_signal()
    starts the group exit in the sender; signal_wake_up_state() does not wake a TASK_FROZEN
    task (ttwu_state_match()). process_mrelease() reaps (0); the thaw lets it exit
    (live: parity scenarios frozen-*-sigkill)."""
    k, lmkd, app, _ = _victim(how)
    app.freeze()
    lmkd.kill(app.pid, signal.SIGKILL)
    k.run()
    assert app.state == "frozen" and app.freezer_state == "FROZEN"
    assert app.task.signal.flags & SIGNAL_GROUP_EXIT
    assert _mrelease(lmkd, app) == 0 and app.status()["VmRSS"] == 0
    app.thaw()
    k.run()
    assert app.state == "dead" and app.task.signal.group_exit_code == signal.SIGKILL


@pytest.mark.parametrize("how", FREEZABLE + SIGNAL_PATH)
def test_sigterm_to_a_frozen_task_depends_on_how_it_froze(how: str) -> None:
    """wants_signal(): a task that is not on a CPU and has TIF_SIGPENDING is refused. A
    task frozen in place has it clear: default SIGTERM starts the group exit (SIGKILL queued
    to every thread, the reap succeeds). One frozen through the fake signal has it set:
    SIGTERM only stays shared-pending, the task is not dying, process_mrelease() gives
    EINVAL. Both exit with SIGTERM once thawed (live: parity scenarios frozen-*-sigterm,
    2026-12-03)."""
    k, lmkd, app, _ = _victim(how)
    app.freeze()
    lmkd.kill(app.pid, signal.SIGTERM)
    in_place = how in FREEZABLE
    assert bool(app.task.signal.flags & SIGNAL_GROUP_EXIT) == in_place
    assert app.task.signal.shared_pending & sigmask(signal.SIGTERM)  # ShdPnd 0x4000 both
    assert bool(app.task.pending & sigmask(signal.SIGKILL)) == in_place  # SigPnd 0x100
    assert _mrelease(lmkd, app) == (0 if in_place else errno.EINVAL)
    assert app.state == "frozen"
    app.thaw()
    k.run()
    assert app.state == "dead" and app.task.signal.group_exit_code == signal.SIGTERM


@pytest.mark.parametrize("how", FREEZABLE + SIGNAL_PATH)
def test_sigstop_to_a_frozen_task_stops_it_after_the_thaw(how: str) -> None:
    """SIGSTOP is not fatal: never a group exit (EINVAL); after the thaw the group stops."""
    k, lmkd, app, _ = _victim(how)
    app.freeze()
    lmkd.kill(app.pid, signal.SIGSTOP)
    assert _mrelease(lmkd, app) == errno.EINVAL
    app.thaw()
    k.run()
    assert app.state == "stopped"


def test_thaw_puts_a_task_back_to_its_sleep() -> None:
    """__thaw_task(): a task frozen in place gets its saved sleep back (not woken); one in
    the refrigerator is woken and returns to user space with nothing to deliver."""
    _k, _lmkd, nano, _ = _victim("nanosleep")
    nano.freeze()
    nano.thaw()
    assert nano.state == "sleeping" and nano.task.work is None and not nano.task.sigpending
    _k, _lmkd, paused, _ = _victim("pause")
    paused.freeze()
    paused.thaw()
    assert paused.state == "sleeping" and not paused.task.sigpending
    assert paused.freezer_state == "THAWED"


def test_sleep_rejects_unknown_kinds_and_busy_tasks() -> None:
    """Process.sleep(): a bad name or a task inside kernel work is a ValueError."""
    _k, _lmkd, app, _ = _victim("pause")
    with pytest.raises(ValueError, match="nanosleep"):
        app.sleep("hibernate")
    app.freeze()
    with pytest.raises(ValueError, match="frozen"):
        app.sleep("busy")


@pytest.mark.parametrize("how", ["nanosleep", "pause"])
def test_oom_kill_thaws_every_thread(how: str) -> None:
    """mark_oom_victim() calls thaw_process(): every thread is thawed (not only the victim
    task), and signal->oom_mm makes them OOM victims that freezing() skips, so the frozen
    group exits by itself and the reaper finds MMF_OOM_SKIP."""
    k, _lmkd, app, extra = _victim(how, threads=2)
    app.freeze()
    mm = app.task.mm
    assert mm is not None
    k.oom_kill(app.pid)
    k.run()
    assert all(p.state == "dead" for p in (app, *extra))
    assert mm.flags & MMF_OOM_SKIP
    assert not [e for e in k.trace if e.func == "__oom_reap_task_mm"]


def test_oom_kill_sends_sigkill_before_marking() -> None:
    """__oom_kill_process(): do_send_sig_info(SIGKILL) comes before mark_oom_victim(), so
    the thaw finds the SIGKILL queued; mark_oom_victim() runs once per task (TIF_MEMDIE)."""
    k, _lmkd, app, _ = _victim("nanosleep")
    app.freeze()
    k.oom_kill(app.pid)
    t = app.task
    assert t.memdie and t.signal.oom_mm is not None and not t.frozen
    assert t.pending & sigmask(signal.SIGKILL)
    count = t.signal.oom_mm.mm_count
    k.oom_kill(app.pid)  # already dying: oom_kill_process() only marks and queues
    assert t.signal.oom_mm.mm_count == count
    k.run()
    assert app.state == "dead"


def test_oom_kill_after_the_leader_exited_switches_to_the_thread_with_the_mm() -> None:
    """Issue 8 class 4 regression. __oom_kill_process() switches the victim to
    find_lock_task_mm(victim): the leader gone (SYS_exit, a zombie without mm), the live
    thread is killed and marked; no assertion in mark_oom_victim()."""
    k, _lmkd, app, [thread] = _victim("nanosleep", threads=1)
    app.thread_exit(0)
    k.run()
    assert app.state == "zombie" and app.task.mm is None
    k.oom_kill(app.pid)
    assert thread.task.memdie and not app.task.memdie
    assert thread.task.signal.oom_mm is not None
    k.run()
    assert thread.state == "dead"


def test_oom_kill_of_a_process_without_mm_does_nothing() -> None:
    """__oom_kill_process(): no thread has an mm -> "already exiting", nothing sent."""
    k = Kernel(large_folios=False, debug_vm=True)
    parent = k.spawn("parent")
    child = parent.spawn_child("child")
    child.exit(0)
    k.run()
    assert child.state == "zombie"
    k.oom_kill(child.pid)
    assert child.task.signal.oom_mm is None and not child.task.memdie


def test_a_thread_in_d_state_keeps_the_mm_for_the_oom_reaper() -> None:
    """folio_wait_writeback() sleeps TASK_UNINTERRUPTIBLE: the OOM kill's SIGKILL does not
    end it, so the group cannot finish exiting; the reaper (mmap_read_trylock()) reaps after
    OOM_REAPER_DELAY and sets MMF_OOM_SKIP; the thread exits once the I/O completes."""
    k, _lmkd, app, _ = _victim("nanosleep")
    stall = stall_in_fsync(k, app)
    mm = app.task.mm
    assert mm is not None
    k.oom_kill(app.pid)
    k.run()
    assert stall.stuck and app.state == "zombie" and stall.thread.task.mm is mm
    assert mm.flags & MMF_OOM_SKIP and app.status()["VmRSS"] == 0
    assert [e.comm for e in k.trace if e.func == "oom_reap_task"] == ["oom_reaper"]
    stall.release()
    k.run()
    assert stall.thread.state == "dead" and mm.mm_users == 0


def test_a_thread_cloned_after_a_thaw_is_frozen_with_its_group() -> None:
    """freezer_fork() (cgroup_post_fork()): a new thread starts in its parent's freezer
    group, so the next FROZEN write freezes it too; a CLONE_VM child joins the group."""
    _k, _lmkd, app, _ = _victim("pause")
    app.freeze()
    app.thaw()
    thread = app.clone_thread()
    sharer = app.clone_vm("sharer")
    assert thread.task.freezer is app.task.freezer is sharer.task.freezer
    app.freeze()
    assert thread.state == "frozen" and sharer.state == "frozen"
    assert app.freezer_state == "FROZEN"

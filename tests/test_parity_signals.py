"""The parity scenarios of signals to threads and to frozen victims (model side, stored
live run, spec plumbing).

Kernel: kernel/signal.c (wants_signal(), complete_signal(), kill_pid_info_type(),
do_send_specific(), SYSCALL_DEFINE4(pidfd_send_signal)), kernel/freezer.c (freeze_task(),
__set_task_frozen(), __refrigerator()), kernel/pid.c:pidfd_get_task() (v6.18). The live
comparison runs in ``tests/test_real_kernel.py`` (root only).
"""

from __future__ import annotations

import pytest

from mrelease_ref.lab.victim import Kind
from mrelease_ref.lab.victim import MappingSpec as LabMapping
from mrelease_ref.lab.victim import VictimSpec as LabSpec
from mrelease_ref.scenarios import parity


def test_signal_scenarios_stand_apart_and_give_enough_rows() -> None:
    """They are not in SCENARIOS (notebook 05 shows that table's stored run), their names
    are unique, and they give at least 15 rows."""
    names = [s.name for s in parity.SIGNAL_SCENARIOS]
    assert len(set(names)) == len(names)
    assert not set(names) & {s.name for s in parity.SCENARIOS}
    assert sum(len(s.measures) for s in parity.SIGNAL_SCENARIOS) >= 15


@pytest.mark.parametrize("sc", parity.SIGNAL_SCENARIOS,
                         ids=[s.name for s in parity.SIGNAL_SCENARIOS])
def test_model_gives_what_the_kernel_gave(sc: parity.Scenario) -> None:
    """Each measure's ``expect`` is the live kernel's value of 2026-12-03 (the stored run
    below checks that); the model must give it too. Rule and source: the scenario's
    ``source``."""
    obs = parity.run_model(sc)
    for m in sc.measures:
        assert m.value(obs) == m.expect, (m.name, m.value(obs))


def test_every_freezer_case_is_covered() -> None:
    """A freezable sleep (nanosleep, futex), a sleep that is not (pause, select) and a
    running victim each meet SIGKILL or SIGTERM; threads meet kill(tid), tgkill() and a
    PIDFD_THREAD pidfd."""
    by_sleep = {(s.sleep, s.steps[1].sig) for s in parity.SIGNAL_SCENARIOS
                if s.name.startswith("frozen-") and not s.threads}
    for sleep in ("nanosleep", "pause", "busy"):
        assert (sleep, 9) in by_sleep and (sleep, 15) in by_sleep
    hows = {st.how for s in parity.SIGNAL_SCENARIOS for st in s.steps if st.op == "signal"}
    assert {"kill", "tgkill", "pidfd"} <= hows
    assert any(st.op == "pidfd_open" and st.flags == parity.PIDFD_THREAD_FLAG
               for s in parity.SIGNAL_SCENARIOS for st in s.steps)


@pytest.mark.parametrize("sleep", ["nanosleep", "futex", "pause", "select", "busy"])
def test_sigterm_to_a_frozen_victim_depends_on_its_sleep(sleep: str) -> None:
    """wants_signal(): a task frozen through the fake signal has TIF_SIGPENDING, so a
    default SIGTERM starts no group exit and process_mrelease() gives EINVAL; frozen in
    place (TASK_FREEZABLE sleep) it is reaped. Model side of frozen-*-sigterm (the kernel
    side agreed on 2026-12-03, lab/data/parity_signals.json)."""
    sc = {s.name: s for s in parity.SIGNAL_SCENARIOS}[f"frozen-{sleep}-sigterm"]
    obs = parity.run_model(sc)
    in_place = sleep in ("nanosleep", "futex")
    assert obs["signalled.group_exit"] is in_place
    assert obs["reap.errno"] == ("0" if in_place else "EINVAL")
    assert obs["thawed.state"] == "exited"


def test_stored_signal_run_agrees() -> None:
    """The stored live run of the signal scenarios (``python -m
    mrelease_ref.scenarios.parity --signals``) names its kernel, covers every measure, has no
    disagreement, and the kernel gave each measure's ``expect``."""
    run = parity.load_run(parity.SIGNAL_STORED_RUN)
    assert run.meta["kernel"].startswith("6.18") and run.meta["date"]
    assert {(r.scenario, r.measure) for r in run.rows} == {
        (s.name, m.name) for s in parity.SIGNAL_SCENARIOS for m in s.measures}
    assert len(run.rows) >= 15 and run.disagreements == []
    assert all(r.meets(r.expect) for r in run.rows)


def test_lab_spec_carries_sleep_and_threads() -> None:
    """to_lab_spec() passes the scenario's sleep and threads on; the lab refuses a sleep it
    cannot make."""
    sc = {s.name: s for s in parity.SIGNAL_SCENARIOS}["frozen-threads-sigterm"]
    lab = parity.to_lab_spec(sc.victim, {}, sleep=sc.sleep, threads=sc.threads,
                             thread_sleep=sc.thread_sleep)
    assert (lab.sleep, lab.threads, lab.thread_sleep) == ("pause", 1, "nanosleep")
    with pytest.raises(ValueError, match="sleep must be one of"):
        LabSpec((LabMapping(Kind.ANON, 1),), sleep="hibernate")
    with pytest.raises(ValueError, match="threads"):
        LabSpec((LabMapping(Kind.ANON, 1),), threads=-1)

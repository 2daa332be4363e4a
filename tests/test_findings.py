"""The corrected findings, held to the model so that the old wording would fail.

Two findings were once worded too broadly: "draft D frees no anonymous memory in any
reap" (it frees PMD-mapped anonymous THPs, because ``zap_huge_pmd()`` never reads the
``zap_details``), and "v1 and v2 refuse the namespace-init case" (when the init is itself
the REAP_KILL target and the caller is inside its namespace, every REAP_KILL version
returns 0 and reaps it). Sources: docs/sources.md §K3.6, §T3.5 (draft D's details),
§T3.2, §T3.4, §T3.6 (how each version kills), §K1.3 (SIGNAL_GROUP_EXIT).

Also here: the tests that README and notebook Limitations name, which show that a limit
still holds (``tests/test_readme.py`` checks that every named test exists).
"""

from __future__ import annotations

import signal

import pytest

from mrelease_ref import Kernel
from mrelease_ref.include.linux.sched import TaskStruct, is_global_init
from mrelease_ref.include.uapi.linux.mman import PROCESS_MRELEASE_REAP_KILL
from mrelease_ref.scenarios import patch3
from mrelease_ref.sim.process import Process

THP_PAGES = 1024  # two PMD-sized (512-page) THPs


def _anon_victim(variant: str, thp: bool) -> tuple[Kernel, Process, Process]:
    k = Kernel(variant, seed=0, debug_vm=True)
    lmkd = k.spawn("lmkd", uid=0)
    app = k.spawn("app", uid=10001)
    m = app.mmap(THP_PAGES, thp=thp)
    app.touch(m, write=True)
    return k, lmkd, app


@pytest.mark.parametrize("flags", [0, PROCESS_MRELEASE_REAP_KILL], ids=["flags0", "reap_kill"])
def test_draft_d_frees_pmd_mapped_anonymous_thps_in_a_reap(flags: int) -> None:
    """Rule: draft D's reaper passes a zero-initialised ``zap_details`` (``even_cows``
    false), which makes ``should_zap_folio()`` keep anonymous folios in PTE tables; but a
    PMD-mapped THP goes through ``zap_huge_pmd()``, which does not look at the details, so
    the reap frees it (v6.18 mm/huge_memory.c:zap_huge_pmd(); docs/sources.md §K3.6,
    §T3.5). The old wording "frees no anonymous memory in any reap" fails here."""
    _, lmkd, app = _anon_victim("d", thp=True)
    assert app.status()["RssAnon"] == THP_PAGES * 4
    fd = lmkd.pidfd_open(app.pid)
    if not flags:
        lmkd.kill(app.pid, signal.SIGKILL)
    lmkd.process_mrelease(fd, flags)
    assert app.status()["RssAnon"] == 0


def test_draft_d_keeps_pte_mapped_anonymous_memory() -> None:
    """The other half of the finding: the same victim without THP (4 KiB folios in PTE
    tables) keeps every anonymous page through D's reap (docs/sources.md §T3.5, §T6 #16)."""
    _, lmkd, app = _anon_victim("d", thp=False)
    fd = lmkd.pidfd_open(app.pid)
    lmkd.process_mrelease(fd, PROCESS_MRELEASE_REAP_KILL)
    assert app.status()["RssAnon"] == THP_PAGES * 4


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_reap_kill_reaps_a_namespace_init_target_from_inside(version: str) -> None:
    """Rule: a namespace init is SIGNAL_UNKILLABLE, so a SIGKILL from inside its namespace
    is dropped (kernel/signal.c:sig_task_ignored()) while the send returns 0; v1 and v2
    (``kill_pid()``) and v3 (``do_pidfd_send_signal_pidns()``) then reap anyway
    (docs/sources.md §T3.2, §T3.4, §T3.6). The old wording "v1 and v2 refuse" fails here."""
    o = patch3.call_outcome(patch3.case("ns init target, caller inside"), version,
                            PROCESS_MRELEASE_REAP_KILL)
    assert o.ret == "0"
    assert not o.target_killed
    assert o.reaped_kb == patch3.ANON_PAGES * 4 + patch3.FILE_PAGES * 4


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_reaped_namespace_init_dies_of_its_next_fault(version: str) -> None:
    """Rule: a fault on an MMF_UNSTABLE mm fails (include/linux/oom.h:
    check_stable_address_space()); the forced SIGBUS clears SIGNAL_UNKILLABLE
    (kernel/signal.c:force_sig_info_to_task()) and the init's exit kills its namespace
    (kernel/pid_namespace.c:zap_pid_ns_processes()); docs/sources.md §K1.4."""
    r = patch3.ns_init_after_reap(version, caller_inside=True)
    assert (r.ret, r.init_killed_by_call, r.init_fault) == ("0", False, "SIGBUS")
    assert r.init_exited and r.ns_worker_exited


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_from_the_parent_namespace_the_kill_is_forced(version: str) -> None:
    """Rule: a signal from an ancestor namespace is forced on the init
    (kernel/signal.c:send_signal_locked()), so the call kills it (docs/sources.md §K1.3)."""
    o = patch3.call_outcome(patch3.case("ns init target, caller outside"), version,
                            PROCESS_MRELEASE_REAP_KILL)
    assert (o.ret, o.target_killed) == ("0", True)


# --- tests that Limitations bullets name ----------------------------------------------------


def _user_tasks(k: Kernel) -> list[TaskStruct]:
    return [t for t in k.tasks if t.mm is not None]


def test_global_init_has_no_mm_in_the_model() -> None:
    """Limitation (notebook 03, scenarios/patch3.py): the model's pid 1 is a boot task
    without an address space, so no experiment can make the global init share an mm and
    v3's ``is_global_init()`` failure branch stays unexercised."""
    k = Kernel(seed=0)
    k.spawn("app", uid=10001)
    inits = [t for t in k.tasks if is_global_init(t)]
    assert len(inits) == 1
    assert inits[0].mm is None
    assert all(not is_global_init(t) for t in _user_tasks(k))

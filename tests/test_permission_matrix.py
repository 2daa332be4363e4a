"""The REAP_KILL permission matrix (mrelease_ref.scenarios.permissions), pinned.

Rules checked (each from the kernel source or the posted patches):
- baseline v6.18: SYSCALL_DEFINE2(process_mrelease) refuses any flag (``flags != 0`` ->
  EINVAL) before it looks at the pidfd, so nothing is killed or reaped;
- kernel/signal.c:check_kill_permission(): a caller of another uid without CAP_KILL may
  not SIGKILL; v1/v2 and draft C/D send through ``kill_pid(..., 0)`` (EPERM), v3 through
  ``do_pidfd_send_signal()`` and reports any failure as EBUSY;
- the RFC's SIGKILL carries a positive si_code (KILL_MRELEASE), so SI_FROMUSER() is false
  and no permission check runs [I]: the only cells where REAP_KILL kills beyond kill();
- kernel/signal.c:sig_task_ignored(): a namespace init ignores SIGKILL sent from inside
  its namespace (SIGNAL_UNKILLABLE), yet v1, D, v2 and v3 go on to reap its mm: a live
  task on a reaped mm (notebook 03 finding for v3; the same holds for v1/v2/D here);
- kernel/fork.c:copy_oom_score_adj(): a vfork child does not set MMF_MULTIPROCESS, so v2
  (and D) reap an mm the vfork child still runs on (notebook 03 finding);
- kernel/pid.c:pidfd_get_task() looks the task up by thread group whatever the pidfd's
  flags, so PIDFD_THREAD on the leader changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mrelease_ref.scenarios.permissions import (
    CALLERS,
    TARGETS,
    Cell,
    compute_matrix,
    render_markdown,
    violations,
)
from mrelease_ref.sim.invariants import REASON_NS_INIT, REASON_SHARER

DOC = Path(__file__).resolve().parents[1] / "docs" / "permission_matrix.md"


@pytest.fixture(scope="module")
def cells() -> list[Cell]:
    return compute_matrix()


def _get(cells: list[Cell], variant: str, caller: str, target: str) -> Cell:
    return next(c for c in cells if (c.variant, c.caller, c.target, c.pidfd)
                == (variant, caller, target, "plain"))


def test_docs_file_is_the_computed_matrix(cells: list[Cell]) -> None:
    """docs/permission_matrix.md is generated: regenerate it with
    ``python -m mrelease_ref.scenarios.permissions`` when the model changes."""
    assert DOC.read_text() == render_markdown(cells)


def test_baseline_refuses_the_flag_everywhere(cells: list[Cell]) -> None:
    """v6.18 knows no flag: EINVAL for every caller and target, nothing killed or reaped."""
    base = [c for c in cells if c.variant == "baseline"]
    assert base and all((c.errno, c.killed, c.reaped) == ("EINVAL", False, 0) for c in base)


def test_no_caller_kills_beyond_its_own_kill_except_the_rfc(cells: list[Cell]) -> None:
    """The property: REAP_KILL kills nothing the caller's kill() could not -- except in the
    RFC, whose unprivileged caller (uid 10002, no CAP_KILL) kills and reaps [I]."""
    bad = violations(cells)
    assert {c.variant for c in bad} == {"rfc"}
    assert {c.caller for c in bad} == {"uid 10002"}
    assert all(c.reaped == 64 for c in bad if c.target.startswith("process"))


@pytest.mark.parametrize(("variant", "rc"), [("v1", "EPERM"), ("d", "EPERM"),
                                             ("v2", "EPERM"), ("v3", "EBUSY")])
def test_an_unprivileged_caller_is_refused(cells: list[Cell], variant: str, rc: str) -> None:
    """check_kill_permission() refuses uid 10002 without CAP_KILL: EPERM from kill_pid(),
    EBUSY from v3's do_pidfd_send_signal() path; nothing killed, nothing reaped."""
    for target in ("process", "process in child ns", "namespace init"):
        c = _get(cells, variant, "uid 10002", target)
        assert (c.errno, c.killed, c.reaped) == (rc, False, 0)


@pytest.mark.parametrize("variant", ["v1", "d", "v2", "v3"])
def test_a_namespace_init_killed_from_inside_is_reaped_while_it_lives(
    cells: list[Cell], variant: str
) -> None:
    """Root inside the child namespace: kill() of the namespace init does nothing
    (SIGNAL_UNKILLABLE), REAP_KILL returns 0 without killing it and its mm is reaped while
    it runs on (D as posted zaps no anonymous page, so it reaps 0): a finding, recorded
    with its reason."""
    c = _get(cells, variant, "root in child ns", "namespace init")
    assert (c.errno, c.killed, c.kill_kills) == ("0", False, False)
    assert c.reaped == (0 if variant == "d" else 64)
    assert c.findings == (REASON_NS_INIT,)


@pytest.mark.parametrize(("variant", "rc", "finding"), [
    ("rfc", "EINVAL", True), ("v1", "EINVAL", False), ("d", "0", True), ("v2", "0", True),
    ("v3", "0", False),
])
def test_a_vfork_sharer_runs_on_after_the_reap(
    cells: list[Cell], variant: str, rc: str, finding: bool
) -> None:
    """A vfork child shares the target's mm without MMF_MULTIPROCESS
    (kernel/fork.c:copy_oom_score_adj() skips CLONE_VFORK). v2 (and D, which carries its
    REAP_KILL) do not notice it: the parent is killed and the mm reaped while the child
    runs on (notebook 03 finding for v2). v3 kills every sharer first; v1's
    task_will_free_mem() sees a live sharer: EINVAL. The RFC [I] marks the mm MMF_UNSTABLE
    when it sends the SIGKILL, before task_will_free_mem() refuses: the child's faults
    fail from then on."""
    for caller in ("root", "uid 10001", "uid 10002 + CAP_KILL"):
        c = _get(cells, variant, caller, "vfork parent")
        assert c.errno == rc
        assert c.findings == ((REASON_SHARER,) if finding else ())


def test_findings_only_where_the_series_reaps_a_live_mm(cells: list[Cell]) -> None:
    """No other cell reaps an mm a live task uses: the baseline never, and every finding
    is one of the two known cases."""
    for c in cells:
        if c.findings:
            assert c.variant != "baseline"
            assert (c.target, c.findings) in {("namespace init", (REASON_NS_INIT,)),
                                              ("vfork parent", (REASON_SHARER,)),
                                              ("CLONE_VM owner", (REASON_SHARER,))}
            assert c.target != "CLONE_VM owner" or c.variant == "rfc"


def test_privileged_callers_kill_and_reap(cells: list[Cell]) -> None:
    """Root, the target's own uid and CAP_KILL may kill: every REAP_KILL version kills the
    ordinary target, and all but draft D as posted reap its 64 anonymous pages."""
    for variant in ("rfc", "v1", "d", "v2", "v3"):
        for caller in ("root", "uid 10001", "uid 10002 + CAP_KILL"):
            c = _get(cells, variant, caller, "process")
            assert (c.errno, c.killed, c.kill_kills) == ("0", True, True)
            assert c.reaped == (0 if variant == "d" else 64)


def test_init_and_kernel_threads_are_never_killed(cells: list[Cell]) -> None:
    """Neither the global init nor a kernel thread is killed by anyone (kill() cannot
    either); they have no mm, so the call ends in ESRCH."""
    for c in cells:
        if c.target in ("global init", "kernel thread") and c.variant != "baseline":
            assert (c.errno, c.killed, c.kill_kills) == ("ESRCH", False, False)


def test_pidfd_thread_changes_nothing(cells: list[Cell]) -> None:
    """pidfd_get_task() resolves by thread group: a PIDFD_THREAD pidfd of the leader gives
    the same cell as a plain one."""
    plain = {(c.variant, c.caller, c.target): (c.errno, c.killed, c.reaped) for c in cells
             if c.pidfd == "plain"}
    thread = {(c.variant, c.caller, c.target): (c.errno, c.killed, c.reaped) for c in cells
              if c.pidfd == "PIDFD_THREAD"}
    assert plain == thread


def test_every_axis_is_present(cells: list[Cell]) -> None:
    """The matrix crosses every caller with every target it can name, for every kernel."""
    assert {c.caller for c in cells} == set(CALLERS)
    assert {c.target for c in cells} == set(TARGETS)
    assert len({c.variant for c in cells}) == 6

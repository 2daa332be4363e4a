"""The acceptance table: what ``process_mrelease()`` returns, frees and evicts, per variant.

One table (:data:`TABLE`), one row per situation of the target, each run without and with
``PROCESS_MRELEASE_REAP_KILL`` and pinned for every kernel the model can be: the v6.18
baseline, the RFC, v1 (all three patches, and patches=1 and 2 for the rows about patch 3),
draft D as posted and as intended (``d_details``), REAP_KILL v2 and v3
(docs/sources.md §T2-§T6; §K1).

Every cell is one test, named ``<row>-<flags>-<variant>``. It builds the same victim
(:data:`SPEC`: private anonymous, private file, copy-on-write file and shared file memory,
small folios), puts the target in the row's state, and measures the call alone:

* **rc**: 0 or the errno name;
* **freed**: pages the call returned to the page allocator (``free_with_pcp`` of
  ``Kernel.zoneinfo()``, which counts the per-CPU free lists too);
* **cached**: ``cachestat().nr_cache`` summed over the victim's files after the call;
* **evicted**: pages that left the page cache during the call (``cached`` before - after);
* **killed**: processes the call itself put into a group exit (SIGNAL_GROUP_EXIT).

``k.lru_add_drain_all()`` runs once after the victim faulted its memory in: fresh folios
sit in the per-CPU lru_add batch of the faulting CPU, and that batch's reference would
both keep a zapped anonymous folio alive (it would be freed at the next drain, not by the
call) and make ``mapping_evict_folio()``'s refcount test fail for a file folio (docs/sources.md
§T2.6 rule 3). With the batches drained every number below follows from the rules alone.

Citations (``§``) are sections of docs/sources.md unless docs/sources.md is named.
The expected numbers are derived, not measured: :data:`REAPED_ANON` and :data:`EVICTABLE`
are computed from :data:`SPEC`, and each outcome names the rule that produces it.

Ambiguities the model resolved (see the variant modules): the RFC's oom_kill.c and
signal.c hunks were not retrieved; the model sends its KILL_MRELEASE SIGKILL as a
kernel-originated signal (positive si_code: no ``check_kill_permission()``), before the
``task_will_free_mem()`` decision (mrelease_ref/series/rfc/kernel/signal.py).
"""

from __future__ import annotations

import errno
import signal
from dataclasses import dataclass, field
from typing import Any

import pytest

from mrelease_ref import PROCESS_MRELEASE_REAP_KILL, Kernel
from mrelease_ref.include.linux.mm_types import MMF_OOM_SKIP
from mrelease_ref.include.linux.sched import SIGNAL_GROUP_EXIT
from mrelease_ref.scenarios.stalls import stall_in_fsync
from mrelease_ref.scenarios.victims import MappingSpec, Victim, VictimSpec, build_victim
from mrelease_ref.sim.process import Process

RK = PROCESS_MRELEASE_REAP_KILL

# --- the victim and what the rules say about it ---------------------------------------------

ANON, PRIV, COW, COW_DIRTY, SHARED, SHARED_DIRTY = 64, 32, 16, 4, 8, 2
SPEC = VictimSpec(
    (
        MappingSpec("anon", ANON),
        MappingSpec("file-private", PRIV),
        MappingSpec("file-cow", COW, dirty=COW_DIRTY),
        MappingSpec("file-shared", SHARED, dirty=SHARED_DIRTY),
    ),
    name="app",
)

REAPED_ANON = ANON + COW_DIRTY
"""What a reap frees (docs/sources.md §T2.3, §T2.5): every anonymous page of the anonymous VMA and
the copy-on-write copies in the private file VMA; the shared file VMA is never reaped."""

EVICTABLE = PRIV + (COW - COW_DIRTY)
"""What patch 1 may evict (docs/sources.md §T3.2 v1 1/3 (a)-(h)): the clean, small, exclusively
mapped file folios the reap unmaps. The COW_DIRTY file pages were replaced by anonymous
copies (no longer mapped here, so never in the gather), and the shared VMA is not reaped."""

CACHE = PRIV + COW + SHARED
"""The victim's page cache before the call: every file page it touched."""


# --- outcomes ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """One cell: the return code and the page counts of one call (see module docstring)."""

    rc: int | str
    freed: int = 0
    cached: int = CACHE
    evicted: int = 0
    killed: tuple[str, ...] = ()


REFUSED = Outcome("refused")
"""``Kernel(...)`` raises ValueError: draft D has no s390 hunk and does not build there
(docs/sources.md §T3.5 "No arch/s390 hunk", §T6 #8)."""


def err(name: str, killed: tuple[str, ...] = ()) -> Outcome:
    """An error return: nothing freed, nothing evicted."""
    return Outcome(name, killed=killed)


def reap(killed: tuple[str, ...] = ()) -> Outcome:
    """Reap, no eviction: docs/sources.md §T2.3 (baseline reap), §T2.5
    (free_pages_and_swap_cache())."""
    return Outcome(0, REAPED_ANON, CACHE, 0, killed)


def reap_evict(killed: tuple[str, ...] = ()) -> Outcome:
    """Reap and evict (patch 1 gate on): §T3.2 v1 1/3; the evicted folios are freed by the
    same ``folios_put_refs()``, so they count as freed too."""
    return Outcome(0, REAPED_ANON + EVICTABLE, CACHE - EVICTABLE, EVICTABLE, killed)


def d_reap(killed: tuple[str, ...] = ()) -> Outcome:
    """Draft D as posted, no eviction: its zero-initialised ``zap_details`` has ``even_cows``
    false, so ``should_zap_folio()`` keeps every anonymous folio (docs/sources.md §T3.5 "Important
    hidden side effect", §T6 #16): nothing is freed."""
    return Outcome(0, 0, CACHE, 0, killed)


def d_reap_evict(killed: tuple[str, ...] = ()) -> Outcome:
    """Draft D as posted with REAP_KILL: file folios evicted, anonymous memory kept."""
    return Outcome(0, EVICTABLE, CACHE - EVICTABLE, EVICTABLE, killed)


NOTHING = Outcome(0)
"""0, and nothing to do."""

# --- the kernels --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """A kernel: the variant and its keyword arguments."""

    name: str
    variant: str
    kw: dict[str, Any] = field(default_factory=dict)


COLUMNS = (
    Column("baseline", "baseline"),
    Column("rfc", "rfc"),
    Column("v1", "v1"),
    Column("v1p1", "v1", {"patches": 1}),
    Column("v1p2", "v1", {"patches": 2}),
    Column("d", "d"),
    Column("d_intended", "d", {"d_details": "intended"}),
    Column("v2", "v2"),
    Column("v3", "v3"),
)
COLUMN = {c.name: c for c in COLUMNS}

# --- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One situation of the target, called with ``flags``; ``expect`` has every column.

    ``setup`` names the target state (:func:`_prepare`); ``kernel`` adds Kernel options
    (arch, swap) for the configuration rows.
    """

    name: str
    flags: int
    setup: str
    cite: str
    expect: dict[str, Outcome]
    kernel: dict[str, Any] = field(default_factory=dict)


def _oom_skip_cell(col: str, flags: int) -> Outcome:
    """The MMF_OOM_SKIP row. The kernel OOM reaper's own reap already evicted under the
    MMF_UNSTABLE gate of the RFC and v1 (docs/sources.md §T4.2 #7, §T6 #2: the gate is per mm, not
    per caller); D's OOM reaper passes false (§T3.5). The call itself frees nothing."""
    cached = CACHE - EVICTABLE if col in ("rfc", "v1", "v1p1", "v1p2") else CACHE
    if flags and col in ("baseline", "v1", "v1p1", "v1p2"):
        return Outcome("EINVAL", cached=cached)
    return Outcome(0, cached=cached)


APP = ("app",)
BOTH = ("app", "sharer")

TABLE: list[Row] = [
    # --- live target ------------------------------------------------------------------------
    Row(
        "live", 0, "live",
        "§T2.1/§T2.2: not dying -> task_will_free_mem() false -> EINVAL (no MMF_OOM_SKIP)",
        {c.name: err("EINVAL") for c in COLUMNS},
    ),
    Row(
        "live", RK, "live",
        "§T2.1 base: flags != 0 -> EINVAL; §T3.1 RFC 3/3: KILL_MRELEASE sets MMF_UNSTABLE, then "
        "the base reap; §T3.2 v1 3/3: ignore_exit, mmget, kill_pid, reap, eviction under "
        "MMF_UNSTABLE; §T3.4 v2 / §T3.6 v3: kill then reap, no patch 1; §T3.5 D: gate = "
        "reap_kill; v1 patches=1,2: no REAP_KILL in valid flags -> EINVAL",
        {
            "baseline": err("EINVAL"), "rfc": reap_evict(APP), "v1": reap_evict(APP),
            "v1p1": err("EINVAL"), "v1p2": err("EINVAL"), "d": d_reap_evict(APP),
            "d_intended": reap_evict(APP), "v2": reap(APP), "v3": reap(APP),
        },
    ),
    # --- dying target (SIGKILLed, not yet run) ---------------------------------------------
    Row(
        "dying", 0, "dying",
        "§T2.1: dying -> reap; §T2.3 the reap sets MMF_UNSTABLE first, so the MMF_UNSTABLE-gated "
        "patch 1 evicts (RFC, v1: §T3.1, §T3.2, §T6 #2); D's bool is reap_kill = false (§T3.5)",
        {
            "baseline": reap(), "rfc": reap_evict(), "v1": reap_evict(),
            "v1p1": reap_evict(), "v1p2": reap_evict(), "d": d_reap(),
            "d_intended": reap(), "v2": reap(), "v3": reap(),
        },
    ),
    Row(
        "dying", RK, "dying",
        "§T6 #12: v1 ignores the target's exit state and kills again (harmless); v2/v3 skip "
        "task_will_free_mem() and kill; §T2.1 base and v1 patches=1,2: EINVAL",
        {
            "baseline": err("EINVAL"), "rfc": reap_evict(), "v1": reap_evict(),
            "v1p1": err("EINVAL"), "v1p2": err("EINVAL"), "d": d_reap_evict(),
            "d_intended": reap_evict(), "v2": reap(), "v3": reap(),
        },
    ),
    # --- exited target ----------------------------------------------------------------------
    *(
        Row(
            state, flags, state,
            "§T6 #12 'Target already exited (no ->mm): -ESRCH in all versions'; "
            "docs/sources.md §K1.1: "
            "zombie -> find_lock_task_mm() NULL; reaped -> pidfd_get_task() ESRCH; invalid "
            "flags are checked first (EINVAL)",
            {
                c.name: err("EINVAL") if flags and c.name in ("baseline", "v1p1", "v1p2")
                else err("ESRCH")
                for c in COLUMNS
            },
        )
        for state in ("zombie", "reaped")
        for flags in (0, RK)
    ),
    # --- coredumping target ---------------------------------------------------------------
    Row(
        "coredump", 0, "coredump",
        "§T2.2: signal->core_state -> __task_will_free_mem() false -> EINVAL",
        {c.name: err("EINVAL") for c in COLUMNS},
    ),
    Row(
        "coredump", RK, "coredump",
        "§T6 #12: v1 refuses a coredumping target (core_state test before ignore_exit) "
        "without killing; v2/v3 (and D on C) skip task_will_free_mem(): kill and reap; RFC "
        "([I]) sends KILL_MRELEASE first, then task_will_free_mem() refuses -> EINVAL after "
        "the kill; the target is already in a group exit, so nobody is newly killed",
        {
            "baseline": err("EINVAL"), "rfc": err("EINVAL"), "v1": err("EINVAL"),
            "v1p1": err("EINVAL"), "v1p2": err("EINVAL"), "d": d_reap_evict(),
            "d_intended": reap_evict(), "v2": reap(), "v3": reap(),
        },
    ),
    # --- MMF_OOM_SKIP: the kernel OOM reaper already ran ---------------------------------
    *(
        Row(
            "oom_skip", flags, "oom_skip",
            "docs/sources.md §K1.1/§K1.5: MMF_OOM_SKIP -> task_will_free_mem() false -> 0 ('work "
            "already done'); §T3.2 v1 3/3: with REAP_KILL -> EINVAL; §T3.4 v2 (D on C) / v3: "
            "REAP_KILL skips task_will_free_mem(), kills (group already exiting) and finds "
            "MMF_OOM_SKIP under the lock -> 0, nothing reaped (§T6 #12)",
            {
                c.name: _oom_skip_cell(c.name, flags)
                for c in COLUMNS
            },
        )
        for flags in (0, RK)
    ),
    # --- shared mm with a live sharer ------------------------------------------------------
    Row(
        "shared_mm", 0, "shared_killed",
        "§T2.2: every other process sharing the mm must be dying -> EINVAL",
        {c.name: err("EINVAL") for c in COLUMNS},
    ),
    Row(
        "shared_mm", RK, "shared_live",
        "§T6 #13: v1 -EINVAL unless all other sharers are dying (no kill); §T3.4 v2 (and D): "
        "MMF_MULTIPROCESS -> EINVAL, no kill; §T3.6 v3: SIGKILL every sharer, then reap; RFC "
        "([I]): kills the target's group, then task_will_free_mem() refuses -> EINVAL",
        {
            "baseline": err("EINVAL"), "rfc": err("EINVAL", APP), "v1": err("EINVAL"),
            "v1p1": err("EINVAL"), "v1p2": err("EINVAL"), "d": err("EINVAL"),
            "d_intended": err("EINVAL"), "v2": err("EINVAL"), "v3": reap(BOTH),
        },
    ),
    # --- caller without permission (uid 1000, no caps; target uid 0) -------------------------
    Row(
        "no_permission", 0, "noperm_killed",
        "docs/sources.md §K1.1: no permission check in process_mrelease() itself; "
        "§T4.3 'No version "
        "adds a ptrace-style check for the reaping part': a target killed by someone else "
        "is reaped for any pidfd holder",
        {
            "baseline": reap(), "rfc": reap_evict(), "v1": reap_evict(),
            "v1p1": reap_evict(), "v1p2": reap_evict(), "d": d_reap(),
            "d_intended": reap(), "v2": reap(), "v3": reap(),
        },
    ),
    Row(
        "no_permission", RK, "noperm_live",
        "§T3.2 v1 3/3 / §T3.4 v2: kill_pid(..., 0) is permission-checked -> -EPERM, nothing "
        "reaped (§T6 #13 'v1/v2 return kill_pid's error'); §T3.6 v3: the failed kill -> "
        "EBUSY; RFC ([I]): KILL_MRELEASE is kernel-originated, no permission check",
        {
            "baseline": err("EINVAL"), "rfc": reap_evict(APP), "v1": err("EPERM"),
            "v1p1": err("EINVAL"), "v1p2": err("EINVAL"), "d": err("EPERM"),
            "d_intended": err("EPERM"), "v2": err("EPERM"), "v3": err("EBUSY"),
        },
    ),
    # --- bad flags ---------------------------------------------------------------------------
    *(
        Row(
            f"bad_flags_{flags:#x}", flags, "dying",
            "docs/sources.md §K1.1: flags checked first; §K3.2/§K3.4/§K3.6: flags & "
            "~PROCESS_MRELEASE_VALID_FLAGS -> EINVAL",
            {c.name: err("EINVAL") for c in COLUMNS},
        )
        for flags in (2, 2 | RK, 0xFFFFFFFF)
    ),
    # --- s390 ---------------------------------------------------------------------------------
    Row(
        "s390", 0, "dying",
        "§T3.1 RFC 1/3: s390 passes false (never evicts); §T3.2 v1 1/3 hunk 1: s390 passes "
        "tlb->mm, evicts (PTE path); §T6 #8: D has no s390 hunk, does not build",
        {
            "baseline": reap(), "rfc": reap(), "v1": reap_evict(), "v1p1": reap_evict(),
            "v1p2": reap_evict(), "d": REFUSED, "d_intended": REFUSED, "v2": reap(),
            "v3": reap(),
        },
        {"arch": "s390"},
    ),
    Row(
        "s390", RK, "live",
        "as s390 flags=0, the kill done by the call (§T3.1-§T3.6)",
        {
            "baseline": err("EINVAL"), "rfc": reap(APP), "v1": reap_evict(APP),
            "v1p1": err("EINVAL"), "v1p2": err("EINVAL"), "d": REFUSED, "d_intended": REFUSED,
            "v2": reap(APP), "v3": reap(APP),
        },
        {"arch": "s390"},
    ),
    # --- !CONFIG_SWAP -------------------------------------------------------------------------
    Row(
        "noswap", 0, "dying",
        "§T3.1 [I]: the RFC's !CONFIG_SWAP stub stays release_pages(): no eviction; §T3.2 "
        "v1 1/3: free_pages_and_caches() in mm/swap.c evicts without swap (§T6 #9)",
        {
            "baseline": reap(), "rfc": reap(), "v1": reap_evict(), "v1p1": reap_evict(),
            "v1p2": reap_evict(), "d": d_reap(), "d_intended": reap(), "v2": reap(),
            "v3": reap(),
        },
        {"swap": False},
    ),
    Row(
        "noswap", RK, "live",
        "as noswap flags=0; D's swap.c free_pages_and_caches() evicts without swap (§T3.5)",
        {
            "baseline": err("EINVAL"), "rfc": reap(APP), "v1": reap_evict(APP),
            "v1p1": err("EINVAL"), "v1p2": err("EINVAL"), "d": d_reap_evict(APP),
            "d_intended": reap_evict(APP), "v2": reap(APP), "v3": reap(APP),
        },
        {"swap": False},
    ),
]


def _flags_name(flags: int) -> str:
    if flags == 0:
        return "0"
    if flags == RK:
        return "REAP_KILL"
    return f"{flags:#x}"


CASES = [(row, col) for row in TABLE for col in COLUMNS]
IDS = [f"{row.name}-{_flags_name(row.flags)}-{col.name}" for row, col in CASES]


# --- running one cell -------------------------------------------------------------------------


@dataclass(slots=True)
class Scene:
    """A kernel with the victim built and the target put in the row's state."""

    k: Kernel
    caller: Process
    victim: Victim
    others: dict[str, Process]
    fd: int


def _prepare(k: Kernel, setup: str) -> Scene:
    """Build the victim and put it in the state ``setup`` names.

    ``live``: untouched. ``dying``: SIGKILLed by root, not yet run. ``zombie``: exited,
    its parent has not waited. ``reaped``: exited and released (init's child).
    ``coredump``: SIGSEGV, the dump held (``Kernel.hold_coredumps``). ``oom_skip``: a
    second thread in D state (``scenarios.stalls.stall_in_fsync``), ``k.oom_kill()``, the
    OOM reaper ran (MMF_OOM_SKIP).
    ``shared_killed`` / ``shared_live``: a live CLONE_VM sharer, the target SIGKILLed or
    not. ``noperm_killed`` / ``noperm_live``: target uid 0, caller uid 1000 without
    capabilities, the target SIGKILLed by root or not. The configuration rows follow LMKD's
    two patterns: kill() then flags 0 (``dying``), or REAP_KILL on a live target.
    """
    noperm = setup.startswith("noperm")
    caller = k.spawn("lmkd", uid=1000, caps=frozenset()) if noperm else k.spawn("lmkd", uid=0)
    parent = k.spawn("parent", uid=0) if setup == "zombie" else None
    victim = build_victim(k, VictimSpec(SPEC.mappings, SPEC.name, 0 if noperm else SPEC.uid),
                          parent=parent)
    app = victim.process
    others: dict[str, Process] = {}
    if setup.startswith("shared"):
        others["sharer"] = app.clone_vm("sharer")
    k.lru_add_drain_all()
    fd = caller.pidfd_open(app.pid)
    root = k.spawn("root", uid=0)
    if setup in ("dying", "shared_killed", "noperm_killed"):
        root.kill(app.pid, signal.SIGKILL)
    elif setup in ("zombie", "reaped"):
        app.exit(0)
        k.run()
        assert app.state == ("zombie" if setup == "zombie" else "dead")
    elif setup == "coredump":
        k.hold_coredumps = True  # the dump writes to a core pipe nobody reads
        root.kill(app.pid, signal.SIGSEGV)
        k.run()
        assert app.task.signal.core_state is not None
    elif setup == "oom_skip":
        stall_in_fsync(k, app)  # a thread in D state keeps the mm attached
        k.oom_kill(app.pid)
        k.run()  # the OOM reaper's timer fires, it reaps, MMF_OOM_SKIP is set
        [mm] = {t.mm for t in app.task.signal.threads if t.mm is not None}
        assert mm.flags & MMF_OOM_SKIP
    return Scene(k, caller, victim, others, fd)


def _dying(p: Process) -> bool:
    return bool(p.task.signal.flags & SIGNAL_GROUP_EXIT)


def _cached(s: Scene) -> int:
    return sum(s.k.cachestat(f).nr_cache for f in s.victim.files.values())


def run_cell(row: Row, col: Column) -> Outcome:
    """Run one call and measure it (see the module docstring for what each number is)."""
    kw = {"large_folios": False, "debug_vm": True, **row.kernel, **col.kw}
    try:
        k = Kernel(col.variant, **kw)
    except ValueError as e:
        assert "does not build on s390" in str(e)
        return REFUSED
    s = _prepare(k, row.setup)
    procs = {"app": s.victim.process, **s.others}
    was_dying = {name: _dying(p) for name, p in procs.items()}
    cached = _cached(s)
    free = k.zoneinfo()["free_with_pcp"]
    rc: int | str = 0
    try:
        s.caller.process_mrelease(s.fd, row.flags)
    except OSError as e:
        rc = errno.errorcode[e.errno or 0]
    freed = k.zoneinfo()["free_with_pcp"] - free
    after = _cached(s)
    killed = tuple(n for n, p in procs.items() if _dying(p) and not was_dying[n])
    k.hold_coredumps = False
    for p in procs.values():
        p.thaw()
    k.run()  # let everything finish: the invariant checker runs at every step
    return Outcome(rc, freed, after, cached - after, killed)


@pytest.mark.parametrize(("row", "col"), CASES, ids=IDS)
def test_variant_table(row: Row, col: Column) -> None:
    """Each cell of :data:`TABLE`: the return code, pages freed, cache left and pages
    evicted by one ``process_mrelease()`` call, as the rules the row cites derive them
    (docs/sources.md §T2-§T6, §K1)."""
    want = row.expect[col.name]
    got = run_cell(row, col)
    assert got == want, f"{row.name} flags={_flags_name(row.flags)} {col.name}: {row.cite}"


def test_every_row_pins_every_column() -> None:
    """The table is complete: every row has an outcome for every kernel."""
    for row in TABLE:
        assert set(row.expect) == set(COLUMN), row.name


def format_table() -> str:
    """The table as plain text: rows x variants, ``rc freed/cached/evicted`` per cell."""

    def cell(o: Outcome) -> str:
        if o == REFUSED:
            return "ValueError"
        kill = f" k:{'+'.join(o.killed)}" if o.killed else ""
        return f"{o.rc} {o.freed}/{o.cached}/{o.evicted}{kill}"

    head = ["row", "flags", *[c.name for c in COLUMNS]]
    lines = [[r.name, _flags_name(r.flags), *[cell(r.expect[c.name]) for c in COLUMNS]]
             for r in TABLE]
    widths = [max(len(x[i]) for x in [head, *lines]) for i in range(len(head))]
    return "\n".join("  ".join(x[i].ljust(widths[i]) for i in range(len(head)))
                     for x in [head, *lines])


if __name__ == "__main__":
    print(format_table())

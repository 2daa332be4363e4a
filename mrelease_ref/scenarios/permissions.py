"""Who may REAP_KILL whom: the permission matrix of PROCESS_MRELEASE_REAP_KILL (not kernel
code).

Every cell is one fresh Kernel: a caller opens a pidfd for a live target (every target
has 64 written anonymous pages) and calls ``process_mrelease(pidfd,
PROCESS_MRELEASE_REAP_KILL)``, then the machine runs until idle. The cell pins the errno,
whether the target was killed (its thread group is exiting or gone), how many of its
anonymous pages the call itself reaped, and whether a plain ``kill(pid, SIGKILL)`` by the
same caller kills the same target (run on another fresh Kernel). Axes:

* caller (:data:`CALLERS`): root; the target's uid without CAP_KILL; another uid without
  and with CAP_KILL; root inside the target's child pid namespace;
* target (:data:`TARGETS`): an ordinary process; a process in a child pid namespace; that
  namespace's init (SIGNAL_UNKILLABLE for signals from inside it); a process whose vfork
  child shares its mm (no MMF_MULTIPROCESS); a process with a plain CLONE_VM sharer
  (MMF_MULTIPROCESS); the global init; a kernel thread;
* pidfd: plain, or opened with PIDFD_THREAD on the leader (``pidfd_get_task()`` looks the
  task up by thread group either way, so the flag changes nothing here);
* kernel: baseline v6.18 (the flag is unknown: EINVAL) and rfc, v1, d, v2, v3.

The property: a caller never kills, through REAP_KILL, a target its own ``kill()`` could
not kill. ``violations()`` lists the cells that break it (the RFC's inferred positive
si_code skips the permission check [I]). ``findings`` of a cell are the reaps of an mm a
live task still uses (:func:`mrelease_ref.sim.invariants.reaped_in_use`): a namespace init
that ignored its SIGKILL keeps running on a reaped mm.

A caller inside a child namespace cannot name processes outside it (``pidfd_open()``
resolves the number in the caller's namespace, and the model resolves numbers globally),
so those cells are left out ("-").

Limitations:
- The sharers (a vfork child, a CLONE_VM child) share the target's uid and namespace; the
  mixed cases (another uid, another namespace) are notebook 03's.
- The global init and kernel threads have no mm in the model, so every version answers
  ESRCH for them once the kill is decided; what matters there is whether they were
  signalled.
"""

from __future__ import annotations

import errno
import signal
from dataclasses import dataclass
from typing import Final

from mrelease_ref.include.linux.sched import SIGNAL_GROUP_EXIT, TaskStruct
from mrelease_ref.include.uapi.linux.mman import PROCESS_MRELEASE_REAP_KILL
from mrelease_ref.kernel.pid import PIDFD_THREAD
from mrelease_ref.scenarios.patch3 import VERSIONS
from mrelease_ref.sim.invariants import reaped_in_use
from mrelease_ref.sim.kernel import ALL_CAPS, Kernel
from mrelease_ref.sim.process import Process

CALLERS: Final = ("root", "uid 10001", "uid 10002", "uid 10002 + CAP_KILL", "root in child ns")
TARGETS: Final = ("process", "process in child ns", "namespace init", "vfork parent",
                  "CLONE_VM owner", "global init", "kernel thread")
PIDFDS: Final = ("plain", "PIDFD_THREAD")
TARGET_UID: Final = 10001
ANON_PAGES: Final = 64


@dataclass(frozen=True, slots=True)
class Cell:
    """One caller/target/pidfd/kernel combination and what happened."""

    variant: str
    caller: str
    target: str
    pidfd: str
    errno: str
    killed: bool
    reaped: int
    kill_kills: bool
    findings: tuple[str, ...] = ()

    @property
    def violates(self) -> bool:
        """REAP_KILL killed a target the caller's own kill() could not."""
        return self.killed and not self.kill_kills


@dataclass(slots=True)
class _World:
    k: Kernel
    caller: Process
    target: TaskStruct


def _visible(caller: str, target: str) -> bool:
    return caller != "root in child ns" or target in ("process in child ns", "namespace init")


def _build(variant: str, caller: str, target: str) -> _World:
    k = Kernel(variant, large_folios=False, seed=0)
    ns = k.create_pid_ns()
    nsinit = k.spawn("nsinit", TARGET_UID, pid_ns=ns)
    nschild = k.spawn("nschild", TARGET_UID, pid_ns=ns)
    app = k.spawn("app", TARGET_UID)
    vparent, owner = k.spawn("vparent", TARGET_UID), k.spawn("owner", TARGET_UID)
    for p in (nsinit, nschild, app, vparent, owner):
        p.touch(p.mmap(ANON_PAGES), write=True)
    vparent.clone_vm("vchild", vfork=True)
    owner.clone_vm("sharer")
    uid = {"root": 0, "uid 10001": 10001, "root in child ns": 0}.get(caller, 10002)
    caps = ALL_CAPS if uid == 0 else ({"CAP_KILL"} if caller.endswith("CAP_KILL") else set())
    who = k.spawn("caller", uid, caps=caps, pid_ns=ns if caller == "root in child ns" else None)
    tasks = {"process": app.task, "process in child ns": nschild.task,
             "namespace init": nsinit.task, "vfork parent": vparent.task,
             "CLONE_VM owner": owner.task, "global init": k.init_task,
             "kernel thread": k.kthreadd}
    return _World(k, who, tasks[target])


def _errname(e: OSError) -> str:
    assert e.errno is not None
    return errno.errorcode[e.errno]


def _dying(t: TaskStruct) -> bool:
    return bool(t.signal.flags & SIGNAL_GROUP_EXIT) or bool(t.exit_state)


def _anon(t: TaskStruct) -> int:
    from mrelease_ref.include.linux.mm_types import MM_ANONPAGES

    return t.mm.rss_stat[MM_ANONPAGES] if t.mm is not None else 0


def _kill_kills(variant: str, caller: str, target: str) -> bool:
    w = _build(variant, caller, target)
    try:
        w.caller.kill(w.target.pid, signal.SIGKILL)
    except OSError:
        return False
    w.k.run()
    return _dying(w.target)


def cell(variant: str, caller: str, target: str, pidfd: str) -> Cell | None:
    """Run one cell (None where the caller cannot name the target)."""
    if not _visible(caller, target):
        return None
    w = _build(variant, caller, target)
    before = _anon(w.target)
    flags = PIDFD_THREAD if pidfd == "PIDFD_THREAD" else 0
    try:
        fd = w.caller.pidfd_open(w.target.pid, flags)
        w.caller.process_mrelease(fd, PROCESS_MRELEASE_REAP_KILL)
        ret = "0"
    except OSError as e:
        ret = _errname(e)
    reaped = before - _anon(w.target)
    findings = tuple(r or "unexplained" for _, _, r in reaped_in_use(w.k))
    w.k.run()
    return Cell(variant, caller, target, pidfd, ret, _dying(w.target), reaped,
                _kill_kills(variant, caller, target), findings)


def compute_matrix(variants: tuple[str, ...] = VERSIONS) -> list[Cell]:
    """Every visible cell, in variant, caller, target, pidfd order."""
    out: list[Cell] = []
    for v in variants:
        for c in CALLERS:
            for t in TARGETS:
                for p in PIDFDS:
                    got = cell(v, c, t, p)
                    if got is not None:
                        out.append(got)
    return out


def violations(cells: list[Cell]) -> list[Cell]:
    """Cells where REAP_KILL killed what the caller's kill() could not."""
    return [c for c in cells if c.violates]


def _mark(c: Cell) -> str:
    text = c.errno + (" killed" if c.killed else "") + (f" reaped {c.reaped}" if c.reaped else "")
    if c.violates:
        text += " **beyond kill()**"
    if c.findings:
        text += " *(finding: reaped in use)*"
    return text


def render_markdown(cells: list[Cell]) -> str:
    """The matrix as Markdown: one table per target, a row per caller, a column per
    kernel; each entry is ``errno [killed] [reaped N pages]``, plus the markers. The
    PIDFD_THREAD column is folded in: a cell shows ``=`` when it equals the plain one."""
    lines = [
        "<!-- generated by mrelease_ref.scenarios.permissions.render_markdown(); "
        "do not edit -->",
        "# REAP_KILL permission matrix",
        "",
        "`process_mrelease(pidfd, PROCESS_MRELEASE_REAP_KILL)` against a live target with "
        f"{ANON_PAGES} anonymous pages. Entry: errno, `killed` (the target's group exits), "
        "`reaped N` (anonymous pages the call freed). **beyond kill()**: killed although "
        "the caller's own `kill(pid, SIGKILL)` does not kill it. *finding*: the mm was "
        "reaped while a live task (that ignored the SIGKILL) still uses it. "
        "`[thread]`: the PIDFD_THREAD pidfd differs from the plain one. "
        "Computed by `mrelease_ref.scenarios.permissions`.",
    ]
    variants = list(dict.fromkeys(c.variant for c in cells))
    by_key = {(c.variant, c.caller, c.target, c.pidfd): c for c in cells}
    for target in TARGETS:
        lines += ["", f"## Target: {target}", "",
                  "| caller | kill() kills | " + " | ".join(variants) + " |",
                  "|---|---|" + "---|" * len(variants)]
        for caller in CALLERS:
            plain = [by_key.get((v, caller, target, "plain")) for v in variants]
            if all(c is None for c in plain):
                lines.append(f"| {caller} | - | " + " | ".join("-" for _ in variants) + " |")
                continue
            entries = []
            for v, c in zip(variants, plain, strict=True):
                assert c is not None
                thread = by_key[(v, caller, target, "PIDFD_THREAD")]
                same = (thread.errno, thread.killed, thread.reaped) == (c.errno, c.killed,
                                                                         c.reaped)
                entries.append(_mark(c) + ("" if same else f" [thread: {_mark(thread)}]"))
            kk = "yes" if plain[0] is not None and plain[0].kill_kills else "no"
            lines.append(f"| {caller} | {kk} | " + " | ".join(entries) + " |")
    return "\n".join(lines) + "\n"


README_START = "<!-- permissions:start -->"
README_END = "<!-- permissions:end -->"


def readme_block(matrix_md: str) -> str:
    """The README's copy of the matrix: the per-target tables of ``matrix_md`` (the text of
    docs/permission_matrix.md) with their headings one level down, folded in ``<details>``
    so the README's first screens stay short."""
    tables = matrix_md[matrix_md.index("## Target:"):].replace("## Target:", "#### Target:")
    return (f"{README_START}\n<details><summary>The matrix (generated from "
            "docs/permission_matrix.md; entries and markers explained there)</summary>\n\n"
            f"{tables}\n</details>\n{README_END}")


def write_readme(readme: str, matrix_md: str) -> str:
    """``readme`` with its permissions block replaced by :func:`readme_block`."""
    a, b = readme.index(README_START), readme.index(README_END) + len(README_END)
    return readme[:a] + readme_block(matrix_md) + readme[b:]


def main() -> None:
    """Regenerate ``docs/permission_matrix.md`` and the README's copy of its tables
    (``python -m mrelease_ref.scenarios.permissions``)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = root / "docs" / "permission_matrix.md"
    matrix_md = render_markdown(compute_matrix())
    out.write_text(matrix_md)
    readme = root / "README.md"
    readme.write_text(write_readme(readme.read_text(), matrix_md))
    print(f"wrote {out} and the matrix block of {readme}")


if __name__ == "__main__":
    main()


__all__ = [
    "CALLERS",
    "PIDFDS",
    "README_END",
    "README_START",
    "TARGETS",
    "Cell",
    "cell",
    "compute_matrix",
    "main",
    "readme_block",
    "render_markdown",
    "violations",
    "write_readme",
]

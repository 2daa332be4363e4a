"""Patch 3 of the series, PROCESS_MRELEASE_REAP_KILL, as experiments (not kernel code).

Every experiment of ``notebooks/03_patch3_reap_kill`` is a function here; the notebook
only calls them and shows the results. Each one builds its own Kernels (``seed=0``,
``debug_vm=True``, ``trace=True``, single-page folios), so the numbers are deterministic:
model time (``Kernel.clock_ns``) and step counts, never wall-clock time.

Versions (:data:`VERSIONS`): ``baseline`` (v6.18), ``rfc`` (RFC 3/3, KILL_MRELEASE -- its
oom_kill.c hunk is inferred), ``v1`` (v1 3/3: ``ignore_exit``, ``mmget()``), ``d`` (draft
C = v2's REAP_KILL plus draft D's reap argument), ``v2`` (MMF_MULTIPROCESS refusal,
``mmgrab()``), ``v3`` (``kill_all_shared_mm()``). RFC and v1 run with all three patches.

The experiments:

* :func:`outcome_matrix` -- the return code, who was killed and how much RSS the call
  reaped, for every version, with flags 0 and REAP_KILL, over :data:`CASES` (live, dying,
  exited, core-dumping, already reaped, shared mm, no permission, pid namespaces, a
  namespace init sharing the mm, ...).
* :func:`race` -- the race REAP_KILL closes: the victim gets the CPU first and a
  ``/proc/<pid>/cmdline`` reader holds ``mm_users``; pages freed over model time.
* :func:`interleaving` -- REAP_KILL with the caller and the victim alternating step by
  step: who runs ``__mmput()`` (v1's ``mmget()``: the caller) and who zaps what (v2/v3's
  ``mmgrab()``: the reaper and ``exit_mmap()`` side by side).
* :func:`delayed_caller` -- the caller queued on the mmap lock behind a writer while the
  victim exits: the MMF_UNSTABLE timing of v1 3/3 (commit message vs code), MMF_OOM_SKIP
  stopping double work.
* :func:`vfork_sharer` -- v2's MMF_MULTIPROCESS test misses a vfork sharer, whose memory
  is reaped while it still runs.
* :func:`partial_kill` -- v3 kills some sharers, fails on another, returns -EBUSY and reaps
  nothing.
* :func:`permission_check` -- who may kill with REAP_KILL; the RFC's positive si_code
  skips the permission check ([I]).
* :func:`pidns_check` -- ``pidfd_send_signal()`` refuses a target outside the caller's
  pid namespace; which REAP_KILL versions do.
* :func:`ns_init_after_reap` -- REAP_KILL against a namespace init from inside its
  namespace: the kill is dropped, the call still returns 0 and reaps; the init's next
  fault gets a forced SIGBUS, and its exit takes the namespace down.

Limitations:
- A pidfd for a process outside the caller's pid namespace is obtained with
  ``pidfd_open()`` on its root-namespace number (the model resolves numbers globally);
  in the kernel it would have been passed in (SCM_RIGHTS).
- Two processes sharing one mm from different pid namespaces (``setns(CLONE_NEWPID)``
  then ``clone(CLONE_VM)``: :func:`clone_vm_into_pid_ns`) are built here from model
  primitives: ``Process.clone_vm()`` always allocates the child's pid in the parent's
  own namespace (the model has no ``setns()``/``unshare()`` to change
  ``pid_ns_for_children``). Same-namespace sharers use ``Process.clone_vm()``.
- ``setuid()`` after a CLONE_VM clone, and a vhost-like kernel thread using a process's
  mm (``get_task_mm()`` + ``kthread_use_mm()``), are built here too; the Process API has
  neither.
- The global init never has an mm here, so v3's ``is_global_init()`` failure is not
  exercised (``tests/test_findings.py::test_global_init_has_no_mm_in_the_model``); a
  *namespace* init is (its SIGNAL_UNKILLABLE comes from the model).
- A vfork parent is not blocked until its child exits (the model's vfork shares the mm
  only), so "the parent runs on" is modelled by the parent touching its memory.
- Schedules are chosen (victim first, round robin, a writer holding the mmap lock); they
  are possible orders, not measured probabilities.
"""

from __future__ import annotations

import errno
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from mrelease_ref.include.linux.mm_types import (
    MMF_MULTIPROCESS,
    MMF_OOM_SKIP,
    MMF_UNSTABLE,
    MmStruct,
)
from mrelease_ref.include.linux.sched import (
    SIGNAL_GROUP_EXIT,
    Cred,
    PidNamespace,
    TaskStruct,
)
from mrelease_ref.include.uapi.linux.mman import PROCESS_MRELEASE_REAP_KILL
from mrelease_ref.kernel.fork import CLONE_VM, copy_mm, copy_oom_score_adj, mmget, mmgrab
from mrelease_ref.kernel.sched import KernelGen, cond_resched
from mrelease_ref.kernel.signal import SIGKILL, sys_kill
from mrelease_ref.mm.mmap import do_munmap
from mrelease_ref.mm.oom_kill import find_lock_task_mm
from mrelease_ref.scenarios.review import ReviewPoint
from mrelease_ref.scenarios.stalls import stall_in_fsync
from mrelease_ref.sim.kernel import ALL_CAPS, Kernel, WorkResult
from mrelease_ref.sim.process import Process
from mrelease_ref.sim.report import KB_PER_PAGE, task_mem

VERSIONS: Final = ("baseline", "rfc", "v1", "d", "v2", "v3")
"""The kernels compared, in series order (draft D carries draft C = v2's REAP_KILL)."""

REAP_KILL_VERSIONS: Final = ("rfc", "v1", "d", "v2", "v3")
"""The versions that accept PROCESS_MRELEASE_REAP_KILL."""

REAP_KILL: Final = PROCESS_MRELEASE_REAP_KILL

ANON_PAGES: Final = 64
FILE_PAGES: Final = 32


Options = tuple[tuple[str, Any], ...]
"""Extra ``Kernel(...)`` keyword arguments, e.g. the settings of ``Kernel.android()``."""


def new_kernel(version: str, options: Options = ()) -> Kernel:
    """The Kernel every experiment uses: ``version`` (all of its patches), seed 0, the
    invariant checker and the trace on, single-page folios (so that patch 1's eviction is
    not blocked by a large folio's extra references, docs/sources.md §T6 #5), plus
    ``options`` (extra ``Kernel`` keyword arguments, e.g. ``Kernel.android()``'s)."""
    kw: dict[str, Any] = {"seed": 0, "debug_vm": True, "trace": True, "large_folios": False}
    kw.update(options)
    return Kernel(version, **kw)


def syscall_of(version: str) -> Callable[..., KernelGen[int]]:
    """The ``process_mrelease()`` implementation a Kernel of ``version`` runs."""
    fn: Callable[..., KernelGen[int]] = Kernel(version).series.process_mrelease
    return fn


def errname(ret: int) -> str:
    """``0`` or the errno name of a negative return value (``-22`` -> ``"EINVAL"``)."""
    return "0" if ret == 0 else errno.errorcode[-ret]


def _call(caller: Process, pidfd: int, flags: int) -> str:
    try:
        caller.process_mrelease(pidfd, flags)
    except OSError as e:
        assert e.errno is not None
        return errno.errorcode[e.errno]
    return "0"


def _dying(t: TaskStruct) -> bool:
    return bool(t.signal.flags & SIGNAL_GROUP_EXIT)


def _app(k: Kernel, name: str = "app", uid: int = 10001, *, file: bool = True,
         parent: Process | None = None, pid_ns: PidNamespace | None = None) -> Process:
    """A process with ``ANON_PAGES`` written anonymous pages and, with ``file``, a private
    read-only mapping of ``FILE_PAGES`` pages of a file, everything faulted in."""
    if parent is not None:
        p = parent.spawn_child(name, uid)
    else:
        p = k.spawn(name, uid, pid_ns=pid_ns)
    m = p.mmap(ANON_PAGES)
    p.touch(m, write=True)
    if file:
        f = k.create_file(f"{name}.apk", FILE_PAGES)
        code = p.mmap(FILE_PAGES, file=f, write=False)
        p.touch(code)
    return p


# --- scenario builders that the Process API lacks ---------------------------------------------


def clone_vm_into_pid_ns(owner: Process, name: str, ns: PidNamespace) -> Process:
    """``setns(nsfd, CLONE_NEWPID)`` then ``clone(CLONE_VM)`` by ``owner``: a child in
    ``ns`` that shares ``owner``'s mm (plain CLONE_VM, so the mm becomes MMF_MULTIPROCESS).

    ``Process.clone_vm()`` puts the child in ``owner``'s own namespace (the model never
    changes ``pid_ns_for_children``), so a sharer in *another* namespace needs this. In
    the kernel ``setns()`` needs CAP_SYS_ADMIN over ``ns``; not checked here.

    Kernel: kernel/fork.c:copy_process() (alloc_pid() in ``pid_ns_for_children``,
    copy_mm(), copy_oom_score_adj())
    """
    k = owner.kernel
    t = k.new_task(name, owner.task.cred, parent=owner.task, kthread=False, pid_ns=ns)
    copy_mm(CLONE_VM, t, owner.task.mm)
    copy_oom_score_adj(CLONE_VM, t)
    if k.config.debug_vm:
        k.check()
    return Process(k, t)


def setuid(p: Process, uid: int) -> None:
    """``setuid(uid)`` by a process that keeps no capabilities (a privilege drop)."""
    p.task.cred = Cred(uid, frozenset())


def kthread_use_mm(owner: Process, name: str = "vhost-worker") -> TaskStruct:
    """A vhost-like kernel thread working in ``owner``'s address space: the owner's
    ``get_task_mm()`` pins ``mm_users`` (as vhost_dev_set_owner() does) and the worker
    adopts the mm with ``kthread_use_mm()`` (``mmgrab()``, ``tsk->mm = mm``).

    Kernel: kernel/kthread.c:kthread_use_mm(), kernel/fork.c:get_task_mm()
    """
    k = owner.kernel
    mm = owner.task.mm
    assert mm is not None
    mmget(mm)
    t = k.new_task(name, Cred(0, ALL_CAPS), parent=k.kthreadd, kthread=True)
    mmgrab(mm)
    t.mm = mm
    if k.config.debug_vm:
        k.check()
    return t


# --- the return-code matrix -------------------------------------------------------------------


@dataclass(slots=True)
class Setup:
    """A built case: the caller, the pidfd it holds, the target and the other processes
    that use (or used) the same mm, and extra flag bits to pass."""

    k: Kernel
    caller: Process
    pidfd: int
    target: Process
    others: list[TaskStruct] = field(default_factory=list)
    extra_flags: int = 0


def _lmkd(k: Kernel, uid: int = 0, pid_ns: PidNamespace | None = None) -> Process:
    return k.spawn("lmkd", uid, pid_ns=pid_ns)


def _case_live(k: Kernel) -> Setup:
    lmkd, app = _lmkd(k), _app(k)
    return Setup(k, lmkd, lmkd.pidfd_open(app.pid), app)


def _case_dying(k: Kernel) -> Setup:
    s = _case_live(k)
    s.target.freeze()
    s.caller.kill(s.target.pid, signal.SIGKILL)
    return s


def _case_exited(k: Kernel) -> Setup:
    lmkd = _lmkd(k)
    app = _app(k, parent=lmkd)
    fd = lmkd.pidfd_open(app.pid)
    lmkd.kill(app.pid, signal.SIGKILL)
    k.run()
    assert app.state == "zombie"
    return Setup(k, lmkd, fd, app)


def _case_coredumping(k: Kernel) -> Setup:
    s = _case_live(k)
    k.hold_coredumps = True  # the dump writes to a core pipe nobody reads
    s.caller.kill(s.target.pid, signal.SIGSEGV)
    k.run()
    assert s.target.task.signal.core_state is not None
    return s


def _case_oom_skip(k: Kernel) -> Setup:
    s = _case_live(k)
    thread = stall_in_fsync(k, s.target).thread  # in D state: keeps the mm attached
    k.oom_kill(s.target.pid)  # SIGKILL; thaw_process() (nothing frozen here)
    k.run()  # OOM_REAPER_DELAY later the oom_reaper reaps and sets MMF_OOM_SKIP
    mm = thread.task.mm
    assert mm is not None and mm.flags & MMF_OOM_SKIP
    return s


def _case_clone_vm(k: Kernel) -> Setup:
    s = _case_live(k)
    s.others.append(s.target.clone_vm("helper").task)
    return s


def _case_vfork(k: Kernel) -> Setup:
    lmkd, parent = _lmkd(k), _app(k, "parent")
    child = parent.clone_vm("vfork-child", vfork=True)
    return Setup(k, lmkd, lmkd.pidfd_open(child.pid), child, [parent.task])


def _case_kthread(k: Kernel) -> Setup:
    s = _case_live(k)
    s.others.append(kthread_use_mm(s.target))
    return s


def _case_unprivileged_live(k: Kernel) -> Setup:
    caller, app = _lmkd(k, uid=10002), _app(k)
    return Setup(k, caller, caller.pidfd_open(app.pid), app)


def _case_unprivileged_dying(k: Kernel) -> Setup:
    s = _case_unprivileged_live(k)
    s.target.freeze()
    k.spawn("root", 0).kill(s.target.pid, signal.SIGKILL)
    return s


def _case_target_outside_ns(k: Kernel) -> Setup:
    ns = k.create_pid_ns()
    caller = _lmkd(k, pid_ns=ns)
    app = _app(k)
    return Setup(k, caller, caller.pidfd_open(app.pid), app)


def _case_sharer_outside_ns(k: Kernel) -> Setup:
    ns = k.create_pid_ns()
    caller = _lmkd(k, pid_ns=ns)
    owner = _app(k, "host-app")
    target = clone_vm_into_pid_ns(owner, "app", ns)
    return Setup(k, caller, caller.pidfd_open(target.pid), target, [owner.task])


def _case_ns_init_sharer(k: Kernel, caller_inside: bool) -> Setup:
    """A child pid namespace whose init (its first process) has a CLONE_VM helper, the
    target; the caller runs inside that namespace or in the parent one."""
    ns = k.create_pid_ns()
    init = _app(k, "ns-init", pid_ns=ns)  # first in ns: its child reaper, SIGNAL_UNKILLABLE
    target = init.clone_vm("app")  # same namespace as its parent
    caller = _lmkd(k, pid_ns=ns if caller_inside else None)
    return Setup(k, caller, caller.pidfd_open(target.pid), target, [init.task])


def _case_ns_init_sharer_inside(k: Kernel) -> Setup:
    return _case_ns_init_sharer(k, caller_inside=True)


def _case_ns_init_sharer_outside(k: Kernel) -> Setup:
    return _case_ns_init_sharer(k, caller_inside=False)


def _case_ns_init_target(k: Kernel, caller_inside: bool) -> Setup:
    """The init of a child pid namespace is itself the target; the caller runs inside that
    namespace or in the parent one."""
    ns = k.create_pid_ns()
    init = _app(k, "ns-init", pid_ns=ns)
    caller = _lmkd(k, pid_ns=ns if caller_inside else None)
    return Setup(k, caller, caller.pidfd_open(init.pid), init)


def _case_ns_init_target_inside(k: Kernel) -> Setup:
    return _case_ns_init_target(k, caller_inside=True)


def _case_ns_init_target_outside(k: Kernel) -> Setup:
    return _case_ns_init_target(k, caller_inside=False)


def _case_sharer_other_uid(k: Kernel) -> Setup:
    caller = _lmkd(k, uid=10001)  # no capabilities
    owner = _app(k, "root-helper", uid=0)
    target = owner.clone_vm("app")
    setuid(target, 10001)
    return Setup(k, caller, caller.pidfd_open(target.pid), target, [owner.task])


def _case_bad_flags(k: Kernel) -> Setup:
    s = _case_dying(k)
    s.extra_flags = 0x2
    return s


@dataclass(frozen=True, slots=True)
class Case:
    """One situation the call can meet: a name, what it is, and its builder."""

    name: str
    description: str
    build: Callable[[Kernel], Setup]


CASES: Final[tuple[Case, ...]] = (
    Case("live", "target alive, no signal sent", _case_live),
    Case("dying", "SIGKILL already sent (target frozen, mm attached)", _case_dying),
    Case("exited", "target is a zombie: every thread passed exit_mm()", _case_exited),
    Case("coredumping", "SIGSEGV, core dump held (signal->core_state set)", _case_coredumping),
    Case("already reaped", "kernel OOM kill + oom_reaper: MMF_OOM_SKIP; a thread stuck in "
         "fsync() on a hung device (D state) keeps the mm", _case_oom_skip),
    Case("clone_vm sharer", "a live CLONE_VM process shares the mm (MMF_MULTIPROCESS)",
         _case_clone_vm),
    Case("vfork sharer", "target is a vfork child; its parent, alive, shares the mm "
         "(no MMF_MULTIPROCESS)", _case_vfork),
    Case("kthread user", "a kernel thread works in the mm (kthread_use_mm)", _case_kthread),
    Case("no permission, live", "caller uid 10002 without CAP_KILL, target uid 10001",
         _case_unprivileged_live),
    Case("no permission, dying", "as above, target already SIGKILLed by root",
         _case_unprivileged_dying),
    Case("target outside pid ns", "caller in a child pid namespace, target in the parent one",
         _case_target_outside_ns),
    Case("sharer outside pid ns", "target in the caller's pid namespace, a CLONE_VM sharer "
         "in the parent one", _case_sharer_outside_ns),
    Case("sharer of another uid", "caller uid 10001; target uid 10001 shares the mm with a "
         "root process", _case_sharer_other_uid),
    Case("ns init sharer, caller inside", "target in a child pid namespace shares the mm "
         "with that namespace's init (CLONE_VM); caller in the same namespace",
         _case_ns_init_sharer_inside),
    Case("ns init sharer, caller outside", "as above, caller in the parent pid namespace",
         _case_ns_init_sharer_outside),
    Case("bad flags", "dying target, an unknown flag bit (0x2) added", _case_bad_flags),
    Case("ns init target, caller inside", "the target is the init of a child pid namespace; "
         "caller in the same namespace", _case_ns_init_target_inside),
    Case("ns init target, caller outside", "as above, caller in the parent pid namespace",
         _case_ns_init_target_outside),
)
"""The cases of :func:`outcome_matrix`, in table order."""


def case(name: str) -> Case:
    """The case of :data:`CASES` called ``name``."""
    for c in CASES:
        if c.name == name:
            return c
    raise ValueError(f"no case {name!r}; choose one of {[c.name for c in CASES]}")


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What one ``process_mrelease()`` call did.

    ``ret`` is ``"0"`` or the errno name. ``target_killed``: the call started the
    target's group exit. ``others_killed``/``others_alive``: the other processes of the
    case that the call killed / that are still not dying afterwards. ``reaped_kb``: the
    RSS of the target's mm that the call unmapped (0 if it had no mm).
    """

    case: str
    version: str
    flags: int
    ret: str
    target_killed: bool
    others_killed: tuple[str, ...]
    others_alive: tuple[str, ...]
    reaped_kb: int


def _rss_kb(mm: MmStruct | None) -> int:
    return task_mem(mm)["VmRSS"]


def call_outcome(case: Case, version: str, flags: int, options: Options = ()) -> CallOutcome:
    """Build ``case`` on a fresh Kernel of ``version`` (with ``options``) and call
    ``process_mrelease()`` once with ``flags`` (plus the case's extra bits)."""
    k = new_kernel(version, options)
    s = case.build(k)
    holder = find_lock_task_mm(s.target.task)
    mm = holder.mm if holder is not None else None
    rss0 = _rss_kb(mm)
    was_dying = _dying(s.target.task)
    others_dying = [_dying(t) for t in s.others]
    ret = _call(s.caller, s.pidfd, flags | s.extra_flags)
    killed = tuple(t.comm for t, d in zip(s.others, others_dying, strict=True)
                   if not d and _dying(t))
    alive = tuple(t.comm for t in s.others if not _dying(t))
    return CallOutcome(
        case=case.name, version=version, flags=flags, ret=ret,
        target_killed=not was_dying and _dying(s.target.task),
        others_killed=killed, others_alive=alive, reaped_kb=rss0 - _rss_kb(mm),
    )


def outcome_matrix(
    versions: tuple[str, ...] = VERSIONS,
    cases: tuple[Case, ...] = CASES,
    flags: tuple[int, ...] = (0, REAP_KILL),
    options: Options = (),
) -> list[CallOutcome]:
    """:func:`call_outcome` for every case, version and flags value (``options``: extra
    ``Kernel`` settings)."""
    return [call_outcome(c, v, f, options) for c in cases for v in versions for f in flags]


def outcome_cell(o: CallOutcome) -> str:
    """A compact rendering for a pivot table: ``ret``, then what the call did
    (``K`` = target killed, ``+name`` = another process killed, ``R<kB>`` = reaped)."""
    parts = [o.ret]
    if o.target_killed:
        parts.append("K")
    parts.extend(f"+{n}" for n in o.others_killed)
    if o.reaped_kb:
        parts.append(f"R{o.reaped_kb}")
    return " ".join(parts)


# --- schedules --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    """The state after one scheduler step: model time since the start of the experiment
    (µs), the task that ran and where it stopped, pages back in the allocator (kB, buddy
    plus per-CPU lists), anonymous pages still mapped (kB)."""

    t_us: int
    task: str
    label: str
    freed_kb: int
    anon_kb: int


class _Recorder:
    def __init__(self, k: Kernel) -> None:
        self.k = k
        self.t0 = k.clock_ns
        self.free0 = k.zoneinfo()["free_with_pcp"]
        self.samples: list[Sample] = []

    def sample(self, task: str = "", label: str = "") -> None:
        k = self.k
        if not task and k.steps:
            task, label = k.steps[-1].comm, k.steps[-1].label
        self.samples.append(Sample(
            (k.clock_ns - self.t0) // 1000, task, label,
            (k.zoneinfo()["free_with_pcp"] - self.free0) * KB_PER_PAGE,
            k.meminfo()["AnonPages"],
        ))

    def freed_by(self) -> dict[str, int]:
        out: dict[str, int] = {}
        prev = 0
        for s in self.samples:
            if s.freed_kb != prev:
                out[s.task] = out.get(s.task, 0) + s.freed_kb - prev
            prev = s.freed_kb
        return out


Policy = Literal["victim-first", "round-robin"]


def _one_step(k: Kernel, caller: TaskStruct, victims: list[TaskStruct], policy: Policy) -> bool:
    """One scheduler step under ``policy``: "victim-first" runs a victim thread whenever
    one can run, else the caller, else anything (timers included); "round-robin" is the
    model's own FIFO order. False when nothing can run."""
    if policy == "victim-first":
        for t in (*victims, caller):
            if k.step(t):
                return True
    return k.run(max_steps=1) > 0


def _kill_then_mrelease(k: Kernel, current: TaskStruct, pid: int, pidfd: int) -> KernelGen[int]:
    """What LMKD does today: kill(pid, SIGKILL), back to user space, process_mrelease()."""
    ret = sys_kill(current, pid, SIGKILL)
    if ret:
        return ret
    yield cond_resched("return to user space")
    return (yield from k.series.process_mrelease(current, pidfd, 0))


def _start_lmkd(k: Kernel, lmkd: Process, victim: Process, pidfd: int, flags: int) -> WorkResult:
    """LMKD's work: REAP_KILL in one call, or (flags 0) kill then process_mrelease."""
    if flags & REAP_KILL:
        gen = k.series.process_mrelease(lmkd.task, pidfd, flags)
        return k.start(lmkd.task, gen, "process_mrelease(REAP_KILL)")
    gen = _kill_then_mrelease(k, lmkd.task, victim.pid, pidfd)
    return k.start(lmkd.task, gen, "kill+process_mrelease")


def _trace(k: Kernel, funcs: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{e.ts_ns // 1000:>5} µs  {e.comm}-{e.pid}  {e.func}: {e.detail}"
                 for e in k.trace if e.func in funcs)


TRACE_FUNCS: Final = ("process_mrelease", "signal_generate", "exit_mm", "__mmput",
                      "__oom_reap_task_mm")


# --- the race REAP_KILL closes ----------------------------------------------------------------

RACE_VMAS: Final = 4
RACE_PAGES_PER_VMA: Final = 512
HOLDER_RELEASE_NS: Final = 2_000_000
"""When the /proc reader of :func:`race` lets go: 2 ms of model time after the start."""


@dataclass(frozen=True, slots=True)
class RaceRun:
    """One run of :func:`race`: the return value, when the call returned, the anonymous
    memory still mapped then (trapped), the pages freed per task, every step, the trace."""

    version: str
    ret: str
    returned_us: int
    trapped_kb: int
    freed_by_kb: dict[str, int]
    samples: tuple[Sample, ...]
    trace: tuple[str, ...]


def _race_world(version: str) -> tuple[Kernel, Process, Process, int]:
    """LMKD and a victim with ``RACE_VMAS`` written anonymous VMAs, and LMKD's pidfd."""
    k = new_kernel(version)
    lmkd = _lmkd(k)
    victim = k.spawn("app", 10001)
    for _ in range(RACE_VMAS):
        m = victim.mmap(RACE_PAGES_PER_VMA)
        victim.touch(m, write=True)
    k.lru_add_drain_all()
    return k, lmkd, victim, lmkd.pidfd_open(victim.pid)


def race(version: str, holder: bool = True, policy: Policy = "victim-first") -> RaceRun:
    """The race REAP_KILL closes (v1 cover letter; docs/sources.md §T4.4; §M4.4).

    A victim with ``RACE_VMAS`` anonymous VMAs of ``RACE_PAGES_PER_VMA`` pages; with
    ``holder`` a ``/proc/<pid>/cmdline`` read is blocked holding its ``mm_users`` until
    ``HOLDER_RELEASE_NS``. LMKD either kills and then calls ``process_mrelease(fd, 0)``
    (``baseline``) or calls it with REAP_KILL (every other version). Under
    "victim-first" the victim runs whenever it can -- the losing order for the baseline.
    """
    k, lmkd, victim, fd = _race_world(version)
    held = k.spawn("ps", 0).read_proc(victim.pid, "cmdline", block=True) if holder else None
    k.run()  # park the kernel threads
    rec = _Recorder(k)
    flags = 0 if version == "baseline" else REAP_KILL
    result = _start_lmkd(k, lmkd, victim, fd, flags)
    if held is not None:
        k.add_timer(rec.t0 + HOLDER_RELEASE_NS, held.release)
    while not result.done:
        if not _one_step(k, lmkd.task, [victim.task], policy):
            raise RuntimeError("nothing can run before process_mrelease() returns")
        rec.sample()
    returned_us, trapped = rec.samples[-1].t_us, k.meminfo()["AnonPages"]
    while k.run(max_steps=1):
        rec.sample()
    return RaceRun(version, errname(result.value), returned_us, trapped, rec.freed_by(),
                   tuple(rec.samples), _trace(k, TRACE_FUNCS))


@dataclass(frozen=True, slots=True)
class Curve:
    """A step curve of freed memory over model time, shared by the versions in ``label``."""

    label: str
    t_ms: tuple[float, ...]
    freed_mib: tuple[float, ...]


def race_curves(runs: list[RaceRun]) -> list[Curve]:
    """The freed-memory curves of :func:`race` runs, one per distinct curve (versions
    whose runs free the same pages at the same model times share one, labelled with all
    of their names), each from (0, 0) to the end of the longest run."""
    groups: dict[tuple[tuple[int, int], ...], list[str]] = {}
    for r in runs:
        key = tuple((s.t_us, s.freed_kb) for s in r.samples)
        groups.setdefault(key, []).append(r.version)
    end_us = max((s.t_us for r in runs for s in r.samples), default=0)
    curves = []
    for key, names in groups.items():
        points = [(0, 0), *key, (end_us, key[-1][1] if key else 0)]
        curves.append(Curve(", ".join(names), tuple(t / 1000 for t, _ in points),
                            tuple(kb / 1024 for _, kb in points)))
    return curves


# --- REAP_KILL step by step -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Interleaving:
    """One run of :func:`interleaving`: the return value, who ran ``__mmput()`` (and so
    ``exit_mmap()``), the pages freed per task, every step, and the trace."""

    version: str
    ret: str
    mmput_by: str
    freed_by_kb: dict[str, int]
    samples: tuple[Sample, ...]
    trace: tuple[str, ...]


def interleaving(version: str, policy: Policy = "round-robin") -> Interleaving:
    """REAP_KILL with no /proc reader, the caller and the victim alternating (FIFO).

    v1 pins ``mm_users`` (``mmget()``): the victim's ``exit_mm()`` is not the last user,
    so the caller's final ``mmput()`` runs ``exit_mmap()`` in the caller. v2/v3 pin only
    ``mm_count``: the victim's own ``exit_mmap()`` runs beside the reaper, each zapping
    from its end of the address space (docs/sources.md §T4.3 #3, #4; §T6 #10).
    """
    k, lmkd, victim, fd = _race_world(version)
    k.run()
    rec = _Recorder(k)
    result = _start_lmkd(k, lmkd, victim, fd, REAP_KILL)
    while _one_step(k, lmkd.task, [victim.task], policy):
        rec.sample()
    assert result.done
    mmput = [e for e in k.trace if e.func == "__mmput"]
    by = mmput[0].comm if mmput else "(nobody yet)"
    return Interleaving(version, errname(result.value), by, rec.freed_by(),
                        tuple(rec.samples), _trace(k, TRACE_FUNCS))


# --- the caller delayed behind a writer -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DelayedRun:
    """One run of :func:`delayed_caller`.

    ``unstable_while_waiting``: MMF_UNSTABLE was set on the victim's mm while the caller,
    its SIGKILL already sent, waited for the mmap lock. ``reaper_zapped``: VMAs the
    caller's ``__oom_reap_task_mm()`` zapped (0: it found MMF_OOM_SKIP, or never got the
    lock). ``mmput_by``: who ran ``__mmput()``/``exit_mmap()``. ``file_cached``: pages of
    the victim's file still in the page cache at the end. ``mark_accessed``:
    ``folio_mark_accessed()`` calls during the teardown (LRU aging patch 2 avoids).
    """

    version: str
    flags: int
    interrupted: bool
    ret: str
    unstable_while_waiting: bool
    reaper_zapped: int
    mmput_by: str
    file_cached: int
    mark_accessed: int
    trace: tuple[str, ...]


def delayed_caller(version: str, flags: int = REAP_KILL, interrupt: bool = False,
                   options: Options = ()) -> DelayedRun:
    """The caller is held up at the mmap lock while the victim exits (docs/sources.md §T6 #15).

    The victim has two threads, anonymous memory, a private mapping of a ``FILE_PAGES``
    page file (read twice, so its folios are referenced) and a scratch VMA that its second
    thread is unmapping -- preempted inside ``munmap()``, holding the mmap lock for
    write. LMKD sends SIGKILL (REAP_KILL, or a kill() first with ``flags`` 0) and queues
    for the read lock. With ``interrupt`` LMKD itself gets a SIGKILL while it waits
    (``mmap_read_lock_killable()`` -> EINTR). Then only the victim's threads run until they
    are stuck or done; LMKD finishes last.
    ``options``: extra ``Kernel`` settings.
    """
    k = new_kernel(version, options)
    lmkd = _lmkd(k)
    app = k.spawn("app", 10001)
    anon = app.mmap(ANON_PAGES)
    app.touch(anon, write=True)
    f = k.create_file("app.apk", FILE_PAGES)
    code = app.mmap(FILE_PAGES, file=f, write=False)
    app.touch(code)
    app.touch(code)
    scratch = app.mmap(16)
    app.touch(scratch, write=True)
    k.lru_add_drain_all()
    mm = app.task.mm
    assert mm is not None
    thread = app.clone_thread()
    fd = lmkd.pidfd_open(app.pid)
    vma = next(v for v in mm.mm_mt if v.vm_start == scratch.start)
    k.start(thread.task, do_munmap(mm, vma, thread.task), "munmap")
    k.step(thread.task)
    assert mm.mmap_lock.writer is thread.task
    ev0 = k.vm_events.get("MARK_ACCESSED", 0)
    start = len(k.trace)
    result = _start_lmkd(k, lmkd, app, fd, flags)
    while lmkd.task.waiting is None or lmkd.task.waiting.label != "mmap_lock":
        if not k.step(lmkd.task):
            raise RuntimeError("LMKD never queued for the mmap lock")
    unstable = bool(mm.flags & MMF_UNSTABLE)
    if interrupt:
        k.spawn("init-killer", 0).kill(lmkd.pid, signal.SIGKILL)
        k.step(lmkd.task)
    while k.step(thread.task) or k.step(app.task):
        pass
    k.run()
    k.lru_add_drain_all()
    assert result.done
    trace = _trace(k, (*TRACE_FUNCS, "tlb_flush"))
    zapped = sum(1 for e in k.trace[start:] if e.func == "__oom_reap_task_mm"
                 and e.detail.startswith("zap"))
    mmput = [e for e in k.trace[start:] if e.func == "__mmput" and f"mm={mm.mm_id}" in e.detail]
    return DelayedRun(
        version=version, flags=flags, interrupted=interrupt, ret=errname(result.value),
        unstable_while_waiting=unstable, reaper_zapped=zapped,
        mmput_by=mmput[0].comm if mmput else "(nobody)",
        file_cached=k.cachestat(f).nr_cache,
        mark_accessed=k.vm_events.get("MARK_ACCESSED", 0) - ev0,
        trace=tuple(t for t in trace if "tlb_flush" not in t),
    )


# --- the vfork sharer v2 misses ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VforkRun:
    """One run of :func:`vfork_sharer`: the call's return value, whether the shared mm was
    MMF_MULTIPROCESS, the parent's RSS before/after the call, how many of its anonymous
    pages it could then touch, and how it ended."""

    version: str
    ret: str
    multiprocess: bool
    parent_rss_before_kb: int
    parent_rss_after_kb: int
    parent_touched: int
    parent_end: str


def vfork_sharer(version: str, options: Options = ()) -> VforkRun:
    """REAP_KILL on a vfork child whose parent still runs in the shared mm.

    ``copy_oom_score_adj()`` marks an mm MMF_MULTIPROCESS only for a plain CLONE_VM
    child, not for CLONE_VFORK (kernel/fork.c), so v2's refusal does not fire: the child is
    killed and the *parent's* memory is reaped. When the parent runs on, its faults meet
    MMF_UNSTABLE and fail with SIGBUS (``check_stable_address_space()``).
    ``options``: extra ``Kernel`` settings.
    """
    k = new_kernel(version, options)
    lmkd = _lmkd(k)
    parent = k.spawn("parent", 10001)
    anon = parent.mmap(ANON_PAGES)
    parent.touch(anon, write=True)
    child = parent.clone_vm("vfork-child", vfork=True)
    fd = lmkd.pidfd_open(child.pid)
    mm = parent.task.mm
    assert mm is not None
    multiprocess = bool(mm.flags & MMF_MULTIPROCESS)
    before = _rss_kb(mm)
    ret = _call(lmkd, fd, REAP_KILL)
    after = _rss_kb(mm)
    touched = 0 if _dying(parent.task) else parent.touch(anon)
    k.run()
    if parent.state == "running" or parent.state == "sleeping":
        end = "alive"
    else:
        sig = parent.task.signal.group_exit_code
        end = f"{parent.state} ({signal.Signals(sig).name})" if sig else parent.state
    return VforkRun(version, ret, multiprocess, before, after, touched, end)


# --- v3's partial kills -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartialKill:
    """One run of :func:`partial_kill`: the return value of two REAP_KILL calls, what each
    process ended as, and how much of the shared mm is still resident at the end."""

    version: str
    cause: str
    first: str
    retry: str
    fates: dict[str, str]
    rss_before_kb: int
    rss_end_kb: int


def partial_kill(version: str, cause: Literal["pid ns", "uid"],
                 options: Options = ()) -> PartialKill:
    """REAP_KILL on a target whose mm is shared with a process the caller may not kill
    (outside its pid namespace, or owned by root), called twice, then everyone runs.

    v3's ``kill_all_shared_mm()`` keeps going after a failure: the target dies, the
    other sharer lives, the call returns -EBUSY and reaps nothing; the retry fails the
    same way (docs/sources.md §T3.6, §T4.3 #12).
    ``options``: extra ``Kernel`` settings.
    """
    k = new_kernel(version, options)
    build = _case_sharer_outside_ns if cause == "pid ns" else _case_sharer_other_uid
    s = build(k)
    mm = s.target.task.mm
    before = _rss_kb(mm)
    first = _call(s.caller, s.pidfd, REAP_KILL)
    retry = _call(s.caller, s.pidfd, REAP_KILL)
    k.run()
    fates = {}
    for t in (s.target.task, *s.others):
        p = Process(k, t)
        fates[t.comm] = "alive" if p.state in ("running", "sleeping") else p.state
    return PartialKill(version, cause, first, retry, fates, before, _rss_kb(mm))


# --- permission -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PermissionRun:
    """One row of :func:`permission_check`: what an unprivileged caller achieved."""

    call: str
    ret: str
    target_killed: bool
    reaped_kb: int


def permission_check(options: Options = ()) -> list[PermissionRun]:
    """A caller with uid 10002 and no CAP_KILL against a live uid-10001 target.

    ``kill(2)`` is refused (``check_kill_permission()``); so is REAP_KILL in v1/v2
    (``kill_pid(..., 0)`` is a user signal) and v3 (``do_pidfd_send_signal()``, reported
    as -EBUSY). The RFC sends SIGKILL with si_code KILL_MRELEASE = 1; a positive si_code
    makes ``SI_FROMUSER()`` false, so -- if it was sent the way the model infers ([I]) --
    no permission check runs and the target is killed and reaped.
    ``options``: extra ``Kernel`` settings.
    """
    rows: list[PermissionRun] = []
    k = new_kernel("baseline", options)
    s = _case_unprivileged_live(k)
    try:
        s.caller.kill(s.target.pid, signal.SIGKILL)
        ret = "0"
    except OSError as e:
        assert e.errno is not None
        ret = errno.errorcode[e.errno]
    rows.append(PermissionRun("kill(2) (any version)", ret, _dying(s.target.task), 0))
    for version in REAP_KILL_VERSIONS:
        o = call_outcome(case("no permission, live"), version, REAP_KILL, options)
        rows.append(PermissionRun(f"{version}: process_mrelease(REAP_KILL)", o.ret,
                                  o.target_killed, o.reaped_kb))
    return rows


def pidns_check(options: Options = ()) -> list[PermissionRun]:
    """A caller in a child pid namespace against a live target in the parent one (case
    "target outside pid ns"), root with every capability, so only the namespace matters.

    ``pidfd_send_signal()`` refuses with -EINVAL (``access_pidfd_pidns()``). v1/v2 (and
    the RFC [I]) send their SIGKILL through ``kill_pid()``, which has no namespace test:
    the target is killed and reaped. v3's ``do_pidfd_send_signal_pidns()`` applies the
    test, reported as -EBUSY.
    ``options``: extra ``Kernel`` settings.
    """
    rows: list[PermissionRun] = []
    k = new_kernel("baseline", options)
    s = case("target outside pid ns").build(k)
    try:
        s.caller.pidfd_send_signal(s.pidfd, signal.SIGKILL)
        ret = "0"
    except OSError as e:
        assert e.errno is not None
        ret = errno.errorcode[e.errno]
    rows.append(PermissionRun("pidfd_send_signal() (any version)", ret,
                              _dying(s.target.task), 0))
    for version in REAP_KILL_VERSIONS:
        o = call_outcome(case("target outside pid ns"), version, REAP_KILL, options)
        rows.append(PermissionRun(f"{version}: process_mrelease(REAP_KILL)", o.ret,
                                  o.target_killed, o.reaped_kb))
    return rows


# --- review points ----------------------------------------------------------------------------


REVIEW_POINTS: Final[tuple[ReviewPoint, ...]] = (
    ReviewPoint(1, "Michal Hocko (RFC)", "Are these races a real problem?",
                "(RFC reply not retrieved) v1: exit_mm() clears ->mm, the call gets -ESRCH, "
                "teardown waits on other mm users",
                "Michal (04-24): motivation clear and sound",
                "race(): baseline -ESRCH, 8 MiB trapped until the reader lets go"),
    ReviewPoint(2, "Christian Brauner (RFC 3/3, 04-16)", "(comments not retrieved)",
                "v1 drops KILL_MRELEASE and the signal.c/siginfo.h changes",
                "presumably settled",
                "permission_check(): what the positive si_code would bypass [I]"),
    ReviewPoint(3, "Michal Hocko (v1, 04-24)",
                "Why mmget()? Why the task_will_free_mem() detour instead of just killing?",
                "mmget: agreed; the detour is for shared mms", "mmgrab() in v2",
                "interleaving('v1'): the caller runs __mmput()/exit_mmap()"),
    ReviewPoint(4, "Suren Baghdasaryan (04-27)",
                "mmgrab() suffices; exit_mmap() beside the reaper is welcome (reverse walk)",
                "will change", "v2 uses mmgrab()",
                "interleaving('v2'): both free, from opposite ends; delayed_caller('v2'): "
                "MMF_OOM_SKIP stops double work"),
    ReviewPoint(5, "Michal Hocko (04-27)", "Shared mm: bail out, or kill every sharer",
                "killing unrelated processes is too radical; counting users is racy",
                "-> point 6", "outcome_matrix(): 'clone_vm sharer' row"),
    ReviewPoint(6, "Michal Hocko (04-28)", "Test MMF_MULTIPROCESS",
                "draft C / v2 refuse such an mm with -EINVAL",
                "Michal: explain the difference from the global OOM killer; Suren: "
                "Reviewed-by",
                "vfork_sharer(), 'kthread user' row: sharers without MMF_MULTIPROCESS"),
    ReviewPoint(7, "Michal Hocko (v2, 04-30)",
                "Kill all sharers unless that crosses a security boundary; refusing lets a "
                "process evade the killer",
                "Minchan: check kill permission against every sharer?",
                "Michal (05-04): fail the call if some sharer cannot be killed",
                "outcome_matrix(): v2 refuses 'clone_vm sharer' -- a helper shields its owner"),
    ReviewPoint(8, "Minchan Kim (05-05)", "Best effort: some sharers may be unkillable", "-",
                "-", "partial_kill(): v3 kills some, frees nothing"),
    ReviewPoint(9, "Christian Brauner (v2, 05-05)",
                "No permission-free kills from user space; respect the pid-namespace "
                "boundary; signal scope belongs to pidfd_send_signal()", "-", "-",
                "pidns_check(): pidfd_send_signal() and v3 refuse a target outside the "
                "caller's pid ns, v1/v2 kill it"),
    ReviewPoint(10, "Michal Hocko (05-05)",
                "Three options; the hard part is grabbing the mm before it disappears",
                "concept F / v3 implement option 3", "-", "outcome_matrix(): v3 column"),
    ReviewPoint(11, "Michal Hocko (05-13)", "Don't fragment; wait for Christian", "agreed",
                "-", ""),
    ReviewPoint(12, "Christian Brauner (v3, 05-15)",
                "A hybrid API; keep task->mm after exit instead; init cannot be signalled "
                "anyway; -EBUSY makes no sense",
                "agrees; REAP_KILL could go if the exit_mm patch lands",
                "effectively rejected",
                "partial_kill(): -EBUSY, and the retry fails too; 'ns init sharer' rows: "
                "a namespace init ignores the kill from inside, v3 returns 0 and reaps "
                "(global init with an mm not modelled)"),
    ReviewPoint(13, "Oleg Nesterov (v3, 05-15)",
                "Why pidfd helpers? No kill needed when task_will_free_mem() holds; how "
                "can /proc readers pin the mm indefinitely?",
                "a preempted or low-priority reader delays exit_mmap() by 100s of ms", "-",
                "'no permission, dying' row: the needless kill turns a reap into -EPERM; "
                "race(): memory pinned exactly as long as the reader holds it"),
    ReviewPoint(14, "Suren Baghdasaryan (05-15)",
                "Fall back to task->exit_mm when ->mm is NULL; no uapi change", "-", "-",
                "not modelled (would turn race()'s baseline -ESRCH into a reap)"),
    ReviewPoint(15, "Linus Torvalds (05-15 ... 05-22)",
                "Fix the /proc readers; exit_mmap() under the write lock, readers on "
                "mm_count only",
                "Minchan: -ESRCH stays; contention moves to the mmap lock",
                "Linus: then -ESRCH does not matter; fix the cause",
                "race(): the holder is the cmdline reader (get_task_mm())"),
    ReviewPoint(16, "Andrew Morton (04-30)", "Is there a manpage?",
                "commit 884a7e5964e06; the selftest shows kill-first usage",
                "Suren will write one", ""),
)
"""Review points on patch 3, in the order of docs/sources.md §T4.3."""


@dataclass(frozen=True, slots=True)
class NsInitRun:
    """One row of :func:`ns_init_after_reap`: the call, then what the reaped init does."""

    version: str
    caller: str
    ret: str
    init_killed_by_call: bool
    reaped_kb: int
    init_fault: str
    init_exited: bool
    ns_worker_exited: bool


def ns_init_after_reap(version: str, caller_inside: bool, options: Options = ()) -> NsInitRun:
    """REAP_KILL against the init of a child pid namespace (case "ns init target, caller
    inside/outside"), then the init's next write fault, then everyone runs.

    From inside, the SIGKILL is dropped (SIGNAL_UNKILLABLE, ``sig_task_ignored()``), the
    send returns 0 and the call reaps a task that is not dying. The init's next fault meets
    MMF_UNSTABLE: a forced SIGBUS (``force_sig_info_to_task()`` clears
    SIGNAL_UNKILLABLE) kills it, and its exit kills the namespace's other process
    (``zap_pid_ns_processes()``). From the parent namespace the SIGKILL is forced and the
    init dies with the call.
    ``options``: extra ``Kernel`` settings.
    """
    k = new_kernel(version, options)
    ns = k.create_pid_ns()
    init = k.spawn("ns-init", 10001, pid_ns=ns)
    m = init.mmap(ANON_PAGES)
    init.touch(m, write=True)
    worker = init.spawn_child("ns-worker", 10001)
    caller = _lmkd(k, pid_ns=ns if caller_inside else None)
    fd = caller.pidfd_open(init.pid)
    mm = init.task.mm
    rss0 = _rss_kb(mm)
    ret = _call(caller, fd, REAP_KILL)
    killed = _dying(init.task)
    reaped = rss0 - _rss_kb(mm)
    fault = "not run (init dying)"
    if not killed:
        done = init.touch(m, write=True)  # stops at the first failed fault (SIGBUS sent)
        fault = "SIGBUS" if done < ANON_PAGES else "no fault (pages still mapped)"
    k.run()
    return NsInitRun(version, "inside the init's namespace" if caller_inside else
                     "parent namespace", ret, killed, reaped, fault,
                     init.task.exit_state != 0, worker.task.exit_state != 0)
